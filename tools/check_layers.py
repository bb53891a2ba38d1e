"""The layer contract of CoRe Atlas, checked by reading every import in ``src/coreatlas``.

    front ends (cli, api, web) -> services -> render -> io, store -> analysis -> model -> errors

A module may import only from layers below its own (and from its own package). Front ends
may not reach past the services into render, io, store or analysis. The packages of one
layer (io, store) may use each other, but not in a circle. Run
``python tools/check_layers.py``: it prints each broken rule and exits 1, or prints ``ok``.
"""

from __future__ import annotations

import ast
import sys
from collections.abc import Iterator
from pathlib import Path

RANK = {"_version": 0, "errors": 0, "model": 1, "analysis": 2, "io": 3, "store": 3, "render": 4, "services": 5, "cli": 6, "api": 6, "web": 6, "client": 6}
FRONT_ENDS = {"cli", "api", "web", "client"}
FRONT_END_MAY_IMPORT = {"services", "model", "errors", "_version"}
#: Front ends that host others: ``coreatlas serve`` starts the API, whose app serves the web page.
HOSTS = {"cli": {"api", "web"}, "api": {"web"}}
EXEMPT = {"coreatlas", "datasets"}  # the package facade (quick start for notebooks) and data


def package_of(module: str) -> str:
    """``coreatlas.io.native`` -> ``io``; ``coreatlas`` -> ``coreatlas``."""
    parts = module.split(".")
    return parts[1] if len(parts) > 1 else parts[0]


def imports_of(source: str, module: str) -> Iterator[tuple[int, str]]:
    """``(line, imported module)`` for every import of a ``coreatlas`` module, at any depth."""
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            yield from ((node.lineno, alias.name) for alias in node.names if alias.name.split(".")[0] == "coreatlas")
        elif isinstance(node, ast.ImportFrom):
            target = _absolute(node, module)
            if target == "coreatlas":  # from coreatlas import services -> coreatlas.services
                yield from ((node.lineno, f"coreatlas.{alias.name}") for alias in node.names)
            elif target.split(".")[0] == "coreatlas":
                yield node.lineno, target


def _absolute(node: ast.ImportFrom, module: str) -> str:
    if not node.level:
        return node.module or ""
    base = module.split(".")[: -node.level]
    return ".".join(base + ([node.module] if node.module else []))


def _allowed(own: str, other: str) -> bool:
    if own in FRONT_ENDS:
        return other in FRONT_END_MAY_IMPORT or other in HOSTS.get(own, set())
    return other in RANK and other not in FRONT_ENDS and RANK[other] <= RANK[own]


def broken_rules(module: str, source: str) -> list[str]:
    """Each import of ``module`` (its ``source``) that breaks the contract."""
    own = package_of(module)
    if own in EXEMPT:
        return []
    problems = []
    for line, target in imports_of(source, module):
        other = package_of(target)
        if other == own:
            continue
        if not _allowed(own, other):
            problems.append(f"{module} (line {line}) imports {target}: {own} may not import {other}")
    return problems


def package_cycles(edges: set[tuple[str, str]]) -> list[str]:
    """Circles among the packages of one layer (e.g. io -> render -> io)."""
    return [f"{a} and {b} import each other" for a, b in sorted(edges) if a < b and (b, a) in edges]


def check(root: Path) -> list[str]:
    problems, edges = [], set()
    for path in sorted(root.rglob("*.py")):
        module = ".".join(path.relative_to(root.parent).with_suffix("").parts).removesuffix(".__init__")
        source = path.read_text(encoding="utf-8")
        problems += broken_rules(module, source)
        own = package_of(module)
        edges |= {(own, package_of(t)) for _, t in imports_of(source, module) if package_of(t) not in (own, "coreatlas")}
    return problems + package_cycles(edges)


def main() -> int:
    root = Path(__file__).resolve().parents[1] / "src" / "coreatlas"
    problems = check(root)
    for problem in problems:
        print(problem)
    print("layers: ok" if not problems else f"layers: {len(problems)} broken rule(s)")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
