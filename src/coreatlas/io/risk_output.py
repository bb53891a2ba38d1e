"""Charts and files of the risk layer: REI bars, exceedance curves, plans; provenance beside each."""

from __future__ import annotations

from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import pandas as pd  # noqa: E402

from coreatlas.io.output import (  # noqa: E402
    atomic_write_text,
    save_png,
    to_json,
    write_frame,  # noqa: E402
)

__all__ = ["exceedance_chart", "rei_chart", "save_png", "write_result_folder"]


def rei_chart(frame: pd.DataFrame, top: int = 20, title: str = "Risk exposure index"):
    """Horizontal bars of the ``top`` nodes by REI, red where TTR exceeds TTS."""
    rows = frame.head(top).iloc[::-1]
    fig, ax = plt.subplots(figsize=(8, 0.32 * len(rows) + 1.2))
    colors = ["#c0504d" if flag else "#1f4e79" for flag in rows["ttr_exceeds_tts"]]
    ax.barh(rows["node"].astype(str), rows["rei"], color=colors)
    ax.set_xlabel("risk exposure index (PI / largest PI); red: TTR > TTS")
    ax.set_title(title, loc="left", fontsize=11)
    ax.set_xlim(0, 1.05)
    return fig


def exceedance_chart(curve: pd.DataFrame, title: str, marks: dict | None = None):
    """Annual loss against its exceedance probability (log scale), with VaR/CVaR marks."""
    fig, ax = plt.subplots(figsize=(8, 4.2))
    ax.plot(curve["exceedance_probability"], curve["loss"], color="#1f4e79", linewidth=1.8)
    for (label, value), color in zip((marks or {}).items(), ("#c0504d", "#9bbb59", "#8064a2", "#f79646"), strict=False):
        ax.axhline(value, color=color, linestyle=":", linewidth=1, label=f"{label} {value:.3g}")
    ax.set_xscale("log")
    ax.set_xlabel("annual exceedance probability")
    ax.set_ylabel("annual loss (share of a year's output)")
    ax.set_title(title, loc="left", fontsize=11)
    ax.grid(alpha=0.3, which="both")
    if marks:
        ax.legend(frameon=False)
    return fig


def write_result_folder(folder: Path | str, tables: dict[str, pd.DataFrame], summary: dict, charts: dict | None = None) -> list[Path]:
    """``<name>.csv`` per table, ``summary.json`` (with provenance) and ``<name>.png`` per chart."""
    folder = Path(folder)
    written = [write_frame(frame, folder / f"{name}.csv") for name, frame in tables.items()]
    written.append(atomic_write_text(folder / "summary.json", to_json(summary) + "\n"))
    written += [save_png(fig, folder / f"{name}.png") for name, fig in (charts or {}).items()]
    return written
