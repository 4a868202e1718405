"""Grade every submission under a path and record each one as soon as it is graded.

One bad submission never stops the batch: an unreadable notebook is recorded as 0 with a
reason, and even an unexpected grader error on one submission is recorded as such while
the batch goes on. Grades recorded before a crash stay recorded (one transaction each).
"""
from __future__ import annotations

import tempfile
from dataclasses import dataclass
from pathlib import Path

from tqdm import tqdm

from .config import GraderConfig
from .gradebook import Gradebook
from .grading import GradingContext, grade_submission, internal_error_result, load_context
from .intake import discover
from .results import SubmissionResult


@dataclass(frozen=True)
class BatchReport:
    results: tuple[SubmissionResult, ...]
    skipped: tuple[str, ...]

    @property
    def failed(self) -> tuple[SubmissionResult, ...]:
        """Submissions with at least one notebook that could not be graded at all."""
        return tuple(r for r in self.results if not r.graded_ok)

    @property
    def ok(self) -> bool:
        return not self.failed and not self.skipped


def grade_path(*, config: GraderConfig, path: Path, students: tuple[str, ...] = (),
               executed_root: Path | None = None, progress: bool = True,
               context: GradingContext | None = None) -> BatchReport:
    """Grade the submissions under `path` (folder or zip) into the gradebook of `config`."""
    ctx = context or load_context(config)
    names = tuple(nb.name for nb in ctx.spec.notebooks)
    results = []
    with tempfile.TemporaryDirectory(prefix="autograder-intake-") as scratch, Gradebook(config) as gb:
        submissions, skipped = discover(Path(path), assignment=ctx.spec.name, notebooks=names,
                                        scratch=Path(scratch))
        if students:
            submissions = [s for s in submissions if s.student in students]
        gb.sync_assignment(ctx.spec)
        bar = tqdm(submissions, desc="grading", unit="submission", disable=not progress, leave=False)
        for submission in bar:
            bar.set_postfix_str(submission.student)
            try:
                result = grade_submission(ctx, submission, executed_root=executed_root)
            except Exception as exc:  # a grader bug must cost one submission, not the batch
                result = internal_error_result(ctx, submission, exc)
            gb.record(result)
            results.append(result)
        bar.close()
    return BatchReport(results=tuple(results), skipped=tuple(skipped))
