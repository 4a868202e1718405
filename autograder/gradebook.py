"""The only module that writes the gradebook, and the one that reads it (autograder/grading/recorded.py
reads the recorded result keys alone, with the stdlib, for an unchanged re-grade).

Grades live in nbgrader's gradebook (so formgrader and nbgrader's own exports see them),
and, in the same sqlite file and the same transaction, in four tables of the autograder's:
``autograder_results`` (one row per student, notebook and test, with status and reason),
``autograder_notebooks`` (state, runtime and notes per notebook), ``autograder_metrics`` (the
saved models as measured) and ``autograder_submissions`` (one row per student and assignment:
submission hash, autograder version, config digest, lateness, datasets used). Recording a
submission is one transaction: either all of its rows change, or none do.

Decisions:
- **One schema.** The four tables are declared once, as the frozen row types below: every field is
  a column (`_column` names its SQL type, whether it is part of the key, and the default older
  gradebooks get when it is added). The `Table`s, the readers (`ResultRow(**row)`), the rows
  `record()` writes (`ResultRow.of(...)`, inserted field by field) and the columns an upgrade adds
  are all derived from those fields.
- **Typed values.** Notes are stored as a JSON list of ``{"kind", "text"}`` and read back as
  `Note`s, a notebook's state as its `NotebookState` value, datasets and training histories as
  JSON; no reader splits text.
- **Upgrades in place.** `SCHEMA_VERSION` is kept in ``autograder_schema``. Opening an older
  gradebook adds the columns it lacks and converts its rows (`_upgrade`), keeping every row.
- **nbgrader's manual grading is nbgrader's.** `record()` writes `auto_score` and the late penalty;
  `manual_score`, `extra_credit` and comments are never written, and `needs_manual_grade`
  follows nbgrader's own autograde rule (a cell needs review when a TA's score exists or there is
  no automatic one), so a re-grade never loses what a TA entered in formgrader.
- **Manual grades are read from nbgrader's rows.** A manually graded answer is recorded with
  ``auto_score`` None (``needs_manual_grade``), as nbgrader's autograde records it. `manual_grades()`
  reads what TAs entered; `scored_results()` and `totals()` apply them by nbgrader's rule (a cell's
  score is the TA's ``manual_score`` when there is one, else the autograded one, plus extra credit),
  so every export, report and page shows the total nbgrader shows. The late penalty is the one
  computed when the submission was graded, on its autograded points (nbgrader fixes
  ``late_submission_penalty`` at autograde time too): final = autograded + manual - penalty.
- **A changed answer keeps its TA score** (nbgrader keeps it): when a re-submission changes a
  manual answer that a TA already scored, the score stays and the notebook gets a MANUAL note
  asking for re-marking (`needs_manual_grade` is set again by nbgrader's rule).
- **Only students nbgrader knows.** Every reader skips the autograder's rows of a submission that
  nbgrader's tables no longer hold (`nbgrader db student remove`); `remove()` deletes both.
"""
from __future__ import annotations

import dataclasses
import datetime as dt
import json
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any, Iterator, Sequence

from sqlalchemy import (
    Boolean,
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
from sqlalchemy.types import TypeDecorator

from autograder.config import GraderConfig
from autograder.course.notebooks import AssignmentSpec
from autograder.nbgrader_env import prepare_nbgrader
from autograder.grading.recorded import (
    HELD_SQL,
    KEYS_SQL,
    SCHEMA_TABLE,
    SCHEMA_VERSION,
    SUBMISSIONS_TABLE,
    held_keys,
)
from autograder.results import (
    MANUAL,
    ModelMetric,
    Note,
    NotebookResult,
    NotebookState,
    NoteKind,
    SubmissionResult,
    TestResult,
)


# ---- column types for typed values --------------------------------------------------------------
class NotesJSON(TypeDecorator):
    """tuple[Note, ...] <-> JSON list of {"kind", "text"}."""

    impl = Text
    cache_ok = True

    def process_bind_param(self, value, dialect):
        return json.dumps([n.to_json() for n in value or ()])

    def process_result_value(self, value, dialect):
        return tuple(Note.from_json(n) for n in json.loads(value or "[]"))


class LinesJSON(TypeDecorator):
    """tuple[str, ...] <-> JSON list of strings."""

    impl = Text
    cache_ok = True

    def process_bind_param(self, value, dialect):
        return json.dumps(list(value or ()))

    def process_result_value(self, value, dialect):
        return tuple(str(v) for v in json.loads(value or "[]"))


class HistoryJSON(TypeDecorator):
    """Keras history {"loss": [...], ...} <-> JSON object."""

    impl = Text
    cache_ok = True

    def process_bind_param(self, value, dialect):
        return json.dumps({k: list(v) for k, v in (value or {}).items()})

    def process_result_value(self, value, dialect):
        return json.loads(value or "{}")


class StateText(TypeDecorator):
    """NotebookState <-> its value."""

    impl = String(16)
    cache_ok = True

    def process_bind_param(self, value, dialect):
        return NotebookState(value).value

    def process_result_value(self, value, dialect):
        return NotebookState(value)


def _column(sql_type: Any, *, key: bool = False, nullable: bool = False, added: str | None = None) -> Any:
    """A row field that is a column. `added`: the SQL literal that rows of an older gradebook get
    when the column is added to it (every column after the first release has one)."""
    return dataclasses.field(metadata={"column": (sql_type, key, nullable, added)})


def _table(name: str, row_type: type, meta: MetaData) -> Table:
    columns = []
    for f in dataclasses.fields(row_type):
        sql_type, key, nullable, added = f.metadata["column"]
        columns.append(Column(f.name, sql_type, primary_key=key, nullable=nullable,
                              server_default=text(added) if added is not None else None))
    return Table(name, meta, *columns)


def _row_of(row_type: type, value: Any, **given: Any) -> Any:
    """A row of `row_type` for the result `value`: the fields in `given` (the keys of its parents, its
    position), every other field from `value`'s attribute of the same name. So a column is a result's
    field under its own name, and `recorded_results` reads it back the same way."""
    return row_type(**{f.name: given[f.name] if f.name in given else getattr(value, f.name)
                       for f in dataclasses.fields(row_type)})


def _values(row: Any) -> dict[str, Any]:
    """A row as the values of its table's columns (field by field: nothing is left out)."""
    return {f.name: getattr(row, f.name) for f in dataclasses.fields(row)}


# ---- the schema: one frozen row type per table -----------------------------------------------
@dataclass(frozen=True)
class ResultRow:
    """One test of one notebook (results.TestResult)."""

    student: str = _column(String(128), key=True)
    assignment: str = _column(String(128), key=True)
    notebook: str = _column(String(128), key=True)
    test: str = _column(String(128), key=True)
    position: int = _column(Integer)              # the test's place in its notebook
    points: float = _column(Float)
    max_points: float = _column(Float)
    status: str = _column(String(16))
    reason: str = _column(Text)
    hidden: bool = _column(Boolean)
    kind: str = _column(String(16))
    detail: str = _column(Text)
    answer_sha256: str = _column(String(64), added="''")   # manual answers: the graded answer's digest

    @classmethod
    def of(cls, result: SubmissionResult, nb: NotebookResult, position: int, t: TestResult) -> "ResultRow":
        return _row_of(cls, t, student=result.student, assignment=result.assignment, notebook=nb.notebook,
                       position=position)


@dataclass(frozen=True)
class NotebookRow:
    """One notebook of one submission (results.NotebookResult without its tests and metrics)."""

    student: str = _column(String(128), key=True)
    assignment: str = _column(String(128), key=True)
    notebook: str = _column(String(128), key=True)
    runtime_s: float = _column(Float)
    problem: str = _column(Text)                  # why it was not graded ("" unless state is NOT_GRADED)
    notes: tuple[Note, ...] = _column(NotesJSON)
    state: NotebookState = _column(StateText, added="'graded'")
    datasets: tuple[str, ...] = _column(LinesJSON, added="'[]'")

    @classmethod
    def of(cls, result: SubmissionResult, nb: NotebookResult) -> "NotebookRow":
        return _row_of(cls, nb, student=result.student, assignment=result.assignment)


@dataclass(frozen=True)
class MetricRow:
    """One saved model as the grader measured it (results.ModelMetric)."""

    student: str = _column(String(128), key=True)
    assignment: str = _column(String(128), key=True)
    notebook: str = _column(String(128), key=True)
    model: str = _column(String(128), key=True)
    metric: str = _column(String(32))
    value: float | None = _column(Float, nullable=True)       # None when the model could not be measured
    baseline: float | None = _column(Float, nullable=True)
    reported: float | None = _column(Float, nullable=True)
    epochs: int | None = _column(Integer, nullable=True)
    params: int | None = _column(Integer, nullable=True)
    history: dict[str, list[float]] = _column(HistoryJSON)    # {"loss": [...], "val_accuracy": [...], ...}
    own_value: float | None = _column(Float, nullable=True)   # the student's saved weights on the same data
    batch_size: int | None = _column(Integer, nullable=True)  # of the grader's training
    examples: int | None = _column(Integer, nullable=True)    # training examples of the grader's training
    capped: bool = _column(Boolean, added="0")               # the grader's training was capped

    @classmethod
    def of(cls, result: SubmissionResult, nb: NotebookResult, m: ModelMetric) -> "MetricRow":
        return _row_of(cls, m, student=result.student, assignment=result.assignment, notebook=nb.notebook,
                       history={k: list(v) for k, v in m.history.items()})


@dataclass(frozen=True)
class SubmissionRow:
    """One student's graded assignment (results.SubmissionResult without its notebooks)."""

    student: str = _column(String(128), key=True)
    assignment: str = _column(String(128), key=True)
    score: float = _column(Float)                 # raw: before the late penalty
    max_score: float = _column(Float)
    submission_sha256: str = _column(String(64))
    autograder_version: str = _column(String(32))
    config_digest: str = _column(String(64))      # the config's grade digest
    graded_at: str = _column(String(32))
    datasets: tuple[str, ...] = _column(LinesJSON)
    result_key: str = _column(String(64), added="''")
    submitted_at: str = _column(String(32), added="''")
    late_s: float = _column(Float, added="0")
    penalty: float = _column(Float, added="0")
    intake_notes: tuple[Note, ...] = _column(NotesJSON, added="'[]'")
    # nbgrader's SubmittedAssignment.id written with these rows ("" in older gradebooks): while nbgrader
    # no longer holds it (`nbgrader db student remove`), every reader leaves the submission out
    nbgrader_id: str = _column(String(32), added="''")

    @property
    def final_score(self) -> float:
        return round(max(0.0, self.score - self.penalty), 6)

    @classmethod
    def of(cls, result: SubmissionResult, nbgrader_id: str = "") -> "SubmissionRow":
        return _row_of(cls, result, nbgrader_id=nbgrader_id)     # score and max_score are the raw totals


_meta = MetaData()
RESULTS = _table("autograder_results", ResultRow, _meta)
NOTEBOOKS = _table("autograder_notebooks", NotebookRow, _meta)
METRICS = _table("autograder_metrics", MetricRow, _meta)
SUBMISSIONS = _table(SUBMISSIONS_TABLE, SubmissionRow, _meta)
SCHEMA = Table(SCHEMA_TABLE, _meta, Column("version", Integer, nullable=False))
ROW_TYPES = {RESULTS: ResultRow, NOTEBOOKS: NotebookRow, METRICS: MetricRow, SUBMISSIONS: SubmissionRow}


@dataclass(frozen=True)
class ManualGrade:
    """What nbgrader's gradebook holds for one graded cell of one submitted notebook: the autograder's
    score and what a TA entered in formgrader (None: nothing entered)."""

    student: str
    assignment: str
    notebook: str
    test: str                    # the cell's grade_id
    max_points: float
    auto_score: float | None     # None: waits for a TA (a manually graded answer)
    manual_score: float | None
    extra_credit: float | None
    needs_manual_grade: bool
    grade_id: str                # nbgrader's id of the grade row (formgrader's /formgrader/api/grade/<id>)

    @property
    def score(self) -> float:
        """nbgrader's rule (api.Grade.score): the TA's score wins, else the autograded one; plus extra credit."""
        base = self.manual_score if self.manual_score is not None else (self.auto_score or 0.0)
        return round(base + (self.extra_credit or 0.0), 6)

    @property
    def pending(self) -> bool:
        """An answer no one has graded yet: no automatic score and no TA score."""
        return self.auto_score is None and self.manual_score is None


@dataclass(frozen=True)
class Total:
    """One submission's total as every export and report shows it (nbgrader's total)."""

    student: str
    assignment: str
    autograded: float        # the autograder's points on cells without a TA score
    manual: float            # the TA's scores and extra credit
    penalty: float           # the late penalty computed when graded (on the autograded points)
    max_score: float
    pending: tuple[str, ...]     # cells that still wait for a TA ("notebook/test")

    @property
    def raw(self) -> float:
        return round(self.autograded + self.manual, 6)

    @property
    def final(self) -> float:
        return round(max(0.0, self.raw - self.penalty), 6)


def _remark_note(cells: list[str]) -> tuple[Note, ...]:
    return (Note(NoteKind.MANUAL, f"the answer in {', '.join(cells)} changed since a TA scored it; the TA's "
                                  f"score is kept (as nbgrader keeps it): re-mark it in formgrader"),)


# ---- upgrades of older gradebooks -------------------------------------------------------------
# Version 1 wrote notes as lines of prose. These are the texts its stages wrote, read once when such a
# gradebook is upgraded; nothing reads note texts after that. (substring, kind), the first match wins.
_V1_NOTE_KINDS = (
    ("WARNING: graded without a sandbox", NoteKind.SANDBOX),
    ("the notebook was saved as nbformat", NoteKind.REPAIR),
    ("answer cell '", NoteKind.ANSWER_CELLS),
    ("test cell '", NoteKind.TAMPERING),
    ("ran past its", NoteKind.TIMEOUT),
    ("the notebook time limit", NoteKind.TIMEOUT),
    ("the kernel died", NoteKind.KERNEL),
    ("FLAG: the notebook reported", NoteKind.METRIC),
)
_V1_NOT_SUBMITTED = "not submitted"     # version 1's reason on every test of a notebook not handed in


def _v1_notes(lines: str, *, problem: str = "") -> list[dict[str, str]]:
    """A version-1 notes column as JSON notes; the note that repeated the problem is left out (the
    problem is the not-graded state's why now)."""
    notes = []
    for line in (lines or "").split("\n"):
        if not line or line == problem:
            continue
        kind = next((k for part, k in _V1_NOTE_KINDS if part in line), NoteKind.OTHER)
        notes.append(Note(kind, line).to_json())
    return notes


def _v1_intake_notes(lines: str) -> list[dict[str, str]]:
    return [Note(NoteKind.TIMESTAMP if line.startswith("submitted ") else NoteKind.INTAKE, line).to_json()
            for line in (lines or "").split("\n") if line]


def _to_v2(conn, had: dict[str, set[str]]) -> None:
    """Version 1 -> 2: typed JSON notes, notebook states, JSON datasets; the submissions' copies of the
    notebooks' notes and problems (`notes`, `problems`) are dropped. `had`: each table's columns before
    the upgrade added any (an added column already holds its version-2 default)."""
    not_submitted = set(conn.execute(text(
        "SELECT student, assignment, notebook FROM autograder_results GROUP BY student, assignment, notebook "
        "HAVING SUM(CASE WHEN reason = :r THEN 0 ELSE 1 END) = 0"), {"r": _V1_NOT_SUBMITTED}).all())
    for student, assignment, notebook, problem, notes in conn.execute(text(
            "SELECT student, assignment, notebook, problem, notes FROM autograder_notebooks")).all():
        state = (NotebookState.NOT_GRADED if problem else NotebookState.NOT_SUBMITTED
                 if (student, assignment, notebook) in not_submitted else NotebookState.GRADED)
        conn.execute(text("UPDATE autograder_notebooks SET notes = :notes, state = :state "
                          "WHERE student = :s AND assignment = :a AND notebook = :n"),
                     {"notes": json.dumps(_v1_notes(notes, problem=problem)), "state": state.value,
                      "s": student, "a": assignment, "n": notebook})
    old_intake = "intake_notes" in had.get("autograder_submissions", set())
    for student, assignment, datasets, intake in conn.execute(text(
            "SELECT student, assignment, datasets, intake_notes FROM autograder_submissions")).all():
        conn.execute(text("UPDATE autograder_submissions SET datasets = :d, intake_notes = :i "
                          "WHERE student = :s AND assignment = :a"),
                     {"d": json.dumps([d for d in (datasets or "").split("\n") if d]),
                      "i": json.dumps(_v1_intake_notes(intake)) if old_intake else intake,
                      "s": student, "a": assignment})
    for column in ("notes", "problems"):
        if column in had.get("autograder_submissions", set()):
            conn.execute(text(f"ALTER TABLE autograder_submissions DROP COLUMN {column}"))


MIGRATIONS = {2: _to_v2}     # version reached -> the step that reaches it from the one before


def _upgrade(engine) -> None:
    """Create the autograder's tables, or bring an older gradebook's up to SCHEMA_VERSION in place
    (one transaction): add every declared column a table lacks (with its `added` default; a new column
    needs no new version), then run the data steps of MIGRATIONS that the gradebook has not had."""
    existing = set(inspect(engine).get_table_names())
    ours = {t.name for t in ROW_TYPES}
    with engine.begin() as conn:
        _meta.create_all(conn)
        version = conn.execute(select(SCHEMA.c.version)).scalar()
        if version is None:     # no version recorded: version 1 if the tables were there, else new
            version = 1 if existing & ours else SCHEMA_VERSION
            conn.execute(insert(SCHEMA).values(version=version))
        if version > SCHEMA_VERSION:
            from autograder.errors import AutograderError
            raise AutograderError(f"the gradebook {engine.url} was written by a newer autograder "
                                  f"(schema {version}; this one reads up to {SCHEMA_VERSION}): upgrade the autograder")
        had = {t.name: {c["name"] for c in inspect(conn).get_columns(t.name)} for t in ROW_TYPES
               if t.name in existing}
        for table in ROW_TYPES:
            present = had.get(table.name)
            if present is None:
                continue
            for column in table.columns:
                if column.name in present:
                    continue
                sql = f"ALTER TABLE {table.name} ADD COLUMN {column.name} {column.type.compile(dialect=conn.dialect)}"
                if not column.nullable:
                    if column.server_default is None:
                        raise RuntimeError(f"{table.name}.{column.name} has no default for older gradebooks")
                    sql += f" NOT NULL DEFAULT {column.server_default.arg.text}"
                conn.execute(text(sql))
        for target in range(version + 1, SCHEMA_VERSION + 1):
            MIGRATIONS[target](conn, had)
        if version != SCHEMA_VERSION:
            conn.execute(SCHEMA.update().values(version=SCHEMA_VERSION))


def recorded_result_keys(config: GraderConfig, assignment: str) -> dict[str, str]:
    """`Gradebook.result_keys`, read with plain SQL, without starting nbgrader: an unchanged re-grade needs
    nothing else. {} when the gradebook does not exist yet, cannot be read, or is not at SCHEMA_VERSION;
    the caller then opens `Gradebook`, which creates or upgrades it. (A batch reads a sqlite gradebook's
    with the stdlib instead: `grading.recorded.sqlite_result_keys`.)"""
    from sqlalchemy import create_engine
    from sqlalchemy.exc import SQLAlchemyError

    path = config.gradebook_path
    if path is not None and not path.is_file():
        return {}
    engine = create_engine(config.resolved_gradebook_url)
    try:
        with engine.connect() as conn:
            if conn.execute(select(SCHEMA.c.version)).scalar() != SCHEMA_VERSION:
                return {}
            return _result_keys(conn, assignment)
    except SQLAlchemyError:
        return {}
    finally:
        engine.dispose()


def _result_keys(conn, assignment: str) -> dict[str, str]:
    """student -> result key of each recorded submission of `assignment` that nbgrader still holds (a
    submission nbgrader no longer holds has no key: it is graded again)."""
    return held_keys(conn.execute(text(KEYS_SQL), {"assignment": assignment}), conn.execute(text(HELD_SQL)).scalars())


def _cells(nb) -> list[tuple[str, str, float | None, str | None]]:
    """(kind, name, max score, cell type) of every cell of a notebook spec that nbgrader's tables hold."""
    return [("task" if t.task else "grade", t.grade_id, float(t.points), t.cell_type) for t in nb.tests] + \
        [("solution", name, None, None) for name in nb.solutions]


def _structure(spec: AssignmentSpec, due) -> tuple:
    """The due date and every (notebook, kind, cell, max score, cell type) that `sync_assignment`
    writes, sorted: equal to `Gradebook._structure_in_db` exactly when the tables are current."""
    return due, tuple(sorted(((nb.name, *cell) for nb in spec.notebooks for cell in _cells(nb)), key=repr))


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
        try:
            _upgrade(self._nb.engine)
        except BaseException:
            self._nb.close()
            raise

    def __enter__(self) -> "Gradebook":
        return self

    def __exit__(self, *exc: object) -> None:
        self._nb.close()

    # ---- the assignment's structure (mirrors what nbgrader's SaveCells stores) ----
    def sync_assignment(self, spec: AssignmentSpec) -> None:
        """Create or update the assignment, its notebooks and graded cells in nbgrader's tables.

        The rows are nbgrader's own ORM objects, as its `update_or_create_*` calls write them, but
        in one transaction: those calls commit after every cell (about 120 commits and 2 s on a fresh
        gradebook for this course), and a failure half-way would leave half an assignment. When the
        stored structure already equals the spec's (every re-grade), nothing is written. Cells that
        left the spec stay, as with nbgrader's calls."""
        from nbgrader import api as nb_api

        if self._structure_in_db(spec.name) == _structure(spec, self._due):
            return
        db = self._nb.db
        try:
            assignment = db.execute(select(nb_api.Assignment).filter_by(name=spec.name)).scalar_one_or_none()
            if assignment is None:
                assignment = nb_api.Assignment(name=spec.name, course_id=self._nb.course_id)
                db.add(assignment)
            assignment.duedate = self._due
            notebooks = {nb.name: nb for nb in assignment.notebooks}
            for nb in spec.notebooks:
                notebook = notebooks.get(nb.name)
                if notebook is None:
                    notebook = nb_api.Notebook(name=nb.name, assignment=assignment)
                    db.add(notebook)
                kinds = {"grade": (nb_api.GradeCell, notebook.grade_cells),
                         "task": (nb_api.TaskCell, notebook.task_cells),
                         "solution": (nb_api.SolutionCell, notebook.solution_cells)}
                held = {(kind, c.name): c for kind, (_, group) in kinds.items() for c in group}
                for kind, name, max_score, cell_type in _cells(nb):
                    cell = held.get((kind, name))
                    if cell is None:
                        cell = kinds[kind][0](name=name, notebook=notebook)
                        db.add(cell)
                    if kind != "solution":
                        cell.max_score, cell.cell_type = max_score, cell_type
            db.commit()
        except BaseException:
            db.rollback()
            raise

    def _structure_in_db(self, assignment: str) -> tuple:
        """What `_structure` describes, as nbgrader's tables hold it now (() before the first sync)."""
        from nbgrader import api as nb_api

        db = self._nb.db
        found = db.execute(select(nb_api.Assignment).filter_by(name=assignment)).scalar_one_or_none()
        if found is None:
            return ()
        cells = [(nb.name, kind, c.name, getattr(c, "max_score", None), getattr(c, "cell_type", None))
                 for nb in found.notebooks
                 for kind, group in (("grade", nb.grade_cells), ("task", nb.task_cells), ("solution", nb.solution_cells))
                 for c in group]
        return found.duedate, tuple(sorted(cells, key=repr))

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
            c = RESULTS.c
            before = {(n, t): digest for n, t, digest in db.execute(select(c.notebook, c.test, c.answer_sha256).where(
                c.student == result.student, c.assignment == result.assignment, c.answer_sha256 != ""))}
            remark: dict[str, list[str]] = {}
            with db.no_autoflush:       # one flush below, not one per lazy load of nbgrader's cells
                for nb_result in result.notebooks:
                    notebook = next(n for n in assignment.notebooks if n.name == nb_result.notebook)
                    sub_nb = next((s for s in submitted.notebooks if s.notebook_id == notebook.id), None)
                    if sub_nb is None:
                        sub_nb = nb_api.SubmittedNotebook(notebook=notebook, assignment=submitted)
                        db.add(sub_nb)
                    grades = {g.cell_id: g for g in sub_nb.grades}
                    for cell in [*notebook.grade_cells, *notebook.task_cells]:
                        grade = grades.get(cell.id) or nb_api.Grade(cell_id=cell.id, notebook=sub_nb)
                        test = next((t for t in nb_result.tests if t.test == cell.name), None)
                        # an answer waiting for a TA has no automatic score (nbgrader's determine_grade)
                        grade.auto_score = None if test and test.status == MANUAL else (test.points if test else 0.0)
                        old = before.get((nb_result.notebook, cell.name))
                        if grade.manual_score is not None and test and old and test.answer_sha256 != old:
                            remark.setdefault(nb_result.notebook, []).append(cell.name)
                        # nbgrader's SaveAutoGrades rule; manual_score and extra_credit stay the TA's
                        grade.needs_manual_grade = grade.manual_score is not None or grade.auto_score is None
                        db.add(grade)
                    for cell in [*notebook.solution_cells, *notebook.task_cells]:
                        if not any(c.cell_id == cell.id for c in sub_nb.comments):
                            db.add(nb_api.Comment(cell_id=cell.id, notebook=sub_nb))
                    sub_nb.late_submission_penalty = (
                        round(result.penalty * nb_result.score / raw, 6) if raw > 0 and result.penalty else None)

            db.flush()          # nbgrader's ids (submitted.id) are given at the flush
            for table in ROW_TYPES:
                db.execute(delete(table).where(table.c.student == result.student,
                                               table.c.assignment == result.assignment))
            rows = {RESULTS: [ResultRow.of(result, n, i, t) for n in result.notebooks for i, t in enumerate(n.tests)],
                    NOTEBOOKS: [dataclasses.replace(row, notes=row.notes + _remark_note(remark[row.notebook]))
                                if row.notebook in remark else row
                                for row in (NotebookRow.of(result, n) for n in result.notebooks)],
                    METRICS: [MetricRow.of(result, n, m) for n in result.notebooks for m in n.metrics],
                    SUBMISSIONS: [SubmissionRow.of(result, nbgrader_id=submitted.id)]}
            for table, table_rows in rows.items():
                if table_rows:
                    db.execute(insert(table), [_values(r) for r in table_rows])
            db.commit()
        except BaseException:
            db.rollback()
            raise

    def enter_manual_score(self, student: str, assignment: str, notebook: str, test: str, score: float, *,
                           extra_credit: float | None = None) -> ManualGrade:
        """What formgrader's ``PUT /formgrader/api/grade/<id>`` does, for scripts and the demo: set a TA's
        score on one cell (and extra credit); `needs_manual_grade` is cleared as formgrader clears it."""
        grade = self._nb.find_grade(test, notebook, assignment, student)
        if not 0 <= score <= grade.max_score:
            raise ValueError(f"{student}/{notebook}/{test}: a score of {score:g} is outside [0, {grade.max_score:g}]")
        grade.manual_score, grade.extra_credit = score, extra_credit
        grade.needs_manual_grade = False
        self._nb.db.commit()
        return next(m for m in self.manual_grades(assignment) if m.grade_id == grade.id)

    # ---- removing -------------------------------------------------------------------
    def remove(self, student: str, assignment: str | None = None) -> int:
        """Delete a student's submission of `assignment` (every assignment when None, and then the student
        too) from nbgrader's tables and the autograder's, in one transaction. Returns the submissions removed;
        KeyError when there is nothing of that student (of that assignment) to remove."""
        from nbgrader import api as nb_api

        db = self._nb.db
        try:
            known = db.get(nb_api.Student, student)
            submitted = [] if known is None else [s for s in known.submissions
                                                  if assignment is None or s.assignment.name == assignment]
            ours = db.execute(select(SUBMISSIONS.c.assignment).where(SUBMISSIONS.c.student == student)).scalars().all()
            ours = [a for a in ours if assignment is None or a == assignment]
            if not submitted and not ours and (known is None or assignment is not None):
                raise KeyError(student)
            for sub in submitted:
                for nb in sub.notebooks:
                    for row in [*nb.grades, *nb.comments]:
                        db.delete(row)
                    db.delete(nb)
                db.delete(sub)
            for table in ROW_TYPES:
                query = delete(table).where(table.c.student == student)
                db.execute(query.where(table.c.assignment == assignment) if assignment else query)
            if assignment is None and known is not None:
                db.delete(known)
            db.commit()
            return max(len(submitted), len(ours))
        except BaseException:
            db.rollback()
            raise

    # ---- reading ----------------------------------------------------------------------
    def _gone(self) -> set[tuple[str, str]]:
        """(student, assignment) of recorded submissions whose nbgrader submission no longer exists."""
        from nbgrader import api as nb_api

        held = set(self._nb.db.execute(select(nb_api.SubmittedAssignment.id)).scalars())
        c = SUBMISSIONS.c
        return {(student, assignment) for student, assignment, nb_id in self._nb.db.execute(
            select(c.student, c.assignment, c.nbgrader_id)) if nb_id and nb_id not in held}

    def _read(self, table: Table, assignment: str | None, *order: Any, students: Sequence[str] = ()) -> list[Any]:
        """Rows of `table`, only of submissions nbgrader still holds (a student removed with
        `nbgrader db student remove` is gone from every export and report); only of `students` when given."""
        query = select(table).order_by(*order)
        if assignment:
            query = query.where(table.c.assignment == assignment)
        if students:
            query = query.where(table.c.student.in_(tuple(students)))
        row_type = ROW_TYPES[table]
        gone = self._gone()
        return [row_type(**row._mapping) for row in self._nb.db.execute(query)
                if (row.student, row.assignment) not in gone]

    def manual_grades(self, assignment: str | None = None, *, students: Sequence[str] = ()) -> list[ManualGrade]:
        """Every graded cell of every submitted notebook as nbgrader holds it (TA scores included): one
        query over nbgrader's tables (grade, submitted_notebook, submitted_assignment, notebook, assignment,
        base_cell and grade_cells / task_cells for the cell's maximum)."""
        from nbgrader import api as nb_api
        from sqlalchemy import func

        g, sn, sa = nb_api.Grade.__table__, nb_api.SubmittedNotebook.__table__, nb_api.SubmittedAssignment.__table__
        nb, asg, cell = nb_api.Notebook.__table__, nb_api.Assignment.__table__, nb_api.BaseCell.__table__
        gc, tc = nb_api.GradeCell.__table__, nb_api.TaskCell.__table__
        query = (select(sa.c.student_id, asg.c.name, nb.c.name, cell.c.name,
                        func.coalesce(gc.c.max_score, tc.c.max_score), g.c.auto_score, g.c.manual_score,
                        g.c.extra_credit, g.c.needs_manual_grade, g.c.id)
                 .select_from(g.join(sn, g.c.notebook_id == sn.c.id).join(sa, sn.c.assignment_id == sa.c.id)
                              .join(nb, sn.c.notebook_id == nb.c.id).join(asg, sa.c.assignment_id == asg.c.id)
                              .join(cell, g.c.cell_id == cell.c.id).outerjoin(gc, gc.c.id == cell.c.id)
                              .outerjoin(tc, tc.c.id == cell.c.id)))
        if assignment:
            query = query.where(asg.c.name == assignment)
        if students:
            query = query.where(sa.c.student_id.in_(tuple(students)))
        out = [ManualGrade(student=row[0], assignment=row[1], notebook=row[2], test=row[3],
                           max_points=float(row[4] or 0.0), auto_score=row[5], manual_score=row[6],
                           extra_credit=row[7], needs_manual_grade=bool(row[8]), grade_id=row[9])
               for row in self._nb.db.execute(query)]
        return sorted(out, key=lambda m: (m.student, m.assignment, m.notebook, m.test))

    def scored_results(self, assignment: str | None = None, *, students: Sequence[str] = ()) -> list[ResultRow]:
        """`results()` with the TAs' scores applied: a cell with a TA score carries it as its points (plus
        extra credit, capped at the cell's maximum here; the total keeps nbgrader's sum), its status from
        those points and a reason that says a TA scored it."""
        grades = {(m.student, m.assignment, m.notebook, m.test): m
                  for m in self.manual_grades(assignment, students=students)}
        out = []
        for r in self.results(assignment, students=students):
            m = grades.get((r.student, r.assignment, r.notebook, r.test))
            if m is not None and m.manual_score is not None:
                points = min(max(m.score, 0.0), r.max_points)
                status = "passed" if points >= r.max_points else ("partial" if points > 0 else "failed")
                reason = f"scored by a TA: {m.score:g} of {r.max_points:g} points" + (
                    f" (the autograder gave {r.points:g})" if r.kind != MANUAL else "")
                r = dataclasses.replace(r, points=points, status=status, reason=reason)
            out.append(r)
        return out

    def totals(self, assignment: str | None = None, *, students: Sequence[str] = ()) -> dict[tuple[str, str], Total]:
        """(student, assignment) -> the submission's total by nbgrader's rule, TA scores included."""
        by_sub: dict[tuple[str, str], list[ManualGrade]] = {}
        for m in self.manual_grades(assignment, students=students):
            by_sub.setdefault((m.student, m.assignment), []).append(m)
        out = {}
        for s in self.submissions(assignment, students=students):
            grades = by_sub.get((s.student, s.assignment), [])
            manual = sum(m.score for m in grades if m.manual_score is not None)
            manual += sum(m.extra_credit or 0.0 for m in grades if m.manual_score is None)
            autograded = sum(m.auto_score or 0.0 for m in grades if m.manual_score is None)
            out[(s.student, s.assignment)] = Total(
                student=s.student, assignment=s.assignment, autograded=round(autograded, 6),
                manual=round(manual, 6), penalty=s.penalty, max_score=s.max_score,
                pending=tuple(f"{m.notebook}/{m.test}" for m in grades if m.pending))
        return out

    # Each read takes `students` (default: every student) to read only those students' rows.
    def results(self, assignment: str | None = None, *, students: Sequence[str] = ()) -> list[ResultRow]:
        c = RESULTS.c
        return self._read(RESULTS, assignment, c.student, c.assignment, c.notebook, c.position, students=students)

    def submissions(self, assignment: str | None = None, *, students: Sequence[str] = ()) -> list[SubmissionRow]:
        return self._read(SUBMISSIONS, assignment, SUBMISSIONS.c.student, students=students)

    def metrics(self, assignment: str | None = None, *, students: Sequence[str] = ()) -> list[MetricRow]:
        c = METRICS.c
        return self._read(METRICS, assignment, c.student, c.notebook, c.model, students=students)

    def notebooks(self, assignment: str | None = None, *, students: Sequence[str] = ()) -> list[NotebookRow]:
        return self._read(NOTEBOOKS, assignment, NOTEBOOKS.c.student, NOTEBOOKS.c.notebook, students=students)

    def result_keys(self, assignment: str) -> dict[str, str]:
        """student -> the key under which the student's recorded result of `assignment` was graded (no
        entry when not graded, or when nbgrader no longer holds the submission: it is graded again)."""
        return _result_keys(self._nb.db, assignment)

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



def recorded_results(gb: Gradebook, *, assignment: str | None = None,
                     students: tuple[str, ...] = ()) -> list[SubmissionResult]:
    """The recorded submissions rebuilt as SubmissionResults (tests in recorded order), for printing
    them again (`autograder scores`). Only `students` when given; sorted by student.

    A result's fields are read from the row fields of the same names (the schema's convention, which
    tests/test_gradebook.py checks both ways), so what `record()` wrote comes back equal."""
    wanted = set(students)
    subs = [s for s in gb.submissions(assignment) if not wanted or s.student in wanted]
    keys = {(s.student, s.assignment) for s in subs}
    tests: dict[tuple[str, str, str], list[TestResult]] = {}
    for r in gb.results(assignment):
        if (r.student, r.assignment) in keys:
            tests.setdefault((r.student, r.assignment, r.notebook), []).append(_rebuilt(TestResult, r))
    metrics: dict[tuple[str, str, str], list[ModelMetric]] = {}
    for m in gb.metrics(assignment):
        if (m.student, m.assignment) in keys:
            metrics.setdefault((m.student, m.assignment, m.notebook), []).append(
                _rebuilt(ModelMetric, m, history={k: tuple(v) for k, v in m.history.items()}))
    notebooks: dict[tuple[str, str], list[NotebookResult]] = {}
    for row in gb.notebooks(assignment):
        key = (row.student, row.assignment, row.notebook)
        if key[:2] in keys:
            notebooks.setdefault(key[:2], []).append(_rebuilt(NotebookResult, row, tests=tuple(tests.get(key, ())),
                                                              metrics=tuple(metrics.get(key, ()))))
    return [_rebuilt(SubmissionResult, s, notebooks=tuple(notebooks.get((s.student, s.assignment), ())))
            for s in subs]


def _rebuilt(result_type: type, row: Any, **children: Any) -> Any:
    """A result of `result_type` from the same-named fields of `row`, its child results given."""
    return result_type(**{f.name: children[f.name] if f.name in children else getattr(row, f.name)
                          for f in dataclasses.fields(result_type)})
