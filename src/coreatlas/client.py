"""A Python client of the CoRe Atlas server: the same requests in, the same results out.

A notebook switches from local to shared with one line::

    from coreatlas import services
    from coreatlas.client import Client
    from coreatlas.services.requests import ExposureRequest

    request = ExposureRequest(data="chips", bloc="core")
    local = services.run("exposure", request)
    shared = Client("http://127.0.0.1:8080", token).run("exposure", request)   # workspace "default"
    assert local.to_dict()["rows"] == shared.to_dict()["rows"]

``run`` answers a static use case (exposure, chokepoints, leverage, indicators, openran,
scenario) at once and a long one (simulate, montecarlo, rank, ttr, tts, invest, mrio-simulate)
as a job it waits for. The request's ``data`` names a dataset of the workspace (a built-in
name, or an uploaded dataset's name or id). Errors come back as the same
:class:`~coreatlas.errors.CoreAtlasError` classes, with ``field`` as a JSON pointer.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pandas as pd

from coreatlas import services
from coreatlas.errors import ERROR_TABLE, CoreAtlasError, Problem, RequestError, ValidationError
from coreatlas.services import Provenance, Request

__all__ = ["Client", "RemoteResult", "ServerError"]

STATIC = {"exposure": "GET", "chokepoints": "GET", "leverage": "GET", "indicators": "GET", "openran": "GET", "scenario": "POST"}
JOB_KINDS = ("simulate", "montecarlo", "rank", "ttr", "tts", "invest", "mrio-simulate")
TERMINAL = frozenset({"succeeded", "failed", "cancelled"})
_BY_CODE = {code: cls for cls, (code, _, _) in ERROR_TABLE.items()}


class ServerError(CoreAtlasError, code="server_error", http_status=500):
    """The server failed (a 5xx answer) or answered something that is not the API's."""


@dataclass(frozen=True, eq=False)
class RemoteResult:
    """A result computed by the server: ``to_dict()`` is what the route answered (equal to the
    local result's ``to_dict()``), ``provenance`` its :class:`~coreatlas.services.Provenance`,
    ``to_frame()`` its main table."""

    name: str
    data: dict

    def to_dict(self) -> dict:
        return self.data

    @property
    def provenance(self) -> Provenance:
        known = Provenance.__dataclass_fields__
        return Provenance(**{k: v for k, v in self.data.get("provenance", {}).items() if k in known})

    def to_frame(self) -> pd.DataFrame:
        """The result's main table: its largest list of records (``rows``, ``table``, ...)."""
        return pd.DataFrame(_main_table(self.data))


def _main_table(data: dict) -> list:
    best: list = []
    stack = [v for k, v in data.items() if k != "provenance"]
    while stack:
        value = stack.pop()
        if isinstance(value, list) and value and all(isinstance(v, dict) for v in value):
            if len(value) > len(best):
                best = value
        elif isinstance(value, dict):
            stack.extend(value.values())
    return best


def _error_of(response: httpx.Response) -> CoreAtlasError:
    try:
        body = response.json()["error"]
        code, message, field = body["code"], body["message"], body.get("field")
    except (ValueError, KeyError, TypeError):
        return ServerError(f"HTTP {response.status_code} from {response.request.url.path}: {response.text[:200]}")
    cls = _BY_CODE.get(code)
    if cls is None:
        error: CoreAtlasError = ServerError(message, field=field) if response.status_code >= 500 else CoreAtlasError(message, field=field)
        error.http_status = response.status_code
        return error
    if issubclass(cls, ValidationError):
        problems = [Problem(p.get("message", ""), line=p.get("line"), column=p.get("column"), file=p.get("file"), field=p.get("field"))
                    for p in body.get("problems") or []] or [Problem(message, field=field)]  # fmt: skip
        return cls(problems, field=field)
    return cls(message, field=field)


class Client:
    """A client of one server, acting with one API token.

    ``Client(url, token)``; ``workspace`` is the default workspace of every call (``default``,
    the one the server creates with the built-in datasets)."""

    def __init__(self, url: str, token: str | None = None, workspace: str = "default", timeout: float = 60.0,
                 transport: httpx.BaseTransport | None = None):  # fmt: skip
        headers = {"Authorization": f"Bearer {token}"} if token else {}
        self.url = url.rstrip("/")
        self.workspace = workspace
        self.http = httpx.Client(base_url=self.url, headers=headers, timeout=timeout, transport=transport, follow_redirects=False)

    def __enter__(self) -> Client:
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def close(self) -> None:
        self.http.close()

    def __repr__(self) -> str:  # the token never shows
        return f"Client({self.url!r}, workspace={self.workspace!r})"

    # ---- plumbing ----------------------------------------------------------------------------
    def request(self, method: str, path: str, **kwargs) -> Any:
        """One call of the API; the envelope of an error is raised as its error class."""
        response = self.http.request(method, path, **kwargs)
        if response.status_code >= 400:
            raise _error_of(response)
        if response.status_code == 204 or not response.content:
            return None
        return response.json()

    def _ws(self, workspace: str | None) -> str:
        return httpx.URL(f"/{workspace or self.workspace}").path[1:]

    # ---- use cases ---------------------------------------------------------------------------
    def run(self, name: str, request: Request | dict | None = None, *, workspace: str | None = None, dataset: str | None = None,
            progress: Callable[[int, int | None], None] | None = None, timeout: float | None = None) -> RemoteResult:  # fmt: skip
        """Run use case ``name`` on ``request`` (a request object or plain data) on the server.
        ``dataset`` (or else the request's ``data``) names a dataset of the workspace."""
        body, data = _body(name, request)
        dataset = dataset or data
        if name in STATIC:
            ds = dataset or _default_data(name)
            path = f"/api/workspaces/{self._ws(workspace)}/datasets/{httpx.URL('/' + ds).path[1:]}/{name}"
            sent = {"params": _query(body)} if STATIC[name] == "GET" else {"json": body}
            return RemoteResult(name, self.request(STATIC[name], path, **sent))
        if name in JOB_KINDS:
            job = self.submit(name, {**body, **({"data": dataset} if dataset else {})}, workspace=workspace)
            return self.wait(job, progress=progress, timeout=timeout)
        services.use_case_of(name)  # an unknown name is NotFoundError
        raise RequestError(f"kind: '{name}' does not run on the server; it runs {', '.join([*STATIC, *JOB_KINDS])}", field="kind")

    def submit(self, kind: str, request: Request | dict, *, workspace: str | None = None) -> str:
        """Queue a job; its id."""
        body, data = _body(kind, request)
        if data:
            body["data"] = data
        return self.request("POST", f"/api/workspaces/{self._ws(workspace)}/jobs", json={"kind": kind, "request": body})["id"]

    def job(self, job_id: str) -> dict:
        return self.request("GET", f"/api/jobs/{job_id}")

    def events(self, job_id: str) -> Iterator[dict]:
        """The job's server-sent events (``{"event": kind, "data": {...}}``) until it ends."""
        with self.http.stream("GET", f"/api/jobs/{job_id}/events", timeout=None) as response:
            if response.status_code >= 400:
                response.read()
                raise _error_of(response)
            event = "message"
            for line in response.iter_lines():
                if line.startswith("event:"):
                    event = line[6:].strip()
                elif line.startswith("data:"):
                    yield {"event": event, "data": json.loads(line[5:].strip() or "{}")}

    def wait(self, job_id: str, *, progress: Callable[[int, int | None], None] | None = None, timeout: float | None = None,
             poll: float = 0.2) -> RemoteResult:  # fmt: skip
        """Wait for a job and answer its result (its error raised as its error class)."""
        deadline = None if timeout is None else time.monotonic() + timeout
        while True:
            job = self.job(job_id)
            done = (job.get("progress") or {}).get("done")
            if progress is not None and done is not None:
                progress(done, job["progress"].get("total"))
            if job.get("state") in TERMINAL:
                break
            if deadline is not None and time.monotonic() > deadline:
                raise TimeoutError(f"job {job_id} is still {job.get('state')} after {timeout} s")
            time.sleep(poll)
            poll = min(poll * 1.5, 2.0)
        if job["state"] != "succeeded":
            error = job.get("error") or {}
            cls = _BY_CODE.get(error.get("code"), CoreAtlasError)
            message = error.get("message") or f"job {job_id} {job['state']}"
            raise (cls([Problem(message, field=error.get("field"))], field=error.get("field")) if issubclass(cls, ValidationError)
                   else cls(message, field=error.get("field")))  # fmt: skip
        return RemoteResult(job.get("kind", ""), self.result(job_id))

    def result(self, job_id: str) -> dict:
        return self.request("GET", f"/api/jobs/{job_id}/result")

    def cancel(self, job_id: str) -> dict:
        return self.request("DELETE", f"/api/jobs/{job_id}")

    # ---- workspaces and datasets -------------------------------------------------------------
    def health(self) -> dict:
        return self.request("GET", "/api/health")

    def workspaces(self, offset: int = 0, limit: int = 50) -> dict:
        return self.request("GET", "/api/workspaces", params={"offset": offset, "limit": limit})

    def datasets(self, workspace: str | None = None, offset: int = 0, limit: int = 50) -> dict:
        return self.request("GET", f"/api/workspaces/{self._ws(workspace)}/datasets", params={"offset": offset, "limit": limit})

    def dataset(self, dataset: str, workspace: str | None = None) -> dict:
        return self.request("GET", f"/api/workspaces/{self._ws(workspace)}/datasets/{dataset}")

    def upload(self, name: str, zip_file: str | Path | bytes, workspace: str | None = None) -> dict:
        """Upload a zip of native or ETO CSVs as dataset ``name``; problems raise a ValidationError."""
        content = zip_file if isinstance(zip_file, bytes) else Path(zip_file).read_bytes()
        return self.request("POST", f"/api/workspaces/{self._ws(workspace)}/datasets", data={"name": name},
                            files={"file": (f"{name}.zip", content, "application/zip")})  # fmt: skip

    def comment(self, target_kind: str, target_id: str, body: str, workspace: str | None = None, parent_id: str | None = None) -> dict:
        return self.request("POST", f"/api/workspaces/{self._ws(workspace)}/comments",
                            json={"target_kind": target_kind, "target_id": target_id, "body": body, "parent_id": parent_id})  # fmt: skip

    def save_scenario(self, name: str, request: Request | dict, kind: str = "scenario", workspace: str | None = None) -> dict:
        body, data = _body(kind, request)
        if data and kind != "scenario":
            body["data"] = data
        return self.request("POST", f"/api/workspaces/{self._ws(workspace)}/scenarios", json={"name": name, "kind": kind, "request": body})

    def audit(self, workspace: str | None = None, offset: int = 0, limit: int = 50) -> dict:
        return self.request("GET", f"/api/workspaces/{self._ws(workspace)}/audit", params={"offset": offset, "limit": limit})


def _body(name: str, request: Request | dict | None) -> tuple[dict, str | None]:
    """The request as the API's body (set fields only) and its ``data``."""
    if request is None:
        return {}, None
    if isinstance(request, Request):
        body = request.model_dump(mode="json", exclude_unset=True)
        data = getattr(request, "data", None)
    elif isinstance(request, dict):
        body = dict(request)
        data = body.get("data")
    else:
        raise RequestError("request: must be a request object or a dict", field="request")
    body.pop("data", None)
    return body, data


def _default_data(name: str) -> str:
    field = services.use_case_of(name).request.model_fields.get("data")
    return field.default if field is not None and isinstance(field.default, str) else "chips"


def _query(body: dict) -> list[tuple[str, str]]:
    params = []
    for key, value in body.items():
        if value is None:
            continue
        for item in value if isinstance(value, list | tuple) else [value]:
            params.append((key, "true" if item is True else "false" if item is False else str(item)))
    return params
