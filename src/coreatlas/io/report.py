"""A self-contained HTML report of a demo run, no network: the charts come as SVG text, drawn
by :mod:`coreatlas.render` from the charts the demo service builds."""

from __future__ import annotations

import html
from pathlib import Path

from coreatlas.analysis.propagate import ASSUMED_RULE
from coreatlas.io.output import atomic_write_text

__all__ = ["render_report", "write_report"]

CSS = """
body{font-family:system-ui,-apple-system,Segoe UI,Roboto,sans-serif;margin:2rem auto;max-width:1100px;color:#222;padding:0 1rem}
h1{font-size:1.6rem}h3{margin-top:1.4rem}h2{margin-top:2.2rem;border-bottom:1px solid #ccc;padding-bottom:.3rem}
table{border-collapse:collapse;margin:.8rem 0;font-size:.92rem}th,td{border:1px solid #ddd;padding:.3rem .6rem;text-align:left}
th{background:#f3f5f8}td.num{text-align:right;font-variant-numeric:tabular-nums}.note{color:#555;font-size:.9rem}
"""


def _inline(svg: str) -> str:
    """SVG text without its XML prolog, to sit inside HTML."""
    return svg[svg.index("<svg") :] if "<svg" in svg else ""


def _table(headers: list[str], rows: list[list], numeric: set[int] = frozenset()) -> str:
    head = "".join(f"<th>{html.escape(h)}</th>" for h in headers)
    body = "".join(
        "<tr>"
        + "".join(
            f"<td class='num'>{html.escape(str(v))}</td>" if i in numeric else f"<td>{html.escape(str(v))}</td>" for i, v in enumerate(r)
        )
        + "</tr>"
        for r in rows
    )
    return f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"


def _binding_text(output: dict) -> str:
    steps = [f"{s['node_name']} ({s['available']:.0%})" for s in output["binding"]]
    lost = output["binding"][-1].get("lost_providers", []) if output["binding"] else []
    cause = ", ".join(f"{p['provider_name']} −{p['share_lost']:.0%}" for p in lost[:4])
    return " ← ".join(steps) + (f" ← lost: {cause}" if cause else "")


def _pct_range(value: float, low: float, high: float) -> str:
    return f"{value:.1%}" if abs(high - low) < 5e-4 else f"{value:.1%} ({low:.1%}–{high:.1%})"


def _anchor(name: str) -> str:
    return "".join(ch if ch.isalnum() else "-" for ch in name)


def _scenario_html(results: list) -> list[str]:
    """The scenario table; a figure that rests on an assumption is marked, with the rule below."""
    rows = [
        [
            r.scenario.name,
            r.scenario.description or r.scenario.summary(),
            o["node_name"],
            _pct_range(o["available"], o["available_low"], o["available_high"]) + (" (assumed*)" if o["estimated"] else ""),
            _binding_text(o),
        ]
        for r in results
        for o in r.outputs()
    ]
    parts = [_table(["scenario", "what happens", "output", "remaining", "binding path"], rows, {3})]
    if any(o["estimated"] for r in results for o in r.outputs()):
        parts.append(f"<p class='note'>* {html.escape(ASSUMED_RULE)}.</p>")
    return parts


def _open_ran_html(rows: list[dict], svg: dict[str, str]) -> list[str]:
    """The Open RAN comparison: its chart and table."""
    return [
        "<h3>Open RAN vs proprietary RAN under vendor bans</h3>",
        "<p>A proprietary RAN keeps a vendor's share only if that vendor can still supply every bundled unit; an open-interface RAN "
        "takes each unit from any remaining vendor. With the same vendor mix the open network never keeps less.</p>",
        _inline(svg.get("open_ran", "")),
        _table(
            ["scenario", "proprietary", "open", "open advantage", "full-stack vendors left", "vendors left per component"],
            [
                [
                    r["scenario"],
                    _pct_range(r["proprietary_available"], r["proprietary_low"], r["proprietary_high"]),
                    _pct_range(r["open_available"], r["open_low"], r["open_high"]),
                    f"{r['open_advantage']:+.1%}",
                    r["full_stack_vendors_left"],
                    r["component_vendors_left"],
                ]
                for r in rows
            ],
            {1, 2, 3, 4, 5},
        ),
    ]


def _section_html(sec, svg: dict[str, str]) -> list[str]:
    meta = sec.tm.meta
    results = sec.results
    parts = [
        f"<h2 id='{_anchor(meta.name)}'>{html.escape(meta.title or meta.name)}</h2>",
        f"<p class='note'>Dataset <b>{html.escape(meta.name)}</b> version {html.escape(meta.version)}, licence {html.escape(meta.licence)}. "
        f"{html.escape(sec.note)}</p>",
        "<h3>Chokepoints</h3><p>Nodes where one country holds at least 90% of the global market.</p>",
        _table(["node", "country", "share"], [[c["node_name"], c["provider_name"], f"{c['share']:.1%}"] for c in sec.chokepoints], {2})
        if sec.chokepoints
        else "<p>None at 90%.</p>",
        _inline(svg.get("chokepoints", "")),
        "<h3>Partners' and allies' shares</h3><p>Share held by the CoRe partners (core: USA, JPN) and by the allies bloc; "
        "a range shows where sources disagree.</p>",
        _table(
            ["node", "core", "allies"],
            [[r["node_name"], _pct_range(r["core"], r["core_low"], r["core_high"]), f"{r['allies']:.0%}"] for r in sec.bloc_rows[:15]],
            {1, 2},
        ),
        "<h3>Scenarios</h3>",
        _inline(svg.get("scenarios", "")),
        *_scenario_html(results),
    ]
    if sec.open_ran:
        parts += _open_ran_html(sec.open_ran, svg)
    parts += [
        "<h3>Sources</h3>",
        _table(["id", "source", "year"], [[s.id, s.title + (f" — {s.url}" if s.url else ""), s.year or ""] for s in meta.sources]),
    ]
    return parts


def render_report(sections: list, svgs: list[dict[str, str]]) -> str:
    """The report's HTML text: a contents list, then a section per technology with its
    charts (``svgs``: per section, chart name -> SVG text; ``chokepoints``, ``scenarios``,
    ``open_ran``)."""
    contents = "".join(
        f"<li><a href='#{_anchor(s.tm.meta.name)}'>{html.escape(s.tm.meta.title or s.tm.meta.name)}</a></li>" for s in sections
    )
    parts = [
        "<h1>CoRe Atlas report</h1>",
        "<p class='note'>Shares are fractions of the global market; country shares are by firm headquarters unless a node says otherwise. "
        "Every figure carries its source and year in the datasets; see docs/datasets.md.</p>",
        f"<ul>{contents}</ul>",
    ]
    for sec, svg in zip(sections, svgs, strict=True):
        parts += _section_html(sec, svg)
    body = "\n".join(parts)
    return f"<!DOCTYPE html><html lang='en'><head><meta charset='utf-8'><title>CoRe Atlas report</title><style>{CSS}</style></head><body>{body}</body></html>\n"


def write_report(folder: Path, text: str) -> Path:
    """Write ``index.html`` into ``folder`` atomically; return its path."""
    return atomic_write_text(Path(folder) / "index.html", text)
