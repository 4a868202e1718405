"""Shared fixtures: the real course root, and scratch copies of it for tests that write."""
from __future__ import annotations

import atexit
import os
import shutil
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path

import pytest

COURSE_ROOT = Path(__file__).resolve().parents[1]
SHARED_DATA = Path(os.environ.get("COURSE_SHARED_DATA", COURSE_ROOT.parent / "shared" / "data"))

# nbgrader runs `alembic` by name; kernels must resolve to this interpreter.
os.environ["PATH"] = os.pathsep.join([str(Path(sys.executable).parent), os.environ.get("PATH", "")])

# One grader cache for the whole session (downloads, cached releases, the grader's trainings), shared by
# every test and every CLI subprocess, and new for each session: a test run never reuses what an older
# version of the code cached, and the tests that grade the same reference share one training of it.
_SESSION_CACHE = tempfile.mkdtemp(prefix="autograder-test-cache-")
os.environ["RNN_AUTOGRADER_CACHE"] = _SESSION_CACHE
atexit.register(shutil.rmtree, _SESSION_CACHE, ignore_errors=True)


def recorded_submissions(db: Path) -> int:
    """How many submissions a gradebook file holds (0 while it does not exist yet)."""
    import sqlite3

    try:
        with sqlite3.connect(db) as conn:
            return conn.execute("select count(*) from autograder_submissions").fetchone()[0]
    except sqlite3.Error:
        return 0


@pytest.fixture(scope="session")
def course_root() -> Path:
    return COURSE_ROOT


@pytest.fixture
def scratch_course(tmp_path: Path) -> Path:
    """A copy of the course (config, source, release, solutions) that a test may change."""
    root = tmp_path / "course"
    root.mkdir()
    for name in ("grader_config.py",):
        shutil.copy(COURSE_ROOT / name, root / name)
    for name in ("source", "release", "solutions"):
        shutil.copytree(COURSE_ROOT / name, root / name, ignore=shutil.ignore_patterns("__pycache__"))
    return root


# `autograder validate` with every mutant: at least 3x its time on a quiet 2-core machine (README
# "Validation with mutants"), so a busy CI machine does not fail it.
VALIDATE_TIMEOUT_S = 3600


@dataclass(frozen=True)
class FullValidation:
    """One run of the whole `autograder validate` command (every notebook, every mutant)."""

    returncode: int
    stdout: str
    stderr: str
    rows: tuple[dict[str, str], ...]      # the mutant table written by --report, one row per mutant

    def lost(self, mutant: str) -> set[str]:
        """The tests a mutant made lose points (the CSV's killed_by: "test (-points); ...")."""
        row = next(r for r in self.rows if r["mutant"] == mutant)
        return {item.rsplit(" (-", 1)[0] for item in row["killed_by"].split("; ") if item.endswith(")")}


@pytest.fixture(scope="session")
def full_validation(tmp_path_factory) -> FullValidation:
    """`autograder validate --report` on the real course, run once for the tests that read it (the
    command's exit and summary, and topic 1's mutants one by one)."""
    import csv
    import subprocess

    table = tmp_path_factory.mktemp("validate") / "mutants.csv"
    done = subprocess.run([str(Path(sys.executable).parent / "autograder"), "validate", "--no-progress",
                           "--report", str(table)], cwd=COURSE_ROOT, capture_output=True, text=True,
                          timeout=VALIDATE_TIMEOUT_S)
    rows = tuple(csv.DictReader(table.open(encoding="utf-8"))) if table.is_file() else ()
    return FullValidation(done.returncode, done.stdout, done.stderr, rows)


@pytest.fixture(scope="session")
def graded_samples(tmp_path_factory):
    """The six topic-1 sample submissions of `autograder demo`, graded once into their own gradebook.

    Returns (config, context, batch report, folder holding submitted/ and gradebook.db). Tests that
    add rows copy the gradebook first."""
    from autograder.config import load_config
    from autograder.grading.pipeline import load_context
    from autograder.qa.samples import write_samples
    from autograder.run.batch import grade_path

    root = tmp_path_factory.mktemp("samples")
    config = load_config(COURSE_ROOT).with_gradebook(root / "gradebook.db")
    ctx = load_context(config)
    write_samples(ctx, root / "submitted", complete=False)
    report = grade_path(config=config, path=root / "submitted", progress=False, context=ctx)
    return config, ctx, report, root
