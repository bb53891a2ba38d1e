"""Dynamic simulations: load a firm network (files, a folder or a technology map), run the
Inoue–Todo engine with shocks, summarise losses and write results."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from coreatlas import __version__
from coreatlas.analysis.dynamics import DynamicsParams, SimulationResult, firm_observer, run
from coreatlas.analysis.firm_compile import firms_from_map, map_capacity_loss
from coreatlas.analysis.propagate import Propagator
from coreatlas.analysis.synthetic import scale_free_network
from coreatlas.errors import ScenarioError, ValidationError
from coreatlas.io import firmdata
from coreatlas.io.scenario_file import ScenarioSpec
from coreatlas.io.simulation_output import write_simulation
from coreatlas.model.firms import FirmNetwork, Shocks
from coreatlas.services.core import build_scenario, load_map, load_scenarios

__all__ = ["SimulationRun", "generate_network", "load_firm_network", "save_simulation", "simulate", "simulate_files", "simulate_map"]

Progress = Callable[[int, int], None] | None


@dataclass(frozen=True, eq=False)
class SimulationRun:
    """One run with what it ran on: ``title`` names it, ``inputs`` says where data came from."""

    result: SimulationResult
    network: FirmNetwork
    shocks: Shocks
    title: str
    inputs: dict = field(default_factory=dict)

    def summary(self, top: int = 10) -> dict:
        """Plain data for ``--json`` and ``summary.json``: losses, top sectors and regions, provenance."""
        r = self.result
        return {
            "title": self.title,
            "inputs": self.inputs,
            "network": {
                "firms": self.network.n_firms,
                "links": self.network.n_links,
                "sectors": len(self.network.sector_names),
                "regions": len(self.network.region_names),
                "negative_value_added_firms": int((self.network.value_added_ratio < 0).sum()),
            },
            "shocks": _shock_summary(self.shocks),
            "days": int(r.days[-1] + 1),
            "params": r.params.to_dict(),
            "losses": {m: r.losses(m).to_dict() for m in ("production", "value_added")},
            "losses_by_sector": r.losses_by("sector").head(top).to_dict("records"),
            "losses_by_region": r.losses_by("region").head(top).to_dict("records"),
            "software": {"coreatlas": __version__},
        }


def _shock_summary(shocks: Shocks) -> dict:
    if not len(shocks):
        return {"firms": 0}
    return {
        "firms": int(np.unique(shocks.firm).size),
        "mean_capacity_loss": float(shocks.capacity_loss.mean()),
        "first_day": int(shocks.start_day.min()),
        "last_day": int(shocks.start_day.max()),
    }


def load_firm_network(links=None, final_demand=None, sectors=None, network_dir=None) -> FirmNetwork:
    """A network from a folder (``--network``) or from link/final-demand/sector files."""
    if network_dir is not None:
        return firmdata.read_network(network_dir)
    if links is None or final_demand is None:
        raise ValidationError(
            "give --network DIR, or --links and --final-demand (with --sectors for substitution), or --data and a scenario"
        )
    return firmdata.read_network_files(links, final_demand, sectors)


def simulate(
    network: FirmNetwork, shocks: Shocks | None, days: int, params: DynamicsParams, *, title: str = "simulation",
    inputs: dict | None = None, progress: Progress = None, firm_series: bool = False,
) -> SimulationRun:  # fmt: skip
    """Run the engine; ``firm_series`` also records every firm's daily production."""
    shocks = shocks if shocks is not None else Shocks.none()
    result = run(network, shocks, days, params, observers=[firm_observer(None)] if firm_series else [], progress=progress)
    return SimulationRun(result, network, shocks, title, dict(inputs or {}))


def simulate_files(
    files: dict, days: int, params: DynamicsParams, *, progress: Progress = None, firm_series: bool = False
) -> SimulationRun:
    """Run on files: ``files`` maps ``links``, ``final_demand``, ``sectors``, ``network`` and
    ``shocks`` to paths (or None)."""
    network = load_firm_network(files.get("links"), files.get("final_demand"), files.get("sectors"), files.get("network"))
    shocks = firmdata.read_shocks(files["shocks"], network) if files.get("shocks") else None
    source = files.get("network") or files.get("links")
    inputs = {key: str(value) for key, value in files.items() if value is not None}
    return simulate(
        network, shocks, days, params, title=f"simulation on {source}", inputs=inputs, progress=progress, firm_series=firm_series
    )


def _one_scenario(tm, scenario_file: Path | None, name: str | None, spec: ScenarioSpec | None):
    if scenario_file is None:
        if spec is None:
            raise ScenarioError("no scenario given: pass --scenario FILE or --remove-country, --remove-firm, --cut or --policy")
        return build_scenario(tm, spec)
    scenarios = load_scenarios(tm, scenario_file)
    if name is not None:
        chosen = [s for s in scenarios if s.name == name]
        if not chosen:
            raise ScenarioError(f"{scenario_file}: no scenario named '{name}'; it has {', '.join(s.name for s in scenarios)}")
        return chosen[0]
    if len(scenarios) > 1:
        raise ScenarioError(
            f"{scenario_file} has {len(scenarios)} scenarios ({', '.join(s.name for s in scenarios)}); choose one with --name"
        )
    return scenarios[0]


def simulate_map(
    data: str, days: int, params: DynamicsParams, *, scenario_file: Path | None = None, name: str | None = None,
    spec: ScenarioSpec | None = None, shock_day: int = 0, input_share: float = 0.5, progress: Progress = None,
    firm_series: bool = False,
) -> SimulationRun:  # fmt: skip
    """Compile a technology map into firms and run a static scenario as a dynamic shock.

    The scenario's lost capacity per provider (as the static engine computes it) becomes
    each firm's capacity loss from day ``shock_day``; recovery follows ``params``.
    """
    if not 0.0 < input_share < 1.0:
        raise ValidationError(f"--input-share is {input_share}; expected a fraction between 0 and 1")
    tm = load_map(data)
    scenario = _one_scenario(tm, scenario_file, name, spec)
    propagator = Propagator(tm)
    compiled = firms_from_map(tm, propagator.supply, input_share)
    loss = map_capacity_loss(compiled, propagator.run_evaluation([scenario]).atom_factor[:, 0])
    hit = np.flatnonzero(loss > 0)
    shocks = Shocks.of(hit, loss[hit], shock_day)
    inputs = {
        "data": data,
        "dataset_version": tm.meta.version,
        "scenario": scenario.name,
        "scenario_summary": scenario.summary(),
        "input_share": input_share,
    }
    title = f"{tm.meta.name}: {scenario.name}"
    return simulate(compiled.network, shocks, days, params, title=title, inputs=inputs, progress=progress, firm_series=firm_series)


def save_simulation(sim: SimulationRun, out_dir: Path | str, firm_series: bool = False) -> list[Path]:
    return write_simulation(sim.result, sim.summary(), out_dir, sim.title, firm_series=firm_series)


def generate_network(out_dir: Path | str, n_firms: int, n_links: int, **options) -> FirmNetwork:
    """Generate a synthetic network (:func:`coreatlas.analysis.synthetic.scale_free_network`) and save it."""
    network = scale_free_network(n_firms, n_links, **options)
    firmdata.write_network(network, out_dir)
    return network
