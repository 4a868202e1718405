"""`autograder serve`: grade each submission as it arrives in nbgrader's exchange, and release feedback.

One service per course. It looks at `<exchange>/<course_id>/inbound/` every `serve.poll_s` seconds.
A submission folder (`<student>+<assignment>+<timestamp>[+<random>]`, written by `nbgrader submit`)
is queued once it is complete: nbgrader writes `submission_secret.txt` last. Queued jobs are graded
together with `run.batch.grade_path`, the same code and workers as `autograder grade`, each recorded
in the gradebook as soon as it is graded. Then the service writes the student's feedback pages
(`reports.feedback`) and releases them with nbgrader's own `ExchangeReleaseFeedback`, which names each
page by nbgrader's hash of the submission's secret and notebook. `nbgrader fetch_feedback` finds them
there, as it finds feedback a TA released.

Decisions:
- **The queue is on disk** (`serve.queue`, `serve_queue.db` beside the gradebook). A job left running by a
  killed service is queued again at the next start. Grading it again cannot record it twice: the
  gradebook keeps one submission per student, and a submission whose result is already recorded under
  the same key is not run again (`grade_path`'s unchanged check).
- **The final grade** is the last graded submission, as nbgrader's collect takes the latest one: jobs
  are graded in timestamp order, one job per student at a time. A submission after the due date is
  graded with the late rules of grader_config.py, as `autograder grade` grades it.
- **Daily runs** (`serve.runs_per_day`) count, per student and notebook and UTC day of the submission's
  timestamp, the submissions that changed that notebook since its last graded run. An unchanged
  notebook costs nothing. A submission that would go over the limit for any notebook is not graded
  (`refused`); its feedback pages say which notebook and when the next run is free. The earlier
  grade stands.
- **Before the due date** feedback shows what `serve.before_due` says (`reports.feedback.FeedbackView`).
  Once the due date has passed, the service re-renders and re-releases every served student's full
  feedback, once.
- **SIGTERM** (`stop`): no new job starts; the running ones finish and are recorded; jobs claimed but
  not started go back to the queue.
- **One bad notebook never blocks the queue**: it is graded as `autograder grade` grades it (recorded
  with its problem), and an error of the service on one batch fails those jobs with the error named.

Only the CLI prints: the service reports `ServeEvent`s to a callback.
"""
from __future__ import annotations

import datetime as dt
import hashlib
import os
import re
import shutil
import tempfile
import threading
from dataclasses import dataclass, field
from enum import Enum
from pathlib import Path
from typing import Callable

from autograder.config import GraderConfig
from autograder.errors import AutograderError
from autograder.serve.queue import QUEUE_FILENAME, Job, JobQueue, JobState, now_utc

SECRET_FILE = "submission_secret.txt"
SIDE_FILE_MAX_BYTES = 4096     # timestamp.txt and the secret: nbgrader writes a few dozen bytes
_STUDENT_ID = re.compile(r"[A-Za-z0-9_@.-]+")
TIMESTAMP_FILE = "timestamp.txt"
FULL_RELEASED_FLAG = "full_feedback_released_after_due"
BATCH_LIMIT = 256      # jobs graded together at most (a SIGTERM waits for the running ones only)


class EventKind(str, Enum):
    STARTED = "started"
    QUEUED = "queued"
    REQUEUED = "requeued"      # left running by a killed service, or not started before a stop
    GRADED = "graded"
    UNCHANGED = "unchanged"    # the same bytes as the recorded grade: not run again, feedback released
    REFUSED = "refused"        # daily runs used up
    FAILED = "failed"
    RELEASED = "released"      # feedback pages handed to nbgrader's exchange
    FULL_RELEASE = "full_release"   # the due date passed: full feedback re-released
    STOPPED = "stopped"


@dataclass(frozen=True)
class ServeEvent:
    kind: EventKind
    text: str
    job: Job | None = None
    at: dt.datetime = field(default_factory=now_utc)


@dataclass(frozen=True)
class InboundFolder:
    """One submission folder of nbgrader's exchange, as `nbgrader submit` names it."""

    path: Path
    student: str
    assignment: str
    timestamp: str

    @classmethod
    def parse(cls, path: Path) -> InboundFolder | None:
        parts = path.name.split("+")
        if len(parts) not in (3, 4) or not all(parts[:3]):
            return None
        return cls(path=path, student=parts[0], assignment=parts[1], timestamp=parts[2])

    @property
    def complete(self) -> bool:
        """nbgrader's submit writes the secret after every notebook and the timestamp (a symlink
        there counts too: it is refused with its reason when the job starts)."""
        return os.path.lexists(self.path / SECRET_FILE)

    @property
    def problem(self) -> str:
        """Why the folder cannot be graded as this student, or "". The exchange's inbound folder is
        writable by every student, so its names are input: a student id becomes a folder name here."""
        if not _STUDENT_ID.fullmatch(self.student) or self.student.startswith("."):
            return (f"the student id {self.student!r} in the folder name is not a plain name (letters, digits, "
                    f"'_', '-', '.', '@', not starting with '.'); not graded")
        return ""


def queue_path(config: GraderConfig) -> Path:
    """serve_queue.db beside a sqlite gradebook, else in the course root."""
    gradebook = config.gradebook_path
    return (gradebook.parent if gradebook is not None else config.course_root) / QUEUE_FILENAME


def inbound_dir(config: GraderConfig, exchange_root: Path) -> Path:
    return Path(exchange_root) / config.course_id / "inbound"


def submission_day(timestamp: str, fallback: dt.datetime) -> str:
    """The UTC day a submission counts on: its nbgrader timestamp's, else `fallback`'s."""
    from nbgrader.utils import parse_utc

    try:
        moment = parse_utc(timestamp).replace(tzinfo=dt.timezone.utc)
    except (ValueError, OverflowError, TypeError):
        moment = fallback
    return moment.date().isoformat()


def _sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest() if path.is_file() and not path.is_symlink() else ""


class FeedbackService:
    """The service of one course and exchange. `run(stop)` until `stop` is set (or, with
    `until_idle`, until nothing is queued or arriving)."""

    def __init__(self, config: GraderConfig, exchange_root: Path, *, workers: int = 1,
                 on_event: Callable[[ServeEvent], None] = lambda event: None,
                 clock: Callable[[], dt.datetime] = now_utc) -> None:
        self.config = config
        self.exchange_root = Path(exchange_root).resolve()
        self.inbound = inbound_dir(config, self.exchange_root)
        if not self.inbound.is_dir():
            raise AutograderError(f"no nbgrader exchange for course '{config.course_id}' under "
                                  f"{self.exchange_root} ({self.inbound} does not exist)")
        self.workers = max(1, workers)
        self.on_event = on_event
        self.clock = clock
        self.queue = JobQueue(queue_path(config))
        self.state_dir = queue_path(config).parent / ".serve"
        self._context = None
        self._source_spec = None

    # --- the loop ---------------------------------------------------------------------------
    def run(self, stop: threading.Event, *, until_idle: bool = False) -> None:
        requeued, failed = self.queue.recover()
        self._emit(EventKind.STARTED, f"serving {self.config.course_id}/{self.config.assignment} from "
                   f"{self.inbound} with {self.workers} workers; {len(requeued)} jobs re-queued")
        for job in requeued:
            self._emit(EventKind.REQUEUED, "left running by a stopped service", job)
        for job in failed:
            self._emit(EventKind.FAILED, job.message, job)
        while not stop.is_set():
            self.scan()
            self.release_full_after_due()
            jobs = self.queue.claim(BATCH_LIMIT)
            if jobs:
                self.grade(jobs, stop)
                continue
            if until_idle and not self.queue.jobs(JobState.QUEUED):
                break
            stop.wait(self.config.serve.poll_s)
        self._emit(EventKind.STOPPED, "stopped")
        self.queue.close()

    def scan(self) -> int:
        """Queue every complete submission folder of this assignment not seen before."""
        known = self.queue.known_folders()
        added = 0
        for path in sorted(self.inbound.iterdir()):
            if path.name in known or not path.is_dir():
                continue
            folder = InboundFolder.parse(path)
            if folder is None or folder.assignment != self.config.assignment or not folder.complete:
                continue
            job = self.queue.add(folder=path.name, student=folder.student, assignment=folder.assignment,
                                 timestamp=folder.timestamp)
            if job is None:
                continue
            added += 1
            self._emit(EventKind.QUEUED, f"submitted at {folder.timestamp}", job)
            if folder.problem:
                self._fail(job, folder.problem)
        return added

    # --- one batch -------------------------------------------------------------------------------
    def grade(self, jobs: tuple[Job, ...], stop: threading.Event) -> None:
        """Grade claimed jobs (one per student) together; finish each one."""
        to_grade: dict[str, tuple[Job, dict[str, str], str]] = {}
        with tempfile.TemporaryDirectory(prefix="autograder-serve-") as scratch:
            stage = Path(scratch)
            for job in jobs:
                try:
                    staged = self._stage(job, stage)
                    runs, day = self._changed_notebooks(job, staged)
                    over = self._over_limit(job, runs, day)
                except OSError as exc:
                    self._fail(job, f"the submission folder could not be read: {exc}")
                    continue
                if over:
                    self._refuse(job, over, day)
                    shutil.rmtree(staged.parent)
                    continue
                to_grade[job.student] = (job, runs, day)
            if not to_grade:
                return
            finished: set[str] = set()

            def recorded(result) -> None:
                """Right after the gradebook holds it: release its feedback, then end the job. A service
                killed in between grades the job again at its next start, finds it unchanged and
                releases then, so no graded submission is left without its feedback."""
                job, runs, day = to_grade[result.student]
                score = f"{result.final_score:g}/{result.max_score:g}"
                self._emit(EventKind.GRADED, f"{score} points"
                           + ("" if result.graded_ok else "; some notebooks could not be graded"), job)
                try:
                    self._release_feedback([job])
                except Exception as exc:  # the grade is recorded; a page that failed must not stop the batch
                    self._emit(EventKind.FAILED, f"feedback not released: {type(exc).__name__}: {exc}", job)
                self.queue.finish(job, JobState.GRADED, runs=runs, day=day, message=score)
                finished.add(result.student)

            try:
                report = self._grade_path(stage, tuple(to_grade), stop, recorded)
            except Exception as exc:  # a grader error costs this batch, not the service
                for student, (job, _, _) in to_grade.items():
                    if student not in finished:
                        self._fail(job, f"grading failed: {type(exc).__name__}: {exc}")
                return
        why = {u.student: u.why for u in report.unmatched if u.student}
        unchanged = []
        for student, (job, runs, day) in to_grade.items():
            if student in finished:
                continue
            if student in report.not_started:
                self.queue.requeue(job)
                self._emit(EventKind.REQUEUED, "not started before the service stopped", job)
            elif student in report.unchanged:
                # Its runs count all the same: a notebook this queue has not seen graded in this form was
                # graded by a service killed before it finished the job.
                self._emit(EventKind.UNCHANGED, "the same notebooks as its recorded grade: not run again", job)
                unchanged.append((job, runs, day))
            else:
                self._fail(job, why.get(student, "intake found no notebook of the assignment in it"))
        try:
            self._release_feedback([job for job, _, _ in unchanged])
        except Exception as exc:  # recorded grades stay; the next start releases them (the jobs are not done)
            for job, _, _ in unchanged:
                self._emit(EventKind.FAILED, f"feedback not released: {type(exc).__name__}: {exc}", job)
            return
        for job, runs, day in unchanged:
            self.queue.finish(job, JobState.GRADED, runs=runs, day=day, message="unchanged since its last grade")

    def _grade_path(self, stage: Path, students: tuple[str, ...], stop: threading.Event, recorded):
        from autograder.grading.pipeline import load_context
        from autograder.run.batch import grade_path

        if self._context is None:
            self._context = load_context(self.config)
        return grade_path(config=self.config, path=stage, students=students, context=self._context,
                          executed_root=self.config.course_root / "autograded", progress=False,
                          workers=self.workers, stop=stop, on_recorded=recorded)

    def _side_files(self, job: Job) -> dict[str, bytes]:
        """timestamp.txt and the secret of a submission folder, read as the grader reads workspace files
        (regular files only, no symlink followed, at most SIDE_FILE_MAX_BYTES); OSError says why not."""
        from autograder.grading.verdicts import files

        out = {}
        for name in (TIMESTAMP_FILE, SECRET_FILE):
            try:
                out[name] = files.read_bytes(self.inbound / job.folder, name, max_bytes=SIDE_FILE_MAX_BYTES)
            except files.UnsafeFile as exc:
                raise OSError(str(exc)) from None
        return out

    def _stage(self, job: Job, stage: Path) -> Path:
        """The submission as `<stage>/<student>/<assignment>/`, nbgrader's submitted/ layout; the
        secret stays behind."""
        self._side_files(job)
        target = stage / job.student / job.assignment
        shutil.copytree(self.inbound / job.folder, target, symlinks=True,
                        ignore=shutil.ignore_patterns(SECRET_FILE))
        return target

    def _spec(self):
        """The source's spec, read once (the service grades against the source it started with)."""
        if self._source_spec is None:
            from autograder.course.notebooks import load_source

            self._source_spec = load_source(self.config)[0]
        return self._source_spec

    def _notebooks(self) -> tuple[str, ...]:
        return tuple(nb.name for nb in self._spec().notebooks)

    def _changed_notebooks(self, job: Job, staged: Path) -> tuple[dict[str, str], str]:
        """(notebook -> sha256 of those this submission changes since their last graded run, its day)."""
        changed = {}
        for name in self._notebooks():
            sha = _sha256(staged / f"{name}.ipynb")
            if sha and sha != self.queue.last_graded_sha256(job.student, name):
                changed[name] = sha
        return changed, submission_day(job.timestamp, self.clock())

    def _over_limit(self, job: Job, runs: dict[str, str], day: str) -> tuple[str, ...]:
        limit = self.config.serve.runs_per_day
        if not limit:
            return ()
        return tuple(nb for nb in runs if self.queue.runs_today(job.student, nb, day) >= limit)

    def _refuse(self, job: Job, over: tuple[str, ...], day: str) -> None:
        from autograder.reports.feedback import write_notice

        limit = self.config.serve.runs_per_day
        next_day = (dt.date.fromisoformat(day) + dt.timedelta(days=1)).isoformat()
        message = (f"Your {limit} official runs of {', '.join(over)} for {day} (UTC) are used up, so this "
                   f"submission was not graded. The next run is free from {next_day} 00:00 UTC; until then, "
                   f"use the notebook's visible self-check tests.")
        self.queue.finish(job, JobState.REFUSED, message=message)
        self._emit(EventKind.REFUSED, f"daily runs used up: {', '.join(over)}", job)
        pages = self._feedback_dir(job)
        shutil.rmtree(pages, ignore_errors=True)
        write_notice(output_dir=self._feedback_root(), student=job.student, assignment=job.assignment,
                     notebooks=self._notebooks(), title="Daily runs used up", message=message)
        self._hand_to_exchange(job)

    def _fail(self, job: Job, message: str) -> None:
        self.queue.finish(job, JobState.FAILED, message=message)
        self._emit(EventKind.FAILED, message, job)

    # --- feedback --------------------------------------------------------------------------------
    def _feedback_root(self) -> Path:
        return self.state_dir / "feedback"

    def _feedback_dir(self, job: Job) -> Path:
        return self._feedback_root() / job.student / job.assignment

    def _view(self):
        from autograder.reports.feedback import FULL, FeedbackView

        due = self.config.due_at
        if due is None or self.clock() >= due or self.config.serve.before_due == "full":
            return FULL
        return FeedbackView(summary=True, metric_decimals=self.config.serve.metric_decimals)

    def _release_feedback(self, jobs: list[Job]) -> None:
        if not jobs:
            return
        from autograder.reports.feedback import write_feedback

        view = self._view()
        for job in jobs:
            shutil.rmtree(self._feedback_dir(job), ignore_errors=True)
        write_feedback(config=self.config, output_dir=self._feedback_root(), assignment=self.config.assignment,
                       students=tuple(j.student for j in jobs), view=view, spec=self._spec())
        for job in jobs:
            self._hand_to_exchange(job)

    def _hand_to_exchange(self, job: Job) -> None:
        """Release the student's pages for this submission with nbgrader's ExchangeReleaseFeedback: the
        submission's timestamp and secret go beside the pages, as nbgrader's generate_feedback leaves them."""
        pages = self._feedback_dir(job)
        if not pages.is_dir():
            self._emit(EventKind.FAILED, "no feedback page was written", job)
            return
        try:
            side = self._side_files(job)
        except OSError as exc:
            self._emit(EventKind.FAILED, f"feedback not released: {exc}", job)
            return
        for name, data in side.items():
            (pages / name).write_bytes(data)
        from nbgrader.exchange.default import ExchangeReleaseFeedback

        from autograder.intake.collect import nbgrader_config, run_exchange_app

        cfg = nbgrader_config(self.config, self.exchange_root)
        cfg.CourseDirectory.root = str(self.state_dir)
        cfg.CourseDirectory.feedback_directory = "feedback"
        cfg.CourseDirectory.student_id = job.student
        try:
            run_exchange_app(ExchangeReleaseFeedback, cfg, what="nbgrader release_feedback")
        except AutograderError as exc:
            self._emit(EventKind.FAILED, str(exc), job)
            return
        self._emit(EventKind.RELEASED, f"{len(list(pages.glob('*.html')))} pages", job)

    def release_full_after_due(self) -> bool:
        """Once the due date has passed: full feedback for every served student, re-released once."""
        due = self.config.due_at
        if due is None or self.clock() < due or self.config.serve.before_due == "full" \
                or self.queue.flag(FULL_RELEASED_FLAG):
            return False
        latest: dict[str, Job] = {}
        for job in self.queue.jobs(JobState.GRADED):
            latest[job.student] = job
        self._release_feedback(list(latest.values()))
        self.queue.set_flag(FULL_RELEASED_FLAG, self.clock().isoformat(timespec="seconds"))
        self._emit(EventKind.FULL_RELEASE, f"the due date passed: full feedback for {len(latest)} students")
        return True

    def _emit(self, kind: EventKind, text: str, job: Job | None = None) -> None:
        self.on_event(ServeEvent(kind=kind, text=text, job=job, at=self.clock()))

