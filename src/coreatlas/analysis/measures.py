"""Resilience measures as data, and what each one saves in every scenario of an ensemble.

A :class:`~coreatlas.model.measures.Measure` costs ``cost_usd`` and is one of:

* ``capacity`` — new capacity at ``node`` in ``country``, ``added_share`` of the node's
  current output (a new plant; ``lead_time_days`` is reported, not modelled);
* ``second_source`` — qualifying a supplier in ``country`` for ``added_share`` of ``node``
  (the same effect as capacity, usually cheaper and smaller);
* ``stockpile`` — ``days`` of ``node``'s output held in reserve: during an event the node's
  shortfall ``1 - a_N`` is met from the stock for ``days / (1 - a_N)`` days;
* ``open_ran`` — moving ``adoption`` of the demand for ``node`` (e.g. proprietary RAN) to
  ``target_node`` (open RAN), both ultimate outputs.

New capacity dilutes the node's existing rows: with ``g`` added, the new site holds
``g / (1 + g)`` and every other row is scaled by ``1 / (1 + g)`` (the market grows, the old
sites keep their output). Each measure's saving is computed exactly, alone, with the static
engine, per event; the optimiser (:mod:`coreatlas.analysis.invest`) adds savings of a plan,
floored at zero loss — a first-order model whose result the caller can re-check.
"""

from __future__ import annotations

import dataclasses

import numpy as np
import pandas as pd

from coreatlas.analysis import montecarlo as mc
from coreatlas.analysis.propagate import Propagator, build_propagator
from coreatlas.errors import NotFoundError, RequestError
from coreatlas.model.measures import MEASURE_KINDS, Measure
from coreatlas.model.techmap import TechMap

__all__ = ["MEASURE_KINDS", "Measure", "savings", "with_capacity"]


def with_capacity(tm: TechMap, node: str, country: str, added_share: float) -> TechMap:
    """The map with a new site of ``added_share`` at ``node`` in ``country`` (rows diluted)."""
    provision = tm.provision.copy()
    at_node = provision["node_id"] == node
    provision.loc[at_node, ["share", "share_low", "share_high"]] = provision.loc[at_node, ["share", "share_low", "share_high"]] / (
        1 + added_share
    )
    new = {c: pd.NA for c in provision.columns} | {
        "node_id": node,
        "provider_id": country,
        "share": added_share / (1 + added_share),
        "year": 2030,
        "source": "measure",
    }
    provision = pd.concat([provision, pd.DataFrame([new]).astype(provision.dtypes.to_dict(), errors="ignore")], ignore_index=True)
    providers = tm.providers
    if country not in set(providers["provider_id"]):
        row = {c: pd.NA for c in providers.columns} | {"provider_id": country, "name": country, "type": "country", "country": country}
        providers = pd.concat([providers, pd.DataFrame([row])], ignore_index=True)
    return dataclasses.replace(tm, provision=provision, providers=providers)


def _availability(prop: Propagator, masks: np.ndarray, events: pd.DataFrame, spare: np.ndarray | None = None) -> np.ndarray:
    """``(events, nodes)`` availability; ``spare`` (atoms,) True for atoms no hazard touches."""
    hit = masks[:, events["hazard"].to_numpy()]
    if spare is not None:
        hit = hit & ~spare[:, None]
    return prop.evaluate_atoms(1.0 - hit * events["depth"].to_numpy()[None, :]).available.T


def _output_loss(model: mc.EnsembleModel, availability: np.ndarray, events: pd.DataFrame) -> np.ndarray:
    """Weighted output loss of each event, in years of output (rate x days / 365)."""
    return (1.0 - availability[:, model.outputs]) @ model.weights * events["days"].to_numpy() / 365.0


def _node(prop: Propagator, node: str, field: str) -> int:
    if node not in prop.tm.node_index:
        raise NotFoundError(f"{field}: unknown node '{node}' in {prop.tm.meta.name}", field=field)
    return prop.tm.node_index[node]


def _saving(model: mc.EnsembleModel, hazards, events, base_avail, base_loss, m: Measure, at: str) -> np.ndarray:
    prop = model.prop
    if m.kind in ("capacity", "second_source"):
        _node(prop, m.node, f"{at}.node")
        changed_map = with_capacity(prop.tm, m.node, m.country, m.added_share)
        changed = mc.ensemble_model(build_propagator(changed_map, attribution=prop.supply.attribution, variants=prop.variants), hazards)
        return base_loss - _output_loss(changed, _availability(changed.prop, changed.masks, events), events)
    if m.kind == "stockpile":
        n = _node(prop, m.node, f"{at}.node")
        spare = prop.supply.atom_node == n
        restored = _output_loss(model, _availability(prop, model.masks, events, spare), events)
        shortfall = 1.0 - base_avail[:, n]
        covered = np.minimum(events["days"].to_numpy(), np.divide(m.days, shortfall, out=np.full(len(events), np.inf), where=shortfall > 0))
        fraction = np.divide(covered, events["days"].to_numpy(), out=np.zeros(len(events)), where=events["days"].to_numpy() > 0)
        return (base_loss - restored) * fraction
    source, target = _node(prop, m.node, f"{at}.node"), _node(prop, m.target_node, f"{at}.target_node")
    weight = dict(zip(model.outputs.tolist(), model.weights, strict=True))
    if source not in weight:
        raise RequestError(f"{at}.node: measure '{m.id}': '{m.node}' is not an ultimate output of {prop.tm.meta.name}", field=f"{at}.node")
    rate = (base_avail[:, target] - base_avail[:, source]) * events["days"].to_numpy() / 365.0
    return m.adoption * weight[source] * rate


def savings(
    model: mc.EnsembleModel, hazards: list[mc.Hazard], events: pd.DataFrame, measures: list[Measure], progress=None
) -> tuple[np.ndarray, np.ndarray]:
    """``(base_loss (events,), saving (events, measures))``: each measure's loss avoided, alone,
    in each event (may be negative: a measure can move demand to a node hit harder).
    ``progress(done, total)`` is called after each measure."""
    base_avail = _availability(model.prop, model.masks, events)
    base_loss = _output_loss(model, base_avail, events)
    columns = []
    for i, m in enumerate(measures):  # one exact evaluation per measure
        columns.append(_saving(model, hazards, events, base_avail, base_loss, m, f"measures[{i}]"))
        if progress is not None:
            progress(i + 1, len(measures))
    return base_loss, np.column_stack(columns) if columns else np.zeros((len(events), 0))
