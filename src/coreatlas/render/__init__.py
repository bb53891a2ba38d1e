"""Charts from plain data, drawn two ways from the same :class:`Chart`: a PNG (matplotlib) for
files and reports, and a Vega-Lite spec (a dict) for the web page.

A chart is data: a tidy table (one row per point or bar), which columns are x, y and the
series, titles, scales and reference lines. Nothing here computes a result; services build
charts from results (``result.charts()``) and :mod:`coreatlas.services.save` writes them.

matplotlib is imported only when a PNG or SVG is drawn, through its object-oriented API
(:class:`matplotlib.figure.Figure`), so no backend is switched at import.
"""

from __future__ import annotations

import io
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

import pandas as pd

from coreatlas.io.output import atomic_write, plain

__all__ = ["PALETTE", "Chart", "Rule", "to_png", "to_svg", "to_vega_lite"]

#: Okabe–Ito: distinguishable with the common colour-vision deficiencies.
PALETTE = ("#0072B2", "#D55E00", "#009E73", "#CC79A7", "#E69F00", "#56B4E9", "#F0E442", "#000000")
VEGA_LITE_SCHEMA = "https://vega.github.io/schema/vega-lite/v5.json"


@dataclass(frozen=True)
class Rule:
    """A reference line: ``axis="y"`` a horizontal line at ``value``, ``"x"`` a vertical one."""

    label: str
    value: float
    axis: Literal["x", "y"] = "y"


@dataclass(frozen=True, eq=False)
class Chart:
    """``kind``: ``line`` (x against y, one line per ``series``), ``bar`` (horizontal bars: y
    the category, x the value; ``highlight`` a boolean column drawn in the second colour) or
    ``histogram`` (x the bin start, y the count, ``width`` the bin width)."""

    kind: Literal["line", "bar", "histogram"]
    data: pd.DataFrame
    x: str
    y: str
    series: str | None = None
    title: str = ""
    x_title: str = ""
    y_title: str = ""
    x_scale: Literal["linear", "log"] = "linear"
    x_domain: tuple[float, float] | None = None
    highlight: str | None = None
    highlight_label: str = ""
    width: float | None = None
    rules: tuple[Rule, ...] = field(default_factory=tuple)

    def records(self) -> list[dict]:
        return plain(self.data.to_dict("records"))


# ---- Vega-Lite ------------------------------------------------------------------------------
def _encoding(chart: Chart) -> dict:
    scale = {"type": "log"} if chart.x_scale == "log" else {}
    if chart.x_domain:
        scale["domain"] = list(chart.x_domain)
    if chart.kind == "bar":
        enc = {"y": {"field": chart.y, "type": "nominal", "sort": None, "title": chart.y_title or None},
               "x": {"field": chart.x, "type": "quantitative", "title": chart.x_title or chart.x, "scale": scale}}  # fmt: skip
        if chart.highlight:
            enc["color"] = {"field": chart.highlight, "type": "nominal", "title": chart.highlight_label or chart.highlight,
                            "scale": {"domain": [False, True], "range": list(PALETTE[:2])}}  # fmt: skip
        return enc
    enc = {"x": {"field": chart.x, "type": "quantitative", "title": chart.x_title or chart.x, "scale": scale},
           "y": {"field": chart.y, "type": "quantitative", "title": chart.y_title or chart.y}}  # fmt: skip
    if chart.series:
        enc["color"] = {"field": chart.series, "type": "nominal", "title": None, "scale": {"range": list(PALETTE)}}
    return enc


def _rule_layer(rule: Rule, colour: str) -> dict:
    return {"mark": {"type": "rule", "strokeDash": [4, 3], "color": colour},
            "encoding": {rule.axis: {"datum": rule.value}}, "description": rule.label}  # fmt: skip


def to_vega_lite(chart: Chart) -> dict:
    """The chart as a Vega-Lite v5 spec with its data inline (no URL is fetched)."""
    mark = {"line": {"type": "line", "strokeWidth": 1.8}, "bar": {"type": "bar"}, "histogram": {"type": "bar", "binSpacing": 0}}
    main = {"mark": mark[chart.kind], "encoding": _encoding(chart)}
    if chart.kind == "histogram" and chart.width:
        main["encoding"]["x2"] = {"field": "_x_end"}
        main["transform"] = [{"calculate": f"datum['{chart.x}'] + {chart.width}", "as": "_x_end"}]
    layers = [main] + [_rule_layer(r, PALETTE[1 + i % 7]) for i, r in enumerate(chart.rules)]
    return {"$schema": VEGA_LITE_SCHEMA, "title": chart.title, "width": "container", "height": 260,
            "data": {"values": chart.records()}, "layer": layers}  # fmt: skip


# ---- matplotlib -----------------------------------------------------------------------------
def _draw_lines(ax, chart: Chart) -> None:
    groups = chart.data.groupby(chart.series, sort=False) if chart.series else [(None, chart.data)]
    for i, (name, rows) in enumerate(groups):
        ax.plot(rows[chart.x], rows[chart.y], label=name, color=PALETTE[i % len(PALETTE)], linewidth=1.8)
    if chart.series:
        ax.legend(frameon=False, fontsize=8, ncol=2 if len(groups) > 4 else 1)


def _draw_bars(ax, chart: Chart) -> None:
    rows = chart.data.iloc[::-1]
    flags = rows[chart.highlight] if chart.highlight else [False] * len(rows)
    ax.barh(rows[chart.y].astype(str), rows[chart.x], color=[PALETTE[1] if f else PALETTE[0] for f in flags])


def _draw(chart: Chart):
    from matplotlib.figure import Figure  # noqa: PLC0415 - drawing only: matplotlib loads here

    height = 0.32 * len(chart.data) + 1.2 if chart.kind == "bar" else 4.2
    fig = Figure(figsize=(8, min(height, 12)))
    ax = fig.add_subplot()
    if chart.kind == "line":
        _draw_lines(ax, chart)
    elif chart.kind == "bar":
        _draw_bars(ax, chart)
    else:
        ax.bar(chart.data[chart.x], chart.data[chart.y], width=chart.width or 1.0, align="edge", color=PALETTE[0])
    for i, rule in enumerate(chart.rules):
        line = ax.axhline if rule.axis == "y" else ax.axvline
        line(rule.value, color=PALETTE[1 + i % 7], linestyle=":", linewidth=1, label=rule.label)
    if chart.rules:
        ax.legend(frameon=False, fontsize=8)
    ax.set_xscale(chart.x_scale)
    if chart.x_domain:
        ax.set_xlim(*chart.x_domain)
    ax.set_xlabel(chart.x_title or chart.x)
    ax.set_ylabel(chart.y_title if chart.kind != "bar" else "")
    ax.set_title(chart.title, loc="left", fontsize=11)
    ax.grid(alpha=0.3, which="both")
    fig.tight_layout()
    return fig


def to_png(chart: Chart, path: Path | str) -> Path:
    """Draw ``chart`` into a PNG file (written atomically)."""
    fig = _draw(chart)
    return atomic_write(path, lambda temp: fig.savefig(temp, format="png", dpi=110, metadata={"Software": None}))


def to_svg(chart: Chart) -> str:
    """``chart`` as SVG text (for self-contained HTML reports)."""
    buffer = io.StringIO()
    _draw(chart).savefig(buffer, format="svg", metadata={"Date": None})
    return buffer.getvalue()
