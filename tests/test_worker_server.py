"""The grading workers' fork server: a forked worker answers as `python -m autograder.grading.worker`
does, and no worker outlives the grading process that asked for it."""
from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import nbformat

from autograder.grading import sandbox
from autograder.grading.workspace import kernel_env
from autograder.grading.worker_server import WorkerServer

CELLS = ("print('hello from', 6 * 7)", "raise ValueError('planted')", "open('ran', 'w').write('x')")


def _job(workdir: Path, *, gate: bool) -> bytes:
    nb = nbformat.v4.new_notebook()
    nb.cells = [nbformat.v4.new_code_cell(source) for source in CELLS]
    job = {"notebook": nb, "workdir": str(workdir), "env": kernel_env(workdir, 0), "kernel": None,
           "timeouts": {"cell_s": 30, "cells": {}, "notebook_s": 60, "kernel_start_s": 60}, "limits": {},
           "gate": gate}
    return json.dumps(job).encode() + b"\n"


def _env(workdir: Path) -> dict[str, str]:
    return sandbox.worker_env(workdir)


def _gone(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/status").read_text()
    except OSError:
        return True
    return "\nState:\tZ" in state          # a zombie has ended; only its parent's wait is missing


def _wait_gone(pid: int, within_s: float) -> bool:
    deadline = time.monotonic() + within_s
    while time.monotonic() < deadline:
        if _gone(pid):
            return True
        time.sleep(0.05)
    return _gone(pid)


def test_a_forked_worker_answers_as_a_started_worker_does(tmp_path: Path) -> None:
    answers = {}
    for way in ("forked", "started"):
        workdir = tmp_path / way
        workdir.mkdir()
        if way == "forked":
            server = WorkerServer()
            with tempfile.TemporaryFile() as stderr:
                worker = server.spawn(cwd=workdir, env=_env(workdir), cgroups=(), stderr=stderr)
                worker.stdin.write(_job(workdir, gate=False))
                worker.stdin.close()
                out, late = sandbox._read_to_end(worker.stdout, time.monotonic() + 60)   # about 1 s here
                status = worker.wait(60)
                worker.close()
        else:
            done = subprocess.run([sys.executable, "-m", "autograder.grading.worker"], cwd=workdir,
                                  input=_job(workdir, gate=False), capture_output=True, env=_env(workdir), timeout=60)
            out, late, status = done.stdout, False, done.returncode
        assert not late and status == 0, (way, status)
        assert (workdir / "ran").read_text() == "x", way
        answer = json.loads(out)
        answers[way] = ([c.get("outputs", [{}])[0].get("text", "") for c in answer["notebook"]["cells"][:1]],
                        [(o["index"], o["ran"], (o["error"] or [None])[0]) for o in answer["execution"]["outcomes"]])
    assert answers["forked"] == answers["started"]
    assert answers["forked"] == (["hello from 42\n"], [(0, True, None), (1, True, "ValueError"), (2, True, None)])


def _at_the_gate(server: WorkerServer, workdir: Path, stderr) -> object:
    worker = server.spawn(cwd=workdir, env=_env(workdir), cgroups=(), stderr=stderr)
    worker.stdin.write(_job(workdir, gate=True))
    said, late = sandbox._read_until_line(worker.stdout, time.monotonic() + 60)   # READY in about 1 s here
    assert not late and said == b"READY\n"
    return worker


def test_when_the_grader_goes_away_its_workers_go_too(tmp_path: Path) -> None:
    server = WorkerServer()
    with tempfile.TemporaryFile() as stderr:
        worker = _at_the_gate(server, tmp_path, stderr)
        server_pid = server._proc.pid
        server._channel.shutdown(2)            # what the grading process's exit does to the socket
        assert _wait_gone(worker.pid, 30), "the worker outlived the grading process"   # under 1 s here
        assert _wait_gone(server_pid, 30)
    assert not (tmp_path / "ran").exists()


def test_honest_control_a_worker_waits_at_the_gate_while_the_grader_is_there(tmp_path: Path) -> None:
    server = WorkerServer()
    with tempfile.TemporaryFile() as stderr:
        worker = _at_the_gate(server, tmp_path, stderr)
        time.sleep(1.0)
        assert not _gone(worker.pid)
        worker.stdin.write(b"GO\n")
        worker.stdin.close()
        out, late = sandbox._read_to_end(worker.stdout, time.monotonic() + 60)
        assert not late and worker.wait(60) == 0 and out.startswith(b"DONE\n")
        worker.close()
    assert (tmp_path / "ran").exists()


def test_a_server_that_died_is_replaced_and_its_waiting_workers_end_without_a_status(tmp_path: Path) -> None:
    server = WorkerServer()
    with tempfile.TemporaryFile() as stderr:
        worker = _at_the_gate(server, tmp_path, stderr)
        first = server._proc.pid
        os.kill(first, signal.SIGKILL)
        assert worker.wait(30) is None                       # no status: the server could not report one
        worker.kill()
        worker.close()
        again = tmp_path / "again"
        again.mkdir()
        replacement = _at_the_gate(server, again, stderr)
        assert server._proc.pid != first
        replacement.kill()
        assert replacement.wait(30) == -signal.SIGKILL
        replacement.close()
