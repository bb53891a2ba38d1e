"""The demo: every built-in technology map, the Open RAN comparison and a materials shock
followed into chips and radios, with an HTML report.

Use case ``demo`` (payload keys): ``report`` (the path of ``index.html``) and ``sections``,
one per map: ``dataset``, ``version``, ``title``, ``note``, ``chokepoints``, ``bloc_rows``,
``outputs`` (per scenario and ultimate output) and ``open_ran``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd
import pydantic

from coreatlas.analysis.exposure import bloc_shares, exposure
from coreatlas.analysis.propagate import ScenarioResult
from coreatlas.io import datasets
from coreatlas.io.report import render_report, write_report
from coreatlas.model.scenario import Scenario
from coreatlas.model.scenario_spec import ScenarioSpec
from coreatlas.model.techmap import TechMap
from coreatlas.render import Chart, to_svg
from coreatlas.services.inputs import ScenarioSource, build_scenario, load_map, map_hash, scenarios_of
from coreatlas.services.maps import chokepoint_rows, run_scenarios
from coreatlas.services.policy import bundle_counterparts, exclusion_scenarios, open_ran_comparison
from coreatlas.services.protocol import Progress, Provenance, Request, Result, content_hash, make_provenance, report, use_case

__all__ = ["DEMO_COMBINATION", "DEMO_SCENARIO_FILE", "DemoRequest", "DemoResult", "Section", "bloc_rows", "demo", "demo_scenarios",
           "section", "section_charts"]  # fmt: skip

DEMO_SCENARIO_FILE = "scenarios.yaml"
#: The combination in which a materials shock is followed into chips and radios.
DEMO_COMBINATION = "materials+chips+telecom-ran"
OUTPUT_KEYS = ("node_id", "node_name", "available", "available_low", "available_high", "estimated")


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

    def outputs(self) -> list[dict]:
        """Per scenario, each ultimate output's availability and binding path."""
        return [{"scenario": r.scenario.name, **o} for r in self.results for o in r.outputs()]

    def to_dict(self) -> dict:
        meta = self.tm.meta
        return {"dataset": meta.name, "version": meta.version, "title": meta.title, "note": self.note, "chokepoints": self.chokepoints,
                "bloc_rows": self.bloc_rows, "outputs": self.outputs(), "open_ran": self.open_ran}  # fmt: skip


class DemoRequest(Request):
    """Every built-in dataset (or only ``data``) and an HTML report in ``out_dir``."""

    out_dir: str = pydantic.Field("coreatlas-report", min_length=1, description="Folder for the HTML report.")
    data: str | None = pydantic.Field(None, description="Only this dataset (default: every built-in dataset).")


@dataclass(frozen=True, eq=False)
class DemoResult(Result):
    sections: tuple[Section, ...]
    report_path: Path
    provenance: Provenance
    table_name = "outputs"

    @property
    def tm(self) -> TechMap:
        return self.sections[0].tm

    def payload(self) -> dict:
        return {"report": str(self.report_path), "sections": [s.to_dict() for s in self.sections]}

    def charts(self) -> dict[str, Chart]:
        return {f"{sec.tm.meta.name}-{name}": chart for sec in self.sections for name, chart in section_charts(sec).items()}

    def to_frame(self) -> pd.DataFrame:
        rows = [{"dataset": s.tm.meta.name, "scenario": o["scenario"], **{k: o[k] for k in OUTPUT_KEYS}} for s in self.sections
                for o in s.outputs()]  # fmt: skip
        return pd.DataFrame(rows, columns=["dataset", "scenario", *OUTPUT_KEYS])


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


FALLBACK = (ScenarioSpec(name="Allies only", only_bloc="allies"), ScenarioSpec(name="Core partners out", remove_blocs=("core",)))


def demo_scenarios(tm: TechMap, data: str) -> list[Scenario]:
    """The dataset's named scenarios (``scenarios.yaml`` beside it), or two generic ones."""
    path = _scenario_file(data)
    if path.is_file():
        return scenarios_of(tm, ScenarioSource(scenario_file=str(path)))
    return [build_scenario(tm, spec) for spec in FALLBACK]


def section(tm: TechMap, scenarios: list[Scenario], note: str = "", compare_open_ran: bool = True) -> Section:
    """Chokepoints, bloc shares, scenarios and (where the map has one) the Open RAN comparison."""
    open_ran = []
    if compare_open_ran and bundle_counterparts(tm):
        open_ran = open_ran_comparison(tm, exclusion_scenarios(tm) + list(scenarios)).to_records()
    return Section(
        tm=tm,
        chokepoints=list(chokepoint_rows(tm)),
        exposure_rows=list(exposure(tm, tm.resolve_bloc("core")).records),
        bloc_rows=bloc_rows(tm),
        results=run_scenarios(tm, scenarios),
        open_ran=open_ran,
        note=note,
    )


def _materials_shock(data: str) -> Section:
    tm = load_map(data)
    scenarios = scenarios_of(tm, ScenarioSource(scenario_file=str(datasets.builtin_path("materials") / DEMO_SCENARIO_FILE)))
    note = "Materials shocks followed through the combined map into chips and 5G radios."
    return section(tm, scenarios, note, compare_open_ran=False)


def chokepoint_chart(exposure_rows: list[dict]) -> Chart:
    """Bars: the top country's share of each chokepoint node."""
    rows = [{"node": r["node_name"], "share": r["top_country_share"] or 0.0, "country": r["top_country"] or ""} for r in exposure_rows[:20]]
    return Chart("bar", pd.DataFrame(rows, columns=["node", "share", "country"]), x="share", y="node",
                 title="Top country's share at each chokepoint", x_title="share of the global market", x_domain=(0.0, 1.0))  # fmt: skip


def scenario_chart(results: list[ScenarioResult]) -> Chart:
    """Bars: remaining fraction of each output under each scenario (below half highlighted);
    a figure that rests on an assumption is labelled ``*`` (the rule is the y axis title)."""
    rows = []
    for result in results:
        for output in result.outputs():
            label = result.scenario.name if len(result.outputs()) == 1 else f"{result.scenario.name}: {output['node_name']}"
            rows.append({"scenario": label + (" *" if output["estimated"] else ""), "remaining": output["available"],
                         "below_half": output["available"] < 0.5, "estimated": output["estimated"]})  # fmt: skip
    note = "* assumed: equal split of shares no source gives" if any(r["estimated"] for r in rows) else ""
    return Chart("bar", pd.DataFrame(rows, columns=["scenario", "remaining", "below_half", "estimated"]), x="remaining", y="scenario",
                 title="What is left under each scenario", x_title="remaining fraction of the ultimate output (1 = nothing lost)",
                 y_title=note, x_domain=(0.0, 1.0), highlight="below_half", highlight_label="below half")  # fmt: skip


def open_ran_chart(rows: list[dict]) -> Chart:
    """Paired bars: capacity kept by the proprietary and the open network per scenario."""
    bars = [{"network": f"{r['scenario']}: {label}", "kept": r[f"{key}_available"], "open": key == "open"}
            for r in rows for key, label in (("proprietary", "proprietary"), ("open", "open interfaces"))]  # fmt: skip
    return Chart("bar", pd.DataFrame(bars, columns=["network", "kept", "open"]), x="kept", y="network",
                 title="Vendor bans: proprietary vs open RAN", x_title="RAN capacity kept (1 = nothing lost)", x_domain=(0.0, 1.0),
                 highlight="open", highlight_label="open interfaces")  # fmt: skip


def section_charts(sec: Section) -> dict[str, Chart]:
    """A section's charts by name: ``chokepoints``, ``scenarios`` and ``open_ran`` (where there are data)."""
    choke_ids = list(dict.fromkeys(c["node_id"] for c in sec.chokepoints))
    by_id = {r["node_id"]: r for r in sec.exposure_rows}
    charts = {"chokepoints": chokepoint_chart([by_id[n] for n in choke_ids])} if choke_ids else {}
    charts |= {"scenarios": scenario_chart(sec.results)} if sec.results else {}
    return charts | ({"open_ran": open_ran_chart(sec.open_ran)} if sec.open_ran else {})


def _provenance(sections: list[Section], request: DemoRequest) -> Provenance:
    names = "+".join(s.tm.meta.name for s in sections)
    versions = "+".join(s.tm.meta.version for s in sections)
    return make_provenance(names, versions, content_hash(*(map_hash(s.tm) for s in sections)), request)


@use_case("demo", DemoRequest, long=True)
def demo(request: DemoRequest, progress: Progress = None) -> DemoResult:
    """The main job: every built-in dataset (or only ``data``), then the materials shock in
    the combined map, and an HTML report with a section per technology. Progress counts
    datasets, the combination and the report."""
    names = [request.data] if request.data else datasets.builtin_names()
    combined = request.data is None and all(part in names for part in DEMO_COMBINATION.split("+"))
    total = len(names) + combined + 1
    sections = []
    for name in names:
        tm = load_map(name)
        sections.append(section(tm, demo_scenarios(tm, name)))
        report(progress, len(sections), total)
    if combined:
        sections.append(_materials_shock(DEMO_COMBINATION))
        report(progress, len(sections), total)
    svgs = [{name: to_svg(chart) for name, chart in section_charts(sec).items()} for sec in sections]
    path = write_report(Path(request.out_dir), render_report(sections, svgs))
    report(progress, total, total)
    return DemoResult(tuple(sections), path, _provenance(sections, request))
