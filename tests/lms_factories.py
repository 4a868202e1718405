"""A Canvas bulk download and its roster, built from the topic-1 release and reference answers."""
from __future__ import annotations

import zipfile
from pathlib import Path

import nbformat

from autograder.qa.samples import WRONG, fill, reference_answers

TOPIC1 = "01_rnn_basics"
ROSTER = """student_id,lms_id,name,sis_user_id,sis_login_id,section
s_alice,1001,"Correct, Alice",A100,alice@uni,L1
s_bob,1002,"Wrong, Bob",B200,bob@uni,L1
s_carol,1003,"Hard, Carol",C300,carol@uni,L2
s_erin,1005,"Absent, Erin",E500,erin@uni,L2
"""
# (member name, zip time (UTC, as Canvas records it), content)
#  due date in grader_config.py: 2026-12-11T23:59:00+00:00
MEMBERS = (
    ("correctalice_1001_5001_01_rnn_basics.ipynb", (2026, 12, 11, 20, 0, 0), "good"),
    ("correctalice_1001_5001_notes.txt", (2026, 12, 11, 20, 0, 0), "text"),
    ("wrongbob_1002_5002_01_rnn_basics.ipynb", (2026, 12, 10, 10, 0, 0), "wrong"),        # first attempt
    ("wrongbob_1002_5002_01_RNN_basics-1.ipynb", (2026, 12, 11, 22, 0, 0), "good"),       # resubmitted
    ("hardcarol_late_1003_5003_01_rnn_basics.ipynb", (2026, 12, 13, 10, 0, 0), "good"),   # 34 h late
    ("strangerx_9999_5009_01_rnn_basics.ipynb", (2026, 12, 11, 12, 0, 0), "good"),        # not in the roster
)


def notebook_bytes(course: Path, kind: str) -> bytes:
    release = nbformat.read(str(course / "release" / "week3_rnn" / f"{TOPIC1}.ipynb"), as_version=4)
    source = nbformat.read(str(course / "source" / "week3_rnn" / f"{TOPIC1}.ipynb"), as_version=4)
    good = reference_answers(source)
    answers = {"good": good, "wrong": {**good, **WRONG}}[kind]
    return nbformat.writes(fill(release, answers)).encode()


def canvas_zip(course: Path, target: Path) -> Path:
    """Write the Canvas-style zip of MEMBERS to `target`."""
    with zipfile.ZipFile(target, "w") as zf:
        for name, when, kind in MEMBERS:
            data = b"my notes" if kind == "text" else notebook_bytes(course, kind)
            zf.writestr(zipfile.ZipInfo(name, date_time=when), data)
    return target


def roster_csv(target: Path) -> Path:
    target.write_text(ROSTER)
    return target
