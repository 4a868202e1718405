"""`autograder serve` end to end, with nbgrader's own student commands: `nbgrader submit` into a local
exchange, the service grades and releases, `nbgrader fetch_feedback` brings the pages home."""
from __future__ import annotations

import os
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import nbformat
import pytest

from autograder.config import load_config
from autograder.intake.collect import nbgrader_config
from autograder.qa.samples import fill, reference_answers

BIN = Path(sys.executable).parent
ASSIGNMENT, TOPIC1, COURSE = "week3_rnn", "01_rnn_basics", "rnn-week"
WAIT_S = 600      # one topic-1 notebook grades in about 5 s; a busy CI machine gets far more


def _student_env(home: Path) -> dict[str, str]:
    """A student's shell: their own HOME (no ~/.jupyter config of the machine's user)."""
    return {**os.environ, "HOME": str(home), "JUPYTER_CONFIG_DIR": str(home / ".jupyter")}


def _nbgrader(command: str, student: str, home: Path, exchange: Path) -> subprocess.CompletedProcess:
    args = [str(BIN / "nbgrader"), command, ASSIGNMENT, f"--course={COURSE}", f"--student={student}",
            f"--Exchange.root={exchange}", f"--Exchange.cache={home / '.cache-nbgrader'}"]
    result = subprocess.run(args, cwd=home, env=_student_env(home), capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stdout + result.stderr
    return result


def _hand_in(course: Path, exchange: Path, tmp: Path, student: str, answers: dict[str, str]) -> Path:
    """Write topic 1 with `answers` into the student's copy of the release, then `nbgrader submit`."""
    home = tmp / f"home-{student}"
    work = home / ASSIGNMENT
    work.mkdir(parents=True, exist_ok=True)
    release = nbformat.read(course / "release" / ASSIGNMENT / f"{TOPIC1}.ipynb", as_version=4)
    nbformat.write(fill(release, answers), work / f"{TOPIC1}.ipynb")
    _nbgrader("submit", student, home, exchange)
    return home


class Service:
    """`autograder serve` as a child process, its log lines collected from a file."""

    def __init__(self, course: Path, exchange: Path, log: Path, *extra: str) -> None:
        self.log = log
        handle = open(log, "a")
        self.process = subprocess.Popen([str(BIN / "autograder"), "serve", "--exchange", str(exchange),
                                         "--workers", "2", *extra], cwd=course, stdout=handle,
                                        stderr=subprocess.STDOUT, text=True)
        handle.close()

    def lines(self, kind: str) -> list[str]:
        return [line for line in self.log.read_text().splitlines() if f" {kind} " in line]

    def wait_for(self, kind: str, count: int) -> list[str]:
        deadline = time.monotonic() + WAIT_S
        while time.monotonic() < deadline:
            found = self.lines(kind)
            if len(found) >= count:
                return found
            assert self.process.poll() is None, self.log.read_text()
            time.sleep(0.3)
        raise AssertionError(f"no {count} '{kind}' lines in {WAIT_S} s:\n{self.log.read_text()}")


def _feedback(home: Path) -> dict[str, str]:
    """What `nbgrader fetch_feedback` brought home: submission timestamp -> the topic-1 page."""
    root = home / ASSIGNMENT / "feedback"
    return {p.parent.name: p.read_text() for p in root.glob(f"*/{TOPIC1}.html")} if root.is_dir() else {}


@pytest.fixture
def served_course(scratch_course: Path, tmp_path: Path) -> tuple[Path, Path]:
    """The course with 2 official runs a day and a due date ahead, released into a fresh exchange."""
    from nbgrader.auth import Authenticator
    from nbgrader.coursedir import CourseDirectory
    from nbgrader.exchange.default import ExchangeReleaseAssignment

    config_file = scratch_course / "grader_config.py"
    text = config_file.read_text().replace('"runs_per_day": 3', '"runs_per_day": 2')
    text = text.replace('due = "2026-12-11T23:59:00+00:00"', 'due = "2099-12-11T23:59:00+00:00"')
    assert '"runs_per_day": 2' in text and "2099-12-11" in text
    config_file.write_text(text)
    release = subprocess.run([str(BIN / "autograder"), "release"], cwd=scratch_course, capture_output=True,
                             text=True, timeout=900)       # the due date is in every notebook's header
    assert release.returncode == 0, release.stdout + release.stderr
    exchange = tmp_path / "exchange"
    cfg = nbgrader_config(load_config(scratch_course), exchange)
    ExchangeReleaseAssignment(coursedir=CourseDirectory(config=cfg), authenticator=Authenticator(config=cfg),
                              config=cfg).start()
    return scratch_course, exchange


def _gradebook_rows(course: Path) -> dict[str, tuple[int, str]]:
    """student -> (submissions nbgrader's gradebook holds of the assignment, the recorded submitted_at)."""
    db = sqlite3.connect(course / "gradebook.db")
    counts = dict(db.execute(
        "SELECT student.id, COUNT(*) FROM submitted_assignment JOIN student ON student.id = student_id "
        "JOIN assignment ON assignment.id = assignment_id WHERE assignment.name = ? GROUP BY student.id",
        (ASSIGNMENT,)))
    times = dict(db.execute("SELECT student, submitted_at FROM autograder_submissions WHERE assignment = ?",
                            (ASSIGNMENT,)))
    return {s: (n, times.get(s, "")) for s, n in counts.items()}


@pytest.mark.slow
def test_serve_grades_nbgrader_submissions_and_fetch_feedback_brings_the_summary_home(
        served_course: tuple[Path, Path], tmp_path: Path) -> None:
    course, exchange = served_course
    source = nbformat.read(course / "source" / ASSIGNMENT / f"{TOPIC1}.ipynb", as_version=4)
    correct = reference_answers(source)
    buggy = {**correct, "rnn_cell_forward": correct["rnn_cell_forward"].replace("np.tanh(", "np.sin(")}
    assert buggy != correct

    alice = _hand_in(course, exchange, tmp_path, "alice", correct)
    bob = _hand_in(course, exchange, tmp_path, "bob", buggy)
    service = Service(course, exchange, tmp_path / "serve.log")
    try:
        service.wait_for("released", 2)
        _nbgrader("fetch_feedback", "alice", alice, exchange)
        _nbgrader("fetch_feedback", "bob", bob, exchange)
        (alice_page,) = _feedback(alice).values()
        (bob_page,) = _feedback(bob).values()

        # The pre-deadline policy: visible tests in full, hidden tests and grader checks as counts.
        scores = subprocess.run([str(BIN / "autograder"), "scores", "--student", "bob"], cwd=course,
                                capture_output=True, text=True, timeout=300)
        assert scores.returncode == 0, scores.stderr
        hidden_reasons = [line.split(": ", 1)[1] for line in scores.stdout.splitlines()
                          if "test_rnn_cell_forward_hidden" in line and ": " in line]
        assert hidden_reasons, scores.stdout          # bob lost the hidden test; its message is recorded ...
        assert hidden_reasons[0].strip() and hidden_reasons[0].strip() not in bob_page   # ... and not shown
        assert 'id="exercises"' in bob_page and "test_rnn_cell_forward_hidden" not in bob_page
        assert "test_rnn_cell_forward_visible" in bob_page            # a visible test, in full
        assert 'id="exercises"' in alice_page and 'class="pts failed"' not in alice_page
        assert 'class="pts failed"' in bob_page

        # Alice's second changed run is graded (2 of 2 today); the third is over the daily limit.
        second = {**correct, "rnn_forward": correct["rnn_forward"] + "\n# tidied\n"}
        _hand_in(course, exchange, tmp_path, "alice", second)
        service.wait_for("graded", 3)
        third = {**correct, "rnn_forward": correct["rnn_forward"] + "\n# tidied again\n"}
        time.sleep(1.1)           # nbgrader's timestamps are per microsecond; the folder names must differ
        _hand_in(course, exchange, tmp_path, "alice", third)
        service.wait_for("refused", 1)
        service.wait_for("released", 4)
        _nbgrader("fetch_feedback", "alice", alice, exchange)
        pages = _feedback(alice)
        assert len(pages) == 3, sorted(pages)
        latest = pages[max(pages)]
        assert "Daily runs used up" in latest and "2 official runs of 01_rnn_basics" in latest
        assert sum("Daily runs used up" in page for page in pages.values()) == 1

        # --status while it runs: the queue by state and no error.
        status = subprocess.run([str(BIN / "autograder"), "serve", "--status"], cwd=course,
                                capture_output=True, text=True, timeout=300)
        assert status.returncode == 0, status.stderr
        assert "3 graded" in status.stdout and "1 refused" in status.stdout and "last error: none" in status.stdout

        service.process.send_signal(signal.SIGTERM)
        assert service.process.wait(timeout=WAIT_S) == 0, service.log.read_text()
    finally:
        if service.process.poll() is None:
            service.process.kill()

    # SIGKILL mid-queue, then a restart: every submission is in the gradebook exactly once.
    late_comers = ["carol", "dave", "erin"]
    for student in late_comers:
        _hand_in(course, exchange, tmp_path, student, buggy if student == "dave" else correct)
    killed = Service(course, exchange, tmp_path / "serve-killed.log", "--workers", "1")
    try:
        killed.wait_for("graded", 1)    # one recorded; the next one running, the last one claimed or queued
        killed.process.send_signal(signal.SIGKILL)
        killed.process.wait(timeout=60)
    finally:
        if killed.process.poll() is None:
            killed.process.kill()
    assert len(killed.lines("graded")) < 3, killed.log.read_text()
    restarted = Service(course, exchange, tmp_path / "serve-restarted.log", "--once")
    assert restarted.process.wait(timeout=WAIT_S) == 0, restarted.log.read_text()
    log = restarted.log.read_text()
    assert "requeued" in log and len(restarted.lines("graded")) + len(killed.lines("graded")) >= 3, log
    rows = _gradebook_rows(course)
    assert sorted(rows) == ["alice", "bob", "carol", "dave", "erin"], rows
    assert all(n == 1 for n, _ in rows.values()), rows
    jobs = sqlite3.connect(course / "serve_queue.db").execute("SELECT student, state FROM jobs ORDER BY id").fetchall()
    assert [s for s, state in jobs if state not in ("graded", "refused")] == [], jobs
    assert sorted(s for s, state in jobs if state == "graded").count("carol") == 1
    # each of the late comers' grade was released, once graded, for their own submission
    for student in late_comers:
        _nbgrader("fetch_feedback", student, tmp_path / f"home-{student}", exchange)
        assert len(_feedback(tmp_path / f"home-{student}")) == 1, student


@pytest.mark.slow
def test_sigterm_finishes_the_running_job_and_keeps_the_rest_queued(served_course: tuple[Path, Path],
                                                                     tmp_path: Path) -> None:
    course, exchange = served_course
    source = nbformat.read(course / "source" / ASSIGNMENT / f"{TOPIC1}.ipynb", as_version=4)
    correct = reference_answers(source)
    students = ("frank", "gina", "hugo", "ivy")
    for student in students:
        _hand_in(course, exchange, tmp_path, student, correct)
    service = Service(course, exchange, tmp_path / "serve.log", "--workers", "1")
    try:
        service.wait_for("graded", 1)
        service.process.send_signal(signal.SIGTERM)
        assert service.process.wait(timeout=WAIT_S) == 0, service.log.read_text()
    finally:
        if service.process.poll() is None:
            service.process.kill()
    log = service.log.read_text()
    assert "stopping" in log and " stopped " in log, log
    jobs = dict(sqlite3.connect(course / "serve_queue.db").execute("SELECT student, state FROM jobs"))
    assert "running" not in jobs.values(), jobs              # none left half-done
    graded = [s for s, state in jobs.items() if state == "graded"]
    assert graded and len(_gradebook_rows(course)) == len(graded), (jobs, _gradebook_rows(course))
    assert "queued" in jobs.values() and service.lines("requeued"), log     # claimed, not started: back in line
    again = Service(course, exchange, tmp_path / "serve-again.log", "--once")
    assert again.process.wait(timeout=WAIT_S) == 0, again.log.read_text()
    assert sorted(_gradebook_rows(course)) == sorted(students)


def test_serve_without_an_exchange_is_a_clear_error(scratch_course: Path, tmp_path: Path) -> None:
    result = subprocess.run([str(BIN / "autograder"), "serve", "--exchange", str(tmp_path / "nowhere"), "--once"],
                            cwd=scratch_course, capture_output=True, text=True, timeout=300)
    assert result.returncode == 2 and "no nbgrader exchange" in result.stderr and "Traceback" not in result.stderr
    status = subprocess.run([str(BIN / "autograder"), "serve", "--status"], cwd=scratch_course,
                            capture_output=True, text=True, timeout=300)
    assert status.returncode == 2 and "no serve queue" in status.stderr
