"""discover(): the layouts, zips, wrapper folders, reserved names, and archives that try to escape."""
from __future__ import annotations

import json
import os
import stat
import zipfile
from pathlib import Path

import pytest

from autograder.errors import SubmissionError
from autograder.intake.discover import IntakeIssue, discover

NB = ("01_nb",)


def _write(path: Path, text: str = "{}") -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    return path


def test_nbgrader_layout(tmp_path: Path) -> None:
    _write(tmp_path / "sub" / "alice" / "hw" / "01_nb.ipynb")
    _write(tmp_path / "sub" / "carol" / "hw" / "notes.txt")             # handed in no notebook at all
    found = discover(tmp_path / "sub", assignment="hw", notebooks=NB, scratch=tmp_path / "s")
    assert [s.student for s in found.submissions] == ["alice", "carol"]
    assert set(found.submissions[0].notebooks) == {"01_nb"} and found.submissions[1].notebooks == {}
    assert found.unmatched == () and found.unwrapped == ()


def test_a_notebook_that_matches_nothing_is_listed_not_graded_as_missing(tmp_path: Path) -> None:
    _write(tmp_path / "sub" / "alice" / "hw" / "01_nb.ipynb")
    _write(tmp_path / "sub" / "alice" / "hw" / "scratch.ipynb")
    _write(tmp_path / "sub" / "bob" / "hw" / "other.ipynb")
    _write(tmp_path / "sub" / "bob" / "hw" / ".ipynb_checkpoints" / "other-checkpoint.ipynb")   # passed over
    found = discover(tmp_path / "sub", assignment="hw", notebooks=NB, scratch=tmp_path / "s")
    # bob handed in a file, just not one of the assignment's: he is listed, never recorded as "not submitted"
    assert [s.student for s in found.submissions] == ["alice"]
    assert [(u.student, u.path, u.issue) for u in found.unmatched] == [
        ("alice", "alice/hw/scratch.ipynb", IntakeIssue.UNKNOWN_NAME),
        ("bob", "bob/hw/other.ipynb", IntakeIssue.UNKNOWN_NAME)]
    assert "01_nb.ipynb" in found.unmatched[0].why and not found.ok
    assert any("ignored scratch.ipynb" in n.text for n in found.submissions[0].intake_notes)
    subs, skipped = found                       # the older unpacking still works
    assert len(subs) == 1 and len(skipped) == 2 and "bob/hw/other.ipynb" in skipped[1]


def test_flat_layout_and_hashes(tmp_path: Path) -> None:
    _write(tmp_path / "a.ipynb", "1")
    _write(tmp_path / "b.ipynb", "2")
    subs, _ = discover(tmp_path, assignment="hw", notebooks=NB, scratch=tmp_path / "s")
    assert [s.student for s in subs] == ["a", "b"]
    assert subs[0].sha256 != subs[1].sha256


def _nb_with_ids(*grade_ids: str) -> str:
    cells = [{"cell_type": "code", "metadata": {"nbgrader": {"grade_id": g}}, "source": "", "outputs": [],
              "execution_count": None} for g in grade_ids]
    return json.dumps({"cells": cells, "metadata": {}, "nbformat": 4, "nbformat_minor": 4})


def test_flat_layouts_of_a_multi_notebook_assignment(tmp_path: Path) -> None:
    notebooks = ("n1", "n2")
    ids = {"n1": frozenset({"a1", "t1"}), "n2": frozenset({"a2", "t2"})}
    _write(tmp_path / "alice_n1.ipynb")                       # <student>_<notebook>.ipynb
    _write(tmp_path / "alice-n2.ipynb")
    _write(tmp_path / "bob.ipynb", _nb_with_ids("a2", "t2", "mine"))   # <student>.ipynb: its grade cells say n2
    _write(tmp_path / "carol.ipynb", _nb_with_ids("a1", "a2"))         # half of each: not guessed
    _write(tmp_path / "dave.ipynb", "{ truncated")                     # unreadable: which notebook is unknown
    found = discover(tmp_path, assignment="hw", notebooks=notebooks, scratch=tmp_path / "s", cell_ids=ids)
    by = {s.student: s for s in found.submissions}
    assert sorted(by) == ["alice", "bob"]
    assert {n: p.name for n, p in by["alice"].notebooks.items()} == {"n1": "alice_n1.ipynb", "n2": "alice-n2.ipynb"}
    assert {n: p.name for n, p in by["bob"].notebooks.items()} == {"n2": "bob.ipynb"}
    assert any("identified as n2.ipynb by its grade cells" in n.text for n in by["bob"].intake_notes)
    assert [(u.student, u.issue) for u in found.unmatched] == [("carol", IntakeIssue.NOT_IDENTIFIED),
                                                               ("dave", IntakeIssue.NOT_IDENTIFIED)]
    assert "carol_<notebook>.ipynb" in found.unmatched[0].why
    # a single-notebook assignment needs no identification: <student>.ipynb is that notebook
    single = discover(tmp_path, assignment="hw", notebooks=("n1",), scratch=tmp_path / "t")
    assert {s.student for s in single.submissions} >= {"bob", "carol", "dave"}


def test_bad_student_ids_are_skipped_not_fatal(tmp_path: Path) -> None:
    _write(tmp_path / "ok.ipynb")
    _write(tmp_path / "bad name;rm.ipynb")
    subs, skipped = discover(tmp_path, assignment="hw", notebooks=NB, scratch=tmp_path / "s")
    assert [s.student for s in subs] == ["ok"] and len(skipped) == 1


def test_zip_of_nbgrader_layout(tmp_path: Path) -> None:
    archive = tmp_path / "batch.zip"
    with zipfile.ZipFile(archive, "w") as zf:
        zf.writestr("submitted/alice/hw/01_nb.ipynb", "{}")
        zf.writestr("submitted/bob/hw/01_nb.ipynb", "{}")
    subs, _ = discover(archive, assignment="hw", notebooks=NB, scratch=tmp_path / "s")
    assert [s.student for s in subs] == ["alice", "bob"]


def test_zip_slip_is_refused(tmp_path: Path) -> None:
    archive = tmp_path / "evil.zip"
    with zipfile.ZipFile(archive, "w") as zf:
        zf.writestr("alice/hw/01_nb.ipynb", "{}")
        zf.writestr("../../escaped.txt", "gotcha")
    with pytest.raises(SubmissionError, match="outside the archive"):
        discover(archive, assignment="hw", notebooks=NB, scratch=tmp_path / "s")
    assert not (tmp_path / "escaped.txt").exists()


def test_symlink_in_zip_is_refused(tmp_path: Path) -> None:
    archive = tmp_path / "link.zip"
    with zipfile.ZipFile(archive, "w") as zf:
        info = zipfile.ZipInfo("alice/hw/01_nb.ipynb")
        info.external_attr = (stat.S_IFLNK | 0o777) << 16
        zf.writestr(info, "/etc/passwd")
    with pytest.raises(SubmissionError, match="symbolic link"):
        discover(archive, assignment="hw", notebooks=NB, scratch=tmp_path / "s")


def test_symlinked_notebook_is_a_problem_not_a_read(tmp_path: Path) -> None:
    secret = _write(tmp_path / "secret.txt", "answers")
    (tmp_path / "sub" / "alice").mkdir(parents=True)
    os.symlink(secret, tmp_path / "sub" / "alice" / "01_nb.ipynb")
    subs, _ = discover(tmp_path / "sub", assignment="hw", notebooks=NB, scratch=tmp_path / "s")
    assert subs[0].notebooks == {} and "symbolic link" in subs[0].problems["01_nb"]


def test_not_a_zip(tmp_path: Path) -> None:
    bad = _write(tmp_path / "x.zip", "not a zip")
    with pytest.raises(SubmissionError, match="not a valid zip"):
        discover(bad, assignment="hw", notebooks=NB, scratch=tmp_path / "s")


def test_wrapper_folders_of_a_zip_are_stripped(tmp_path: Path) -> None:
    archive = tmp_path / "batch.zip"
    with zipfile.ZipFile(archive, "w") as zf:
        zf.writestr("Week 3/submitted/alice/hw/01_nb.ipynb", "{}")
        zf.writestr("Week 3/submitted/bob/hw/01_nb.ipynb", "{}")
        zf.writestr("__MACOSX/Week 3/._x", "")
    found = discover(archive, assignment="hw", notebooks=NB, scratch=tmp_path / "s")
    assert [s.student for s in found.submissions] == ["alice", "bob"]          # no student called "submitted"
    assert found.unwrapped == ("Week 3", "submitted") and found.ok


@pytest.mark.parametrize("layout, students, unwrapped", [
    (("submissions/alice/01_nb.ipynb", "submissions/bob/01_nb.ipynb"), ["alice", "bob"], ("submissions",)),
    (("submitted/alice/hw/01_nb.ipynb",), ["alice"], ("submitted",)),         # one student: never unwrapped
    (("alice/01_nb.ipynb",), ["alice"], ()),
    (("alice/hw/01_nb.ipynb",), ["alice"], ()),
    (("course/submitted/alice/hw/01_nb.ipynb", "course/submitted/bob/hw/01_nb.ipynb"), ["alice", "bob"],
     ("course", "submitted")),
])
def test_wrapper_folders_are_stripped_down_to_the_students(tmp_path: Path, layout, students, unwrapped) -> None:
    for member in layout:
        _write(tmp_path / "batch" / member)
    found = discover(tmp_path / "batch", assignment="hw", notebooks=NB, scratch=tmp_path / "s")
    assert [s.student for s in found.submissions] == students and found.unwrapped == unwrapped
    assert all(set(s.notebooks) == {"01_nb"} for s in found.submissions) and found.ok


def test_wrapper_folder_inside_a_students_folder(tmp_path: Path) -> None:
    _write(tmp_path / "sub" / "alice" / "Week 3 files" / "01_nb.ipynb")
    _write(tmp_path / "sub" / "bob" / "hw" / "01_nb.ipynb")
    _write(tmp_path / "sub" / "bob" / "hw" / "old" / "01_nb.ipynb")     # not where bob's notebooks are
    found = discover(tmp_path / "sub", assignment="hw", notebooks=NB, scratch=tmp_path / "s")
    by = {s.student: s for s in found.submissions}
    assert by["alice"].notebooks["01_nb"].parent.name == "Week 3 files"
    assert any("alice/Week 3 files/" in n.text for n in by["alice"].intake_notes)
    assert by["bob"].notebooks["01_nb"].parent.name == "hw"
    assert [(u.student, u.path, u.issue) for u in found.unmatched] == [
        ("bob", "bob/hw/old/01_nb.ipynb", IntakeIssue.OUTSIDE_FOLDER)]


@pytest.mark.parametrize("name", ["submitted", "Submissions", "autograded", "feedback", "source", "release",
                                  "hw", "01_nb"])
def test_reserved_names_are_refused_as_student_ids(tmp_path: Path, name: str) -> None:
    _write(tmp_path / "sub" / "alice" / "hw" / "01_nb.ipynb")             # the honest control, same batch
    _write(tmp_path / "sub" / name / "carol" / "hw" / "01_nb.ipynb")
    found = discover(tmp_path / "sub", assignment="hw", notebooks=NB, scratch=tmp_path / "s")
    assert [s.student for s in found.submissions] == ["alice"]
    [refused] = found.unmatched
    assert refused.issue is IntakeIssue.RESERVED_NAME and refused.student == ""
    assert refused.path == f"{name}/carol/hw/01_nb.ipynb" and "reserved name, not a student id" in refused.why
    if name.lower() in ("submitted", "submissions"):
        assert f"grade {(tmp_path / 'sub' / name).as_posix()}" in refused.why      # says what to grade instead


def test_reserved_names_of_flat_files_and_empty_folders(tmp_path: Path) -> None:
    _write(tmp_path / "sub" / "alice.ipynb")
    _write(tmp_path / "sub" / "release.ipynb")
    _write(tmp_path / "sub" / "01_nb.ipynb")                  # the notebook's own name where a student goes
    _write(tmp_path / "sub" / "feedback" / "alice" / "hw" / "01_nb.html")
    found = discover(tmp_path / "sub", assignment="hw", notebooks=NB, scratch=tmp_path / "s")
    assert [s.student for s in found.submissions] == ["alice"]
    assert [(u.path, u.issue) for u in found.unmatched] == [
        ("01_nb.ipynb", IntakeIssue.RESERVED_NAME), ("feedback", IntakeIssue.RESERVED_NAME),
        ("release.ipynb", IntakeIssue.RESERVED_NAME)]
    assert "put it in a folder named after its student" in found.unmatched[0].why


def test_a_canvas_download_in_a_wrapper_folder(tmp_path: Path) -> None:
    from autograder.intake.canvas import load_roster

    roster = _write(tmp_path / "roster.csv", "student_id,lms_id,name\ns_jane,1001,Jane\n")
    archive = tmp_path / "submissions.zip"
    with zipfile.ZipFile(archive, "w") as zf:
        zf.writestr("submissions/doejane_1001_5001_Copy of 01_nb.ipynb", "{}")
        zf.writestr("submissions/doejane_1001_5001_draft.ipynb", "{}")
    found = discover(archive, assignment="hw", notebooks=NB, scratch=tmp_path / "s", roster=load_roster(roster))
    [sub] = found.submissions
    assert sub.student == "s_jane" and set(sub.notebooks) == {"01_nb"} and found.unwrapped == ("submissions",)
    assert any("'Copy of' prefix" in n.text for n in sub.intake_notes)
    assert [(u.student, u.path, u.issue) for u in found.unmatched] == [
        ("s_jane", "submissions/doejane_1001_5001_draft.ipynb", IntakeIssue.UNKNOWN_NAME)]


def test_one_students_folder_given_as_the_batch_says_so(tmp_path: Path) -> None:
    _write(tmp_path / "submitted" / "alice" / "hw" / "01_nb.ipynb")
    with pytest.raises(SubmissionError, match="looks like one student's folder"):
        discover(tmp_path / "submitted" / "alice", assignment="hw", notebooks=NB, scratch=tmp_path / "s")
    [alice] = discover(tmp_path / "submitted", assignment="hw", notebooks=NB, scratch=tmp_path / "s").submissions
    assert alice.student == "alice"
