"""``python -m coreatlas.cli ...`` runs the command line, as the ``coreatlas`` script does."""

from coreatlas.cli import app

app(prog_name="coreatlas")
