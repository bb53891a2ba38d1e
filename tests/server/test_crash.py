"""A server running a long job is killed with SIGKILL and restarted: the job is re-run (or failed
with its reason) within the lease time, nothing else is lost, and the database passes its
integrity check. All on 127.0.0.1, on SQLite and on PostgreSQL (``db_url``, tests/server/conftest.py)."""

from __future__ import annotations

import os
import signal
import time

import httpx
import pytest
from test_cli_server import TOKEN, free_port, start_server, stop, wait_healthy

from coreatlas.services.server import open_server

LEASE = 4.0
pytestmark = pytest.mark.skipif(not hasattr(os, "killpg"), reason="needs POSIX process groups")


def _wait(predicate, timeout: float, what: str):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(0.25)
    raise AssertionError(f"{what} did not happen within {timeout} s")


def test_sigkill_during_a_long_job(tmp_path, db_url):
    data_dir, port = tmp_path / "data", free_port()
    base = f"http://127.0.0.1:{port}/api"
    server = start_server(data_dir, port, "--workers", "1", "--lease", str(LEASE), db=db_url)
    try:
        wait_healthy(port)
        token = _wait(lambda: (m := TOKEN.search(server.stdout.readline())) and m.group(0), 10, "the admin token")
        headers = {"Authorization": f"Bearer {token}"}

        def job(job_id):
            return httpx.get(f"{base}/jobs/{job_id}", headers=headers).json()

        quick = httpx.post(f"{base}/workspaces/default/jobs", headers=headers, json={"kind": "tts", "request": {"data": "chips"}}).json()[
            "id"
        ]
        _wait(lambda: job(quick)["state"] == "succeeded", 120, "the quick job")
        before = httpx.get(f"{base}/jobs/{quick}/result", headers=headers).json()
        comment = httpx.post(f"{base}/workspaces/default/comments", headers=headers,
                             json={"target_kind": "node", "target_id": "euv_lithography_tools", "body": "kept?"}).json()["id"]  # fmt: skip
        long = httpx.post(f"{base}/workspaces/default/jobs", headers=headers, json={"kind": "rank", "request": {"data": "chips"}}).json()[
            "id"
        ]
        _wait(lambda: job(long)["state"] == "running", 60, "the long job starting")
        first = job(long)
        assert first["attempts"] == 1
    finally:
        stop(server, signal.SIGKILL)
    killed_at = time.monotonic()
    again = start_server(data_dir, port, "--workers", "1", "--lease", str(LEASE), db=db_url)
    try:
        wait_healthy(port)
        # re-run (a second attempt) or failed with its reason, within the lease (and a sweep) of the restart
        after = _wait(lambda: (j := job(long)) and (j["attempts"] >= 2 or j["state"] == "failed") and j, LEASE * 3 + 60, "the re-run")
        elapsed = time.monotonic() - killed_at
        assert after["state"] in ("queued", "running", "failed"), after
        if after["state"] == "failed":
            assert after["error"] and after["error"]["message"]
        # nothing else lost
        assert httpx.get(f"{base}/jobs/{quick}/result", headers=headers).json() == before
        comments = httpx.get(f"{base}/workspaces/default/comments", headers=headers, params={"limit": 500}).json()["items"]
        assert comment in {c["id"] for c in comments}
        httpx.delete(f"{base}/jobs/{long}", headers=headers)
        _wait(lambda: job(long)["state"] in ("cancelled", "failed"), 180, "the cancel")
    finally:
        stop(again)
    print(f"job re-run {elapsed:.1f} s after the SIGKILL (lease {LEASE} s)")
    with open_server(db_url, data_dir, bootstrap=False) as server:
        assert server.integrity_check() == []
