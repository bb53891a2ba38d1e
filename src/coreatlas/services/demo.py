"""The demo: every built-in technology map, the Open RAN comparison and a materials shock
followed into chips and radios, with an HTML report."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from coreatlas.analysis.exposure import bloc_shares, exposure
from coreatlas.analysis.propagate import ScenarioResult
from coreatlas.io import datasets
from coreatlas.io.scenario_file import ScenarioSpec
from coreatlas.model.policy import policies, policy_scenario
from coreatlas.model.scenario import Scenario
from coreatlas.model.techmap import TechMap
from coreatlas.services.core import build_scenario, find_chokepoints, load_map, load_scenarios, run_scenarios
from coreatlas.services.policy import bundle_counterparts, open_ran_comparison

__all__ = [
    "DEMO_COMBINATION",
    "DEMO_SCENARIO_FILE",
    "DemoResult",
    "Section",
    "bloc_rows",
    "demo",
    "demo_scenarios",
    "demo_steps",
    "section",
]

DEMO_SCENARIO_FILE = "scenarios.yaml"
#: The combination in which a materials shock is followed into chips and radios.
DEMO_COMBINATION = "materials+chips+telecom-ran"


@dataclass(frozen=True)
class Section:
    """One technology's results: plain data for any front end or report."""

    tm: TechMap
    chokepoints: list[dict]
    exposure_rows: list[dict]
    bloc_rows: list[dict]
    results: list[ScenarioResult]
    open_ran: list[dict] = field(default_factory=list)
    note: str = ""


@dataclass(frozen=True)
class DemoResult:
    sections: list[Section]
    report_path: Path

    @property
    def tm(self) -> TechMap:
        return self.sections[0].tm


def bloc_rows(tm: TechMap, blocs: tuple[str, ...] = ("core", "allies")) -> list[dict]:
    """Share of each bloc per node with figures, largest first-bloc share first, with the
    first bloc's range where sources disagree (``<bloc>_low``, ``<bloc>_high``)."""
    frame = bloc_shares(tm, {name: tm.resolve_bloc(name) for name in blocs})
    ranges = {r["node_id"]: r["bloc_share_range"] for r in exposure(tm, tm.resolve_bloc(blocs[0])).records}
    frame[blocs[0] + "_low"] = [ranges[n][0] for n in frame.index]
    frame[blocs[0] + "_high"] = [ranges[n][1] for n in frame.index]
    frame = frame.reset_index().sort_values([blocs[0], "node_id"], ascending=[False, True])
    return frame.to_dict("records")


def _scenario_file(data: str) -> Path:
    if data in datasets.builtin_names():
        return datasets.builtin_path(data) / DEMO_SCENARIO_FILE
    return Path(data) / DEMO_SCENARIO_FILE


def demo_scenarios(tm: TechMap, data: str) -> list[Scenario]:
    """The dataset's named scenarios (``scenarios.yaml`` beside it), or two generic ones."""
    path = _scenario_file(data)
    if path.is_file():
        return load_scenarios(tm, path)
    fallback = [ScenarioSpec("Allies only", only_bloc="allies"), ScenarioSpec("Core partners out", remove_blocs=("core",))]
    return [build_scenario(tm, spec) for spec in fallback]


def section(tm: TechMap, scenarios: list[Scenario], note: str = "", compare_open_ran: bool = True) -> Section:
    """Chokepoints, bloc shares, scenarios and (where the map has one) the Open RAN comparison."""
    open_ran = []
    if compare_open_ran and bundle_counterparts(tm):
        bans = [policy_scenario(tm, [p.policy_id], p.name) for p in policies(tm).values() if p.kind == "exclude"]
        open_ran = open_ran_comparison(tm, bans + list(scenarios)).to_records()
    return Section(
        tm=tm,
        chokepoints=find_chokepoints(tm),
        exposure_rows=list(exposure(tm, tm.resolve_bloc("core")).records),
        bloc_rows=bloc_rows(tm),
        results=run_scenarios(tm, scenarios),
        open_ran=open_ran,
        note=note,
    )


def _materials_shock(data: str) -> Section:
    tm = load_map(data)
    scenarios = load_scenarios(tm, datasets.builtin_path("materials") / DEMO_SCENARIO_FILE)
    note = "Materials shocks followed through the combined map into chips and 5G radios."
    return section(tm, scenarios, note, compare_open_ran=False)


def demo(out_dir: str | Path = "coreatlas-report", data: str | None = None, progress=None) -> DemoResult:
    """The main job: every built-in dataset (or only ``data``), then the materials shock in
    the combined map, and an HTML report with a section per technology."""
    from coreatlas.io.report import render_report, write_report  # matplotlib loads only here

    step = progress or (lambda _: None)
    names = [data] if data else datasets.builtin_names()
    sections = []
    for name in names:
        tm = load_map(name)
        sections.append(section(tm, demo_scenarios(tm, name)))
        step(name)
    if data is None and all(part in names for part in DEMO_COMBINATION.split("+")):
        sections.append(_materials_shock(DEMO_COMBINATION))
        step(DEMO_COMBINATION)
    path = write_report(Path(out_dir), render_report(sections))
    step("report")
    return DemoResult(sections, path)


def demo_steps(data: str | None = None) -> int:
    """How many progress steps :func:`demo` reports."""
    return 2 if data else len(datasets.builtin_names()) + 2
