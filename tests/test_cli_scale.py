"""A class of 300: `grade` prints one line per student and a short summary; `autograder scores`
prints one student's recorded grades again. Synthetic topic-1 results recorded straight into a
gradebook (no kernels), in a copy of the course."""
from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from conftest import COURSE_ROOT
from report_factories import TOPIC1, synthetic_result

from autograder import cli
from autograder.config import load_config
from autograder.course.notebooks import load_source
from autograder.gradebook import Gradebook, open_gradebook, recorded_results
from autograder.run.batch import BatchReport

STUDENTS = 300
AUTOGRADER = Path(sys.executable).parent / "autograder"
UNREADABLE = "not graded: the notebook is not valid JSON"


def _result(spec, i: int):
    """Six kinds of student, in turn: full marks, one visible test lost, three tests lost (hidden ones
    too), an unreadable notebook, late with a penalty, one grader check lost."""
    student = f"s{i:03d}"
    kind = i % 6
    if kind == 1:
        return synthetic_result(spec, student, lost={"test_rnn_forward_visible": "rnn_forward returned shape (2, 3)"})
    if kind == 2:
        return synthetic_result(spec, student, lost={t: "wrong" for t in (
            "test_lstm_cell_forward_visible", "test_lstm_cell_forward_hidden", "lstm_cell_forward_reference")})
    if kind == 3:
        return synthetic_result(spec, student, problem=UNREADABLE)
    if kind == 4:
        return synthetic_result(spec, student, late_s=30 * 3600, penalty=4.0)
    if kind == 5:
        return synthetic_result(spec, student, lost={"rnn_gradient_norms_reference": "differs from the reference"})
    return synthetic_result(spec, student)


@pytest.fixture(scope="module")
def class_of_300(tmp_path_factory):
    """(course root with a gradebook of 300 recorded students, their results)."""
    root = tmp_path_factory.mktemp("class") / "course"
    root.mkdir()
    shutil.copy(COURSE_ROOT / "grader_config.py", root / "grader_config.py")
    for name in ("source", "release", "solutions"):
        shutil.copytree(COURSE_ROOT / name, root / name, ignore=shutil.ignore_patterns("__pycache__"))
    (root / "submitted").mkdir()        # the folder `grade` is given (its grading is replaced below)
    config = load_config(root)
    spec, _ = load_source(config)
    results = [_result(spec, i) for i in range(STUDENTS)]
    with Gradebook(config) as gb:
        gb.sync_assignment(spec)
        for r in results:
            gb.record(r)
    return root, results


def _grade_output(root: Path, results, monkeypatch, capsys, *extra: str) -> tuple[int, str]:
    """What `autograder grade` prints for this batch (grading itself replaced by the recorded results)."""
    import autograder.run.batch as batch

    monkeypatch.setattr(batch, "grade_path", lambda **kwargs: BatchReport(results=tuple(results)))
    code = cli.main(["--course-root", str(root), "grade", str(root / "submitted"), "--no-progress", *extra])
    return code, capsys.readouterr().out


@pytest.mark.slow
def test_grade_prints_one_line_per_student_and_a_short_summary(class_of_300, monkeypatch, capsys) -> None:
    root, results = class_of_300
    code, out = _grade_output(root, results, monkeypatch, capsys)
    lines = out.splitlines()
    assert code == 1                                      # 50 unreadable notebooks
    assert len(lines) <= 320, len(lines)
    assert max(len(line) for line in lines) <= 120
    for r in results:
        assert sum(line.startswith(f"{r.student} ") for line in lines) == 1, r.student
    line = {ln.split()[0]: ln for ln in lines if ln.startswith("s0")}
    topic1_max = results[0].notebooks[0].max_score
    assert line["s000"].split()[1:4] == [f"{topic1_max:g}", "/", f"{results[0].max_score:g}"]
    assert "01 -" not in line["s000"] and "not submitted: 02 03 04 05" in line["s000"]
    assert "01 -1: test_rnn_forward_visible" in line["s001"]
    assert "01 -" in line["s002"] and "test_lstm_cell_forward_visible, test_lstm_cell_forward_hidden +1" in line["s002"]
    assert f"01 {UNREADABLE}" in line["s003"] and "not graded: not graded" not in line["s003"]
    assert line["s004"].split()[4] == "-4"               # the late penalty column
    assert "could not grade s003/01_rnn_basics" in out and "... and 42 more" in out
    assert "tests most often lost: 01/test_rnn_forward_visible (50 students)" in out
    assert "rnn_forward returned shape" not in out        # per-test reasons only with --details


@pytest.mark.slow      # the class of 300 takes 36 s to record
def test_grade_details_prints_every_lost_test(class_of_300, monkeypatch, capsys) -> None:
    root, results = class_of_300
    code, out = _grade_output(root, results[:12], monkeypatch, capsys, "--details")
    assert out.count("rnn_forward returned shape (2, 3)") == 2          # s001 and s007
    assert "- test_lstm_cell_forward_hidden (" in out


@pytest.mark.slow
def test_scores_reprints_one_student_from_the_gradebook(class_of_300) -> None:
    root, results = class_of_300
    shown = subprocess.run([str(AUTOGRADER), "scores", "--student", "s001"], cwd=root, capture_output=True,
                           text=True, timeout=300)
    assert shown.returncode == 0, shown.stdout + shown.stderr
    assert "test_rnn_forward_visible (0/1): rnn_forward returned shape (2, 3)" in shown.stdout
    assert "s002" not in shown.stdout and "s001" in shown.stdout
    topic1_max = results[1].notebooks[0].max_score
    assert f"{topic1_max - 1:g} / {topic1_max:g}" in shown.stdout


@pytest.mark.slow      # the class of 300 takes 36 s to record
def test_recorded_results_are_the_graded_ones(class_of_300) -> None:
    root, results = class_of_300
    with open_gradebook(load_config(root)) as gb:
        again = recorded_results(gb, students=("s002", "s003", "s004"))
    by_student = {r.student: r for r in results}
    for r in again:
        want = by_student[r.student]
        assert (r.score, r.max_score, r.penalty, r.late_s) == (want.score, want.max_score, want.penalty, want.late_s)
        assert [(n.notebook, n.problem, n.tests) for n in r.notebooks] == \
               [(n.notebook, n.problem, n.tests) for n in want.notebooks]
    assert [r.student for r in again] == ["s002", "s003", "s004"]


@pytest.mark.slow
def test_scores_of_an_unknown_student_names_the_closest(class_of_300) -> None:
    root, _ = class_of_300
    shown = subprocess.run([str(AUTOGRADER), "scores", "--student", "s0001"], cwd=root, capture_output=True,
                           text=True, timeout=300)
    assert shown.returncode == 2 and "--student s0001" in shown.stderr and "Did you mean 's00" in shown.stderr
    assert TOPIC1 not in shown.stdout
