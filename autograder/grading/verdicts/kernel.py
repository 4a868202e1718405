"""Verdicts on test cells from what they did in the student's kernel.

A test cell runs in the student's process, so anything the student's code does there can fool
it (a patched `np.testing`, an ndarray subclass whose comparisons always succeed, a replaced
builtin). Its points therefore count only when every grader-side check of the same exercise
(the probe and model cells scored in the grader's process) confirms the answer: `Confirmation`.
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from enum import Enum

from autograder.course.notebooks import TestSpec
from autograder.grading.execute import CellOutcome
from autograder.results import TestResult

MAX_REASON = 300
MAX_DETAIL = 4000
RESTORED_NOTE = " (this test cell was changed in the submission and was restored)"


def clip(text: str, limit: int) -> str:
    """One line of at most `limit` characters for reasons; details keep their lines."""
    text = " ".join(text.split()) if limit == MAX_REASON else text
    return text if len(text) <= limit else text[: limit - 1] + "…"


class CheckKind(str, Enum):
    """What a grader-side check looks at; it names the check in a kernel test's reason."""

    COMPARISON = "comparison"          # a probe: the student's function against the reference
    RETURNED_MODEL = "returned model"  # a probe of a function that returns a Keras model
    WRITTEN_FILES = "written files"    # a probe of a function that writes files
    SAVED_MODEL = "saved model"        # a model cell: the trained model the notebook saved


@dataclass(frozen=True)
class GraderCheck:
    """One grader-side verdict on an exercise. `subject` is the function or saved model it checks."""

    kind: CheckKind
    subject: str
    verdict: TestResult

    @property
    def confirms(self) -> bool:
        """Passed; a held-out metric (a curve of points) confirms as soon as it earns any points."""
        if self.kind is CheckKind.SAVED_MODEL and self.verdict.status == "partial":
            return self.verdict.points > 0
        return self.verdict.status == "passed"

    def describe(self) -> str:
        """"the grader's comparison of rnn_cell_forward with the reference", ... (for reasons)."""
        return {
            CheckKind.COMPARISON: f"the grader's comparison of {self.subject} with the reference",
            CheckKind.RETURNED_MODEL: f"the grader's check of the model that {self.subject} returns",
            CheckKind.WRITTEN_FILES: f"the grader's check of the files that {self.subject} writes",
            CheckKind.SAVED_MODEL: f"the grader's check of the saved model {self.subject}",
        }[self.kind]


@dataclass(frozen=True)
class Confirmation:
    """Every grader-side check of one exercise. A kernel test's points need all of them to confirm."""

    exercise: str
    checks: tuple[GraderCheck, ...]

    @property
    def unconfirmed(self) -> tuple[GraderCheck, ...]:
        return tuple(c for c in self.checks if not c.confirms)

    def reason(self) -> str:
        """Why the kernel's points do not count: the first check that did not confirm, and how."""
        first = self.unconfirmed[0]
        how = "could not run" if first.verdict.status == "error" else "failed"
        more = len(self.unconfirmed) - 1
        return (f"not confirmed: {first.describe()} {how}" + (f" (and {more} more grader check"
                                                               f"{'s' if more > 1 else ''})" if more else "")
                + "; a test in your kernel counts only when the grader's own check of the same exercise passes")


def kernel_verdict(test: TestSpec, outcome: CellOutcome | None, *, stopped: str, restored: bool,
                   confirmation: Confirmation | None = None) -> TestResult:
    """Score a test cell from what it did in the kernel. Stderr never counts as failure.

    Points earned in the kernel are kept only when `confirmation` (the grader-side checks of
    the test's exercise) has no check that failed; otherwise the test scores 0 with the reason
    naming that check. A test with points always has a confirmation (the source refuses one
    without, `course/notebooks.py`); None is accepted for tests that name no exercise."""
    def make(status: str, points: float, reason: str, detail: str = "") -> TestResult:
        if restored:
            reason += RESTORED_NOTE
        return TestResult(test=test.grade_id, points=points, max_points=test.points, status=status,
                          reason=clip(reason, MAX_REASON), hidden=test.hidden, kind="kernel",
                          detail="" if test.hidden else clip(detail, MAX_DETAIL))

    def earned(status: str, points: float, reason: str) -> TestResult:
        if points > 0 and confirmation is not None and confirmation.unconfirmed:
            first = confirmation.unconfirmed[0]
            return make("error" if first.verdict.status == "error" else "failed", 0.0, confirmation.reason())
        return make(status, points, reason)

    if outcome is None:
        return make("error", 0.0, f"not run: {stopped or 'execution stopped before this cell'}")
    if outcome.timed_out:
        return make("error", 0.0, "timed out: the cell ran past its time limit")
    if outcome.error is not None:
        ename, evalue, traceback = outcome.error
        if ename == "DeadKernelError":
            return make("error", 0.0, "the kernel died while running this test")
        if test.hidden:
            shown = f"{ename}: {evalue}" if ename == "AssertionError" and evalue else f"{ename} raised"
            return make("failed", 0.0, f"hidden test failed: {shown}")
        return make("failed", 0.0, f"{ename}: {evalue}" if evalue else ename, traceback)
    if outcome.printed_score is not None:
        if not math.isfinite(outcome.printed_score):
            return make("failed", 0.0, f"the test reported {outcome.printed_score} points, which is not a number")
        points = min(max(outcome.printed_score, 0.0), test.points)
        status = "passed" if points >= test.points else "partial"
        return earned(status, points, f"the test reported {points:g} of {test.points:g} points")
    return earned("passed", test.points, "passed")
