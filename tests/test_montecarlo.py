"""Monte Carlo ensembles: exact expected loss, statistics, determinism across workers."""

from __future__ import annotations

import functools

import numpy as np
import pytest

from coreatlas.analysis import montecarlo as mc
from coreatlas.analysis.propagate import build_propagator
from coreatlas.errors import ValidationError
from coreatlas.io.hazard_file import read_hazards
from coreatlas.services.executors import run_chunks
from maps import make_map

HAZARDS_YAML = """hazards:
  - name: taiwan
    targets: [TWN]
    annual_probability: 0.1
    duration_days: 36.5
  - name: us-storm
    targets: [USA]
    annual_probability: 0.2
    duration_days: {uniform: [0, 73]}
    depth: {uniform: [0, 1]}
"""
EXACT = 0.1 * 0.6 * 0.1 + 0.2 * 0.4 * 0.5 * 0.1  # p x share lost x E[depth] x E[days] / 365, summed


def chip_map():
    """chip uses fab; fab is 60% Taiwan, 40% USA: losing d of a country loses share x d of chips."""
    return make_map(provision=[("fab", "TWN", 0.6), ("fab", "USA", 0.4)], relations=[("chip", "uses", "fab")])


@pytest.fixture
def hazards(tmp_path):
    path = tmp_path / "hazards.yaml"
    path.write_text(HAZARDS_YAML)
    return read_hazards(path)


def simulate(hazards, years, seed=3, scheduler="serial", workers=None):
    model = mc.ensemble_model(build_propagator(chip_map()), hazards)
    task = functools.partial(mc.simulate_chunk, model, hazards, years, seed)  # picklable, for workers
    return mc.combine(model, hazards, run_chunks(task, mc.chunk_count(years), scheduler=scheduler, workers=workers), seed)


def test_expected_loss_converges_to_the_exact_value(hazards):
    errors = []
    for years in (1_000, 10_000, 100_000):
        result = simulate(hazards, years)
        standard_error = result.total.std() / np.sqrt(years)
        assert abs(result.total.mean() - EXACT) < 4 * standard_error
        errors.append(standard_error)
    assert errors[2] < errors[0] / 5  # the error shrinks like 1/sqrt(years)
    per_hazard = simulate(hazards, 100_000).by_hazard.mean(axis=0)
    np.testing.assert_allclose(per_hazard, [0.006, 0.004], rtol=0.05)


def test_statistics_by_hand():
    stats = mc.loss_statistics(np.array([1.0, 2.0, 3.0, 4.0]), levels=(0.5, 0.6))
    assert stats["expected_loss"] == 2.5 and stats["var_0.5"] == 2.0 and stats["cvar_0.5"] == pytest.approx(3.5)
    assert stats["var_0.6"] == 3.0 and stats["cvar_0.6"] == pytest.approx((0.15 * 3 + 0.25 * 4) / 0.4)
    atom = mc.loss_statistics(np.array([0.0, 0.0, 10.0, 10.0]), levels=(0.6,))
    assert atom["cvar_0.6"] == pytest.approx(10.0)


def test_exceedance_curve_is_sorted(hazards):
    curve = simulate(hazards, 2000).exceedance()
    assert curve["loss"].is_monotonic_decreasing and curve["exceedance_probability"].iloc[-1] == 1.0


def test_same_seed_same_result_on_a_process_pool(hazards):
    serial = simulate(hazards, 5000)
    pooled = simulate(hazards, 5000, scheduler=None, workers=2)
    np.testing.assert_array_equal(serial.by_output, pooled.by_output)
    assert not np.array_equal(serial.by_output, simulate(hazards, 5000, seed=4).by_output)


def test_same_seed_same_result_on_a_dask_cluster(hazards):
    distributed = pytest.importorskip("distributed")
    with distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None) as cluster:
        on_cluster = simulate(hazards, 5000, scheduler=cluster.scheduler_address)
    np.testing.assert_array_equal(simulate(hazards, 5000).by_output, on_cluster.by_output)


def test_share_ranges_widen_the_loss(tmp_path, hazards):
    """With Taiwan's share given as 50–70%, the Taiwan hazard's mean loss lies between the corners."""
    tm = make_map(
        provision=[{"node_id": "fab", "provider_id": "TWN", "share": 0.6, "share_low": 0.5, "share_high": 0.7}, ("fab", "USA", 0.3)],
        relations=[("chip", "uses", "fab")],
    )
    model = mc.ensemble_model(build_propagator(tm), hazards[:1])
    assert len(model.corners) == 1
    result = mc.simulate_chunk(model, hazards[:1], 2000, 1, 0)
    per_event = result.by_hazard[result.by_hazard > 0] / 0.1  # loss / (36.5/365)
    assert per_event.min() >= 0.5 - 1e-9 and per_event.max() <= 0.7 + 1e-9 and per_event.std() > 0.03


@pytest.mark.parametrize(
    ("text", "message"),
    [
        (
            "hazards:\n  - name: x\n    targets: [TWN]\n    annual_probability: 2\n    duration_days: 3\n",
            "annual probability 2.0 must be in",
        ),
        (
            "hazards:\n  - name: x\n    targets: [TWN]\n    annual_probability: 0.1\n",
            "line 2, column 'duration_days': missing 'duration_days'",
        ),
        (
            "hazards:\n  - name: x\n    targets: [TWN]\n    annual_probability: 0.1\n    duration_days: {gamma: [1, 2]}\n",
            "distribution 'gamma' is not one of",
        ),
        ("hazards:\n  - name: x\n    target: [TWN]\n", "unknown key(s) target"),
        ("hazards: 3\n", "expected a list under 'hazards:'"),
    ],
)
def test_bad_hazard_files(tmp_path, text, message):
    path = tmp_path / "h.yaml"
    path.write_text(text)
    with pytest.raises(ValidationError, match=message.replace("(", r"\(").replace(")", r"\)")):
        read_hazards(path)


def test_unknown_target(hazards):
    bad = [mc.Hazard(name="mars", targets=("MARS",), annual_probability=0.1, duration_days=mc.Distribution.fixed(1.0))]
    with pytest.raises(ValidationError, match="unknown target"):
        mc.ensemble_model(build_propagator(chip_map()), bad)


def test_dynamic_engine_is_seeded_and_differs_from_static(hazards):
    """The firm-level engine (15 days of stock buffer the first days of a strike) gives other
    losses than the static one, and the same numbers on one process or a pool."""
    static = mc.ensemble_model(build_propagator(chip_map()), hazards)
    dynamic = mc.ensemble_model(build_propagator(chip_map()), hazards, engine="dynamic")
    one = [mc.simulate_chunk(dynamic, hazards, 300, 5, 0)]
    pooled = run_chunks(functools.partial(mc.simulate_chunk, dynamic, hazards, 300, 5), 1, scheduler=None, workers=2)
    np.testing.assert_array_equal(one[0].by_output, pooled[0].by_output)
    static_total = mc.simulate_chunk(static, hazards, 300, 5, 0).by_output.sum()
    dynamic_total = one[0].by_output.sum()
    assert dynamic_total > 0 and abs(dynamic_total - static_total) > 1e-6
    with pytest.raises(ValidationError, match="engine must be one of"):
        mc.ensemble_model(build_propagator(chip_map()), hazards, engine="quantum")
