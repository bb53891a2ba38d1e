"""The native format: round trip, atomic writes."""

from __future__ import annotations

from pathlib import Path

import pytest

from coreatlas.errors import DataSourceError
from coreatlas.io.datasets import builtin_path, detect_format, load
from coreatlas.io.eto import read_eto
from coreatlas.io.native import read_native, write_native


def test_builtin_round_trip(tmp_path: Path):
    original = load("chips")
    written = write_native(original, tmp_path / "copy")
    again = read_native(written)
    assert again.equals(original)
    assert read_native(write_native(again, tmp_path / "copy2")).equals(original)


def test_eto_converts_to_native_and_back(eto_dir: Path, tmp_path: Path):
    original = read_eto(eto_dir)
    again = read_native(write_native(original, tmp_path / "eto-native"))
    assert again.equals(original)
    assert detect_format(tmp_path / "eto-native") == "native" and detect_format(eto_dir) == "eto"


def test_round_trip_detects_a_change(tmp_path: Path):
    folder = write_native(load("chips"), tmp_path / "copy")
    text = (folder / "provision.csv").read_text(encoding="utf-8").replace("1.0,", "0.99,", 1)
    (folder / "provision.csv").write_text(text, encoding="utf-8")
    assert not read_native(folder).equals(load("chips"))


def test_write_refuses_non_empty_folder_and_leaves_it_alone(tmp_path: Path):
    target = tmp_path / "busy"
    target.mkdir()
    (target / "keep.txt").write_text("mine", encoding="utf-8")
    with pytest.raises(DataSourceError, match="not empty"):
        write_native(load("chips"), target)
    assert [p.name for p in target.iterdir()] == ["keep.txt"]


def test_failed_write_leaves_no_partial_folder(tmp_path: Path, monkeypatch):
    import coreatlas.io.native as native

    def broken(tm, target):
        (target / "nodes.csv").write_text("half", encoding="utf-8")
        raise OSError("disk full")

    monkeypatch.setattr(native, "_write_files", broken)
    with pytest.raises(OSError):
        write_native(load("chips"), tmp_path / "new")
    assert list(tmp_path.iterdir()) == []


def test_builtin_folder_is_native():
    assert detect_format(builtin_path("chips")) == "native"
