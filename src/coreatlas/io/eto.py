"""Adapter for the ETO Advanced Semiconductor Supply Chain Dataset (CSET/ETO).

Reads the five CSVs (``inputs``, ``providers``, ``provision``, ``sequence``, ``stages``)
of github.com/georgetown-cset/eto-chip-explorer ``data/`` into a :class:`TechMap`.
The data are CC BY-NC 4.0: CoRe Atlas never bundles them; users point at their copy.

Its traps, and what this adapter does about each:

* **Repeated provider ids** (Canon x3, Onto Innovation x3, ...) are aliases of one
  provider: rows are merged on ``provider_id`` and the other names kept as ``aliases``,
  so no share is counted twice.
* **EUR** (Europe) is a region that overlaps its member states: it becomes a provider
  of type ``region`` whose members are the EU-27; it counts towards a bloc only if the
  bloc names ``EUR`` or all of its members (see :mod:`coreatlas.analysis.exposure`).
* **"Various countries" / "Various companies"** are residuals: the first becomes the
  residual provider ``various_countries``; the second a firm whose country is that
  residual, so it is never a chokepoint or a top provider.
* **Blank shares** are qualitative "major provider" rows (share NA), never zero.
* **Mixed years** are kept per row (``year``); exposure reports the years behind each node.
* **Percent**: shares are percent in the files and fractions here.
* **Stages** (S1 Design, S2 Fabrication, S3 ATP) carry country shares of stage capacity;
  they become process nodes that every process of that stage uses.
"""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import pandas as pd

from coreatlas.errors import Problem, ValidationError
from coreatlas.io.csvfile import check_columns, locate, read_table
from coreatlas.model import schema
from coreatlas.model.schema import Column
from coreatlas.model.techmap import LINE, Metadata, Source, TechMap
from coreatlas.model.validate import check

__all__ = ["ETO_FILES", "EU27", "is_eto", "read_eto"]

ETO_FILES = ("inputs.csv", "providers.csv", "provision.csv", "sequence.csv", "stages.csv")
EU27 = [
    "AUT",
    "BEL",
    "BGR",
    "HRV",
    "CYP",
    "CZE",
    "DNK",
    "EST",
    "FIN",
    "FRA",
    "DEU",
    "GRC",
    "HUN",
    "IRL",
    "ITA",
    "LVA",
    "LTU",
    "LUX",
    "MLT",
    "NLD",
    "POL",
    "PRT",
    "ROU",
    "SVK",
    "SVN",
    "ESP",
    "SWE",
]
KINDS = {
    "process": "process",
    "tool_resource": "tool",
    "material_resource": "material",
    "design_resource": "design",
    "ultimate_output": "output",
}
RESIDUAL_ID = "various_countries"
REGION_NAMES = {"EUR": "Europe"}
SCALE = {"thousand": 1e3, "million": 1e6, "billion": 1e9, "trillion": 1e12}
MONEY = re.compile(r"\$\s*(\d[\d,]*(?:\.\d+)?)\s*(thousand|million|billion|trillion)?", re.IGNORECASE)
YEAR = re.compile(r"\((\d{4})\)")
REQUIRED = {
    "inputs.csv": ["input_id", "input_name", "type"],
    "providers.csv": ["provider_name", "provider_id", "provider_type", "country"],
    "provision.csv": ["provider_id", "provided_id", "share_provided", "year", "source"],
    "sequence.csv": ["input_id", "goes_into_id", "is_type_of_id"],
    "stages.csv": ["stage_id", "stage_name"],
}
#: Columns the adapter reads where a file has them; a missing one reads as blank.
SIZE_INFO = "market_share_chart_global_market_size_info"
OPTIONAL = {
    "inputs.csv": ["stage_id", "description", "year", SIZE_INFO],
    "providers.csv": ["alias"],
    "stages.csv": ["description", SIZE_INFO],
}
PROVIDER_TYPES = ("country", "organization")
#: What a row of each file is, for the files that must have rows.
ROWS = {"inputs.csv": "input", "providers.csv": "provider", "provision.csv": "provision row"}
YEAR_COLUMN = Column("year", "int", False, "year the figure refers to", *schema.YEARS)
#: Map columns -> the ETO files' own, for error messages.
FILE_COLUMNS = {
    "nodes": {"node_id": "input_id", "name": "input_name", "kind": "type"},
    "providers": {"name": "provider_name", "type": "provider_type"},
    "provision": {"node_id": "provided_id", "share": "share_provided"},
}


def is_eto(folder: Path) -> bool:
    return all((folder / name).is_file() for name in ("inputs.csv", "provision.csv", "sequence.csv"))


def parse_market_size(text: object) -> tuple[float, int | None]:
    """``"$13 billion (2025)"`` -> ``(13e9, 2025)``; unparseable -> ``(nan, None)``."""
    if not isinstance(text, str):
        return np.nan, None
    money = MONEY.search(text)
    year = YEAR.search(text)
    size = float(money.group(1).replace(",", "")) * SCALE.get((money.group(2) or "").lower(), 1.0) if money else np.nan
    return (size if np.isfinite(size) else np.nan), int(year.group(1)) if year else None


def _nodes(inputs: pd.DataFrame, stages: pd.DataFrame) -> pd.DataFrame:
    stage_names = dict(zip(stages["stage_id"], stages["stage_name"], strict=True))
    sizes = [parse_market_size(t) for t in inputs[SIZE_INFO]]
    year = pd.to_numeric(inputs["year"].replace("", np.nan))
    nodes = pd.DataFrame(
        {
            "node_id": inputs["input_id"],
            "name": inputs["input_name"],
            "kind": inputs["type"].map(KINDS).fillna(inputs["type"]),
            "stage": inputs["stage_id"].map(stage_names),
            "market_size_usd": [s for s, _ in sizes],
            "market_size_year": [y if y is not None else yr for (_, y), yr in zip(sizes, year, strict=True)],
            "description": inputs["description"],
            LINE: inputs[LINE],
        }
    )
    stage_sizes = [parse_market_size(t) for t in stages[SIZE_INFO]]
    stage_nodes = pd.DataFrame(
        {
            "node_id": stages["stage_id"],
            "name": stages["stage_name"] + " (stage capacity)",
            "kind": "process",
            "stage": stages["stage_name"],
            "market_size_usd": [s for s, _ in stage_sizes],
            "market_size_year": [y for _, y in stage_sizes],
            "description": stages["description"],
            LINE: pd.NA,
        }
    )
    return pd.concat([nodes, stage_nodes], ignore_index=True)


def _provider_ids(providers: pd.DataFrame) -> dict[str, str]:
    """ETO id -> CoRe Atlas id: countries by their code, the residual by name."""
    ids = {}
    for row in providers.itertuples(index=False):
        if row.provider_type == "country":
            ids[row.provider_id] = RESIDUAL_ID if row.provider_name.startswith("Various") else row.provider_name
        else:
            ids[row.provider_id] = row.provider_id
    return ids


def _providers(raw: pd.DataFrame, ids: dict[str, str]) -> pd.DataFrame:
    raw = raw.copy()
    names = raw.groupby("provider_id", sort=False).agg(
        name=("provider_name", "first"),
        all_names=("provider_name", lambda s: list(s)),
        alias_col=("alias", lambda s: list(s)),
        ptype=("provider_type", "first"),
        country=("country", "first"),
        line=(LINE, "first"),
    )
    rows = []
    for eto_id, row in names.iterrows():
        new_id = ids[eto_id]
        aliases = [a for a in dict.fromkeys(row.all_names + row.alias_col) if isinstance(a, str) and a and a != row["name"]]
        rows.append(_provider_row(new_id, row, aliases))
    return pd.DataFrame(rows)


def _provider_row(new_id: str, row: pd.Series, aliases: list[str]) -> dict:
    base = {"provider_id": new_id, "name": row["name"], "aliases": ";".join(aliases), LINE: row["line"]}
    if new_id == RESIDUAL_ID:
        return {**base, "name": "Various countries", "type": "residual"}
    if new_id in REGION_NAMES:
        return {**base, "name": REGION_NAMES[new_id], "type": "region", "country": new_id, "members": ";".join(EU27)}
    if row["ptype"] == "country":
        alias_name = next((a for a in row.alias_col if isinstance(a, str) and a), new_id)
        return {**base, "name": alias_name, "type": "country", "country": new_id, "aliases": ""}
    hq = RESIDUAL_ID if str(row["country"]).startswith("Various") else row["country"]
    return {**base, "type": "firm", "country": hq}


def _provision(raw: pd.DataFrame, ids: dict[str, str], path: Path) -> pd.DataFrame:
    percent = pd.to_numeric(raw["share_provided"], errors="coerce")
    text = raw["share_provided"].astype("string").str.strip()
    problems = [
        Problem(f"'{value}' is not a number; expected a percent 0..100 or blank", file=str(path), line=int(line), column="share_provided")
        for value, line in zip(
            text[percent.isna() & text.notna() & (text != "")], raw.loc[percent.isna() & text.notna() & (text != ""), LINE], strict=True
        )
    ]
    out_of_range = percent.notna() & ((percent < 0) | (percent > 100))
    problems += [
        Problem(f"share {value:g} is outside [0, 100]; ETO shares are percent", file=str(path), line=int(line), column="share_provided")
        for value, line in zip(percent[out_of_range], raw.loc[out_of_range, LINE], strict=True)
    ]
    if problems:
        raise ValidationError(problems)
    return pd.DataFrame(
        {
            "node_id": raw["provided_id"],
            "provider_id": raw["provider_id"].map(ids).fillna(raw["provider_id"]),
            "share": percent / 100.0,
            "year": raw["year"],
            "source": raw["source"],
            LINE: raw[LINE],
        }
    )


def _relations(sequence: pd.DataFrame, inputs: pd.DataFrame) -> pd.DataFrame:
    """``goes_into`` -> uses, ``is_type_of`` -> variant_of, and each process uses its stage."""
    blank = sequence.replace("", np.nan)
    uses = blank[blank["goes_into_id"].notna()]
    variants = blank[blank["is_type_of_id"].notna()]
    stage_id = inputs["stage_id"].replace("", np.nan)
    staged = inputs[(inputs["type"] == "process") & stage_id.notna()]
    frames = [
        pd.DataFrame({"node_id": uses["goes_into_id"], "relation": "uses", "target_id": uses["input_id"], LINE: uses[LINE]}),
        pd.DataFrame(
            {"node_id": variants["input_id"], "relation": "variant_of", "target_id": variants["is_type_of_id"], LINE: variants[LINE]}
        ),
        pd.DataFrame({"node_id": staged["input_id"], "relation": "uses", "target_id": stage_id[staged.index], LINE: staged[LINE]}),
    ]
    return pd.concat(frames, ignore_index=True)


def _read_files(folder: Path) -> dict[str, pd.DataFrame]:
    """The five files, optional columns filled in blank; stages and years checked."""
    raw = {}
    for name in ETO_FILES:
        frame = read_table(folder / name, REQUIRED[name], rows=ROWS.get(name))
        for column in OPTIONAL.get(name, []):
            if column not in frame:
                frame[column] = ""
        raw[name] = frame
    problems = check_columns(raw["inputs.csv"], [YEAR_COLUMN], folder / "inputs.csv")
    problems += check_columns(raw["provision.csv"], [YEAR_COLUMN], folder / "provision.csv")
    problems += _stage_problems(raw["stages.csv"], raw["inputs.csv"], folder)
    providers = raw["providers.csv"]
    for value, line in zip(providers["provider_type"], providers[LINE], strict=True):
        if value not in PROVIDER_TYPES:
            message = f"unknown provider_type '{value}'; expected one of {', '.join(PROVIDER_TYPES)}"
            problems.append(Problem(message, file=str(folder / "providers.csv"), line=int(line), column="provider_type"))
    if problems:
        raise ValidationError(problems)
    return raw


def _stage_problems(stages: pd.DataFrame, inputs: pd.DataFrame, folder: Path) -> list[Problem]:
    """Stages become nodes: each needs an id and a name, unique among stages and inputs,
    and every stage an input names must be listed."""
    problems, seen = [], set(inputs["input_id"].str.strip())
    for stage_id, name, line in zip(stages["stage_id"].str.strip(), stages["stage_name"].str.strip(), stages[LINE], strict=True):
        seen_before, seen = stage_id in seen, seen | {stage_id}
        if stage_id and name and not seen_before:
            continue
        column = "stage_name" if stage_id and not name else "stage_id"
        message = f"duplicate id '{stage_id}'; stage and input ids must be unique" if stage_id and name else f"'{column}' is empty; a value is required"
        problems.append(Problem(message, file=str(folder / "stages.csv"), line=int(line), column=column))
    known = set(stages["stage_id"].str.strip())
    for stage_id, line in zip(inputs["stage_id"].str.strip(), inputs[LINE], strict=True):
        if stage_id and stage_id not in known:
            message = f"unknown stage id '{stage_id}'; it is not defined in stages.csv"
            problems.append(Problem(message, file=str(folder / "inputs.csv"), line=int(line), column="stage_id"))
    return problems


def read_eto(folder: Path | str) -> TechMap:
    """Load an ETO data folder as a validated :class:`TechMap`."""
    folder = Path(folder)
    raw = _read_files(folder)
    nodes = _nodes(raw["inputs.csv"], raw["stages.csv"])
    ids = _provider_ids(raw["providers.csv"])
    provision = _provision(raw["provision.csv"], ids, folder / "provision.csv")
    meta = Metadata(
        name="eto-chip-explorer",
        title="ETO Advanced Semiconductor Supply Chain Dataset",
        version=str(folder.resolve().name),
        licence="CC-BY-NC-4.0",
        description="Emerging Technology Observatory (CSET, Georgetown University); read from " + str(folder),
        share_tolerance=0.02,
        sources=(Source("eto", "ETO Advanced Semiconductor Supply Chain Dataset", "https://eto.tech/dataset-docs/chipexplorer"),),
        format="eto",
    )
    tm = TechMap.from_tables(
        meta, nodes, _providers(raw["providers.csv"], ids), provision, _relations(raw["sequence.csv"], raw["inputs.csv"])
    )
    files = {
        "nodes": folder / "inputs.csv",
        "providers": folder / "providers.csv",
        "provision": folder / "provision.csv",
        "relations": folder / "sequence.csv",
    }
    try:
        check(tm)
    except ValidationError as exc:
        raise ValidationError(locate(exc.problems, files, FILE_COLUMNS)) from None
    return tm
