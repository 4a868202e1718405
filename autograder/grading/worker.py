"""`python -m autograder.grading.worker`: execute one notebook and report back.

The grader runs `main()` in a fork of `worker_server.py` (the imports below are done once per
batch there); `python -m` runs the same code.

Reads one JSON job (one line) on stdin, applies resource limits to itself (they are inherited by bwrap and
the kernel it starts), runs the notebook with `execute.execute_notebook` (the kernel inside the
sandbox when the job has a `kernel` launch), and writes one JSON answer on stdout: the executed
notebook and the per-cell outcomes. The worker itself runs outside the sandbox, with the minimal
environment the grader gave it; it imports no reference code and receives no hidden data beyond
the notebook it runs.

With `"gate": true` in the job, the worker starts the kernel, writes `READY` on stdout and waits for
a `GO` line on stdin before the first cell: the grader starts the next kernel while the current
notebooks run, and lets it run cells only when a slot is free. Any other line, or the end of stdin,
kills the kernel and ends the worker with status 3, nothing run. After the last cell it writes
`DONE` (the slot is free again) and kills the kernel before the answer.
"""
from __future__ import annotations

import json
import resource
import signal
import sys
from pathlib import Path

import nbformat

from autograder.course.notebooks import grade_id
from autograder.grading.execute import KernelLaunch, execute_notebook

MB = 1024 * 1024


def apply_limits(limits: dict) -> None:
    """Memory (address space), file size, process count, CPU seconds and core dumps, for this process tree."""
    def cap(kind: int, value: int) -> None:
        soft, hard = resource.getrlimit(kind)
        value = value if hard == resource.RLIM_INFINITY else min(value, hard)
        resource.setrlimit(kind, (value, value))

    if limits.get("memory_mb"):
        cap(resource.RLIMIT_AS, int(limits["memory_mb"]) * MB)
    if limits.get("max_file_mb"):
        cap(resource.RLIMIT_FSIZE, int(limits["max_file_mb"]) * MB)
        signal.signal(signal.SIGXFSZ, signal.SIG_IGN)   # an oversized write raises OSError instead of killing
    if limits.get("max_processes"):
        # Set only without a pids cgroup: RLIMIT_NPROC counts every process of the kernel's uid, and
        # concurrent kernels share uid 65534. Root (this worker, bwrap) is exempt; the kernel is not.
        cap(resource.RLIMIT_NPROC, int(limits["max_processes"]))
    if limits.get("cpu_s"):
        cap(resource.RLIMIT_CPU, int(limits["cpu_s"]))
    cap(resource.RLIMIT_CORE, 0)


class NotLetThrough(Exception):
    """The grader closed the gate instead of opening it: no cell may run."""


def main() -> int:
    job = json.loads(sys.stdin.readline())
    real_stdout, sys.stdout = sys.stdout, sys.stderr      # nothing but READY, DONE and the answer go to stdout

    def wait_at_gate() -> None:
        real_stdout.write("READY\n")
        real_stdout.flush()
        if sys.stdin.readline().strip() != "GO":
            raise NotLetThrough

    def say_done() -> None:
        real_stdout.write("DONE\n")
        real_stdout.flush()

    apply_limits(job.get("limits", {}))
    nb = nbformat.from_dict(job["notebook"])
    timeouts = job["timeouts"]
    try:
        execution = execute_notebook(
            nb, workdir=Path(job["workdir"]), env=job["env"],
            cell_timeout=lambda cell: float(timeouts["cells"].get(grade_id(cell) or "", timeouts["cell_s"])),
            notebook_timeout_s=float(timeouts["notebook_s"]), startup_timeout_s=float(timeouts["kernel_start_s"]),
            max_output_bytes=int(job.get("limits", {}).get("max_output_kb", 1024)) * 1024,
            launch=KernelLaunch.from_json(job["kernel"]) if job.get("kernel") else None,
            **({"ready": wait_at_gate, "cells_done": say_done} if job.get("gate") else {}))
    except NotLetThrough:
        return 3
    real_stdout.write(json.dumps({"notebook": nb, "execution": execution.to_json()}))
    real_stdout.flush()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
