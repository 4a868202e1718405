"""Verdicts on test cells from what they did in the student's kernel."""
from __future__ import annotations

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


def kernel_verdict(test: TestSpec, outcome: CellOutcome | None, *, stopped: str, restored: bool) -> TestResult:
    """Score a test cell from what it did in the kernel. Stderr never counts as failure."""
    def make(status: str, points: float, reason: str, detail: str = "") -> TestResult:
        if restored:
            reason += RESTORED_NOTE
        return TestResult(test=test.grade_id, points=points, max_points=test.points, status=status,
                          reason=clip(reason, MAX_REASON), hidden=test.hidden, kind="kernel",
                          detail="" if test.hidden else clip(detail, MAX_DETAIL))

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
        points = min(max(outcome.printed_score, 0.0), test.points)
        status = "passed" if points >= test.points else "partial"
        return make(status, points, f"the test reported {points:g} of {test.points:g} points")
    return make("passed", test.points, "passed")
