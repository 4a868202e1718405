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
from conftest import recorded_submissions
from rnn_basics_points import AUTOGRADED_MAX, MANUAL_MAX, MAX
from autograder.course.notebooks import notebook_spec, read_notebook

AUTOGRADER = Path(sys.executable).parent / "autograder"


# Wall-clock limits, each at least 3x the command's time measured on a quiet 2-core machine, so a busy
# CI machine does not fail a test that works: most commands take seconds; `demo` grades all five
# notebooks of one student (a few minutes); `validate` (conftest.full_validation) grades every mutant.
TIMEOUT_S, DEMO_TIMEOUT_S = 600, 1500


def run(*args: str, cwd: Path, timeout: float = TIMEOUT_S) -> subprocess.CompletedProcess:
    return subprocess.run([str(AUTOGRADER), *args], cwd=cwd, capture_output=True, text=True, timeout=timeout)


@pytest.mark.slow
def test_release_check_passes_on_the_committed_release(course_root: Path) -> None:
    result = run("release", "--check", cwd=course_root)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "up to date" in result.stdout


@pytest.mark.slow
def test_release_check_detects_a_stale_release(scratch_course: Path) -> None:
    path = next((scratch_course / "source" / "week3_rnn").glob("01_*.ipynb"))
    nb = nbformat.read(str(path), as_version=4)
    nb.cells[0].source += "\n\nOne more sentence."
    nbformat.write(nb, str(path))
    stale = run("release", "--check", cwd=scratch_course)
    assert stale.returncode == 1 and "01_rnn_basics.ipynb" in stale.stdout
    assert run("release", cwd=scratch_course).returncode == 0
    assert run("release", "--check", cwd=scratch_course).returncode == 0


@pytest.mark.slow
def test_a_release_found_current_is_remembered_until_a_file_changes(scratch_course: Path, monkeypatch) -> None:
    from autograder.config import load_config
    from autograder.course import release
    from autograder.course.release import check_release

    config = load_config(scratch_course)
    assert not check_release(config=config)
    with monkeypatch.context() as patched:
        patched.setattr(release, "rendered_sources", lambda _config: pytest.fail("the check was not remembered"))
        assert not check_release(config=config)                   # the remembered verdict: nothing rendered
    released = scratch_course / "release" / config.assignment / "01_rnn_basics.ipynb"
    original = released.read_text()
    released.write_text(original.replace("RNN", "RNX", 1))
    assert check_release(config=config).release == ("01_rnn_basics.ipynb",)
    released.write_text(original)
    assert not check_release(config=config)


def test_bad_config_exits_2_naming_the_key(scratch_course: Path) -> None:
    config = scratch_course / "grader_config.py"
    config.write_text(config.read_text() + "\ncell_timeout = 5\n")
    result = run("config", cwd=scratch_course)
    assert result.returncode == 2 and "cell_timeout" in result.stderr and "Traceback" not in result.stderr


@pytest.mark.slow
def test_validate_passes(full_validation) -> None:
    assert full_validation.returncode == 0, full_validation.stdout + full_validation.stderr
    assert "OK: the reference scores" in full_validation.stdout
    assert full_validation.rows and all(r["verdict"] == "killed" for r in full_validation.rows)


@pytest.mark.slow
def test_grade_a_zip_export_and_feedback(scratch_course: Path, tmp_path: Path) -> None:
    release = scratch_course / "release" / "week3_rnn" / "01_rnn_basics.ipynb"
    archive = tmp_path / "batch.zip"
    with zipfile.ZipFile(archive, "w") as zf:
        zf.write(release, "blank/01_rnn_basics.ipynb")
        zf.writestr("broken/01_rnn_basics.ipynb", "{ not json")
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
    assert {r["notebook"] for r in rows} >= {"01_rnn_basics"}
    assert list(rows[0]) == ["student", "assignment", "notebook", "test", "points", "max_points", "status", "reason"]
    assert all(float(r["points"]) == 0 for r in rows)

    feedback = run("feedback", cwd=scratch_course)
    assert feedback.returncode == 0
    assert (scratch_course / "feedback" / "blank" / "week3_rnn" / "01_rnn_basics.html").is_file()

    only_good = run("grade", str(archive), "--student", "blank", "--no-progress", cwd=scratch_course)
    assert only_good.returncode == 0


@pytest.mark.slow
def test_demo_prints_the_table_and_paths(scratch_course: Path, tmp_path: Path) -> None:
    result = run("demo", "--no-progress", "--workdir", str(tmp_path / "demo"), cwd=scratch_course,
                 timeout=DEMO_TIMEOUT_S)
    assert result.returncode == 0, result.stdout + result.stderr
    for expected in ("alice_correct", f"{AUTOGRADED_MAX:g} / {MAX:g}", "erin_corrupted", "not valid JSON", "grades.csv", "Feedback",
                     "Trained models, measured by the grader on held-out data", "data: sentiment source=embedded"):
        assert expected in result.stdout
    total = next(line for line in result.stdout.splitlines() if line.startswith("grace_all_topics") and "TOTAL" in line)
    # every notebook's written answers wait for a TA: every autograded point, and nothing more
    written = sum(t.points for path in sorted((scratch_course / "source" / "week3_rnn").glob("*.ipynb"))
                  for t in notebook_spec(path.stem, path, read_notebook(path)).tests if t.manual)
    assert written > MANUAL_MAX                               # topic 1's and the other notebooks'
    assert float(total.split()[2]) == float(total.split()[4]) - written, total
    assert (tmp_path / "demo" / "grades.csv").is_file()
    assert not (scratch_course / "gradebook.db").exists()      # the demo never touches the course gradebook


def test_missing_path_is_a_clear_error(course_root: Path, tmp_path: Path) -> None:
    result = run("grade", str(tmp_path / "nope"), cwd=course_root)
    assert result.returncode == 2 and "does not exist" in result.stderr


@pytest.mark.slow
def test_sigkill_mid_batch_then_rerun_completes_without_loss(scratch_course: Path, tmp_path: Path) -> None:
    import signal
    import sqlite3
    import time

    release = scratch_course / "release" / "week3_rnn" / "01_rnn_basics.ipynb"
    batch = tmp_path / "batch"
    batch.mkdir()
    for i in range(5):
        (batch / f"s{i}").mkdir()
        shutil.copy(release, batch / f"s{i}" / "01_rnn_basics.ipynb")
    db = scratch_course / "gradebook.db"

    def recorded() -> int:
        return recorded_submissions(db)

    proc = subprocess.Popen([str(AUTOGRADER), "grade", str(batch), "--no-progress"], cwd=scratch_course,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 300
    while recorded() < 2 and time.monotonic() < deadline and proc.poll() is None:
        time.sleep(0.05)
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    before = recorded()
    assert 2 <= before < 5
    with sqlite3.connect(db) as conn:
        kept = conn.execute("select student, score, graded_at from autograder_submissions").fetchall()

    rerun = run("grade", str(batch), "--no-progress", cwd=scratch_course)
    assert rerun.returncode == 0, rerun.stdout + rerun.stderr
    assert f"{before} submissions unchanged" in rerun.stdout
    with sqlite3.connect(db) as conn:
        rows = conn.execute("select student, score, graded_at from autograder_submissions").fetchall()
        per_test = conn.execute("select count(*), count(distinct student || '/' || notebook || '/' || test) from autograder_results").fetchone()
        nbgrader_rows = conn.execute("select count(*) from submitted_assignment").fetchone()[0]
    assert len(rows) == 5 and set(kept) <= set(rows)          # earlier grades kept exactly
    assert per_test[0] == per_test[1] and per_test[0] % 5 == 0   # no duplicate rows
    assert nbgrader_rows == 5


@pytest.mark.slow
def test_release_check_works_without_the_venv_on_path(course_root: Path) -> None:
    """The console script is often run as .venv/bin/autograder, without activating the venv."""
    result = subprocess.run([str(AUTOGRADER), "release", "--check"], cwd=course_root, capture_output=True,
                            text=True, timeout=300, env={"HOME": str(Path.home()), "PATH": "/usr/bin:/bin"})
    assert result.returncode == 0, result.stdout + result.stderr


def _break_first_solution_cell(course: Path) -> None:
    path = course / "source" / "week3_rnn" / "01_rnn_basics.ipynb"
    nb = nbformat.read(str(path), as_version=4)
    cell = next(c for c in nb.cells if c.metadata.get("nbgrader", {}).get("solution") and "### END SOLUTION" in c.source)
    cell.source = cell.source.replace("### END SOLUTION", "")
    nbformat.write(nb, str(path))


@pytest.mark.slow
def test_an_nbgrader_error_shows_nbgraders_own_message(scratch_course: Path) -> None:
    _break_first_solution_cell(scratch_course)
    result = run("release", cwd=scratch_course)
    assert result.returncode == 2, result.stdout + result.stderr
    assert "no end solution statement found" in result.stderr and "def rnn_cell_forward" in result.stderr
    assert "above traceback" not in result.stderr and "Traceback" not in result.stderr


def test_captured_nbgrader_log_prefers_the_logged_cause_over_the_pointer() -> None:
    import logging

    from autograder.nbgrader_log import captured

    log = logging.getLogger("test.nbgrader.app")
    with captured(log) as handler:
        try:
            raise ValueError("grade cell 'x' has no points")
        except ValueError:
            log.error("There was an error processing assignment: %s", "a")
            log.exception("while converting")
        log.error("Please see the the above traceback for details on the specific errors on the above failures.")
    pointer = RuntimeError("Please see the the above traceback for details")
    assert handler.reason(pointer) == "ValueError: grade cell 'x' has no points"
    with captured(log) as quiet:      # control: nothing logged, the exception's own text is kept
        pass
    assert quiet.reason(KeyError("y")) == "'y'"
    assert not log.handlers


# ---- the command line itself: help, shared options, refusing to write nothing ----

def _subparsers(parser):
    import argparse

    action = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction))
    for name, sub in action.choices.items():
        yield name, sub
        yield from ((f"{name} {n}", s) for n, s in _subparsers(sub)) if any(
            isinstance(a, argparse._SubParsersAction) for a in sub._actions) else ()


def test_no_command_prints_the_commands_and_examples_and_exits_2(course_root: Path) -> None:
    result = run(cwd=course_root)
    assert result.returncode == 2 and result.stdout == ""
    for command in ("release", "grade", "scores", "export", "feedback", "report", "check"):
        assert f"\n    {command} " in result.stderr, command
    assert "examples:" in result.stderr and "autograder scores --student alice" in result.stderr
    assert run("--help", cwd=course_root).returncode == 0


def test_every_option_of_every_command_has_help() -> None:
    import argparse

    from autograder.cli import build_parser

    missing = [f"{name} {'/'.join(a.option_strings) or a.dest}" for name, sub in _subparsers(build_parser())
               for a in sub._actions if not isinstance(a, argparse._SubParsersAction) and not (a.help or "").strip()]
    assert not missing


def test_assignment_is_declared_once_and_shared() -> None:
    from autograder.cli import build_parser

    actions = {name: a for name, sub in _subparsers(build_parser()) for a in sub._actions
               if "--assignment" in a.option_strings}
    assert {"release", "validate", "grade", "scores", "collect", "export", "feedback", "calibrate",
            "similarity", "report"} <= set(actions)
    assert len({id(a) for a in actions.values()}) == 1       # one argparse action, from one parent parser


@pytest.fixture
def graded_course(scratch_course: Path) -> Path:
    """A course copy whose gradebook holds two synthetic topic-1 students, ann and ben."""
    from report_factories import synthetic_result

    from autograder.config import load_config
    from autograder.course.notebooks import load_source
    from autograder.gradebook import Gradebook

    config = load_config(scratch_course)
    spec, _ = load_source(config)
    with Gradebook(config) as gb:
        gb.sync_assignment(spec)
        gb.record(synthetic_result(spec, "ann"))
        gb.record(synthetic_result(spec, "ben", lost={"test_rnn_forward_visible": "wrong shape"}))
    return scratch_course


def _main(*args: str, course: Path, capsys) -> tuple[int, str, str]:
    from autograder.cli import main

    code = main(["--course-root", str(course), *args])
    out = capsys.readouterr()
    return code, out.out, out.err


@pytest.mark.parametrize("args, message", [
    (("export", "--output", "{tmp}/g.csv", "--assignment", "week4_rnn"), r"--assignment week4_rnn: .*Did you mean 'week3_rnn'"),
    (("export", "--output", "{tmp}/g.csv", "--student", "anne"), r"--student anne: .*Did you mean 'ann'"),
    (("export", "--format", "nbgrader", "--output", "{tmp}/g.csv", "--student", "zed"), r"--student zed"),
    (("feedback", "--output", "{tmp}/fb", "--student", "bem"), r"--student bem: .*Did you mean 'ben'"),
    (("feedback", "--output", "{tmp}/fb", "--assignment", "week3"), r"--assignment week3: "),
    (("report", "--output", "{tmp}/r.html", "--assignment", "week_3_rnn"), r"--assignment week_3_rnn: "),
    (("scores", "--student", "carl"), r"--student carl: "),
])
def test_unknown_assignment_or_student_is_refused_with_the_reason(graded_course: Path, tmp_path: Path, capsys,
                                                                  args: tuple, message: str) -> None:
    import re

    out_dir = tmp_path / "out"
    out_dir.mkdir()
    code, out, err = _main(*(a.format(tmp=out_dir) for a in args), course=graded_course, capsys=capsys)
    assert code == 2 and re.search(message, err), err
    assert not list(out_dir.iterdir())                      # nothing written


def test_known_student_is_exported_alone(graded_course: Path, tmp_path: Path, capsys) -> None:
    code, out, _ = _main("export", "--output", str(tmp_path / "g.csv"), "--student", "ben", course=graded_course,
                         capsys=capsys)
    rows = list(csv.DictReader((tmp_path / "g.csv").open()))
    assert code == 0 and rows and {r["student"] for r in rows} == {"ben"}
    code, out, _ = _main("feedback", "--output", str(tmp_path / "fb"), "--student", "ann", course=graded_course,
                         capsys=capsys)
    assert code == 0 and [p.name for p in (tmp_path / "fb").iterdir()] == ["ann"]


@pytest.mark.parametrize("command", [("export", "--output", "{tmp}/g.csv"), ("feedback", "--output", "{tmp}/fb"),
                                     ("report", "--output", "{tmp}/r.html")])
def test_nothing_to_write_exits_non_zero_with_the_reason(scratch_course: Path, tmp_path: Path, capsys,
                                                         command: tuple) -> None:
    out_dir = tmp_path / "out"
    out_dir.mkdir()
    code, _, err = _main(*(a.format(tmp=out_dir) for a in command), course=scratch_course, capsys=capsys)
    assert code == 2 and "nothing to write" in err and "autograder grade" in err, err
    assert not list(out_dir.iterdir()) and not (scratch_course / "gradebook.db").exists()
