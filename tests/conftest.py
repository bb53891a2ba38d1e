import pathlib
import sys

sys.path.insert(0, str(pathlib.Path(__file__).parent))

import pytest  # noqa: E402

from shared_data import SHARED  # noqa: E402, F401  (tests import it from shared_data: two conftest modules exist)


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
