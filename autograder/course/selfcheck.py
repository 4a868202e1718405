"""Self-check of one exercise notebook: run it as saved, in a fresh kernel, and say what to fix.

    python selfcheck.py 01_rnn_basics.ipynb [--timeout SECONDS] [--kernel NAME]

The notebook runs from top to bottom in a new kernel (working folder: the notebook's folder),
each cell within a time limit. Then a summary lists every visible test (a test cell present in
the released notebook that contains code) as passed or failed with the first line of its
message, the exercises whose answer cell still raises NotImplementedError, errors in other
cells, and the points of the visible tests. Hidden tests and the grader's own checks are not in
a student's notebook; only their points are shown. Exit code: 0 when every visible test passed,
1 otherwise, 2 when the notebook could not be run at all.

The self-check cell itself (and any cell that calls this script) is skipped, and the kernel it
starts carries an environment variable that makes a nested self-check do nothing. The grader
never runs the self-check cell (autograder/assemble.py drops it).

This file needs only nbformat, nbclient and a Jupyter kernel: `autograder release` copies it
into the release folder unchanged, and `autograder check` runs the same code.
"""
from __future__ import annotations

import argparse
import ast
import os
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

GUARD_ENV = "COURSE_SELFCHECK_RUNNING"
DEFAULT_TIMEOUT_S = 600
_STUB = "raise NotImplementedError"
_CALLS_SELFCHECK = ("selfcheck.py", "autograder check")
_NUMPY_HEADERS = ("Not equal to tolerance", "Arrays are not", "Items are not")


@dataclass(frozen=True)
class TestOutcome:
    """One visible test: "passed", "failed" or "not run", and the first line of its message."""

    name: str
    points: float
    status: str
    message: str = ""


@dataclass(frozen=True)
class CellProblem:
    """An error in a cell that is not a test (an answer, a demo, a training cell)."""

    name: str
    message: str


@dataclass(frozen=True)
class SelfCheckReport:
    notebook: str
    tests: tuple[TestOutcome, ...]
    todo: tuple[str, ...]               # exercises whose answer still raises NotImplementedError
    problems: tuple[CellProblem, ...]
    graded_only_points: float           # hidden tests and grader checks: not in the student's notebook
    runtime_s: float
    stopped: str = ""                   # why execution stopped early ("" if every cell ran)

    @property
    def ok(self) -> bool:
        return all(t.status == "passed" for t in self.tests) and not self.stopped

    @property
    def points(self) -> tuple[float, float]:
        return (sum(t.points for t in self.tests if t.status == "passed"), sum(t.points for t in self.tests))

    def format(self) -> str:
        passed = sum(t.status == "passed" for t in self.tests)
        got, total = self.points
        lines = [f"Self-check of {self.notebook} ({self.runtime_s:.1f} s)", ""]
        if self.stopped:
            lines += [f"Execution stopped early: {self.stopped}", ""]
        lines.append(f"Visible tests ({len(self.tests)}, {total:g} points):")
        for t in self.tests:
            mark = "passed" if t.status == "passed" else t.status.upper()
            lines.append(f"  {mark:<8} {t.name} ({t.points:g} point{'s' if t.points != 1 else ''})")
            if t.message:
                lines.append(f"           {t.message}")
        if self.todo:
            lines += ["", "Still to do (the answer still raises NotImplementedError): " + ", ".join(self.todo)]
        if self.problems:
            lines += ["", "Errors in other cells:"] + [f"  {p.name}: {p.message}" for p in self.problems]
        if self.graded_only_points:
            lines += ["", (f"Hidden tests and the grader's own checks ({self.graded_only_points:g} points) run only "
                           "when your notebook is graded.")]
        lines.append("")
        if self.ok:
            lines.append(f"Result: all {len(self.tests)} visible tests passed ({got:g} of {total:g} points).")
        else:
            lines.append(f"Result: {passed} of {len(self.tests)} visible tests passed ({got:g} of {total:g} points). "
                         f"Fix what is listed above, save the notebook, and run the self-check again.")
        return "\n".join(lines)


def _meta(cell, key: str) -> dict:
    value = cell.get("metadata", {}).get(key, {})
    return value if isinstance(value, dict) else {}


def _name(cell, index: int) -> str:
    return _meta(cell, "nbgrader").get("grade_id") or cell.get("id") or f"cell {index}"


def _has_code(source: str) -> bool:
    return any(line.strip() and not line.strip().startswith("#") for line in source.splitlines())


def is_visible_test(cell) -> bool:
    """A grade cell with code of its own. In a release, hidden-test cells and the grader's checks are
    comments only; in an instructor's source, hidden tests are marked."""
    auto = _meta(cell, "autograder")
    return (cell.cell_type == "code" and bool(_meta(cell, "nbgrader").get("grade"))
            and not auto.get("probe") and not auto.get("model") and _has_code(cell.source)
            and "BEGIN HIDDEN TESTS" not in cell.source)


def is_self_check(cell) -> bool:
    return (_meta(cell, "autograder").get("template") == "self-check"
            or cell.cell_type == "code" and any(s in cell.source for s in _CALLS_SELFCHECK))


def still_to_do(cell, index: int) -> list[str]:
    """The functions of an answer cell that still contain the `raise NotImplementedError` stub."""
    if not _meta(cell, "nbgrader").get("solution") or _STUB not in cell.source:
        return []
    try:
        tree = ast.parse(cell.source)
    except SyntaxError:
        return [_name(cell, index)]
    names = [node.name for node in tree.body if isinstance(node, (ast.FunctionDef, ast.ClassDef))
             and _STUB in (ast.get_source_segment(cell.source, node) or "")]
    return names or [_name(cell, index)]


def _message(reply: dict | None, elapsed: float, timeout: float) -> str | None:
    """None when the cell ran without error; otherwise its error in one line."""
    content = (reply or {}).get("content", {})
    if reply is not None and content.get("status") == "ok":
        return None
    ename, evalue = str(content.get("ename", "Error")), str(content.get("evalue", "")).strip()
    if ename == "KeyboardInterrupt" and elapsed >= timeout * 0.95:
        return f"timed out: the cell ran for more than {timeout:g} s"
    if ename == "NotImplementedError" and not evalue:
        return "NotImplementedError (an exercise it uses is not written yet)"
    lines = [line.strip() for line in evalue.splitlines() if line.strip()]
    if len(lines) > 1 and lines[0].startswith(_NUMPY_HEADERS):   # np.testing: the test's own message is next
        return f"{ename}: {lines[1]} ({lines[0]})"
    return f"{ename}: {lines[0]}" if lines else ename


def run_check(path: Path, *, timeout: float = DEFAULT_TIMEOUT_S, kernel: str | None = None) -> SelfCheckReport:
    """Execute the saved notebook at `path` (self-check cells skipped) and judge its visible tests."""
    import nbformat
    from nbclient import NotebookClient
    from nbclient.exceptions import DeadKernelError

    nb = nbformat.read(str(path), as_version=4)
    kernel = kernel or nb.metadata.get("kernelspec", {}).get("name") or "python3"
    client = NotebookClient(nb, kernel_name=kernel, timeout=int(timeout), allow_errors=True,
                            interrupt_on_timeout=True, resources={"metadata": {"path": str(path.parent)}})
    replies: dict[int, dict] = {}
    client.on_cell_executed = lambda cell, cell_index, execute_reply: replies.__setitem__(cell_index, execute_reply)
    messages: dict[int, str | None] = {}
    stopped, started = "", time.monotonic()
    with client.setup_kernel(env={**os.environ, GUARD_ENV: "1"}, cwd=str(path.parent),
                             stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL):
        for index, cell in enumerate(nb.cells):
            if cell.cell_type != "code" or is_self_check(cell):
                continue
            began = time.monotonic()
            try:
                client.execute_cell(cell, index)
            except DeadKernelError:
                messages[index] = "the kernel died in this cell (crash or out of memory)"
                stopped = f"the kernel died in {_name(cell, index)}; the cells after it did not run"
                break
            messages[index] = _message(replies.get(index), time.monotonic() - began, timeout)

    tests, todo, problems, graded_only = [], [], [], 0.0
    for index, cell in enumerate(nb.cells):
        if cell.cell_type != "code" or is_self_check(cell):
            continue
        todo += still_to_do(cell, index)
        points = float(_meta(cell, "nbgrader").get("points", 0) or 0)
        if is_visible_test(cell):
            if index not in messages:
                tests.append(TestOutcome(_name(cell, index), points, "not run", "execution stopped before this cell"))
            else:
                message = messages[index]
                tests.append(TestOutcome(_name(cell, index), points, "failed" if message else "passed", message or ""))
        elif _meta(cell, "nbgrader").get("grade"):
            graded_only += points
        elif messages.get(index):
            problems.append(CellProblem(_name(cell, index), messages[index]))
    if todo:   # errors that only say "not written yet" are covered by the to-do list
        problems = [p for p in problems if not p.message.startswith("NotImplementedError")]
    return SelfCheckReport(notebook=path.name, tests=tuple(tests), todo=tuple(dict.fromkeys(todo)),
                           problems=tuple(problems), graded_only_points=graded_only,
                           runtime_s=time.monotonic() - started, stopped=stopped)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="selfcheck", description=__doc__.splitlines()[0])
    parser.add_argument("notebook", help="the saved .ipynb file to check")
    parser.add_argument("--timeout", type=float, default=DEFAULT_TIMEOUT_S, help="seconds per cell (default 600)")
    parser.add_argument("--kernel", help="Jupyter kernel name (default: the notebook's own)")
    args = parser.parse_args(argv)
    if os.environ.get(GUARD_ENV):
        print("selfcheck: not run, because this kernel is already running a self-check.")
        return 0
    path = Path(args.notebook)
    if not path.is_file():
        print(f"selfcheck: {path} does not exist. Give the path of your saved notebook.", file=sys.stderr)
        return 2
    print(f"Running {path.name} from the top in a fresh kernel (up to {args.timeout:g} s per cell)...", flush=True)
    try:
        report = run_check(path.resolve(), timeout=args.timeout, kernel=args.kernel)
    except Exception as exc:  # noqa: BLE001 -- unreadable notebook, no such kernel, kernel failed to start
        print(f"selfcheck: could not run {path.name}: {type(exc).__name__}: {exc}", file=sys.stderr)
        return 2
    print(report.format())
    return 0 if report.ok else 1


if __name__ == "__main__":
    sys.exit(main())
