"""Maps, exposure and scenarios: the use cases of the foundation."""

from __future__ import annotations

import difflib
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from coreatlas.analysis.exposure import ExposureTable, chokepoints, exposure, leverage
from coreatlas.analysis.propagate import Propagator, ScenarioResult, run_scenario
from coreatlas.errors import NotFoundError, Problem, ScenarioError, ValidationError
from coreatlas.io import datasets
from coreatlas.io.scenario_file import ScenarioSpec, read_scenarios
from coreatlas.model.policy import policy_scenario
from coreatlas.model.scenario import ExportControl, Scenario
from coreatlas.model.techmap import TechMap
from coreatlas.model.validate import validate

__all__ = [
    "ScenarioError",
    "ValidationReport",
    "bloc_leverage",
    "build_scenario",
    "exposure_records",
    "find_chokepoints",
    "load_map",
    "load_scenarios",
    "parse_cuts",
    "resolve_firm",
    "run_scenarios",
    "scenario_spec_from_options",
    "validation_report",
]


def load_map(data: str | Path = datasets.DEFAULT_DATASET) -> TechMap:
    """A technology map from a built-in name or a folder (native or ETO format)."""
    return datasets.load(data)


@dataclass(frozen=True)
class ValidationReport:
    data: str
    ok: bool
    problems: tuple[Problem, ...]
    counts: dict

    def to_dict(self) -> dict:
        return {
            "data": self.data,
            "ok": self.ok,
            "counts": self.counts,
            "problems": [
                {"severity": p.severity, "file": p.file, "line": p.line, "column": p.column, "message": p.message} for p in self.problems
            ],
        }


def validation_report(data: str) -> ValidationReport:
    """Load ``data`` and list every problem; errors make ``ok`` false instead of raising."""
    try:
        tm = load_map(data)
    except ValidationError as exc:
        return ValidationReport(str(data), False, tuple(exc.problems), {})
    problems = tuple(validate(tm))
    counts = {
        "nodes": len(tm.nodes),
        "providers": len(tm.providers),
        "provision": len(tm.provision),
        "numeric_shares": int(tm.provision["share"].notna().sum()),
        "relations": len(tm.relations),
        "outputs": len(tm.outputs),
    }
    ok = not any(p.severity == "error" for p in problems)
    return ValidationReport(str(data), ok, problems, counts)


def _check_attribution(attribution: str) -> None:
    if attribution not in ("hq", "site"):
        raise ScenarioError(f"--attribution must be 'hq' (headquarters) or 'site' (production site), not '{attribution}'")


def find_chokepoints(tm: TechMap, threshold: float = 0.9, by: str = "country", attribution: str = "hq") -> list[dict]:
    """Chokepoints as records: node_id, node_name, provider, provider_name, share, by, basis."""
    _check_fraction("threshold", threshold)
    if by not in ("country", "firm"):
        raise ScenarioError(f"--by must be 'country' or 'firm', not '{by}'")
    _check_attribution(attribution)
    return [cp.__dict__.copy() for cp in chokepoints(tm, threshold, by, attribution=attribution)]


def exposure_records(tm: TechMap, node: str | None = None, bloc: str = "core", attribution: str = "hq") -> ExposureTable:
    """Exposure metrics of every node (or one), with the bloc's share."""
    _check_attribution(attribution)
    codes = tm.resolve_bloc(bloc)
    table = exposure(tm, codes, attribution=attribution)
    if node is None:
        return table
    tm.node(node)
    return ExposureTable(tuple(r for r in table.records if r["node_id"] == node), table.bloc, table.attribution)


def bloc_leverage(tm: TechMap, bloc: str, threshold: float = 0.9) -> list[dict]:
    _check_fraction("threshold", threshold)
    return leverage(tm, tm.resolve_bloc(bloc), threshold)


def _check_fraction(name: str, value: float) -> None:
    if not 0.0 <= value <= 1.0:
        raise ScenarioError(f"--{name} is {value}; expected a fraction in [0, 1] such as 0.9")


# ---- scenarios -----------------------------------------------------------------------------
def parse_cuts(cuts: Iterable[str]) -> dict[str, float]:
    """``["TWN=0.3"]`` -> ``{"TWN": 0.3}`` (the fraction of capacity that remains)."""
    out = {}
    for text in cuts:
        key, sep, value = text.partition("=")
        try:
            fraction = float(value)
        except ValueError:
            fraction = None
        if not sep or not key.strip() or fraction is None or not 0 <= fraction <= 1:
            raise ScenarioError(f"--cut '{text}': expected CODE=FRACTION with a fraction in [0, 1], such as TWN=0.3 (Taiwan at 30%)")
        out[key.strip()] = fraction
    return out


def _items(values: Iterable[str]) -> tuple[str, ...]:
    return tuple(v.strip() for item in values for v in item.split(",") if v.strip())


def scenario_spec_from_options(
    remove_country: Iterable[str] = (),
    remove_firm: Iterable[str] = (),
    only_bloc: str | None = None,
    cut: Iterable[str] = (),
    name: str | None = None,
    policy: Iterable[str] = (),
) -> ScenarioSpec:
    """A scenario from command-line style options (codes may be comma-separated)."""
    countries, firms, policies = _items(remove_country), _items(remove_firm), _items(policy)
    capacity = parse_cuts(cut)
    if not (countries or firms or only_bloc or capacity or policies):
        raise ScenarioError("no scenario given: pass a scenario file or --remove-country, --remove-firm, --only-bloc, --cut or --policy")
    spec = ScenarioSpec(
        name or "scenario", remove_countries=countries, remove_firms=firms, only_bloc=only_bloc, capacity=capacity, policies=policies
    )
    return spec if name else ScenarioSpec(**{**spec.__dict__, "name": _describe(spec)})


def _describe(spec: ScenarioSpec) -> str:
    parts = [f"remove {','.join(spec.remove_countries)}"] if spec.remove_countries else []
    parts += [f"remove {','.join(spec.remove_firms)}"] if spec.remove_firms else []
    parts += [f"only {spec.only_bloc}"] if spec.only_bloc else []
    parts += [f"{k} at {v:.0%}" for k, v in spec.capacity.items()]
    parts += [f"policy {p}" for p in spec.policies]
    return "; ".join(parts)


def _firm_lookup(tm: TechMap) -> dict[str, str]:
    firms = tm.providers[tm.providers["type"].isin(["firm"])]
    lookup = {}
    for row in firms.itertuples(index=False):
        names = [row.provider_id, row.name, *(str(row.aliases).split(";") if isinstance(row.aliases, str) else [])]
        for name in names:
            lookup.setdefault(name.strip().casefold(), row.provider_id)
    return lookup


def resolve_firm(tm: TechMap, name: str) -> str:
    """A firm's provider id from its id, name or alias (case-insensitive)."""
    lookup = _firm_lookup(tm)
    key = name.strip().casefold()
    if key in lookup:
        return lookup[key]
    names = sorted(set(tm.providers.loc[tm.providers["type"] == "firm", "name"]))
    close = difflib.get_close_matches(name, names, n=3, cutoff=0.6)
    hint = f"; did you mean {', '.join(close)}?" if close else "; `coreatlas exposure --node ID` lists a node's firms"
    raise NotFoundError(f"unknown firm '{name}' in {tm.meta.name}{hint}")


def _check_code(tm: TechMap, code: str) -> str:
    known = set(tm.country_codes)
    if code in known or (code.isalpha() and code.isupper() and len(code) == 3):
        return code
    raise ScenarioError(
        f"unknown country code '{code}'; use ISO 3166 alpha-3 codes such as TWN, JPN, USA (or a region code: {', '.join(sorted(tm.region_members)) or 'none'})"
    )


def _bloc(tm: TechMap, value: str | tuple[str, ...]) -> tuple[str, ...]:
    codes = tm.resolve_bloc(value) if isinstance(value, str) else tuple(value)
    return tuple(_check_code(tm, c) for c in codes)


def build_scenario(tm: TechMap, spec: ScenarioSpec) -> Scenario:
    """Resolve a :class:`ScenarioSpec` against ``tm``: bloc names, firm names, codes."""
    try:
        countries = [_check_code(tm, c) for c in spec.remove_countries]
        for bloc in spec.remove_blocs:
            countries += list(_bloc(tm, bloc))
        capacity = {}
        for key, value in spec.capacity.items():
            is_code = key in set(tm.country_codes) or (key.isupper() and len(key) == 3 and key.isalpha())
            capacity[_check_code(tm, key) if is_code else resolve_firm(tm, key)] = value
        control = None
        if spec.export_control:
            ec = spec.export_control
            control = ExportControl(_bloc(tm, ec["denied_by"]), _check_code(tm, str(ec["target"])))
        exclusions = policy_scenario(tm, spec.policies).exclusions if spec.policies else ()
        return Scenario(
            name=spec.name,
            description=spec.description,
            exclusions=exclusions,
            remove_countries=tuple(dict.fromkeys(countries)),
            remove_firms=tuple(resolve_firm(tm, f) for f in spec.remove_firms),
            only_bloc=_bloc(tm, spec.only_bloc) if spec.only_bloc else None,
            capacity=capacity,
            export_control=control,
        )
    except (ScenarioError, NotFoundError) as exc:
        where = f"{spec.origin}: " if spec.origin else ""
        raise ScenarioError(f"{where}{exc}") from None


def load_scenarios(tm: TechMap, path: str | Path) -> list[Scenario]:
    return [build_scenario(tm, spec) for spec in read_scenarios(path)]


def run_scenarios(
    tm: TechMap, scenarios: list[Scenario], *, variants: str = "pool", attribution: str = "hq", progress=None
) -> list[ScenarioResult]:
    """Run each scenario; ``progress`` (optional) is called with 1 after each."""
    _check_attribution(attribution)
    propagator = Propagator(tm, attribution=attribution, variants=variants)
    results = []
    for scenario in scenarios:
        results.append(run_scenario(tm, scenario, propagator=propagator))
        if progress is not None:
            progress(1)
    return results
