"""CoRe Atlas: critical-technology supply-chain maps, chokepoints and disruption scenarios.

Quick start::

    from coreatlas import load_map, exposure, chokepoints, run_scenario, Scenario
    tm = load_map("chips")
    chokepoints(tm, threshold=0.9)
    run_scenario(tm, Scenario("nld", remove_countries=("NLD",))).outputs()

Every command of the CLI is a use case of :mod:`coreatlas.services`, callable with the same
request as plain data::

    from coreatlas import run
    run("scenario", {"data": "chips", "scenarios": [{"remove_countries": ["NLD"]}]}).to_dict()
"""

from coreatlas._version import __version__
from coreatlas.analysis.exposure import chokepoints, exposure, leverage
from coreatlas.analysis.propagate import run_scenario, run_scenarios
from coreatlas.model.scenario import ExportControl, Scenario
from coreatlas.model.techmap import Metadata, TechMap

__all__ = [
    "ExportControl",
    "Metadata",
    "Scenario",
    "TechMap",
    "__version__",
    "chokepoints",
    "exposure",
    "leverage",
    "load_map",
    "run",
    "run_scenario",
    "run_scenarios",
]


def load_map(data: str = "chips") -> TechMap:
    """Load a built-in dataset by name, a folder (native or ETO format) or ``a+b``."""
    from coreatlas.services.inputs import load_map as load

    return load(data)


def run(name: str, request=None):
    """Run use case ``name`` (``chokepoints``, ``scenario``, ...) on a request object or plain data."""
    from coreatlas import services

    return services.run(name, request if request is not None else {})
