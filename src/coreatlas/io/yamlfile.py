"""YAML files as node trees, so that every problem can name its line."""

from __future__ import annotations

from pathlib import Path

import yaml

from coreatlas.errors import Problem, ValidationError
from coreatlas.io.csvfile import read_text

__all__ = ["compose_yaml", "plain"]


def compose_yaml(path: Path, expected: str) -> yaml.Node:
    """The root node of a YAML file; invalid or empty files raise with file and line."""
    try:
        root = yaml.compose(read_text(path))
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        raise ValidationError(
            Problem(f"not valid YAML ({getattr(exc, 'problem', exc)})", file=str(path), line=mark.line + 1 if mark else None)
        ) from exc
    if root is None:
        raise ValidationError(Problem(f"the file is empty; expected {expected}", file=str(path), line=1))
    return root


def plain(node: yaml.Node):
    """A node's value as plain Python data."""
    return yaml.safe_load(yaml.serialize(node))
