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


_SEP = r"[\s_\-]"
# The names that copying a file gives it, tried from the outside in. Each is (pattern, what it is);
# `rest` is the name without it, `n` the copy number when there is one.
COPY_NAMES = (
    (re.compile(rf"^copy{_SEP}+of{_SEP}+(?P<rest>.+)$", re.IGNORECASE), "a 'Copy of' prefix (Google Drive, Colab)"),
    (re.compile(rf"^(?P<rest>.+?){_SEP}*\((?P<n>\d+)\)$"), "a '(N)' suffix (a browser's second download)"),
    (re.compile(rf"^(?P<rest>.+?){_SEP}*-{_SEP}*copy(?:{_SEP}*\((?P<n>\d+)\))?$", re.IGNORECASE),
     "a ' - Copy' suffix (Windows)"),
    (re.compile(r"^(?P<rest>.+?)-copy(?P<n>\d+)$", re.IGNORECASE), "a '-CopyN' suffix (Jupyter's Make a Copy)"),
    (re.compile(rf"^(?P<rest>.+?){_SEP}+copy(?:{_SEP}+(?P<n>\d+))?$", re.IGNORECASE), "a ' copy' suffix (macOS)"),
    (re.compile(r"^(?P<rest>.+?)-(?P<n>\d+)$"), "a '-N' suffix (Canvas's resubmission)"),
)


def canonical(stem: str) -> str:
    """Lower case, with every space, hyphen and underscore an underscore (same length as `stem`)."""
    return re.sub(_SEP, "_", stem.lower())


@dataclass(frozen=True)
class NameMatch:
    """A submitted file name taken as one notebook of the assignment.

    `number` orders copies of one notebook (0: the plain name; a copy without a number counts 1);
    `tolerated` says, in words for the intake note, what was not exactly the notebook's name
    (empty for an exact match); `prefix` is what came before the notebook's name in a flat
    ``<student>_<notebook>.ipynb`` file (empty otherwise)."""

    notebook: str
    number: int = 0
    tolerated: tuple[str, ...] = ()
    prefix: str = ""

    @property
    def exact(self) -> bool:
        return not self.tolerated and not self.prefix


def _stems(stem: str) -> list[tuple[str, int, tuple[str, ...]]]:
    """`stem`, then `stem` with one more copy decoration removed, and so on: (stem, number, what)."""
    out = [(stem, 0, ())]
    number, what = 0, ()
    while True:
        for pattern, label in COPY_NAMES:
            m = pattern.match(stem)
            if m and m["rest"].strip(" _-"):
                stem = m["rest"].strip()
                n = m.groupdict().get("n")
                number = max(number, int(n) if n else 1)
                what += (label,)
                out.append((stem, number, what))
                break
        else:
            return out


def name_matches(filename: str, notebooks: tuple[str, ...], *, with_prefix: bool = False) -> tuple[NameMatch, ...]:
    """The notebooks a submitted file name stands for: none (not a notebook of the assignment), one,
    or several (ambiguous: nothing is guessed). Only ``.ipynb`` names match.

    Tried in order, the first step that matches wins: the exact name; the name in another letter
    case; with spaces, hyphens and underscores taken as one; then the same after removing each
    copy decoration of COPY_NAMES (``Copy of X``, ``X (1)``, ``X - Copy``, ``X-Copy1``, ``X copy 2``,
    ``X-2``). With `with_prefix` (loose files of a flat folder), ``<prefix>_<notebook>`` also matches."""
    if not filename.lower().endswith(".ipynb"):
        return ()
    case = () if filename.endswith(".ipynb") else ("another letter case",)      # "X.IPYNB"
    stems = [(stem, number, what + case) for stem, number, what in _stems(filename[: -len(".ipynb")])]
    for stem, number, what in stems:
        if stem in notebooks:
            return (NameMatch(stem, number, what),)
        for test, label in ((str.lower, "another letter case"), (canonical, "spaces, hyphens and underscores mixed")):
            found = tuple(n for n in notebooks if test(n) == test(stem))
            if found:
                return tuple(NameMatch(n, number, what + (label,)) for n in found)
    for stem, number, what in stems if with_prefix else ():
        key = canonical(stem)
        found = tuple(NameMatch(n, number, what, prefix=stem[: len(stem) - len(n) - 1])
                      for n in notebooks if key.endswith("_" + canonical(n)) and len(key) > len(n) + 1)
        if found:
            return found
    return ()


def match_notebook(filename: str, notebooks: tuple[str, ...]) -> tuple[str, int] | None:
    """Which notebook a submitted file name stands for, and its copy number (0 = none); None when it
    stands for no notebook or for several (see `name_matches`)."""
    found = name_matches(filename, notebooks)
    return (found[0].notebook, found[0].number) if len(found) == 1 else None


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
