"""The authorisation matrix: every route x every identity gets its documented status.

- no credentials, a revoked or an expired token: 401 everywhere but ``/api/health``;
- a member of an organisation without a share: 404 for everything in the workspace (its
  existence does not leak), its own lists empty;
- viewer: reads; editor: also runs, uploads, comments, saves; owner (and the admin of the
  owning organisation): also shares and reads the audit log; too low a role: 403;
- a read-scoped token cannot write (403) even where its user could.
"""

from __future__ import annotations

import pytest
import test_api_support as support
from test_api_support import IDENTITIES, zip_folder

app, client, world = support.app, support.client, support.world  # the fixtures
pytestmark = pytest.mark.filterwarnings("ignore:Using `httpx` with `starlette.testclient`")

OK = {"viewer": "ok", "editor": "ok", "owner": "ok", "admin": "ok", "other": 404}
EDIT = {"viewer": 403, "editor": "ok", "owner": "ok", "admin": "ok", "other": 404}
OWN = {"viewer": 403, "editor": 403, "owner": "ok", "admin": "ok", "other": 404}
ANY = {"viewer": "ok", "editor": "ok", "owner": "ok", "admin": "ok", "other": "ok"}
W = "/api/workspaces/shared"
D = f"{W}/datasets/chips"

#: (name, method, path, body, who may): ``{job}``, ``{run}``, ... are the world's objects.
ROUTES = [
    ("health", "GET", "/api/health", None, "public"),
    ("whoami", "GET", "/api/session", None, ANY),
    ("workspaces", "GET", "/api/workspaces", None, ANY),
    ("workspace", "GET", W, None, OK),
    ("share", "POST", f"{W}/shares", {"org": "viewers", "role": "viewer"}, OWN),
    ("datasets", "GET", f"{W}/datasets", None, OK),
    ("upload", "POST", f"{W}/datasets", "upload", EDIT),
    ("dataset", "GET", D, None, OK),
    ("exposure", "GET", f"{D}/exposure", None, OK),
    ("chokepoints", "GET", f"{D}/chokepoints?threshold=0.8", None, OK),
    ("leverage", "GET", f"{D}/leverage", None, OK),
    ("indicators", "GET", f"{W}/datasets/telecom-ran/indicators", None, OK),
    ("openran", "GET", f"{W}/datasets/telecom-ran/openran", None, OK),
    ("scenario", "POST", f"{D}/scenario", {"scenarios": [{"remove_countries": ["NLD"]}]}, OK),
    ("submit", "POST", f"{W}/jobs", {"kind": "ttr", "request": {"data": "chips", "top": 2}}, EDIT),
    ("jobs", "GET", f"{W}/jobs", None, OK),
    ("job", "GET", "/api/jobs/{job}", None, OK),
    ("job-events", "GET", "/api/jobs/{job}/events", None, OK),
    ("job-result", "GET", "/api/jobs/{job}/result", None, OK),
    ("cancel", "DELETE", "/api/jobs/{fresh_job}", None, EDIT),
    ("runs", "GET", f"{W}/runs", None, OK),
    ("run", "GET", f"{W}/runs/{{run}}", None, OK),
    ("scenarios", "GET", f"{W}/scenarios", None, OK),
    ("save-scenario", "POST", f"{W}/scenarios", {"name": "x", "request": {"scenarios": [{"remove_countries": ["TWN"]}]}}, EDIT),
    ("saved-scenario", "GET", f"{W}/scenarios/{{scenario}}", None, OK),
    ("views", "GET", f"{W}/views", None, OK),
    ("save-view", "POST", f"{W}/views", {"name": "v", "state": {"tab": "chokepoints"}}, EDIT),
    ("comments", "GET", f"{W}/comments", None, OK),
    ("comment", "POST", f"{W}/comments", {"target_kind": "node", "target_id": "euv_lithography_tools", "body": "noted"}, EDIT),
    ("resolve", "PATCH", f"{W}/comments/{{comment}}", {"status": "resolved"}, EDIT),
    ("audit", "GET", f"{W}/audit", None, OWN),
]
#: In another organisation's eyes its own lists are empty.
EMPTY_FOR_OTHER = {"workspaces"}


def expected(who: dict | str, identity: str) -> int | str:
    if who == "public":
        return "ok"
    if identity in ("anonymous", "revoked", "expired"):
        return 401
    return who[identity]


def _call(client, world, identity, method, path, body, headers=None):
    if "{fresh_job}" in path:
        path = path.replace("{fresh_job}", world.server.submit_job(world.callers["owner"], "shared", "ttr", {"data": "chips", "top": 2}))
    path = path.format(**world.ids)
    if isinstance(body, dict) and "name" in body:
        body = {**body, "name": f"{body['name']}-{identity}"}
    headers = headers if headers is not None else world.headers(identity)
    if body == "upload":
        files = {"file": ("tiny.zip", zip_folder(_tiny_dataset()), "application/zip")}
        return client.request(method, path, headers=headers, data={"name": f"up-{identity}"}, files=files)
    return client.request(method, path, headers=headers, json=body)


def _tiny_dataset():
    from pathlib import Path

    import coreatlas

    return Path(coreatlas.__file__).parent / "datasets" / "chips"


@pytest.mark.parametrize("identity", IDENTITIES)
@pytest.mark.parametrize(("name", "method", "path", "body", "who"), ROUTES, ids=[r[0] for r in ROUTES])
def test_matrix(client, world, identity, name, method, path, body, who):
    response = _call(client, world, identity, method, path, body)
    want = expected(who, identity)
    if want == "ok":
        assert 200 <= response.status_code < 300, f"{identity} {method} {path}: {response.status_code} {response.text[:300]}"
        if identity == "other" and name in EMPTY_FOR_OTHER:
            assert all(item["name"] != "shared" for item in response.json()["items"])
    else:
        assert response.status_code == want, f"{identity} {method} {path}: {response.status_code} {response.text[:300]}"
        error = response.json()["error"]
        assert set(error) == {"code", "message", "field", "problems"}
        assert error["code"] == {401: "unauthorized", 403: "forbidden", 404: "not_found"}[want]
        if want == 401:
            assert response.headers["www-authenticate"].startswith("Bearer")
        if want == 404:
            assert "shared" not in error["message"] or name not in ("job", "job-events", "job-result", "cancel")


#: a static scenario is POSTed (it carries a request) but changes nothing: read tokens may ask it
READ_POSTS = ("share", "scenario")
WRITES = [r for r in ROUTES if r[1] != "GET" and r[0] not in READ_POSTS]


def test_a_read_token_asks_a_static_scenario_without_recording_a_run(client, world):
    before = client.get(f"{W}/runs", headers=world.headers("owner")).json()["total"]
    response = _call(client, world, "reader", "POST", f"{D}/scenario", {"scenarios": [{"remove_countries": ["NLD"]}]})
    assert response.status_code == 200 and response.json()["rows"]
    assert client.get(f"{W}/runs", headers=world.headers("owner")).json()["total"] == before


@pytest.mark.parametrize(("name", "method", "path", "body", "who"), WRITES, ids=[r[0] for r in WRITES])
def test_read_scoped_token_cannot_write(client, world, name, method, path, body, who):
    response = _call(client, world, "reader", method, path, body)
    assert response.status_code == 403, response.text
    assert response.json()["error"]["code"] == "forbidden"


def test_no_cross_workspace_read_or_write(client, world):
    """The other organisation's own workspace is invisible to the shared workspace's members, and
    an object of one workspace cannot be reached through another's URL."""
    server = world.server
    server.create_workspace("others-own", org="others")
    otto = world.headers("other")
    assert client.get("/api/workspaces/others-own/datasets", headers=otto).status_code == 200
    for identity in ("viewer", "editor", "owner", "admin"):
        for method, path, body in (("GET", "/api/workspaces/others-own/datasets", None),
                                   ("GET", "/api/workspaces/others-own/datasets/chips/exposure", None),
                                   ("POST", "/api/workspaces/others-own/datasets/chips/scenario", {"scenarios": [{"remove_countries": ["NLD"]}]}),
                                   ("POST", "/api/workspaces/others-own/jobs", {"kind": "ttr", "request": {"data": "chips"}})):  # fmt: skip
            response = client.request(method, path, headers=world.headers(identity), json=body)
            assert response.status_code == 404, (identity, path, response.text)
    # the shared workspace's run, scenario and comment through the other workspace's URL
    for path in (f"/api/workspaces/others-own/runs/{world.ids['run']}", f"/api/workspaces/others-own/scenarios/{world.ids['scenario']}"):
        assert client.get(path, headers=otto).status_code == 404
    response = client.patch(f"/api/workspaces/others-own/comments/{world.ids['comment']}", headers=otto, json={"status": "resolved"})
    assert response.status_code == 404
    # a dataset uploaded elsewhere is not a dataset of this workspace
    assert client.get("/api/workspaces/others-own/datasets/up-owner", headers=otto).status_code == 404


def test_session_cookie_needs_csrf_on_writes(client, world):
    response = client.post("/api/session", json={"token": world.tokens["editor"]})
    assert response.status_code == 200
    csrf = response.json()["csrf_token"]
    cookie = response.headers.get_list("set-cookie")
    session_cookie = next(c for c in cookie if c.startswith("coreatlas_session="))
    assert "httponly" in session_cookie.lower() and "samesite=lax" in session_cookie.lower()
    assert client.get("/api/workspaces/shared/datasets").status_code == 200  # reads with the cookie alone
    body = {"scenarios": [{"remove_countries": ["NLD"]}]}
    assert client.post("/api/workspaces/shared/datasets/chips/scenario", json=body).status_code == 403
    assert client.post("/api/workspaces/shared/datasets/chips/scenario", json=body, headers={"X-CSRF-Token": "wrong"}).status_code == 403
    assert client.post("/api/workspaces/shared/datasets/chips/scenario", json=body, headers={"X-CSRF-Token": csrf}).status_code == 200
    session_id = client.cookies.get("coreatlas_session")
    assert client.delete("/api/session", headers={"X-CSRF-Token": csrf}).status_code == 204
    client.cookies.set("coreatlas_session", session_id, path="/api")  # the ended session's cookie, kept by a thief
    assert client.get("/api/workspaces/shared/datasets").status_code == 401
    client.cookies.clear()
