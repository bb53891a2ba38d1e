"""Fuzzing every loader: random bytes and random mutations of valid files either load or raise a
:class:`~coreatlas.errors.CoreAtlasError`, never another exception.

Each case is one file of one valid input (a native map, an ETO folder, a risk network, scenario,
hazard and measure YAML, firm network files, a network folder, an MRIO table folder); each
example replaces that file by random bytes or by the valid file mutated (slices cut, bytes and
tokens inserted, lines repeated), then runs the loader. Inputs are a few kilobytes at most, so
every example is bounded by construction; runs are derandomised so that marks stay stable.
``CORE_ATLAS_FUZZ_EXAMPLES`` raises the number of examples per case for a longer hunt.
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from coreatlas.errors import CoreAtlasError
from coreatlas.io import firmdata, hazard_file, measure_file, mrio
from coreatlas.io.eto import read_eto
from coreatlas.io.native import read_native
from coreatlas.io.risknet_file import read_risk_network
from coreatlas.services.inputs import read_scenario_file

EXAMPLES = int(os.environ.get("CORE_ATLAS_FUZZ_EXAMPLES", "25"))

NATIVE = {
    "metadata.yaml": "name: tiny\nversion: '1'\nlicence: CC0-1.0\nshare_tolerance: 0.02\nsources: [{id: s, title: hand-made, year: 2024}]\n",
    "nodes.csv": "node_id,name,kind,market_size_usd,market_size_year\nchip,Chip,output,1e9,2024\nfab,Fab,process,,\ntool,Tool,tool,5e8,2023\n",
    "providers.csv": "provider_id,name,type,country,members\nUSA,United States,country,USA,\nJPN,Japan,country,JPN,\n"
    "acme,Acme,firm,USA,\nEUR,Europe,region,EUR,DEU;FRA\n",
    "provision.csv": "node_id,provider_id,share,share_low,share_high,year,source\ntool,USA,0.6,0.5,0.7,2024,s\ntool,JPN,0.4,,,2024,s\n"
    "tool,acme,0.5,,,2024,s\nfab,JPN,1.0,,,2024,s\nchip,EUR,,,,2024,s\n",
    "relations.csv": "node_id,relation,target_id\nchip,uses,fab\nfab,uses,tool\n",
    "blocs.csv": "bloc,country\ncore,USA\ncore,JPN\n",
    "links.csv": "node_id,relation,target_id\nchip,uses,elsewhere\n",
    "policies.csv": "policy_id,name,kind,providers,bloc,nodes,year,source\np1,No Acme,exclude,acme,,tool,2024,s\np2,Trusted,trusted_only,,core,,2023,s\n",
    "country_exposure.csv": "country,node_id,providers,share,year,source\nDEU,tool,acme,0.3,2024,s\n",
    "indicators.csv": "technology,indicator,holder,country,value,year,source\nchips,market_share,acme,USA,0.5,2024,s\n",
    "commitments.csv": "commitment_id,party,program,technology,amount,currency,year,source\nc1,USA,CHIPS,chips,5e10,USD,2022,s\n",
}
ETO = {
    "inputs.csv": "input_id,input_name,type,stage_name,stage_id,description,year,market_share_chart_global_market_size_info\n"
    "N0,Chip design,process,Design,S1,d,2024,$10 billion (2024)\nN1,EDA,tool_resource,,,e,2024,\nN2,Chip,ultimate_output,,,c,,\n",
    "providers.csv": "provider_name,alias,provider_id,provider_type,country\nUSA,United States,P1,country,\n"
    "Synopsys,,P10,organization,USA\nEUR,Europe,P3,country,\nVarious countries,,P4,country,\n",
    "provision.csv": "provider_name,provider_id,provided_name,provided_id,share_provided,year,source\n"
    "USA,P1,EDA,N1,80,2024,s\nSynopsys,P10,EDA,N1,50,2024,s\nEUR,P3,Chip design,N0,,2024,s\nVarious,P4,EDA,N1,20,2024,s\n",
    "sequence.csv": "input_name,input_id,goes_into_name,goes_into_id,is_type_of_name,is_type_of_id\nEDA,N1,Chip design,N0,,\nChip design,N0,Chip,N2,,\n",
    "stages.csv": "stage_id,stage_name,description,market_share_chart_global_market_size_info\nS1,Design,d,$5 billion (2024)\n",
}
RISK = {
    "nodes.csv": "node,capacity,inventory,demand,ttr_days,profit,group,tier,country\nP,20,30,10,5,2,g,0,USA\nA,20,8,0,5,1,,1,JPN\nB,20,8,0,5,1,g,1,JPN\n",
    "edges.csv": "supplier,consumer,material,ratio\nA,P,m,2\nB,P,m,2\n",
    "groups.csv": "group,capacity\ng,25\n",
}
SCENARIO = (
    "scenarios:\n  - name: no-japan\n    remove_countries: [JPN]\n  - name: cut\n    capacity: {USA: 0.3}\n"
    "    remove_firms: [acme]\n  - name: allies\n    only_bloc: core\n"
)
HAZARDS = (
    "hazards:\n  - name: quake\n    targets: [TWN]\n    annual_probability: 0.03\n    duration_days: {triangular: [7, 30, 120]}\n"
    "    depth: {uniform: [0.2, 0.6]}\n  - targets: [JPN, KOR]\n    annual_probability: 0.01\n    duration_days: 30\n"
)
MEASURES = (
    "measures:\n  - id: fab\n    kind: capacity\n    node: wafer_fabrication\n    country: USA\n    added_share: 0.1\n"
    "    cost_usd: 2.0e10\n    lead_time_days: 1100\n  - id: stock\n    kind: stockpile\n    node: silicon_wafers\n    days: 30\n    cost_usd: 1e8\n"
)
FIRM_TEXT = {"links.txt": "1 2 100\n2 1 100\n2 3 50\n", "final_demand.txt": "1 100\n2 100\n3 50\n", "sectors.txt": "1 1001 0\n2 1002 0\n3 1001 1\n"}
FIRM_CSV = {"links.csv": "supplier,client,amount\na,b,100\nb,a,100\n", "final_demand.csv": "firm,amount\na,100\nb,100\n",
            "sectors.csv": "firm,sector,region\na,s1,r1\nb,s2,r1\n"}  # fmt: skip
SHOCKS = "1 0.5 0 10\n2 0.1 3 20\n"


def _write(folder: Path, files: dict[str, str | bytes]) -> None:
    for name, content in files.items():
        (folder / name).write_bytes(content.encode("utf-8") if isinstance(content, str) else content)


def _firm_net(folder: Path):
    _write(folder, FIRM_TEXT)
    return firmdata.read_network_files(folder / "links.txt", folder / "final_demand.txt", folder / "sectors.txt")


def _parquet_files(folder: Path) -> dict[str, bytes]:
    """links.parquet and firms.parquet of the small text network, as bytes."""
    firmdata.write_network(_firm_net(folder), folder / "net")
    return {name: (folder / "net" / name).read_bytes() for name in ("links.parquet", "firms.parquet")}


def _mrio_files(folder: Path) -> dict[str, bytes]:
    """A 2-region, 2-sector MRIO table folder in CSV, as bytes."""
    table = mrio.load_test_table()
    regions = {"north": list(table.regions[:3]), "south": list(table.regions[3:])}
    sectors = {"goods": list(table.sectors[:4]), "services": list(table.sectors[4:])}
    small = mrio.aggregate(table, regions, sectors)
    out = mrio.write_table_folder(small, folder / "mrio", fmt="csv")
    return {p.name: p.read_bytes() for p in out.iterdir()}


# Each case: (name, the file to mutate, setup(folder) -> the valid files, loader(folder)).
def _cases() -> list:
    cases = [(f"native:{name}", name, NATIVE, read_native) for name in NATIVE]
    cases += [(f"eto:{name}", name, ETO, read_eto) for name in ETO]
    cases += [(f"risk:{name}", name, RISK, read_risk_network) for name in RISK]
    cases += [
        ("yaml:scenario", "s.yaml", {"s.yaml": SCENARIO}, lambda f: read_scenario_file(f / "s.yaml")),
        ("yaml:hazards", "h.yaml", {"h.yaml": HAZARDS}, lambda f: hazard_file.read_hazards(f / "h.yaml")),
        ("yaml:measures", "m.yaml", {"m.yaml": MEASURES}, lambda f: measure_file.read_measures(f / "m.yaml")),
    ]
    text = lambda f: firmdata.read_network_files(f / "links.txt", f / "final_demand.txt", f / "sectors.txt")  # noqa: E731
    csv = lambda f: firmdata.read_network_files(f / "links.csv", f / "final_demand.csv", f / "sectors.csv")  # noqa: E731
    cases += [(f"firm-text:{name}", name, FIRM_TEXT, text) for name in FIRM_TEXT]
    cases += [(f"firm-csv:{name}", name, FIRM_CSV, csv) for name in FIRM_CSV]
    cases += [("firm:shocks", "shocks.txt", {"shocks.txt": SHOCKS}, lambda f: firmdata.read_shocks(f / "shocks.txt", _firm_net(f)))]
    cases += [(f"network-folder:{name}", name, _parquet_files, firmdata.read_network) for name in ("links.parquet", "firms.parquet")]
    parquet_links = lambda f: firmdata.read_network_files(f / "links.parquet", f / "final_demand.txt")  # noqa: E731
    cases += [("firm-parquet:links.parquet", "links.parquet", lambda f: {**_parquet_files(f), **FIRM_TEXT}, parquet_links)]
    cases += [(f"mrio:{name}", name, _mrio_files, mrio.read_table_folder) for name in ("meta.json", "intermediate.csv", "final_demand.csv")]
    return cases


#: Inputs found by this test that still break a loader of another part of the project:
#: case -> (reason, the input). Each is replayed first, so its mark does not depend on the seed.
KNOWN_FAILURES: dict[str, tuple[str, bytes]] = {}

#: Tokens that break parsers: numbers at the edges, YAML syntax, CSV quoting, odd text.
TOKENS = [
    "", "0", "-1", "1e400", "-1e400", "nan", "inf", "-inf", "2024.5", "1e30", "99999999999999999999", "abc", "é", "\x00", "\ufeff",
    ",", ";", '"', "'", "\n", "\r", "\t", " ", ":", "- ", "? ", "&a ", "*a", "!!python/object:os.system ", "!custom ", "{", "}",
    "[", "]", "null", "~", "true", "<<: *a", "[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[",
    "../../etc/passwd", "/etc/passwd", "PAR1", "\xff\xfe",
]  # fmt: skip


@st.composite
def mutated(draw, valid: bytes) -> bytes:
    """``valid`` with a few edits: cut a slice, insert bytes or a token, repeat or drop a line."""
    data = bytearray(valid)
    for _ in range(draw(st.integers(1, 4))):
        at = draw(st.integers(0, len(data)))
        edit = draw(st.sampled_from(["cut", "insert", "token", "repeat", "truncate", "flip"]))
        if edit == "cut":
            del data[at : at + draw(st.integers(1, 16))]
        elif edit == "insert":
            data[at:at] = draw(st.binary(min_size=1, max_size=8))
        elif edit == "token":
            data[at : at + draw(st.integers(0, 6))] = draw(st.sampled_from(TOKENS)).encode("utf-8", "surrogatepass")
        elif edit == "repeat":
            lines = bytes(data).split(b"\n")
            i = draw(st.integers(0, len(lines) - 1))
            lines.insert(i, lines[i])
            data = bytearray(b"\n".join(lines))
        elif edit == "truncate":
            del data[at:]
        elif data and at < len(data):
            data[at] ^= 1 << draw(st.integers(0, 7))
    return bytes(data)


def _contents(valid: bytes) -> st.SearchStrategy[bytes]:
    return st.one_of(st.binary(max_size=256), mutated(valid), st.sampled_from(TOKENS).map(str.encode))


def _params(known_failures: bool = True) -> list:
    params = []
    for name, target, files, loader in _cases():
        failing = known_failures and name in KNOWN_FAILURES
        marks = [pytest.mark.xfail(strict=True, reason=KNOWN_FAILURES[name][0])] if failing else []
        params.append(pytest.param(name, target, files, loader, id=name, marks=marks))
    return params


@pytest.mark.parametrize(("name", "target", "files", "loader"), _params())
def test_loader_loads_or_raises_a_project_error(name: str, target: str, files, loader):
    with tempfile.TemporaryDirectory() as scratch:
        valid = files(Path(scratch)) if callable(files) else files
        valid = {k: v.encode("utf-8") if isinstance(v, str) else v for k, v in valid.items()}

    def check(content: bytes) -> None:
        with tempfile.TemporaryDirectory() as scratch:
            folder = Path(scratch)
            _write(folder, {**valid, target: content})
            try:
                loader(folder)
            except CoreAtlasError:
                pass
            except Exception as exc:  # the finding: name the input and the exception
                raise AssertionError(f"{target} = {content!r}: {type(exc).__name__}: {exc}") from exc

    check = example(content=valid[target])(check)
    if name in KNOWN_FAILURES:
        check = example(content=KNOWN_FAILURES[name][1])(check)
    check = given(content=_contents(valid[target]))(check)
    settings(max_examples=EXAMPLES, deadline=None, derandomize=True, database=None, suppress_health_check=list(HealthCheck))(check)()


@pytest.mark.parametrize(("name", "target", "files", "loader"), _params(known_failures=False))
def test_valid_inputs_load(name: str, target: str, files, loader):
    """The seeds are valid: each case starts from an input that loads."""
    with tempfile.TemporaryDirectory() as scratch:
        folder = Path(scratch)
        valid = files(folder) if callable(files) else files
        _write(folder, valid)
        loader(folder)
