"""The request types every use case takes, in one place (the REST API builds its schema here).

The common parts are defined here; each service module defines its own requests beside its
functions, and they are gathered below, so ``from coreatlas.services.requests import X`` works
for every request type. They load on first use, as their modules do (the dynamic engine's
module compiles kernels), and ``REQUEST_TYPES`` lists every name.
"""

from __future__ import annotations

from typing import Literal

import pydantic

from coreatlas.services.protocol import Request

#: Each request type and the service module that defines it.
REQUEST_TYPES = {
    **dict.fromkeys(("ChokepointsRequest", "ExposureRequest", "LeverageRequest", "ScenarioRequest", "ValidateRequest", "DatasetsRequest"), "maps"),
    "ScenarioSource": "inputs",
    "DemoRequest": "demo",
    "IndicatorsRequest": "indicators",
    **dict.fromkeys(("PoliciesRequest", "PolicyRequest", "OpenRanRequest"), "policy"),
    **dict.fromkeys(("NetworkSpec", "GenerateRequest", "SimulationRequest"), "simulate"),
    **dict.fromkeys(("Assumptions", "NetworkRequest", "RiskRequest", "RankRequest", "HazardSource", "MonteCarloRequest"), "risk"),
    "InvestRequest": "invest",
    **dict.fromkeys(("MrioRequest", "LeontiefRequest", "ExtractionRequest", "DependenceRequest", "MrioSimulateRequest"), "mrio"),
}

__all__ = ["REQUEST_TYPES", "Attribution", "MapRequest", *REQUEST_TYPES]  # noqa: PLE0604

Attribution = Literal["hq", "site"]


class MapRequest(Request):
    """A technology map: a built-in name (``chips``), a folder in the native or ETO format, or
    several joined by ``+`` (``materials+chips``); on the server, an uploaded dataset's id."""

    data: str = pydantic.Field("chips", min_length=1, description="Built-in dataset, folder, or a+b combination.")
    attribution: Attribution = pydantic.Field("hq", description="Firms count for their headquarters (hq) or production site (site).")


def __getattr__(name: str):
    """``from coreatlas.services.requests import SimulationRequest`` imports its module then."""
    if name not in REQUEST_TYPES:
        raise AttributeError(f"module {__name__} has no attribute {name}")
    import importlib

    return getattr(importlib.import_module(f"coreatlas.services.{REQUEST_TYPES[name]}"), name)
