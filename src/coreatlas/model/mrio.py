"""Multi-regional input–output tables as sparse arrays (the country-by-sector view).

Industries are ``(region, sector)`` pairs in region-major order: industry ``i`` is region
``i // n_sectors``, sector ``i % n_sectors``. Flows are per year in the table's unit.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import cached_property

import numpy as np
import scipy.sparse as sp

from coreatlas.errors import ValidationError

__all__ = ["ARIO_EVENT_KINDS", "EXTRACTION_GROUPS", "MrioTable", "mrio_table"]

#: What a hypothetical extraction removes at once: each region, each sector or each region-sector.
EXTRACTION_GROUPS = ("region", "sector", "industry")
#: ARIO events: ``recovery`` destroys a share of capital (recovered linearly), ``arbitrary`` removes a share of capacity.
ARIO_EVENT_KINDS = ("recovery", "arbitrary")


@dataclass(frozen=True, eq=False)
class MrioTable:
    """``Z`` (N x N intermediate flows, row = seller, column = buyer), ``Y`` (N x D final
    demand; column ``d`` is category ``fd_categories[d % C]`` of region ``fd_regions[d]``)."""

    regions: tuple
    sectors: tuple
    Z: sp.csr_matrix
    Y: np.ndarray
    fd_categories: tuple
    unit: str = ""
    meta: dict = field(default_factory=dict)

    @property
    def n_industries(self) -> int:
        return len(self.regions) * len(self.sectors)

    @cached_property
    def x(self) -> np.ndarray:
        """Gross output ``x = Z 1 + Y 1``."""
        return np.asarray(self.Z.sum(axis=1)).ravel() + self.Y.sum(axis=1)

    @cached_property
    def value_added(self) -> np.ndarray:
        """``v = x - 1' Z`` (what each industry adds to its inputs)."""
        return self.x - np.asarray(self.Z.sum(axis=0)).ravel()

    @cached_property
    def industry_region(self) -> np.ndarray:
        return np.repeat(np.arange(len(self.regions)), len(self.sectors))

    @cached_property
    def industry_sector(self) -> np.ndarray:
        return np.tile(np.arange(len(self.sectors)), len(self.regions))

    @cached_property
    def fd_regions(self) -> np.ndarray:
        """Region index of each final-demand column."""
        return np.repeat(np.arange(len(self.regions)), len(self.fd_categories))

    def labels(self) -> list[tuple[str, str]]:
        return [(r, s) for r in self.regions for s in self.sectors]


def mrio_table(regions, sectors, Z, Y, fd_categories=("final demand",), unit: str = "", meta: dict | None = None) -> MrioTable:
    """Build and check a table: square ``Z`` of size regions x sectors, non-negative flows."""
    n = len(regions) * len(sectors)
    Z = sp.csr_matrix(Z, dtype=float)
    Y = np.asarray(Y, dtype=float).reshape(n, -1) if np.asarray(Y).size else np.zeros((n, 0))
    if Z.shape != (n, n):
        raise ValidationError(f"Z must be {n} x {n} (regions x sectors), not {Z.shape[0]} x {Z.shape[1]}")
    if Y.shape[1] != len(regions) * len(fd_categories):
        raise ValidationError(
            f"Y must have {len(regions) * len(fd_categories)} columns (regions x final-demand categories), not {Y.shape[1]}"
        )
    if (Z.data < 0).any() or (Y < 0).any() or not (np.isfinite(Z.data).all() and np.isfinite(Y).all()):
        raise ValidationError("flows must be finite and non-negative (negative final demand such as inventory changes: net it out first)")
    Z.eliminate_zeros()
    return MrioTable(tuple(regions), tuple(sectors), Z, Y, tuple(fd_categories), unit, dict(meta or {}))
