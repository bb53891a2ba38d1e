"""Contract tests of every route, the parity of each route's JSON with the CLI's ``--json`` for
the same request, the Python client, the error envelope, limits and security headers."""

from __future__ import annotations

import json
import threading

import pytest
import test_api_support as support
from test_api_support import ETO, without_time, zip_folder

from coreatlas import services
from coreatlas.api.bodies import SERVER_ONLY
from coreatlas.client import Client
from coreatlas.errors import NotFoundError, RequestError, ScenarioError
from coreatlas.services.requests import ChokepointsRequest, ExposureRequest, ScenarioRequest
from coreatlas.services.server import run_worker
from parity import cli_json, differences

app, client, world = support.app, support.client, support.world  # the fixtures
pytestmark = pytest.mark.filterwarnings("ignore:Using `httpx` with `starlette.testclient`")
W = "/api/workspaces/shared"


def _run_jobs(world, n: int = 1) -> None:
    run_worker(world.server, "api-test", threading.Event(), max_jobs=n, poll_seconds=0.05)


# ---- parity: each route's JSON equals the CLI's --json for the same request ------------------
PARITY = [
    ("exposure", ("exposure", "--data", "chips", "--bloc", "USA,JPN"), "GET", "chips/exposure?bloc=USA,JPN", None),
    ("exposure-node", ("exposure", "--data", "chips", "--node", "euv_lithography_tools"), "GET", "chips/exposure?node=euv_lithography_tools", None),
    ("chokepoints", ("chokepoints", "--data", "chips", "--threshold", "0.6", "--by", "firm"), "GET", "chips/chokepoints?threshold=0.6&by=firm", None),
    ("leverage", ("leverage", "--data", "chips", "--bloc", "core", "--threshold", "0.5"), "GET", "chips/leverage?bloc=core&threshold=0.5", None),
    ("indicators", ("indicators", "--data", "telecom-ran"), "GET", "telecom-ran/indicators", None),
    ("openran", ("openran", "--data", "telecom-ran"), "GET", "telecom-ran/openran", None),
    # a POST sends the request the command built (its provenance), less the dataset, which is the URL's
    ("scenario", ("scenario", "--data", "chips", "--remove-country", "NLD"), "POST", "chips/scenario", "cli"),
    ("scenario-cut", ("scenario", "--data", "chips", "--cut", "TWN=0.5", "--variants", "all"), "POST", "chips/scenario", "cli"),
    ("scenario-policy", ("scenario", "--data", "telecom-ran", "--only-bloc", "core"), "POST", "telecom-ran/scenario", "cli"),
]  # fmt: skip


@pytest.mark.parametrize(("name", "args", "method", "path", "body"), PARITY, ids=[p[0] for p in PARITY])
def test_route_json_equals_cli_json(client, world, name, args, method, path, body):
    cli = without_time(cli_json(*args))
    if body == "cli":
        body = {k: v for k, v in cli["provenance"]["request"].items() if k != "data" and not (k in SERVER_ONLY and v is None)}
    response = client.request(method, f"{W}/datasets/{path}", headers=world.headers("editor"), json=body)
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith("application/json")
    api = without_time(response.json())
    diff = differences(api, cli)
    assert not diff, "API and CLI differ at " + "; ".join(diff[:10])


JOB_PARITY = [
    ("ttr", ("risk", "ttr", "--data", "chips", "--ttr-days", "20"), {"data": "chips", "ttr_days": 20}),
    ("tts", ("risk", "tts", "--data", "chips"), {"data": "chips"}),
]


@pytest.mark.parametrize(("kind", "args", "request_"), JOB_PARITY, ids=[p[0] for p in JOB_PARITY])
def test_job_result_equals_cli_json(client, world, kind, args, request_):
    headers = world.headers("editor")
    response = client.post(f"{W}/jobs", headers=headers, json={"kind": kind, "request": request_})
    assert response.status_code == 202, response.text
    job = response.json()["id"]
    assert response.headers["location"] == f"/api/jobs/{job}"
    _run_jobs(world)
    state = client.get(f"/api/jobs/{job}", headers=headers).json()
    assert state["state"] == "succeeded", state
    result = client.get(f"/api/jobs/{job}/result", headers=headers)
    assert result.status_code == 200
    diff = differences(without_time(result.json()), without_time(cli_json(*args)))
    assert not diff, "job result and CLI differ at " + "; ".join(diff[:10])
    events = client.get(f"/api/jobs/{job}/events", headers=headers)
    assert events.headers["content-type"].startswith("text/event-stream")
    kinds = [line.split(":", 1)[1].strip() for line in events.text.splitlines() if line.startswith("event:")]
    assert kinds[-1] == "end" and "state" in kinds


# ---- contract: every route answers its documented shape --------------------------------------
def test_health_and_openapi(client):
    health = client.get("/api/health")
    assert health.status_code == 200 and health.json()["status"] == "ok"
    spec = client.get("/openapi.json").json()
    paths = spec["paths"]
    for path in ("/api/health", "/api/workspaces", "/api/workspaces/{ws}/datasets", "/api/workspaces/{ws}/datasets/{ds}",
                 "/api/workspaces/{ws}/datasets/{ds}/exposure", "/api/workspaces/{ws}/datasets/{ds}/chokepoints",
                 "/api/workspaces/{ws}/datasets/{ds}/leverage", "/api/workspaces/{ws}/datasets/{ds}/indicators",
                 "/api/workspaces/{ws}/datasets/{ds}/openran", "/api/workspaces/{ws}/datasets/{ds}/scenario", "/api/workspaces/{ws}/jobs",
                 "/api/jobs/{job}", "/api/jobs/{job}/events", "/api/jobs/{job}/result", "/api/workspaces/{ws}/comments",
                 "/api/workspaces/{ws}/scenarios", "/api/workspaces/{ws}/views", "/api/workspaces/{ws}/audit"):  # fmt: skip
        assert path in paths, path
    text = json.dumps(spec)
    for field in ("scenario_file", "hazards_file", "measures_file", "network_dir", "out_dir", "scheduler"):
        assert f'"{field}"' not in text, f"the API lets a request name a server path: {field}"
    docs = client.get("/api/docs")
    assert docs.status_code == 200 and "<script" not in docs.text and "cdn." not in docs.text
    assert "'unsafe-inline'" not in docs.headers["content-security-policy"]
    for path in paths:  # every route of the OpenAPI document is on the page (tests/server/test_docs_page.py: more)
        assert f'<span class="path">{path}</span>' in docs.text, path


def test_security_headers_and_no_cors(client, world):
    response = client.get("/api/workspaces", headers={**world.headers("viewer"), "Origin": "https://evil.example"})
    csp = response.headers["content-security-policy"]
    assert "script-src 'self'" in csp and "frame-ancestors 'none'" in csp and "unsafe-inline" not in csp
    assert response.headers["x-content-type-options"] == "nosniff"
    assert response.headers["referrer-policy"] == "no-referrer"
    assert response.headers["cache-control"] == "no-store"
    assert "access-control-allow-origin" not in response.headers
    preflight = client.options("/api/workspaces", headers={"Origin": "https://evil.example", "Access-Control-Request-Method": "GET"})
    assert "access-control-allow-origin" not in preflight.headers


def test_lists_are_paginated(client, world):
    headers = world.headers("owner")
    for path in (
        "/api/workspaces",
        f"{W}/datasets",
        f"{W}/jobs",
        f"{W}/runs",
        f"{W}/scenarios",
        f"{W}/views",
        f"{W}/comments",
        f"{W}/audit",
    ):
        page = client.get(path, params={"offset": 0, "limit": 1}, headers=headers)
        assert page.status_code == 200, (path, page.text)
        body = page.json()
        assert set(body) >= {"items", "total", "offset", "limit"} and body["limit"] == 1 and len(body["items"]) <= 1, path
    assert client.get(f"{W}/datasets", params={"limit": 0}, headers=headers).status_code == 422
    assert client.get(f"{W}/datasets", params={"limit": 501}, headers=headers).status_code == 422
    datasets = client.get(f"{W}/datasets", params={"limit": 500}, headers=headers).json()
    assert {"chips", "telecom-ran"} <= {d["name"] for d in datasets["items"]}


def test_dataset_detail(client, world):
    detail = client.get(f"{W}/datasets/chips", headers=world.headers("viewer")).json()
    assert detail["name"] == "chips"
    assert client.get(f"{W}/datasets/no-such", headers=world.headers("viewer")).status_code == 404


def test_error_envelope_names_the_field(client, world):
    headers = world.headers("editor")
    bad = client.get(f"{W}/datasets/chips/chokepoints", params={"threshold": 3}, headers=headers)
    assert bad.status_code == 422
    error = bad.json()["error"]
    assert error["code"] == "invalid_request" and error["field"] == "/threshold" and error["message"].startswith("threshold")
    unknown = client.post(f"{W}/datasets/chips/scenario", headers=headers, json={"scenarios": [{"remove_countries": ["XXXX"]}]})
    assert unknown.status_code == 422 and unknown.json()["error"]["field"] == "/scenarios/0/remove_countries/0"
    node = client.get(f"{W}/datasets/chips/exposure", params={"node": "nope"}, headers=headers)
    assert node.status_code == 404 and node.json()["error"]["code"] == "not_found" and node.json()["error"]["field"] == "/node"
    job = client.post(f"{W}/jobs", headers=headers, json={"kind": "ttr", "request": {"top": -1}})
    assert job.status_code == 422 and job.json()["error"]["field"] == "/request/top"
    kind = client.post(f"{W}/jobs", headers=headers, json={"kind": "exposure", "request": {}})
    assert kind.status_code == 422 and kind.json()["error"]["field"] == "/kind"
    assert client.get("/api/nowhere").json()["error"]["code"] == "not_found"
    assert client.put("/api/health").status_code == 405


@pytest.mark.parametrize("field", ["scenario_file", "hazards_file", "network_dir", "table", "out", "scheduler", "data"])
def test_no_request_names_a_server_path(client, world, field):
    headers = world.headers("editor")
    body = {"scenarios": [{"remove_countries": ["NLD"]}], field: "/etc"}
    assert client.post(f"{W}/datasets/chips/scenario", headers=headers, json=body).status_code == 422
    kind = {"scenario_file": "simulate", "hazards_file": "montecarlo", "network_dir": "ttr", "table": "mrio-simulate", "out": "ttr",
            "scheduler": "montecarlo", "data": "ttr"}[field]  # fmt: skip
    job = client.post(f"{W}/jobs", headers=headers, json={"kind": kind, "request": {field: "/etc"}})
    assert job.status_code in (404, 422), job.text  # data=/etc: no such dataset in the workspace
    assert client.get(f"{W}/datasets/chips/exposure", params={field: "/etc"}, headers=headers).status_code == 422


def test_body_and_upload_limits(client, world):
    headers = world.headers("editor")
    big = {"scenarios": [{"remove_countries": ["NLD"]}], "scenario_name": "x" * (2 << 20)}
    response = client.post(f"{W}/datasets/chips/scenario", headers=headers, json=big)
    assert response.status_code == 413 and response.json()["error"]["code"] == "limit_exceeded"

    def chunks():
        for _ in range(2048):
            yield b" " * 1024

    chunked = client.post(f"{W}/datasets/chips/scenario", headers={**headers, "content-type": "application/json"}, content=chunks())
    assert chunked.status_code == 413


def test_upload_eto_then_analyse(client, world):
    if not ETO.is_dir():
        pytest.skip(f"the ETO Chip Explorer data are not at {ETO}")
    headers = world.headers("editor")
    response = client.post(f"{W}/datasets", headers=headers, data={"name": "eto-chips"},
                           files={"file": ("eto.zip", zip_folder(ETO), "application/zip")})  # fmt: skip
    assert response.status_code == 201, response.text
    again = client.post(
        f"{W}/datasets", headers=headers, data={"name": "eto-chips"}, files={"file": ("eto.zip", zip_folder(ETO), "application/zip")}
    )
    assert again.status_code == 201  # the same content: the same version
    chokepoints = client.get(f"{W}/datasets/eto-chips/chokepoints", headers=headers)
    assert chokepoints.status_code == 200
    doc = chokepoints.json()
    assert doc["provenance"]["request"]["data"] == "eto-chips"  # the dataset, never a server folder
    assert str(world.data_dir) not in chokepoints.text


def test_upload_problems_have_file_line_column(client, world, tmp_path):
    import io
    import zipfile

    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("nodes.csv", "node_id,name,kind\nx,X,output\n")
        archive.writestr("providers.csv", "provider_id,name,type,country\n")
        archive.writestr("provision.csv", "node_id,provider_id,share\nx,nobody,1.5\n")
    response = client.post(f"{W}/datasets", headers=world.headers("editor"), data={"name": "broken"},
                           files={"file": ("broken.zip", buffer.getvalue(), "application/zip")})  # fmt: skip
    assert response.status_code in (400, 422), response.text
    error = response.json()["error"]
    assert error["problems"] and all({"file", "line", "column", "message"} <= set(p) for p in error["problems"])
    assert any(p["file"] for p in error["problems"])


def test_comments_scenarios_views(client, world):
    headers = world.headers("editor")
    comment = client.post(f"{W}/comments", headers=headers, json={"target_kind": "run", "target_id": world.ids["run"], "body": "why?"})
    assert comment.status_code == 201
    cid = comment.json()["id"]
    reply = client.post(
        f"{W}/comments", headers=headers, json={"target_kind": "run", "target_id": world.ids["run"], "body": "TWN", "parent_id": cid}
    )
    assert reply.status_code == 201
    resolved = client.patch(f"{W}/comments/{cid}", headers=headers, json={"status": "resolved"})
    assert resolved.status_code == 200 and resolved.json()["status"] == "resolved"
    listed = client.get(f"{W}/comments", params={"target_kind": "run", "target_id": world.ids["run"]}, headers=headers).json()
    assert any(c["id"] == cid for c in listed["items"])
    mine = next(c for c in listed["items"] if c["id"] == cid)  # every reader of the workspace sees who wrote it
    assert (mine["author_name"], mine["author_org"]) == ("ed", "editors") and mine["replies"][0]["author_name"] == "ed"
    saved = client.post(f"{W}/scenarios", headers=headers, json={"name": "cut-twn", "request": {"scenarios": [{"capacity": {"TWN": 0.5}}]}})
    assert saved.status_code == 201
    got = client.get(f"{W}/scenarios/{saved.json()['id']}", headers=headers).json()
    assert got["request"]["scenarios"][0]["capacity"] == {"TWN": 0.5} and got["created_by_name"] == "ed"
    bad = client.post(f"{W}/scenarios", headers=headers, json={"name": "bad", "request": {"scenario_file": "/etc/passwd"}})
    assert bad.status_code == 422 and bad.json()["error"]["field"] == "/request/scenario_file"
    view = client.post(f"{W}/views", headers=headers, json={"name": "euv", "state": {"node": "euv_lithography_tools"}})
    assert view.status_code == 201


def test_cancel_a_queued_job(client, world):
    headers = world.headers("editor")
    job = client.post(f"{W}/jobs", headers=headers, json={"kind": "ttr", "request": {"data": "chips"}}).json()["id"]
    cancelled = client.delete(f"/api/jobs/{job}", headers=headers)
    assert cancelled.status_code == 200 and cancelled.json()["state"] == "cancelled"
    assert client.get(f"/api/jobs/{job}/result", headers=headers).status_code == 404


def test_audit_records_without_secrets(client, world):
    audit = client.get(f"{W}/audit", params={"limit": 500}, headers=world.headers("owner"))
    assert audit.status_code == 200
    text = audit.text
    for identity, token in world.tokens.items():
        if token:
            assert token not in text, identity
    assert {"read", "run"} <= {e["action"] for e in audit.json()["items"]}


# ---- the Python client -----------------------------------------------------------------------
@pytest.fixture()
def remote(client, world):
    api = Client("http://127.0.0.1", world.tokens["editor"], workspace="shared", transport=client._transport)
    yield api
    api.close()


@pytest.mark.parametrize(("name", "request_"), [
    ("exposure", ExposureRequest(data="chips", bloc="USA,JPN")),
    ("chokepoints", ChokepointsRequest(data="chips", threshold=0.7)),
    ("scenario", ScenarioRequest(data="chips", scenarios=[{"remove_countries": ["NLD"]}])),
])  # fmt: skip
def test_client_returns_what_services_return(remote, name, request_):
    local = services.run(name, request_)
    shared = remote.run(name, request_)
    assert not differences(without_time(json.loads(services.to_json(local.to_dict()))), without_time(shared.to_dict()))
    assert shared.provenance.content_hash == local.provenance.content_hash
    frame = shared.to_frame()
    assert len(frame) == len(local.to_frame())


def test_client_runs_a_job(remote, world):
    job = remote.submit("ttr", {"data": "chips", "top": 2})
    _run_jobs(world)
    result = remote.wait(job, timeout=60)
    local = services.run("ttr", {"data": "chips", "top": 2})
    assert not differences(without_time(json.loads(services.to_json(local.to_dict()))), without_time(result.to_dict()))


def test_client_raises_the_error_classes(remote):
    with pytest.raises(RequestError) as info:
        remote.run("chokepoints", {"data": "chips", "threshold": 2})
    assert info.value.field == "/threshold"
    with pytest.raises(NotFoundError):
        remote.run("exposure", {"data": "no-such-dataset"})
    with pytest.raises(ScenarioError):
        remote.run("scenario", {"data": "chips", "scenarios": [{"remove_countries": ["XXXX"]}]})
    assert "coreatlas_" not in repr(remote)


def test_a_nul_character_is_a_request_error_on_every_backend(client, world):
    """PostgreSQL cannot store U+0000 (found by schemathesis on PostgreSQL): the API refuses it
    before the database, with the envelope, and nothing of it reaches the audit batch."""
    headers = world.headers("editor")
    answer = client.post(f"{W}/comments", headers=headers, json={"target_kind": "node", "target_id": "\u0000", "body": "0"})
    assert answer.status_code == 422 and "NUL" in answer.json()["error"]["message"]
    scenario = client.post(f"{W}/datasets/chips/scenario", headers=headers, json={"scenarios": [{"name": "a\u0000b", "remove_countries": ["NLD"]}]})
    assert scenario.status_code == 422 and answer.json()["error"]["code"] == "invalid_request"
    assert client.get(f"{W}/audit", headers=world.headers("owner")).status_code == 200  # the batch still writes
