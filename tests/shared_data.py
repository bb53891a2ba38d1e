"""Where the shared test data live: ../shared beside the repository (never vendored)."""

import pathlib

SHARED = pathlib.Path(__file__).resolve().parents[1].parent / "shared"
