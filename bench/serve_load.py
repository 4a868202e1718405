"""Load run of `autograder serve`: N topic-1 submissions dropped into nbgrader's exchange at once.

Usage: python bench/serve_load.py [--submissions 100] [--workers 2]

1. A scratch copy of the course is released into a fresh exchange with nbgrader's ExchangeReleaseAssignment,
   and N students hand in with nbgrader's ExchangeSubmit (every 4th one with a bug in rnn_cell_forward).
2. `autograder serve --once` grades them all, releasing each student's feedback as it goes.
3. The same batch, collected with `autograder collect`, is graded by `autograder grade` into a second
   gradebook: the baseline.
Prints seconds per submission of each, and the ratio; every one of the N must be graded.
"""
from __future__ import annotations

import argparse
import shutil
import sqlite3
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import nbformat

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from autograder.config import load_config  # noqa: E402
from autograder.intake.collect import nbgrader_config  # noqa: E402
from autograder.qa.samples import fill, reference_answers  # noqa: E402

BIN = Path(sys.executable).parent
TOPIC1 = "01_rnn_basics"


def _course(tmp: Path) -> Path:
    course = tmp / "course"
    course.mkdir()
    shutil.copy(ROOT / "grader_config.py", course)
    text = (course / "grader_config.py").read_text().replace('"runs_per_day": 3', '"runs_per_day": 0')
    (course / "grader_config.py").write_text(text)
    for name in ("source", "release", "solutions"):
        shutil.copytree(ROOT / name, course / name, ignore=shutil.ignore_patterns("__pycache__"))
    return course


def _hand_in(course: Path, exchange: Path, tmp: Path, count: int) -> None:
    from nbgrader.auth import Authenticator
    from nbgrader.coursedir import CourseDirectory
    from nbgrader.exchange.default import ExchangeReleaseAssignment, ExchangeSubmit

    config = load_config(course)
    cfg = nbgrader_config(config, exchange)
    ExchangeReleaseAssignment(coursedir=CourseDirectory(config=cfg), authenticator=Authenticator(config=cfg),
                              config=cfg).start()
    release = nbformat.read(course / "release" / config.assignment / f"{TOPIC1}.ipynb", as_version=4)
    source = nbformat.read(course / "source" / config.assignment / f"{TOPIC1}.ipynb", as_version=4)
    correct = reference_answers(source)
    buggy = {**correct, "rnn_cell_forward": correct["rnn_cell_forward"].replace("np.tanh(", "np.sin(")}
    for i in range(count):
        student = f"student{i:03d}"
        home = tmp / "homes" / student
        (home / config.assignment).mkdir(parents=True)
        nbformat.write(fill(release, buggy if i % 4 == 3 else correct), home / config.assignment / f"{TOPIC1}.ipynb")
        student_cfg = cfg.copy()
        student_cfg.CourseDirectory.student_id = student
        student_cfg.Exchange.assignment_dir = str(home)
        student_cfg.Exchange.cache = str(home / ".cache")
        ExchangeSubmit(coursedir=CourseDirectory(config=student_cfg), authenticator=Authenticator(config=student_cfg),
                       config=student_cfg).start()


def _graded(db: Path) -> int:
    return sqlite3.connect(db).execute("SELECT COUNT(*) FROM autograder_submissions").fetchone()[0]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--submissions", type=int, default=100)
    parser.add_argument("--workers", type=int, default=2)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="serve-load-") as tmp:
        tmp = Path(tmp)
        course, exchange = _course(tmp), tmp / "exchange"
        _hand_in(course, exchange, tmp, args.submissions)
        print(f"{args.submissions} submissions in {exchange}/rnn-week/inbound", flush=True)

        start = time.perf_counter()
        served = subprocess.run([str(BIN / "autograder"), "serve", "--exchange", str(exchange), "--once",
                                 "--workers", str(args.workers)], cwd=course, capture_output=True, text=True)
        serve_s = time.perf_counter() - start
        log = served.stdout.splitlines()
        released = sum(" released " in line for line in log)
        print(f"serve:  {serve_s:7.1f} s, {serve_s / args.submissions:.2f} s per submission, exit {served.returncode}, "
              f"{_graded(course / 'gradebook.db')} graded, {released} feedback releases", flush=True)

        collected = subprocess.run([str(BIN / "autograder"), "collect", "--exchange", str(exchange)], cwd=course,
                                   capture_output=True, text=True)
        assert collected.returncode == 0, collected.stderr
        (course / "grader_config.py").write_text((course / "grader_config.py").read_text().replace(
            'gradebook_url = "sqlite:///gradebook.db"', 'gradebook_url = "sqlite:///baseline.db"'))
        start = time.perf_counter()
        graded = subprocess.run([str(BIN / "autograder"), "grade", "submitted", "--no-progress", "--quiet",
                                 "--workers", str(args.workers)], cwd=course, capture_output=True, text=True)
        grade_s = time.perf_counter() - start
        print(f"grade:  {grade_s:7.1f} s, {grade_s / args.submissions:.2f} s per submission, exit {graded.returncode}, "
              f"{_graded(course / 'baseline.db')} graded", flush=True)
        print(f"serve / grade: {serve_s / grade_s:.3f} (serve also writes and releases {released} feedback sets)")


if __name__ == "__main__":
    main()
