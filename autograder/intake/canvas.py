"""What an LMS hands over: Canvas's bulk-download file names, and the roster that maps its users.

Canvas ("Download Submissions" on an assignment) returns one zip with every file loose at the
top, renamed ``<lastfirst>_<canvas user id>_<submission id>_<original name>``; a late
submission has ``late`` inserted after the name (``<lastfirst>_late_<user id>_...``), and a
file the student re-submitted under the same name gets Canvas's ``-N`` suffix before the
extension (``rnn-1.ipynb``). Described by, among others, github.com/TimHanneman/Canvas_submission_sort
(README: "a student name, two id fields ... an extra field if the assignment was submitted late
and ... a number is added at the end of the filename") and github.com/mikewesthad/canvas-unzipper
(``smithbob_340934_208490284_BobsWork.zip``). The names carry no time; the time of each file
is the one the archive records for it (see intake.py).

The roster is a CSV with ``student_id,lms_id,name`` (optional ``sis_user_id``, ``sis_login_id``,
``section``), or Canvas's own gradebook export (``Student,ID,SIS User ID,SIS Login ID,Section,...``,
whose ``ID`` is the Canvas user id; the student id is the SIS User ID, else the SIS Login ID, else
the Canvas id). Rows without an id (Canvas's "Points Possible" row) are ignored.
"""
from __future__ import annotations

import csv
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Mapping

from autograder.errors import SubmissionError

_CANVAS_NAME = re.compile(r"^(?P<lastfirst>[^_]+?)(?P<late>_late)?_(?P<user>\d+)_(?P<submission>\d+)_(?P<original>.+)$",
                          re.IGNORECASE)
# "name-2" (Canvas), "name (2)" / "name(2)" (a browser's second download) for a file handed in again
_RESUBMISSION = re.compile(r"^(?P<stem>.+?)(?:-(?P<dash>\d+)| ?\((?P<paren>\d+)\))$")


@dataclass(frozen=True)
class CanvasFile:
    """One file of a Canvas bulk download, as its name describes it."""

    lastfirst: str
    late: bool
    user_id: str
    submission_id: str
    original: str


def parse_canvas_name(filename: str) -> CanvasFile | None:
    """The parts of a Canvas bulk-download file name, or None when it is not one."""
    m = _CANVAS_NAME.match(filename)
    if not m:
        return None
    return CanvasFile(lastfirst=m["lastfirst"], late=bool(m["late"]), user_id=m["user"],
                      submission_id=m["submission"], original=m["original"])


def match_notebook(filename: str, notebooks: tuple[str, ...]) -> tuple[str, int] | None:
    """Which notebook a submitted file name stands for, and its resubmission number (0 = none).

    Tolerates case differences and the copy suffixes ``-1``, `` (1)``; only ``.ipynb`` files match."""
    if not filename.lower().endswith(".ipynb"):
        return None
    stem = filename[: -len(".ipynb")]
    by_lower = {n.lower(): n for n in notebooks}
    if stem.lower() in by_lower:
        return by_lower[stem.lower()], 0
    m = _RESUBMISSION.match(stem)
    if m and m["stem"].lower() in by_lower:
        return by_lower[m["stem"].lower()], int(m["dash"] or m["paren"])
    return None


@dataclass(frozen=True)
class RosterEntry:
    student_id: str
    lms_id: str
    name: str = ""
    sis_user_id: str = ""
    sis_login_id: str = ""
    section: str = ""


@dataclass(frozen=True)
class Roster:
    """LMS users by their LMS id (the Canvas user id)."""

    entries: tuple[RosterEntry, ...]
    path: Path

    @property
    def by_lms_id(self) -> Mapping[str, RosterEntry]:
        return {e.lms_id: e for e in self.entries}

    @property
    def by_student(self) -> Mapping[str, RosterEntry]:
        return {e.student_id: e for e in self.entries}


_SIMPLE = ("student_id", "lms_id")
_CANVAS = ("Student", "ID")


def load_roster(path: Path) -> Roster:
    """Read a roster CSV (either format above); a malformed file stops with the reason."""
    path = Path(path)
    if not path.is_file():
        raise SubmissionError(f"roster {path} does not exist")
    with path.open(newline="", encoding="utf-8-sig") as handle:
        reader = csv.DictReader(handle)
        header = tuple(h.strip() for h in reader.fieldnames or ())
        rows = [{(k or "").strip(): (v or "").strip() for k, v in row.items()} for row in reader]
    if all(c in header for c in _SIMPLE):
        entries = [RosterEntry(student_id=r["student_id"], lms_id=r["lms_id"], name=r.get("name", ""),
                               sis_user_id=r.get("sis_user_id", ""), sis_login_id=r.get("sis_login_id", ""),
                               section=r.get("section", ""))
                   for r in rows if r["lms_id"] or r["student_id"]]
    elif all(c in header for c in _CANVAS):
        entries = [RosterEntry(student_id=r.get("SIS User ID") or r.get("SIS Login ID") or r["ID"], lms_id=r["ID"],
                               name=r["Student"], sis_user_id=r.get("SIS User ID", ""),
                               sis_login_id=r.get("SIS Login ID", ""), section=r.get("Section", ""))
                   for r in rows if r["ID"].isdigit()]
    else:
        raise SubmissionError(f"roster {path}: expected columns student_id,lms_id,name or Canvas's "
                              f"Student,ID,SIS User ID,...; found {','.join(header) or 'no header'}")
    for e in entries:
        if not e.student_id or not e.lms_id:
            raise SubmissionError(f"roster {path}: an entry lacks a student id or LMS id ({e.name or 'no name'})")
    for attr in ("student_id", "lms_id"):
        seen: set[str] = set()
        for e in entries:
            value = getattr(e, attr)
            if value in seen:
                raise SubmissionError(f"roster {path}: {attr} {value!r} appears twice")
            seen.add(value)
    return Roster(entries=tuple(entries), path=path)
