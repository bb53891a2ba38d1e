"""The server's commands: ``admin ...`` on a data dir, and ``serve`` as one command (the token
it prints works, its worker runs a job), all on 127.0.0.1."""

from __future__ import annotations

import os
import re
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest
from typer.testing import CliRunner

from coreatlas.cli.server import app

runner = CliRunner()
TOKEN = re.compile(r"coreatlas_[A-Za-z0-9_\-]+")


def invoke(*args: str) -> str:
    result = runner.invoke(app, list(args), catch_exceptions=False)
    assert result.exit_code == 0, result.output + result.stderr
    return result.stdout


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start_server(data_dir: Path, port: int, *extra: str, db: str | None = None) -> subprocess.Popen:
    """``coreatlas serve`` on 127.0.0.1 (on database ``db``, given through COREATLAS_DB as a password would be)."""
    command = [sys.executable, "-m", "coreatlas.cli.server", "serve", "--host", "127.0.0.1", "--port", str(port), "--data-dir", str(data_dir),
               "--log-level", "warning", *extra]  # fmt: skip
    env = {**os.environ, **({"COREATLAS_DB": db} if db else {})}
    return subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, start_new_session=True, env=env)


def wait_healthy(port: int, timeout: float = 120.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            if httpx.get(f"http://127.0.0.1:{port}/api/health", timeout=2).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.3)
    raise AssertionError(f"no server on 127.0.0.1:{port} after {timeout} s")


def stop(process: subprocess.Popen, sig: int = signal.SIGTERM) -> None:
    if process.poll() is None:
        os.killpg(process.pid, sig)
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait()


def test_admin_commands(tmp_path):
    data = ["--data-dir", str(tmp_path / "data")]
    invoke("admin", "migrate", *data)
    invoke("admin", "create-org", "jp-meti", *data)
    invoke("admin", "create-user", "aiko", "--org", "jp-meti", "--role", "admin", *data)
    created = runner.invoke(app, ["admin", "create-token", "aiko", "--scope", "read", "--expires-days", "30", *data])
    assert created.exit_code == 0, created.output
    token = TOKEN.search(created.stdout).group(0)
    token_id = re.search(r"token (\w+) for aiko", created.stderr).group(1)
    invoke("admin", "share", "default", "--org", "jp-meti", "--role", "viewer", *data)
    invoke("admin", "revoke-token", token_id, *data)
    invoke("admin", "backup", str(tmp_path / "backup.zip"), *data)
    invoke("admin", "restore", str(tmp_path / "backup.zip"), "--data-dir", str(tmp_path / "restored"))
    again = runner.invoke(app, ["admin", "create-org", "jp-meti", "--data-dir", str(tmp_path / "restored")])
    assert again.exit_code == 2  # the restored server has it already
    bad = runner.invoke(app, ["admin", "share", "nowhere", "--org", "jp-meti", *data])
    assert bad.exit_code == 2 and "not found" in bad.stderr
    assert token not in (tmp_path / "data" / "coreatlas.db").read_bytes().decode("latin-1")


def test_serve_prints_a_working_token_and_runs_jobs(tmp_path):
    port = free_port()
    server = start_server(tmp_path / "data", port, "--workers", "1")
    try:
        wait_healthy(port)
        token = None
        deadline = time.monotonic() + 10
        while token is None and time.monotonic() < deadline:
            line = server.stdout.readline()
            found = TOKEN.search(line)
            token = found.group(0) if found else None
        assert token, "serve printed no admin token on an empty data dir"
        headers = {"Authorization": f"Bearer {token}"}
        base = f"http://127.0.0.1:{port}/api"
        datasets = httpx.get(f"{base}/workspaces/default/datasets", headers=headers, params={"limit": 100}).json()
        assert {"chips", "telecom-ran"} <= {d["name"] for d in datasets["items"]}
        job = httpx.post(f"{base}/workspaces/default/jobs", headers=headers, json={"kind": "tts", "request": {"data": "chips"}}).json()[
            "id"
        ]
        deadline = time.monotonic() + 600  # a bound against a hang, not a speed test
        while (state := httpx.get(f"{base}/jobs/{job}", headers=headers).json()["state"]) not in ("succeeded", "failed"):
            assert time.monotonic() < deadline, f"the job is still {state}"
            time.sleep(0.5)
        assert state == "succeeded"
        assert "provenance" in httpx.get(f"{base}/jobs/{job}/result", headers=headers).json()
    finally:
        stop(server)
    again = start_server(tmp_path / "data", port, "--workers", "0")
    try:
        wait_healthy(port)
    finally:
        stop(again)
    assert not TOKEN.search(again.stdout.read() + again.stderr.read()), "a second start must not print a new admin token"


@pytest.mark.skipif(not hasattr(os, "killpg"), reason="needs POSIX process groups")
def test_serve_refuses_a_busy_port(tmp_path):
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        result = subprocess.run([sys.executable, "-m", "coreatlas.cli.server", "serve", "--port", str(busy.getsockname()[1]), "--workers", "0",
                                 "--data-dir", str(tmp_path / "d")], capture_output=True, text=True, timeout=300)  # fmt: skip
    assert result.returncode == 2 and "in use" in result.stderr


@pytest.mark.skipif(not hasattr(os, "killpg"), reason="needs POSIX process groups")
def test_serve_with_two_http_processes_loses_nothing_on_a_clean_stop(tmp_path):
    """``--http-workers 2``: both processes answer; the audit entries and runs they batch (here
    for 30 s, longer than the test) are written when the server is stopped with SIGTERM."""
    port = free_port()
    server = start_server(tmp_path / "data", port, "--workers", "0", "--http-workers", "2", "--write-every", "30")
    try:
        wait_healthy(port)
        token = TOKEN.search(server.stdout.readline()).group(0)
        headers = {"Authorization": f"Bearer {token}"}
        base = f"http://127.0.0.1:{port}/api/workspaces/default/datasets/chips"
        first = None
        for _ in range(20):  # new connections: spread over both processes
            answer = httpx.post(f"{base}/scenario", headers=headers, json={"scenarios": [{"remove_countries": ["NLD"]}]})
            assert answer.status_code == 200, answer.text
            same = {**answer.json(), "provenance": {k: v for k, v in answer.json()["provenance"].items() if k != "created_at"}}
            first = first or same
            assert same == first  # each process computes it once (its own created_at) and keeps it
            assert httpx.get(f"{base}/exposure", headers=headers).status_code == 200
    finally:
        stop(server)
    assert server.returncode == 0, server.stderr.read()
    from coreatlas.services.server import Page, open_server

    with open_server(None, tmp_path / "data", bootstrap=False) as opened:
        admin = opened.authenticate_token(token)
        assert opened.list_runs(admin, "default", Page(0, 100))["total"] == 20
        log = opened.audit(admin, "default", Page(0, 500))["items"]
        assert sum(e["action"] == "read" and e["target_kind"] == "exposure" for e in log) == 20
