"""Fixtures of the API tests (no tests here): one server for the session, its organisations,
users and tokens for every identity of the authorisation matrix, and an ASGI client.

Identities: ``anonymous`` (no credentials), ``viewer``, ``editor``, ``owner`` (by their
organisation's share of workspace ``shared``), ``admin`` (the bootstrap admin, whose
organisation ``local`` owns ``shared``), ``other`` (a member of an organisation without a
share), ``revoked`` and ``expired`` (the owner's tokens, revoked or past their expiry).
"""

from __future__ import annotations

import io
import threading
import warnings
import zipfile
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path

import pytest
import sqlalchemy as sa

warnings.filterwarnings("ignore", "Using `httpx` with `starlette.testclient`")
from fastapi.testclient import TestClient  # noqa: E402

from coreatlas.api import create_app  # noqa: E402
from coreatlas.services.server import open_server, run_worker  # noqa: E402

IDENTITIES = ("anonymous", "viewer", "editor", "owner", "admin", "other", "revoked", "expired")
ETO = Path(__file__).resolve().parents[3] / "shared" / "data" / "eto-chip-explorer"

pytestmark = pytest.mark.filterwarnings("ignore:Using `httpx` with `starlette.testclient`")


@dataclass
class World:
    server: object
    data_dir: Path
    tokens: dict[str, str | None] = field(default_factory=dict)
    callers: dict[str, object] = field(default_factory=dict)
    ids: dict[str, str] = field(default_factory=dict)

    def headers(self, identity: str) -> dict:
        token = self.tokens.get(identity)
        return {"Authorization": f"Bearer {token}"} if token else {}


def _expire(server, token_id: str) -> None:
    from coreatlas.store.models import ApiToken, utcnow

    with server.db.write() as session:
        session.execute(sa.update(ApiToken).where(ApiToken.id == token_id).values(expires_at=utcnow() - timedelta(days=1)))


def build_world(data_dir: Path, db_url: str | None = None) -> World:
    server = open_server(db_url, data_dir, job_limit=1000)
    world = World(server, data_dir)
    world.tokens["admin"] = server.bootstrap_token
    for org in ("viewers", "editors", "owners", "others"):
        server.create_org(org)
    for name, org in (("vera", "viewers"), ("ed", "editors"), ("olga", "owners"), ("otto", "others")):
        server.create_user(name, org)
    server.create_workspace("shared", org="local")
    server.share("shared", "viewers", "viewer")
    server.share("shared", "editors", "editor")
    server.share("shared", "owners", "owner")
    for identity, user in (("viewer", "vera"), ("editor", "ed"), ("owner", "olga"), ("other", "otto")):
        world.tokens[identity] = server.create_token(user, scope="write")[1]
    revoked_id, world.tokens["revoked"] = server.create_token("olga", scope="write")
    server.revoke_token(revoked_id)
    expired_id, world.tokens["expired"] = server.create_token("olga", scope="write", expires_days=1)
    _expire(server, expired_id)
    world.tokens["reader"] = server.create_token("olga", scope="read")[1]
    world.tokens["anonymous"] = None
    for identity in ("viewer", "editor", "owner", "admin", "other", "reader"):
        world.callers[identity] = server.authenticate_token(world.tokens[identity])
    owner = world.callers["owner"]
    # one of each object, made by the owner, for the routes that name one
    world.ids["job"] = server.submit_job(owner, "shared", "ttr", {"data": "chips", "top": 3})
    run_worker(server, "test-worker", threading.Event(), max_jobs=1, poll_seconds=0.05)
    scenario = server.run_static(owner, "shared", "chips", "scenario", {"scenarios": [{"remove_countries": ["NLD"]}]})
    assert "provenance" in scenario
    world.ids["run"] = server.list_runs(owner, "shared")["items"][0]["id"]
    world.ids["scenario"] = server.save_scenario(owner, "shared", "no-nld", "scenario", {"scenarios": [{"remove_countries": ["NLD"]}]})[
        "id"
    ]
    world.ids["comment"] = server.add_comment(owner, "shared", "node", "euv_lithography_tools", "who else makes these?")["id"]
    world.ids["view"] = server.save_view(owner, "shared", "start", {"tab": "map"})["id"]
    return world


def _pg_schema(database_url: str) -> tuple[str, str]:
    """A fresh schema of the session's PostgreSQL database, and the URL that uses it."""
    import secrets

    schema = f"api_{secrets.token_hex(5)}"
    engine = sa.create_engine(database_url, isolation_level="AUTOCOMMIT")
    with engine.connect() as conn:
        conn.exec_driver_sql(f'CREATE SCHEMA "{schema}"')
    engine.dispose()
    return sa.make_url(database_url).update_query_dict({"options": f"-csearch_path={schema}"}).render_as_string(hide_password=False), schema


@pytest.fixture(scope="session", params=["sqlite", "postgresql"])
def world(request, tmp_path_factory) -> World:
    """The world on SQLite, and on PostgreSQL where the session has one (``pg_database`` of
    tests/server/conftest.py; skipped with its reason otherwise)."""
    if request.param == "sqlite":
        yield build_world(tmp_path_factory.mktemp("api-server"))
        return
    pg_database = request.getfixturevalue("pg_database")
    if pg_database is None:
        pytest.skip("PostgreSQL is not available (see tests/server/conftest.py)")
    url, _ = _pg_schema(pg_database)
    built = build_world(tmp_path_factory.mktemp("api-server-pg"), url)
    yield built
    built.server.close()


@pytest.fixture(scope="session")
def app(world):
    return create_app(world.server)


@pytest.fixture()
def client(app) -> TestClient:
    with TestClient(app, base_url="http://127.0.0.1") as c:
        yield c


def zip_folder(folder: Path) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for path in sorted(folder.iterdir()):
            if path.is_file() and path.suffix in {".csv", ".yaml", ".md"}:
                archive.write(path, path.name)
    return buffer.getvalue()


def without_time(doc: dict) -> dict:
    provenance = {k: v for k, v in doc.get("provenance", {}).items() if k != "created_at"}
    return {**doc, "provenance": provenance}
