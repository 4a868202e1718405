"""File names: copies are matched with a note, everything else is listed and `grade` exits 1."""
from __future__ import annotations

import sqlite3
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest
from lms_factories import notebook_bytes

from autograder.intake.canvas import match_notebook, name_matches
from autograder.intake.discover import IntakeIssue, discover
from autograder.results import NoteKind
from rnn_basics_points import AUTOGRADED_MAX

AUTOGRADER = Path(sys.executable).parent / "autograder"
NB = ("01_rnn_basics", "02_word_embeddings")


@pytest.mark.parametrize("name, number, what", [
    ("Copy of 01_rnn_basics.ipynb", 1, "'Copy of' prefix"),
    ("Copy of Copy of 01_rnn_basics.ipynb", 1, "'Copy of' prefix"),
    ("Copy_of_01_rnn_basics.ipynb", 1, "'Copy of' prefix"),
    ("01_rnn_basics (1).ipynb", 1, "'(N)' suffix"),
    ("01_rnn_basics(3).ipynb", 3, "'(N)' suffix"),
    ("01_rnn_basics-2.ipynb", 2, "'-N' suffix"),
    ("01_rnn_basics copy.ipynb", 1, "' copy' suffix"),
    ("01_rnn_basics copy 2.ipynb", 2, "' copy' suffix"),
    ("01_rnn_basics - Copy.ipynb", 1, "' - Copy' suffix"),
    ("01_rnn_basics - Copy (2).ipynb", 2, "' - Copy' suffix"),
    ("01_rnn_basics-Copy1.ipynb", 1, "'-CopyN' suffix"),
    ("01_RNN_Basics.ipynb", 0, "letter case"),
    ("01_rnn_basics.IPYNB", 0, "letter case"),
    ("01 rnn basics.ipynb", 0, "spaces, hyphens and underscores"),
    ("01-rnn-basics.ipynb", 0, "spaces, hyphens and underscores"),
    ("Copy of 01 RNN basics (2).ipynb", 2, "'Copy of' prefix"),
])
def test_copy_names_are_matched_and_say_what_was_tolerated(name: str, number: int, what: str) -> None:
    [match] = name_matches(name, NB)
    assert match.notebook == "01_rnn_basics" and match.number == number
    assert not match.exact and any(what in t for t in match.tolerated)
    assert match_notebook(name, NB) == ("01_rnn_basics", number)


def test_the_exact_name_tolerates_nothing() -> None:
    [match] = name_matches("01_rnn_basics.ipynb", NB)
    assert match.exact and match.number == 0


@pytest.mark.parametrize("name", ["01_rnn_basics_v2.ipynb", "rnn_basics.ipynb", "01_rnn_basics.py",
                                  "01_rnn_basics.ipynb.bak", "Copy of .ipynb", "copy.ipynb", "03_rnn_basics.ipynb",
                                  "01_rnn_basics_solution.ipynb", "Untitled.ipynb", "01_rnn_basics-checkpoint.ipynb"])
def test_other_names_are_not_guessed(name: str) -> None:
    assert name_matches(name, NB) == () and match_notebook(name, NB) is None


def test_a_name_that_fits_two_notebooks_is_not_guessed() -> None:
    notebooks = ("01_rnn", "01-rnn")
    assert name_matches("01_rnn.ipynb", notebooks)[0].exact             # the exact name still decides
    assert {m.notebook for m in name_matches("01 RNN.ipynb", notebooks)} == set(notebooks)
    assert match_notebook("01 RNN.ipynb", notebooks) is None
    assert {m.notebook for m in name_matches("alice_01_rnn.ipynb", notebooks, with_prefix=True)} == set(notebooks)


def test_discover_matches_a_copy_with_an_intake_note(tmp_path: Path) -> None:
    (tmp_path / "sub" / "henry" / "hw").mkdir(parents=True)
    (tmp_path / "sub" / "henry" / "hw" / "Copy of 01_rnn_basics.ipynb").write_text("{}")
    (tmp_path / "sub" / "alice" / "hw").mkdir(parents=True)
    (tmp_path / "sub" / "alice" / "hw" / "01_rnn_basics.ipynb").write_text("{}")            # control
    (tmp_path / "sub" / "ben" / "hw").mkdir(parents=True)
    (tmp_path / "sub" / "ben" / "hw" / "02 Word Embeddings (1).ipynb").write_text("{}")
    found = discover(tmp_path / "sub", assignment="hw", notebooks=NB, scratch=tmp_path / "s")
    by = {s.student: s for s in found.submissions}
    assert set(by["henry"].notebooks) == {"01_rnn_basics"} and set(by["ben"].notebooks) == {"02_word_embeddings"}
    [henry_note] = [n for n in by["henry"].intake_notes if n.kind is NoteKind.INTAKE]
    assert "took Copy of 01_rnn_basics.ipynb as 01_rnn_basics.ipynb" in henry_note.text
    assert not [n for n in by["alice"].intake_notes if n.kind is NoteKind.INTAKE]
    assert found.ok


def _zip(target: Path, members: dict[str, bytes]) -> Path:
    with zipfile.ZipFile(target, "w") as zf:
        for name, data in members.items():
            zf.writestr(name, data)
    return target


def _grade(course: Path, batch: Path) -> subprocess.CompletedProcess:
    return subprocess.run([str(AUTOGRADER), "grade", str(batch), "--no-progress", "--workers", "2", "--details"],
                          cwd=course, capture_output=True, text=True, timeout=600)


def _recorded(course: Path) -> dict[str, float]:
    with sqlite3.connect(course / "gradebook.db") as db:
        return dict(db.execute("select student, score from autograder_submissions"))


@pytest.mark.slow
def test_grade_lists_unmatched_files_and_exits_1(scratch_course: Path, tmp_path: Path) -> None:
    good = notebook_bytes(scratch_course, "good")
    wrapper = "Week 3/submitted"
    control = _zip(tmp_path / "control.zip", {f"{wrapper}/henry/week3_rnn/Copy of 01_rnn_basics.ipynb": good,
                                              f"{wrapper}/alice/week3_rnn/01_rnn_basics.ipynb": good})
    graded = _grade(scratch_course, control)
    assert graded.returncode == 0, graded.stdout + graded.stderr
    assert "took Copy of 01_rnn_basics.ipynb as 01_rnn_basics.ipynb" in graded.stdout
    assert "the submissions are in Week 3/submitted/" in graded.stdout
    assert _recorded(scratch_course) == {"alice": AUTOGRADED_MAX, "henry": AUTOGRADED_MAX}       # no student called "submitted"

    attack = _zip(tmp_path / "attack.zip", {f"{wrapper}/henry/week3_rnn/Copy of 01_rnn_basics.ipynb": good,
                                            f"{wrapper}/bob/week3_rnn/01_rnn_basics_v2.ipynb": good,
                                            f"{wrapper}/henry/week3_rnn/scratch.ipynb": b"{}"})
    graded = _grade(scratch_course, attack)
    assert graded.returncode == 1, graded.stdout + graded.stderr
    out = graded.stdout
    assert "2 notebook files match no notebook of week3_rnn" in out
    assert ("unmatched bob: Week 3/submitted/bob/week3_rnn/01_rnn_basics_v2.ipynb: matches no notebook of the "
            "assignment") in out
    assert "unmatched henry: Week 3/submitted/henry/week3_rnn/scratch.ipynb" in out
    recorded = _recorded(scratch_course)
    assert "bob" not in recorded and recorded["henry"] == AUTOGRADED_MAX       # bob is listed, not recorded as 0 / 114


def test_discover_types_every_unmatched_entry(tmp_path: Path) -> None:
    for member in ("alice/hw/01_rnn_basics.ipynb", "alice/hw/draft.ipynb", "bad id!/hw/01_rnn_basics.ipynb",
                   "submitted/carol/hw/01_rnn_basics.ipynb"):
        (tmp_path / "sub" / member).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / "sub" / member).write_text("{}")
    found = discover(tmp_path / "sub", assignment="hw", notebooks=NB, scratch=tmp_path / "s")
    assert [(u.student, u.issue) for u in found.unmatched] == [
        ("alice", IntakeIssue.UNKNOWN_NAME), ("", IntakeIssue.BAD_STUDENT_ID), ("", IntakeIssue.RESERVED_NAME)]
