"""The gradebook keeps every field of a result, agrees with nbgrader, and upgrades old files in place."""
from __future__ import annotations

import dataclasses
import sqlite3
from pathlib import Path

import pytest

from autograder.config import load_config
from autograder.course.notebooks import load_source
from autograder.gradebook import Gradebook
from autograder.results import ModelMetric, NotebookResult, SubmissionResult
from autograder.results import TestResult as _TestResult


def _result(spec, student: str, *, penalty: float = 0.0, history: dict | None = None) -> SubmissionResult:
    notebooks = []
    for nb in spec.notebooks:
        tests = tuple(_TestResult(test=t.grade_id, points=t.points, max_points=t.points, status="passed", reason="ok")
                      for t in nb.tests)
        metrics = (ModelMetric(model="m", metric="accuracy", value=0.8, baseline=0.5, reported=0.81, epochs=2,
                               params=10, history=history or {}),) if nb.name == spec.notebooks[0].name else ()
        notebooks.append(NotebookResult(notebook=nb.name, tests=tests, runtime_s=1.0, metrics=metrics))
    return SubmissionResult(student=student, assignment=spec.name, notebooks=tuple(notebooks),
                            submission_sha256="0" * 64, autograder_version="t", config_digest="d",
                            graded_at="2026-12-12T10:00:00+00:00", submitted_at="2026-12-12T09:00:00+00:00",
                            late_s=33 * 3600.0, penalty=penalty, intake_notes=("kept a.ipynb, ignored b.ipynb",))


@pytest.fixture
def gradebook_config(tmp_path: Path, course_root: Path):
    return load_config(course_root).with_gradebook(tmp_path / "gb.db")


def test_record_keeps_metrics_lateness_and_notes(gradebook_config) -> None:
    spec, _ = load_source(gradebook_config)
    result = _result(spec, "ann", penalty=12.5, history={"loss": (0.7, 0.5), "val_accuracy": (0.6, 0.8)})
    with Gradebook(gradebook_config) as gb:
        gb.sync_assignment(spec)
        gb.record(result)
        sub, = gb.submissions()
        metric, = gb.metrics()
        nbgrader_sub = gb._nb.find_submission(spec.name, "ann")
        penalty_in_nbgrader = sum(nb.late_submission_penalty or 0 for nb in nbgrader_sub.notebooks)
        timestamp = nbgrader_sub.timestamp
        duedate = nbgrader_sub.assignment.duedate
    assert (sub.score, sub.penalty, sub.final_score) == (result.score, 12.5, result.score - 12.5)
    assert sub.submitted_at == result.submitted_at and sub.late_s == 33 * 3600.0
    assert sub.intake_notes == "kept a.ipynb, ignored b.ipynb"
    assert metric.history == {"loss": [0.7, 0.5], "val_accuracy": [0.6, 0.8]}
    assert (metric.value, metric.baseline, metric.reported, metric.epochs) == (0.8, 0.5, 0.81, 2)
    assert penalty_in_nbgrader == pytest.approx(12.5)
    assert timestamp.isoformat() == "2026-12-12T09:00:00"           # submission time, not grading time
    assert duedate.isoformat() == gradebook_config.due_at.replace(tzinfo=None).isoformat()


def test_regrading_replaces_metrics_and_penalty(gradebook_config) -> None:
    spec, _ = load_source(gradebook_config)
    with Gradebook(gradebook_config) as gb:
        gb.sync_assignment(spec)
        gb.record(_result(spec, "ann", penalty=5))
        gb.record(dataclasses.replace(_result(spec, "ann"), notebooks=tuple(
            dataclasses.replace(n, metrics=()) for n in _result(spec, "ann").notebooks)))
        assert gb.metrics() == [] and gb.submissions()[0].penalty == 0
        nbgrader_sub = gb._nb.find_submission(spec.name, "ann")
        assert all(nb.late_submission_penalty is None for nb in nbgrader_sub.notebooks)


def test_an_older_gradebook_is_upgraded_without_losing_rows(gradebook_config) -> None:
    spec, _ = load_source(gradebook_config)
    with Gradebook(gradebook_config) as gb:
        gb.sync_assignment(spec)
        gb.record(_result(spec, "ann"))
    db = sqlite3.connect(gradebook_config.gradebook_path)
    for column in ("submitted_at", "late_s", "penalty", "intake_notes", "result_key"):
        db.execute(f"ALTER TABLE autograder_submissions DROP COLUMN {column}")
    db.execute("DROP TABLE autograder_metrics")
    db.commit()
    db.close()
    with Gradebook(gradebook_config) as gb:
        sub, = gb.submissions()
        assert sub.student == "ann" and sub.score == _result(spec, "ann").score
        assert (sub.penalty, sub.submitted_at, sub.result_key) == (0.0, "", "")
        assert gb.metrics() == []
