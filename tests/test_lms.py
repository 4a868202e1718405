"""Canvas bulk downloads with a roster, duplicates resolved to the latest, graded end to end by the CLI."""
from __future__ import annotations

import csv
import os
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest
from lms_factories import canvas_zip, roster_csv

from autograder.config import load_config
from autograder.errors import SubmissionError
from autograder.grading.late import penalty
from autograder.intake.canvas import load_roster, match_notebook, parse_canvas_name
from autograder.intake.discover import discover
from rnn_basics_points import AUTOGRADED_MAX

AUTOGRADER = Path(sys.executable).parent / "autograder"
NB = ("01_rnn_basics",)


def test_canvas_names() -> None:
    f = parse_canvas_name("doejane_late_123456_7890123_01_RNN_basics-2.ipynb")
    assert (f.lastfirst, f.late, f.user_id, f.submission_id, f.original) == \
        ("doejane", True, "123456", "7890123", "01_RNN_basics-2.ipynb")
    assert parse_canvas_name("doejane_123456_7890123_hw.ipynb").late is False
    assert parse_canvas_name("01_rnn_basics.ipynb") is None
    assert parse_canvas_name("alice.ipynb") is None


@pytest.mark.parametrize("name, expected", [
    ("01_rnn_basics.ipynb", ("01_rnn_basics", 0)),
    ("01_RNN_Basics.IPYNB", ("01_rnn_basics", 0)),
    ("01_rnn_basics-1.ipynb", ("01_rnn_basics", 1)),
    ("01_rnn_basics (3).ipynb", ("01_rnn_basics", 3)),
    ("01_rnn_basics(2).ipynb", ("01_rnn_basics", 2)),
    ("02_word_embeddings.ipynb", None),
    ("01_rnn_basics.py", None),
    ("01_rnn_basics_v2.ipynb", None),
])
def test_notebook_names_tolerate_copies_and_case(name: str, expected) -> None:
    assert match_notebook(name, NB) == expected


def test_roster_formats_and_errors(tmp_path: Path) -> None:
    simple = roster_csv(tmp_path / "r.csv")
    assert load_roster(simple).by_lms_id["1002"].student_id == "s_bob"
    canvas = tmp_path / "canvas.csv"
    canvas.write_text('Student,ID,SIS User ID,SIS Login ID,Section,HW 1 (55)\n'
                      '    Points Possible,,,,,10\n'
                      '"Doe, Jane",123456,J007,jdoe,L1,8\n"Roe, Rick",123457,,rroe,L1,\n')
    roster = load_roster(canvas)
    assert [(e.student_id, e.lms_id, e.name) for e in roster.entries] == \
        [("J007", "123456", "Doe, Jane"), ("rroe", "123457", "Roe, Rick")]
    bad = tmp_path / "bad.csv"
    bad.write_text("name,email\nx,y\n")
    with pytest.raises(SubmissionError, match="expected columns student_id,lms_id"):
        load_roster(bad)
    dup = tmp_path / "dup.csv"
    dup.write_text("student_id,lms_id,name\na,1,A\nb,1,B\n")
    with pytest.raises(SubmissionError, match="lms_id '1' appears twice"):
        load_roster(dup)


def test_canvas_download_maps_users_and_keeps_the_latest(course_root: Path, tmp_path: Path) -> None:
    archive = canvas_zip(course_root, tmp_path / "submissions.zip")
    roster = load_roster(roster_csv(tmp_path / "roster.csv"))
    subs, skipped = discover(archive, assignment="week3_rnn", notebooks=NB, scratch=tmp_path / "x", roster=roster)
    by = {s.student: s for s in subs}
    assert sorted(by) == ["s_alice", "s_bob", "s_carol"]
    assert by["s_bob"].notebooks["01_rnn_basics"].name == "wrongbob_1002_5002_01_RNN_basics-1.ipynb"
    assert by["s_bob"].submitted_at == "2026-12-11T22:00:00+00:00"
    assert ("01_rnn_basics: kept wrongbob_1002_5002_01_RNN_basics-1.ipynb (2026-12-11T22:00:00+00:00), "
            "ignored wrongbob_1002_5002_01_rnn_basics.ipynb") in [n.text for n in by["s_bob"].intake_notes]
    assert by["s_carol"].submitted_at == "2026-12-13T10:00:00+00:00"
    assert any("Canvas marks" in n.text and "late" in n.text for n in by["s_carol"].intake_notes)
    assert any("ignored correctalice_1001_5001_notes.txt" in n.text for n in by["s_alice"].intake_notes)
    assert len(skipped) == 1 and "Canvas user 9999 (strangerx) is not in the roster" in skipped[0]
    with pytest.raises(SubmissionError, match="needs a roster|need a roster"):
        discover(archive, assignment="week3_rnn", notebooks=NB, scratch=tmp_path / "y")


def test_folder_duplicates_resolve_by_time_then_copy_number(tmp_path: Path) -> None:
    folder = tmp_path / "sub" / "dave"
    folder.mkdir(parents=True)
    for name, mtime in (("01_rnn_basics.ipynb", 1_000), ("01_rnn_basics (1).ipynb", 3_000),
                        ("01_rnn_basics (2).ipynb", 3_000), ("01_rnn_basics-5.ipynb", 2_000)):
        (folder / name).write_text(name)
        os.utime(folder / name, (mtime, mtime))
    [sub], _ = discover(tmp_path / "sub", assignment="hw", notebooks=NB, scratch=tmp_path / "s")
    assert sub.notebooks["01_rnn_basics"].name == "01_rnn_basics (2).ipynb"      # same time as (1): higher number
    assert sub.submitted_at == "1970-01-01T00:50:00+00:00"
    assert ("01_rnn_basics: kept 01_rnn_basics (2).ipynb (1970-01-01T00:50:00+00:00), ignored "
            "01_rnn_basics (1).ipynb, 01_rnn_basics-5.ipynb, 01_rnn_basics.ipynb") in [n.text for n in sub.intake_notes]
    assert any("newest notebook modification time" in n.text for n in sub.intake_notes)


@pytest.mark.slow
def test_grade_a_canvas_download_through_the_cli(scratch_course: Path, tmp_path: Path) -> None:
    archive = canvas_zip(scratch_course, tmp_path / "submissions.zip")
    roster = roster_csv(scratch_course / "roster.csv")
    graded = subprocess.run([str(AUTOGRADER), "grade", str(archive), "--roster", str(roster), "--no-progress", "--details",
                             "--workers", "2"], cwd=scratch_course, capture_output=True, text=True, timeout=600)
    out = graded.stdout
    assert graded.returncode == 1, out + graded.stderr          # one file skipped: its user is not rostered
    assert "skipped Canvas user 9999 (strangerx) is not in the roster roster.csv: not graded" in out
    assert "intake s_bob: 01_rnn_basics: kept wrongbob_1002_5002_01_RNN_basics-1.ipynb" in out
    late_s = 34 * 3600 + 60
    carol_penalty = penalty(AUTOGRADED_MAX, late_s, load_config(scratch_course).late_penalty)   # 2 started days
    assert ("late s_carol: submitted 2026-12-13T10:00:00+00:00, 34.0 h after the due date; "
            f"-{carol_penalty:g} points, {AUTOGRADED_MAX - carol_penalty:g} / ") in out

    with sqlite3.connect(scratch_course / "gradebook.db") as db:
        rows = {r[0]: r[1:] for r in db.execute(
            "select student, score, penalty, late_s, submitted_at, intake_notes from autograder_submissions")}
    assert set(rows) == {"s_alice", "s_bob", "s_carol"}
    assert rows["s_alice"][:3] == (AUTOGRADED_MAX, 0.0, 0.0)
    assert rows["s_bob"][:3] == (AUTOGRADED_MAX, 0.0, 0.0)   # the resubmission (the first attempt loses two exercises)
    assert rows["s_carol"][:4] == (AUTOGRADED_MAX, carol_penalty, late_s, "2026-12-13T10:00:00+00:00")
    assert "ignored wrongbob_1002_5002_01_rnn_basics.ipynb" in rows["s_bob"][4]

    out_csv = tmp_path / "canvas.csv"
    exported = subprocess.run([str(AUTOGRADER), "export", "--format", "canvas", "--canvas-id", "4242",
                               "--output", str(out_csv)], cwd=scratch_course, capture_output=True, text=True,
                              timeout=300)
    assert exported.returncode == 2 and "needs a roster" in exported.stderr      # none in grader_config.py
    config = scratch_course / "grader_config.py"
    config.write_text(config.read_text().replace('roster = ""', 'roster = "roster.csv"'))
    exported = subprocess.run([str(AUTOGRADER), "export", "--format", "canvas", "--canvas-id", "4242",
                               "--output", str(out_csv)], cwd=scratch_course, capture_output=True, text=True,
                              timeout=300)
    assert exported.returncode == 0, exported.stdout + exported.stderr
    table = list(csv.reader(out_csv.open()))
    assert table == [
        ["Student", "ID", "SIS User ID", "SIS Login ID", "Section", "week3_rnn (4242)"],
        ["Correct, Alice", "1001", "A100", "alice@uni", "L1", f"{AUTOGRADED_MAX:g}"],
        ["Wrong, Bob", "1002", "B200", "bob@uni", "L1", f"{AUTOGRADED_MAX:g}"],
        ["Hard, Carol", "1003", "C300", "carol@uni", "L2", format(round(AUTOGRADED_MAX - carol_penalty, 4), "g")],
        ["Absent, Erin", "1005", "E500", "erin@uni", "L2", ""],
    ]


def test_demo_samples_are_handed_in_before_the_due_date(course_root: Path) -> None:
    from types import SimpleNamespace

    from nbgrader.utils import parse_utc

    from autograder.config import load_config
    from autograder.qa.samples import _timestamp

    config = load_config(course_root)
    stamp = parse_utc(_timestamp(SimpleNamespace(config=config)))
    assert config.due_at is not None
    assert (config.due_at.replace(tzinfo=None) - config.due_at.utcoffset() - stamp).total_seconds() == 86400
