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

RELEASE = Path(__file__).resolve().parents[1] / "release" / "week3_rnn"
SOURCE = Path(__file__).resolve().parents[1] / "source" / "week3_rnn"
FUNCTIONS = ("rnn_cell_forward", "rnn_forward", "rnn_gradient_norms", "lstm_cell_forward", "lstm_cell_gradient_norms")
VISIBLE = tuple(f"test_{f}_visible" for f in FUNCTIONS)


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
    assert [t.name for t in report.tests] == list(VISIBLE) and report.points == (5.0, 5.0)
    assert report.graded_only_points == 15
    assert "Result: all 5 visible tests passed (5 of 5 points)." in report.format()


def test_blank_release_lists_what_is_still_to_do_and_exits_1(tmp_path: Path) -> None:
    path = _student_copy(tmp_path)
    result = subprocess.run([sys.executable, "selfcheck.py", path.name], cwd=tmp_path, capture_output=True,
                            text=True, timeout=300, check=False)
    assert result.returncode == 1, result.stdout + result.stderr
    assert "Still to do (the answer still raises NotImplementedError): " + ", ".join(FUNCTIONS) in result.stdout
    assert result.stdout.count("FAILED") == 5 and "0 of 5 visible tests passed" in result.stdout


def test_one_wrong_answer_names_its_test_and_message(tmp_path: Path) -> None:
    path = _student_copy(tmp_path, {**_reference(), "lstm_cell_forward": WRONG["lstm_cell_forward"]})  # no forget gate
    result = subprocess.run([str(Path(sys.executable).parent / "autograder"), "check", str(path)],
                            capture_output=True, text=True, timeout=300, check=False)
    assert result.returncode == 1, result.stdout + result.stderr
    lines = result.stdout.splitlines()
    failed = [i for i, line in enumerate(lines) if line.strip().startswith("FAILED")]
    assert len(failed) == 1 and "test_lstm_cell_forward_visible" in lines[failed[0]]
    assert ("AssertionError: worked example: expected c_next = 0.25 * 2.0 + 0.75 * tanh(1.0) "
            "(Not equal to tolerance rtol=1e-07, atol=1e-12)") == lines[failed[0] + 1].strip()
    assert "4 of 5 visible tests passed (4 of 5 points)" in result.stdout and "Still to do" not in result.stdout


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
    assert result.score == result.max_score == 20, result
    executed = (tmp_path / "executed" / "alice" / config.assignment / f"{TOPIC1}.ipynb").read_text()
    assert marker not in executed and "course-self-check" not in executed
    assert "course-setup" in executed and "course-footer" in executed
