"""The one API of CoRe Atlas: every front end (CLI, REST API, web page, notebook) calls this.

Each use case takes one typed request (:mod:`coreatlas.services.requests`) and returns one
result with ``to_dict()``, ``to_frame()`` and ``provenance`` (:mod:`coreatlas.services.protocol`).
Nothing here prints or knows about the command line or HTTP. ``run(name, request)`` runs
any registered use case. The use-case modules (``maps``, ``simulate``, ``risk``, ...) load on
first use, so that a command that does not need the compiled engines starts fast.
"""

from __future__ import annotations

import importlib

from coreatlas.services.protocol import USE_CASES, Progress, Provenance, Request, Result, UseCase, parse_request
from coreatlas.services.save import check_out, save_result, to_json

#: The module of each use case, imported when one of its use cases is first asked for
#: (``from coreatlas.services import maps`` imports one directly).
MODULE_OF = {
    **dict.fromkeys(("chokepoints", "exposure", "leverage", "scenario", "validate", "datasets"), "maps"),
    "demo": "demo",
    "indicators": "indicators",
    **dict.fromkeys(("policies", "policy", "openran"), "policy"),
    **dict.fromkeys(("simulate", "generate"), "simulate"),
    **dict.fromkeys(("ttr", "tts", "rank", "montecarlo"), "risk"),
    "invest": "invest",
    **dict.fromkeys(("mrio-leontief", "mrio-extraction", "mrio-dependence", "mrio-simulate"), "mrio"),
}

__all__ = ["MODULE_OF", "USE_CASES", "Progress", "Provenance", "Request", "Result", "UseCase", "all_use_cases", "parse_request", "run",
           "check_out", "save_result", "to_json", "use_case_of"]  # fmt: skip


def all_use_cases() -> dict[str, UseCase]:
    """Every use case, by name (imports the modules of long work)."""
    for module in sorted(set(MODULE_OF.values())):
        importlib.import_module(f"coreatlas.services.{module}")
    return dict(USE_CASES)


def use_case_of(name: str) -> UseCase:
    """The use case registered as ``name``."""
    if name not in USE_CASES and name in MODULE_OF:
        importlib.import_module(f"coreatlas.services.{MODULE_OF[name]}")
    if name not in USE_CASES:
        from coreatlas.errors import NotFoundError

        raise NotFoundError(f"unknown use case '{name}'; known: {', '.join(sorted(USE_CASES))}", field="kind")
    return USE_CASES[name]


def run(name: str, request: Request | dict, progress: Progress = None) -> Result:
    """Run use case ``name`` on ``request`` (a request object, or plain data validated into one)."""
    case = use_case_of(name)
    if not isinstance(request, case.request):
        request = parse_request(case.request, request.to_dict() if isinstance(request, Request) else request)
    return case.run(request, progress=progress)
