"""Grading on a real Dask cluster on loopback: a scheduler and two workers, one killed mid-batch."""
from __future__ import annotations

import json
import os
import signal
import sqlite3
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest
from conftest import recorded_submissions

from autograder.config import load_config
from autograder.grading.pipeline import load_context
from autograder.qa.samples import write_samples
from autograder.run.batch import grade_path

pytest.importorskip("distributed")
pytestmark = pytest.mark.slow
DASK = str(Path(sys.executable).parent / "dask")


def _wait_for(predicate, timeout: float = 60.0) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise TimeoutError("condition not met in time")
        time.sleep(0.1)


@pytest.fixture
def cluster(tmp_path: Path):
    scheduler_file = tmp_path / "scheduler.json"
    procs = [subprocess.Popen([DASK, "scheduler", "--host", "127.0.0.1", "--port", "0", "--no-dashboard",
                               "--scheduler-file", str(scheduler_file)], stdout=subprocess.DEVNULL,
                              stderr=subprocess.DEVNULL, start_new_session=True)]
    _wait_for(scheduler_file.exists)
    address = json.loads(scheduler_file.read_text())["address"]
    for _ in range(2):
        procs.append(subprocess.Popen([DASK, "worker", address, "--nthreads", "1", "--no-dashboard",
                                       "--host", "127.0.0.1"], stdout=subprocess.DEVNULL,
                                      stderr=subprocess.DEVNULL, start_new_session=True))
    from distributed import Client
    with Client(address, timeout="30s") as client:
        client.wait_for_workers(2, timeout=60)
    try:
        yield address, procs
    finally:
        for proc in procs:
            try:
                os.killpg(proc.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
            proc.wait()


def test_cluster_gives_the_local_grades_and_survives_a_lost_worker(cluster, tmp_path: Path, course_root: Path) -> None:
    address, procs = cluster
    config = load_config(course_root)
    ctx = load_context(config)
    write_samples(ctx, tmp_path / "submitted", complete=False)
    local = grade_path(config=config.with_gradebook(tmp_path / "local.db"), path=tmp_path / "submitted",
                       progress=False, context=ctx)

    db = tmp_path / "dask.db"
    outcome = {}

    def run() -> None:
        outcome["report"] = grade_path(config=config.with_gradebook(db), path=tmp_path / "submitted",
                                       progress=False, context=ctx, scheduler=address)

    thread = threading.Thread(target=run)
    thread.start()

    _wait_for(lambda: recorded_submissions(db) >= 1 or not thread.is_alive(), timeout=300)
    os.killpg(procs[1].pid, signal.SIGKILL)          # one worker (and its nanny) dies mid-batch
    thread.join(timeout=600)
    report = outcome["report"]
    assert {r.student for r in report.results} == {r.student for r in local.results}
    remote = {r.student: [n.tests for n in r.notebooks] for r in report.results}
    expected = {r.student: [n.tests for n in r.notebooks] for r in local.results}
    differing = {s: [(t.test, t.reason) for t in remote[s][0] if t.status == "error"][:2]
                 for s in remote if remote[s] != expected[s]}
    assert not differing, (differing, [(r.student, r.notebooks[0].notes) for r in report.results])
    with sqlite3.connect(db) as conn:
        assert conn.execute("select count(*) from autograder_submissions").fetchone()[0] == len(local.results)
