"""discover(): the three layouts, zips, and archives that try to escape."""
from __future__ import annotations

import os
import stat
import zipfile
from pathlib import Path

import pytest

from autograder.errors import SubmissionError
from autograder.intake.discover import discover

NB = ("01_nb",)


def _write(path: Path, text: str = "{}") -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    return path


def test_nbgrader_layout(tmp_path: Path) -> None:
    _write(tmp_path / "sub" / "alice" / "hw" / "01_nb.ipynb")
    _write(tmp_path / "sub" / "bob" / "hw" / "other.ipynb")
    subs, skipped = discover(tmp_path / "sub", assignment="hw", notebooks=NB, scratch=tmp_path / "s")
    assert [s.student for s in subs] == ["alice", "bob"]
    assert set(subs[0].notebooks) == {"01_nb"} and subs[1].notebooks == {}
    assert skipped == []


def test_flat_layout_and_hashes(tmp_path: Path) -> None:
    _write(tmp_path / "a.ipynb", "1")
    _write(tmp_path / "b.ipynb", "2")
    subs, _ = discover(tmp_path, assignment="hw", notebooks=NB, scratch=tmp_path / "s")
    assert [s.student for s in subs] == ["a", "b"]
    assert subs[0].sha256 != subs[1].sha256


def test_flat_layout_needs_a_single_notebook(tmp_path: Path) -> None:
    _write(tmp_path / "a.ipynb")
    with pytest.raises(SubmissionError, match="flat"):
        discover(tmp_path, assignment="hw", notebooks=("n1", "n2"), scratch=tmp_path / "s")


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
