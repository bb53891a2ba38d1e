"""The one YAML loader: safe, bounded, and able to say on which line each field stands.

Every YAML file of CoRe Atlas (metadata, scenarios, hazards, measures) is read here as
``load YAML -> plain dict -> model``, so a file and a JSON body give the same object.

- Aliases and anchors are refused (a "billion laughs" file of under 1 KB would otherwise
  expand without bound), as are nesting deeper than :data:`MAX_DEPTH`, duplicate keys,
  non-string keys and tags other than YAML's standard ones.
- :class:`YamlDocument` keeps the line of every dotted field path (``scenarios[1].capacity``),
  so an error raised for a field, here or later against a map, can name the file and line.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import yaml

from coreatlas.errors import CoreAtlasError, Problem, ValidationError
from coreatlas.io.csvfile import read_text
from coreatlas.model.spec import parse_model

__all__ = ["MAX_DEPTH", "YamlDocument", "compose_yaml", "load_yaml", "locate_error", "plain", "validate_yaml"]

MAX_DEPTH = 32
_STANDARD_TAGS = {f"tag:yaml.org,2002:{t}" for t in ("str", "int", "float", "bool", "null", "map", "seq", "timestamp")}
_SAFE = yaml.SafeLoader("")  # used only for its constructors of standard scalar tags


def _fail(path: Path, node: yaml.Node | None, message: str, key: str | None = None) -> ValidationError:
    line = node.start_mark.line + 1 if node is not None else None
    return ValidationError(Problem(message, file=str(path), line=line, column=key))


class _Composer(yaml.SafeLoader):
    """SafeLoader that refuses aliases while composing (before anything is expanded)."""

    def compose_node(self, parent, index):  # noqa: D102 - PyYAML hook
        if self.check_event(yaml.AliasEvent):
            event = self.peek_event()
            raise yaml.composer.ComposerError(None, None, "aliases (*name) are not allowed in CoRe Atlas files", event.start_mark)
        return super().compose_node(parent, index)


def compose_yaml(path: Path, expected: str) -> yaml.Node:
    """The root node of a YAML file; invalid or empty files raise with file and line."""
    try:
        root = yaml.compose(read_text(path), Loader=_Composer)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        raise ValidationError(
            Problem(f"not valid YAML ({getattr(exc, 'problem', exc)})", file=str(path), line=mark.line + 1 if mark else None)
        ) from None
    if root is None:
        raise ValidationError(Problem(f"the file is empty; expected {expected}", file=str(path), line=1))
    return root


@dataclass
class YamlDocument:
    """Plain data of a YAML file and the line of every field path in it."""

    path: Path
    data: object
    lines: dict[str, int] = field(default_factory=dict)

    def line_of(self, dotted: str | None) -> int | None:
        """The line of ``dotted`` or of its nearest enclosing field that has one."""
        while dotted:
            if dotted in self.lines:
                return self.lines[dotted]
            cut = max(dotted.rfind("."), dotted.rfind("["))
            dotted = dotted[:cut] if cut > 0 else ""
        return self.lines.get("")


def _child(prefix: str, key: str | int) -> str:
    if isinstance(key, int):
        return f"{prefix}[{key}]"
    return f"{prefix}.{key}" if prefix else key


def _scalar(doc: YamlDocument, node: yaml.ScalarNode):
    try:
        return _SAFE.construct_object(node, deep=True)
    except yaml.YAMLError as exc:
        raise _fail(doc.path, node, f"cannot read this value ({getattr(exc, 'problem', exc)})") from None


def _mapping(doc: YamlDocument, node: yaml.MappingNode, prefix: str, depth: int) -> dict:
    out: dict = {}
    for key_node, value_node in node.value:
        key = _scalar(doc, key_node) if isinstance(key_node, yaml.ScalarNode) else None
        if not isinstance(key, str):
            raise _fail(doc.path, key_node, f"keys must be text, not {key!r}")
        if key in out:
            raise _fail(doc.path, key_node, f"the key '{key}' appears twice", key)
        path = _child(prefix, key)
        doc.lines[path] = key_node.start_mark.line + 1
        out[key] = _convert(doc, value_node, path, depth + 1)
    return out


def _convert(doc: YamlDocument, node: yaml.Node, prefix: str, depth: int):
    if depth > MAX_DEPTH:
        raise _fail(doc.path, node, f"nested deeper than {MAX_DEPTH} levels")
    doc.lines.setdefault(prefix, node.start_mark.line + 1)
    if node.tag not in _STANDARD_TAGS:
        raise _fail(doc.path, node, f"the tag {node.tag.replace('tag:yaml.org,2002:', '!!')} is not allowed; write a plain value")
    if isinstance(node, yaml.MappingNode):
        return _mapping(doc, node, prefix, depth)
    if isinstance(node, yaml.SequenceNode):
        return [_convert(doc, item, _child(prefix, i), depth + 1) for i, item in enumerate(node.value)]
    return _scalar(doc, node)


def load_yaml(path: Path | str, expected: str) -> YamlDocument:
    """Read ``path`` into plain data with the line of every field (see the module doc)."""
    path = Path(path)
    doc = YamlDocument(path, None)
    doc.data = _convert(doc, compose_yaml(path, expected), "", 0)
    return doc


def plain(node: yaml.Node):
    """A node's value as plain Python data (aliases were refused when it was composed)."""
    return yaml.safe_load(yaml.serialize(node))


def locate_error(doc: YamlDocument, exc: CoreAtlasError, prefix: str = "") -> ValidationError:
    """``exc`` (raised for a field of the document's model) as problems naming file and line.

    ``prefix`` is the part of the field path that is not in the file (``scenarios`` when the
    file's list became a request's ``scenarios``)."""
    problems = exc.problems or [Problem(str(exc), field=exc.field)]
    located = []
    for p in problems:
        inner = (p.field or exc.field or "").removeprefix(prefix).lstrip(".")
        column = inner.rsplit(".", 1)[-1].split("[")[0] if inner else None
        message = p.message.removeprefix(f"{p.field}: ") if p.field else p.message
        located.append(Problem(message, file=str(doc.path), line=doc.line_of(inner), column=column or None, field=p.field or exc.field))
    return ValidationError(located, field=exc.field)


def validate_yaml(doc: YamlDocument, model, data=None, prefix: str = ""):
    """``model`` validated from ``data`` (default: the document's), errors located in the file.

    ``prefix`` is the field path of ``data`` within the model's request (see :func:`locate_error`)."""
    try:
        return parse_model(model, doc.data if data is None else data, prefix)
    except CoreAtlasError as exc:
        raise locate_error(doc, exc, prefix) from None
