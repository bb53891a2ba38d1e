"""Helpers of the browser tests (fixtures in conftest.py) and of benchmarks/bench_web.py: a live
server on 127.0.0.1, Debian's Chromium, a network guard, screenshots and axe-core.

The live server is ``coreatlas serve`` (one uvicorn process and one job worker) on a free port of
127.0.0.1, over a fresh data dir prepared in-process first:

- organisation ``us-team`` (A) owns the workspace ``chips-study``; its users ``ana`` (the English
  flow) and ``hiro`` (the Japanese flow);
- organisation ``jp-team`` (B) sees ``chips-study`` as a viewer; its user ``kenji``;
- organisation ``outsiders`` (C) has no share; its user ``otto``.

The ETO Chip Explorer dataset (``../shared/data/eto-chip-explorer``, never copied into the repo) is
uploaded to ``chips-study`` as a zip through the API, as dataset ``eto``.
"""

from __future__ import annotations

import contextlib
import io
import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import time
import zipfile
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit

import httpx

ROOT = Path(__file__).resolve().parents[3]
ETO = ROOT.parent / "shared" / "data" / "eto-chip-explorer"
ARTIFACTS = ROOT / "test-artifacts" / "web"
AXE = ROOT / "tests" / "web" / "vendor" / "axe-core" / "axe.min.js"
#: Where the axe-core script is served from, by the test's own route (never by the server): a URL
#: of the live server's origin, so the page's CSP (``script-src 'self'``) lets it load.
AXE_PATH = "/__tests__/axe.min.js"

PASSWORD = "a long browser-test passphrase"
WORKSPACE = "chips-study"
DATASET = "eto"
ORGS = {"A": "us-team", "B": "jp-team", "C": "outsiders"}
USERS = {"ana": "us-team", "hiro": "us-team", "kenji": "jp-team", "otto": "outsiders"}
#: ETO node ids the flows use: EUV lithography tools, the finished logic chip (the output).
EUV, CHIP = "N20", "N99"
#: Generous waits (milliseconds): the machine is shared and slow. Never a timing assertion.
WAIT_MS = 90_000
JOB_WAIT_MS = 600_000


def chromium_path() -> str | None:
    """Debian's Chromium (``apt-get install chromium``), never a browser Playwright downloads."""
    return shutil.which("chromium") or shutil.which("chromium-browser")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def zip_folder(folder: Path) -> bytes:
    """The dataset's CSV and Markdown files at the root of a zip, as an upload takes them."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for path in sorted(folder.iterdir()):
            if path.is_file() and path.suffix in {".csv", ".md"}:
                archive.write(path, path.name)
    return buffer.getvalue()


def prepare_data_dir(data_dir: Path) -> str:
    """Organisations, users, the workspace and its share; the token of ``ana`` (A) for the upload."""
    from coreatlas.services.server import open_server

    server = open_server(None, data_dir)
    try:
        for org in ORGS.values():
            server.create_org(org)
        for user, org in USERS.items():
            server.create_user(user, org, password=PASSWORD)
        server.create_workspace(WORKSPACE, org=ORGS["A"], description="The ETO chip map, shared with the Japanese team.")
        server.share(WORKSPACE, ORGS["B"], "viewer")
        return server.create_token("ana", scope="write", name="browser-tests")[1]
    finally:
        server.close()


@dataclass
class LiveServer:
    """``coreatlas serve`` on ``base`` (``http://127.0.0.1:PORT``) over ``data_dir``."""

    base: str
    data_dir: Path
    token: str
    process: subprocess.Popen
    log: Path
    ids: dict = field(default_factory=dict)

    @property
    def host(self) -> str:
        return urlsplit(self.base).netloc

    def api(self) -> httpx.Client:
        """An API client as ``ana`` (A's token)."""
        return httpx.Client(base_url=self.base, headers={"Authorization": f"Bearer {self.token}"}, timeout=300)

    def url(self, path: str) -> str:
        return self.base + path

    def log_tail(self, lines: int = 40) -> str:
        with contextlib.suppress(OSError):
            return "\n".join(self.log.read_text(errors="replace").splitlines()[-lines:])
        return ""

    def stop(self) -> None:
        """SIGTERM to the process this module started (it stops its own workers), then SIGKILL."""
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout=60)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(timeout=30)


def start_server(data_dir: Path, workers: int = 1) -> LiveServer:
    """Prepare ``data_dir``, start ``coreatlas serve`` on a free port and wait for its health route."""
    token = prepare_data_dir(data_dir)
    port, log = free_port(), data_dir / "serve.log"
    command = [sys.executable, "-m", "coreatlas.cli", "serve", "--host", "127.0.0.1", "--port", str(port),
               "--data-dir", str(data_dir), "--workers", str(workers), "--log-level", "warning"]  # fmt: skip
    env = {k: v for k, v in os.environ.items() if k not in ("COREATLAS_DB", "COREATLAS_DATA_DIR")}
    with log.open("wb") as out:
        process = subprocess.Popen(command, stdout=out, stderr=subprocess.STDOUT, env=env)
    live = LiveServer(f"http://127.0.0.1:{port}", data_dir, token, process, log)
    try:
        _wait_healthy(live)
    except BaseException:
        live.stop()
        raise
    return live


def _wait_healthy(live: LiveServer, seconds: float = 300) -> None:
    deadline = time.monotonic() + seconds
    while True:
        with contextlib.suppress(httpx.HTTPError):
            if httpx.get(live.url("/api/health"), timeout=5).status_code == 200:
                return
        if live.process.poll() is not None or time.monotonic() > deadline:
            raise RuntimeError(f"the live server did not start:\n{live.log_tail()}")
        time.sleep(0.5)


def upload_eto(live: LiveServer, folder: Path = ETO) -> dict:
    """The ETO dataset, uploaded to A's workspace as a zip through the API."""
    with live.api() as api:
        answer = api.post(f"/api/workspaces/{WORKSPACE}/datasets", data={"name": DATASET},
                          files={"file": ("eto.zip", zip_folder(folder), "application/zip")})  # fmt: skip
    if answer.status_code not in (200, 201):
        raise RuntimeError(f"ETO upload refused ({answer.status_code}): {answer.text[:500]}")
    return answer.json()


# ---- the browser ------------------------------------------------------------------------------
@dataclass
class Guard:
    """Every request of a context that does not go to 127.0.0.1 is aborted and counted here."""

    allowed: str
    blocked: list[str] = field(default_factory=list)
    page_errors: list[str] = field(default_factory=list)
    console_errors: list[str] = field(default_factory=list)

    def route(self, route) -> None:
        parts = urlsplit(route.request.url)
        if parts.scheme in ("http", "https", "ws", "wss") and parts.hostname != "127.0.0.1":
            self.blocked.append(route.request.url)
            route.abort("blockedbyclient")
        else:
            route.continue_()

    def watch(self, page) -> None:
        page.on("pageerror", lambda error: self.page_errors.append(str(error)))
        page.on("console", lambda msg: self.console_errors.append(msg.text) if msg.type == "error" else None)

    def csp_violations(self) -> list[str]:
        return [m for m in self.console_errors if "Content Security Policy" in m]


def guard_context(context, live: LiveServer) -> Guard:
    guard = Guard(live.host)
    context.route("**/*", guard.route)
    context.on("page", guard.watch)
    return guard


class Checks:
    """Checks that do not stop a flow (an element the next steps do not need): each failure is
    recorded with its step and the flow goes on; ``verify()`` at the end fails with all of them."""

    def __init__(self):
        self.failures: list[str] = []

    def soft(self, what: str, check) -> bool:
        from playwright.sync_api import Error as PlaywrightError

        try:
            check()
        except (AssertionError, PlaywrightError) as exc:
            self.failures.append(f"{what}: {str(exc).splitlines()[0] if str(exc) else 'failed'}")
            return False
        return True

    def verify(self) -> None:
        assert not self.failures, "checks that failed along the flow:\n" + "\n".join(self.failures)


class Shots:
    """Screenshots of one test, numbered in step order: ``test-artifacts/web/<test>/NN-step.png``."""

    def __init__(self, page, name: str):
        self.page = page
        self.folder = ARTIFACTS / re.sub(r"[^A-Za-z0-9_.-]+", "_", name)
        if self.folder.exists():
            shutil.rmtree(self.folder)
        self.folder.mkdir(parents=True)
        self.count = 0
        self.taken: list[Path] = []

    def take(self, step: str, full_page: bool = True) -> Path:
        self.count += 1
        path = self.folder / f"{self.count:02d}-{re.sub(r'[^A-Za-z0-9_.-]+', '-', step)}.png"
        self.page.screenshot(path=str(path), full_page=full_page)
        self.taken.append(path)
        return path


def sign_in_api(context, live: LiveServer, user: str) -> None:
    """Sign a context in through ``POST /api/session`` (the session and CSRF cookies), without the form."""
    answer = context.request.post(live.url("/api/session"), data={"user": user, "password": PASSWORD})
    assert answer.status == 200, f"sign-in of {user} refused: {answer.status} {answer.text()[:300]}"


def sign_in_form(page, user: str) -> None:
    """Fill and submit the sign-in form (``#user``, ``#password``, form ``#sign-in``) of the page shown."""
    page.locator("#user").fill(user)
    page.locator("#password").fill(PASSWORD)
    with page.expect_navigation(timeout=WAIT_MS):  # signin.js reloads the page asked for on success
        page.locator("#sign-in button[type=submit]").click()


def api_from_page(page, method: str, path: str, body: dict | None = None) -> dict:
    """A request from the page's own JavaScript (session cookie and CSRF header, as app.js sends them)."""
    return page.evaluate(
        """async ([method, path, body]) => {
            const csrf = (window.coreatlas && window.coreatlas.csrf) ? window.coreatlas.csrf() : "";
            const init = {method, credentials: "same-origin", headers: {"X-CSRF-Token": csrf}};
            if (body !== null) { init.headers["Content-Type"] = "application/json"; init.body = JSON.stringify(body); }
            const answer = await fetch(path, init);
            return {status: answer.status, text: await answer.text()};
        }""",
        [method, path, body],
    )


# ---- the map (DOM contract of docs/web.md, kept by map.js) ------------------------------------
def wait_map_ready(page) -> None:
    page.wait_for_function("() => document.body && document.body.dataset.mapReady === '1' && !!(window.coreatlas && window.coreatlas.map)",
                           timeout=WAIT_MS)  # fmt: skip


def node_data(page, node_id: str) -> dict:
    """The cy node's data (``value``, ``label_value``, ``label``...) and whether it has class ``binding``."""
    return page.evaluate(
        """(id) => { const n = window.coreatlas.map.getElementById(id);
                     return n.length ? {...n.data(), binding: n.hasClass("binding")} : null; }""",
        node_id,
    )


def node_values(page) -> dict:
    """``node id -> data value`` of every node of the map (stage labels excluded)."""
    return page.evaluate("""() => Object.fromEntries(window.coreatlas.map.nodes().filter(n => !n.hasClass("stage"))
                                   .map(n => [n.id(), n.data("value") === undefined ? null : n.data("value")]))""")


def binding_elements(page) -> dict:
    return page.evaluate("""() => ({nodes: window.coreatlas.map.nodes(".binding").map(n => n.id()),
                                    edges: window.coreatlas.map.edges(".binding").map(e => e.id())})""")


def node_name_on_page(page, node_id: str) -> str:
    """The node's name as the page shows it (its language): the map's data island, else the cy label."""
    return page.evaluate(
        """(id) => { const island = document.getElementById("map-data");
                     if (island) { const n = JSON.parse(island.textContent).nodes.find(n => n.id === id); if (n) return n.name; }
                     const c = window.coreatlas.map.getElementById(id); return c.length ? c.data("label") : ""; }""",
        node_id,
    )


def chart_drawn(page, selector: str) -> None:
    """Wait until vega-embed has drawn into ``selector`` (an SVG or a canvas)."""
    page.wait_for_selector(f"{selector} svg, {selector} canvas", state="attached", timeout=WAIT_MS)


# ---- text rendering ---------------------------------------------------------------------------
GLYPH_CHECK = """([text, font]) => {
  // Draw each character alone; the fallback glyph (.notdef, a "tofu" box) is one picture for
  // every character a font lacks, so distinct characters drawing the same picture are tofu.
  const canvas = document.createElement("canvas"); canvas.width = 48; canvas.height = 48;
  const ctx = canvas.getContext("2d", {willReadFrequently: true});
  const draw = (ch) => { ctx.clearRect(0, 0, 48, 48); ctx.font = "32px " + font; ctx.fillStyle = "#000";
                         ctx.fillText(ch, 4, 38); return Array.from(ctx.getImageData(0, 0, 48, 48).data).join(","); };
  const notdef = draw("\\u{10FFFD}");
  const chars = Array.from(new Set(Array.from(text).filter(c => /[\\u3040-\\u30ff\\u4e00-\\u9fff]/.test(c)))).slice(0, 12);
  const pictures = chars.map(draw);
  return {chars: chars.join(""), distinct: new Set(pictures).size, tofu: pictures.filter(p => p === notdef).length,
          blank: pictures.filter(p => !/[1-9]/.test(p)).length};
}"""


def japanese_glyphs(page, selector: str = "h1") -> dict:
    """How the page's font draws the Japanese characters of ``selector``: how many are distinct
    pictures, how many are the fallback (tofu) picture, how many are blank."""
    element = page.locator(selector).first
    text = element.inner_text()
    font = element.evaluate("e => getComputedStyle(e).fontFamily")
    return page.evaluate(GLYPH_CHECK, [text, font])


# ---- axe-core ---------------------------------------------------------------------------------
def axe_source() -> str:
    return AXE.read_text(encoding="utf-8")


def serve_axe(page, live: LiveServer) -> None:
    """Answer ``AXE_PATH`` of the live server's origin with the vendored axe-core, in the browser
    (the request never reaches the server): a same-origin script the page's CSP allows."""
    body = axe_source()
    page.route(live.url(AXE_PATH), lambda route: route.fulfill(status=200, content_type="text/javascript; charset=utf-8", body=body))


def run_axe(page, live: LiveServer) -> dict:
    """Inject axe-core as a same-origin ``<script src>`` and run it on the whole document (WCAG 2.x A/AA and best practices)."""
    if not page.evaluate("() => typeof window.axe === 'object'"):
        page.add_script_tag(url=live.url(AXE_PATH))
    return page.evaluate("""async () => await window.axe.run(document, {resultTypes: ["violations"],
                              runOnly: {type: "tag", values: ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa", "wcag22aa", "best-practice"]}})""")


def serious(results: dict) -> list[dict]:
    return [v for v in results["violations"] if v.get("impact") in ("serious", "critical")]


def describe_violations(violations: list[dict]) -> str:
    lines = []
    for v in violations:
        targets = [" ".join(map(str, n.get("target", []))) for n in v.get("nodes", [])[:6]]
        lines.append(f"{v['impact']}: {v['id']} ({v['help']}) on {len(v.get('nodes', []))} element(s): {targets}")
    return "\n".join(lines)


def save_json(path: Path, data) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(data, indent=1, ensure_ascii=False, default=str), encoding="utf-8")
