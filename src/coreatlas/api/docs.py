"""The API's documentation page, ``/api/docs``: every route of the app's OpenAPI document with
its parameters, body, answers and schemas, rendered on the server as plain HTML.

It makes no external request (no CDN, no web font) and runs no script, so it works offline and
under the same Content-Security-Policy as every other page; its stylesheet is
``/api/docs/docs.css``. The machine-readable document stays at ``/openapi.json``.
"""

from __future__ import annotations

import html
import re
from typing import Any

__all__ = ["DOCS_CSS", "docs_page"]

METHODS = ("get", "post", "put", "patch", "delete")
_MAX_DEPTH = 4

DOCS_CSS = """body{font:15px/1.5 system-ui,sans-serif;margin:0 auto;max-width:70rem;padding:1rem 2rem;color:#1b1f24}
h1{margin-bottom:.2rem}h2{border-bottom:1px solid #ccd;margin-top:2.5rem}h3{margin:1.6rem 0 .3rem;font-size:1.05rem}
code,.path{font-family:ui-monospace,monospace}table{border-collapse:collapse;margin:.4rem 0 1rem;width:100%}
th,td{border:1px solid #dde;padding:.25rem .5rem;text-align:left;vertical-align:top}th{background:#f3f4f7}
.method{display:inline-block;min-width:4.2rem;font-weight:700;text-transform:uppercase}.get{color:#0b6e2d}.post{color:#1c4fa1}
.patch{color:#8a5a00}.delete{color:#a4161a}nav ul{columns:2}.muted{color:#5a6270}section.op{border-left:3px solid #dde;padding-left:1rem}
"""


def _e(text: Any) -> str:
    return html.escape(str(text), quote=True)


def _anchor(text: str) -> str:
    return re.sub(r"[^A-Za-z0-9_-]+", "-", text).strip("-")


def type_of(schema: Any, depth: int = 0) -> str:
    """A schema as a short HTML phrase: ``string``, ``array of <a>Scenario</a>``, ``integer (1 to 500)``."""
    if not isinstance(schema, dict) or depth > _MAX_DEPTH:
        return "any"
    if "$ref" in schema:
        name = schema["$ref"].rsplit("/", 1)[-1]
        return f'<a href="#schema-{_anchor(name)}">{_e(name)}</a>'
    for key in ("anyOf", "oneOf", "allOf"):
        if key in schema:
            joiner = " and " if key == "allOf" else " or "
            return joiner.join(type_of(s, depth + 1) for s in schema[key])
    if "const" in schema:
        return f"<code>{_e(repr_json(schema['const']))}</code>"
    if "enum" in schema:
        return "one of " + ", ".join(f"<code>{_e(repr_json(v))}</code>" for v in schema["enum"])
    kind = schema.get("type", "object" if "properties" in schema else "any")
    if isinstance(kind, list):
        return " or ".join(type_of({**schema, "type": k}, depth + 1) for k in kind)
    if kind == "array":
        return "array of " + type_of(schema.get("items"), depth + 1)
    if kind == "object" and isinstance(schema.get("additionalProperties"), dict):
        return "object of " + type_of(schema["additionalProperties"], depth + 1)
    return _e(kind) + _bounds(schema)


def repr_json(value: Any) -> str:
    if isinstance(value, str):
        return f'"{value}"'
    return "null" if value is None else str(value).lower() if isinstance(value, bool) else str(value)


def _bounds(schema: dict) -> str:
    parts = []
    for key, word in (("minimum", "≥"), ("exclusiveMinimum", ">"), ("maximum", "≤"), ("exclusiveMaximum", "<"),
                      ("minLength", "length ≥"), ("maxLength", "length ≤"), ("minItems", "items ≥"), ("maxItems", "items ≤")):  # fmt: skip
        if key in schema and not isinstance(schema[key], bool):
            parts.append(_e(f"{word} {schema[key]}"))
    if "format" in schema:
        parts.append(_e(schema["format"]))
    if "pattern" in schema:
        parts.append(f"pattern <code>{_e(schema['pattern'])}</code>")
    return f' <span class="muted">({", ".join(parts)})</span>' if parts else ""


def _paragraphs(text: str | None) -> str:
    if not text:
        return ""
    blocks = [b.strip() for b in str(text).split("\n\n") if b.strip()]
    return "".join(f"<p>{_e(' '.join(b.split()))}</p>" for b in blocks)


def _parameters(parameters: list[dict]) -> str:
    if not parameters:
        return ""
    rows = "".join(
        f"<tr><td><code>{_e(p.get('name'))}</code></td><td>{_e(p.get('in'))}</td><td>{'yes' if p.get('required') else 'no'}</td>"
        f"<td>{type_of(p.get('schema'))}</td><td>{_e(p.get('description') or p.get('schema', {}).get('description', ''))}</td></tr>"
        for p in parameters
    )
    return f"<h4>Parameters</h4><table><tr><th>name</th><th>in</th><th>required</th><th>type</th><th>description</th></tr>{rows}</table>"


def _content(content: dict | None) -> str:
    if not content:
        return ""
    return "; ".join(f"<code>{_e(media)}</code>: {type_of(body.get('schema'))}" for media, body in content.items())


def _body(body: dict | None) -> str:
    if not body:
        return ""
    required = " (required)" if body.get("required") else ""
    return f"<h4>Body{required}</h4><p>{_content(body.get('content'))}</p>"


def _responses(responses: dict) -> str:
    rows = "".join(f"<tr><td>{_e(status)}</td><td>{_e(answer.get('description', ''))}</td><td>{_content(answer.get('content'))}</td></tr>"
                   for status, answer in sorted(responses.items()))  # fmt: skip
    return f"<h4>Answers</h4><table><tr><th>status</th><th>meaning</th><th>body</th></tr>{rows}</table>"


def _operation(path: str, method: str, op: dict) -> str:
    anchor = _anchor(f"op-{method}-{path}")
    return (f'<section class="op" id="{anchor}"><h3><span class="method {method}">{method}</span> <span class="path">{_e(path)}</span></h3>'
            f"<p><strong>{_e(op.get('summary', ''))}</strong></p>{_paragraphs(op.get('description'))}{_parameters(op.get('parameters', []))}"
            f"{_body(op.get('requestBody'))}{_responses(op.get('responses', {}))}</section>")  # fmt: skip


def _operations(document: dict) -> list[tuple[str, str, str, dict]]:
    """``(tag, path, method, operation)`` in the document's order."""
    found = []
    for path, item in document.get("paths", {}).items():
        for method in METHODS:
            if method in item:
                found.append(((item[method].get("tags") or ["other"])[0], path, method, item[method]))
    return found


def _schema(name: str, schema: dict) -> str:
    required = set(schema.get("required", []))
    rows = "".join(
        f"<tr><td><code>{_e(field)}</code></td><td>{'yes' if field in required else 'no'}</td><td>{type_of(prop)}</td>"
        f"<td>{_e(prop.get('description', '') if isinstance(prop, dict) else '')}</td></tr>"
        for field, prop in schema.get("properties", {}).items()
    )
    table = f"<table><tr><th>field</th><th>required</th><th>type</th><th>description</th></tr>{rows}</table>" if rows else ""
    shape = "" if rows else f"<p>{type_of(schema)}</p>"
    return f'<section id="schema-{_anchor(name)}"><h3>{_e(name)}</h3>{_paragraphs(schema.get("description"))}{shape}{table}</section>'


def docs_page(document: dict) -> str:
    """The whole page for an OpenAPI ``document``."""
    info = document.get("info", {})
    operations = _operations(document)
    tags = list(dict.fromkeys(tag for tag, *_ in operations))
    nav = "".join(
        f'<li><a href="#{_anchor("op-" + m + "-" + p)}">{_e(m.upper())} {_e(p)}</a></li>' for _, p, m, _op in operations
    )
    body = "".join(
        f'<h2 id="tag-{_anchor(tag)}">{_e(tag)}</h2>' + "".join(_operation(p, m, op) for t, p, m, op in operations if t == tag) for tag in tags
    )
    schemas = "".join(_schema(name, s) for name, s in sorted(document.get("components", {}).get("schemas", {}).items()))
    return (f'<!doctype html><html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">'
            f'<title>{_e(info.get("title", "API"))} API</title><link rel="stylesheet" href="/api/docs/docs.css"></head><body>'
            f'<h1>{_e(info.get("title", "API"))} API</h1><p class="muted">version {_e(info.get("version", ""))} · '
            f'OpenAPI {_e(document.get("openapi", ""))} · the machine-readable document: <a href="/openapi.json">/openapi.json</a></p>'
            f"{_paragraphs(info.get('description'))}<nav><h2>Routes</h2><ul>{nav}</ul></nav>{body}<h2 id=\"schemas\">Schemas</h2>{schemas}"
            "</body></html>")  # fmt: skip
