"""A Monte Carlo job through the server on a Dask cluster (``coreatlas worker --dask``, here a
``distributed.LocalCluster`` on 127.0.0.1): its chunks run on the cluster, and its result is
the local run's for the same seed."""

from __future__ import annotations

import json
import threading

import pytest

from coreatlas import services
from coreatlas.services.server import run_worker
from coreatlas.store.results import canonical_json

distributed = pytest.importorskip("distributed")

REQUEST = {"data": "chips", "years": 2000, "seed": 7,
           "hazards": [{"targets": ["TWN"], "annual_probability": 0.05, "duration_days": 90},
                       {"targets": ["JPN"], "annual_probability": 0.1, "duration_days": 30}]}  # fmt: skip


@pytest.fixture(scope="module")
def cluster():
    with distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True, host="127.0.0.1", dashboard_address=None) as local:
        yield local


def _without_time(doc: dict) -> dict:
    doc = json.loads(canonical_json(doc))
    doc["provenance"].pop("created_at")
    return doc


@pytest.mark.filterwarnings("ignore")  # distributed's own warnings (ports, event loops) are not ours
def test_a_monte_carlo_job_on_dask_equals_the_local_run(server, admin, cluster):
    server.settings["dask"] = cluster.scheduler_address
    before = cluster.scheduler.transition_counter
    job_id = server.submit_job(admin, "default", "montecarlo", REQUEST)
    assert run_worker(server, "dask-worker", threading.Event(), lease_seconds=60, max_jobs=1) == 1
    job = server.get_job(admin, job_id)
    assert job["state"] == "succeeded", job["error"]
    assert cluster.scheduler.transition_counter > before, "no task ran on the Dask cluster"
    on_dask = server.job_result(admin, job_id)
    local = services.run("montecarlo", REQUEST).to_dict()  # a local process pool, the same seed
    assert on_dask["provenance"]["request"]["scheduler"] is None  # the server's cluster is not shown
    assert _without_time(on_dask) == _without_time(local)
    other_seed = services.run("montecarlo", {**REQUEST, "seed": 8}).to_dict()
    assert _without_time(other_seed) != _without_time(local)  # the comparison can fail
