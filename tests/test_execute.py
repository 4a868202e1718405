"""execute_notebook(): real kernels; stderr is not failure; limits hold; crashes are contained."""
from __future__ import annotations

import time
from pathlib import Path

import nbformat

from autograder.grading.execute import execute_notebook
from autograder.grading.workspace import kernel_env


def _run(tmp_path: Path, *sources: str, cell_s: float = 10, notebook_s: float = 60):
    nb = nbformat.v4.new_notebook()
    nb.cells = [nbformat.v4.new_code_cell(s) for s in sources]
    started = time.monotonic()
    result = execute_notebook(nb, workdir=tmp_path, env=kernel_env(tmp_path, 0),
                              cell_timeout=lambda cell: cell_s, notebook_timeout_s=notebook_s)
    return result, time.monotonic() - started


def test_stderr_is_not_a_failure_and_errors_are(tmp_path: Path) -> None:
    result, _ = _run(tmp_path, "import sys; sys.stderr.write('W tensorflow: noisy log line\\n')",
                     "assert 1 == 2, 'one is not two'", "x = 3")
    assert result.outcomes[0].error is None
    assert result.outcomes[1].error[0] == "AssertionError" and "one is not two" in result.outcomes[1].error[1]
    assert result.outcomes[2].error is None and not result.stopped


def test_a_printed_number_is_a_score(tmp_path: Path) -> None:
    result, _ = _run(tmp_path, "0.5")
    assert result.outcomes[0].printed_score == 0.5


def test_timeout_interrupts_and_the_notebook_goes_on(tmp_path: Path) -> None:
    result, _ = _run(tmp_path, "import time\nwhile True: time.sleep(0.1)", "y = 1", cell_s=2)
    assert result.outcomes[0].timed_out
    assert result.outcomes[1].error is None and not result.stopped


def test_loop_that_swallows_interrupts_is_killed(tmp_path: Path) -> None:
    code = "import signal\nsignal.signal(signal.SIGINT, signal.SIG_IGN)\nwhile True:\n    pass"
    result, elapsed = _run(tmp_path, code, "y = 1", cell_s=2)
    assert result.outcomes[0].timed_out and 1 not in result.outcomes
    assert "did not stop" in result.stopped
    assert elapsed < 30


def test_kernel_death_is_contained(tmp_path: Path) -> None:
    result, _ = _run(tmp_path, "import os; os._exit(1)", "y = 1")
    assert result.outcomes[0].error[0] == "DeadKernelError"
    assert "kernel died" in result.stopped and 1 not in result.outcomes


def test_notebook_budget_stops_execution(tmp_path: Path) -> None:
    result, elapsed = _run(tmp_path, "import time; time.sleep(1.5)", "import time; time.sleep(1.5)",
                           "z = 1", cell_s=10, notebook_s=2)
    assert "notebook time limit" in result.stopped and 2 not in result.outcomes
    assert elapsed < 20


def test_kernel_home_is_the_workspace(tmp_path: Path) -> None:
    result, _ = _run(tmp_path, f"import os\nassert os.environ['HOME'].startswith({str(tmp_path)!r})\n"
                               f"assert os.getcwd() == {str(tmp_path)!r}")
    assert result.outcomes[0].error is None
