"""Inputs shared by every use case on a technology map: loading the map, its provenance, and
scenarios (given inline or in a YAML file) resolved against it."""

from __future__ import annotations

import difflib
from pathlib import Path

import pydantic

from coreatlas.analysis.memo import per_map
from coreatlas.errors import CoreAtlasError, NotFoundError, Problem, ScenarioError, ValidationError
from coreatlas.io import datasets
from coreatlas.io.yamlfile import YamlDocument, load_yaml, locate_error, validate_yaml
from coreatlas.model.countries import is_iso_alpha3
from coreatlas.model.policy import policy_scenario
from coreatlas.model.scenario import ExportControl, Scenario
from coreatlas.model.scenario_spec import ScenarioSpec
from coreatlas.model.techmap import TechMap
from coreatlas.services.protocol import Provenance, Request, content_hash, make_provenance

__all__ = [
    "ScenarioSource",
    "build_scenario",
    "load_map",
    "map_hash",
    "map_provenance",
    "read_scenario_file",
    "resolve_firm",
    "scenarios_of",
]


def load_map(data: str | Path = datasets.DEFAULT_DATASET) -> TechMap:
    """A technology map from a built-in name, a folder (native or ETO format) or ``a+b``."""
    try:
        return datasets.load(data)
    except CoreAtlasError as exc:
        exc.field = exc.field or "data"
        raise


@per_map
def map_hash(tm: TechMap) -> str:
    """SHA-256 of the map's tables (content, not file names): equal maps hash equal (once per map: maps are immutable)."""
    return content_hash(tm.nodes, tm.providers, tm.provision, tm.relations)


def map_provenance(tm: TechMap, request: Request | dict | None, seed: int | None = None) -> Provenance:
    return make_provenance(tm.meta.name, tm.meta.version, map_hash(tm), request, seed)


# ---- names resolved against a map ----------------------------------------------------------
def _firm_lookup(tm: TechMap) -> dict[str, str]:
    firms = tm.providers[tm.providers["type"].isin(["firm"])]
    lookup = {}
    for row in firms.itertuples(index=False):
        names = [row.provider_id, row.name, *(str(row.aliases).split(";") if isinstance(row.aliases, str) else [])]
        for name in names:
            lookup.setdefault(name.strip().casefold(), row.provider_id)
    return lookup


def resolve_firm(tm: TechMap, name: str, field: str | None = None) -> str:
    """A firm's provider id from its id, name or alias (case-insensitive)."""
    lookup = _firm_lookup(tm)
    key = name.strip().casefold()
    if key in lookup:
        return lookup[key]
    names = sorted(set(tm.providers.loc[tm.providers["type"] == "firm", "name"]))
    close = difflib.get_close_matches(name, names, n=3, cutoff=0.6)
    hint = f"; did you mean {', '.join(close)}?" if close else "; the exposure of a node lists its firms"
    raise NotFoundError(f"unknown firm '{name}' in {tm.meta.name}{hint}", field=field)


def _check_code(tm: TechMap, code: str, field: str | None = None) -> str:
    """A country code known to ``tm`` or to ISO 3166 (``twn`` is ``TWN``), else an error."""
    return tm.check_code(code, field)


def _bloc(tm: TechMap, value: str | tuple[str, ...], field: str) -> tuple[str, ...]:
    return tm.resolve_bloc(value, field=field, error=ScenarioError)


def _capacity_key(tm: TechMap, key: str, field: str) -> str:
    """A code as written (of the map, or ISO 3166), else a firm (id, name or alias), else a code
    in another case (``twn``); else an error."""
    if key in tm.code_set or is_iso_alpha3(key):
        return key
    if key.strip().casefold() in _firm_lookup(tm):
        return resolve_firm(tm, key, field)
    if tm.code_of(key) is not None:
        return tm.code_of(key)
    if key.strip().isalpha() and len(key.strip()) <= 3:
        raise ScenarioError(f"{field}: unknown country code or firm '{key}' in {tm.meta.name}; use ISO 3166 alpha-3 codes such as "
                            "TWN, JPN, USA, or a firm's id or name", field=field)  # fmt: skip
    return resolve_firm(tm, key, field)


def _capacity(tm: TechMap, spec: ScenarioSpec, field: str) -> dict[str, float]:
    return {_capacity_key(tm, key, f"{field}.{key}"): value for key, value in spec.capacity.items()}


def build_scenario(tm: TechMap, spec: ScenarioSpec, field: str = "") -> Scenario:
    """Resolve a :class:`ScenarioSpec` against ``tm``: bloc names, firm names, codes.

    ``field`` is the spec's path in its request; errors name the field at fault below it."""
    at = (lambda name: f"{field}.{name}" if field else name)  # noqa: E731
    if spec.is_empty():
        raise ScenarioError(f"{field or 'scenario'}: the scenario changes nothing; name countries, firms or blocs to remove, "
                            "capacity cuts or policies", field=field or None)  # fmt: skip
    countries = [_check_code(tm, c, f"{at('remove_countries')}[{i}]") for i, c in enumerate(spec.remove_countries)]
    for i, bloc in enumerate(spec.remove_blocs):
        countries += list(_bloc(tm, bloc, f"{at('remove_blocs')}[{i}]"))
    control = None
    if spec.export_control:
        ec = spec.export_control
        control = ExportControl(_bloc(tm, ec.denied_by, at("export_control.denied_by")), _check_code(tm, ec.target, at("export_control.target")))
    return Scenario(
        name=spec.name,
        description=spec.description,
        exclusions=policy_scenario(tm, spec.policies).exclusions if spec.policies else (),
        remove_countries=tuple(dict.fromkeys(countries)),
        remove_firms=tuple(resolve_firm(tm, f, f"{at('remove_firms')}[{i}]") for i, f in enumerate(spec.remove_firms)),
        only_bloc=_bloc(tm, spec.only_bloc, at("only_bloc")) if spec.only_bloc else None,
        capacity=_capacity(tm, spec, at("capacity")),
        export_control=control,
    )


# ---- scenarios given inline or in a file ----------------------------------------------------
class _ScenarioFile(pydantic.BaseModel):
    model_config = pydantic.ConfigDict(extra="forbid")
    scenarios: list[ScenarioSpec]


def read_scenario_file(path: Path | str) -> tuple[list[ScenarioSpec], YamlDocument]:
    """A scenario file: one scenario, a list, or a list under ``scenarios:`` (docs/scenarios.md)."""
    doc = load_yaml(path, "a scenario")
    data = doc.data
    _refuse_nulls(doc, data, "scenarios" if isinstance(data, list) else "")
    if isinstance(data, dict) and "scenarios" in data:
        parsed = validate_yaml(doc, _ScenarioFile)
        return parsed.scenarios, doc
    if isinstance(data, list):
        return validate_yaml(doc, _ScenarioFile, {"scenarios": data}, prefix="scenarios").scenarios, doc
    return [validate_yaml(doc, ScenarioSpec)], doc


def _refuse_nulls(doc: YamlDocument, value: object, prefix: str, path: str = "") -> None:
    """A key given with no value (``remove_countries:``) or an empty list item is an error
    naming the file and line: the writer meant something, and nothing would be read."""
    if isinstance(value, dict):
        for key, item in value.items():
            _refuse_nulls(doc, item, prefix, f"{path}.{key}" if path else key)
    elif isinstance(value, list):
        for i, item in enumerate(value):
            _refuse_nulls(doc, item, prefix, f"{path}[{i}]")
    elif value is None and path:
        field = prefix + path if path.startswith("[") else path
        column = path.rsplit(".", 1)[-1].split("[")[0] or None
        message = f"'{path}' has no value; write one or leave the key out"
        raise ValidationError(Problem(message, file=str(doc.path), line=doc.line_of(path), column=column, field=field))


def _numbered(specs: list[ScenarioSpec]) -> list[ScenarioSpec]:
    """Scenarios without a name in a file are called ``scenario-1``, ``scenario-2``, ..."""
    return [s if "name" in s.model_fields_set else s.model_copy(update={"name": f"scenario-{i + 1}"}) for i, s in enumerate(specs)]


class ScenarioSource(Request):
    """Scenarios inline (``scenarios``) or in a YAML file (``scenario_file``); with a file,
    ``scenario_name`` picks one of its scenarios."""

    scenarios: list[ScenarioSpec] = pydantic.Field(default_factory=list)
    scenario_file: str | None = None
    scenario_name: str | None = None


def _from_file(tm: TechMap, source: ScenarioSource) -> list[Scenario]:
    specs, doc = read_scenario_file(source.scenario_file)
    specs = _numbered(specs)
    nested = isinstance(doc.data, dict) and "scenarios" in doc.data or isinstance(doc.data, list)
    built = []
    for i, spec in enumerate(specs):
        try:
            built.append(build_scenario(tm, spec, f"scenarios[{i}]" if nested else ""))
        except CoreAtlasError as exc:
            raise locate_error(doc, exc) from None
    return built


def _pick(scenarios: list[Scenario], source: ScenarioSource) -> list[Scenario]:
    if source.scenario_name is None:
        return scenarios
    chosen = [s for s in scenarios if s.name == source.scenario_name]
    if not chosen:
        names = ", ".join(s.name for s in scenarios)
        raise ScenarioError(f"scenario_name: {source.scenario_file} has no scenario named '{source.scenario_name}'; it has {names}",
                            field="scenario_name")  # fmt: skip
    return chosen


def scenarios_of(tm: TechMap, source: ScenarioSource) -> list[Scenario]:
    """The scenarios of ``source`` resolved against ``tm`` (errors name field, file and line)."""
    if source.scenario_file is not None and source.scenarios:
        raise ScenarioError("give scenarios inline or a scenario file, not both", field="scenario_file")
    if source.scenario_file is not None:
        return _pick(_from_file(tm, source), source)
    if not source.scenarios:
        raise ScenarioError("scenarios: no scenario given: name countries, firms or blocs to remove, capacity cuts or policies",
                            field="scenarios")  # fmt: skip
    return [build_scenario(tm, spec, f"scenarios[{i}]") for i, spec in enumerate(source.scenarios)]
