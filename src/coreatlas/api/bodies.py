"""The bodies of the API: the request models of :mod:`coreatlas.services.requests`, less
what a client may not say over HTTP.

A request on the server never names a server path: ``data`` is the dataset of the URL (or,
in a job, a dataset of the workspace by id), and the fields that name files or folders
(``scenario_file``, ``hazards_file``, ``network_dir``, ``table``, ``out``, ...) or pick the
server's resources (``scheduler``, ``workers``) are not part of the body: a body that names
one is refused as an unknown key (422). Everything else is the request model's own field,
with its type, default, description and bounds, so the OpenAPI schema is the models' schema.
After the API puts the dataset back, the full request is validated again by the service's
own model (its cross-field rules included).
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

import pydantic

from coreatlas import services
from coreatlas.services import Request

__all__ = ["JOB_KINDS", "Body", "SERVER_ONLY", "STATIC_ROUTES", "JobSubmission", "body_model", "job_body", "static_body"]

#: Fields that name a path on the server or choose its resources: never in an HTTP body.
SERVER_ONLY = frozenset({
    "scenario_file", "hazards_file", "measures_file", "network_dir", "links", "final_demand", "sectors", "table", "out", "out_dir",
    "scheduler", "workers",
})  # fmt: skip
#: ``shocks`` of ``simulate`` is a file of shocks (``mrio-simulate``'s shocks are inline data).
SERVER_ONLY_OF = {"simulate": frozenset({"shocks"})}

#: The static use cases with a route under a dataset: route name -> use case name.
STATIC_ROUTES = {"exposure": "exposure", "chokepoints": "chokepoints", "leverage": "leverage", "indicators": "indicators",
                 "openran": "openran", "scenario": "scenario"}  # fmt: skip
#: The kinds of job ``POST /api/workspaces/{ws}/jobs`` accepts (each a long use case).
JOB_KINDS = ("simulate", "montecarlo", "rank", "ttr", "tts", "invest", "mrio-simulate")

_MODELS: dict[tuple[str, bool], type[Request]] = {}


class Body(Request):
    """Base of the bodies: a value of the wrong type deep in a body is a 422, never a 500 (a
    validator of the models that fails on it with a TypeError is reported as a bad value)."""

    @pydantic.model_validator(mode="wrap")
    @classmethod
    def _wrong_types_are_bad_values(cls, data: Any, handler: Any) -> Any:
        try:
            return handler(data)
        except (TypeError, AttributeError) as exc:
            raise ValueError(f"a value has the wrong type ({exc})") from None


def _class_name(name: str) -> str:
    return "".join(part.capitalize() for part in name.replace("-", "_").split("_"))


def body_model(name: str, *, keep_data: bool) -> type[Request]:
    """The body of use case ``name``: its request model without the server-only fields (and
    without ``data`` unless ``keep_data``, where ``data`` is a dataset id of the workspace)."""
    key = (name, keep_data)
    if key not in _MODELS:
        request = services.use_case_of(name).request
        drop = SERVER_ONLY | SERVER_ONLY_OF.get(name, frozenset()) | (frozenset() if keep_data else {"data"})
        fields: dict[str, Any] = {f: (info.annotation, info) for f, info in request.model_fields.items() if f not in drop}
        if keep_data and "data" in fields:
            fields["data"] = (str | None, pydantic.Field(None, min_length=1, max_length=200,
                                                         description="A dataset of the workspace, by id or name (see its datasets)."))  # fmt: skip
        model = pydantic.create_model(f"{_class_name(name)}{'Job' if keep_data else ''}Body", __base__=Body, __doc__=request.__doc__,
                                      **fields)  # fmt: skip
        _MODELS[key] = model
    return _MODELS[key]


def static_body(route: str) -> type[Request]:
    return body_model(STATIC_ROUTES[route], keep_data=False)


def job_body(kind: str) -> type[Request]:
    return body_model(kind, keep_data=True)


def _submission(kind: str) -> type[pydantic.BaseModel]:
    return pydantic.create_model(
        f"{_class_name(kind)}Job",
        __config__=pydantic.ConfigDict(extra="forbid", frozen=True),
        kind=(Literal[kind], pydantic.Field(description="The use case to run as a job.")),  # type: ignore[valid-type]
        request=(job_body(kind), pydantic.Field(description="The use case's request; `data` names a dataset of the workspace.")),
    )


def _job_submission() -> Any:
    members = tuple(_submission(kind) for kind in JOB_KINDS)
    return Annotated[members[0] if len(members) == 1 else __import__("typing").Union[members], pydantic.Field(discriminator="kind")]


#: ``{"kind": ..., "request": {...}}``: one member per job kind, told apart by ``kind``.
JobSubmission = _job_submission()
