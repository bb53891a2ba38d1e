"""The routes: one per use case, each only parsing, calling a server service and answering.

Every route but ``/api/health`` and the sign-in needs a caller (:mod:`coreatlas.api.auth`);
what the caller may do in a workspace (viewer, editor, owner) and what its token's scope
allows is decided by :mod:`coreatlas.services.server`, which answers 404 for a workspace the
caller cannot see. Results are ``to_dict()``, written as ``coreatlas ... --json`` writes them.
"""

import asyncio
import json
import time
import typing
from collections.abc import Callable
from typing import Annotated, Any

from fastapi import APIRouter, Body, File, Form, Path, Query, Request, Response, UploadFile
from fastapi.responses import StreamingResponse

from coreatlas import services
from coreatlas._version import __version__
from coreatlas.api import bodies
from coreatlas.api.auth import CSRF_COOKIE, SESSION_COOKIE, CallerDep, OptionalCaller
from coreatlas.api.backend import call, page_of, soon
from coreatlas.api.responses import AtlasJSON, errors, page_schema, result_response
from coreatlas.errors import AuthError, LimitError, RequestError

__all__ = ["router"]

router = APIRouter(prefix="/api")

WorkspaceId = Annotated[str, Path(min_length=1, max_length=100, description="A workspace, by name or id.")]
DatasetId = Annotated[str, Path(min_length=1, max_length=200, description="A dataset of the workspace, by name or id.")]
ObjectId = Annotated[str, Path(min_length=1, max_length=100)]
Offset = Annotated[int, Query(ge=0, le=1_000_000, description="Items to skip.")]
Limit = Annotated[int, Query(ge=1, le=500, description="Items per page (at most 500).")]
PAGE = {200: {"description": "One page of the list.", "content": {"application/json": {"schema": page_schema()}}}}
OBJECT = {"content": {"application/json": {"schema": {"type": "object"}}}}


def _server(request: Request) -> Any:
    return request.app.state.server


def _json(content: Any, status: int = 200) -> AtlasJSON:
    return AtlasJSON(content, status_code=status)


def _plain(value: Any) -> Any:
    """A service's answer as JSON-ready data (objects with ``to_dict`` become dicts)."""
    if hasattr(value, "to_dict"):
        return value.to_dict()
    if isinstance(value, list | tuple):
        return [_plain(v) for v in value]
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    return value


def _workspace_list(name: str, path: str, doc: str, statuses: tuple[int, ...] = (401, 404, 422)) -> Callable[..., AtlasJSON]:
    """Route ``GET /workspaces/{ws}/<path>`` (tagged ``path``), named ``name``: one page of the
    workspace's list, as the server service of that name answers it."""

    def endpoint(request: Request, caller: CallerDep, ws: WorkspaceId, offset: Offset = 0, limit: Limit = 50) -> AtlasJSON:
        return _json(_plain(call(_server(request), name, caller, ws, page_of(offset, limit))))

    endpoint.__name__ = endpoint.__qualname__ = name
    endpoint.__doc__ = doc
    return router.get(f"/workspaces/{{ws}}/{path}", tags=[path], responses={**PAGE, **errors(*statuses)})(endpoint)


# ---- health and sign-in ---------------------------------------------------------------------
@router.get("/health", tags=["server"], responses={200: {"description": "The server is up.", **OBJECT}})
def health(request: Request) -> AtlasJSON:
    """Whether the server and its database answer (no credentials needed)."""
    server = _server(request)
    checker = getattr(server, "health", None)
    database = "ok"
    if callable(checker):
        try:
            checker()
        except Exception:  # noqa: BLE001 - the health check reports, it does not fail
            database = "unavailable"
    return _json({"status": "ok" if database == "ok" else "degraded", "version": __version__, "database": database},
                 200 if database == "ok" else 503)  # fmt: skip


@router.post(
    "/session", tags=["session"], responses={200: {"description": "Signed in; the cookies are set.", **OBJECT}, **errors(401, 422)}
)
def sign_in(
    request: Request,
    response: Response,
    user: Annotated[str | None, Body(max_length=100)] = None,
    password: Annotated[str | None, Body(max_length=1000)] = None,
    token: Annotated[str | None, Body(max_length=200)] = None,
) -> dict:
    """Sign in with a user name and password, or with an API token; sets the HttpOnly session
    cookie and answers the CSRF token to send as ``X-CSRF-Token`` on every change."""
    server = _server(request)
    if token:
        caller = call(server, "authenticate_token", token)
    elif user and password:
        caller = call(server, "login_password", user, password)
    else:
        raise AuthError("sign in with a user and password, or with a token")
    session_id, csrf = call(server, "create_session", caller)
    secure = request.app.state.secure_cookies
    response.set_cookie(SESSION_COOKIE, session_id, httponly=True, samesite="lax", secure=secure, path="/")
    response.set_cookie(CSRF_COOKIE, csrf, httponly=False, samesite="lax", secure=secure, path="/")
    return {"user": getattr(caller, "user_name", None), "csrf_token": csrf}


@router.get("/session", tags=["session"], responses={200: {"description": "The caller.", **OBJECT}, **errors(401)})
def whoami(caller: CallerDep) -> dict:
    """Who the credentials belong to: user, organisations, token scope."""
    return {"user": caller.user_name, "user_id": caller.user_id, "orgs": list(caller.org_ids), "admin_orgs": list(caller.admin_org_ids),
            "scope": caller.scope}  # fmt: skip


@router.delete("/session", tags=["session"], status_code=204, responses=errors(401, 403))
def sign_out(request: Request, caller: OptionalCaller) -> Response:
    """End the browser session (its cookie stops working at once)."""
    session_id = request.cookies.get(SESSION_COOKIE)
    if session_id and caller is not None:
        call(_server(request), "end_session", session_id)
    answer = Response(status_code=204)
    answer.delete_cookie(SESSION_COOKIE, path="/")
    answer.delete_cookie(CSRF_COOKIE, path="/")
    return answer


# ---- workspaces -----------------------------------------------------------------------------
@router.get("/workspaces", tags=["workspaces"], responses={**PAGE, **errors(401, 422)})
def list_workspaces(request: Request, caller: CallerDep, offset: Offset = 0, limit: Limit = 50) -> AtlasJSON:
    """The workspaces the caller's organisations own or have been shared, with the caller's role."""
    return _json(_plain(call(_server(request), "list_workspaces", caller, page_of(offset, limit))))


@router.get("/workspaces/{ws}", tags=["workspaces"], responses={200: {"description": "The workspace.", **OBJECT}, **errors(401, 404, 422)})
def get_workspace(request: Request, caller: CallerDep, ws: WorkspaceId) -> AtlasJSON:
    """One workspace: its owner, its shares and the caller's role."""
    return _json(_plain(call(_server(request), "get_workspace", caller, ws)))


@router.post("/workspaces/{ws}/shares", tags=["workspaces"], status_code=201,
             responses={201: {"description": "The share.", **OBJECT}, **errors(401, 403, 404, 422)})  # fmt: skip
def share_workspace(
    request: Request,
    caller: CallerDep,
    ws: WorkspaceId,
    org: Annotated[str, Body(min_length=1, max_length=100, description="The organisation to share with.")],
    role: Annotated[typing.Literal["viewer", "editor", "owner"], Body(description="Its role in the workspace.")],
) -> AtlasJSON:
    """Share the workspace with another organisation (owners only)."""
    return _json(_plain(call(_server(request), "share", ws, org, role, caller=caller)), 201)


# ---- datasets -------------------------------------------------------------------------------
list_datasets = _workspace_list("list_datasets", "datasets", "The datasets of the workspace: built-in and uploaded, each with its versions.")


@router.post("/workspaces/{ws}/datasets", tags=["datasets"], status_code=201,
             responses={201: {"description": "The dataset version stored.", **OBJECT}, **errors(401, 403, 404, 413, 422)})  # fmt: skip
def upload_dataset(
    request: Request,
    caller: CallerDep,
    ws: WorkspaceId,
    name: Annotated[str, Form(min_length=1, max_length=100, pattern=r"^[A-Za-z0-9][A-Za-z0-9._-]*$", description="The dataset's name.")],
    file: Annotated[UploadFile, File(description="A zip of native or ETO CSV files.")],
) -> AtlasJSON:
    """Upload a dataset (a zip of native or ETO CSVs): validated, stored as an immutable version
    named by its content hash; every problem is answered with its file, line and column."""
    content = file.file.read(request.app.state.max_upload + 1)
    if len(content) > request.app.state.max_upload:
        raise LimitError(f"file: the upload is larger than {request.app.state.max_upload} bytes", field="file")
    return _json(_plain(call(_server(request), "upload_dataset", caller, ws, name, content)), 201)


@router.get("/workspaces/{ws}/datasets/{ds}", tags=["datasets"],
            responses={200: {"description": "Nodes, providers and sources.", **OBJECT}, **errors(401, 404, 422)})  # fmt: skip
def get_dataset(request: Request, caller: CallerDep, ws: WorkspaceId, ds: DatasetId) -> AtlasJSON:
    """One dataset: its nodes, providers and sources."""
    return _json(_plain(call(_server(request), "get_dataset", caller, ws, ds)))


def _query_request(request: Request, model: type, parsed: Any) -> dict:
    """The request from the query: a single value of a field that also takes text stays text
    (``bloc=USA,JPN`` as the command line's ``--bloc USA,JPN``); repeated values are a list."""
    raw: dict[str, list[str]] = {}
    for key, value in request.query_params.multi_items():
        raw.setdefault(key, []).append(value)
    data = parsed.model_dump(mode="json", include=parsed.model_fields_set)
    for key, values in raw.items():
        if key in data and len(values) == 1 and _takes_text(model.model_fields[key].annotation):
            data[key] = values[0]
    return data


def _takes_text(annotation: Any) -> bool:
    return annotation is str or str in typing.get_args(annotation)


async def _static(request: Request, caller: Any, ws: str, ds: str, use_case: str, data: dict) -> Response:
    """The result's JSON text as the server gives it (the same bytes as ``--json``, kept between
    requests): on the event loop when it is in memory, else computed in a worker thread."""
    server = _server(request)
    text = await soon(server, lambda: call(server, "run_static_json", caller, ws, ds, use_case, data))
    return Response(text, media_type="application/json")


def _static_route(route: str) -> None:
    model = bodies.static_body(route)
    doc = services.use_case_of(bodies.STATIC_ROUTES[route]).run.__doc__ or ""

    async def endpoint(request: Request, caller: CallerDep, ws: WorkspaceId, ds: DatasetId, query: Annotated[model, Query()]) -> Response:
        return await _static(request, caller, ws, ds, bodies.STATIC_ROUTES[route], _query_request(request, model, query))

    endpoint.__doc__ = doc.strip().split("\n\n")[0]
    endpoint.__name__ = route
    router.add_api_route(f"/workspaces/{{ws}}/datasets/{{ds}}/{route}", endpoint, methods=["GET"], tags=["analyses"],
                         responses={**result_response(), **errors(400, 401, 403, 404, 409, 413, 422)}, name=route,
                         response_class=AtlasJSON)  # fmt: skip


for _route in ("exposure", "chokepoints", "leverage", "indicators", "openran"):
    _static_route(_route)


ScenarioBody = bodies.static_body("scenario")


@router.post("/workspaces/{ws}/datasets/{ds}/scenario", tags=["analyses"], response_class=AtlasJSON,
             responses={**result_response(), **errors(400, 401, 403, 404, 409, 413, 422)})  # fmt: skip
async def scenario(request: Request, caller: CallerDep, ws: WorkspaceId, ds: DatasetId, body: Annotated[ScenarioBody, Body()]) -> Response:
    """A static scenario, answered at once: what is left of every node when providers drop out."""
    return await _static(request, caller, ws, ds, "scenario", body.model_dump(mode="json", exclude_unset=True))


# ---- jobs -----------------------------------------------------------------------------------
JOB = {"content": {"application/json": {"schema": {"type": "object", "required": ["id", "state"],
                                                     "properties": {"id": {"type": "string"}, "state": {"type": "string"}}}}}}  # fmt: skip


@router.post("/workspaces/{ws}/jobs", tags=["jobs"], status_code=202,
             responses={202: {"description": "Queued: the job's id.", **JOB}, **errors(401, 403, 404, 413, 422)})  # fmt: skip
def submit_job(request: Request, caller: CallerDep, ws: WorkspaceId, submission: Annotated[bodies.JobSubmission, Body()]) -> AtlasJSON:
    """Queue long work (``simulate``, ``montecarlo``, ``rank``, ``ttr``, ``tts``, ``invest``,
    ``mrio-simulate``); ``request.data`` names a dataset of the workspace."""
    request.state.field_prefix = "/request"
    data = submission.request.model_dump(mode="json", exclude_unset=True)
    job_id = call(_server(request), "submit_job", caller, ws, submission.kind, data)
    job_id = job_id if isinstance(job_id, str) else _plain(job_id).get("id")
    return AtlasJSON({"id": job_id, "state": "queued", "kind": submission.kind, "links": _job_links(job_id)}, status_code=202,
                     headers={"Location": f"/api/jobs/{job_id}"})  # fmt: skip


def _job_links(job_id: str) -> dict:
    return {"self": f"/api/jobs/{job_id}", "events": f"/api/jobs/{job_id}/events", "result": f"/api/jobs/{job_id}/result"}


list_jobs = _workspace_list("list_jobs", "jobs", "The workspace's jobs, newest first.")


@router.get("/jobs/{job}", tags=["jobs"], responses={200: {"description": "State, progress and error.", **JOB}, **errors(401, 404, 422)})
def get_job(request: Request, caller: CallerDep, job: ObjectId) -> AtlasJSON:
    """A job's state (queued, running, succeeded, failed, cancelled), attempts, progress and error."""
    return _json(_plain(call(_server(request), "get_job", caller, job)))


@router.get("/jobs/{job}/result", tags=["jobs"], response_class=AtlasJSON,
            responses={**result_response(), **errors(401, 404, 409, 422)})  # fmt: skip
def job_result(request: Request, caller: CallerDep, job: ObjectId) -> AtlasJSON:
    """The result of a job that succeeded (404 while it has none)."""
    return _json(call(_server(request), "job_result", caller, job))


@router.delete(
    "/jobs/{job}", tags=["jobs"], responses={200: {"description": "The job, cancelled.", **JOB}, **errors(401, 403, 404, 409, 422)}
)
def cancel_job(request: Request, caller: CallerDep, job: ObjectId) -> AtlasJSON:
    """Cancel a queued or running job (a running job stops at its next progress report)."""
    return _json(_plain(call(_server(request), "cancel_job", caller, job)))


TERMINAL = frozenset({"succeeded", "failed", "cancelled"})


@router.get("/jobs/{job}/events", tags=["jobs"],
            responses={200: {"description": "Server-sent events: `state` and `progress`, until the job ends.",
                             "content": {"text/event-stream": {"schema": {"type": "string"}}}}, **errors(401, 404, 422)})  # fmt: skip
async def job_events(request: Request, caller: CallerDep, job: ObjectId) -> StreamingResponse:
    """The job's state changes and progress as server-sent events, ending when it has succeeded, failed or was cancelled."""
    server = _server(request)
    first = await asyncio.to_thread(call, server, "get_job", caller, job)  # 404 before the stream starts
    interval = request.app.state.sse_interval

    async def stream():
        last, state, seen = None, _plain(first), 0
        deadline = time.monotonic() + request.app.state.sse_max_seconds
        while True:
            events = await asyncio.to_thread(_events_since, server, caller, job, seen)
            for event in events:
                seen = max(seen, int(event.get("seq", seen + 1)))
                yield f"id: {event.get('seq', seen)}\nevent: {event.get('kind', 'state')}\ndata: {json.dumps(event, default=str)}\n\n"
            snapshot = json.dumps(state, sort_keys=True, default=str)
            if not events and snapshot != last:
                yield f"event: state\ndata: {snapshot}\n\n"
            last = snapshot
            if state.get("state") in TERMINAL or time.monotonic() > deadline or await request.is_disconnected():
                break
            await asyncio.sleep(interval)
            state = _plain(await asyncio.to_thread(call, server, "get_job", caller, job))
        yield "event: end\ndata: {}\n\n"

    return StreamingResponse(stream(), media_type="text/event-stream", headers={"Cache-Control": "no-store", "X-Accel-Buffering": "no"})


def _events_since(server: Any, caller: Any, job: str, seen: int) -> list[dict]:
    return [e for e in _plain(call(server, "job_events", caller, job, after=seen)) if int(e.get("seq") or 0) > seen]


# ---- runs, saved scenarios, views, comments, audit -------------------------------------------
list_runs = _workspace_list("list_runs", "runs", "The runs of the workspace (static analyses and finished jobs), newest first.")


@router.get("/workspaces/{ws}/runs/{run}", tags=["runs"], response_class=AtlasJSON,
            responses={200: {"description": "The run: its use case, request and result.", **OBJECT}, **errors(401, 404, 422)})  # fmt: skip
def get_run(request: Request, caller: CallerDep, ws: WorkspaceId, run: ObjectId) -> AtlasJSON:
    """A run: its use case, its request and its result (as its route or job answered it)."""
    return _json(_plain(call(_server(request), "get_run", caller, ws, run)))


ScenarioKind = typing.Literal["scenario", *bodies.JOB_KINDS]


list_scenarios = _workspace_list("list_scenarios", "scenarios", "The saved scenarios of the workspace.")


@router.post("/workspaces/{ws}/scenarios", tags=["scenarios"], status_code=201,
             responses={201: {"description": "The saved scenario.", **OBJECT}, **errors(401, 403, 404, 413, 422)})  # fmt: skip
def save_scenario(
    request: Request,
    caller: CallerDep,
    ws: WorkspaceId,
    name: Annotated[str, Body(min_length=1, max_length=200)],
    request_: Annotated[dict, Body(alias="request", description="The request, as the route or job of `kind` takes it.")],
    kind: Annotated[ScenarioKind, Body(description="The use case it is a request of.")] = "scenario",
    description: Annotated[str, Body(max_length=10_000)] = "",
) -> AtlasJSON:
    """Save a request (a scenario or a job's request) under a name, to run again or share."""
    request.state.field_prefix = "/request"
    model = bodies.static_body("scenario") if kind == "scenario" else bodies.job_body(kind)
    checked = services.parse_request(model, request_).model_dump(mode="json", exclude_unset=True)
    request.state.field_prefix = ""
    return _json(_plain(call(_server(request), "save_scenario", caller, ws, name, kind, checked, description)), 201)


@router.get("/workspaces/{ws}/scenarios/{scenario_id}", tags=["scenarios"],
            responses={200: {"description": "The saved scenario.", **OBJECT}, **errors(401, 404, 422)})  # fmt: skip
def get_scenario(request: Request, caller: CallerDep, ws: WorkspaceId, scenario_id: ObjectId) -> AtlasJSON:
    """One saved scenario."""
    return _json(_plain(call(_server(request), "get_scenario", caller, ws, scenario_id)))


list_views = _workspace_list("list_views", "views", "The saved views of the workspace (a page's state, to open again).")


@router.post("/workspaces/{ws}/views", tags=["views"], status_code=201,
             responses={201: {"description": "The saved view.", **OBJECT}, **errors(401, 403, 404, 413, 422)})  # fmt: skip
def save_view(
    request: Request,
    caller: CallerDep,
    ws: WorkspaceId,
    name: Annotated[str, Body(min_length=1, max_length=200)],
    state: Annotated[dict, Body(description="The view's state (what the page shows), as the page writes it.")],
) -> AtlasJSON:
    """Save a view under a name."""
    if len(json.dumps(state)) > 100_000:
        raise LimitError("state: a view's state is at most 100000 characters of JSON", field="state")
    return _json(_plain(call(_server(request), "save_view", caller, ws, name, state)), 201)


CommentTarget = typing.Literal["node", "scenario", "run"]


@router.get("/workspaces/{ws}/comments", tags=["comments"], responses={**PAGE, **errors(401, 404, 422)})
def list_comments(
    request: Request,
    caller: CallerDep,
    ws: WorkspaceId,
    target_kind: Annotated[CommentTarget | None, Query(description="Only comments on a node, a scenario or a run.")] = None,
    target_id: Annotated[str | None, Query(max_length=200, description="Only comments on this node, scenario or run.")] = None,
    offset: Offset = 0,
    limit: Limit = 50,
) -> AtlasJSON:
    """The comments of the workspace (each with its replies), oldest first."""
    return _json(_plain(call(_server(request), "list_comments", caller, ws, page_of(offset, limit), target_kind=target_kind,
                             target_id=target_id)))  # fmt: skip


@router.post("/workspaces/{ws}/comments", tags=["comments"], status_code=201,
             responses={201: {"description": "The comment.", **OBJECT}, **errors(401, 403, 404, 413, 422)})  # fmt: skip
def add_comment(
    request: Request,
    caller: CallerDep,
    ws: WorkspaceId,
    target_kind: Annotated[CommentTarget, Body(description="What the comment is on.")],
    target_id: Annotated[str, Body(min_length=1, max_length=200, description="The node id, saved scenario id or run id.")],
    body: Annotated[str, Body(min_length=1, max_length=20_000)],
    parent_id: Annotated[str | None, Body(max_length=100, description="The comment this one replies to.")] = None,
) -> AtlasJSON:
    """Comment on a node, a saved scenario or a run (or reply to a comment)."""
    return _json(_plain(call(_server(request), "add_comment", caller, ws, target_kind, target_id, body, parent_id=parent_id)), 201)


@router.patch("/workspaces/{ws}/comments/{comment_id}", tags=["comments"],
              responses={200: {"description": "The comment.", **OBJECT}, **errors(401, 403, 404, 422)})  # fmt: skip
def update_comment(
    request: Request,
    caller: CallerDep,
    ws: WorkspaceId,
    comment_id: ObjectId,
    status: Annotated[typing.Literal["open", "resolved"] | None, Body()] = None,
    body: Annotated[str | None, Body(min_length=1, max_length=20_000)] = None,
) -> AtlasJSON:
    """Resolve or reopen a comment, or edit its body (its author)."""
    if status is None and body is None:
        raise RequestError("give a status or a body", field="status")
    return _json(_plain(call(_server(request), "update_comment", caller, ws, comment_id, status=status, body=body)))


audit = _workspace_list("audit", "audit", "Who read, ran, changed, shared or exported what in the workspace, and when (owners only).", statuses=(401, 403, 404, 422))
