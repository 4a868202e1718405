"""Grade every submission under a path and record each one as soon as it is graded.

One bad submission never stops the batch: an unreadable notebook is recorded as 0 with a
reason, and even an unexpected grader error on one submission is recorded as such while
the batch goes on. Grades recorded before a crash stay recorded (one transaction each).
Files that intake could not use (a name that is no notebook of the assignment, a reserved folder
name, an LMS user missing from the roster) come back typed in `BatchReport.unmatched`; a batch
with any is not `ok` (the CLI lists them and exits 1), and the rest is graded all the same.
"""
from __future__ import annotations

import contextlib
import dataclasses
import os
import tempfile
import threading
from concurrent.futures import ThreadPoolExecutor, as_completed
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Callable

from autograder.config import GraderConfig
from autograder.course.notebooks import (
    AssignmentSpec,
    NotPlainJSON,
    load_source,
    read_plain,
)
from autograder.grading.keys import result_key, source_digest
from autograder.intake.canvas import load_roster
from autograder.intake.discover import Unmatched, discover
from autograder.grading.recorded import sqlite_result_keys
from autograder.results import SubmissionResult

if TYPE_CHECKING:
    from autograder.grading.pipeline import GradingContext

# Notebooks started ahead of the `workers` that run cells: such a notebook is assembled and its
# kernel started while the others run, then it waits at the worker's gate for a running slot
# (sandbox._run_worker). Kernel start and the grader's own work around a notebook then overlap
# the cells of others, while no more than `workers` kernels (or model trainings) ever run at once:
# a cell limit sees those, plus one kernel starting and one shutting down. bench/throughput.py
# measures it.
KERNELS_AHEAD = 1


@dataclass(frozen=True)
class BatchReport:
    results: tuple[SubmissionResult, ...]     # graded in this run
    unmatched: tuple[Unmatched, ...] = ()     # files and entries intake could not use (typed, with the why)
    unchanged: tuple[str, ...] = ()           # students whose recorded grade is still current
    unwrapped: tuple[str, ...] = ()           # wrapper folders stripped from the batch, outermost first
    not_started: tuple[str, ...] = ()         # students left ungraded because `stop` was set (nothing recorded)

    @property
    def skipped(self) -> tuple[str, ...]:
        """Entries refused as a whole (no student could be named), one line each."""
        return tuple(f"{u.why} ({u.path})" for u in self.unmatched if not u.student)

    @property
    def unmatched_files(self) -> tuple[Unmatched, ...]:
        """Files of a named student that match no notebook of the assignment."""
        return tuple(u for u in self.unmatched if u.student)

    @property
    def failed(self) -> tuple[SubmissionResult, ...]:
        """Submissions with at least one notebook that could not be graded at all."""
        return tuple(r for r in self.results if not r.graded_ok)

    @property
    def ok(self) -> bool:
        return not self.failed and not self.unmatched


def _run_on_dask(scheduler: str, config: GraderConfig, submissions, record) -> None:
    """Submit one task per submission to a running Dask scheduler; record results as they come."""
    from distributed import Client
    from distributed import as_completed as dask_completed

    from autograder.run.remote import make_task, run_task

    with Client(scheduler, timeout="30s") as client:
        futures = [client.submit(run_task, make_task(config, s), key=f"grade-{s.student}-{s.sha256[:12]}",
                                 pure=False, retries=1) for s in submissions]
        for future in dask_completed(futures):
            record(future.result())


def default_workers() -> int:
    return max(1, os.cpu_count() or 1)


def Gradebook(config: GraderConfig):  # stands for the class (a test replaces it to refuse it)
    """autograder.gradebook.Gradebook, imported when a batch has work: it loads SQLAlchemy and nbgrader."""
    from autograder.gradebook import Gradebook as Opened

    return Opened(config)


def _load_context(config: GraderConfig) -> GradingContext:
    """`load_context`, imported when a batch has work: it reads the course with nbformat, imports the
    solutions (numpy) and the grading stages."""
    from autograder.grading.pipeline import load_context

    return load_context(config)


def recorded_result_keys(config: GraderConfig, assignment: str) -> dict[str, str]:
    """The recorded result keys: a sqlite gradebook read with the stdlib, any other through SQLAlchemy."""
    path = config.gradebook_path
    if path is not None:
        return sqlite_result_keys(path, assignment)
    from autograder.gradebook import recorded_result_keys as through_sqlalchemy

    return through_sqlalchemy(config, assignment)


@dataclass(frozen=True)
class _PlainSource:
    """What an unchanged re-grade needs of the course, from the raw JSON of source/ (`read_plain`): the
    spec (notebook names, cell ids) and the source digest, equal to what `load_context` gives."""

    spec: AssignmentSpec
    source_digest: str

    @classmethod
    def read(cls, config: GraderConfig) -> _PlainSource | None:
        """None when some source notebook needs nbformat to be read as grading reads it, or a released
        notebook is missing (`load_context` then says so)."""
        try:
            spec, _ = load_source(config, read=read_plain)
            digest = source_digest(spec.source_dir, config.course_root / "solutions", read=read_plain)
        except NotPlainJSON:
            return None
        release_dir = config.course_root / "release" / config.assignment
        if not all((release_dir / f"{nb.name}.ipynb").is_file() for nb in spec.notebooks):
            return None
        return cls(spec=spec, source_digest=digest)

    def result_key(self, submission, config: GraderConfig) -> str:
        return result_key(submission, source_digest=self.source_digest, config=config)


def grade_path(*, config: GraderConfig, path: Path, students: tuple[str, ...] = (),
               executed_root: Path | None = None, progress: bool = True, force: bool = False,
               workers: int = 1, kernels_ahead: int = KERNELS_AHEAD, scheduler: str | None = None,
               context: GradingContext | None = None, roster: Path | None = None,
               stop: threading.Event | None = None,
               on_recorded: Callable[[SubmissionResult], None] | None = None) -> BatchReport:
    """Grade the submissions under `path` (folder or zip) into the gradebook of `config`.

    A submission whose recorded result has the same key (same submission bytes, source,
    solutions, config and autograder version) is not run again unless `force` is set. So a
    batch that was interrupted, even by SIGKILL, is completed by running the same command again.

    Up to `workers` notebooks run cells at once (of different submissions, or of the same one),
    each in its own sandboxed worker process and kernel, and each kernel gets cores / workers
    threads; `kernels_ahead` more are assembled and their kernels started meanwhile. Only this
    (coordinating) thread writes the gradebook, in the order the submissions finish.

    With `scheduler` ("tcp://host:port"), each submission is a task on that Dask cluster
    (autograder/remote.py); lost workers' tasks are re-run by Dask, results are recorded here.

    `roster` (default: `roster` in grader_config.py) maps the users of an LMS download to students.

    Once `stop` is set, submissions not yet started are left alone (`BatchReport.not_started`); the
    ones running finish and are recorded (`autograder serve` stopping on SIGTERM). `on_recorded` is
    called with each result right after it is recorded (serve releases its feedback then).
    """
    # Fast path: keys computed from the raw notebook JSON and the recorded keys read with the stdlib's sqlite3;
    # when every submission is unchanged there is nothing to open, load or start (no nbformat, nbgrader,
    # SQLAlchemy, numpy or TensorFlow).
    plain = None if context is not None or force else _PlainSource.read(config)
    ctx = context or (None if plain else _load_context(config))
    spec = ctx.spec if ctx else plain.spec
    names = tuple(nb.name for nb in spec.notebooks)
    results, unchanged, not_started = [], [], []
    roster_path = roster or config.roster_path
    loaded_roster = load_roster(roster_path) if roster_path else None
    with contextlib.ExitStack() as stack:
        scratch = stack.enter_context(tempfile.TemporaryDirectory(prefix="autograder-intake-"))
        found = discover(Path(path), assignment=spec.name, notebooks=names, scratch=Path(scratch),
                         roster=loaded_roster, cell_ids=spec.cell_ids())
        submissions, unmatched = list(found.submissions), found.unmatched
        if students:
            submissions = [s for s in submissions if s.student in students]
            unmatched = tuple(u for u in unmatched if not u.student or u.student in students)
        keys = {s.student: ctx.result_key(s) if ctx else plain.result_key(s, config) for s in submissions}

        def current(recorded: dict[str, str]) -> list:
            return [s for s in submissions if recorded.get(s.student) == keys[s.student]]

        if not force and submissions and len(current(recorded_result_keys(config, spec.name))) == len(submissions):
            return BatchReport(results=(), unmatched=unmatched, unchanged=tuple(keys), unwrapped=found.unwrapped)
        from tqdm import tqdm

        from autograder.grading.pipeline import grade_submission, internal_error_result
        from autograder.grading.sandbox import SandboxPlan

        if ctx is None:
            ctx = _load_context(config)
            keys = {s.student: ctx.result_key(s) for s in submissions}
        gb = stack.enter_context(Gradebook(config))
        gb.sync_assignment(ctx.spec)
        if not force:
            kept = current(gb.result_keys(ctx.spec.name))
            unchanged = [s.student for s in kept]
            submissions = [s for s in submissions if s not in kept]
        if submissions:
            ctx.load_data()     # a missing dataset stops the batch here, before any kernel starts
        plan = SandboxPlan.for_batch(config, extra_hidden=(Path(path), Path(scratch)))
        workers = max(1, workers)
        plan = dataclasses.replace(plan, threads=max(1, default_workers() // workers),
                                   slots=threading.Semaphore(workers + kernels_ahead),
                                   running=threading.Semaphore(workers))

        def one(submission):
            if stop is not None and stop.is_set():
                return submission.student
            try:
                return grade_submission(ctx, submission, executed_root=executed_root, plan=plan)
            except Exception as exc:  # a grader bug must cost one submission, not the batch
                return internal_error_result(ctx, submission, exc)

        bar = tqdm(total=len(submissions), desc="grading", unit="submission", disable=not progress, leave=False)

        def record(result: SubmissionResult | str) -> None:
            if isinstance(result, str):      # not started: `stop` was set
                not_started.append(result)
                bar.update()
                return
            gb.record(result)
            results.append(result)
            if on_recorded is not None:
                on_recorded(result)
            bar.set_postfix_str(result.student)
            bar.update()

        if scheduler:
            _run_on_dask(scheduler, config, submissions, record)
        else:
            with ThreadPoolExecutor(max_workers=workers + kernels_ahead) as pool:
                for future in as_completed([pool.submit(one, s) for s in submissions]):
                    record(future.result())
        bar.close()
        results.sort(key=lambda r: r.student)
    return BatchReport(results=tuple(results), unmatched=unmatched, unchanged=tuple(unchanged),
                       unwrapped=found.unwrapped, not_started=tuple(sorted(not_started)))
