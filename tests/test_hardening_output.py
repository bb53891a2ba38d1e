"""Whole result folders or none (issue 12, item 2), and the other guarantees of writing output.

The acceptance test kills ``generate`` and ``simulate`` with SIGKILL at several moments while
they overwrite a folder of an earlier run: the folder must then be exactly the old run or
exactly the new one. Kill moments are both "as soon as the new folder is being staged" (plus a
few short delays, which land inside the swap) and random moments over the whole run (seeded).
"""

from __future__ import annotations

import errno
import json
import os
import random
import shutil
import signal
import stat
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import pandas as pd
import pytest
from typer.testing import CliRunner

from coreatlas import services
from coreatlas.cli import app
from coreatlas.errors import DataSourceError
from coreatlas.io import output
from coreatlas.io.output import atomic_write_folder, atomic_write_text, exchange
from coreatlas.services.save import check_out, is_result_folder

runner = CliRunner()
CLI = [sys.executable, "-m", "coreatlas.cli"]
STAGING_DELAYS = (0.0, 0.002, 0.02)  # seconds after the staging folder appears
RANDOM_KILLS = 2


def run_cli(*args, cwd: Path) -> subprocess.CompletedProcess:
    return subprocess.run([*CLI, *map(str, args)], cwd=cwd, capture_output=True, text=True, timeout=300, check=False)


# ---- the folder is one run or the other ----------------------------------------------------
def snapshot(folder: Path) -> dict[str, object]:
    """What identifies a run in ``folder``: every file's content, tables as data, summary.json
    without its creation time."""
    files = {}
    for path in sorted(folder.iterdir()):
        if path.name == "summary.json":
            doc = json.loads(path.read_text())
            doc["provenance"].pop("created_at")
            files[path.name] = doc
        elif path.suffix == ".parquet":
            files[path.name] = pd.read_parquet(path).to_json()
        else:
            files[path.name] = path.read_bytes()
    return files


def staged(parent: Path, name: str) -> bool:
    """A temporary of ``name`` exists beside it or (files written one by one) inside it."""
    inside = parent / name
    return any(p.name.startswith(f".{name}.coreatlas-") for p in parent.iterdir()) or (
        inside.is_dir() and any(p.name.startswith(".") for p in inside.iterdir())
    )


def kill_when(args: list, cwd: Path, target: Path, moment: tuple[str, float]) -> None:
    """Start the command and SIGKILL it at ``moment``: ("staged", delay) or ("at", seconds)."""
    process = subprocess.Popen([*CLI, *map(str, args)], cwd=cwd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    kind, delay = moment
    try:
        if kind == "staged":
            while process.poll() is None and not staged(target.parent, target.name):
                time.sleep(0.0005)
        time.sleep(delay)
    finally:
        process.send_signal(signal.SIGKILL)
        process.wait(timeout=60)


@dataclass
class Case:
    name: str
    old: list  # arguments writing the old run to {out}
    new: list  # arguments writing the new run over it


def network(tmp: Path) -> Path:
    result = run_cli("generate", "--firms", 400, "--links", 1600, "--sectors", 5, "--regions", 3, "--seed", 7, "--out", tmp / "net", cwd=tmp)
    assert result.returncode == 0, result.stderr
    return tmp / "net"


def cases(tmp: Path) -> list[Case]:
    gen = ["generate", "--firms", 3000, "--links", 12000, "--sectors", 8, "--regions", 4]
    sim = ["simulate", "--network", network(tmp)]
    return [
        Case("generate", [*gen, "--seed", 1], [*gen, "--seed", 2]),
        Case("simulate", [*sim, "--days", 12], [*sim, "--days", 25]),
    ]


def reference(tmp: Path, args: list, label: str) -> tuple[dict, float]:
    out = tmp / f"ref-{label}"
    started = time.monotonic()
    result = run_cli(*args, "--out", out, cwd=tmp)
    assert result.returncode == 0, result.stderr
    return snapshot(out), time.monotonic() - started


@pytest.mark.parametrize(
    "which",
    [
        "generate",
        "simulate",
    ],
)
def test_sigkill_while_overwriting_leaves_the_old_run_or_the_new(tmp_path: Path, which: str):
    case = next(c for c in cases(tmp_path) if c.name == which)
    old, _ = reference(tmp_path, case.old, "old")
    new, seconds = reference(tmp_path, case.new, "new")
    assert old != new
    rng = random.Random(12)
    moments = [("staged", d) for d in STAGING_DELAYS] + [("at", rng.uniform(0, seconds)) for _ in range(RANDOM_KILLS)]
    seen = set()
    for moment in moments:
        target = tmp_path / "out"
        shutil.rmtree(target, ignore_errors=True)
        shutil.copytree(tmp_path / "ref-old", target)
        kill_when([*case.new, "--out", target], tmp_path, target, moment)
        got = snapshot(target) if target.is_dir() else None
        assert got in (old, new), f"{which} killed at {moment}: the folder mixes two runs or is incomplete: {sorted(got or {})}"
        seen.add("old" if got == old else "new")
    assert "old" in seen  # at least one kill landed before the swap (the test can tell the two apart)


# ---- the swap itself -----------------------------------------------------------------------
def fill(files: dict[str, str]):
    def write(staging: Path) -> None:
        for name, text in files.items():
            (staging / name).write_text(text)

    return write


@pytest.mark.parametrize("atomic_exchange", [True, False])
def test_a_folder_is_swapped_in_whole_and_nothing_is_left_behind(tmp_path: Path, monkeypatch, atomic_exchange: bool):
    if not atomic_exchange:  # the fallback: rename aside, rename in, remove the old
        monkeypatch.setattr(output, "exchange", lambda a, b: False)
    folder = tmp_path / "run"
    atomic_write_folder(folder, fill({"a.csv": "old", "b.csv": "old"}))
    atomic_write_folder(folder, fill({"a.csv": "new"}), overwrite=True)
    assert sorted(p.name for p in folder.iterdir()) == ["a.csv"] and (folder / "a.csv").read_text() == "new"
    assert [p.name for p in tmp_path.iterdir()] == ["run"]


def test_exchange_swaps_two_folders_in_one_step(tmp_path: Path):
    (tmp_path / "a").mkdir()
    (tmp_path / "b").mkdir()
    (tmp_path / "a" / "x").write_text("a")
    if not exchange(tmp_path / "a", tmp_path / "b"):
        pytest.skip("this system has no renameat2(RENAME_EXCHANGE)")
    assert (tmp_path / "b" / "x").read_text() == "a" and not (tmp_path / "a" / "x").exists()


def test_a_failed_fill_keeps_the_old_folder_and_removes_the_staging(tmp_path: Path):
    folder = tmp_path / "run"
    atomic_write_folder(folder, fill({"a.csv": "old"}))

    def broken(staging: Path) -> None:
        (staging / "a.csv").write_text("half")
        raise KeyboardInterrupt  # as Ctrl-C, or SIGTERM through the CLI's handler

    with pytest.raises(KeyboardInterrupt):
        atomic_write_folder(folder, broken, overwrite=True)
    assert (folder / "a.csv").read_text() == "old" and [p.name for p in tmp_path.iterdir()] == ["run"]


def test_temporaries_of_a_killed_writer_are_removed_by_the_next_write(tmp_path: Path):
    dead = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True, check=True)
    pid = int(dead.stdout)
    stale = tmp_path / f".run.coreatlas-{pid}-abc"
    live = tmp_path / f".run.coreatlas-{os.getpid()}-abc"
    for path in (stale, live):
        path.mkdir()
        os.utime(path, (time.time() - 2 * output.STALE_SECONDS,) * 2)
    atomic_write_folder(tmp_path / "run", fill({"a.csv": "x"}))
    assert not stale.exists() and live.exists()  # a running writer's staging is left alone


def test_sigterm_removes_the_staging_folder(tmp_path: Path):
    net = network(tmp_path)
    process = subprocess.Popen([*CLI, *map(str, ["simulate", "--network", net, "--days", 60, "--out", tmp_path / "run"])], cwd=tmp_path,
                               stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)  # fmt: skip
    while process.poll() is None and not staged(tmp_path, "run"):
        time.sleep(0.0005)
    process.send_signal(signal.SIGTERM)
    _, stderr = process.communicate(timeout=60)
    assert process.returncode in (0, 143), stderr  # 0 if the run had just finished
    assert not [p.name for p in tmp_path.iterdir() if p.name.startswith(".")], "temporaries left after SIGTERM"


# ---- modes, foreign folders, inputs, unwritable places ---------------------------------------
def test_output_files_and_folders_get_the_umask(tmp_path: Path):
    previous = os.umask(0o027)
    try:
        atomic_write_text(tmp_path / "r.json", "{}")
        atomic_write_folder(tmp_path / "run", fill({"a.csv": "x"}))
    finally:
        os.umask(previous)
    assert stat.S_IMODE((tmp_path / "r.json").stat().st_mode) == 0o640
    assert stat.S_IMODE((tmp_path / "run").stat().st_mode) == 0o750
    assert stat.S_IMODE((tmp_path / "run" / "a.csv").stat().st_mode) == 0o640


def cli(*args):
    return runner.invoke(app, [str(a) for a in args], catch_exceptions=False)


def test_a_foreign_folder_is_refused_before_the_run_unless_forced(tmp_path: Path):
    mine = tmp_path / "mine"
    mine.mkdir()
    (mine / "summary.json").write_text('{"rows": []}')  # a summary.json, but not of CoRe Atlas
    result = cli("mrio", "simulate", "--shock", "reg1:food=0.1", "--days", 5, "--out", mine)
    assert result.exit_code == 2 and "--out: " in result.output and "holds no earlier CoRe Atlas result" in result.output
    assert sorted(p.name for p in mine.iterdir()) == ["summary.json"]
    result = cli("mrio", "simulate", "--shock", "reg1:food=0.1", "--days", 5, "--out", mine, "--force")
    assert result.exit_code == 0, result.output
    assert is_result_folder(mine) and (mine / "production.csv").is_file()
    again = cli("mrio", "simulate", "--shock", "reg1:food=0.2", "--days", 5, "--out", mine)  # an earlier result: replaced
    assert again.exit_code == 0, again.output


def test_out_that_is_an_input_is_refused_before_any_work(tmp_path: Path):
    from coreatlas.io.mrio import load_test_table, write_table_folder

    table = write_table_folder(load_test_table(), tmp_path / "table", fmt="csv")
    before = sorted(p.name for p in table.iterdir())
    for out in (table, tmp_path):  # the table itself, and a folder holding it
        result = cli("mrio", "leontief", "--table", table, "--out", out, "--force")
        assert result.exit_code == 2 and "--out: " in result.output, result.output
        assert "is also an input" in result.output or "holds the input" in result.output
    assert sorted(p.name for p in table.iterdir()) == before
    with pytest.raises(DataSourceError, match="is also an input") as info:
        check_out(tmp_path / "links.csv", [None, str(tmp_path / "links.csv")])
    assert info.value.field == "out"


def test_an_unwritable_out_is_found_before_the_run(tmp_path: Path):
    (tmp_path / "afile").write_text("x")
    result = cli("mrio", "simulate", "--shock", "reg1:food=0.1", "--days", 5, "--out", tmp_path / "afile" / "run")
    assert result.exit_code == 2 and "--out: " in result.output and "is not a folder" in result.output
    with pytest.raises(DataSourceError, match="cannot be written") as info:
        check_out(tmp_path / "afile" / "deeper" / "r.json")
    assert info.value.field == "out"
    with pytest.raises(DataSourceError, match="unknown output format '.xlsx'"):
        check_out(tmp_path / "r.xlsx")


@pytest.mark.skipif(os.geteuid() == 0, reason="root writes through permissions")
def test_a_read_only_folder_is_found_before_the_run(tmp_path: Path):
    locked = tmp_path / "locked"
    locked.mkdir(mode=0o500)
    with pytest.raises(DataSourceError, match="cannot create a file in"):
        check_out(locked / "run")


# ---- standard output closed or full ------------------------------------------------------------
@pytest.mark.skipif(not Path("/dev/full").exists(), reason="needs /dev/full")
def test_a_full_stdout_is_a_clear_error(tmp_path: Path):
    with open("/dev/full", "w") as full:
        result = subprocess.run([*CLI, "mrio", "leontief", "--json"], stdout=full, stderr=subprocess.PIPE, text=True, timeout=300, check=False)
    assert result.returncode == 2, result.stderr
    assert "cannot write to standard output" in result.stderr and os.strerror(errno.ENOSPC) in result.stderr
    assert "Traceback" not in result.stderr


def test_a_closed_pipe_is_a_clear_error(tmp_path: Path):
    process = subprocess.Popen([*CLI, "mrio", "leontief", "--csv"], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    process.stdout.close()  # the reader went away (as `| head -0`)
    stderr = process.stderr.read()
    process.wait(timeout=300)
    assert process.returncode == 2 and "cannot write to standard output" in stderr, stderr
    assert "Traceback" not in stderr and "Exception ignored" not in stderr


def test_save_result_keeps_an_earlier_result_folder_replaceable(tmp_path: Path):
    folder = tmp_path / "run"
    first = services.run("mrio-leontief", {})
    services.save_result(first, folder)
    assert is_result_folder(folder)
    services.save_result(first, folder)  # replaced without force
    assert [p.name for p in tmp_path.iterdir()] == ["run"]
