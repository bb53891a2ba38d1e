"""The country-by-sector view: tables from pymrio or a folder, static analysis, ARIO runs."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from coreatlas.analysis import io_static
from coreatlas.analysis.ario import ArioEvent, ArioParams, ArioResult, ario_model, run_ario
from coreatlas.errors import ValidationError
from coreatlas.io.mrio import aggregate, load_test_table, read_table_folder
from coreatlas.model.mrio import MrioTable

__all__ = ["ArioRun", "extraction", "leontief", "load_table", "parse_shock", "simulate_ario"]

EXTRACTION_KINDS = ("region", "sector", "industry")


def load_table(table: Path | str | None = None, region_groups: dict | None = None, sector_groups: dict | None = None) -> MrioTable:
    """pymrio's test table by default, or a saved table folder; optionally aggregated."""
    loaded = load_test_table() if table is None else read_table_folder(table)
    return aggregate(loaded, region_groups, sector_groups) if (region_groups or sector_groups) else loaded


def leontief(table: MrioTable) -> pd.DataFrame:
    """Backward (Leontief) and forward (Ghosh) multipliers and linkages per region-sector."""
    return io_static.linkages(table).sort_values("output_multiplier", ascending=False, ignore_index=True)


def extraction(table: MrioTable, by: str = "region") -> pd.DataFrame:
    if by not in EXTRACTION_KINDS:
        raise ValidationError(f"--by must be one of {', '.join(EXTRACTION_KINDS)}, not '{by}'")
    return io_static.hypothetical_extraction(table, by).sort_values("output_loss", ascending=False, ignore_index=True)


def parse_shock(table: MrioTable, text: str) -> tuple[int, float]:
    """``REGION:SECTOR=VALUE`` -> (industry index, value)."""
    name, sep, value = text.partition("=")
    region, colon, sector = name.partition(":")
    try:
        amount = float(value)
    except ValueError:
        amount = None
    if not (sep and colon) or amount is None:
        raise ValidationError(f"--shock '{text}': expected REGION:SECTOR=VALUE, e.g. reg1:manufactoring=0.3")
    labels = {label: i for i, label in enumerate(table.labels())}
    if (region.strip(), sector.strip()) not in labels:
        raise ValidationError(
            f"--shock '{text}': no industry {region}:{sector}; regions: {', '.join(table.regions[:8])}..., sectors: {', '.join(table.sectors[:8])}..."
        )
    return labels[(region.strip(), sector.strip())], amount


@dataclass(frozen=True, eq=False)
class ArioRun:
    result: ArioResult
    table: MrioTable
    events: list

    def by_region(self) -> pd.DataFrame:
        """Daily production per region as a share of its baseline."""
        frame = pd.DataFrame(self.result.production).T.groupby(self.table.industry_region).sum().T
        baseline = np.bincount(self.table.industry_region, self.result.baseline)
        frame = frame / baseline
        frame.columns = list(self.table.regions)
        frame.index.name = "day"
        return frame

    def summary(self) -> dict:
        totals = self.result.totals()
        trough = int(totals["share_of_baseline"].idxmin())
        lost = float((self.result.baseline.sum() - totals["production"]).sum())
        return {"industries": self.table.n_industries, "days": len(totals), "trough_day": trough,
                "trough_share": float(totals["share_of_baseline"].min()), "production_lost": lost,
                "production_lost_days_of_output": lost / float(self.result.baseline.sum())}  # fmt: skip


def simulate_ario(table: MrioTable, shocks: list[str], *, kind: str = "arbitrary", days: int = 365, occurrence: int = 5,
                  duration: int = 30, recovery_days: int = 60, params: ArioParams | None = None, progress=None) -> ArioRun:  # fmt: skip
    """ARIO run with one event per shock (``kind`` arbitrary: VALUE is the share of capacity
    lost; recovery: VALUE is the share of the industry's capital destroyed)."""
    if not shocks:
        raise ValidationError("give at least one --shock REGION:SECTOR=VALUE")
    model = ario_model(table, params)
    events = []
    for text in shocks:
        index, value = parse_shock(table, text)
        if not 0 < value <= 1:
            raise ValidationError(f"--shock '{text}': expected a share in (0, 1]")
        impact = value if kind == "arbitrary" else value * model.capital[index]
        events.append(ArioEvent((index,), (impact,), kind, occurrence, duration, recovery_days))
    return ArioRun(run_ario(model, events, days, progress=progress), table, events)
