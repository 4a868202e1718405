"""Check that the assignment's tests work: the reference scores full marks, the blank release 0.

Both are graded through the same pipeline as students (fresh kernels, probes, restoration)
into a throw-away gradebook, so the course gradebook is never touched.
"""
from __future__ import annotations

import shutil
import tempfile
from dataclasses import dataclass
from pathlib import Path

from .batch import default_workers, grade_path
from .config import GraderConfig
from .grading import load_context
from .results import SubmissionResult, TestResult

REFERENCE_STUDENT = "reference-solution"
BLANK_STUDENT = "blank-release"


@dataclass(frozen=True)
class ValidationReport:
    reference: SubmissionResult
    blank: SubmissionResult

    @property
    def problems(self) -> list[str]:
        out = []
        for nb in self.reference.notebooks:
            out += [f"reference {nb.notebook}/{t.test}: {t.points:g}/{t.max_points:g} ({t.reason})"
                    for t in nb.tests if t.points < t.max_points]
        for nb in self.blank.notebooks:
            out += [f"blank release {nb.notebook}/{t.test}: {t.points:g}/{t.max_points:g} ({t.reason})"
                    for t in nb.tests if t.points > 0]
        return out

    @property
    def ok(self) -> bool:
        return not self.problems

    def rows(self) -> list[tuple[str, TestResult, TestResult]]:
        blank = {(n.notebook, t.test): t for n in self.blank.notebooks for t in n.tests}
        return [(nb.notebook, t, blank[(nb.notebook, t.test)]) for nb in self.reference.notebooks for t in nb.tests]


def validate(*, config: GraderConfig, progress: bool = False) -> ValidationReport:
    ctx = load_context(config)
    with tempfile.TemporaryDirectory(prefix="autograder-validate-") as tmp:
        root = Path(tmp)
        for student, notebooks in ((REFERENCE_STUDENT, ctx.spec.source_dir), (BLANK_STUDENT, ctx.release_dir)):
            folder = root / "submitted" / student / ctx.spec.name
            folder.mkdir(parents=True)
            for nb in ctx.spec.notebooks:
                shutil.copy(notebooks / f"{nb.name}.ipynb", folder / f"{nb.name}.ipynb")
        scratch = config.with_gradebook(root / "validate.db")
        report = grade_path(config=scratch, path=root / "submitted", progress=progress, context=ctx,
                            workers=default_workers())
    by_student = {r.student: r for r in report.results}
    return ValidationReport(reference=by_student[REFERENCE_STUDENT], blank=by_student[BLANK_STUDENT])
