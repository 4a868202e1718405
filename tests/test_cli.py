"""The console script, run as a user would: exit codes, files written, messages."""
from __future__ import annotations

import csv
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import nbformat
import pytest

AUTOGRADER = Path(sys.executable).parent / "autograder"


def run(*args: str, cwd: Path) -> subprocess.CompletedProcess:
    return subprocess.run([str(AUTOGRADER), *args], cwd=cwd, capture_output=True, text=True, timeout=600)


def test_release_check_passes_on_the_committed_release(course_root: Path) -> None:
    result = run("release", "--check", cwd=course_root)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "up to date" in result.stdout


def test_release_check_detects_a_stale_release(scratch_course: Path) -> None:
    path = next((scratch_course / "source" / "week3_rnn").glob("01_*.ipynb"))
    nb = nbformat.read(str(path), as_version=4)
    nb.cells[0].source += "\n\nOne more sentence."
    nbformat.write(nb, str(path))
    stale = run("release", "--check", cwd=scratch_course)
    assert stale.returncode == 1 and "01_rnn_basics.ipynb" in stale.stdout
    assert run("release", cwd=scratch_course).returncode == 0
    assert run("release", "--check", cwd=scratch_course).returncode == 0


def test_bad_config_exits_2_naming_the_key(scratch_course: Path) -> None:
    config = scratch_course / "grader_config.py"
    config.write_text(config.read_text() + "\ncell_timeout = 5\n")
    result = run("config", cwd=scratch_course)
    assert result.returncode == 2 and "cell_timeout" in result.stderr and "Traceback" not in result.stderr


@pytest.mark.slow
def test_validate_passes(course_root: Path) -> None:
    result = run("validate", "--no-progress", cwd=course_root)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "OK: the reference scores" in result.stdout


@pytest.mark.slow
def test_grade_a_zip_export_and_feedback(scratch_course: Path, tmp_path: Path) -> None:
    release = scratch_course / "release" / "week3_rnn" / "01_rnn_basics.ipynb"
    archive = tmp_path / "batch.zip"
    with zipfile.ZipFile(archive, "w") as zf:
        zf.write(release, "blank.ipynb")
        zf.writestr("broken.ipynb", "{ not json")
    graded = run("grade", str(archive), "--no-progress", cwd=scratch_course)
    assert graded.returncode == 1, graded.stdout + graded.stderr      # one submission could not be graded
    assert "broken" in graded.stdout and "not valid JSON" in graded.stdout
    assert "1 could not be graded" in graded.stdout
    assert (scratch_course / "gradebook.db").is_file()
    assert (scratch_course / "autograded" / "blank" / "week3_rnn" / "01_rnn_basics.ipynb").is_file()

    out = tmp_path / "grades.csv"
    assert run("export", "--format", "csv", "--output", str(out), cwd=scratch_course).returncode == 0
    rows = list(csv.DictReader(out.open()))
    assert {r["student"] for r in rows} == {"blank", "broken"}
    assert list(rows[0]) == ["student", "assignment", "notebook", "test", "points", "max_points", "status", "reason"]
    assert all(float(r["points"]) == 0 for r in rows)

    feedback = run("feedback", cwd=scratch_course)
    assert feedback.returncode == 0
    assert (scratch_course / "feedback" / "blank" / "week3_rnn" / "01_rnn_basics.html").is_file()

    only_good = run("grade", str(archive), "--student", "blank", "--no-progress", cwd=scratch_course)
    assert only_good.returncode == 0


@pytest.mark.slow
def test_demo_prints_the_table_and_paths(scratch_course: Path, tmp_path: Path) -> None:
    result = run("demo", "--no-progress", "--workdir", str(tmp_path / "demo"), cwd=scratch_course)
    assert result.returncode == 0, result.stdout + result.stderr
    for expected in ("alice_correct", "20 / 20", "erin_corrupted", "not valid JSON", "grades.csv", "Feedback"):
        assert expected in result.stdout
    assert (tmp_path / "demo" / "grades.csv").is_file()
    assert not (scratch_course / "gradebook.db").exists()      # the demo never touches the course gradebook


def test_missing_path_is_a_clear_error(course_root: Path, tmp_path: Path) -> None:
    result = run("grade", str(tmp_path / "nope"), cwd=course_root)
    assert result.returncode == 2 and "does not exist" in result.stderr
