"""The ``coreatlas`` command line: parse options into a request, call :mod:`coreatlas.services`,
render the result.

One module per command group (``maps``, ``tech``, ``sim``, ``risk``, ``mrio``), each a Typer
app merged into :data:`app`; :mod:`coreatlas.cli._common` holds the shared options, ``emit``,
the table builder and the progress bar. Tables for people (rich), ``--json`` / ``--csv`` for
scripts, ``--out`` to save. Bad input gets one clear message on stderr and exit code 2.

SIGTERM ends a command the way Ctrl-C (SIGINT) does: the stack unwinds, so the temporary
files and staging folders of a result being written are removed (exit code 143).
"""

from __future__ import annotations

import signal
import threading
from typing import Annotated

import typer

from coreatlas._version import __version__
from coreatlas.cli import maps, mrio, risk, server, sim, tech
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


TERMINATED = 128 + signal.SIGTERM


def _terminate(signum, frame) -> None:
    raise SystemExit(TERMINATED)  # unwinds like KeyboardInterrupt: every ``finally`` clean-up runs


def _clean_up_on_sigterm() -> None:
    """Install the SIGTERM handler once, in the main thread, unless the host program has its own."""
    if threading.current_thread() is threading.main_thread() and signal.getsignal(signal.SIGTERM) is signal.SIG_DFL:
        signal.signal(signal.SIGTERM, _terminate)


@app.callback()
def main(version: Annotated[bool, typer.Option("--version", callback=_version, is_eager=True, help="Show the version.")] = False) -> None:
    """CoRe Atlas command line."""
    _clean_up_on_sigterm()


for group in (maps, tech, sim, risk, mrio, server):
    app.add_typer(group.app)

if __name__ == "__main__":  # pragma: no cover
    app()
