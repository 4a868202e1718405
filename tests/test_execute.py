"""execute_notebook(): real kernels; stderr is not failure; limits hold; crashes are contained.

Every case runs twice: with the kernel on the host, and with the kernel inside the bubblewrap
sandbox (ipc sockets, message interrupts, bwrap between the client and the kernel)."""
from __future__ import annotations

import os
import shutil
import tempfile
import time
from pathlib import Path

import nbformat
import pytest

from autograder.grading import sandbox
from autograder.grading.execute import StopCause, execute_notebook
from autograder.grading.workspace import kernel_env

SANDBOXED = pytest.mark.skipif(not sandbox.probe_isolation().available, reason="bwrap cannot run here")


@pytest.fixture(params=["host", pytest.param("sandbox", marks=SANDBOXED)])
def where(request) -> str:
    return request.param


def _run(tmp_path: Path, where: str, *sources: str, cell_s: float = 10, notebook_s: float = 60,
         max_output_bytes: int = 1 << 20, ready=None):
    nb = nbformat.v4.new_notebook()
    nb.cells = [nbformat.v4.new_code_cell(s) for s in sources]
    env, launch = kernel_env(tmp_path, 0), None
    sockets = Path(tempfile.mkdtemp(prefix="ag-test-", dir="/tmp"))
    try:
        if where == "sandbox":
            as_root = sandbox.probe_isolation().as_root
            if as_root:
                sandbox.give_to_nobody(tmp_path)
                os.chown(sockets, sandbox.NOBODY, sandbox.NOBODY)
            launch = sandbox.kernel_view().launch(tmp_path, sockets, env, as_root=as_root)
            env = {"PATH": "/usr/bin:/bin"}
        started = time.monotonic()
        result = execute_notebook(nb, workdir=tmp_path, env=env, cell_timeout=lambda cell: cell_s,
                                  notebook_timeout_s=notebook_s, max_output_bytes=max_output_bytes,
                                  launch=launch, ready=ready)
        return result, time.monotonic() - started, nb
    finally:
        shutil.rmtree(sockets, ignore_errors=True)


def test_stderr_is_not_a_failure_and_errors_are(tmp_path: Path, where: str) -> None:
    result, _, _ = _run(tmp_path, where, "import sys; sys.stderr.write('W tensorflow: noisy log line\\n')",
                        "assert 1 == 2, 'one is not two'", "x = 3")
    assert result.outcomes[0].error is None
    assert result.outcomes[1].error[0] == "AssertionError" and "one is not two" in result.outcomes[1].error[1]
    assert result.outcomes[2].error is None and not result.stopped


def test_a_printed_number_is_a_score(tmp_path: Path, where: str) -> None:
    result, _, _ = _run(tmp_path, where, "0.5")
    assert result.outcomes[0].printed_score == 0.5


@pytest.mark.slow
def test_timeout_interrupts_and_the_notebook_goes_on(tmp_path: Path, where: str) -> None:
    result, _, _ = _run(tmp_path, where, "import time\nwhile True: time.sleep(0.1)", "y = 1", cell_s=2)
    assert result.outcomes[0].timed_out
    assert result.outcomes[1].error is None and not result.stopped


@pytest.mark.slow
def test_loop_that_swallows_interrupts_is_killed(tmp_path: Path, where: str) -> None:
    code = "import signal\nsignal.signal(signal.SIGINT, signal.SIG_IGN)\nwhile True:\n    pass"
    result, elapsed, _ = _run(tmp_path, where, code, "y = 1", cell_s=2)
    assert result.outcomes[0].timed_out and 1 not in result.outcomes
    assert "did not stop" in result.stopped and result.cause is StopCause.CELL_STUCK
    assert elapsed < 30


def test_kernel_death_is_contained(tmp_path: Path, where: str) -> None:
    result, _, _ = _run(tmp_path, where, "import os; os._exit(1)", "y = 1")
    assert result.outcomes[0].error[0] == "DeadKernelError"
    assert "kernel died" in result.stopped and 1 not in result.outcomes
    assert result.cause is StopCause.KERNEL_DIED


@pytest.mark.slow
def test_notebook_budget_stops_execution(tmp_path: Path, where: str) -> None:
    result, elapsed, _ = _run(tmp_path, where, "import time; time.sleep(1.5)", "import time; time.sleep(1.5)",
                              "z = 1", cell_s=10, notebook_s=2)
    assert "notebook time limit" in result.stopped and 2 not in result.outcomes
    assert elapsed < 20


def test_output_is_truncated(tmp_path: Path, where: str) -> None:
    result, _, nb = _run(tmp_path, where, "for i in range(20000):\n    print('flood' * 20)", "y = 1",
                         max_output_bytes=64 * 1024)
    text = "".join(o.get("text", "") for o in nb.cells[0].outputs)
    assert "output truncated by the grader" in text and len(text) < 200 * 1024
    assert result.outcomes[1].error is None


def test_kernel_home_is_the_workspace(tmp_path: Path, where: str) -> None:
    # on the host the workspace keeps its path; in the sandbox it is /workspace
    expected = str(tmp_path) if where == "host" else sandbox.WORKSPACE
    result, _, _ = _run(tmp_path, where, f"import os\nassert os.environ['HOME'].startswith({expected!r})\n"
                                         f"assert os.getcwd() == {expected!r}\n"
                                         "open('note.txt', 'w').write('kept')")
    assert result.outcomes[0].error is None
    assert (tmp_path / "note.txt").read_text() == "kept"


def test_no_student_code_runs_after_the_last_cell(tmp_path: Path, where: str) -> None:
    """The kernel is killed after the last cell: an atexit handler (which could rewrite a side file
    after the cells were measured) never runs. The honest control: what a cell writes is kept."""
    result, _, _ = _run(tmp_path, where, "import atexit\n"
                                         "atexit.register(lambda: open('after_last_cell.txt', 'w').write('x'))\n"
                                         "open('in_a_cell.txt', 'w').write('kept')")
    assert result.outcomes[0].error is None, result.outcomes[0].error
    assert (tmp_path / "in_a_cell.txt").read_text() == "kept"
    assert not (tmp_path / "after_last_cell.txt").exists()


def test_kernel_environment_is_only_kernel_env(tmp_path: Path, where: str, monkeypatch) -> None:
    """A variable of the grader's process never reaches the kernel (the env is built from nothing)."""
    monkeypatch.setenv("GRADER_ONLY_SECRET", "s3cr3t")
    result, _, _ = _run(tmp_path, where, "import os\nassert 'GRADER_ONLY_SECRET' not in os.environ, 'leaked'\n"
                                         "assert os.environ['COURSE_SEED'] == '0'")
    assert result.outcomes[0].error is None, result.outcomes[0].error


def test_the_gate_opens_after_the_kernel_answers_and_its_wait_counts_against_no_limit(tmp_path: Path) -> None:
    """A kernel started ahead waits at `ready` for a free slot: the wait is not notebook time."""
    opened: list[float] = []

    def ready() -> None:
        time.sleep(5)
        opened.append(time.time())

    # limit 4 s: the kernel's start and both cells take about 1 s here; the wait at the gate is 5 s
    result, _, nb = _run(tmp_path, "host", "import time; print(repr(time.time()))", "y = 1",
                         notebook_s=4, ready=ready)
    assert not result.stopped and result.outcomes[1].error is None
    assert result.runtime_s < 5
    first_cell_ran_at = float(nb.cells[0].outputs[0]["text"])
    assert len(opened) == 1 and first_cell_ran_at > opened[0]         # no cell before the gate opened
