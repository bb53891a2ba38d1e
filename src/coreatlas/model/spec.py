"""The base of every data type that a user writes (scenarios, hazards, measures, requests).

A :class:`Spec` is a frozen pydantic model that refuses unknown fields. :func:`parse_model`
validates plain data (a JSON body, a dict from a YAML file) into one and turns pydantic's
errors into the project's :class:`~coreatlas.errors.RequestError`, each problem with the
dotted path of its field (``cuts.TWN``, ``hazards[2].depth``).
"""

from __future__ import annotations

from typing import Annotated, Any

import pydantic

from coreatlas.errors import Problem, RequestError

__all__ = ["CodeList", "Spec", "dotted", "field_problems", "parse_model", "split_list"]


class Spec(pydantic.BaseModel):
    """Immutable, unknown fields refused, JSON-ready with :meth:`to_dict`."""

    model_config = pydantic.ConfigDict(extra="forbid", frozen=True)

    def to_dict(self) -> dict:
        return self.model_dump(mode="json")


def split_list(value: Any) -> Any:
    """``"TWN, KOR"`` -> ``("TWN", "KOR")``; lists and tuples have their items stripped."""
    if isinstance(value, str):
        return tuple(v.strip() for v in value.split(",") if v.strip())
    if isinstance(value, list | tuple):
        return tuple(v.strip() if isinstance(v, str) else v for v in value)
    return value


#: A list of names or codes; a comma-separated string is accepted too.
CodeList = Annotated[tuple[str, ...], pydantic.BeforeValidator(split_list)]


def dotted(loc: tuple) -> str:
    """``("cuts", "TWN")`` -> ``cuts.TWN``; ``("hazards", 2, "depth")`` -> ``hazards[2].depth``."""
    text = ""
    for part in loc:
        text += f"[{part}]" if isinstance(part, int) else (f".{part}" if text else str(part))
    return text


def _message(error: dict) -> str:
    if error["type"] == "extra_forbidden":
        return f"unknown key '{error['loc'][-1]}'"
    if error["type"] == "missing":
        return "required field is missing"
    if error["type"] == "literal_error":
        return f"must be {error['ctx']['expected']}, not {error['input']!r}"
    return error["msg"].removeprefix("Value error, ").removeprefix("Assertion failed, ")


def _path(loc: tuple) -> tuple:
    """pydantic's location without the names of union members and validators."""
    return tuple(p for p in loc if isinstance(p, int) or not (str(p).startswith("function-") or "[" in str(p) or str(p) in _UNION_TAGS))


_UNION_TAGS = {"str", "int", "float", "tuple", "list", "dict", "none", "bool"}


def field_problems(exc: pydantic.ValidationError, prefix: str = "") -> list[Problem]:
    """One :class:`Problem` per pydantic error, each with its dotted field path."""
    problems, seen = [], set()
    for error in exc.errors():
        path = dotted(_path(tuple(error["loc"])))
        field = ".".join(p for p in (prefix, path) if p) if not path.startswith("[") else prefix + path
        message = _message(error)
        if (field, message) in seen:
            continue
        seen.add((field, message))
        text = (f"{field} {message}" if message.startswith("must ") else f"{field}: {message}") if field else message
        problems.append(Problem(text, field=field or None))
    return problems


def parse_model(model: type[pydantic.BaseModel], data: Any, prefix: str = "") -> Any:
    """``model.model_validate(data)``, pydantic's errors turned into a :class:`RequestError`."""
    try:
        return model.model_validate(data)
    except pydantic.ValidationError as exc:
        raise RequestError(field_problems(exc, prefix)) from None
