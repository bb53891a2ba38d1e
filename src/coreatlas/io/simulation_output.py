"""Write a dynamic simulation: daily totals, losses by sector and region, summary, chart."""

from __future__ import annotations

from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import pandas as pd  # noqa: E402

from coreatlas.analysis.dynamics import Losses, SimulationResult  # noqa: E402
from coreatlas.io.output import (  # noqa: E402
    atomic_write_text,
    save_png,
    to_json,
    write_frame,  # noqa: E402
)

__all__ = ["TOTALS_COLUMNS", "totals_chart", "write_simulation"]

TOTALS_COLUMNS = ["day", "production", "value_added", "final_consumption"]
SERIES = (
    ("production", "gross production", "#1f4e79"),
    ("value_added", "value added", "#c0504d"),
    ("final_consumption", "final consumption delivered", "#9bbb59"),
)


def totals_chart(totals: pd.DataFrame, title: str, losses: Losses | None = None):
    """Line chart of the three daily totals as a percentage of their baseline (day -1)."""
    fig, ax = plt.subplots(figsize=(8, 4.2))
    for column, label, color in SERIES:
        base = totals[column].iloc[0]
        if base:
            ax.plot(totals["day"], 100.0 * totals[column] / base, label=label, color=color, linewidth=1.8)
    if losses is not None and losses.recovery_day is not None:
        ax.axvline(losses.recovery_day, color="#7f7f7f", linestyle=":", linewidth=1)
    ax.set_xlabel("day")
    ax.set_ylabel("% of baseline")
    ax.set_title(title, loc="left", fontsize=11)
    ax.grid(alpha=0.3)
    ax.legend(frameon=False, loc="lower right")
    fig.tight_layout()
    return fig


def write_simulation(result: SimulationResult, summary: dict, folder: Path | str, title: str, firm_series: bool = False) -> list[Path]:
    """``totals.csv`` (``day,production,value_added,final_consumption``, day -1 the
    baseline), ``losses_by_sector.csv``, ``losses_by_region.csv``, ``summary.json``,
    ``totals.png`` and, with ``firm_series``, ``production_by_firm.parquet``."""
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    totals = result.to_frame()
    written = [write_frame(totals[TOTALS_COLUMNS], folder / "totals.csv")]
    for by in ("sector", "region"):
        written.append(write_frame(result.losses_by(by), folder / f"losses_by_{by}.csv"))
    if firm_series and "production_by_firm" in result.series:
        written.append(write_frame(result.frame("production_by_firm").rename(columns=str), folder / "production_by_firm.parquet"))
    written.append(atomic_write_text(folder / "summary.json", to_json(summary) + "\n"))
    chart = totals_chart(totals, title, result.losses())
    written.append(save_png(chart, folder / "totals.png"))
    return written
