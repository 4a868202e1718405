"""The gradebook keeps every field of a result, agrees with nbgrader, leaves a TA's manual grades alone,
and upgrades gradebooks of the previous version in place."""
from __future__ import annotations

import dataclasses
import json
import sqlite3
from pathlib import Path

import pytest

from autograder.config import load_config
from autograder.course.notebooks import load_source
from autograder.errors import AutograderError
from autograder.gradebook import (
    METRICS,
    NOTEBOOKS,
    RESULTS,
    ROW_TYPES,
    SCHEMA_VERSION,
    SUBMISSIONS,
    Gradebook,
    recorded_results,
)
from autograder.results import (
    ModelMetric,
    Note,
    NotebookResult,
    NotebookState,
    NoteKind,
    SubmissionResult,
)
from autograder.results import TestResult as _TestResult

KEPT = Note(NoteKind.INTAKE, "kept a.ipynb, ignored b.ipynb")
STAMP = Note(NoteKind.TIMESTAMP, "submitted 2026-12-12T09:00:00+00:00 (nbgrader's timestamp.txt)")


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
                            late_s=33 * 3600.0, penalty=penalty, intake_notes=(KEPT, STAMP))


def _every_field_set(spec) -> SubmissionResult:
    """A result whose every field (of every level) differs from its default."""
    first, second, third = spec.notebooks[:3]
    graded = NotebookResult(
        notebook=first.name, runtime_s=2.5, datasets=("sentiment source=embedded train=10 heldout=5 sha256=ab",),
        notes=(Note(NoteKind.TAMPERING, "test cell 't' appears 2 times; it was run once"),
               Note(NoteKind.SANDBOX, "WARNING: graded without a sandbox")),
        tests=tuple(_TestResult(test=t.grade_id, points=t.points / 2, max_points=t.points, status="partial",
                                reason=f"half of {t.grade_id}", hidden=i % 2 == 1, kind="reference",
                                detail="" if i % 2 else "Traceback ...") for i, t in enumerate(first.tests)),
        metrics=(ModelMetric(model="m", metric="loss", value=1.5, baseline=3.3, reported=1.4, epochs=3, params=99,
                             history={"loss": (2.0, 1.5)}, own_value=1.45, batch_size=64, examples=640,
                             capped=True),))
    unreadable = NotebookResult(notebook=second.name, problem="not graded: the notebook is not valid JSON",
                                tests=tuple(_TestResult(test=t.grade_id, points=0.0, max_points=t.points,
                                                        status="error", reason="not graded") for t in second.tests))
    missing = NotebookResult(notebook=third.name, state=NotebookState.NOT_SUBMITTED,
                             tests=tuple(_TestResult(test=t.grade_id, points=0.0, max_points=t.points,
                                                     status="failed", reason="not submitted") for t in third.tests))
    return SubmissionResult(student="zed", assignment=spec.name, notebooks=(graded, unreadable, missing),
                            submission_sha256="f" * 64, autograder_version="9.9", config_digest="abcdef0123456789",
                            graded_at="2026-12-12T10:00:00+00:00", datasets=("imdb embedded 10 ab",),
                            result_key="k" * 64, submitted_at="2026-12-13T09:00:00+00:00", late_s=3600.0,
                            penalty=1.5, intake_notes=(KEPT, STAMP))


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
    assert sub.intake_notes == (KEPT, STAMP)                          # typed, in order
    assert metric.history == {"loss": [0.7, 0.5], "val_accuracy": [0.6, 0.8]}
    assert (metric.value, metric.baseline, metric.reported, metric.epochs) == (0.8, 0.5, 0.81, 2)
    assert penalty_in_nbgrader == pytest.approx(12.5)
    assert timestamp.isoformat() == "2026-12-12T09:00:00"           # submission time, not grading time
    assert duedate.isoformat() == gradebook_config.due_at.replace(tzinfo=None).isoformat()


# Result fields that are stored in a table of their own rather than as a column.
CHILD_TABLES = {SubmissionResult: {"notebooks"}, NotebookResult: {"tests", "metrics"}}


def test_every_field_of_a_result_is_stored_and_read_back(gradebook_config) -> None:
    """The mapping in record() against the schema: each field of TestResult, ModelMetric, NotebookResult
    and SubmissionResult reads back equal from the column of its name. A field added to a result type
    without a column fails here."""
    spec, _ = load_source(gradebook_config)
    result = _every_field_set(spec)
    with Gradebook(gradebook_config) as gb:
        gb.sync_assignment(spec)
        gb.record(result)
        sub, = gb.submissions()
        notebooks = {n.notebook: n for n in gb.notebooks()}
        results = {(r.notebook, r.test): r for r in gb.results()}
        metrics = {(m.notebook, m.model): m for m in gb.metrics()}
        rebuilt = recorded_results(gb)

    def check(value, row) -> None:
        for f in dataclasses.fields(value):
            if f.name in CHILD_TABLES.get(type(value), ()):
                continue
            got, want = getattr(row, f.name), getattr(value, f.name)
            if f.name == "history":
                want = {k: list(v) for k, v in want.items()}
            assert got == want, f"{type(value).__name__}.{f.name}: stored {got!r}, result {want!r}"

    check(result, sub)
    assert (sub.score, sub.max_score) == (result.score, result.max_score)
    for nb in result.notebooks:
        check(nb, notebooks[nb.notebook])
        for position, t in enumerate(nb.tests):
            check(t, results[(nb.notebook, t.test)])
            assert results[(nb.notebook, t.test)].position == position
        for m in nb.metrics:
            check(m, metrics[(nb.notebook, m.model)])
    assert [n.state for n in notebooks.values()] == [NotebookState.GRADED, NotebookState.NOT_GRADED,
                                                     NotebookState.NOT_SUBMITTED]
    assert rebuilt == [result]                                 # and read back, the result itself


def test_row_types_are_the_tables() -> None:
    """One schema: each table's columns are its row type's fields, in order, and the tables are these four."""
    assert set(ROW_TYPES) == {RESULTS, NOTEBOOKS, METRICS, SUBMISSIONS}
    for table, row_type in ROW_TYPES.items():
        assert [c.name for c in table.columns] == [f.name for f in dataclasses.fields(row_type)], table.name


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


def test_a_regrade_keeps_what_a_ta_entered_in_nbgrader(gradebook_config) -> None:
    """A TA's manual score, extra credit and comment, entered through nbgrader's own Gradebook API (as
    formgrader does), survive a re-grade; that cell is marked for review again, as nbgrader's autograde
    marks it; a cell nobody touched (the control) keeps needing no manual grade."""
    from nbgrader.api import Gradebook as NbGradebook

    spec, _ = load_source(gradebook_config)
    nb = spec.notebooks[0]
    overridden, untouched = nb.tests[0].grade_id, nb.tests[1].grade_id
    with Gradebook(gradebook_config) as gb:
        gb.sync_assignment(spec)
        gb.record(_result(spec, "ann"))
        before = gb.nbgrader_score(spec.name, "ann")
    ta = NbGradebook(gradebook_config.resolved_gradebook_url, course_id=gradebook_config.course_id)
    try:
        grade = ta.find_grade(overridden, nb.name, spec.name, "ann")
        assert grade.needs_manual_grade is False and grade.auto_score == nb.tests[0].points
        grade.manual_score, grade.extra_credit, grade.needs_manual_grade = 0.25, 0.5, False
        comment = ta.find_comment(nb.solutions[0], nb.name, spec.name, "ann")
        comment.manual_comment = "see me about the gates"
        ta.db.commit()
    finally:
        ta.close()
    with Gradebook(gradebook_config) as gb:
        gb.record(dataclasses.replace(_result(spec, "ann"), graded_at="2026-12-14T10:00:00+00:00"))
        after = gb.nbgrader_score(spec.name, "ann")
    ta = NbGradebook(gradebook_config.resolved_gradebook_url, course_id=gradebook_config.course_id)
    try:
        grade = ta.find_grade(overridden, nb.name, spec.name, "ann")
        assert (grade.manual_score, grade.extra_credit, grade.auto_score) == (0.25, 0.5, nb.tests[0].points)
        assert grade.needs_manual_grade is True                       # nbgrader's rule: a TA's score is reviewed
        assert ta.find_grade(untouched, nb.name, spec.name, "ann").needs_manual_grade is False
        assert ta.find_comment(nb.solutions[0], nb.name, spec.name, "ann").manual_comment == "see me about the gates"
    finally:
        ta.close()
    assert after == pytest.approx(before - nb.tests[0].points + 0.25 + 0.5)     # the TA's score counts


# ---- gradebooks of the previous version (schema 1) ---------------------------------------------
# The autograder's tables exactly as version 1 created them (the first release lacked the last five
# columns of autograder_submissions).
V1_TABLES = """
CREATE TABLE autograder_results (
    student VARCHAR(128) NOT NULL, assignment VARCHAR(128) NOT NULL, notebook VARCHAR(128) NOT NULL,
    test VARCHAR(128) NOT NULL, position INTEGER NOT NULL, points FLOAT NOT NULL, max_points FLOAT NOT NULL,
    status VARCHAR(16) NOT NULL, reason TEXT NOT NULL, hidden INTEGER NOT NULL, kind VARCHAR(16) NOT NULL,
    detail TEXT NOT NULL, PRIMARY KEY (student, assignment, notebook, test));
CREATE TABLE autograder_submissions (
    student VARCHAR(128) NOT NULL, assignment VARCHAR(128) NOT NULL, score FLOAT NOT NULL,
    max_score FLOAT NOT NULL, submission_sha256 VARCHAR(64) NOT NULL, autograder_version VARCHAR(32) NOT NULL,
    config_digest VARCHAR(64) NOT NULL, graded_at VARCHAR(32) NOT NULL, datasets TEXT NOT NULL,
    notes TEXT NOT NULL, problems TEXT NOT NULL{late_columns}, PRIMARY KEY (student, assignment));
CREATE TABLE autograder_notebooks (
    student VARCHAR(128) NOT NULL, assignment VARCHAR(128) NOT NULL, notebook VARCHAR(128) NOT NULL,
    runtime_s FLOAT NOT NULL, problem TEXT NOT NULL, notes TEXT NOT NULL,
    PRIMARY KEY (student, assignment, notebook));
CREATE TABLE autograder_metrics (
    student VARCHAR(128) NOT NULL, assignment VARCHAR(128) NOT NULL, notebook VARCHAR(128) NOT NULL,
    model VARCHAR(128) NOT NULL, metric VARCHAR(32) NOT NULL, value FLOAT, baseline FLOAT, reported FLOAT,
    epochs INTEGER, params INTEGER, history TEXT NOT NULL, PRIMARY KEY (student, assignment, notebook, model));
"""
V1_LATE_COLUMNS = (", result_key VARCHAR(64) NOT NULL, submitted_at VARCHAR(32) NOT NULL, late_s FLOAT NOT NULL, "
                   "penalty FLOAT NOT NULL, intake_notes TEXT NOT NULL")
V1_NOTES = ["WARNING: graded without a sandbox (no network/mount/PID isolation available)",
            "test cell 'test_rnn_forward_visible' appears 2 times; it was run once",
            "answer cell 'rnn_forward' is missing; it was graded as unanswered",
            "cell 'rnn_forward' ran past its time limit and was interrupted",
            "the kernel died in cell 9 (crash, os._exit or out of memory)",
            "FLAG: the notebook reported accuracy 0.9500, but the grader measured 0.7400 (tolerance 0.1)",
            "something version 1 said that no rule knows"]
V1_KINDS = [NoteKind.SANDBOX, NoteKind.TAMPERING, NoteKind.ANSWER_CELLS, NoteKind.TIMEOUT, NoteKind.KERNEL,
            NoteKind.METRIC, NoteKind.OTHER]
KERNEL_START = "the kernel could not be started (timeout)"


def _write_v1(path: Path, spec, *, first_release: bool) -> None:
    """Replace the autograder's tables of `path` by version-1 tables holding what version 1 wrote for
    ann (graded, with notes; her other notebooks not submitted) and cal (no kernel)."""
    db = sqlite3.connect(path)
    for table in ("autograder_results", "autograder_submissions", "autograder_notebooks", "autograder_metrics",
                  "autograder_schema"):
        db.execute(f"DROP TABLE IF EXISTS {table}")
    db.executescript(V1_TABLES.format(late_columns="" if first_release else V1_LATE_COLUMNS))
    first = spec.notebooks[0]
    for student in ("ann", "cal"):
        for nb in spec.notebooks:
            handed_in = nb is first
            problem = KERNEL_START if student == "cal" and handed_in else ""
            notes = "\n".join(V1_NOTES) if student == "ann" and handed_in else (problem or "")
            db.execute("INSERT INTO autograder_notebooks VALUES (?, ?, ?, ?, ?, ?)",
                       (student, spec.name, nb.name, 3.0 if handed_in else 0.0, problem, notes))
            for i, t in enumerate(nb.tests):
                reason = ("passed" if student == "ann" else f"not run: {KERNEL_START}") if handed_in \
                    else "not submitted"
                points = t.points if student == "ann" and handed_in else 0.0
                status = "passed" if points else ("error" if handed_in else "failed")
                db.execute("INSERT INTO autograder_results VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                           (student, spec.name, nb.name, t.grade_id, i, points, t.points, status, reason,
                            int(t.hidden), "kernel", ""))
        score = sum(t.points for t in first.tests) if student == "ann" else 0.0
        values = [student, spec.name, score, 114.0, "0" * 64, "0.1", "d", "2026-12-12T10:00:00+00:00",
                  "imdb embedded 10 ab\nshakespeare embedded 20 cd", f"{first.name}: {V1_NOTES[0]}",
                  f"{first.name}: {KERNEL_START}" if student == "cal" else ""]
        if not first_release:
            values += ["key-" + student, "2026-12-12T09:00:00+00:00", 0.0, 0.0,
                       f"submitted 2026-12-12T09:00:00+00:00 (nbgrader's timestamp.txt)\n{KEPT.text}"]
        db.execute(f"INSERT INTO autograder_submissions VALUES ({', '.join('?' * len(values))})", values)
    db.commit()
    db.close()


@pytest.mark.parametrize("first_release", [False, True], ids=["version-1", "first-release"])
def test_a_version_1_gradebook_is_upgraded_in_place(gradebook_config, first_release: bool) -> None:
    spec, _ = load_source(gradebook_config)
    with Gradebook(gradebook_config) as gb:      # nbgrader's tables, as version 1 left them
        gb.sync_assignment(spec)
    _write_v1(gradebook_config.gradebook_path, spec, first_release=first_release)
    first = spec.notebooks[0].name
    with Gradebook(gradebook_config) as gb:
        subs = {s.student: s for s in gb.submissions()}
        notebooks = {(n.student, n.notebook): n for n in gb.notebooks()}
        assert len(gb.results()) == 2 * sum(len(nb.tests) for nb in spec.notebooks)       # every row kept
    ann, cal = subs["ann"], subs["cal"]
    assert ann.score == sum(t.points for t in spec.notebooks[0].tests) and cal.score == 0
    assert ann.datasets == ("imdb embedded 10 ab", "shakespeare embedded 20 cd")
    if first_release:
        assert (ann.result_key, ann.submitted_at, ann.penalty, ann.intake_notes) == ("", "", 0.0, ())
    else:
        assert ann.result_key == "key-ann"
        assert ann.intake_notes == (STAMP, KEPT)
    assert [n.kind for n in notebooks[("ann", first)].notes] == V1_KINDS
    assert [n.text for n in notebooks[("ann", first)].notes] == V1_NOTES
    assert notebooks[("ann", first)].state is NotebookState.GRADED
    assert {notebooks[("ann", nb.name)].state for nb in spec.notebooks[1:]} == {NotebookState.NOT_SUBMITTED}
    assert notebooks[("cal", first)].state is NotebookState.NOT_GRADED
    assert notebooks[("cal", first)].problem == KERNEL_START and notebooks[("cal", first)].notes == ()
    db = sqlite3.connect(gradebook_config.gradebook_path)
    columns = {row[1] for row in db.execute("PRAGMA table_info(autograder_submissions)")}
    version = db.execute("SELECT version FROM autograder_schema").fetchall()
    db.close()
    assert {"notes", "problems"}.isdisjoint(columns) and version == [(SCHEMA_VERSION,)]
    with Gradebook(gradebook_config) as gb:      # opening again changes nothing; grading goes on
        assert {(n.student, n.notebook): n for n in gb.notebooks()} == notebooks
        gb.record(_result(spec, "cal"))
        assert {s.student: s.score for s in gb.submissions()}["cal"] == _result(spec, "cal").score


def test_a_gradebook_of_a_newer_version_is_refused(gradebook_config) -> None:
    with Gradebook(gradebook_config):
        pass
    db = sqlite3.connect(gradebook_config.gradebook_path)
    db.execute("UPDATE autograder_schema SET version = ?", (SCHEMA_VERSION + 1,))
    db.commit()
    db.close()
    with pytest.raises(AutograderError, match="newer autograder"):
        Gradebook(gradebook_config)


def _nbgrader_structure(path: Path) -> list[tuple]:
    """nbgrader's assignment, notebook and cell rows of a gradebook file, without their generated ids."""
    with sqlite3.connect(path) as conn:
        assignments = conn.execute("select name, duedate, course_id from assignment order by name").fetchall()
        notebooks = conn.execute("select a.name, n.name from notebook n join assignment a on a.id = n.assignment_id "
                                 "order by n.name").fetchall()
        cells = conn.execute(
            "select a.name, n.name, c.type, c.name, g.max_score, g.cell_type, t.max_score, t.cell_type "
            "from base_cell c join notebook n on n.id = c.notebook_id join assignment a on a.id = n.assignment_id "
            "left join grade_cells g on g.id = c.id left join task_cells t on t.id = c.id "
            "order by n.name, c.name").fetchall()
    return [*assignments, *notebooks, *cells]


def _sync_with_nbgraders_calls(gb: Gradebook, spec) -> None:
    """The structure written with nbgrader's own update_or_create_* API, one commit per cell."""
    nb = gb._nb
    nb.update_or_create_assignment(spec.name, duedate=gb._due)
    for notebook in spec.notebooks:
        nb.update_or_create_notebook(notebook.name, spec.name)
        for t in notebook.tests:
            add = nb.update_or_create_task_cell if t.task else nb.update_or_create_grade_cell
            add(t.grade_id, notebook.name, spec.name, max_score=t.points, cell_type=t.cell_type)
        for name in notebook.solutions:
            nb.update_or_create_solution_cell(name, notebook.name, spec.name)


def test_sync_writes_what_nbgraders_own_calls_write(gradebook_config, tmp_path: Path) -> None:
    spec, _ = load_source(gradebook_config)
    with Gradebook(gradebook_config) as gb:
        gb.sync_assignment(spec)
    theirs = gradebook_config.with_gradebook(tmp_path / "nbgrader.db")
    with Gradebook(theirs) as gb:
        _sync_with_nbgraders_calls(gb, spec)
    ours = _nbgrader_structure(tmp_path / "gb.db")
    assert ours == _nbgrader_structure(tmp_path / "nbgrader.db")
    assert len(ours) == 1 + len(spec.notebooks) + sum(len(nb.tests) + len(nb.solutions) for nb in spec.notebooks)


def test_sync_of_an_unchanged_spec_writes_nothing_and_a_change_is_written(gradebook_config, tmp_path: Path) -> None:
    spec, _ = load_source(gradebook_config)
    with Gradebook(gradebook_config) as gb:
        gb.sync_assignment(spec)
    before = _nbgrader_structure(tmp_path / "gb.db")
    with Gradebook(gradebook_config) as gb:
        gb.sync_assignment(spec)
        assert not gb._nb.db.dirty and not gb._nb.db.new
    assert _nbgrader_structure(tmp_path / "gb.db") == before
    first = spec.notebooks[0]
    test = first.tests[0]
    heavier = dataclasses.replace(spec, notebooks=(dataclasses.replace(
        first, tests=(dataclasses.replace(test, points=test.points + 3), *first.tests[1:])), *spec.notebooks[1:]))
    with Gradebook(gradebook_config) as gb:
        gb.sync_assignment(heavier)
    after = _nbgrader_structure(tmp_path / "gb.db")
    changed = [row for row in after if row not in before]
    assert [row[1:4] for row in changed] == [(first.name, "GradeCell", test.grade_id)]
    assert changed[0][4] == test.points + 3


def test_a_sync_that_fails_half_way_leaves_no_half_assignment(gradebook_config, tmp_path: Path, monkeypatch) -> None:
    from nbgrader import api as nb_api

    spec, _ = load_source(gradebook_config)
    made = []
    real_init = nb_api.SolutionCell.__init__

    def fail_on_the_third(self, *args, **kwargs):
        made.append(kwargs.get("name"))
        if len(made) == 3:
            raise RuntimeError("disk full")
        real_init(self, *args, **kwargs)

    monkeypatch.setattr(nb_api.SolutionCell, "__init__", fail_on_the_third)
    with Gradebook(gradebook_config) as gb:
        with pytest.raises(RuntimeError, match="disk full"):
            gb.sync_assignment(spec)
    assert _nbgrader_structure(tmp_path / "gb.db") == []
    monkeypatch.undo()
    with Gradebook(gradebook_config) as gb:
        gb.sync_assignment(spec)
    assert len(_nbgrader_structure(tmp_path / "gb.db")) > 100



def test_reads_of_some_students_return_exactly_their_rows(tmp_path: Path, course_root: Path) -> None:
    """`students=` narrows every read to those students (what serve reads to release one student's
    feedback in a class of hundreds), and gives what filtering the whole read would give."""
    from report_factories import synthetic_result

    config = load_config(course_root).with_gradebook(tmp_path / "gb.db")
    spec, _ = load_source(config)
    with Gradebook(config) as gb:
        gb.sync_assignment(spec)
        for student in ("ann", "bo", "cy"):
            gb.record(synthetic_result(spec, student))
        for read in (gb.results, gb.scored_results, gb.submissions, gb.notebooks, gb.metrics, gb.manual_grades):
            some = read(config.assignment, students=("ann", "cy"))
            assert some == [r for r in read(config.assignment) if r.student in ("ann", "cy")], read.__name__
            assert {r.student for r in some} <= {"ann", "cy"}
        assert sorted(gb.totals(config.assignment, students=("bo",))) == [("bo", config.assignment)]
        assert {r.student for r in gb.results(config.assignment, students=("bo",))} == {"bo"}
