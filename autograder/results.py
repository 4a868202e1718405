"""Typed, frozen values that flow from grading to the gradebook and the reports.

Statuses of one test:
- ``passed``: full points;
- ``partial``: some points (a test cell that printed a score, or a metric curve);
- ``failed``: the test ran and the answer was wrong (0 points);
- ``error``: the test could not run (unreadable notebook, timeout, dead kernel) (0 points).
"""
from __future__ import annotations

from dataclasses import dataclass, field
from enum import Enum
from typing import Any, Mapping

STATUSES = ("passed", "partial", "failed", "error")


HIGHER_IS_BETTER = {"accuracy": True, "loss": False, "mae": False}   # the metrics the grader measures


class NoteKind(str, Enum):
    """What a note is about. The class report's flags and the feedback pages sort notes by kind,
    never by their text."""

    TAMPERING = "tampering"      # test or locked cells edited, deleted, duplicated or reordered: restored
    REPAIR = "repair"            # the notebook was read with a repair (format upgraded, cell ids added)
    INTAKE = "intake"            # how the files were found: LMS names, copies, duplicates resolved
    TIMEOUT = "timeout"          # a cell or the notebook ran past its limit
    KERNEL = "kernel"            # the kernel died, could not start, or execution stopped early
    SANDBOX = "sandbox"          # graded without (full) isolation
    METRIC = "metric"            # the notebook's reported metric differs from the measured one
    LATE = "late"                # submitted after the due date
    MANUAL = "manual"            # answers that wait for a TA's grade


@dataclass(frozen=True)
class Note:
    """One remark about a graded notebook or submission: *what* (kind) and *why* (text)."""

    kind: NoteKind
    text: str

    def to_json(self) -> dict[str, str]:
        return {"kind": self.kind.value, "text": self.text}

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> "Note":
        return cls(kind=NoteKind(data["kind"]), text=str(data["text"]))


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
                             # grader with the reference solution; "model": saved model measured by the grader
    detail: str = ""         # a visible test's traceback; always empty for hidden tests

    def __post_init__(self) -> None:
        if self.status not in STATUSES:
            raise ValueError(f"unknown status {self.status!r}")
        if not 0 <= self.points <= self.max_points + 1e-9:
            raise ValueError(f"{self.test}: points {self.points} outside [0, {self.max_points}]")
        if self.hidden and self.detail:
            raise ValueError(f"{self.test}: a hidden test must not carry a traceback")


@dataclass(frozen=True)
class ModelMetric:
    """What the grader measured about one saved model on held-out data."""

    model: str
    metric: str
    value: float | None          # None when the model could not be measured
    baseline: float | None       # a trivial predictor on the same data
    reported: float | None       # what the notebook claimed
    epochs: int | None = None
    params: int | None = None
    history: Mapping[str, tuple[float, ...]] = field(default_factory=dict)   # Keras history, per epoch


@dataclass(frozen=True)
class NotebookResult:
    """All tests of one notebook of one submission."""

    notebook: str
    tests: tuple[TestResult, ...]
    runtime_s: float = 0.0
    problem: str = ""        # why the notebook could not be graded normally ("" when it could)
    notes: tuple[str, ...] = ()   # tampering and repair notes (restored cells, ignored duplicates)
    datasets: tuple[str, ...] = ()   # "<dataset> source=... train=N heldout=N sha256=..." of the data used
    metrics: tuple[ModelMetric, ...] = ()

    @property
    def score(self) -> float:
        return round(sum(t.points for t in self.tests), 6)

    @property
    def max_score(self) -> float:
        return round(sum(t.max_points for t in self.tests), 6)


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
    intake_notes: tuple[str, ...] = ()   # how the files were found: LMS names, duplicates resolved, ...

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
        return not any(n.problem for n in self.notebooks)
