"""The only module that reads or writes the gradebook.

Grades live in nbgrader's gradebook (so formgrader and nbgrader's own exports see them),
and, in the same sqlite file and the same transaction, in two tables of the autograder's:
``autograder_results`` (one row per student, notebook and test, with status and reason)
and ``autograder_submissions`` (one row per student and assignment: submission hash,
autograder version, config digest, datasets used). Recording a submission is one
transaction: either all of its rows change, or none do.
"""
from __future__ import annotations

import datetime as dt
import json
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Iterator

from sqlalchemy import (
    Column,
    Float,
    Integer,
    MetaData,
    String,
    Table,
    Text,
    delete,
    insert,
    inspect,
    select,
    text,
)

from autograder.config import GraderConfig
from autograder.course.notebooks import AssignmentSpec
from autograder.nbgrader_env import prepare_nbgrader
from autograder.results import SubmissionResult

_meta = MetaData()
RESULTS = Table(
    "autograder_results", _meta,
    Column("student", String(128), primary_key=True),
    Column("assignment", String(128), primary_key=True),
    Column("notebook", String(128), primary_key=True),
    Column("test", String(128), primary_key=True),
    Column("position", Integer, nullable=False),
    Column("points", Float, nullable=False),
    Column("max_points", Float, nullable=False),
    Column("status", String(16), nullable=False),
    Column("reason", Text, nullable=False),
    Column("hidden", Integer, nullable=False),
    Column("kind", String(16), nullable=False),
    Column("detail", Text, nullable=False),
)
SUBMISSIONS = Table(
    "autograder_submissions", _meta,
    Column("student", String(128), primary_key=True),
    Column("assignment", String(128), primary_key=True),
    Column("score", Float, nullable=False),
    Column("max_score", Float, nullable=False),
    Column("submission_sha256", String(64), nullable=False),
    Column("autograder_version", String(32), nullable=False),
    Column("config_digest", String(64), nullable=False),
    Column("graded_at", String(32), nullable=False),
    Column("datasets", Text, nullable=False),
    Column("notes", Text, nullable=False),
    Column("problems", Text, nullable=False),
    Column("result_key", String(64), nullable=False, default=""),
    Column("submitted_at", String(32), nullable=False, default=""),
    Column("late_s", Float, nullable=False, default=0.0),
    Column("penalty", Float, nullable=False, default=0.0),
    Column("intake_notes", Text, nullable=False, default=""),
)
# Columns added after the first release: (name, SQL type and default) for ALTER TABLE on old gradebooks.
_ADDED_SUBMISSION_COLUMNS = (
    ("result_key", "VARCHAR(64) NOT NULL DEFAULT ''"),
    ("submitted_at", "VARCHAR(32) NOT NULL DEFAULT ''"),
    ("late_s", "FLOAT NOT NULL DEFAULT 0"),
    ("penalty", "FLOAT NOT NULL DEFAULT 0"),
    ("intake_notes", "TEXT NOT NULL DEFAULT ''"),
)
NOTEBOOKS = Table(
    "autograder_notebooks", _meta,
    Column("student", String(128), primary_key=True),
    Column("assignment", String(128), primary_key=True),
    Column("notebook", String(128), primary_key=True),
    Column("runtime_s", Float, nullable=False),
    Column("problem", Text, nullable=False),
    Column("notes", Text, nullable=False),
)
METRICS = Table(
    "autograder_metrics", _meta,
    Column("student", String(128), primary_key=True),
    Column("assignment", String(128), primary_key=True),
    Column("notebook", String(128), primary_key=True),
    Column("model", String(128), primary_key=True),
    Column("metric", String(32), nullable=False),
    Column("value", Float),            # NULL when the model could not be measured
    Column("baseline", Float),
    Column("reported", Float),
    Column("epochs", Integer),
    Column("params", Integer),
    Column("history", Text, nullable=False),   # JSON {"loss": [...], "val_accuracy": [...], ...}
)


@dataclass(frozen=True)
class ResultRow:
    student: str
    assignment: str
    notebook: str
    test: str
    points: float
    max_points: float
    status: str
    reason: str
    hidden: bool
    kind: str
    detail: str


@dataclass(frozen=True)
class SubmissionRow:
    student: str
    assignment: str
    score: float
    max_score: float
    submission_sha256: str
    autograder_version: str
    config_digest: str
    graded_at: str
    datasets: str
    notes: str
    problems: str
    result_key: str
    submitted_at: str = ""
    late_s: float = 0.0
    penalty: float = 0.0
    intake_notes: str = ""

    @property
    def final_score(self) -> float:
        return round(max(0.0, self.score - self.penalty), 6)


@dataclass(frozen=True)
class MetricRow:
    """One saved model as the grader measured it (see results.ModelMetric)."""

    student: str
    assignment: str
    notebook: str
    model: str
    metric: str
    value: float | None
    baseline: float | None
    reported: float | None
    epochs: int | None
    params: int | None
    history: dict[str, list[float]]


class Gradebook:
    """Open with `with Gradebook(config) as gb:`; every write commits one submission atomically."""

    def __init__(self, config: GraderConfig):
        from nbgrader.api import Gradebook as NbGradebook

        prepare_nbgrader()
        path = config.gradebook_path
        if path is not None:
            path.parent.mkdir(parents=True, exist_ok=True)
        self._nb = NbGradebook(config.resolved_gradebook_url, course_id=config.course_id)
        # nbgrader stores naive UTC datetimes
        self._due = config.due_at.astimezone(dt.timezone.utc).replace(tzinfo=None) if config.due_at else None
        _meta.create_all(self._nb.engine)
        columns = {c["name"] for c in inspect(self._nb.engine).get_columns("autograder_submissions")}
        missing = [(name, sql) for name, sql in _ADDED_SUBMISSION_COLUMNS if name not in columns]
        if missing:     # a gradebook written by an older version: add the new columns, keep every row
            with self._nb.engine.begin() as conn:
                for name, sql in missing:
                    conn.execute(text(f"ALTER TABLE autograder_submissions ADD COLUMN {name} {sql}"))

    def __enter__(self) -> "Gradebook":
        return self

    def __exit__(self, *exc: object) -> None:
        self._nb.close()

    # ---- the assignment's structure (mirrors what nbgrader's SaveCells stores) ----
    def sync_assignment(self, spec: AssignmentSpec) -> None:
        """Create or update the assignment, its notebooks and graded cells in nbgrader's tables."""
        gb = self._nb
        due = self._due
        gb.update_or_create_assignment(spec.name, duedate=due)
        for nb in spec.notebooks:
            gb.update_or_create_notebook(nb.name, spec.name)
            for test in nb.tests:
                gb.update_or_create_grade_cell(test.grade_id, nb.name, spec.name,
                                               max_score=test.points, cell_type="code")
            for solution in nb.solutions:
                gb.update_or_create_solution_cell(solution, nb.name, spec.name)

    # ---- recording ------------------------------------------------------------------
    def record(self, result: SubmissionResult) -> None:
        """Write one graded submission: nbgrader grades and autograder rows, in one transaction."""
        from nbgrader import api as nb_api

        db = self._nb.db
        try:
            student = db.get(nb_api.Student, result.student)
            if student is None:
                student = nb_api.Student(id=result.student)
                db.add(student)
            assignment = db.execute(select(nb_api.Assignment).filter_by(name=result.assignment)).scalar_one()
            submitted = db.execute(select(nb_api.SubmittedAssignment).filter_by(
                assignment_id=assignment.id, student_id=result.student)).scalar_one_or_none()
            if submitted is None:
                submitted = nb_api.SubmittedAssignment(assignment=assignment, student=student)
                db.add(submitted)
            when = dt.datetime.fromisoformat(result.submitted_at or result.graded_at)
            if when.tzinfo is not None:
                when = when.astimezone(dt.timezone.utc)
            submitted.timestamp = when.replace(tzinfo=None)
            # nbgrader keeps the late penalty per notebook; ours is one number per submission, so it is
            # spread over the notebooks in proportion to their scores (the sums agree).
            raw = result.score
            for nb_result in result.notebooks:
                notebook = next(n for n in assignment.notebooks if n.name == nb_result.notebook)
                sub_nb = next((s for s in submitted.notebooks if s.notebook_id == notebook.id), None)
                if sub_nb is None:
                    sub_nb = nb_api.SubmittedNotebook(notebook=notebook, assignment=submitted)
                    db.add(sub_nb)
                grades = {g.cell_id: g for g in sub_nb.grades}
                for cell in notebook.grade_cells:
                    grade = grades.get(cell.id) or nb_api.Grade(cell_id=cell.id, notebook=sub_nb)
                    test = next((t for t in nb_result.tests if t.test == cell.name), None)
                    grade.auto_score = test.points if test else 0.0
                    grade.needs_manual_grade = False
                    db.add(grade)
                for cell in notebook.solution_cells:
                    if not any(c.cell_id == cell.id for c in sub_nb.comments):
                        db.add(nb_api.Comment(cell_id=cell.id, notebook=sub_nb))
                sub_nb.late_submission_penalty = (
                    round(result.penalty * nb_result.score / raw, 6) if raw > 0 and result.penalty else None)

            key = dict(student=result.student, assignment=result.assignment)
            for table in (RESULTS, SUBMISSIONS, NOTEBOOKS, METRICS):
                db.execute(delete(table).where(table.c.student == result.student,
                                               table.c.assignment == result.assignment))
            rows = [dict(key, notebook=n.notebook, test=t.test, position=i, points=t.points,
                         max_points=t.max_points, status=t.status, reason=t.reason, hidden=int(t.hidden),
                         kind=t.kind, detail=t.detail)
                    for n in result.notebooks for i, t in enumerate(n.tests)]
            if rows:
                db.execute(insert(RESULTS), rows)
            db.execute(insert(NOTEBOOKS), [dict(key, notebook=n.notebook, runtime_s=n.runtime_s,
                                                problem=n.problem, notes="\n".join(n.notes))
                                           for n in result.notebooks])
            metric_rows = [dict(key, notebook=n.notebook, model=m.model, metric=m.metric, value=m.value,
                                baseline=m.baseline, reported=m.reported, epochs=m.epochs, params=m.params,
                                history=json.dumps({k: list(v) for k, v in m.history.items()}))
                           for n in result.notebooks for m in n.metrics]
            if metric_rows:
                db.execute(insert(METRICS), metric_rows)
            db.execute(insert(SUBMISSIONS).values(
                **key, score=result.score, max_score=result.max_score,
                submission_sha256=result.submission_sha256, autograder_version=result.autograder_version,
                config_digest=result.config_digest, graded_at=result.graded_at,
                datasets="\n".join(result.datasets),
                notes="\n".join(f"{n.notebook}: {note}" for n in result.notebooks for note in n.notes),
                problems="\n".join(f"{n.notebook}: {n.problem}" for n in result.notebooks if n.problem),
                result_key=result.result_key, submitted_at=result.submitted_at, late_s=result.late_s,
                penalty=result.penalty, intake_notes="\n".join(result.intake_notes)))
            db.commit()
        except BaseException:
            db.rollback()
            raise

    # ---- reading ----------------------------------------------------------------------
    def results(self, assignment: str | None = None) -> list[ResultRow]:
        query = select(RESULTS).order_by(RESULTS.c.student, RESULTS.c.assignment, RESULTS.c.notebook,
                                         RESULTS.c.position)
        if assignment:
            query = query.where(RESULTS.c.assignment == assignment)
        return [ResultRow(**{k: v for k, v in row._mapping.items() if k != "position"})
                for row in self._nb.db.execute(query)]

    def submissions(self, assignment: str | None = None) -> list[SubmissionRow]:
        query = select(SUBMISSIONS).order_by(SUBMISSIONS.c.student)
        if assignment:
            query = query.where(SUBMISSIONS.c.assignment == assignment)
        return [SubmissionRow(**row._mapping) for row in self._nb.db.execute(query)]

    def metrics(self, assignment: str | None = None) -> list[MetricRow]:
        query = select(METRICS).order_by(METRICS.c.student, METRICS.c.notebook, METRICS.c.model)
        if assignment:
            query = query.where(METRICS.c.assignment == assignment)
        return [MetricRow(**{**row._mapping, "history": json.loads(row.history or "{}")})
                for row in self._nb.db.execute(query)]

    def result_key(self, student: str, assignment: str) -> str | None:
        """The key under which a student's recorded result was graded (None if not graded)."""
        row = self._nb.db.execute(select(SUBMISSIONS.c.result_key).where(
            SUBMISSIONS.c.student == student, SUBMISSIONS.c.assignment == assignment)).first()
        return row[0] if row else None

    def notebook_rows(self, assignment: str | None = None) -> list[dict]:
        query = select(NOTEBOOKS).order_by(NOTEBOOKS.c.student, NOTEBOOKS.c.notebook)
        if assignment:
            query = query.where(NOTEBOOKS.c.assignment == assignment)
        return [dict(row._mapping) for row in self._nb.db.execute(query)]

    def nbgrader_score(self, assignment: str, student: str) -> float:
        """The total as nbgrader itself computes it (used to check both records agree)."""
        return float(self._nb.find_submission(assignment, student).score)

    def run_nbgrader_export(self, plugin) -> None:
        """Run one of nbgrader's ExportPlugins (e.g. CsvExportPlugin) on nbgrader's view of this gradebook;
        a failure is an AutograderError with nbgrader's own logged message (autograder/nbgrader_log.py)."""
        from autograder.errors import AutograderError
        from autograder.nbgrader_log import captured

        with captured(plugin.log) as log:
            try:
                plugin.export(self._nb)
            except Exception as exc:
                raise AutograderError(f"nbgrader's {type(plugin).__name__} failed: {log.reason(exc)}") from exc


@contextmanager
def open_gradebook(config: GraderConfig) -> Iterator[Gradebook]:
    with Gradebook(config) as gb:
        yield gb
