"""A self-contained HTML report (inline SVG charts, no network) of a demo run."""

from __future__ import annotations

import html
import io
from pathlib import Path

import matplotlib
import matplotlib.patches

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402

from coreatlas.analysis.propagate import ScenarioResult  # noqa: E402
from coreatlas.io.output import atomic_write_text  # noqa: E402

__all__ = ["render_report", "write_report"]

PALETTE = ["#1f4e79", "#c0504d", "#9bbb59", "#8064a2", "#f79646", "#4bacc6", "#7f7f7f", "#d4a017"]
CSS = """
body{font-family:system-ui,-apple-system,Segoe UI,Roboto,sans-serif;margin:2rem auto;max-width:1100px;color:#222;padding:0 1rem}
h1{font-size:1.6rem}h3{margin-top:1.4rem}h2{margin-top:2.2rem;border-bottom:1px solid #ccc;padding-bottom:.3rem}
table{border-collapse:collapse;margin:.8rem 0;font-size:.92rem}th,td{border:1px solid #ddd;padding:.3rem .6rem;text-align:left}
th{background:#f3f5f8}td.num{text-align:right;font-variant-numeric:tabular-nums}.note{color:#555;font-size:.9rem}
"""


def _svg(fig) -> str:
    buffer = io.StringIO()
    fig.savefig(buffer, format="svg", bbox_inches="tight", metadata={"Date": None})
    plt.close(fig)
    text = buffer.getvalue()
    return text[text.index("<svg") :]


def chokepoint_chart(exposure_rows: list[dict]) -> str:
    """Stacked horizontal bars: country shares of each chokepoint node."""
    rows = exposure_rows[:20]
    countries = []
    for row in rows:
        countries += [c for c in list(row["shares"])[:4] if c not in countries]
    colours = {c: PALETTE[i % len(PALETTE)] for i, c in enumerate(countries)}
    fig, ax = plt.subplots(figsize=(9, 0.38 * len(rows) + 1.2))
    labels = [r["node_name"] for r in rows]
    for y, row in enumerate(rows):
        left = 0.0
        for code, share in row["shares"].items():
            colour = colours.get(code, "#d9d9d9")
            ax.barh(y, share, left=left, color=colour, edgecolor="white", linewidth=0.5)
            if share >= 0.08:
                ax.text(left + share / 2, y, code, ha="center", va="center", color="white", fontsize=8)
            left += share
    ax.set_yticks(range(len(rows)), labels, fontsize=8)
    ax.invert_yaxis()
    ax.set_xlim(0, 1)
    handles = [matplotlib.patches.Patch(color=colours[c], label=c) for c in countries]
    handles.append(matplotlib.patches.Patch(color="#d9d9d9", label="others"))
    ax.legend(handles=handles, loc="lower left", bbox_to_anchor=(1.01, 0), fontsize=8, frameon=False)
    ax.set_xlabel("share of the global market")
    ax.set_title("Country shares at each chokepoint")
    return _svg(fig)


def scenario_chart(results: list[ScenarioResult]) -> str:
    """Bars: remaining fraction of each output under each scenario."""
    labels, values = [], []
    for result in results:
        for output in result.outputs():
            labels.append(result.scenario.name if len(result.outputs()) == 1 else f"{result.scenario.name}: {output['node_name']}")
            values.append(output["available"])
    fig, ax = plt.subplots(figsize=(9, 0.45 * len(labels) + 1.2))
    bars = ax.barh(range(len(labels)), values, color=[PALETTE[0] if v >= 0.5 else PALETTE[1] for v in values])
    for bar, value in zip(bars, values, strict=True):
        ax.text(min(value + 0.01, 0.9), bar.get_y() + bar.get_height() / 2, f"{value:.0%}", va="center", fontsize=8)
    ax.set_yticks(range(len(labels)), labels, fontsize=8)
    ax.invert_yaxis()
    ax.set_xlim(0, 1)
    ax.set_xlabel("remaining fraction of the ultimate output (1 = nothing lost)")
    ax.set_title("What is left under each scenario")
    return _svg(fig)


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


def open_ran_chart(rows: list[dict]) -> str:
    """Paired bars: capacity kept by the proprietary and the open network per scenario."""
    fig, ax = plt.subplots(figsize=(9, 0.7 * len(rows) + 1.2))
    for y, row in enumerate(rows):
        for offset, (key, colour, label) in enumerate(
            (("proprietary", PALETTE[1], "proprietary (one vendor per site)"), ("open", PALETTE[0], "open interfaces"))
        ):
            value = row[f"{key}_available"]
            ax.barh(y + 0.38 * offset, value, height=0.36, color=colour, label=label if y == 0 else None)
            ax.text(min(value + 0.01, 0.93), y + 0.38 * offset, f"{value:.0%}", va="center", fontsize=8)
    ax.set_yticks([y + 0.19 for y in range(len(rows))], [r["scenario"] for r in rows], fontsize=8)
    ax.invert_yaxis()
    ax.set_xlim(0, 1)
    ax.set_xlabel("RAN capacity kept (1 = nothing lost)")
    ax.legend(loc="lower left", bbox_to_anchor=(1.01, 0), fontsize=8, frameon=False)
    ax.set_title("Vendor bans: proprietary vs open RAN")
    return _svg(fig)


def _pct_range(value: float, low: float, high: float) -> str:
    return f"{value:.1%}" if abs(high - low) < 5e-4 else f"{value:.1%} ({low:.1%}–{high:.1%})"


def _anchor(name: str) -> str:
    return "".join(ch if ch.isalnum() else "-" for ch in name)


def _section_html(sec) -> list[str]:
    meta = sec.tm.meta
    choke_ids = list(dict.fromkeys(c["node_id"] for c in sec.chokepoints))
    choke_rows = [next(r for r in sec.exposure_rows if r["node_id"] == n) for n in choke_ids]
    results = sec.results
    parts = [
        f"<h2 id='{_anchor(meta.name)}'>{html.escape(meta.title or meta.name)}</h2>",
        f"<p class='note'>Dataset <b>{html.escape(meta.name)}</b> version {html.escape(meta.version)}, licence {html.escape(meta.licence)}. "
        f"{html.escape(sec.note)}</p>",
        "<h3>Chokepoints</h3><p>Nodes where one country holds at least 90% of the global market.</p>",
        _table(["node", "country", "share"], [[c["node_name"], c["provider_name"], f"{c['share']:.1%}"] for c in sec.chokepoints], {2})
        if sec.chokepoints
        else "<p>None at 90%.</p>",
        chokepoint_chart(choke_rows) if choke_rows else "",
        "<h3>Partners' and allies' shares</h3><p>Share held by the CoRe partners (core: USA, JPN) and by the allies bloc; "
        "a range shows where sources disagree.</p>",
        _table(
            ["node", "core", "allies"],
            [[r["node_name"], _pct_range(r["core"], r["core_low"], r["core_high"]), f"{r['allies']:.0%}"] for r in sec.bloc_rows[:15]],
            {1, 2},
        ),
        "<h3>Scenarios</h3>",
        scenario_chart(results) if results else "",
        _table(
            ["scenario", "what happens", "output", "remaining", "binding path"],
            [
                [
                    r.scenario.name,
                    r.scenario.description or r.scenario.summary(),
                    o["node_name"],
                    _pct_range(o["available"], o["available_low"], o["available_high"]),
                    _binding_text(o),
                ]
                for r in results
                for o in r.outputs()
            ],
            {3},
        ),
    ]
    if sec.open_ran:
        parts += [
            "<h3>Open RAN vs proprietary RAN under vendor bans</h3>",
            "<p>A proprietary RAN keeps a vendor's share only if that vendor can still supply every bundled unit; an open-interface RAN "
            "takes each unit from any remaining vendor. With the same vendor mix the open network never keeps less.</p>",
            open_ran_chart(sec.open_ran),
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
                    for r in sec.open_ran
                ],
                {1, 2, 3, 4, 5},
            ),
        ]
    parts += [
        "<h3>Sources</h3>",
        _table(["id", "source", "year"], [[s.id, s.title + (f" — {s.url}" if s.url else ""), s.year or ""] for s in meta.sources]),
    ]
    return parts


def render_report(sections: list) -> str:
    """The report's HTML text: a contents list, then a section per technology."""
    contents = "".join(
        f"<li><a href='#{_anchor(s.tm.meta.name)}'>{html.escape(s.tm.meta.title or s.tm.meta.name)}</a></li>" for s in sections
    )
    parts = [
        "<h1>CoRe Atlas report</h1>",
        "<p class='note'>Shares are fractions of the global market; country shares are by firm headquarters unless a node says otherwise. "
        "Every figure carries its source and year in the datasets; see docs/datasets.md.</p>",
        f"<ul>{contents}</ul>",
    ]
    for sec in sections:
        parts += _section_html(sec)
    body = "\n".join(parts)
    return f"<!DOCTYPE html><html lang='en'><head><meta charset='utf-8'><title>CoRe Atlas report</title><style>{CSS}</style></head><body>{body}</body></html>\n"


def write_report(folder: Path, text: str) -> Path:
    """Write ``index.html`` into ``folder`` atomically; return its path."""
    return atomic_write_text(Path(folder) / "index.html", text)
