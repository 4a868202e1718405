"""nbgrader's exchange, set up by nbgrader's own release and submit apps, collected by `autograder collect`."""
from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from autograder.config import load_config
from autograder.intake.collect import nbgrader_config
from autograder.intake.discover import discover

AUTOGRADER = Path(sys.executable).parent / "autograder"
ASSIGNMENT = "week3_rnn"


def _submit(cfg, course: Path, tmp: Path, student: str, when: str, answer: str) -> None:
    """`nbgrader submit` as `student` at the fixed time `when` (nbgrader's timestamp format)."""
    from nbgrader.auth import Authenticator
    from nbgrader.coursedir import CourseDirectory
    from nbgrader.exchange.default import ExchangeSubmit

    class FixedTimeSubmit(ExchangeSubmit):
        def set_timestamp(self) -> None:
            self.timestamp = when

    home = tmp / f"home-{student}"
    work = home / ASSIGNMENT
    shutil.rmtree(work, ignore_errors=True)
    shutil.copytree(course / "release" / ASSIGNMENT, work)
    (work / "answer.txt").write_text(answer)
    cfg = cfg.copy()
    cfg.CourseDirectory.student_id = student
    cfg.Exchange.assignment_dir = str(home)
    cfg.Exchange.cache = str(tmp / f"cache-{student}")
    FixedTimeSubmit(coursedir=CourseDirectory(config=cfg), authenticator=Authenticator(config=cfg),
                    config=cfg).start()


@pytest.fixture
def exchange(scratch_course: Path, tmp_path: Path) -> Path:
    from nbgrader.auth import Authenticator
    from nbgrader.coursedir import CourseDirectory
    from nbgrader.exchange.default import ExchangeReleaseAssignment

    root = tmp_path / "exchange"
    cfg = nbgrader_config(load_config(scratch_course), root)
    ExchangeReleaseAssignment(coursedir=CourseDirectory(config=cfg), authenticator=Authenticator(config=cfg),
                              config=cfg).start()
    assert (root / "rnn-week" / "outbound" / ASSIGNMENT / "01_rnn_basics.ipynb").is_file()
    _submit(cfg, scratch_course, tmp_path, "alice", "2026-12-11 20:00:00.000000 UTC", "alice")
    _submit(cfg, scratch_course, tmp_path, "bob", "2026-12-12 08:00:00.000000 UTC", "bob first")
    _submit(cfg, scratch_course, tmp_path, "bob", "2026-12-13 09:30:00.250000 UTC", "bob second")
    return root


@pytest.mark.slow
def test_collect_copies_the_latest_submission_with_its_timestamp(scratch_course: Path, exchange: Path,
                                                                 tmp_path: Path) -> None:
    result = subprocess.run([str(AUTOGRADER), "collect", "--exchange", str(exchange)], cwd=scratch_course,
                            capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "Collected 2 submissions" in result.stdout
    submitted = scratch_course / "submitted"
    assert (submitted / "bob" / ASSIGNMENT / "answer.txt").read_text() == "bob second"   # the latest one
    assert (submitted / "alice" / ASSIGNMENT / "timestamp.txt").read_text() == "2026-12-11 20:00:00.000000 UTC"

    notebooks = tuple(p.stem for p in sorted((scratch_course / "source" / ASSIGNMENT).glob("*.ipynb")))
    subs, skipped = discover(submitted, assignment=ASSIGNMENT, notebooks=notebooks, scratch=tmp_path / "scratch")
    times = {s.student: s.submitted_at for s in subs}
    assert times == {"alice": "2026-12-11T20:00:00+00:00", "bob": "2026-12-13T09:30:00.250000+00:00"}
    assert any("nbgrader's timestamp.txt" in n.text for n in subs[1].intake_notes)
    assert skipped == []


def test_collect_without_an_exchange_is_a_clear_error(scratch_course: Path, tmp_path: Path) -> None:
    result = subprocess.run([str(AUTOGRADER), "collect", "--exchange", str(tmp_path / "nowhere")],
                            cwd=scratch_course, capture_output=True, text=True, timeout=300)
    assert result.returncode == 2 and "no nbgrader exchange" in result.stderr and "Traceback" not in result.stderr
