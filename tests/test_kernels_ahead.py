"""A kernel started ahead: the worker's gate, and the bound on kernels that run cells at once.

The grader starts `workers + KERNELS_AHEAD` notebooks; each worker starts its kernel, says READY and
waits for GO (`sandbox._run_worker`), so no more than `workers` kernels ever run cells at once.
"""
from __future__ import annotations

import json
import subprocess
import sys
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import nbformat
import pytest

from autograder.config import load_config
from autograder.grading import sandbox
from autograder.grading.workspace import kernel_env

MARKER = "ran-a-cell"


def _worker(tmp_path: Path) -> subprocess.Popen:
    nb = nbformat.v4.new_notebook()
    nb.cells = [nbformat.v4.new_code_cell(f"open({MARKER!r}, 'w').write('x')")]
    job = {"notebook": nb, "workdir": str(tmp_path), "env": kernel_env(tmp_path, 0), "kernel": None,
           "timeouts": {"cell_s": 30, "cells": {}, "notebook_s": 60, "kernel_start_s": 60}, "limits": {},
           "gate": True}
    proc = subprocess.Popen([sys.executable, "-m", "autograder.grading.worker"], cwd=tmp_path,
                            stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL)
    assert proc.stdin is not None and proc.stdout is not None
    proc.stdin.write(json.dumps(job).encode() + b"\n")
    proc.stdin.flush()
    # 60 s: the worker and its kernel start in about 1 s here
    said, late = sandbox._read_until_line(proc.stdout.fileno(), time.monotonic() + 60)
    assert not late and said == b"READY\n"
    return proc


def test_a_worker_left_at_a_closed_gate_runs_no_cell(tmp_path: Path) -> None:
    proc = _worker(tmp_path)
    out, _ = proc.communicate(timeout=60)                # stdin closed, no GO: the grader went away (1 s here)
    assert proc.returncode == 3 and out == b""
    assert not (tmp_path / MARKER).exists()


def test_honest_control_a_worker_let_through_runs_its_cells(tmp_path: Path) -> None:
    proc = _worker(tmp_path)
    out, _ = proc.communicate(b"GO\n", timeout=60)
    assert proc.returncode == 0 and (tmp_path / MARKER).exists()
    done, answer = out.split(b"\n", 1)                   # DONE: the cells are over, the slot is free
    assert done == b"DONE" and json.loads(answer)["execution"]["outcomes"][0]["error"] is None


def _cell_windows(tmp_path: Path, course_root: Path, *, in_flight: int, running: int) -> list[tuple[float, float]]:
    """Run `in_flight` one-cell notebooks at once through `sandbox.execute`, with `running` slots:
    the (start, end) wall-clock times of each notebook's cell, in start order."""
    config = load_config(course_root)
    view = sandbox.kernel_view() if sandbox.probe_isolation().available else None
    plan = sandbox.SandboxPlan(isolated=view is not None, note="", view=view,
                               running=threading.Semaphore(running))

    def one(i: int) -> tuple[float, float]:
        workdir = tmp_path / f"nb{i}"
        workdir.mkdir(parents=True)
        nb = nbformat.v4.new_notebook()
        nb.cells = [nbformat.v4.new_code_cell("import time\nt0 = time.time(); time.sleep(1.5)\nprint(t0, time.time())")]
        out, execution = sandbox.execute(nb, workdir=workdir, env=kernel_env(workdir, 0), config=config, plan=plan)
        assert not execution.stopped, execution.stopped
        start, end = out.cells[0].outputs[0]["text"].split()
        return float(start), float(end)

    with ThreadPoolExecutor(max_workers=in_flight) as pool:
        return sorted(pool.map(one, range(in_flight)))


@pytest.mark.slow
def test_kernels_started_ahead_never_run_cells_beside_the_running_ones(tmp_path: Path, course_root: Path) -> None:
    windows = _cell_windows(tmp_path / "bounded", course_root, in_flight=3, running=1)
    assert all(end <= next_start for (_, end), (next_start, _) in zip(windows, windows[1:])), windows
    # Control: with a slot for each, the same notebooks do run side by side, so the check can see overlap.
    free = _cell_windows(tmp_path / "free", course_root, in_flight=3, running=3)
    assert any(end > next_start for (_, end), (next_start, _) in zip(free, free[1:])), free
