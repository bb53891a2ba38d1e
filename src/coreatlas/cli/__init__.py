"""The ``coreatlas`` command line: parse options into a request, call :mod:`coreatlas.services`,
render the result.

One module per command group (``maps``, ``tech``, ``sim``, ``risk``, ``mrio``), each a Typer
app merged into :data:`app`; :mod:`coreatlas.cli._common` holds the shared options, ``emit``,
the table builder and the progress bar. Tables for people (rich), ``--json`` / ``--csv`` for
scripts, ``--out`` to save. Bad input gets one clear message on stderr and exit code 2.
"""

from __future__ import annotations

from typing import Annotated

import typer

from coreatlas._version import __version__
from coreatlas.cli import maps, mrio, risk, sim, tech
from coreatlas.cli._common import CONTEXT, out

__all__ = ["app"]

app = typer.Typer(
    name="coreatlas",
    help="CoRe Atlas: map critical-technology supply chains, find chokepoints, stress-test disruptions.",
    no_args_is_help=True,
    add_completion=False,
    rich_markup_mode="markdown",
    context_settings=CONTEXT,
)


def _version(value: bool) -> None:
    if value:
        out.print(f"coreatlas {__version__}")
        raise typer.Exit()


@app.callback()
def main(version: Annotated[bool, typer.Option("--version", callback=_version, is_eager=True, help="Show the version.")] = False) -> None:
    """CoRe Atlas command line."""


for group in (maps, tech, sim, risk, mrio):
    app.add_typer(group.app)

if __name__ == "__main__":  # pragma: no cover
    app()
