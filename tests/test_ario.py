"""The ARIO engine against BoARIO (installed from the package registry as a test extra):
the daily production of every region-sector over 365 days, for a capital-loss (recovery)
event and an arbitrary capacity-loss event, on pymrio's test table and on a synthetic table."""

from __future__ import annotations

import logging
import warnings

import numpy as np
import pandas as pd
import pytest

from coreatlas.analysis.ario import ArioEvent, ArioParams, ario_model, run_ario
from coreatlas.analysis.synthetic import synthetic_mrio
from coreatlas.errors import ValidationError
from coreatlas.io.mrio import from_pymrio, load_test_table, to_pymrio

boario_models = pytest.importorskip("boario.extended_models", reason="BoARIO is a test extra: pip install -e '.[test]'")
from boario.event import EventArbitraryProd, EventKapitalRecover  # noqa: E402
from boario.simulation import Simulation  # noqa: E402

DAYS = 365
TARGET = 0  # the first region-sector of the table


def boario_production(io, kind: str, label, days: int = DAYS) -> tuple[pd.DataFrame, np.ndarray]:
    """BoARIO's daily production (days x industries) and its capital vector."""
    logging.getLogger("boario").setLevel(logging.ERROR)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        model = boario_models.ARIOPsiModel(io)
        sim = Simulation(model, n_temporal_units_to_sim=days)
        index = pd.MultiIndex.from_tuples([label])
        if kind == "recovery":
            impact = pd.Series([0.2 * model.productive_capital[model.industries.get_loc(label)]], index=index)
            event = EventKapitalRecover(
                impact=impact, recovery_tau=90, occurrence=5, duration=10, event_monetary_factor=model.monetary_factor
            )
        else:
            event = EventArbitraryProd(impact=pd.Series([0.3], index=index), recovery_tau=60, occurrence=5, duration=30)
        sim.add_event(event)
        sim.loop()
    return sim.production_realised, model.productive_capital[model.industries.get_loc(label)]


def ours(table, kind: str, capital: float, days: int = DAYS) -> pd.DataFrame:
    if kind == "recovery":
        event = ArioEvent((TARGET,), (0.2 * capital,), "recovery", occurrence=5, duration=10, recovery_tau_days=90)
    else:
        event = ArioEvent((TARGET,), (0.3,), "arbitrary", occurrence=5, duration=30, recovery_tau_days=60)
    return run_ario(table, [event], days).to_frame()


def compare(table, io, kind: str) -> float:
    label = table.labels()[TARGET]
    reference, capital = boario_production(io, kind, label)
    mine = ours(table, kind, capital)
    reference = reference[mine.columns].to_numpy()[:DAYS]
    assert reference.shape == mine.shape == (DAYS, table.n_industries)
    return float(np.max(np.abs(mine.to_numpy() - reference) / np.abs(reference)))


@pytest.mark.parametrize("kind", ["recovery", "arbitrary"])
def test_matches_boario_on_the_pymrio_test_table(kind):
    import pymrio

    io = pymrio.load_test()
    io.calc_all()
    assert compare(load_test_table(), io, kind) < 1e-6


@pytest.mark.parametrize("kind", ["recovery", "arbitrary"])
def test_matches_boario_on_a_synthetic_table(kind):
    table = synthetic_mrio(5, 7, seed=3)
    io = to_pymrio(table)
    io.calc_all()
    assert compare(from_pymrio(io), io, kind) < 1e-6


def test_the_shock_bites_and_recovers():
    """The capital-loss event takes 20% of the target's capacity from day 5 (overproduction then
    lifts it a little) and it is back by day 5 + 10 + 90; the comparison above could not pass
    with a run that did nothing."""
    table = load_test_table()
    model = ario_model(table)
    result = ours(table, "recovery", model.capital[TARGET]).to_numpy()
    share = result[:, TARGET] / model.x0[TARGET]
    assert share[4] == pytest.approx(1.0) and share[5] == pytest.approx(0.8) and share[5:15].max() < 0.81
    assert abs(share[-1] - 1.0) < 0.01


def test_no_event_is_a_fixed_point():
    result = run_ario(synthetic_mrio(4, 5, seed=1), [], 60)
    np.testing.assert_allclose(result.production, np.broadcast_to(result.baseline, result.production.shape), rtol=1e-12)


def test_bad_events_and_parameters():
    with pytest.raises(ValidationError, match="share of capacity in"):
        ArioEvent((0,), (1.5,), "arbitrary")
    with pytest.raises(ValidationError, match="not one of recovery, arbitrary"):
        ArioEvent((0,), (1.0,), "rebuild")
    with pytest.raises(ValidationError, match="out of range"):
        run_ario(synthetic_mrio(2, 2), [ArioEvent((99,), (0.1,), "arbitrary")], 3)
    with pytest.raises(ValidationError, match="psi"):
        ArioParams(psi=1.5)
