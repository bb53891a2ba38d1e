"""Properties of scenario propagation on random small maps.

The strategy builds valid maps: a random DAG of 3-12 nodes over ``uses`` (node ``n_j``
may use ``n_i`` only for ``i < j``), a few ``variant_of`` edges in the same direction
(``n_i variant_of n_j``, ``i < j``) so that the combined graph stays acyclic, 1-5
countries, optional firms, optional residual and region (EUR, with 1-3 members), numeric
shares summing to at most 1 per node and some qualitative rows.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from coreatlas.analysis.propagate import VARIANT_RULES, build_propagator
from coreatlas.analysis.supply import UNATTRIBUTED
from coreatlas.errors import ScenarioError
from coreatlas.model.scenario import ExportControl, Scenario
from coreatlas.model.techmap import TechMap
from coreatlas.model.validate import validate
from maps import firm, make_map, region

SETTINGS = settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
POOL = ("USA", "JPN", "KOR", "TWN", "CHN", "DEU", "FRA", "NLD")
SILENT = "IND"  # declared as a country, provides nothing
ABSENT = "BRA"  # not in the map at all
EPS = 1e-9


@dataclass(frozen=True)
class Case:
    tm: TechMap
    codes: tuple[str, ...]  # codes a scenario may name (incl. region members, SILENT, ABSENT)
    firms: tuple[str, ...]


@st.composite
def cases(draw) -> Case:
    n = draw(st.integers(3, 12))
    ids = [f"n{i}" for i in range(n)]
    pairs = [(i, j) for j in range(n) for i in range(j)]
    uses = draw(st.lists(st.sampled_from(pairs), unique=True, max_size=2 * n))
    variants = draw(st.lists(st.sampled_from(pairs), unique=True, max_size=3))
    sizes = draw(st.lists(st.one_of(st.none(), st.floats(0.5, 100.0)), min_size=n, max_size=n))
    kinds = draw(st.lists(st.sampled_from(["process", "tool", "material", "output"]), min_size=n, max_size=n))

    countries = draw(st.lists(st.sampled_from(POOL), unique=True, min_size=1, max_size=5))
    has_region = draw(st.booleans())
    members = tuple(draw(st.lists(st.sampled_from(POOL), unique=True, min_size=1, max_size=3)))
    has_residual = draw(st.booleans())
    hq_choices = countries + (["various_countries"] if has_residual else [])
    n_firms = draw(st.integers(0, 3))
    firm_specs = [
        firm(f"f{k}", draw(st.sampled_from(hq_choices)), draw(st.one_of(st.none(), st.sampled_from(POOL)))) for k in range(n_firms)
    ]
    provider_ids = countries + (["EUR"] if has_region else []) + (["various_countries"] if has_residual else [])
    provider_ids += [f["provider_id"] for f in firm_specs]

    # per node: (provider, weight) pairs, weight 0 = qualitative; and the total of the figures
    row = st.tuples(st.sampled_from(provider_ids), st.integers(0, 30))
    per_node = st.tuples(st.lists(row, max_size=4, unique_by=lambda t: t[0]), st.integers(5, 120))
    provision = []
    for node_id, (chosen, total) in zip(ids, draw(st.lists(per_node, min_size=n, max_size=n)), strict=True):
        total = min(total, 100) / 100  # 1.0 about one time in six: fully attributed
        weight_sum = sum(w for _, w in chosen)
        for provider, weight in chosen:
            provision.append((node_id, provider, min(1.0, weight / weight_sum * total) if weight else None))

    nodes = [(node_id, kind, size) for node_id, kind, size in zip(ids, kinds, sizes, strict=True)]
    relations = [(ids[j], "uses", ids[i]) for i, j in uses] + [(ids[i], "variant_of", ids[j]) for i, j in variants]
    providers = [*countries, SILENT, *firm_specs]
    if has_region:
        providers += [region("EUR", members), *[m for m in members if m not in countries]]
    if has_residual:
        providers.append("various_countries")
    tm = make_map(nodes=nodes, providers=providers, provision=provision, relations=relations)
    codes = tuple(sorted({*tm.country_codes, *members, SILENT, ABSENT}))
    return Case(tm, codes, tuple(f["provider_id"] for f in firm_specs))


def _subset(draw, items, max_size=3):
    return tuple(draw(st.lists(st.sampled_from(items), unique=True, max_size=max_size))) if items else ()


def _fraction():
    return st.floats(0.0, 1.0)


@st.composite
def scenario_for(draw, case: Case) -> Scenario:
    targets = case.codes + case.firms
    export = None
    if draw(st.booleans()):
        export = ExportControl(_subset(draw, case.codes), draw(st.sampled_from(case.codes)))
    return Scenario(
        name="s1",
        remove_countries=_subset(draw, case.codes),
        remove_firms=_subset(draw, case.firms),
        only_bloc=draw(st.one_of(st.none(), st.lists(st.sampled_from(case.codes), unique=True).map(tuple))),
        capacity=draw(st.dictionaries(st.sampled_from(targets), _fraction(), max_size=3)),
        export_control=export,
    )


@st.composite
def harsher(draw, case: Case, s: Scenario) -> Scenario:
    """A scenario removing at least what ``s`` removes and cutting at least as deep."""
    targets = case.codes + case.firms
    capacity = {key: draw(st.floats(0.0, value)) for key, value in s.capacity.items()}
    capacity.update(
        {k: v for k, v in draw(st.dictionaries(st.sampled_from(targets), _fraction(), max_size=2)).items() if k not in capacity}
    )
    if s.only_bloc is None:
        only = draw(st.one_of(st.none(), st.lists(st.sampled_from(case.codes), unique=True).map(tuple)))
    else:
        only = tuple(c for c in s.only_bloc if draw(st.booleans()))
    export = s.export_control
    if export is None and draw(st.booleans()):
        export = ExportControl(_subset(draw, case.codes), draw(st.sampled_from(case.codes)))
    elif export is not None:
        export = ExportControl(tuple(dict.fromkeys(export.denied_by + _subset(draw, case.codes))), export.target)
    return Scenario(
        name="s2",
        remove_countries=tuple(dict.fromkeys(s.remove_countries + _subset(draw, case.codes))),
        remove_firms=tuple(dict.fromkeys(s.remove_firms + _subset(draw, case.firms))),
        only_bloc=only,
        capacity=capacity,
        export_control=export,
    )


@st.composite
def monotone_cases(draw):
    case = draw(cases())
    s1 = draw(scenario_for(case))
    return case, s1, draw(harsher(case, s1))


@st.composite
def with_scenarios(draw, count: int = 1):
    case = draw(cases())
    return case, [draw(scenario_for(case)) for _ in range(count)]


def availability(case: Case, scenarios: list[Scenario], variants: str) -> np.ndarray:
    prop = build_propagator(case.tm, variants=variants)
    return prop.run_evaluation(scenarios).available


@SETTINGS
@given(case=cases())
def test_generated_maps_are_valid(case):
    assert [p for p in validate(case.tm) if p.severity == "error"] == []


@SETTINGS
@given(drawn=with_scenarios(3), variants=st.sampled_from(VARIANT_RULES))
def test_availability_in_unit_interval(drawn, variants):
    case, scenarios = drawn
    result = build_propagator(case.tm, variants=variants).run_evaluation(scenarios)
    direct, available = result.direct, result.available
    assert np.all((available >= 0.0) & (available <= 1.0))
    assert np.all((direct >= -EPS) & (direct <= 1.0 + EPS))
    assert np.all(available <= direct + EPS)  # x_j = min(d_j, ...)


@SETTINGS
@given(drawn=monotone_cases(), variants=st.sampled_from(VARIANT_RULES))
def test_bigger_shock_never_raises_availability(drawn, variants):
    case, s1, s2 = drawn
    x = availability(case, [s1, s2], variants)
    worse = x[:, 1] > x[:, 0] + EPS
    assert not worse.any(), (
        f"{s2.summary()!r} raised {list(case.tm.node_ids[worse])} above {s1.summary()!r}: {x[worse, 0]} -> {x[worse, 1]}"
    )


@SETTINGS
@given(drawn=with_scenarios(), variants=st.sampled_from(VARIANT_RULES))
def test_removing_a_country_that_provides_nothing_changes_nothing(drawn, variants):
    case, (base,) = drawn
    # SILENT is declared but listed nowhere; ABSENT is not in the map at all
    more = replace(base, remove_countries=(*base.remove_countries, SILENT, ABSENT))
    x = availability(case, [base, more], variants)
    np.testing.assert_allclose(x[:, 1], x[:, 0], atol=EPS)


@SETTINGS
@given(case=cases(), variants=st.sampled_from(VARIANT_RULES))
def test_only_bloc_of_every_code_changes_nothing(case, variants):
    prop = build_propagator(case.tm, variants=variants)
    everyone = tuple(case.tm.country_codes)
    # the unattributed rest counts as outside any bloc (documented), so name it as well
    x = prop.run_evaluation([Scenario(only_bloc=everyone + (UNATTRIBUTED,))]).available
    np.testing.assert_array_equal(x, 1.0)
    x = prop.run_evaluation([Scenario(only_bloc=everyone)]).available
    if UNATTRIBUTED not in set(np.asarray(prop.supply.codes)[prop.supply.atom_code]):
        np.testing.assert_array_equal(x, 1.0)


@SETTINGS
@given(case=cases(), variants=st.sampled_from(VARIANT_RULES))
def test_nothing_removed_gives_one(case, variants):
    untouched = [
        Scenario(),
        Scenario(capacity={code: 1.0 for code in case.codes + case.firms}),
        Scenario(export_control=ExportControl((), case.codes[0])),
    ]
    result = build_propagator(case.tm, variants=variants).run_evaluation(untouched)
    direct, x = result.direct, result.available
    np.testing.assert_array_equal(x, 1.0)
    np.testing.assert_array_equal(direct, 1.0)
    # an unknown firm is no longer "nothing removed" but an error (issue 12: no silent nonsense)
    with pytest.raises(ScenarioError, match="unknown firm 'no_such_firm'"):
        build_propagator(case.tm, variants=variants).run_evaluation([Scenario(remove_firms=("no_such_firm",))])


@SETTINGS
@given(drawn=with_scenarios(), variants=st.sampled_from(VARIANT_RULES))
def test_uses_input_bounds_consumer(drawn, variants):
    # x_j <= x_i for every edge "j uses i" (Leontief), and for "all": parent <= each variant
    case, (s,) = drawn
    x = availability(case, [s], variants)[:, 0]
    index = case.tm.node_index
    for row in case.tm.edges("uses").itertuples(index=False):
        assert x[index[row.node_id]] <= x[index[row.target_id]] + EPS
    if variants == "all":
        for row in case.tm.edges("variant_of").itertuples(index=False):
            assert x[index[row.target_id]] <= x[index[row.node_id]] + EPS
