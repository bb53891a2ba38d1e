import pathlib
import sys

sys.path.insert(0, str(pathlib.Path(__file__).parent))

import pytest  # noqa: E402

SHARED = pathlib.Path(__file__).resolve().parents[1].parent / "shared"


@pytest.fixture(scope="session")
def eto_dir() -> pathlib.Path:
    """The ETO chip dataset in ../shared (never vendored into the project)."""
    folder = SHARED / "data" / "eto-chip-explorer"
    if not (folder / "provision.csv").is_file():
        pytest.skip(f"ETO data not found at {folder}: the ../shared folder is absent")
    return folder
