import pathlib
import sys

sys.path.insert(0, str(pathlib.Path(__file__).parent))

import pytest  # noqa: E402

SHARED = pathlib.Path(__file__).resolve().parents[1].parent / "shared"


def shared_folder(name: str, marker: str, what: str) -> pathlib.Path:
    """A folder of ../shared/data (never vendored); skip with the reason if it is absent."""
    folder = SHARED / "data" / name
    if not (folder / marker).is_file():
        pytest.skip(f"{what} not found at {folder}: the ../shared folder is absent")
    return folder


@pytest.fixture(scope="session")
def eto_dir() -> pathlib.Path:
    """The ETO chip dataset in ../shared."""
    return shared_folder("eto-chip-explorer", "provision.csv", "ETO data")


@pytest.fixture(scope="session")
def refsim_dir() -> pathlib.Path:
    """Golden cases of the reference firm-level simulator in ../shared."""
    return shared_folder("reference-sim", "cases.txt", "reference-simulator cases")
