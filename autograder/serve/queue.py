"""The on-disk queue of `autograder serve`: one sqlite file beside the gradebook (`serve_queue.db`).

A job is one submission folder of nbgrader's exchange (`<student>+<assignment>+<timestamp>[+<random>]`),
keyed by that folder name, so finding it again never queues it twice. Its state moves
`queued -> running -> graded | refused | failed`; a job found `running` when the service starts
(the service was killed) goes back to `queued`, and one that was running at three such starts is
`failed` with that reason, so a notebook that kills the service cannot block the queue.

`runs` holds, per graded job, the sha256 of each notebook that job ran: the daily limit counts them
(`runs_today`), and the last graded sha256 of a notebook (`last_graded_sha256`) says whether a new
submission changes it. Each state change is one transaction (`BEGIN IMMEDIATE`), and the file is in
WAL mode, so `autograder serve --status` reads it while the service writes.
"""
from __future__ import annotations

import datetime as dt
import sqlite3
from contextlib import contextmanager
from dataclasses import dataclass
from enum import Enum
from pathlib import Path
from typing import Iterator, Mapping

QUEUE_FILENAME = "serve_queue.db"
MAX_STARTS = 3       # a job running at this many service starts is failed, not retried

_SCHEMA = """
CREATE TABLE IF NOT EXISTS jobs (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    folder TEXT NOT NULL UNIQUE,
    student TEXT NOT NULL,
    assignment TEXT NOT NULL,
    timestamp TEXT NOT NULL,
    state TEXT NOT NULL,
    starts INTEGER NOT NULL DEFAULT 0,
    enqueued_at TEXT NOT NULL,
    started_at TEXT NOT NULL DEFAULT '',
    finished_at TEXT NOT NULL DEFAULT '',
    message TEXT NOT NULL DEFAULT ''
);
CREATE INDEX IF NOT EXISTS jobs_state ON jobs (state, id);
CREATE TABLE IF NOT EXISTS runs (
    job INTEGER NOT NULL REFERENCES jobs (id),
    student TEXT NOT NULL,
    notebook TEXT NOT NULL,
    sha256 TEXT NOT NULL,
    day TEXT NOT NULL,
    PRIMARY KEY (job, notebook)
);
CREATE INDEX IF NOT EXISTS runs_student ON runs (student, notebook, day);
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
"""


class JobState(str, Enum):
    QUEUED = "queued"
    RUNNING = "running"
    GRADED = "graded"        # graded (or found unchanged) and recorded; feedback released
    REFUSED = "refused"      # not graded: the daily limit is used up; feedback says so
    FAILED = "failed"        # could not be graded (the message says why); the queue went on


@dataclass(frozen=True)
class Job:
    id: int
    folder: str              # the exchange's submission folder name
    student: str
    assignment: str
    timestamp: str           # nbgrader's timestamp.txt
    state: JobState
    starts: int = 0
    message: str = ""


@dataclass(frozen=True)
class QueueStatus:
    counts: Mapping[JobState, int]
    running: tuple[Job, ...]
    last_error: Job | None


def now_utc() -> dt.datetime:
    return dt.datetime.now(dt.timezone.utc)


def _stamp(moment: dt.datetime | None = None) -> str:
    return (moment or now_utc()).isoformat(timespec="seconds")


def _job(row: sqlite3.Row) -> Job:
    return Job(id=row["id"], folder=row["folder"], student=row["student"], assignment=row["assignment"],
               timestamp=row["timestamp"], state=JobState(row["state"]), starts=row["starts"],
               message=row["message"])


class JobQueue:
    """The serve queue at `path` (created on first use)."""

    def __init__(self, path: Path) -> None:
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._db = sqlite3.connect(self.path, timeout=30, isolation_level=None, check_same_thread=False)
        self._db.row_factory = sqlite3.Row
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.executescript(_SCHEMA)

    def close(self) -> None:
        self._db.close()

    def __enter__(self) -> JobQueue:
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    @contextmanager
    def _transaction(self) -> Iterator[sqlite3.Connection]:
        self._db.execute("BEGIN IMMEDIATE")
        try:
            yield self._db
        except BaseException:
            self._db.execute("ROLLBACK")
            raise
        self._db.execute("COMMIT")

    # --- jobs -------------------------------------------------------------------------------
    def add(self, *, folder: str, student: str, assignment: str, timestamp: str) -> Job | None:
        """Queue a submission folder; None when it was queued before (in any state)."""
        with self._transaction() as db:
            cursor = db.execute(
                "INSERT OR IGNORE INTO jobs (folder, student, assignment, timestamp, state, enqueued_at) "
                "VALUES (?, ?, ?, ?, ?, ?)", (folder, student, assignment, timestamp, JobState.QUEUED.value, _stamp()))
            if cursor.rowcount != 1:
                return None
            return Job(id=cursor.lastrowid, folder=folder, student=student, assignment=assignment,
                       timestamp=timestamp, state=JobState.QUEUED)

    def known_folders(self) -> frozenset[str]:
        return frozenset(r[0] for r in self._db.execute("SELECT folder FROM jobs"))

    def recover(self) -> tuple[tuple[Job, ...], tuple[Job, ...]]:
        """At start: jobs left `running` by a killed service go back to `queued`, or to `failed` after
        MAX_STARTS. Returns (re-queued, failed)."""
        with self._transaction() as db:
            rows = [_job(r) for r in db.execute("SELECT * FROM jobs WHERE state = ?", (JobState.RUNNING.value,))]
            requeued, failed = [], []
            for job in rows:
                if job.starts >= MAX_STARTS:
                    message = (f"the service stopped while grading this submission {job.starts} times; "
                               f"it is not tried again (grade it by hand with `autograder grade`)")
                    db.execute("UPDATE jobs SET state = ?, finished_at = ?, message = ? WHERE id = ?",
                               (JobState.FAILED.value, _stamp(), message, job.id))
                    failed.append(job)
                else:
                    db.execute("UPDATE jobs SET state = ? WHERE id = ?", (JobState.QUEUED.value, job.id))
                    requeued.append(job)
        return tuple(requeued), tuple(failed)

    def claim(self, limit: int) -> tuple[Job, ...]:
        """Up to `limit` queued jobs, oldest first and at most one per student (a student's later
        submission waits for the earlier one), marked running."""
        with self._transaction() as db:
            busy = {r[0] for r in db.execute("SELECT student FROM jobs WHERE state = ?", (JobState.RUNNING.value,))}
            picked: list[Job] = []
            for row in db.execute("SELECT * FROM jobs WHERE state = ? ORDER BY timestamp, id",
                                  (JobState.QUEUED.value,)).fetchall():
                job = _job(row)
                if job.student in busy:
                    continue
                busy.add(job.student)
                picked.append(job)
                if len(picked) >= limit:
                    break
            for job in picked:
                db.execute("UPDATE jobs SET state = ?, starts = starts + 1, started_at = ? WHERE id = ?",
                           (JobState.RUNNING.value, _stamp(), job.id))
        return tuple(Job(**{**job.__dict__, "state": JobState.RUNNING, "starts": job.starts + 1}) for job in picked)

    def finish(self, job: Job, state: JobState, *, message: str = "",
               runs: Mapping[str, str] = {}, day: str = "") -> None:
        """End a job; `runs` (notebook -> sha256) are the notebooks it ran, counted on `day`."""
        with self._transaction() as db:
            db.execute("UPDATE jobs SET state = ?, finished_at = ?, message = ? WHERE id = ?",
                       (state.value, _stamp(), message, job.id))
            db.executemany("INSERT OR REPLACE INTO runs (job, student, notebook, sha256, day) VALUES (?, ?, ?, ?, ?)",
                           [(job.id, job.student, nb, sha, day) for nb, sha in runs.items()])

    def requeue(self, job: Job) -> None:
        """Put a running job back (the service is stopping before it ran); its start is not counted."""
        with self._transaction() as db:
            db.execute("UPDATE jobs SET state = ?, starts = MAX(0, starts - 1) WHERE id = ?",
                       (JobState.QUEUED.value, job.id))

    def jobs(self, state: JobState | None = None) -> tuple[Job, ...]:
        if state is None:
            rows = self._db.execute("SELECT * FROM jobs ORDER BY id")
        else:
            rows = self._db.execute("SELECT * FROM jobs WHERE state = ? ORDER BY id", (state.value,))
        return tuple(_job(r) for r in rows)

    # --- the daily limit ----------------------------------------------------------------------
    def runs_today(self, student: str, notebook: str, day: str) -> int:
        return self._db.execute("SELECT COUNT(*) FROM runs WHERE student = ? AND notebook = ? AND day = ?",
                                (student, notebook, day)).fetchone()[0]

    def last_graded_sha256(self, student: str, notebook: str) -> str | None:
        row = self._db.execute("SELECT sha256 FROM runs WHERE student = ? AND notebook = ? ORDER BY job DESC LIMIT 1",
                               (student, notebook)).fetchone()
        return row[0] if row else None

    # --- status and flags -----------------------------------------------------------------------
    def status(self) -> QueueStatus:
        counts = {state: 0 for state in JobState}
        for state, n in self._db.execute("SELECT state, COUNT(*) FROM jobs GROUP BY state"):
            counts[JobState(state)] = n
        running = self.jobs(JobState.RUNNING)
        row = self._db.execute("SELECT * FROM jobs WHERE state = ? ORDER BY finished_at DESC, id DESC LIMIT 1",
                               (JobState.FAILED.value,)).fetchone()
        return QueueStatus(counts=counts, running=running, last_error=_job(row) if row else None)

    def flag(self, key: str) -> str | None:
        row = self._db.execute("SELECT value FROM meta WHERE key = ?", (key,)).fetchone()
        return row[0] if row else None

    def set_flag(self, key: str, value: str) -> None:
        with self._transaction() as db:
            db.execute("INSERT OR REPLACE INTO meta (key, value) VALUES (?, ?)", (key, value))
