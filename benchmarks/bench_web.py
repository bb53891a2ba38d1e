"""Benchmark of the web workbench (issue 14, point 5) in Debian's Chromium, on a live server.

    .venv/bin/python benchmarks/bench_web.py [--runs 7]

It starts ``coreatlas serve`` on a free 127.0.0.1 port over a fresh data dir (the browser tests'
set-up: tests/web/browser/browser_support.py), uploads the ETO dataset from ../shared, signs in
as an editor of organisation A and measures (median of ``--runs``):

- **map page render**: navigation start to ``document.body.dataset.mapReady == "1"`` on
  ``/w/chips-study/d/eto/map`` (target <= 1 s), with a warm HTTP cache (the static files are
  served immutable) and, apart, the first load of a fresh browser context (cold cache);
- **scenario repaint**: from the click on a remove-country checkbox of the scenario builder
  (the click event's timestamp) to the first animation frame after map.js has repainted the map,
  which it signals by setting ``document.body.dataset.scenarioPainted`` to a new counter
  (target <= 200 ms). Each click adds a country, so each is a scenario the server has not
  answered before (its result cache would otherwise answer). Without that hook the script falls
  back to the first Cytoscape ``render`` event after the ``coreatlas:scenario`` event, and says so;
- **vendored JavaScript**: the bytes of ``web/static/vendor/**/*.js`` (target <= 1.5 MB), and
  the bytes the map page actually transfers on a cold load (all of it, and its JavaScript), and
  with a node's panel open (its charts load the Vega libraries).

The timestamps are taken inside the page (``performance.now()``, whose origin is the navigation
start) by a script Playwright adds before the page's own (an init script: the page's CSP does
not apply to it). Prints one line per figure and a Markdown table for docs/benchmarks.md.
"""

from __future__ import annotations

import argparse
import datetime
import os
import platform
import statistics
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT / "tests" / "web" / "browser"), str(ROOT / "tests")]
from browser_support import (  # noqa: E402
    DATASET,
    ETO,
    WORKSPACE,
    chromium_path,
    sign_in_api,
    start_server,
    upload_eto,
)

VENDOR = ROOT / "src" / "coreatlas" / "web" / "static" / "vendor"
MAP = f"/w/{WORKSPACE}/d/{DATASET}/map"
COUNTRIES = ("NLD", "JPN", "TWN", "KOR", "USA", "DEU", "CHN", "GBR", "FRA", "ISR", "SGP", "MYS")
WAIT_MS = 120_000
TARGETS = {"render_ms": 1000, "repaint_ms": 200, "vendor_bytes": 1_500_000}

#: Runs before the page's scripts: records when the map is ready and when it repaints.
PROBE = """(() => {
  const probe = window.__bench = {mapReady: null, painted: [], scenario: [], clicks: []};
  const frame = (list, entry) => requestAnimationFrame(() => { entry.frame = performance.now(); list.push(entry); });
  new MutationObserver((records) => {
    for (const r of records) {
      const body = r.target;
      if (r.attributeName === "data-map-ready" && body.dataset.mapReady === "1" && probe.mapReady === null) probe.mapReady = performance.now();
      if (r.attributeName === "data-scenario-painted") frame(probe.painted, {value: body.dataset.scenarioPainted, set: performance.now()});
    }
  }).observe(document, {subtree: true, attributes: true, attributeFilter: ["data-map-ready", "data-scenario-painted"]});
  document.addEventListener("click", (e) => probe.clicks.push(e.timeStamp), true);
  document.addEventListener("coreatlas:scenario", () => {
    const entry = {event: performance.now()};
    const cy = window.coreatlas && window.coreatlas.map;
    if (cy) cy.one("render", () => { entry.render = performance.now(); probe.scenario.push(entry); });
  }, true);
})();"""


def median(values: list[float]) -> float:
    return statistics.median(values) if values else float("nan")


def vendor_bytes() -> dict:
    files = sorted(VENDOR.rglob("*.js"))
    return {p.relative_to(VENDOR).as_posix(): p.stat().st_size for p in files}


def wait_ready(page) -> float:
    page.wait_for_function("() => window.__bench.mapReady !== null", timeout=WAIT_MS)
    return page.evaluate("() => window.__bench.mapReady")


def render_times(browser, live, runs: int) -> dict:
    """Warm: ``runs`` loads in one signed-in context; cold: the first load of ``runs`` fresh contexts."""
    context = new_context(browser, live)
    page = context.new_page()
    page.goto(live.url(MAP))
    wait_ready(page)  # the first load fills the HTTP cache
    warm = []
    for _ in range(runs):
        page.goto(live.url(MAP))
        warm.append(wait_ready(page))
    context.close()
    cold = []
    for _ in range(runs):
        context = new_context(browser, live)
        page = context.new_page()
        page.goto(live.url(MAP))
        cold.append(wait_ready(page))
        context.close()
    return {"warm": warm, "cold": cold}


def repaint_times(browser, live, runs: int) -> dict:
    context = new_context(browser, live)
    page = context.new_page()
    page.goto(live.url(MAP))
    wait_ready(page)
    hook = True
    times: list[float] = []
    available = [c for c in COUNTRIES if page.locator(f'input[name="remove_country"][value="{c}"]').count()]
    for country in available[:runs]:
        before = page.evaluate(
            "() => ({painted: window.__bench.painted.length, scenario: window.__bench.scenario.length, clicks: window.__bench.clicks.length})"
        )
        page.locator(f'input[name="remove_country"][value="{country}"]').check()
        if hook:
            try:
                page.wait_for_function(
                    f"() => window.__bench.painted.length > {before['painted']}", timeout=20_000 if not times else WAIT_MS
                )
            except Exception:  # no scenarioPainted hook: fall back to the Cytoscape render after the scenario event
                hook = False
        if not hook:
            page.wait_for_function(f"() => window.__bench.scenario.length > {before['scenario']}", timeout=WAIT_MS)
        probe = page.evaluate("() => window.__bench")
        click = probe["clicks"][before["clicks"]]
        done = probe["painted"][before["painted"]]["frame"] if hook else probe["scenario"][before["scenario"]]["render"]
        times.append(done - click)
    context.close()
    return {"times": times, "hook": hook, "countries": available[:runs]}


def transferred(browser, live, query: str = "") -> dict:
    """Bytes of every response of a cold map load (headers and body, as Chromium counts them);
    with ``?node=...`` the node panel opens and its charts load the Vega libraries."""
    context = new_context(browser, live)
    page = context.new_page()
    responses = []
    page.on("requestfinished", lambda request: responses.append(request))
    page.goto(live.url(MAP + query))
    wait_ready(page)
    if query:
        page.wait_for_selector("#country-shares canvas, #country-shares svg", state="attached", timeout=WAIT_MS)
    page.wait_for_load_state("networkidle")
    total = js = 0
    for request in responses:
        sizes = request.sizes()
        size = sizes["responseBodySize"] + sizes["responseHeadersSize"]
        total += size
        if request.resource_type == "script":
            js += sizes["responseBodySize"]
    context.close()
    return {"requests": len(responses), "total": total, "js": js}


def new_context(browser, live):
    context = browser.new_context(viewport={"width": 1440, "height": 1000}, locale="en-GB")
    context.route("**/*", lambda route: route.continue_() if "//127.0.0.1:" in route.request.url else route.abort())
    context.add_init_script(PROBE)
    sign_in_api(context, live, "ana")
    return context


def report(figures: dict, browser_version: str) -> None:
    render, repaint, vendor, sent, panel = figures["render"], figures["repaint"], figures["vendor"], figures["sent"], figures["panel"]
    vendor_total = sum(vendor.values())
    rows = [
        ("ETO map page render, warm cache (navigation start to mapReady)", f"{median(render['warm']):.0f} ms", render["warm"], "<= 1 s"),
        ("ETO map page render, first load of a fresh context", f"{median(render['cold']):.0f} ms", render["cold"], "<= 1 s"),
        (
            "scenario change repaint (click to the repainted frame)" + ("" if repaint["hook"] else " [fallback: Cytoscape render event]"),
            f"{median(repaint['times']):.0f} ms",
            repaint["times"],
            "<= 200 ms",
        ),  # fmt: skip
    ]
    for what, value, runs, target in rows:
        print(f"{what}: median {value} (runs: {', '.join(f'{t:.0f}' for t in runs)}; target {target})")
    print(f"vendored JavaScript: {vendor_total:,} bytes ({', '.join(f'{k} {v:,}' for k, v in vendor.items())}; target <= 1,500,000)")
    print(f"map page transfers (cold): {sent['total']:,} bytes in {sent['requests']} requests, of which JavaScript {sent['js']:,} bytes")
    print(
        f"map page with a node's panel (cold): {panel['total']:,} bytes in {panel['requests']} requests, of which JavaScript {panel['js']:,} bytes"
    )
    print(f"\nChromium {browser_version}, {os.cpu_count()} cores, load average {os.getloadavg()[0]:.2f}, {datetime.date.today()}\n")
    print("| measure | CoRe Atlas (median) | runs (ms) | target |\n|---|---|---|---|")
    for what, value, runs, target in rows:
        print(f"| {what} | **{value}** | {', '.join(f'{t:.0f}' for t in runs)} | {target} |")
    print(f"| vendored JavaScript (`web/static/vendor/**/*.js`) | **{vendor_total:,} bytes** | — | <= 1,500,000 bytes |")
    print(
        f"| map page, bytes transferred on a cold load | **{sent['total']:,} bytes** ({sent['requests']} requests; JavaScript {sent['js']:,}) | — | — |"
    )
    print(
        f"| map page with a node's panel and its charts, cold | **{panel['total']:,} bytes** ({panel['requests']} requests; JavaScript {panel['js']:,}) | — | — |"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=7)
    args = parser.parse_args()
    if not ETO.is_dir():
        raise SystemExit(f"the ETO dataset is not at {ETO}")
    path = chromium_path()
    if path is None:
        raise SystemExit("Debian's Chromium is not installed (apt-get install chromium)")
    from playwright.sync_api import sync_playwright

    with tempfile.TemporaryDirectory(prefix="coreatlas-bench-web-") as tmp:
        live = start_server(Path(tmp) / "data")
        try:
            upload_eto(live)
            with sync_playwright() as playwright:
                browser = playwright.chromium.launch(executable_path=path, args=["--disable-gpu"])
                figures = {"render": render_times(browser, live, args.runs), "repaint": repaint_times(browser, live, args.runs),
                           "vendor": vendor_bytes(), "sent": transferred(browser, live),
                           "panel": transferred(browser, live, "?node=N20")}  # fmt: skip
                report(figures, browser.version)
                browser.close()
        finally:
            live.stop()
    print(f"({platform.python_implementation()} {platform.python_version()})")


if __name__ == "__main__":
    main()
