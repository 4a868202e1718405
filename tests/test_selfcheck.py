"""The student self-check: `selfcheck.py` in the release, `autograder check`, and that grading never runs it."""
from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import nbformat
import pytest

from autograder.config import load_config
from autograder.course import selfcheck
from autograder.grading.pipeline import load_context
from autograder.qa.samples import TOPIC1, WRONG, fill, reference_answers
from autograder.run.batch import grade_path
from rnn_basics_points import AUTOGRADED_MAX, FUNCTIONS, VISIBLE, VISIBLE_POINTS

RELEASE = Path(__file__).resolve().parents[1] / "release" / "week3_rnn"
SOURCE = Path(__file__).resolve().parents[1] / "source" / "week3_rnn"


def _student_copy(tmp_path: Path, answers: dict[str, str] | None = None) -> Path:
    """The topic-1 release as a student saves it (answers filled in), beside the shipped selfcheck.py."""
    release = nbformat.read(str(RELEASE / f"{TOPIC1}.ipynb"), as_version=4)
    if answers is not None:
        release = fill(release, answers)
    path = tmp_path / f"{TOPIC1}.ipynb"
    nbformat.write(release, str(path))
    (tmp_path / "selfcheck.py").write_bytes((RELEASE / "selfcheck.py").read_bytes())
    return path


def _reference() -> dict[str, str]:
    return reference_answers(nbformat.read(str(SOURCE / f"{TOPIC1}.ipynb"), as_version=4))


def test_the_release_ships_the_package_selfcheck_which_needs_no_autograder() -> None:
    shipped = RELEASE / "selfcheck.py"
    assert shipped.read_bytes() == Path(selfcheck.__file__).read_bytes()
    imported = set()
    for node in ast.walk(ast.parse(shipped.read_text())):
        if isinstance(node, ast.Import):
            imported |= {a.name.split(".")[0] for a in node.names}
        elif isinstance(node, ast.ImportFrom):
            assert node.level == 0, "no relative imports"
            imported.add(node.module.split(".")[0])
    assert imported - set(sys.stdlib_module_names) == {"nbformat", "nbclient"}


def test_filled_in_notebook_passes_every_visible_test(tmp_path: Path) -> None:
    report = selfcheck.run_check(_student_copy(tmp_path, _reference()), timeout=60)
    assert report.ok and not report.todo and not report.problems and not report.stopped
    assert [t.name for t in report.tests] == list(VISIBLE) and report.points == (VISIBLE_POINTS, VISIBLE_POINTS)
    assert report.graded_only_points == AUTOGRADED_MAX - VISIBLE_POINTS
    assert (f"Result: all {len(VISIBLE)} visible tests passed ({VISIBLE_POINTS:g} of {VISIBLE_POINTS:g} points)."
            in report.format())


@pytest.mark.slow
def test_blank_release_lists_what_is_still_to_do_and_exits_1(tmp_path: Path) -> None:
    path = _student_copy(tmp_path)
    result = subprocess.run([sys.executable, "selfcheck.py", path.name], cwd=tmp_path, capture_output=True,
                            text=True, timeout=300, check=False)
    assert result.returncode == 1, result.stdout + result.stderr
    assert "Still to do (the answer still raises NotImplementedError): " + ", ".join(FUNCTIONS) in result.stdout
    assert result.stdout.count("FAILED") == len(VISIBLE) and f"0 of {len(VISIBLE)} visible tests passed" in result.stdout


@pytest.mark.slow
def test_one_wrong_answer_names_its_test_and_message(tmp_path: Path) -> None:
    path = _student_copy(tmp_path, {**_reference(), "lstm_cell_forward": WRONG["lstm_cell_forward"]})  # no forget gate
    result = subprocess.run([str(Path(sys.executable).parent / "autograder"), "check", str(path)],
                            capture_output=True, text=True, timeout=300, check=False)
    assert result.returncode == 1, result.stdout + result.stderr
    lines = result.stdout.splitlines()
    failed = [i for i, line in enumerate(lines) if line.strip().startswith("FAILED")]
    assert len(failed) == 1 and "test_lstm_cell_forward_visible" in lines[failed[0]]
    assert lines[failed[0] + 1].strip().startswith(
        "AssertionError: worked example: expected c_next = 0.25 * 2.0 + 0.75 * tanh(1.0) (Not equal to tolerance rtol=")
    n = len(VISIBLE)
    assert (f"{n - 1} of {n} visible tests passed ({VISIBLE_POINTS - 1:g} of {VISIBLE_POINTS:g} points)" in result.stdout
            and "Still to do" not in result.stdout)


def test_self_check_cell_is_skipped_and_a_nested_check_does_nothing(tmp_path: Path,
                                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    path = _student_copy(tmp_path, _reference())
    nb = nbformat.read(str(path), as_version=4)
    cell = next(c for c in nb.cells if c.id == "course-self-check")
    cell.source = "open('self-check-cell-ran', 'w').close()"        # still marked as the self-check cell
    nb.cells.append(nbformat.v4.new_code_cell("# !python selfcheck.py other.ipynb\nopen('copy-ran', 'w').close()"))
    nbformat.write(nb, str(path))
    report = selfcheck.run_check(path, timeout=60)
    assert report.ok and not report.problems
    assert not (tmp_path / "self-check-cell-ran").exists() and not (tmp_path / "copy-ran").exists()

    monkeypatch.setenv(selfcheck.GUARD_ENV, "1")
    assert selfcheck.main([str(path)]) == 0


@pytest.mark.slow
def test_grading_never_runs_the_self_check_cell(scratch_course: Path, tmp_path: Path) -> None:
    marker = "SELF-CHECK SPAWNED BY THE GRADER"
    (scratch_course / "release" / "week3_rnn" / "selfcheck.py").write_text(f"print({marker!r})\n")
    config = load_config(scratch_course).with_gradebook(tmp_path / "gradebook.db")
    ctx = load_context(config)
    folder = tmp_path / "submitted" / "alice" / config.assignment
    folder.mkdir(parents=True)
    nbformat.write(fill(ctx.releases[TOPIC1], reference_answers(ctx.sources[TOPIC1])), str(folder / f"{TOPIC1}.ipynb"))
    report = grade_path(config=config, path=tmp_path / "submitted", progress=False, context=ctx,
                        executed_root=tmp_path / "executed")
    result = report.results[0].notebooks[0]
    assert result.score == result.autograded_max == AUTOGRADED_MAX, result
    executed = (tmp_path / "executed" / "alice" / config.assignment / f"{TOPIC1}.ipynb").read_text()
    assert marker not in executed and "course-self-check" not in executed
    assert "course-setup" in executed and "course-footer" in executed


# ---- which file the self-check cell checks; a cell without selfcheck.py; syntax errors first ----

def _self_check_cell(release: Path = RELEASE) -> nbformat.NotebookNode:
    nb = nbformat.read(str(release / f"{TOPIC1}.ipynb"), as_version=4)
    return next(c for c in nb.cells if c.id == "course-self-check")


def _run_cell_in_kernel(cell: nbformat.NotebookNode, folder: Path, env: dict[str, str] | None = None,
                        before: str = "") -> str:
    """Run the self-check cell, as a student's kernel would, in `folder`; return what it printed."""
    import os

    from nbclient import NotebookClient

    cells = ([nbformat.v4.new_code_cell(before)] if before else []) + [cell]
    nb = nbformat.v4.new_notebook(cells=cells)
    kernel_env = {k: v for k, v in os.environ.items() if k not in ("JPY_SESSION_NAME", selfcheck.GUARD_ENV)}
    NotebookClient(nb, kernel_name="python3", timeout=600, resources={"metadata": {"path": str(folder)}}).execute(
        env={**kernel_env, **(env or {})}, cwd=str(folder))
    return "".join(o.get("text", "") for c in nb.cells for o in c.outputs if o.output_type == "stream")


def _touch(path: Path, mtime: float) -> None:
    import os

    os.utime(path, (mtime, mtime))


@pytest.mark.slow
def test_the_cell_checks_the_renamed_notebook_it_runs_in(tmp_path: Path) -> None:
    """Jupyter says which notebook the kernel belongs to (JPY_SESSION_NAME -> __session__): that copy is
    checked even though an older, blank copy with the released name was saved later."""
    renamed = tmp_path / f"{TOPIC1} (1).ipynb"
    _student_copy(tmp_path, _reference()).rename(renamed)
    blank = _student_copy(tmp_path)                               # the released name, saved last
    _touch(renamed, 1_700_000_000)
    out = _run_cell_in_kernel(_self_check_cell(), tmp_path, {"JPY_SESSION_NAME": str(renamed)})
    assert f"Checking {renamed}: the notebook this cell runs in" in out, out
    assert f"note: {blank.name} was saved more recently" in out
    assert f"Result: all {len(VISIBLE)} visible tests passed" in out


@pytest.mark.slow
def test_without_the_editors_path_the_newest_copy_is_checked_and_named(tmp_path: Path) -> None:
    renamed = tmp_path / f"{TOPIC1} (1).ipynb"
    _student_copy(tmp_path, _reference()).rename(renamed)
    blank = _student_copy(tmp_path)
    _touch(blank, 1_700_000_000)                                  # control: the renamed copy is the newest
    out = _run_cell_in_kernel(_self_check_cell(), tmp_path)
    assert f"Checking {renamed}: the most recently saved" in out and f"of 2 copies of {TOPIC1}.ipynb" in out, out
    assert "the editor did not say which notebook" in out and f"Result: all {len(VISIBLE)} visible tests passed" in out


def test_choose_notebook_prefers_the_running_path_then_the_newest_copy(tmp_path: Path) -> None:
    named, copy, other = tmp_path / f"{TOPIC1}.ipynb", tmp_path / f"Copy of {TOPIC1}.ipynb", tmp_path / "02_x.ipynb"
    for i, path in enumerate((copy, named, other)):
        path.write_text("{}")
        _touch(path, 1_700_000_000 + i)
    assert selfcheck.choose_notebook(named, running=str(copy), latest=True)[0] == copy
    path, why = selfcheck.choose_notebook(named, running=str(tmp_path / "gone.ipynb"), latest=True)
    assert path == named and "gone.ipynb, which does not exist" in why        # other is not a copy of it
    assert selfcheck.choose_notebook(copy)[0] == copy                          # a terminal names the file
    with pytest.raises(FileNotFoundError, match=f"Copies here: {TOPIC1}.ipynb, Copy of {TOPIC1}.ipynb"):
        selfcheck.choose_notebook(tmp_path / f"{TOPIC1} (2).ipynb")


@pytest.mark.slow
def test_the_cell_without_selfcheck_py_says_what_to_do(tmp_path: Path) -> None:
    (tmp_path / f"{TOPIC1}.ipynb").write_text("{}")               # only the notebook, as in Colab or a lone download
    out = _run_cell_in_kernel(_self_check_cell(), tmp_path)
    assert "selfcheck.py is not beside this notebook" in out and "release folder week3_rnn/" in out, out
    assert f"python selfcheck.py {TOPIC1}.ipynb" in out and "Traceback" not in out
    colab = _run_cell_in_kernel(_self_check_cell(), tmp_path,
                                before="import sys, types\nsys.modules['google.colab'] = types.ModuleType('google.colab')")
    assert "cannot run in Colab" in colab and "File > Download > Download .ipynb" in colab, colab


@pytest.mark.slow
def test_a_syntax_error_is_reported_first_as_the_cause(tmp_path: Path) -> None:
    broken = "def rnn_forward(x, h0, Wx, Wh, b, return_sequences=False):\n    h = h0\n    return np.tanh(x @ Wx +\n"
    report = selfcheck.run_check(_student_copy(tmp_path, {**_reference(), "rnn_forward": broken}), timeout=60)
    assert not report.ok and [s.name for s in report.syntax] == ["rnn_forward"]
    assert report.syntax[0].message.startswith("SyntaxError: ") and report.syntax[0].line >= 1
    assert "rnn_forward" not in report.todo and not any(p.name == "rnn_forward" for p in report.problems)
    text = report.format()
    assert text.index("Fix this first: Python cannot read the cell rnn_forward") < text.index("Visible tests")
    assert "FAILED   test_rnn_forward_visible" in text                  # the test that uses it still fails
    control = selfcheck.run_check(_student_copy(tmp_path, _reference()), timeout=60)
    assert control.ok and not control.syntax and "Fix this first" not in control.format()


def test_the_release_ships_requirements_with_the_graders_pins(course_root: Path) -> None:
    import tomllib

    from packaging.requirements import Requirement

    shipped = [Requirement(line) for line in (RELEASE / "requirements.txt").read_text().splitlines()
               if line and not line.startswith("#")]
    pins = {Requirement(line).name: Requirement(line)
            for line in tomllib.loads((course_root / "pyproject.toml").read_text())["project"]["dependencies"]}
    names = [r.name for r in shipped]
    assert {"tensorflow-cpu", "tensorflow", "keras", "numpy", "pandas", "matplotlib", "ipykernel", "nbformat",
            "nbclient"} <= set(names)
    for req in shipped:
        assert (req.specifier, req.marker) == (pins[req.name].specifier, pins[req.name].marker), req


@pytest.mark.slow
def test_release_check_reports_a_stale_requirements_file(scratch_course: Path) -> None:
    from autograder.course.release import release

    path = scratch_course / "release" / "week3_rnn" / "requirements.txt"
    path.write_text(path.read_text().replace("keras==", "keras>="))
    config = load_config(scratch_course)
    assert release(config=config, check=True).release == ("requirements.txt",)
    release(config=config)
    assert not release(config=config, check=True) and "keras==" in path.read_text()
