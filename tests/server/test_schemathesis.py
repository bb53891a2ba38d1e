"""schemathesis over the whole OpenAPI of the server, against the ASGI app, with bounded examples:
no 5xx, no status the schema does not document, no answer outside its schema; on SQLite and, where
``COREATLAS_TEST_PG_URL`` names a PostgreSQL server (tests/server/conftest.py), on PostgreSQL.

Every operation is called as the owner of workspace ``shared`` (the authorisation matrix,
tests/server/test_authz.py, covers the other identities). ``SCHEMATHESIS_EXAMPLES`` sets the
examples per operation (default 12)."""

from __future__ import annotations

import atexit
import os
import secrets
import tempfile
import warnings
from pathlib import Path

import pytest
import schemathesis
import sqlalchemy as sa
import test_api_support as support
from hypothesis import HealthCheck, settings
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from coreatlas.api import create_app

warnings.filterwarnings("ignore", "Using `httpx` with `starlette.testclient`")
EXAMPLES = int(os.environ.get("SCHEMATHESIS_EXAMPLES", "12"))
PG_ENV = "COREATLAS_TEST_PG_URL"
NO_PG = f"PostgreSQL cases need {PG_ENV}; .ci/run starts a throwaway server"
PG_URL = os.environ.get(PG_ENV, "").replace("postgresql://", "postgresql+psycopg://", 1)
_WORLDS: dict[str, dict] = {}


def _pg_schema_url() -> str:
    """A fresh schema of the PostgreSQL database, dropped when the tests end."""
    schema = f"schemathesis_{secrets.token_hex(4)}"
    admin = sa.create_engine(PG_URL, isolation_level="AUTOCOMMIT", poolclass=sa.pool.NullPool)
    with admin.connect() as conn:
        conn.exec_driver_sql(f'CREATE SCHEMA "{schema}"')

    def drop() -> None:
        _WORLDS["postgresql"]["world"].server.close()
        with admin.connect() as conn:
            conn.exec_driver_sql(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE')

    atexit.register(drop)
    return sa.make_url(PG_URL).update_query_dict({"options": f"-csearch_path={schema}"}).render_as_string(hide_password=False)


def _schema(backend: str):
    url = _pg_schema_url() if backend == "postgresql" else None
    world = support.build_world(Path(tempfile.mkdtemp(prefix=f"coreatlas-schemathesis-{backend}-")), url)
    paths = {"ws": "shared", "ds": "chips", "job": world.ids["job"], "run": world.ids["run"], "scenario_id": world.ids["scenario"],
             "comment_id": world.ids["comment"]}  # fmt: skip
    _WORLDS[backend] = {"world": world, "paths": paths}
    loaded = schemathesis.openapi.from_asgi("/openapi.json", create_app(world.server))
    return loaded.exclude(path_regex=r"/events$")  # a stream; test_api reads it


def _call(case, backend: str) -> None:
    state = _WORLDS[backend]
    # half the cases on a real workspace, dataset and objects, so that they reach the use cases
    if case.path_parameters and hash(repr(case.path_parameters)) % 2:
        case.path_parameters = {k: state["paths"].get(k, v) for k, v in case.path_parameters.items()}
    case.headers = {**(case.headers or {}), "Authorization": f"Bearer {state['world'].tokens['owner']}"}
    case.call_and_validate(checks=[status_code_conformance, content_type_conformance, response_schema_conformance], excluded_checks=[])


schema = _schema("sqlite")


@schema.parametrize()
@settings(max_examples=EXAMPLES, deadline=None, suppress_health_check=list(HealthCheck))
@pytest.mark.filterwarnings("ignore")
def test_api_conforms_to_its_schema(case):
    _call(case, "sqlite")


if PG_URL:
    pg_schema = _schema("postgresql")

    @pg_schema.parametrize()
    @settings(max_examples=EXAMPLES, deadline=None, suppress_health_check=list(HealthCheck))
    @pytest.mark.filterwarnings("ignore")
    def test_api_conforms_to_its_schema_on_postgresql(case):
        _call(case, "postgresql")

else:

    def test_api_conforms_to_its_schema_on_postgresql():
        pytest.skip(NO_PG)
