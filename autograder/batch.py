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
from .grading import GradingContext, SandboxPlan, grade_submission, internal_error_result, load_context
from .intake import discover
from .results import SubmissionResult


@dataclass(frozen=True)
class BatchReport:
    results: tuple[SubmissionResult, ...]     # graded in this run
    skipped: tuple[str, ...]                  # entries that are not submissions (with reasons)
    unchanged: tuple[str, ...] = ()           # students whose recorded grade is still current

    @property
    def failed(self) -> tuple[SubmissionResult, ...]:
        """Submissions with at least one notebook that could not be graded at all."""
        return tuple(r for r in self.results if not r.graded_ok)

    @property
    def ok(self) -> bool:
        return not self.failed and not self.skipped


def grade_path(*, config: GraderConfig, path: Path, students: tuple[str, ...] = (),
               executed_root: Path | None = None, progress: bool = True, force: bool = False,
               context: GradingContext | None = None) -> BatchReport:
    """Grade the submissions under `path` (folder or zip) into the gradebook of `config`.

    A submission whose recorded result has the same key (same submission bytes, source,
    solutions, config and autograder version) is not run again unless `force` is set. So a
    batch that was interrupted, even by SIGKILL, is completed by running the same command again.
    """
    ctx = context or load_context(config)
    names = tuple(nb.name for nb in ctx.spec.notebooks)
    results, unchanged = [], []
    with tempfile.TemporaryDirectory(prefix="autograder-intake-") as scratch, Gradebook(config) as gb:
        submissions, skipped = discover(Path(path), assignment=ctx.spec.name, notebooks=names,
                                        scratch=Path(scratch))
        if students:
            submissions = [s for s in submissions if s.student in students]
        gb.sync_assignment(ctx.spec)
        plan = SandboxPlan.for_batch(config, extra_hidden=(Path(path), Path(scratch)))
        if not force:
            current = [s for s in submissions if gb.result_key(s.student, ctx.spec.name) == ctx.result_key(s)]
            unchanged = [s.student for s in current]
            submissions = [s for s in submissions if s not in current]
        bar = tqdm(submissions, desc="grading", unit="submission", disable=not progress, leave=False)
        for submission in bar:
            bar.set_postfix_str(submission.student)
            try:
                result = grade_submission(ctx, submission, executed_root=executed_root, plan=plan)
            except Exception as exc:  # a grader bug must cost one submission, not the batch
                result = internal_error_result(ctx, submission, exc)
            gb.record(result)
            results.append(result)
        bar.close()
    return BatchReport(results=tuple(results), skipped=tuple(skipped), unchanged=tuple(unchanged))
