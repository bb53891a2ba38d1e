"""Scale: the synthetic map generator, and memory of the extraction sweep and the ranking's
static losses growing linearly in the map (docs/risk.md states ``O(outputs x entities)`` beyond
a fixed batch), not as ``atoms x entities`` as before. No wall-clock assertion."""

from __future__ import annotations

import json
import tracemalloc

import numpy as np
import pytest
from typer.testing import CliRunner

from coreatlas.analysis import ranking
from coreatlas.analysis.firm_compile import firms_from_map
from coreatlas.analysis.propagate import build_propagator
from coreatlas.analysis.synthetic_map import synthetic_map
from coreatlas.cli import app
from coreatlas.io.native import read_native, write_native
from coreatlas.model.validate import validate


def test_generator_is_seeded_valid_and_sized():
    tm = synthetic_map(600, seed=4)
    assert len(tm.nodes) == 600 and len(tm.outputs) == 10
    assert not [p for p in validate(tm) if p.severity == "error"]
    assert {"country", "firm"} <= set(tm.providers["type"]) and set(tm.relations["relation"]) == {"uses", "variant_of"}
    assert tm.equals(synthetic_map(600, seed=4)) and not tm.equals(synthetic_map(600, seed=5))
    with pytest.raises(ValueError, match="at least stages"):
        synthetic_map(5)


def test_generated_map_round_trips_as_a_native_folder(tmp_path):
    tm = synthetic_map(300, seed=2)
    write_native(tm, tmp_path / "map")
    assert read_native(tmp_path / "map").equals(tm)
    result = CliRunner().invoke(app, ["risk", "rank", "--data", str(tmp_path / "map"), "--compare", "3", "--json"], catch_exceptions=False)
    assert result.exit_code == 0, result.output
    ranked = json.loads(result.stdout)
    assert ranked["compared_firms"] == 3 and ranked["firms"] > 300 and len(ranked["sweep"]) > 300


def _peak(function) -> int:
    tracemalloc.start()
    try:
        function()
        return tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()


def _sweep_peak(n: int) -> int:
    prop = build_propagator(synthetic_map(n, seed=1))
    compiled = firms_from_map(prop.tm, prop.supply)
    return _peak(lambda: (ranking.extraction_sweep(prop), ranking._static_losses(prop, compiled.firm_atom)))


def test_sweep_memory_grows_linearly(monkeypatch):
    monkeypatch.setattr(ranking, "BATCH_BYTES", 2**20)  # a small batch, so the batch does not hide the growth
    small, large = _sweep_peak(400), _sweep_peak(1600)
    # 4x the nodes: linear growth gives about 4x; atoms x entities (the dense matrices of before) gave about 16x
    assert large / small < 7, (small, large)


def test_batched_sweep_equals_one_batch(monkeypatch):
    prop = build_propagator(synthetic_map(200, seed=3))
    whole = ranking.extraction_sweep(prop)
    monkeypatch.setattr(ranking, "BATCH_BYTES", 8 * 64)  # one column a batch
    assert np.allclose(ranking.extraction_sweep(prop)["output_loss"], whole["output_loss"])
