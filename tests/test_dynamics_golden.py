"""Golden cases: the reference simulator's daily totals, reproduced to a relative 1e-9.

Every line of ../shared/data/reference-sim/cases.txt is one case; its options are mapped
onto :class:`DynamicsParams` exactly as the README of that folder defines them.
"""

import shlex

import numpy as np
import pytest

from coreatlas.analysis.dynamics import DynamicsParams, run
from coreatlas.io.firmdata import read_network_files, read_shocks
from shared_data import SHARED

RULES = {0: "proportional", 1: "final-demand-last", 2: "priority", 3: "priority-final-demand-last"}
LAWS = {0: "linear", 1: "uniform", 2: "immediate", 3: "renewal", 4: "exponential", 5: "damped"}
CASES_FILE = SHARED / "data" / "reference-sim" / "cases.txt"
CASES = [line.split(maxsplit=1) for line in CASES_FILE.read_text().splitlines() if line.strip()] if CASES_FILE.is_file() else []
OUTPUTS = (("pact", "production"), ("va", "value_added"), ("fc", "final_consumption"))


def params_of(options: str) -> tuple[DynamicsParams, int]:
    """The reference's command-line options as parameters and a number of days."""
    words = shlex.split(options)
    o = dict(zip(words[::2], words[1::2], strict=True))
    kw = {
        "rationing": RULES[int(o.get("-R", 0))],
        "inventory_days": float(o.get("-i", 15)),
        "tau_days": float(o.get("-T", 6)),
        "recovery_delay_days": int(o.get("-S", 0)),
    }
    if "-c" in o:  # without -c the reference never recovers
        kw.update(recovery=LAWS[int(o.get("-b", 0))], recovery_days=float(o["-c"]))
    return DynamicsParams(**kw), int(o["-t"])


def test_cases_are_present(refsim_dir):
    assert len(CASES) >= 6, "cases.txt lists the golden cases"


@pytest.mark.parametrize(("folder", "case"), CASES, ids=[" ".join(c) for c in CASES])
def test_reference_case(refsim_dir, folder, case):
    name, options = case.split(":", 1)
    params, days = params_of(options)
    d = refsim_dir / folder
    network = read_network_files(d / "links.txt", d / "final_demand.txt", d / "sectors.txt")
    result = run(network, read_shocks(d / "delta.txt", network), days, params).to_frame()
    for prefix, column in OUTPUTS:
        reference = np.loadtxt(d / f"{prefix}_{name.strip()}.txt")
        assert reference[:, 0].tolist() == result["day"].tolist()
        ours = result[column].to_numpy()
        # The reference prints its baseline line (day -1) with 6 significant digits.
        np.testing.assert_allclose(ours[0], reference[0, 1], rtol=1e-6, err_msg=f"{column} baseline")
        np.testing.assert_allclose(ours[1:], reference[1:, 1], rtol=1e-9, atol=0, err_msg=f"{column}, days 0..{days - 1}")


def test_a_wrong_parameter_is_detected(refsim_dir):
    """The golden comparison can fail: tau 5 instead of 6 on s1 misses the reference."""
    d = refsim_dir / "s1"
    network = read_network_files(d / "links.txt", d / "final_demand.txt", d / "sectors.txt")
    params = DynamicsParams(tau_days=5, recovery="linear", recovery_days=30)
    ours = run(network, read_shocks(d / "delta.txt", network), 100, params).to_frame()["production"].to_numpy()
    reference = np.loadtxt(d / "pact_r0_n15_t6_c30.txt")[:, 1]
    assert np.max(np.abs(ours[1:] - reference[1:]) / reference[1:]) > 1e-6
