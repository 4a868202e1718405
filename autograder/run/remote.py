"""Grading on a Dask cluster: the same "grade one submission" task, run by Dask workers.

The coordinator ships each submission's notebook bytes and the validated config values in the
task; a worker needs only the course folder (grader_config.py, source/, release/, solutions/)
at the same path as the coordinator, e.g. a read-only copy or a network mount. Workers never
touch the gradebook: results travel back to the coordinator, which alone records them.
"""
from __future__ import annotations

import shutil
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Mapping

from autograder.config import GraderConfig, config_as_dict, parse_config
from autograder.grading.pipeline import (
    GradingContext,
    grade_submission,
    internal_error_result,
    load_context,
)
from autograder.grading.sandbox import SandboxPlan
from autograder.intake.discover import Submission
from autograder.results import Note, SubmissionResult


@dataclass(frozen=True)
class RemoteTask:
    course_root: str
    config_values: Mapping[str, Any]
    student: str
    sha256: str
    notebooks: Mapping[str, bytes]
    problems: Mapping[str, str]
    submitted_at: str = ""
    intake_notes: tuple[Note, ...] = ()


def make_task(config: GraderConfig, submission: Submission) -> RemoteTask:
    return RemoteTask(course_root=str(config.course_root), config_values=config_as_dict(config),
                      student=submission.student, sha256=submission.sha256,
                      notebooks={name: path.read_bytes() for name, path in submission.notebooks.items()},
                      problems=dict(submission.problems), submitted_at=submission.submitted_at,
                      intake_notes=submission.intake_notes)


_CONTEXTS: dict[tuple[str, str], tuple[GradingContext, SandboxPlan]] = {}
SCRATCH_PARENT = Path(tempfile.gettempdir()) / "autograder-remote"


def run_task(task: RemoteTask) -> SubmissionResult:
    """Executed on a Dask worker: grade one submission in a private scratch folder."""
    config = parse_config(dict(task.config_values), course_root=Path(task.course_root))
    key = (task.course_root, config.digest)
    SCRATCH_PARENT.mkdir(exist_ok=True)
    if key not in _CONTEXTS:          # loaded once per worker process and config
        ctx = load_context(config)
        ctx.load_data()               # a missing dataset fails the task loudly, not each notebook
        # every task's submission lives under SCRATCH_PARENT, which no sandbox can see
        _CONTEXTS[key] = (ctx, SandboxPlan.for_batch(ctx.config, extra_hidden=(SCRATCH_PARENT,)))
    ctx, plan = _CONTEXTS[key]
    scratch = Path(tempfile.mkdtemp(prefix=f"{task.student}-", dir=SCRATCH_PARENT))
    try:
        files = {}
        for name, data in task.notebooks.items():
            path = scratch / f"{name}.ipynb"
            path.write_bytes(data)
            files[name] = path
        submission = Submission(student=task.student, notebooks=files, sha256=task.sha256, problems=task.problems,
                                submitted_at=task.submitted_at, intake_notes=task.intake_notes)
        try:
            return grade_submission(ctx, submission, plan=plan)
        except Exception as exc:
            return internal_error_result(ctx, submission, exc)
    finally:
        shutil.rmtree(scratch, ignore_errors=True)
