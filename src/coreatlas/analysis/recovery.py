"""Recovery laws of lost capacity, one day at a time (step 8 of the daily loop).

Each law maps today's capacity loss ``delta`` to tomorrow's, for the firms whose
recovery has started (``day >= shock_day + delay``). ``C`` is ``recovery_days``.
Reference: the options ``-b`` of Inoue's ProductionNetworkSimulator, as described in
../shared/research/propagation_models.md, section 1.3 (step 8).

=============  ==============================================  ==============================
law            update                                          note
=============  ==============================================  ==============================
none           delta unchanged                                 the reference without ``-c``
linear         delta - delta0 / C  (>= 0)                      back to full after C days
uniform        delta - 1 / C  (>= 0)                           same speed for every firm
immediate      0                                               back at once when recovery starts
exponential    delta0 exp(-t / C), t the simulation day        as the reference (clock from day 0)
renewal        delta (1 - 1 / C)                               geometric decay from the shock
damped         delta (1 - h / C), h = 1 - mean neighbour delta slowed by damaged partners
=============  ==============================================  ==============================

The registry of laws, :data:`~coreatlas.model.dynamics.RECOVERY_LAWS`, lives with the
parameters in :mod:`coreatlas.model.dynamics` (re-exported here).
"""

from __future__ import annotations

import numpy as np

from coreatlas.model.dynamics import RECOVERY_LAWS, needs_recovery_days

__all__ = ["RECOVERY_LAWS", "needs_recovery_days", "recover"]


def neighbour_mean(delta: np.ndarray, supplier: np.ndarray, client: np.ndarray) -> np.ndarray:
    """Mean capacity loss over each firm's suppliers and clients, counted per link (0 if none)."""
    n = delta.size
    total = np.bincount(supplier, delta[client], n) + np.bincount(client, delta[supplier], n)
    count = np.bincount(supplier, minlength=n) + np.bincount(client, minlength=n)
    return np.divide(total, count, out=np.zeros(n), where=count > 0)


def _next_delta(law: str, delta, delta0, day: int, recovery_days: float, neighbours) -> np.ndarray:
    if law == "linear":
        return np.maximum(0.0, delta - delta0 / recovery_days)
    if law == "uniform":
        return np.maximum(0.0, delta - 1.0 / recovery_days)
    if law == "immediate":
        return np.zeros_like(delta)
    if law == "exponential":
        return delta0 * np.exp(-day / recovery_days)
    if law == "renewal":
        return delta * (1.0 - 1.0 / recovery_days)
    if law == "damped":
        return delta * (1.0 - (1.0 - neighbours()) / recovery_days)
    return delta


def recover(law: str, delta, delta0, shock_day, day: int, recovery_days: float | None, delay_days: int, links=None) -> np.ndarray:
    """Capacity loss after day ``day``'s recovery (a new array; ``delta`` is not changed).

    ``links`` is ``(supplier, client)``, needed by the ``damped`` law only.
    """
    active = (delta > 0) & (day >= shock_day + delay_days)
    if law == "none" or not active.any():
        return delta
    neighbours = (lambda: neighbour_mean(delta, *links)[active]) if law == "damped" else None
    out = delta.copy()
    out[active] = _next_delta(law, delta[active], delta0[active], day, recovery_days or 1.0, neighbours)
    return np.clip(out, 0.0, 1.0)
