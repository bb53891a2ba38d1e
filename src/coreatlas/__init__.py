"""CoRe Atlas: critical-technology supply-chain maps, chokepoints and disruption scenarios.

Quick start::

    from coreatlas import load_map, exposure, chokepoints, run_scenario, Scenario
    tm = load_map("chips")
    chokepoints(tm, threshold=0.9)
    run_scenario(tm, Scenario("nld", remove_countries=("NLD",))).outputs()
"""

from coreatlas.analysis.exposure import chokepoints, exposure, leverage
from coreatlas.analysis.propagate import run_scenario, run_scenarios
from coreatlas.model.scenario import ExportControl, Scenario
from coreatlas.model.techmap import Metadata, TechMap

__version__ = "0.1.0"

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
    "run_scenario",
    "run_scenarios",
]


def load_map(data: str = "chips") -> TechMap:
    """Load a built-in dataset by name or a folder (native or ETO format)."""
    from coreatlas.io.datasets import load

    return load(data)
