"""Graded submissions built in memory, for tests of the class report and the feedback pages.

They are recorded through the real `Gradebook.record`, exactly as grading records them.
"""
from __future__ import annotations

from typing import Mapping

from autograder.course.notebooks import AssignmentSpec
from autograder.grading.pipeline import NOT_SUBMITTED
from autograder.results import ModelMetric, Note, NotebookResult, NotebookState, SubmissionResult, TestResult

TOPIC1 = "01_rnn_basics"
TOPIC2 = "02_word_embeddings"


def synthetic_result(spec: AssignmentSpec, student: str, *, handed_in: tuple[str, ...] = (TOPIC1,),
                     lost: Mapping[str, str] | None = None, problem: str = "", notes: tuple[Note, ...] = (),
                     runtime_s: float = 1.5, late_s: float = 0.0, penalty: float = 0.0,
                     metrics: tuple[ModelMetric, ...] = (), replaced: Mapping[str, TestResult] | None = None,
                     intake_notes: tuple[Note, ...] = ()) -> SubmissionResult:
    """Every test of the handed-in notebooks passes, except `lost` (test -> reason, 0 points) and
    `replaced` (test -> a given verdict); `problem` makes every test of them an error; other
    notebooks are NOT_SUBMITTED. `notes` and `metrics` go on the first handed-in notebook."""
    lost, replaced = lost or {}, replaced or {}
    notebooks = []
    for nb in spec.notebooks:
        tests = []
        for t in nb.tests:
            hidden = t.hidden or bool(t.probe or t.model)
            kind = "model" if t.model else ("reference" if t.probe else "kernel")
            if nb.name not in handed_in:
                tests.append(TestResult(t.grade_id, 0.0, t.points, "failed", NOT_SUBMITTED, hidden, kind))
            elif problem:
                tests.append(TestResult(t.grade_id, 0.0, t.points, "error", problem, hidden, kind))
            elif t.grade_id in replaced:
                tests.append(replaced[t.grade_id])
            elif t.grade_id in lost:
                tests.append(TestResult(t.grade_id, 0.0, t.points, "failed", lost[t.grade_id], hidden, kind))
            else:
                tests.append(TestResult(t.grade_id, t.points, t.points, "passed", "passed", hidden, kind))
        first = nb.name == handed_in[0]
        submitted = nb.name in handed_in and not problem
        state = (NotebookState.NOT_SUBMITTED if nb.name not in handed_in else
                 NotebookState.NOT_GRADED if problem else NotebookState.GRADED)
        notebooks.append(NotebookResult(
            notebook=nb.name, tests=tuple(tests), runtime_s=runtime_s if submitted else 0.0,
            problem=problem if nb.name in handed_in else "", notes=notes if first else (),
            metrics=metrics if first else (), state=state))
    return SubmissionResult(student=student, assignment=spec.name, notebooks=tuple(notebooks),
                            submission_sha256="0" * 64, autograder_version="test", config_digest="d",
                            graded_at="2026-12-12T10:00:00+00:00",
                            submitted_at="2026-12-12T09:00:00+00:00" if late_s else "",
                            late_s=late_s, penalty=penalty, intake_notes=intake_notes)
