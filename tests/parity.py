"""Parity of front ends: a command's ``--json`` equals the service's result for the same request.

``assert_parity(args, name, request)`` runs ``coreatlas ARGS --json`` and
``services.run(name, request)`` and compares the two JSON documents key by key. Only the
creation time in the provenance may differ (the two ran at different moments).
"""

from __future__ import annotations

import json

from typer.testing import CliRunner

from coreatlas import services
from coreatlas.cli import app

runner = CliRunner()


def cli_json(*args: str) -> dict:
    result = runner.invoke(app, [*args, "--json"], catch_exceptions=False)
    assert result.exit_code == 0, result.output + result.stderr
    return json.loads(result.stdout)


def service_json(name: str, request) -> dict:
    return json.loads(services.to_json(services.run(name, request).to_dict()))


def _without_time(doc: dict) -> dict:
    """The document without ``provenance.created_at`` (the two sides ran at different moments)."""
    provenance = {k: v for k, v in doc.get("provenance", {}).items() if k != "created_at"}
    return {**doc, "provenance": provenance}


def differences(a, b, path: str = "") -> list[str]:
    """Every key path at which ``a`` and ``b`` differ."""
    if isinstance(a, dict) and isinstance(b, dict):
        keys = sorted(set(a) | set(b))
        return [d for k in keys for d in (differences(a.get(k), b.get(k), f"{path}.{k}") if k in a and k in b else [f"{path}.{k}: only one side"])]
    if isinstance(a, list) and isinstance(b, list):
        if len(a) != len(b):
            return [f"{path}: {len(a)} items vs {len(b)}"]
        return [d for i, (x, y) in enumerate(zip(a, b, strict=True)) for d in differences(x, y, f"{path}[{i}]")]
    return [] if a == b else [f"{path}: {a!r} != {b!r}"]


def assert_parity(args: tuple[str, ...], name: str, request) -> dict:
    """The CLI's ``--json`` for ``args`` equals ``services.run(name, request)``; returns it."""
    cli, service = _without_time(cli_json(*args)), _without_time(service_json(name, request))
    diff = differences(cli, service)
    assert not diff, "CLI and service differ at " + "; ".join(diff[:10])
    assert "provenance" in cli
    return cli
