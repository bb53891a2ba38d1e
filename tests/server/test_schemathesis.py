"""schemathesis over the whole OpenAPI of the server, against the ASGI app, with bounded examples:
no 5xx, no status the schema does not document, no answer outside its schema.

Every operation is called as the owner of workspace ``shared`` (the authorisation matrix,
tests/server/test_authz.py, covers the other identities). ``SCHEMATHESIS_EXAMPLES`` sets the
examples per operation (default 12)."""

from __future__ import annotations

import os
import warnings

import pytest
import schemathesis
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
_WORLD = {}


def _app():
    if "app" not in _WORLD:
        import tempfile
        from pathlib import Path

        world = support.build_world(Path(tempfile.mkdtemp(prefix="coreatlas-schemathesis-")))
        _WORLD.update(world=world, app=create_app(world.server))
    return _WORLD["app"]


def _schema():
    loaded = schemathesis.openapi.from_asgi("/openapi.json", _app())
    world = _WORLD["world"]
    _WORLD["paths"] = {"ws": "shared", "ds": "chips", "job": world.ids["job"], "run": world.ids["run"], "scenario_id": world.ids["scenario"],
                       "comment_id": world.ids["comment"]}  # fmt: skip
    return loaded.exclude(path_regex=r"/events$")  # a stream; test_api reads it


schema = _schema()


@schema.parametrize()
@settings(max_examples=EXAMPLES, deadline=None, suppress_health_check=list(HealthCheck))
@pytest.mark.filterwarnings("ignore")
def test_api_conforms_to_its_schema(case):
    world = _WORLD["world"]
    # half the cases on a real workspace, dataset and objects, so that they reach the use cases
    if case.path_parameters and hash(repr(case.path_parameters)) % 2:
        case.path_parameters = {k: _WORLD["paths"].get(k, v) for k, v in case.path_parameters.items()}
    case.headers = {**(case.headers or {}), "Authorization": f"Bearer {world.tokens['owner']}"}
    case.call_and_validate(
        checks=[status_code_conformance, content_type_conformance, response_schema_conformance],
        excluded_checks=[],
    )
