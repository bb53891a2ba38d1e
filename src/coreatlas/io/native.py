"""The native format: a folder of CSV tables plus ``metadata.yaml`` (see docs/formats.md)."""

from __future__ import annotations

import dataclasses
from pathlib import Path
from types import MappingProxyType

import pandas as pd
import yaml

from coreatlas.errors import DataSourceError, Problem, ValidationError
from coreatlas.io.csvfile import check_numeric_columns, locate, read_table
from coreatlas.io.output import atomic_write_folder
from coreatlas.io.yamlfile import load_yaml, validate_yaml
from coreatlas.model import schema
from coreatlas.model.techmap import LINE, Metadata, Source, TechMap
from coreatlas.model.validate import check, check_blocs

__all__ = ["METADATA_FILE", "TABLE_FILES", "is_native", "read_native", "write_native"]

METADATA_FILE = "metadata.yaml"
TABLE_FILES = {table: f"{table}.csv" for table in ("nodes", "providers", "provision", "relations", "blocs", *schema.ANNEX_TABLES)}
OPTIONAL_TABLES = ("blocs", *schema.ANNEX_TABLES)
#: The tables that must have rows, and what a row is.
ROWS = {"nodes": "node", "providers": "provider"}


def is_native(folder: Path) -> bool:
    return (folder / METADATA_FILE).is_file()


def read_metadata(path: Path) -> Metadata:
    """Parse ``metadata.yaml`` (YAML -> dict -> :class:`~coreatlas.model.schema.MetadataSpec`);
    every problem names the file, line and key."""
    doc = load_yaml(path, "dataset metadata (name, version, licence, sources)")
    spec = validate_yaml(doc, schema.MetadataSpec)
    sources = tuple(Source(s.id, s.title, s.url, s.year) for s in spec.sources)
    return Metadata(name=spec.name, version=spec.version, licence=spec.licence, title=spec.title, description=spec.description.strip(),
                    share_tolerance=spec.share_tolerance, sources=sources)  # fmt: skip


def _read_tables(folder: Path) -> tuple[dict[str, pd.DataFrame], list[Problem]]:
    frames, problems = {}, []
    for table, filename in TABLE_FILES.items():
        path = folder / filename
        if table in OPTIONAL_TABLES and not path.exists():
            frames[table] = pd.DataFrame(columns=[*schema.columns(table), LINE])
            continue
        if not path.exists():
            raise DataSourceError(f"{path}: file not found; a native dataset needs {', '.join(list(TABLE_FILES.values())[:4])}")
        frames[table] = read_table(path, schema.required_columns(table), rows=ROWS.get(table))
        problems.extend(check_numeric_columns(frames[table], table, path))
    return frames, problems


def read_native(folder: Path | str) -> TechMap:
    """Load and validate a native dataset folder; raise on the first file's errors."""
    folder = Path(folder)
    meta = read_metadata(folder / METADATA_FILE)
    frames, problems = _read_tables(folder)
    if problems:
        raise ValidationError(problems)
    blocs: dict[str, list[str]] = {}
    for name, code in zip(frames["blocs"]["bloc"], frames["blocs"]["country"], strict=True):
        blocs.setdefault(str(name).strip(), []).append(str(code).strip())
    annex = {table: frames[table] for table in schema.ANNEX_TABLES}
    tm = TechMap.from_tables(meta, frames["nodes"], frames["providers"], frames["provision"], frames["relations"], blocs, annex)
    files = {table: folder / name for table, name in TABLE_FILES.items()}
    try:
        check(tm)
    except ValidationError as exc:
        raise ValidationError(locate(_located_blocs(exc.problems, frames["blocs"], tm, files["blocs"]), files)) from None
    return tm


def _located_blocs(problems: list[Problem], frame: pd.DataFrame, tm: TechMap, path: Path) -> list[Problem]:
    """The model checks blocs as names -> codes and cannot know their lines: check each row
    of ``blocs.csv`` alone to name its line."""
    if not any(p.table == "blocs" for p in problems):
        return problems
    located = []
    for name, code, line in zip(frame["bloc"], frame["country"], frame[LINE], strict=True):
        one = dataclasses.replace(tm, blocs=MappingProxyType({str(name).strip(): (str(code).strip(),)}))
        located += [dataclasses.replace(p, line=int(line), file=str(path)) for p in check_blocs(one)]
    return [p for p in problems if p.table != "blocs"] + located


def _metadata_dict(meta: Metadata) -> dict:
    return {
        "name": meta.name,
        "title": meta.title,
        "version": meta.version,
        "licence": meta.licence,
        "description": meta.description,
        "share_tolerance": meta.share_tolerance,
        "sources": [{"id": s.id, "title": s.title, "url": s.url, "year": s.year} for s in meta.sources],
    }


def _bloc_frame(tm: TechMap) -> pd.DataFrame:
    rows = [(name, code) for name, codes in tm.blocs.items() for code in codes]
    return pd.DataFrame(rows, columns=["bloc", "country"])


def write_native(tm: TechMap, folder: Path | str, overwrite: bool = False) -> Path:
    """Write ``tm`` as a native dataset folder, atomically: all files or none."""
    return atomic_write_folder(folder, lambda staging: _write_files(tm, staging), overwrite)


def _write_files(tm: TechMap, target: Path) -> None:
    with open(target / METADATA_FILE, "w", encoding="utf-8") as handle:
        yaml.safe_dump(_metadata_dict(tm.meta), handle, sort_keys=False, allow_unicode=True)
    for table in ("nodes", "providers", "provision", "relations"):
        frame = getattr(tm, table)[schema.columns(table)]
        frame.to_csv(target / TABLE_FILES[table], index=False, encoding="utf-8")
    _bloc_frame(tm).to_csv(target / TABLE_FILES["blocs"], index=False, encoding="utf-8")
    for table in schema.ANNEX_TABLES:
        if len(tm.annex[table]):
            tm.annex[table][schema.columns(table)].to_csv(target / TABLE_FILES[table], index=False, encoding="utf-8")
