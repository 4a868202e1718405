"""The on-disk queue of `autograder serve` (serve/queue.py) and the pre-deadline feedback view."""
from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

from autograder.reports.feedback import ExerciseSummary, summarise
from autograder.results import TestResult
from autograder.serve.queue import MAX_STARTS, JobQueue, JobState
from autograder.serve.service import InboundFolder, submission_day


def _add(queue: JobQueue, student: str, when: str):
    return queue.add(folder=f"{student}+week3_rnn+{when}+r4nd", student=student, assignment="week3_rnn",
                     timestamp=when)


def test_a_folder_is_queued_once(tmp_path: Path) -> None:
    with JobQueue(tmp_path / "q.db") as queue:
        assert _add(queue, "alice", "2026-12-02 10:00:00.000000 UTC") is not None
        assert _add(queue, "alice", "2026-12-02 10:00:00.000000 UTC") is None
        assert len(queue.jobs()) == 1


def test_claim_takes_the_oldest_and_one_job_per_student(tmp_path: Path) -> None:
    with JobQueue(tmp_path / "q.db") as queue:
        _add(queue, "bob", "2026-12-02 10:05:00.000000 UTC")
        _add(queue, "alice", "2026-12-02 10:00:00.000000 UTC")
        _add(queue, "alice", "2026-12-02 10:01:00.000000 UTC")
        first = queue.claim(10)
        assert [(j.student, j.timestamp[11:16]) for j in first] == [("alice", "10:00"), ("bob", "10:05")]
        assert queue.claim(10) == ()          # alice's second waits until her first is finished
        queue.finish(first[0], JobState.GRADED)
        assert [j.timestamp[11:16] for j in queue.claim(10)] == ["10:01"]


def test_a_killed_service_leaves_its_running_jobs_for_the_next_start(tmp_path: Path) -> None:
    """Nothing in memory: a job marked running in the file is queued again when the file is opened
    again, and one that was running at MAX_STARTS starts is failed with the reason, so it cannot block
    the queue for ever."""
    path = tmp_path / "q.db"
    queue = JobQueue(path)
    _add(queue, "alice", "2026-12-02 10:00:00.000000 UTC")
    _add(queue, "bob", "2026-12-02 10:00:00.000000 UTC")
    queue.claim(10)
    del queue                                  # as SIGKILL leaves it: no finish, no close
    with JobQueue(path) as again:
        requeued, failed = again.recover()
        assert sorted(j.student for j in requeued) == ["alice", "bob"] and failed == ()
        for _ in range(MAX_STARTS - 1):
            again.claim(10)
            again.recover()
        states = {j.student: j for j in again.jobs()}
        assert {s: j.state for s, j in states.items()} == {"alice": JobState.FAILED, "bob": JobState.FAILED}
        assert "stopped while grading this submission 3 times" in states["alice"].message
        assert again.status().last_error is not None


def test_requeue_gives_the_start_back(tmp_path: Path) -> None:
    with JobQueue(tmp_path / "q.db") as queue:
        _add(queue, "alice", "2026-12-02 10:00:00.000000 UTC")
        (job,) = queue.claim(1)
        queue.requeue(job)
        (again,) = queue.jobs()
        assert (again.state, again.starts) == (JobState.QUEUED, 0)


def test_runs_are_counted_per_student_notebook_and_day(tmp_path: Path) -> None:
    with JobQueue(tmp_path / "q.db") as queue:
        for i, when in enumerate(["2026-12-02 10:00:00 UTC", "2026-12-02 11:00:00 UTC", "2026-12-03 09:00:00 UTC"]):
            _add(queue, "alice", when)
            (job,) = queue.claim(1)
            queue.finish(job, JobState.GRADED, runs={"01_rnn_basics": f"sha{i}"}, day=when[:10])
        assert queue.runs_today("alice", "01_rnn_basics", "2026-12-02") == 2
        assert queue.runs_today("alice", "01_rnn_basics", "2026-12-03") == 1
        assert queue.runs_today("alice", "02_word_embeddings", "2026-12-02") == 0
        assert queue.runs_today("bob", "01_rnn_basics", "2026-12-02") == 0
        assert queue.last_graded_sha256("alice", "01_rnn_basics") == "sha2"


def test_status_is_readable_while_another_connection_writes(tmp_path: Path) -> None:
    path = tmp_path / "q.db"
    with JobQueue(path) as writer:
        _add(writer, "alice", "2026-12-02 10:00:00.000000 UTC")
        writer.claim(1)
        with JobQueue(path) as reader:
            status = reader.status()
        assert status.counts[JobState.RUNNING] == 1 and [j.student for j in status.running] == ["alice"]
    assert sqlite3.connect(path).execute("PRAGMA journal_mode").fetchone()[0] == "wal"


@pytest.mark.parametrize("name, parsed", [
    ("alice+week3_rnn+2026-12-02 10:00:00.000000 UTC+AbCd", ("alice", "week3_rnn", "2026-12-02 10:00:00.000000 UTC")),
    ("alice+week3_rnn+2026-12-02 10:00:00.000000 UTC", ("alice", "week3_rnn", "2026-12-02 10:00:00.000000 UTC")),
    ("alice+week3_rnn", None), ("+week3_rnn+t", None), ("notes.txt", None),
])
def test_inbound_folder_names_are_nbgraders(tmp_path: Path, name: str, parsed) -> None:
    folder = InboundFolder.parse(tmp_path / name)
    assert (None if folder is None else (folder.student, folder.assignment, folder.timestamp)) == parsed


def test_the_day_of_a_submission_is_its_timestamps_utc_day() -> None:
    import datetime as dt

    fallback = dt.datetime(2026, 1, 1, tzinfo=dt.timezone.utc)
    assert submission_day("2026-12-02 23:59:59.000000 UTC", fallback) == "2026-12-02"
    assert submission_day("not a time", fallback) == "2026-01-01"


def _test(name: str, status: str, *, hidden: bool = False, kind: str = "kernel") -> TestResult:
    return TestResult(test=name, points=1.0 if status == "passed" else 0.0, max_points=1, status=status,
                      reason=f"secret message of {name}", hidden=hidden, kind=kind)


def test_the_summary_shows_visible_tests_and_counts_the_rest_per_exercise() -> None:
    tests = [_test("visible", "failed"), _test("hidden_a", "passed", hidden=True),
             _test("hidden_b", "failed", hidden=True), _test("compare", "failed", kind="reference"),
             _test("other_ref", "passed", kind="reference")]
    exercise = {"visible": "cell", "hidden_a": "cell", "hidden_b": "cell", "compare": "cell", "other_ref": "other"}
    shown, counts = summarise(tests, exercise.get)
    assert [t.test for t in shown] == ["visible"]
    assert counts == [ExerciseSummary("cell", passed=1, total=3), ExerciseSummary("other", passed=1, total=1)]


@pytest.mark.slow          # nbgrader's exchange app and a gradebook (10 s): `make test` runs it, test-fast does not
def test_after_the_due_date_the_latest_feedback_is_released_again_in_full(scratch_course: Path,
                                                                          tmp_path: Path) -> None:
    """Before `due` nothing is re-released; once it has passed, every served student's latest graded
    submission gets its full page under the same nbgrader hash (the one fetch_feedback looks for),
    once. The summary page of the same grade, released before, has no hidden test's message."""
    import datetime as dt

    from nbgrader.utils import notebook_hash
    from report_factories import TOPIC1, synthetic_result

    from autograder.config import load_config
    from autograder.course.notebooks import load_source
    from autograder.gradebook import Gradebook
    from autograder.serve.service import FeedbackService

    config = load_config(scratch_course)
    due = config.due_at
    spec, _ = load_source(config)
    hidden = next(t.grade_id for t in spec.notebooks[0].tests if t.hidden)
    with Gradebook(config) as gb:
        gb.sync_assignment(spec)
        gb.record(synthetic_result(spec, "alice", lost={hidden: "the secret hidden message"}))
    exchange = tmp_path / "exchange"
    folder = "alice+week3_rnn+2026-12-02 10:00:00.000000 UTC+AbCd"
    inbound = exchange / config.course_id / "inbound" / folder
    inbound.mkdir(parents=True)
    (inbound / "timestamp.txt").write_text("2026-12-02 10:00:00.000000 UTC")
    (inbound / "submission_secret.txt").write_text("s3cret")
    now = [due - dt.timedelta(days=1)]
    service = FeedbackService(config, exchange, clock=lambda: now[0])
    job = service.queue.add(folder=folder, student="alice", assignment=config.assignment,
                            timestamp="2026-12-02 10:00:00.000000 UTC")
    (job,) = service.queue.claim(1)
    service._release_feedback([job])
    service.queue.finish(job, JobState.GRADED)
    page = exchange / config.course_id / "feedback" / f"{notebook_hash(secret='s3cret', notebook_id=TOPIC1)}.html"
    assert 'id="exercises"' in page.read_text() and "the secret hidden message" not in page.read_text()

    assert service.release_full_after_due() is False             # before the due date: nothing
    now[0] = due + dt.timedelta(minutes=1)
    assert service.release_full_after_due() is True
    assert 'id="exercises"' not in page.read_text() and "the secret hidden message" in page.read_text()
    assert service.release_full_after_due() is False             # once


def _exchange_with(tmp_path: Path, config, folders: dict[str, dict[str, object]]) -> Path:
    """An exchange whose inbound holds `folders` (name -> file name -> text, or a Path to link to)."""
    exchange = tmp_path / "exchange"
    for name, members in folders.items():
        folder = exchange / config.course_id / "inbound" / name
        folder.mkdir(parents=True)
        for member, content in members.items():
            if isinstance(content, Path):
                (folder / member).symlink_to(content)
            else:
                (folder / member).write_text(str(content))
    (exchange / config.course_id / "inbound").mkdir(parents=True, exist_ok=True)
    return exchange


HONEST = {"timestamp.txt": "2026-12-02 10:00:00.000000 UTC", "submission_secret.txt": "s3cret"}


def test_attack_a_student_id_that_climbs_out_of_the_folders_is_failed_not_staged(scratch_course: Path,
                                                                                   tmp_path: Path) -> None:
    """Every student can write into the exchange's inbound folder, and the student id becomes a folder
    name of the service (staging, feedback pages). `..` is refused with the reason, listed as failed;
    the honest folder beside it is queued."""
    from autograder.config import load_config
    from autograder.serve.service import FeedbackService

    config = load_config(scratch_course)
    exchange = _exchange_with(tmp_path, config, {
        "..+week3_rnn+2026-12-02 10:00:00.000000 UTC+AbCd": HONEST,
        ".hidden+week3_rnn+2026-12-02 10:00:00.000000 UTC+AbCd": HONEST,
        "alice+week3_rnn+2026-12-02 10:00:00.000000 UTC+AbCd": HONEST})
    service = FeedbackService(config, exchange)
    assert service.scan() == 3
    states = {j.student: j for j in service.queue.jobs()}
    assert states["alice"].state is JobState.QUEUED
    for bad in ("..", ".hidden"):
        assert states[bad].state is JobState.FAILED and "is not a plain name" in states[bad].message
    assert service.queue.claim(10)[0].student == "alice"      # the failed ones are never claimed


@pytest.mark.slow          # grades the honest control in the same batch (about 7 s)
def test_attack_a_symlinked_secret_is_refused_and_never_read(scratch_course: Path, tmp_path: Path) -> None:
    """timestamp.txt and the secret are read by the service (they go beside the feedback pages): a
    symlink to a file of the grader's fails the job with the reason, and its target is never read;
    the honest folder graded in the same batch is recorded and its feedback released."""
    import threading

    from autograder.config import load_config
    from autograder.serve.service import FeedbackService

    config = load_config(scratch_course)
    target = scratch_course / "grader_config.py"
    exchange = _exchange_with(tmp_path, config, {
        "mallory+week3_rnn+2026-12-02 10:00:00.000000 UTC+AbCd": {**HONEST, "submission_secret.txt": target},
        "alice+week3_rnn+2026-12-02 10:00:00.000000 UTC+AbCd": HONEST})
    service = FeedbackService(config, exchange)
    service.scan()
    jobs = {j.student: j for j in service.queue.claim(10)}
    assert service._side_files(jobs["alice"])["submission_secret.txt"] == b"s3cret"
    service.grade((jobs["mallory"], jobs["alice"]), threading.Event())
    states = {j.student: j for j in service.queue.jobs()}
    mallory, alice = states["mallory"], states["alice"]
    assert mallory.state is JobState.FAILED and "is a symbolic link" in mallory.message, mallory.message
    assert alice.state is JobState.GRADED, alice.message
    written = list((service.state_dir / "feedback").rglob("submission_secret.txt"))
    assert [p.parent.parent.name for p in written] == ["alice"] and written[0].read_bytes() == b"s3cret"
