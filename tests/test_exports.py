"""Exports: long format, nbgrader's CSV (equal to what `nbgrader export` writes), Canvas import CSV."""
from __future__ import annotations

import csv
import subprocess
import sys
from pathlib import Path

import pytest
from lms_factories import roster_csv

from autograder.config import load_config
from autograder.course.notebooks import load_source
from autograder.gradebook import Gradebook
from autograder.intake.canvas import load_roster
from autograder.reports.export import (
    NBGRADER_COLUMNS,
    export_canvas,
    export_csv,
    export_nbgrader,
)
from autograder.results import NotebookResult, SubmissionResult
from autograder.results import TestResult as Verdict
from rnn_basics_points import AUTOGRADED_MAX

NBGRADER = Path(sys.executable).parent / "nbgrader"


def _result(spec, student: str, *, fraction: float, penalty: float = 0.0, submitted_at: str = "") -> SubmissionResult:
    notebooks = []
    for nb in spec.notebooks:
        share = fraction if nb.name.startswith("01") else 0.0
        notebooks.append(NotebookResult(notebook=nb.name, tests=tuple(
            Verdict(test=t.grade_id, points=0.0 if t.manual else t.points * share, max_points=t.points,
                       status="manual" if t.manual else "passed" if share else "failed", reason="r")
            for t in nb.tests)))
    return SubmissionResult(student=student, assignment=spec.name, notebooks=tuple(notebooks),
                            submission_sha256="0" * 64, autograder_version="t", config_digest="d",
                            graded_at="2026-12-14T08:00:00+00:00", submitted_at=submitted_at,
                            late_s=34 * 3600.0 if penalty else 0.0, penalty=penalty)


@pytest.fixture
def graded(course_root: Path, tmp_path: Path):
    """A gradebook with three graded students (one late) that never ran a kernel."""
    config = load_config(course_root).with_gradebook(tmp_path / "gradebook.db")
    spec, _ = load_source(config)
    with Gradebook(config) as gb:
        gb.sync_assignment(spec)
        gb.record(_result(spec, "s_alice", fraction=1.0, submitted_at="2026-12-11T20:00:00+00:00"))
        gb.record(_result(spec, "s_bob", fraction=0.5, submitted_at="2026-12-11T22:00:00+00:00"))
        gb.record(_result(spec, "s_carol", fraction=1.0, penalty=4.0, submitted_at="2026-12-13T10:00:00+00:00"))
        gb.record(_result(spec, "s_unrostered", fraction=1.0))
    return config


def assignment_max(config) -> float:
    """The points of every grade cell of the assignment, as the source notebooks declare them."""
    spec, _ = load_source(config)
    return sum(t.points for nb in spec.notebooks for t in nb.tests)


@pytest.mark.slow
def test_nbgrader_csv_is_what_nbgrader_export_writes(graded, tmp_path: Path) -> None:
    ours = tmp_path / "ours.csv"
    assert export_nbgrader(config=graded, output=ours) == 4
    theirs = tmp_path / "theirs.csv"
    run = subprocess.run([str(NBGRADER), "export", f"--db={graded.resolved_gradebook_url}", f"--to={theirs}",
                          f"--CourseDirectory.course_id={graded.course_id}", f"--CourseDirectory.root={tmp_path}"],
                         cwd=tmp_path, capture_output=True, text=True, timeout=300)
    assert run.returncode == 0, run.stderr
    assert ours.read_text() == theirs.read_text()
    rows = {r["student_id"]: r for r in csv.DictReader(ours.open())}
    assert tuple(rows["s_carol"]) == NBGRADER_COLUMNS
    carol = rows["s_carol"]
    assert (carol["raw_score"], carol["late_submission_penalty"], carol["score"], carol["max_score"]) == \
        (f"{AUTOGRADED_MAX:.1f}", "4.0", f"{AUTOGRADED_MAX - 4:.1f}", f"{assignment_max(graded):.1f}")
    assert (carol["timestamp"], carol["duedate"]) == ("2026-12-13 10:00:00", "2026-12-11 23:59:00")
    assert (rows["s_bob"]["raw_score"], rows["s_bob"]["late_submission_penalty"], rows["s_bob"]["score"]) == \
        (f"{AUTOGRADED_MAX / 2:.1f}", "0.0", f"{AUTOGRADED_MAX / 2:.1f}")
    assert not (tmp_path / "ours.csv.tmp").exists()


def test_canvas_csv_has_final_scores_in_roster_order(graded, tmp_path: Path) -> None:
    out = tmp_path / "canvas.csv"
    result = export_canvas(config=graded, output=out, roster=load_roster(roster_csv(tmp_path / "roster.csv")),
                           title="Week 3: RNNs", canvas_id="987")
    assert result.rows == 4 and result.unmatched == ("s_unrostered",)
    assert list(csv.reader(out.open())) == [
        ["Student", "ID", "SIS User ID", "SIS Login ID", "Section", "Week 3: RNNs (987)"],
        ["Correct, Alice", "1001", "A100", "alice@uni", "L1", f"{AUTOGRADED_MAX:g}"],
        ["Wrong, Bob", "1002", "B200", "bob@uni", "L1", f"{AUTOGRADED_MAX / 2:g}"],
        ["Hard, Carol", "1003", "C300", "carol@uni", "L2", f"{AUTOGRADED_MAX - 4:g}"],
        ["Absent, Erin", "1005", "E500", "erin@uni", "L2", ""],
    ]
    with pytest.raises(Exception, match="must be a number"):
        export_canvas(config=graded, output=out, roster=load_roster(tmp_path / "roster.csv"), canvas_id="abc")


def test_long_csv_keeps_raw_points(graded, tmp_path: Path) -> None:
    out = tmp_path / "long.csv"
    count = export_csv(config=graded, output=out)
    rows = list(csv.DictReader(out.open()))
    assert count == len(rows) and {r["student"] for r in rows} == {"s_alice", "s_bob", "s_carol", "s_unrostered"}
    assert sum(float(r["points"]) for r in rows if r["student"] == "s_carol") == AUTOGRADED_MAX
