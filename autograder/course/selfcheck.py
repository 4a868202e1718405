"""Self-check of one exercise notebook: run it as saved, in a fresh kernel, and say what to fix.

    python selfcheck.py 01_rnn_basics.ipynb [--timeout SECONDS] [--kernel NAME]
    python selfcheck.py 01_rnn_basics.ipynb --running PATH --latest      (what the self-check cell runs)

Which file: the one named, from a terminal. The notebook's self-check cell passes the path its
editor reports for the notebook it runs in (`--running`: VS Code's `__vsc_ipynb_file__`, Jupyter's
`__session__` / `JPY_SESSION_NAME`), so a notebook saved as "01_rnn_basics (1).ipynb" checks
itself; when that path is unknown or gone (renamed after the kernel started), `--latest` takes the
most recently saved copy of the released name in the folder ("NAME (1)", "NAME-1", "NAME-Copy1",
"NAME copy", "Copy of NAME", ...). The first line printed says which file was checked and why.

The notebook runs from top to bottom in a new kernel (working folder: the notebook's folder),
each cell within a time limit. Then a summary lists every visible test (a test cell present in
the released notebook that contains code) as passed or failed with the first line of its
message, the exercises whose answer cell still raises NotImplementedError, errors in other
cells, and the points of the visible tests. A cell Python could not read (SyntaxError,
IndentationError) is reported first, as the cause: nothing in it was defined, so the tests that
use it fail with NameError. Hidden tests and the grader's own checks are not in
a student's notebook; only their points are shown. Exit code: 0 when every visible test passed,
1 otherwise, 2 when the notebook could not be run at all.

The self-check cell itself (and any cell that calls this script) is skipped, and the kernel it
starts carries an environment variable that makes a nested self-check do nothing. The grader
never runs the self-check cell (autograder/grading/assemble.py drops it).

This file needs only nbformat, nbclient and a Jupyter kernel: `autograder release` copies it
into the release folder unchanged, and `autograder check` runs the same code.
"""
from __future__ import annotations

import argparse
import ast
import os
import re
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
_SYNTAX_ERRORS = ("SyntaxError", "IndentationError", "TabError")


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
class SyntaxProblem:
    """A cell Python could not read: its name, the line (1-based, in the cell) and that line's code."""

    name: str
    message: str                        # "SyntaxError: '(' was never closed"
    line: int = 0                       # 0 when unknown
    code: str = ""


@dataclass(frozen=True)
class SelfCheckReport:
    notebook: str
    tests: tuple[TestOutcome, ...]
    todo: tuple[str, ...]               # exercises whose answer still raises NotImplementedError
    problems: tuple[CellProblem, ...]
    graded_only_points: float           # hidden tests and grader checks: not in the student's notebook
    runtime_s: float
    stopped: str = ""                   # why execution stopped early ("" if every cell ran)
    syntax: tuple[SyntaxProblem, ...] = ()   # cells that could not be read: the first thing to fix

    @property
    def ok(self) -> bool:
        return all(t.status == "passed" for t in self.tests) and not self.stopped and not self.syntax

    @property
    def points(self) -> tuple[float, float]:
        return (sum(t.points for t in self.tests if t.status == "passed"), sum(t.points for t in self.tests))

    def format(self) -> str:
        passed = sum(t.status == "passed" for t in self.tests)
        got, total = self.points
        lines = [f"Self-check of {self.notebook} ({self.runtime_s:.1f} s)", ""]
        if self.stopped:
            lines += [f"Execution stopped early: {self.stopped}", ""]
        for problem in self.syntax:
            where = f", line {problem.line}" if problem.line else ""
            lines.append(f"Fix this first: Python cannot read the cell {problem.name}{where}.")
            if problem.code:
                lines.append(f"    {problem.code}")
            lines += [f"  {problem.message}",
                      "  Nothing in that cell was defined, so the tests that use it fail below (often with NameError).", ""]
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
    """The functions of an answer cell that still contain the `raise NotImplementedError` stub
    (none for a cell Python cannot read: that is reported as a syntax error instead)."""
    if not _meta(cell, "nbgrader").get("solution") or _STUB not in cell.source:
        return []
    try:
        tree = ast.parse(cell.source)
    except SyntaxError:
        return []
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


def syntax_problem(cell, index: int, reply: dict | None) -> SyntaxProblem | None:
    """The cell's SyntaxError (IndentationError, TabError) as the kernel reported it, or None.

    IPython's evalue reads "<message> (<file>, line N)"; the line's code comes from the cell."""
    content = (reply or {}).get("content", {})
    if content.get("status") != "error" or content.get("ename") not in _SYNTAX_ERRORS:
        return None
    evalue = str(content.get("evalue", "")).strip()
    found = re.search(r"\((?:[^,()]*), line (\d+)\)$", evalue)
    line = int(found.group(1)) if found else 0
    message = evalue[: found.start()].strip() if found else evalue
    lines = cell.source.splitlines()
    code = lines[line - 1].strip() if 0 < line <= len(lines) else ""
    return SyntaxProblem(_name(cell, index), f"{content['ename']}: {message}" if message else content["ename"],
                         line, code)


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

    tests, todo, problems, graded_only, syntax = [], [], [], 0.0, []
    for index, cell in enumerate(nb.cells):
        if cell.cell_type != "code" or is_self_check(cell):
            continue
        todo += still_to_do(cell, index)
        unreadable = syntax_problem(cell, index, replies.get(index))
        if unreadable is not None:
            syntax.append(unreadable)
            if not is_visible_test(cell):
                continue
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
                           runtime_s=time.monotonic() - started, stopped=stopped, syntax=tuple(syntax))


_COPY_SUFFIX = r"(?:\s?\(\d+\)|-\d+|\s?-?\s?copy\s?\d*)*"


def _copy_pattern(stem: str) -> re.Pattern:
    """File names of `stem`.ipynb and its copies: "NAME (1)", "NAME(2)", "NAME-1", "NAME-Copy1",
    "NAME copy", "NAME - Copy (2)", "Copy of NAME", in any letter case."""
    return re.compile(rf"^(?:copy of )?{re.escape(stem)}{_COPY_SUFFIX}\.ipynb$", re.IGNORECASE)


def copies_of(named: Path) -> list[Path]:
    """The notebook `named` is a copy of (or is) and all its copies in its folder, newest first."""
    folder = named.parent if str(named.parent) else Path(".")
    base = re.match(rf"^(?:copy of )?(.+?){_COPY_SUFFIX}$", named.stem, re.IGNORECASE)
    pattern = _copy_pattern(base.group(1) if base else named.stem)
    found = [p for p in folder.glob("*.ipynb") if pattern.match(p.name) and p.is_file()] if folder.is_dir() else []
    return sorted(found, key=lambda p: (p.stat().st_mtime, p.name), reverse=True)


def _saved(path: Path) -> str:
    return time.strftime("%H:%M:%S", time.localtime(path.stat().st_mtime))


def choose_notebook(named: Path, *, running: str = "", latest: bool = False) -> tuple[Path, str]:
    """The notebook to check, and why, in words the student reads first.

    `running` (the editor's path of the notebook the self-check cell runs in) wins when it is a
    file; else, with `latest`, the most recently saved copy of `named` in its folder; else `named`.
    Raises FileNotFoundError, with what to do, when there is none."""
    copies = copies_of(named)
    if running:
        here = Path(running).expanduser()
        here = here if here.is_absolute() else Path.cwd() / here
        if here.is_file() and here.suffix == ".ipynb":
            newer = [p for p in copies if p.resolve() != here.resolve() and p.stat().st_mtime > here.stat().st_mtime + 1]
            note = (f"; note: {newer[0].name} was saved more recently ({_saved(newer[0])}) - is that the one "
                    f"you are working in?") if newer else ""
            return here, f"the notebook this cell runs in (saved {_saved(here)}){note}"
        gone = f"the editor names {running}, which does not exist (renamed since the kernel started?); "
    else:
        gone = ""
    if latest and copies:
        chosen, others = copies[0], copies[1:]
        why = (f"the most recently saved (at {_saved(chosen)}) of {len(copies)} copies of {named.name} here; "
               f"also here: {', '.join(p.name for p in others)}" if others else f"the only copy of {named.name} here")
        if not running:
            why += " (the editor did not say which notebook this cell runs in)"
        return chosen, gone + why
    if named.is_file():
        return named, gone + "the notebook named on the command line"
    hint = f" Copies here: {', '.join(p.name for p in copies)}." if copies else ""
    raise FileNotFoundError(f"{named} does not exist. Give the path of your saved notebook.{hint}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="selfcheck", description=__doc__.splitlines()[0])
    parser.add_argument("notebook", help="the saved .ipynb file to check")
    parser.add_argument("--timeout", type=float, default=DEFAULT_TIMEOUT_S, help="seconds per cell (default 600)")
    parser.add_argument("--kernel", help="Jupyter kernel name (default: the notebook's own)")
    parser.add_argument("--running", default="", metavar="PATH",
                        help="the notebook the calling cell runs in, as its editor reports it (checked instead of "
                             "NOTEBOOK when it exists)")
    parser.add_argument("--latest", action="store_true",
                        help="without a usable --running, check the most recently saved copy of NOTEBOOK in its "
                             "folder ('NAME (1).ipynb', 'NAME-Copy1.ipynb', 'Copy of NAME.ipynb', ...)")
    args = parser.parse_args(argv)
    if os.environ.get(GUARD_ENV):
        print("selfcheck: not run, because this kernel is already running a self-check.")
        return 0
    try:
        path, why = choose_notebook(Path(args.notebook), running=args.running, latest=args.latest)
    except FileNotFoundError as exc:
        print(f"selfcheck: {exc}", file=sys.stderr)
        return 2
    print(f"Checking {path.resolve()}: {why}.")
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
