"""Ranges where sources disagree: results at the corners of the share ranges.

A provision row may carry ``share_low <= share <= share_high``. Every static result here is
monotone in each share for a fixed direction of change, so its range is bounded by two
*corner maps*: the rows that push the result down at their high end and the others at
their low end, and the reverse. For a bloc's share the bloc's rows push up; for a scenario
the rows of providers the scenario cuts push availability down (their loss is larger) and
the rows of the others push it up. Results report ``(low, high)`` spanning the central
figure and both corners. (Interval analysis over a monotone function; Moore, *Interval
Analysis*, 1966, ch. 3.)
"""

from __future__ import annotations

import dataclasses

import numpy as np
import pandas as pd

from coreatlas.model.techmap import TechMap

__all__ = ["corner_maps", "has_ranges", "row_codes", "span"]


def has_ranges(tm: TechMap) -> bool:
    """True if any numeric share has a range different from the share itself."""
    p = tm.provision
    low = p["share_low"].notna() & (p["share_low"] != p["share"])
    high = p["share_high"].notna() & (p["share_high"] != p["share"])
    return bool((p["share"].notna() & (low | high)).any())


def _with_shares(tm: TechMap, shares: np.ndarray) -> TechMap:
    provision = tm.provision.copy()
    provision["share"] = np.where(tm.provision["share"].isna(), np.nan, shares)
    return dataclasses.replace(tm, provision=provision)


def corner_maps(tm: TechMap, raising: np.ndarray) -> tuple[TechMap, TechMap]:
    """``(down, up)``: rows flagged in ``raising`` at their low end and the others at their
    high end, then the reverse. ``raising`` flags the rows whose larger share raises the result."""
    p = tm.provision
    low = p["share_low"].fillna(p["share"]).to_numpy(dtype=float)
    high = p["share_high"].fillna(p["share"]).to_numpy(dtype=float)
    down = np.where(raising, low, high)
    up = np.where(raising, high, low)
    return _with_shares(tm, down), _with_shares(tm, up)


def row_codes(tm: TechMap) -> pd.Series:
    """The country code each provision row counts for (a firm's headquarters country)."""
    providers = tm.provider_rows
    kind = tm.provision["provider_id"].map(providers["type"])
    hq = tm.provision["provider_id"].map(providers["country"])
    return hq.where(kind == "firm", tm.provision["provider_id"])


def span(mid: np.ndarray, *corners: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Element-wise ``(min, max)`` over the central result and the corners."""
    stacked = np.stack([mid, *corners])
    return np.nanmin(stacked, axis=0), np.nanmax(stacked, axis=0)
