"""Typed, frozen values that flow from grading to the gradebook and the reports.

Statuses of one test:
- ``passed``: full points;
- ``partial``: some points (a test cell that printed a score, or a metric curve);
- ``failed``: the test ran and the answer was wrong (0 points);
- ``error``: the test could not run (unreadable notebook, timeout, dead kernel) (0 points);
- ``manual``: a manually graded answer (nbgrader ``solution`` + ``grade`` without tests, or a
  ``task`` cell) that waits for a TA: 0 autograded points, ``needs_manual_grade`` in nbgrader's
  gradebook; the TA's score from formgrader is read back by `autograder.gradebook` (never written
  by grading). An answer left as released scores 0 as ``failed`` instead (nbgrader's rule).
"""
from __future__ import annotations

from dataclasses import dataclass, field
from enum import Enum
from typing import Any, Mapping

STATUSES = ("passed", "partial", "failed", "error", "manual")
MANUAL = "manual"       # the status and the kind of a manually graded answer


HIGHER_IS_BETTER = {"accuracy": True, "loss": False, "mae": False}   # the metrics the grader measures


class NoteKind(str, Enum):
    """What a note is about. The class report's flags and the feedback pages sort notes by kind,
    never by their text. Each kind is created where its event happens (grading/pipeline.py,
    grading/assemble.py, intake/discover.py, grading/verdicts/diagnosis.py); reports/report.py maps
    every kind to a flag or says why it is not flagged (tests/test_notes.py keeps the two in step)."""

    TAMPERING = "tampering"      # test or locked cells edited, deleted or duplicated: restored from the source
    ANSWER_CELLS = "answer_cells"   # answer cells missing (graded as unanswered) or duplicated (the last one graded)
    REPAIR = "repair"            # the notebook was read with a repair (format upgraded, cell ids added)
    INTAKE = "intake"            # how the files were found: LMS names, copies, duplicates resolved
    TIMESTAMP = "timestamp"      # when the submission was made, and where that time was read from
    TIMEOUT = "timeout"          # a cell or the notebook ran past its limit
    KERNEL = "kernel"            # the kernel died while the notebook ran
    SANDBOX = "sandbox"          # graded without (full) isolation
    METRIC = "metric"            # the notebook's reported metric differs from the measured one
    LATE = "late"                # submitted after the due date
    MANUAL = "manual"            # answers that wait for a TA's grade
    DIAGNOSIS = "diagnosis"      # a failing function behaves like a planted mistake of mutants/
    OTHER = "other"              # a note of an older gradebook that matched no kind when it was upgraded


class NotebookState(str, Enum):
    """Whether a notebook was graded. *What* happened; the why of NOT_GRADED is `NotebookResult.problem`."""

    GRADED = "graded"                # it ran (maybe with timeouts or a dead kernel: see the notes)
    NOT_SUBMITTED = "not_submitted"  # the student handed no file in for it: 0 points, not an error
    NOT_GRADED = "not_graded"        # handed in but could not be graded (unreadable, no kernel, worker failed)


@dataclass(frozen=True)
class Note:
    """One remark about a graded notebook or submission: *what* (kind) and *why* (text), and for a
    reader that counts notes, *which* (`facts`: name -> value pairs, e.g. a DIAGNOSIS note's function
    and mutant id). Readers use `fact()`, never the text."""

    kind: NoteKind
    text: str
    facts: tuple[tuple[str, str], ...] = ()

    def fact(self, name: str) -> str | None:
        return dict(self.facts).get(name)

    def to_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {"kind": self.kind.value, "text": self.text}
        if self.facts:
            out["facts"] = dict(self.facts)
        return out

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> "Note":
        facts = tuple((str(k), str(v)) for k, v in dict(data.get("facts") or {}).items())
        return cls(kind=NoteKind(data["kind"]), text=str(data["text"]), facts=facts)

    def __post_init__(self) -> None:
        if not isinstance(self.kind, NoteKind):
            raise TypeError(f"a note's kind must be a NoteKind, got {self.kind!r}")
        if not isinstance(self.text, str):
            raise TypeError(f"a note's text must be a str, got {type(self.text).__name__}")
        if not all(isinstance(f, tuple) and len(f) == 2 and all(isinstance(x, str) for x in f) for f in self.facts):
            raise TypeError(f"a note's facts must be (name, value) pairs of str, got {self.facts!r}")


@dataclass(frozen=True)
class TestResult:
    """The verdict on one grade cell of one notebook."""

    test: str                # the grade cell's grade_id
    points: float
    max_points: float
    status: str
    reason: str              # one line, safe to show to the student
    hidden: bool = False     # hidden tests never show source, inputs or tracebacks
    kind: str = "kernel"     # "kernel": ran in the student's kernel; "reference": compared by the
                             # grader with the reference solution; "model": saved model measured by the grader;
                             # "manual": an answer a TA grades (status "manual" until then)
    detail: str = ""         # a visible test's traceback; always empty for hidden tests
    answer_sha256: str = ""  # manual answers: sha256 of the graded answer's source (a re-submission that
                             # changes it after a TA's score is noted for re-marking); "" otherwise

    @property
    def needs_manual_grade(self) -> bool:
        return self.status == MANUAL

    def __post_init__(self) -> None:
        if self.status not in STATUSES:
            raise ValueError(f"unknown status {self.status!r}")
        if not 0 <= self.points <= self.max_points + 1e-9:
            raise ValueError(f"{self.test}: points {self.points} outside [0, {self.max_points}]")
        if self.hidden and self.detail:
            raise ValueError(f"{self.test}: a hidden test must not carry a traceback")
        if self.status == MANUAL and self.points:
            raise ValueError(f"{self.test}: an answer waiting for a TA has no autograded points")


@dataclass(frozen=True)
class ModelMetric:
    """What the grader measured about one saved model on held-out data.

    `value` is the grade's number: the grader's own training of the saved architecture, for
    `epochs` declared epochs with `batch_size`. `own_value` is the student's saved weights on the
    same held-out data (None when not measured); it only feeds the held-out-training flag."""

    model: str
    metric: str
    value: float | None          # None when the model could not be measured
    baseline: float | None       # a trivial predictor on the same data
    reported: float | None       # what the notebook claimed
    epochs: int | None = None
    params: int | None = None
    history: Mapping[str, tuple[float, ...]] = field(default_factory=dict)   # Keras history, per epoch
    own_value: float | None = None   # the student's saved weights on the same held-out data
    batch_size: int | None = None    # the batch size of the grader's training
    examples: int | None = None      # training examples of the grader's training
    capped: bool = False             # the grader's training was capped (autograder validate's shortcut)


@dataclass(frozen=True)
class NotebookResult:
    """All tests of one notebook of one submission.

    `state` says whether it was graded; `problem` is the why of NOT_GRADED and empty otherwise.
    Left out, `state` follows `problem` (NOT_GRADED when there is one, else GRADED)."""

    notebook: str
    tests: tuple[TestResult, ...]
    runtime_s: float = 0.0
    problem: str = ""        # why the notebook could not be graded ("" unless state is NOT_GRADED)
    notes: tuple[Note, ...] = ()   # tampering, repairs, timeouts, the sandbox, metric flags, ...
    datasets: tuple[str, ...] = ()   # "<dataset> source=... train=N heldout=N sha256=..." of the data used
    metrics: tuple[ModelMetric, ...] = ()
    state: NotebookState | None = None

    def __post_init__(self) -> None:
        state = self.state
        if state is None:
            state = NotebookState.NOT_GRADED if self.problem else NotebookState.GRADED
            object.__setattr__(self, "state", state)
        if not isinstance(state, NotebookState):
            raise TypeError(f"{self.notebook}: state must be a NotebookState, got {state!r}")
        if (state is NotebookState.NOT_GRADED) != bool(self.problem):
            raise ValueError(f"{self.notebook}: a notebook has a problem exactly when it is not graded "
                             f"(state {state.value}, problem {self.problem!r})")
        bad = [n for n in self.notes if not isinstance(n, Note)]
        if bad:
            raise TypeError(f"{self.notebook}: notes must be Note(kind, text), got {bad[0]!r}")

    @property
    def score(self) -> float:
        return round(sum(t.points for t in self.tests), 6)

    @property
    def max_score(self) -> float:
        return round(sum(t.max_points for t in self.tests), 6)

    @property
    def autograded_max(self) -> float:
        """The points the grader can give without a TA: `max_score` less the manually graded answers."""
        return round(sum(t.max_points for t in self.tests if t.kind != MANUAL), 6)


@dataclass(frozen=True)
class SubmissionResult:
    """One student's graded assignment, as recorded in the gradebook in one transaction."""

    student: str
    assignment: str
    notebooks: tuple[NotebookResult, ...]
    submission_sha256: str
    autograder_version: str
    config_digest: str
    graded_at: str                       # ISO 8601, UTC
    datasets: tuple[str, ...] = field(default=())   # "name source bytes sha256" lines of the data used
    result_key: str = ""     # hash of submission, source, solutions, config and version: unchanged -> not re-run
    submitted_at: str = ""   # ISO 8601 UTC time of the submission ("" when unknown)
    late_s: float = 0.0      # seconds past the due date (0 when on time or no due date)
    penalty: float = 0.0     # points deducted for lateness (autograder/late.py); score stays the raw score
    intake_notes: tuple[Note, ...] = ()  # how the files were found (INTAKE), when they were submitted (TIMESTAMP)

    def __post_init__(self) -> None:
        bad = [n for n in self.intake_notes if not isinstance(n, Note)]
        if bad:
            raise TypeError(f"{self.student}: intake notes must be Note(kind, text), got {bad[0]!r}")

    @property
    def score(self) -> float:
        """The raw score: the sum of test points, before any late penalty."""
        return round(sum(n.score for n in self.notebooks), 6)

    @property
    def final_score(self) -> float:
        """The score after the late penalty."""
        return round(max(0.0, self.score - self.penalty), 6)

    @property
    def max_score(self) -> float:
        return round(sum(n.max_score for n in self.notebooks), 6)

    @property
    def graded_ok(self) -> bool:
        """False when any notebook could not be graded at all (its problem is recorded)."""
        return not any(n.state is NotebookState.NOT_GRADED for n in self.notebooks)
