"""The scientific checks of docs/dynamics.md, at a size that runs in seconds.

benchmarks/study_propagation.py runs the full grid (10,000 firms, 3 seeds); these tests
pin the findings so that a change in the engine that overturns one is noticed.
"""

from __future__ import annotations

import numpy as np
import pytest

from coreatlas.analysis.dynamics import DynamicsParams, firm_observer, run
from coreatlas.analysis.synthetic import scale_free_network
from coreatlas.model.firms import Shocks, firm_network

FIRMS, LINKS = 10_000, 50_000


def network(degrees, seed, substitution=True):
    net = scale_free_network(FIRMS, LINKS, n_sectors=3, degrees=degrees, seed=seed)
    return net if substitution else firm_network(net.supplier, net.client, net.flow, net.final_demand, None, net.region)


def random_firms(seed):
    return np.random.default_rng(seed).choice(FIRMS, FIRMS // 100, replace=False)


def loss_pct(net, firms, delta, recovery):
    params = DynamicsParams(recovery=recovery, recovery_days=30 if recovery != "none" else None)
    losses = run(net, Shocks.of(firms, delta), 60, params).losses()
    return 100 * losses.total / (losses.baseline_per_day * 60)


@pytest.mark.parametrize("degrees", ["scale-free", "poisson"])
@pytest.mark.parametrize("seed", [0, 1])
def test_removing_substitution_raises_losses(degrees, seed):
    """Permanent loss of 1% of firms: every supplier its own sector loses several times more."""
    firms = random_firms(seed)
    with_sub = loss_pct(network(degrees, seed), firms, 1.0, "none")
    without = loss_pct(network(degrees, seed, substitution=False), firms, 1.0, "none")
    assert without > 2 * with_sub


def test_scale_free_onset_is_faster_but_erdos_renyi_loses_more():
    """Shocks holding 1% of output (hubs included): on scale-free networks more firms are
    down on day 2 and the trough comes earlier; on Erdős–Rényi networks with the same mean
    degree the loss is larger (the whole network is one strongly connected core)."""
    results = {}
    for degrees in ("scale-free", "poisson"):
        net = network(degrees, 0)
        output = net.baseline_output
        order = np.random.default_rng(0).choice(FIRMS, FIRMS, replace=False, p=output / output.sum())
        firms = order[: int(np.searchsorted(np.cumsum(output[order]), 0.01 * output.sum())) + 1]
        result = run(net, Shocks.of(firms, 0.5), 60, DynamicsParams(recovery="linear", recovery_days=30), observers=[firm_observer()])
        _, produced = result.series["production_by_firm"]
        losses = result.losses()
        results[degrees] = ((produced[3] < 0.99 * produced[0]).mean(), losses.trough_day, losses.total / losses.baseline_per_day)
    sf, er = results["scale-free"], results["poisson"]
    assert sf[0] > er[0] and sf[1] < er[1]
    assert er[2] > 3 * sf[2]
