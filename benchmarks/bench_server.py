"""Benchmark of the server on 127.0.0.1: concurrent clients for a bounded time, requests/s and
p50/p99 latency for an exposure read, a static scenario on the ETO map (uploaded first) and a
job submission.

    .venv/bin/python benchmarks/bench_server.py [--seconds 10] [--clients 8] [--db URL] [--uvicorn-workers 1]

It starts its own server (uvicorn, a fresh data dir, no job workers: submissions are queued,
not run) on a free port of 127.0.0.1, and prints one line per case and a Markdown table.
"""

from __future__ import annotations

import argparse
import io
import os
import platform
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import zipfile
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parents[1]
ETO = ROOT.parent / "shared" / "data" / "eto-chip-explorer"
SERVER = """
import sys, uvicorn
from coreatlas.api import create_app
from coreatlas.services.server import open_server
server = open_server(sys.argv[1] or None, sys.argv[2], job_limit=10**9)
open(sys.argv[4], "w").write(server.bootstrap_token or "")
uvicorn.run(create_app(server), host="127.0.0.1", port=int(sys.argv[3]), log_level="warning", access_log=False)
"""


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def zip_folder(folder: Path) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for path in sorted(folder.iterdir()):
            if path.is_file() and path.suffix in {".csv", ".md"}:
                archive.write(path, path.name)
    return buffer.getvalue()


def drive(base: str, headers: dict, method: str, path: str, body, seconds: float, clients: int) -> dict:
    latencies: list[float] = []
    errors = [0]
    lock = threading.Lock()
    stop_at = time.perf_counter() + seconds

    def client() -> None:
        mine, bad = [], 0
        with httpx.Client(base_url=base, headers=headers, timeout=30) as http:
            while time.perf_counter() < stop_at:
                start = time.perf_counter()
                response = http.request(method, path, json=body)
                mine.append(time.perf_counter() - start)
                bad += response.status_code >= 400
        with lock:
            latencies.extend(mine)
            errors[0] += bad

    threads = [threading.Thread(target=client) for _ in range(clients)]
    began = time.perf_counter()
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    elapsed = time.perf_counter() - began
    latencies.sort()
    q = statistics.quantiles(latencies, n=100) if len(latencies) > 1 else latencies * 99
    return {
        "requests": len(latencies),
        "rps": len(latencies) / elapsed,
        "p50_ms": q[49] * 1000,
        "p99_ms": q[98] * 1000,
        "errors": errors[0],
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=10.0)
    parser.add_argument("--clients", type=int, default=8)
    parser.add_argument("--db", default="")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="coreatlas-bench-") as tmp:
        port, token_file = free_port(), Path(tmp) / "token"
        server = subprocess.Popen([sys.executable, "-c", SERVER, args.db, str(Path(tmp) / "data"), str(port), str(token_file)])
        base = f"http://127.0.0.1:{port}"
        try:
            deadline = time.monotonic() + 180
            while True:
                try:
                    if httpx.get(f"{base}/api/health", timeout=2).status_code == 200:
                        break
                except httpx.HTTPError:
                    pass
                if time.monotonic() > deadline or server.poll() is not None:
                    raise SystemExit("the server did not start")
                time.sleep(0.3)
            headers = {"Authorization": f"Bearer {token_file.read_text().strip()}"}
            ws = "/api/workspaces/default"
            eto = "chips"
            if ETO.is_dir():
                upload = httpx.post(f"{base}{ws}/datasets", headers=headers, data={"name": "eto"}, timeout=120,
                                    files={"file": ("eto.zip", zip_folder(ETO), "application/zip")})  # fmt: skip
                upload.raise_for_status()
                eto = "eto"
            else:
                print(f"(the ETO data are not at {ETO}: the scenario runs on the built-in chips map)")
            countries = ["NLD"]
            cases = [
                ("exposure read (chips)", "GET", f"{ws}/datasets/chips/exposure", None),
                (f"static scenario ({eto})", "POST", f"{ws}/datasets/{eto}/scenario", {"scenarios": [{"remove_countries": countries}]}),
                ("job submission (ttr)", "POST", f"{ws}/jobs", {"kind": "ttr", "request": {"data": "chips"}}),
            ]
            for _, method, path, body in cases:  # warm up: first loads, compiled kernels
                httpx.request(method, base + path, headers=headers, json=body, timeout=120).raise_for_status()
            rows = []
            for name, method, path, body in cases:
                figures = drive(base, headers, method, path, body, args.seconds, args.clients)
                rows.append((name, figures))
                print(f"{name}: {figures['rps']:.0f} req/s, p50 {figures['p50_ms']:.1f} ms, p99 {figures['p99_ms']:.1f} ms "
                      f"({figures['requests']} requests, {figures['errors']} errors)")  # fmt: skip
        finally:
            server.terminate()
            server.wait(timeout=30)
    backend = "PostgreSQL" if args.db.startswith("postgresql") else "SQLite"
    print(
        f"\n{backend}, {args.clients} clients x {args.seconds:.0f} s, {os.cpu_count()} cores, Python {platform.python_version()}, one uvicorn process\n"
    )
    print("| case | requests/s | p50 (ms) | p99 (ms) | errors |\n|---|---|---|---|---|")
    for name, f in rows:
        print(f"| {name} | {f['rps']:.0f} | {f['p50_ms']:.1f} | {f['p99_ms']:.1f} | {f['errors']} |")


if __name__ == "__main__":
    main()
