"""Benchmark of the server on 127.0.0.1: concurrent clients for a bounded time, requests/s and
p50/p99 latency for an exposure read, a static scenario on the ETO map (uploaded first), a
stream of varied static scenarios and a job submission.

    .venv/bin/python benchmarks/bench_server.py [--seconds 8] [--clients 8] [--runs 3] [--db URL]
                                                [--http-workers 2] [--workers 0]

It starts ``coreatlas serve`` itself (a fresh data dir, on a free port of 127.0.0.1; with
``--db`` on that database, which must be empty) and reads the admin token it prints. Cases:

- ``exposure read``: the same ``GET .../datasets/chips/exposure`` again and again;
- ``static scenario``: the same ``POST .../datasets/eto/scenario`` (NLD removed) again and again;
- ``varied scenarios``: every request a scenario not asked before (other countries removed,
  other capacity cuts): each is computed, none comes from the result cache;
- ``varied scenarios, pool of 50``: requests drawn in turn from 50 scenarios (after one pass);
- ``job submission``: ``POST .../jobs`` (``ttr``), answered once the job is queued; last, since
  with ``--workers`` the workers start running these jobs at once, beside the server.

Each case runs ``--runs`` times; the table shows the medians. The clients are threads of this
process using keep-alive connections (``http.client``); its CPU time is reported as a share of
the machine (``client CPU``), with the load average after the case, and the server's CPU time
per request (all its processes, from /proc): a figure that other work on the machine does not
change much, unlike requests/s.
"""

from __future__ import annotations

import argparse
import http.client
import io
import itertools
import json
import os
import platform
import re
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import zipfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
ETO = ROOT.parent / "shared" / "data" / "eto-chip-explorer"
TOKEN = re.compile(r"coreatlas_[A-Za-z0-9_\-]+")
WS = "/api/workspaces/default"


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


def multipart(fields: dict[str, str], name: str, filename: str, content: bytes) -> tuple[bytes, str]:
    boundary = "coreatlas-bench-boundary"
    parts = [f'--{boundary}\r\nContent-Disposition: form-data; name="{k}"\r\n\r\n{v}\r\n'.encode() for k, v in fields.items()]
    parts.append(f'--{boundary}\r\nContent-Disposition: form-data; name="{name}"; filename="{filename}"\r\n'
                 "Content-Type: application/zip\r\n\r\n".encode() + content + b"\r\n")  # fmt: skip
    return b"".join(parts) + f"--{boundary}--\r\n".encode(), f"multipart/form-data; boundary={boundary}"


class Http:
    """One keep-alive connection to the server."""

    def __init__(self, port: int, token: str):
        self.connection = http.client.HTTPConnection("127.0.0.1", port, timeout=120)
        self.headers = {"Authorization": f"Bearer {token}"}

    def request(self, method: str, path: str, body: bytes | None = None, content_type: str = "application/json") -> tuple[int, bytes]:
        headers = {**self.headers, **({"Content-Type": content_type} if body is not None else {})}
        self.connection.request(method, path, body=body, headers=headers)
        response = self.connection.getresponse()
        return response.status, response.read()

    def close(self) -> None:
        self.connection.close()


def group_cpu_seconds(group: int) -> float:
    """CPU time (user + system) of the processes of process group ``group`` (the server and its children), from /proc."""
    total = 0
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(fields[2]) == group:  # fields after the name: state ppid pgrp ... utime(11) stime(12)
            total += int(fields[11]) + int(fields[12])
    return total / os.sysconf("SC_CLK_TCK")


def drive(port: int, token: str, requests, seconds: float, clients: int, group: int | None = None) -> dict:
    """``clients`` threads send ``next(requests)`` (method, path, body bytes) for ``seconds``."""
    latencies: list[float] = []
    errors = [0]
    lock = threading.Lock()
    stop_at = time.perf_counter() + seconds

    def client() -> None:
        mine, bad, http = [], 0, Http(port, token)
        try:
            while time.perf_counter() < stop_at:
                with lock:
                    method, path, body = next(requests, (None, None, None))
                if method is None:  # a stream of new requests ran out
                    break
                start = time.perf_counter()
                status, _ = http.request(method, path, body)
                mine.append(time.perf_counter() - start)
                bad += status >= 400
        finally:
            http.close()
        with lock:
            latencies.extend(mine)
            errors[0] += bad

    threads = [threading.Thread(target=client) for _ in range(clients)]
    server_before = group_cpu_seconds(group) if group else 0.0
    cpu_before, began = os.times(), time.perf_counter()
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    elapsed, cpu_after = time.perf_counter() - began, os.times()
    server_cpu = group_cpu_seconds(group) - server_before if group else float("nan")
    client_cpu = (cpu_after.user - cpu_before.user) + (cpu_after.system - cpu_before.system)
    latencies.sort()
    q = statistics.quantiles(latencies, n=100) if len(latencies) > 1 else latencies * 99
    return {"requests": len(latencies), "rps": len(latencies) / elapsed, "p50_ms": q[49] * 1000, "p99_ms": q[98] * 1000, "errors": errors[0],
            "client_cpu": client_cpu / (elapsed * (os.cpu_count() or 1)), "load": os.getloadavg()[0],
            "server_cpu_ms": server_cpu * 1000 / max(len(latencies), 1)}  # fmt: skip


def start_server(args, data_dir: Path, port: int) -> tuple[subprocess.Popen, str]:
    command = [sys.executable, "-m", "coreatlas.cli.server", "serve", "--host", "127.0.0.1", "--port", str(port), "--data-dir", str(data_dir),
               "--workers", str(args.workers), "--http-workers", str(args.http_workers), "--job-limit", str(10**9), "--log-level", "warning"]  # fmt: skip
    env = {**os.environ, **({"COREATLAS_DB": args.db} if args.db else {})}
    server = subprocess.Popen(command, stdout=subprocess.PIPE, text=True, env=env, start_new_session=True)
    token = None
    deadline = time.monotonic() + 180
    while token is None:
        line = server.stdout.readline()
        if (not line and server.poll() is not None) or time.monotonic() > deadline:
            raise SystemExit("the server did not start (or printed no admin token: is the database empty?)")
        found = TOKEN.search(line)
        token = found.group(0) if found else None
    wait_healthy(port, server)
    return server, token


def wait_healthy(port: int, server: subprocess.Popen) -> None:
    deadline = time.monotonic() + 180
    while time.monotonic() < deadline and server.poll() is None:
        try:
            connection = http.client.HTTPConnection("127.0.0.1", port, timeout=2)
            connection.request("GET", "/api/health")
            if connection.getresponse().status == 200:
                return
        except OSError:
            time.sleep(0.3)
    raise SystemExit("the server did not answer /api/health")


def stop_server(server: subprocess.Popen) -> None:
    if server.poll() is None:
        os.killpg(server.pid, signal.SIGTERM)
        try:
            server.wait(timeout=60)
        except subprocess.TimeoutExpired:
            os.killpg(server.pid, signal.SIGKILL)
            server.wait()


def varied_scenarios(countries: list[str]) -> list[dict]:
    """Distinct scenarios: one or two countries removed, or one country's capacity cut (1% steps)."""
    removals = [{"remove_countries": list(c)} for n in (1, 2) for c in itertools.combinations(countries, n)]
    cuts = [{"capacity": {code: round(share / 100, 2)}} for share in range(1, 100) for code in countries]
    return [{"scenarios": [s]} for s in itertools.chain.from_iterable(itertools.zip_longest(removals, cuts)) if s]


def cases(http: Http, dataset: str) -> list[tuple[str, object]]:
    status, body = http.request("GET", f"{WS}/datasets/{dataset}")
    countries = sorted({c for p in json.loads(body)["providers"] if re.fullmatch(r"[A-Z]{3}", c := str(p.get("country")))})[:30]
    scenario = f"{WS}/datasets/{dataset}/scenario"
    varied = [("POST", scenario, json.dumps(s).encode()) for s in varied_scenarios(countries)]
    pool = varied[-50:]
    for request in pool:  # one pass: the pool's answers are in the result cache
        http.request(*request)
    return [
        ("exposure read (chips)", itertools.repeat(("GET", f"{WS}/datasets/chips/exposure", None))),
        (f"static scenario ({dataset}, the same)", itertools.repeat(("POST", scenario, b'{"scenarios": [{"remove_countries": ["NLD"]}]}'))),
        (f"varied scenarios ({dataset}, each new)", iter(varied[:-50])),
        (f"varied scenarios ({dataset}, pool of 50)", itertools.cycle(pool)),
        ("job submission (ttr)", itertools.repeat(("POST", f"{WS}/jobs", b'{"kind": "ttr", "request": {"data": "chips"}}'))),
    ]


def upload_eto(http: Http) -> str:
    if not ETO.is_dir():
        print(f"(the ETO data are not at {ETO}: the scenarios run on the built-in chips map)")
        return "chips"
    body, content_type = multipart({"name": "eto"}, "file", "eto.zip", zip_folder(ETO))
    status, answer = http.request("POST", f"{WS}/datasets", body, content_type)
    if status >= 300:
        raise SystemExit(f"the ETO upload failed: {status} {answer[:300]!r}")
    return "eto"


def median_row(runs: list[dict]) -> dict:
    return {key: statistics.median(r[key] for r in runs) for key in runs[0]}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=8.0)
    parser.add_argument("--clients", type=int, default=8)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--db", default="", help="an empty database (default: SQLite in the fresh data dir)")
    parser.add_argument("--http-workers", type=int, default=2)
    parser.add_argument("--workers", type=int, default=0, help="job workers (they run the submitted jobs during the last case)")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="coreatlas-bench-") as tmp:
        port = free_port()
        server, token = start_server(args, Path(tmp) / "data", port)
        try:
            http = Http(port, token)
            dataset = upload_eto(http)
            plan = cases(http, dataset)
            for name, requests in plan:  # warm up every process: first loads (no jobs: the workers would run them meanwhile)
                for request in itertools.islice(requests, 0 if name.startswith("job") else 4 * args.http_workers):
                    http.request(*request)
            http.close()
            rows = []
            for name, requests in plan:
                runs = [drive(port, token, requests, args.seconds, args.clients, server.pid) for _ in range(args.runs)]
                row = median_row(runs)
                rows.append((name, row))
                each = ", ".join(f"{r['rps']:.0f}" for r in runs)
                print(f"{name}: {row['rps']:.0f} req/s, p50 {row['p50_ms']:.1f} ms, p99 {row['p99_ms']:.1f} ms, {row['errors']:.0f} errors, "
                      f"server CPU {row['server_cpu_ms']:.2f} ms/request, client CPU {row['client_cpu']:.0%}, load {row['load']:.2f} (runs: {each} req/s)",
                      flush=True)  # fmt: skip
        finally:
            stop_server(server)
    backend = "PostgreSQL" if args.db.startswith("postgres") else "SQLite"
    print(f"\n{backend}, {args.http_workers} HTTP process(es), {args.workers} job worker(s), {args.clients} clients x {args.seconds:.0f} s, "
          f"median of {args.runs} runs, {os.cpu_count()} cores, Python {platform.python_version()}\n")  # fmt: skip
    print("| case | requests/s | p50 (ms) | p99 (ms) | errors | server CPU (ms/request) | client CPU | load |\n|---|---|---|---|---|---|---|---|")
    for name, f in rows:
        print(f"| {name} | {f['rps']:.0f} | {f['p50_ms']:.1f} | {f['p99_ms']:.1f} | {f['errors']:.0f} | {f['server_cpu_ms']:.2f} | {f['client_cpu']:.0%} "
              f"| {f['load']:.2f} |")


if __name__ == "__main__":
    main()
