"""Find the submissions under a path: nbgrader's layout, a folder of notebooks, or a zip of either.

Accepted layouts (the assignment's notebook names are the stems of its source notebooks):
- nbgrader: ``PATH/<student>/<assignment>/<notebook>.ipynb`` (PATH is usually ``submitted/``);
- per-student folders: ``PATH/<student>/<notebook>.ipynb`` (a student folder that holds only one
  folder, ``alice/Week 3/...``, is read from that folder, with a note);
- flat files: ``PATH/<student>_<notebook>.ipynb`` (also ``-`` or a space before the notebook name),
  for any number of notebooks; ``PATH/<student>.ipynb``, which is the assignment's only notebook,
  or, with several notebooks, the one whose grade cells (nbgrader ``grade_id``) it holds;
- Canvas's bulk download: loose ``<lastfirst>[_late]_<user id>_<submission id>_<name>.ipynb``
  files, mapped to student ids through a roster (intake/canvas.py);
- a ``.zip`` holding any of these. Archives are unpacked with every member checked:
  absolute paths, ``..`` components and symbolic links are refused. Each file keeps the
  modification time the archive records for it (zip times have no zone: taken as UTC).

Wrapper folders are stripped, in zips and folders alike: while the batch holds exactly one
folder and nothing else that looks like a submission (``Week 3/``, ``submissions/``,
``submitted/``, a zip's single top folder), that folder is the batch. `Discovery.unwrapped` says
which were stripped. A folder that holds notebooks itself, or the assignment's folder, is a
student's folder and is never stripped.

Nothing is guessed silently. A file name matches a notebook exactly, or in another letter case,
with spaces/hyphens/underscores mixed, or as a copy (``Copy of X``, ``X (1)``, ``X-2``,
``X copy``, ``X - Copy``, ``X-Copy1``; see canvas.COPY_NAMES), and every match that was not exact
is an INTAKE note of the submission. Every other ``.ipynb`` is an `Unmatched` value with its
student, its path and why (`IntakeIssue`), and so is every entry refused as a student: reserved
names (``submitted``, ``submissions``, ``autograded``, ``feedback``, ``source``, ``release``, the
assignment's and its notebooks' names) and names that are not usable ids. The CLI lists them and
exits 1; the rest of the batch is graded. Hidden files and folders (``.ipynb_checkpoints``) and
``__MACOSX`` are not submissions and are passed over.

A notebook may come as several files (``name.ipynb``, ``name (1).ipynb``, Canvas's ``name-2.ipynb``,
other letter case): the latest by file time is kept (ties: the highest copy number) and the
submission's ``intake_notes`` say which was kept and which were ignored.

The submission time is, in this order: nbgrader's ``timestamp.txt`` in the student's folder
(written by ``nbgrader submit``, kept by ``nbgrader collect``); for a Canvas download, the time the
archive records for the kept files (Canvas's names carry only the late flag, which is noted);
else the newest notebook's modification time. A TIMESTAMP note records which one was used.
"""
from __future__ import annotations

import datetime as dt
import hashlib
import json
import os
import re
import shutil
import stat
import zipfile
from dataclasses import dataclass, field
from enum import Enum
from pathlib import Path, PurePosixPath
from typing import Iterator, Mapping

from autograder.errors import SubmissionError
from autograder.intake.canvas import (
    CanvasFile,
    NameMatch,
    Roster,
    name_matches,
    parse_canvas_name,
)
from autograder.results import Note, NoteKind

_STUDENT_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.@+-]{0,127}$")
MAX_ARCHIVE_BYTES = 500 * 1024 * 1024
MAX_SNIFF_BYTES = 50 * 1024 * 1024          # a flat notebook read to tell which notebook it is
# Folder names of a course (nbgrader's and ours) and of LMS downloads: never a student id.
RESERVED_NAMES = {"submitted": "nbgrader's folder of submissions", "submissions": "a folder of submissions",
                  "autograded": "nbgrader's folder of graded notebooks", "feedback": "nbgrader's feedback folder",
                  "source": "the instructor's source folder", "release": "the student release folder"}
_UNWRAP = ("submitted", "submissions")       # reserved names that are stripped as wrappers
_PASSED_OVER = ("__MACOSX",)


class IntakeIssue(str, Enum):
    """Why a file (or an entry where a student's folder or file was expected) was not graded."""

    UNKNOWN_NAME = "unknown_name"        # the file name is no notebook of the assignment, not even as a copy
    AMBIGUOUS_NAME = "ambiguous_name"    # the file name fits more than one notebook
    NOT_IDENTIFIED = "not_identified"    # a flat <student>.ipynb whose cells name no single notebook
    OUTSIDE_FOLDER = "outside_folder"    # deeper inside a student's folder than its notebooks
    RESERVED_NAME = "reserved_name"      # where a student id goes, a reserved name (submitted/, feedback/, ...)
    BAD_STUDENT_ID = "bad_student_id"    # where a student id goes, a name that cannot be one
    NOT_IN_ROSTER = "not_in_roster"      # a Canvas file whose user the roster does not know
    NOT_CANVAS_NAME = "not_canvas_name"  # in a Canvas download, a name Canvas does not give


@dataclass(frozen=True)
class Unmatched:
    """A file that was not graded as any notebook, or an entry refused as a student.

    `student` is the student it belongs to, "" when no student could be named (a refused entry);
    `path` is relative to the batch as given (inside the zip for a zip), '/'-separated."""

    path: str
    issue: IntakeIssue
    why: str
    student: str = ""

    def __str__(self) -> str:
        return f"{self.student}: {self.path}: {self.why}" if self.student else f"{self.path}: {self.why}"


@dataclass(frozen=True)
class Submission:
    """One student's files for the assignment, keyed by notebook name."""

    student: str
    notebooks: Mapping[str, Path]
    sha256: str
    problems: Mapping[str, str] = field(default_factory=dict)   # notebook -> why it cannot be read
    submitted_at: str = ""                 # ISO 8601 UTC ("" when unknown)
    intake_notes: tuple[Note, ...] = ()    # INTAKE: copies, duplicates resolved, LMS flags; TIMESTAMP: the time's source


@dataclass(frozen=True)
class Discovery:
    """What discovery found: the submissions (sorted by student), every file and entry it could
    not use (typed, in path order), and the wrapper folders it stripped (outermost first).

    Unpacks as ``submissions, skipped = discover(...)`` (lists; `skipped` as lines of text)."""

    submissions: tuple[Submission, ...]
    unmatched: tuple[Unmatched, ...] = ()
    unwrapped: tuple[str, ...] = ()

    @property
    def ok(self) -> bool:
        return not self.unmatched

    def __iter__(self) -> Iterator[list]:
        return iter((list(self.submissions), [str(u) for u in self.unmatched]))


def _digest(paths: list[Path]) -> str:
    h = hashlib.sha256()
    for path in sorted(paths):
        h.update(path.name.encode() + b"\0")
        h.update(path.read_bytes() if path.is_file() and not path.is_symlink() else b"<not a file>")
    return h.hexdigest()


def safe_extract(archive: Path, dest: Path) -> Path:
    """Unpack a zip into `dest` (returned), refusing zip-slip paths, symlinks and oversized contents."""
    try:
        with zipfile.ZipFile(archive) as zf:
            total = 0
            for info in zf.infolist():
                name = PurePosixPath(info.filename)
                if name.is_absolute() or ".." in name.parts or info.filename.startswith(("/", "\\")):
                    raise SubmissionError(f"{archive.name}: member '{info.filename}' points outside the archive")
                mode = info.external_attr >> 16
                if stat.S_ISLNK(mode):
                    raise SubmissionError(f"{archive.name}: member '{info.filename}' is a symbolic link")
                total += info.file_size
                if total > MAX_ARCHIVE_BYTES:
                    raise SubmissionError(f"{archive.name}: unpacks to more than {MAX_ARCHIVE_BYTES // 2**20} MiB")
            zf.extractall(dest)
            for info in zf.infolist():
                if not info.is_dir():
                    when = dt.datetime(*info.date_time, tzinfo=dt.timezone.utc).timestamp()
                    os.utime(dest / info.filename, (when, when))
    except zipfile.BadZipFile as exc:
        raise SubmissionError(f"{archive.name} is not a valid zip file") from exc
    return dest


def _visible(folder: Path) -> list[Path]:
    return sorted(p for p in folder.iterdir() if not p.name.startswith(".") and p.name not in _PASSED_OVER)


def _is_notebook(path: Path) -> bool:
    return path.name.lower().endswith(".ipynb")


def _holds_notebooks(folder: Path) -> bool:
    return any(_is_notebook(p) for p in _visible(folder))


def _is_canvas_download(path: Path) -> bool:
    loose = [p for p in _visible(path) if p.is_file()]
    return bool(loose) and 2 * sum(parse_canvas_name(p.name) is not None for p in loose) > len(loose)


def unwrap(root: Path, assignment: str) -> tuple[Path, tuple[str, ...]]:
    """The folder that holds the submissions, and the wrapper folders stripped on the way there.

    A wrapper is the only folder of a level that holds no notebook itself: ``Week 3/``,
    ``submissions/``, ``submitted/``, a zip's top folder. A folder that looks like one student's
    (it holds notebooks, the assignment's folder or nbgrader's timestamp.txt) is kept, unless its
    name is ``submitted``/``submissions`` or it holds a Canvas download."""
    stripped: list[str] = []
    while True:
        children = _visible(root)
        folders = [c for c in children if c.is_dir() and not c.is_symlink()]
        if len(folders) != 1 or any(_is_notebook(c) for c in children):
            return root, tuple(stripped)
        only = folders[0]
        student_like = _holds_notebooks(only) or (only / assignment).is_dir() or (only / "timestamp.txt").is_file()
        if student_like and only.name.lower() not in _UNWRAP and not _is_canvas_download(only):
            return root, tuple(stripped)
        stripped.append(only.name)
        root = only


@dataclass(frozen=True)
class _Candidate:
    """One file that stands for a notebook of the assignment."""

    notebook: str
    path: Path
    number: int                  # copy / resubmission number from the name (0: none)
    time: dt.datetime            # the file's modification time, UTC
    late_flag: bool = False      # Canvas named it "_late_"


def _file_time(path: Path) -> dt.datetime:
    return dt.datetime.fromtimestamp(path.lstat().st_mtime, tz=dt.timezone.utc)


def _iso(when: dt.datetime) -> str:
    return when.astimezone(dt.timezone.utc).isoformat()


def read_timestamp(folder: Path) -> tuple[dt.datetime | None, str]:
    """nbgrader's ``timestamp.txt`` in `folder` as an aware UTC time, and a note when it is unusable."""
    path = folder / "timestamp.txt"
    if not path.is_file() or path.is_symlink():
        return None, ""
    from nbgrader.utils import parse_utc

    text = path.read_text(errors="replace").strip()
    try:
        return parse_utc(text).replace(tzinfo=dt.timezone.utc), ""
    except (ValueError, OverflowError):
        return None, f"timestamp.txt is not a time ({text[:40]!r}); used the file times instead"


def _resolve(candidates: list[_Candidate]) -> tuple[dict[str, _Candidate], dict[str, str], list[str]]:
    """Keep the latest file per notebook (ties: highest copy number); say what was ignored."""
    kept, problems, notes = {}, {}, []
    by_notebook: dict[str, list[_Candidate]] = {}
    for c in candidates:
        by_notebook.setdefault(c.notebook, []).append(c)
    for name, group in sorted(by_notebook.items()):
        if any(c.path.is_symlink() for c in group):
            problems[name] = "the submitted notebook is a symbolic link"
            continue
        group.sort(key=lambda c: (c.time, c.number, c.path.name))
        kept[name] = group[-1]
        if len(group) > 1:
            ignored = ", ".join(c.path.name for c in reversed(group[:-1]))
            notes.append(f"{name}: kept {group[-1].path.name} ({_iso(group[-1].time)}), ignored {ignored}")
    return kept, problems, notes


def _match_note(match: NameMatch, filename: str) -> str:
    return f"{match.notebook}: took {filename} as {match.notebook}.ipynb ({'; '.join(dict.fromkeys(match.tolerated))})"


def _unknown_why(filename: str, found: tuple[NameMatch, ...], notebooks: tuple[str, ...]) -> tuple[IntakeIssue, str]:
    if found:
        return IntakeIssue.AMBIGUOUS_NAME, (f"the name fits several notebooks ({', '.join(m.notebook for m in found)}); "
                                            f"rename it to one of them")
    return IntakeIssue.UNKNOWN_NAME, (f"matches no notebook of the assignment ({', '.join(n + '.ipynb' for n in notebooks)},"
                                      f" or a copy name of one); rename it to the notebook it is")


class _Batch:
    """Collects candidates, notes and unmatched entries per student while the batch is walked."""

    def __init__(self, root: Path, shown: str, notebooks: tuple[str, ...]) -> None:
        self.root, self.shown, self.notebooks = root, shown, notebooks
        self.candidates: dict[str, list[_Candidate]] = {}
        self.notes: dict[str, list[Note]] = {}
        self.stamps: dict[str, tuple[dt.datetime | None, str]] = {}
        self.unmatched: list[Unmatched] = []

    def rel(self, path: Path) -> str:
        inner = path.relative_to(self.root).as_posix()
        return f"{self.shown}/{inner}" if self.shown else inner

    def student(self, name: str) -> None:
        self.candidates.setdefault(name, [])
        self.notes.setdefault(name, [])

    def note(self, student: str, text: str, kind: NoteKind = NoteKind.INTAKE) -> None:
        self.student(student)
        self.notes[student].append(Note(kind, text))

    def refuse(self, path: Path, issue: IntakeIssue, why: str, student: str = "") -> None:
        self.unmatched.append(Unmatched(path=self.rel(path), issue=issue, why=why, student=student))
        if student:
            self.note(student, f"ignored {path.name}: {why}")

    def add(self, student: str, match: NameMatch, path: Path, *, late: bool = False) -> None:
        self.student(student)
        self.candidates[student].append(_Candidate(notebook=match.notebook, path=path, number=match.number,
                                                   time=_file_time(path), late_flag=late))
        if match.tolerated:
            self.note(student, _match_note(match, path.name))

    def submissions(self, source: str = "") -> list[Submission]:
        out = []
        for student in sorted(self.candidates):
            if not self.candidates[student] and any(u.student == student for u in self.unmatched):
                continue     # handed in files, none of them usable: listed, not recorded as "not submitted"
            stamp, stamp_note = self.stamps.get(student, (None, ""))
            kept, problems, dup_notes = _resolve(self.candidates[student])
            files = {name: c.path for name, c in kept.items()}
            notes = tuple(self.notes[student]) + tuple(Note(NoteKind.INTAKE, n) for n in dup_notes)
            if stamp_note:
                notes += (Note(NoteKind.TIMESTAMP, stamp_note),)
            when = stamp
            if when is not None:
                notes += (Note(NoteKind.TIMESTAMP, f"submitted {_iso(when)} (nbgrader's timestamp.txt)"),)
            elif kept:
                when = max(c.time for c in kept.values())
                notes += (Note(NoteKind.TIMESTAMP,
                               f"submitted {_iso(when)} ({source or 'newest notebook modification time'})"),)
            notes += tuple(Note(NoteKind.INTAKE, f"{name}: Canvas marks {c.path.name} late")
                           for name, c in sorted(kept.items()) if c.late_flag)
            out.append(Submission(student=student, notebooks=files, problems=problems,
                                  sha256=_digest(list(files.values())), submitted_at=_iso(when) if when else "",
                                  intake_notes=notes))
        return out


def _refusal(name: str, assignment: str, notebooks: tuple[str, ...]) -> tuple[IntakeIssue, str] | None:
    """Why `name` (a folder, or a flat file's stem) cannot be a student id, or None when it can."""
    lower = name.lower()
    if lower in RESERVED_NAMES:
        return IntakeIssue.RESERVED_NAME, f"'{name}' is {RESERVED_NAMES[lower]}, a reserved name, not a student id"
    if lower == assignment.lower():
        return IntakeIssue.RESERVED_NAME, f"'{name}' is the assignment's name, a reserved name, not a student id"
    if lower in {n.lower() for n in notebooks}:
        return IntakeIssue.RESERVED_NAME, (f"'{name}' is a notebook's name, a reserved name, not a student id "
                                           f"(put it in a folder named after its student)")
    if not _STUDENT_ID.match(name):
        return IntakeIssue.BAD_STUDENT_ID, f"'{name}' is not a usable student id (letters, digits and _ . @ + - only)"
    return None


def _notebook_files(folder: Path) -> list[Path]:
    """Every .ipynb under `folder`, hidden folders (.ipynb_checkpoints) and __MACOSX passed over."""
    found = []
    for path in _visible(folder):
        if path.is_dir() and not path.is_symlink():
            found += _notebook_files(path)
        elif _is_notebook(path):
            found.append(path)
    return found


def _student_folder(batch: _Batch, entry: Path, assignment: str) -> None:
    """`entry` is a student's folder: nbgrader's <student>/<assignment>/, or the notebooks directly,
    or inside wrapper folders of their own."""
    student = entry.name
    batch.student(student)
    folder = entry / assignment if (entry / assignment).is_dir() else entry
    inner: list[str] = []
    while True:
        children = _visible(folder)
        folders = [c for c in children if c.is_dir() and not c.is_symlink()]
        if any(_is_notebook(c) for c in children) or len(folders) != 1:
            break
        folder = folders[0]
        inner.append(folder.name)
    if inner:
        batch.note(student, f"notebooks read from {folder.relative_to(entry.parent).as_posix()}/ "
                            f"(wrapper folders stripped)")
    stamp = read_timestamp(folder)
    if stamp == (None, "") and folder != entry:
        stamp = read_timestamp(entry)
    batch.stamps[student] = stamp
    for path in _notebook_files(entry):
        if path.parent != folder:
            where = path.parent.relative_to(entry).as_posix()
            batch.refuse(path, IntakeIssue.OUTSIDE_FOLDER,
                         f"it is in {student}/{where}/, but {student}'s notebooks are read from "
                         f"{folder.relative_to(entry.parent).as_posix()}/", student=student)
            continue
        found = name_matches(path.name, batch.notebooks)
        if len(found) == 1 and (path.is_file() or path.is_symlink()):
            batch.add(student, found[0], path)
        else:
            batch.refuse(path, *_unknown_why(path.name, found, batch.notebooks), student=student)


def _grade_ids(path: Path) -> set[str]:
    """The nbgrader grade_ids of a notebook file's cells (empty when it cannot be read)."""
    try:
        if path.stat().st_size > MAX_SNIFF_BYTES:
            return set()
        data = json.loads(path.read_bytes().decode("utf-8"))
        cells = data.get("cells", []) if isinstance(data, dict) else []
        ids = {((c.get("metadata") or {}).get("nbgrader") or {}).get("grade_id") for c in cells if isinstance(c, dict)}
    except (OSError, UnicodeDecodeError, ValueError, AttributeError):
        return set()
    return {i for i in ids if isinstance(i, str)}


def _flat_file(batch: _Batch, path: Path, assignment: str, cell_ids: Mapping[str, frozenset[str]] | None) -> None:
    """A loose .ipynb in the batch folder: <student>_<notebook>.ipynb or <student>.ipynb."""
    notebooks = batch.notebooks
    stem = path.name[: -len(".ipynb")]
    exact = name_matches(path.name, notebooks)
    if exact:       # a notebook's name (or a copy of it) where a student id goes
        batch.refuse(path, IntakeIssue.RESERVED_NAME,
                     f"named after the notebook {exact[0].notebook}, not after a student: put it in "
                     f"a folder named after its student, or name it <student>_{exact[0].notebook}.ipynb")
        return
    prefixed = name_matches(path.name, notebooks, with_prefix=True)
    if len(prefixed) > 1:
        batch.refuse(path, *_unknown_why(path.name, prefixed, notebooks))
        return
    if prefixed:
        match = prefixed[0]
        student = match.prefix.rstrip(" _-")
        refusal = _refusal(student, assignment, notebooks)
        if refusal:
            batch.refuse(path, *refusal)
            return
        batch.add(student, match, path)
        batch.note(student, f"{match.notebook}: {path.name} is {student}'s {match.notebook}.ipynb "
                            f"(<student>_<notebook>.ipynb)")
        return
    refusal = _refusal(stem, assignment, notebooks)
    if refusal:
        batch.refuse(path, *refusal)
        return
    if len(notebooks) == 1:
        batch.add(stem, NameMatch(notebooks[0]), path)
        return
    ids = _grade_ids(path)
    overlap = {name: len(ids & wanted) for name, wanted in (cell_ids or {}).items()}
    best = max(overlap.values(), default=0)
    winners = [name for name, count in overlap.items() if count == best and best > 0]
    if len(winners) == 1:
        batch.add(stem, NameMatch(winners[0]), path)
        batch.note(stem, f"{winners[0]}: {path.name} identified as {winners[0]}.ipynb by its grade cells "
                         f"({best} of {len(cell_ids[winners[0]])} grade ids)")
        return
    batch.refuse(path, IntakeIssue.NOT_IDENTIFIED,
                 f"the assignment has {len(notebooks)} notebooks and this file's cells do not name one "
                 f"of them; name it {stem}_<notebook>.ipynb or put it in {stem}/<notebook>.ipynb", student=stem)


def _canvas(batch: _Batch, path: Path, roster: Roster | None) -> None:
    """Submissions of a Canvas bulk download, one per rostered user; the rest refused with reasons."""
    if roster is None:
        raise SubmissionError(f"{path} looks like a Canvas bulk download; its users need a roster: pass "
                              f"--roster roster.csv or set `roster` in grader_config.py (columns student_id,lms_id,name)")
    users: dict[str, list[tuple[Path, CanvasFile]]] = {}
    for file in _visible(path):
        parsed = parse_canvas_name(file.name)
        if parsed is None or not file.is_file():
            batch.refuse(file, IntakeIssue.NOT_CANVAS_NAME, "not a Canvas submission file name")
            continue
        users.setdefault(parsed.user_id, []).append((file, parsed))
    by_lms = roster.by_lms_id
    for user, files in sorted(users.items()):
        entry = by_lms.get(user)
        who = f"Canvas user {user} ({files[0][1].lastfirst})"
        if entry is None:
            for file, _ in files:
                batch.refuse(file, IntakeIssue.NOT_IN_ROSTER,
                             f"{who} is not in the roster {roster.path.name}: not graded")
            continue
        if not _STUDENT_ID.match(entry.student_id):
            for file, _ in files:
                batch.refuse(file, IntakeIssue.BAD_STUDENT_ID,
                             f"roster id {entry.student_id!r} of {who}: not a usable student id")
            continue
        student = entry.student_id
        batch.note(student, f"{who} is {student} in the roster")
        for file, parsed in files:
            found = name_matches(parsed.original, batch.notebooks)
            if len(found) == 1:
                batch.add(student, found[0], file, late=parsed.late)
            elif _is_notebook(file):
                batch.refuse(file, *_unknown_why(parsed.original, found, batch.notebooks), student=student)
            else:
                batch.note(student, f"ignored {file.name}: not a notebook of the assignment")


def discover(path: Path, *, assignment: str, notebooks: tuple[str, ...], scratch: Path,
             roster: Roster | None = None, cell_ids: Mapping[str, frozenset[str]] | None = None) -> Discovery:
    """All submissions under `path` (a folder or a .zip), with every file it could not use.

    `scratch` receives unpacked archives; `roster` maps LMS users (Canvas downloads) to students;
    `cell_ids` (notebook -> its grade_ids) tells which notebook a flat ``<student>.ipynb`` is when
    the assignment has several. Raises SubmissionError only when nothing can be graded at all."""
    path = Path(path)
    if not path.exists():
        raise SubmissionError(f"{path} does not exist")
    if path.is_file() and path.suffix.lower() == ".zip":
        root = safe_extract(path, scratch)
    elif path.is_dir():
        root = path
    else:
        raise SubmissionError(f"{path} is neither a folder nor a .zip of submissions")
    top = root
    root, unwrapped = unwrap(root, assignment)
    shown = "/".join(unwrapped)
    batch = _Batch(root, shown, tuple(notebooks))
    if _is_canvas_download(root):
        _canvas(batch, root, roster)
        subs = batch.submissions(source="Canvas archive's file time")
    else:
        for entry in _visible(root):
            if entry.is_dir() and not entry.is_symlink():
                refusal = _refusal(entry.name, assignment, notebooks)
                if refusal is None:
                    _student_folder(batch, entry, assignment)
                    continue
                hint = (f"; if it holds the submissions, grade {(path / entry.relative_to(top)).as_posix()}"
                        if path.is_dir() and entry.name.lower() in (*_UNWRAP, assignment.lower()) else "")
                if entry.name.lower() == assignment.lower() and _holds_notebooks(entry):
                    hint = (f"; {path} looks like one student's folder (<student>/{assignment}/): grade the "
                            f"folder that holds the student folders")
                files = _notebook_files(entry)
                for file in files or [entry]:
                    batch.refuse(file, refusal[0], f"{refusal[1]}: not graded{hint}")
            elif _is_notebook(entry):
                _flat_file(batch, entry, assignment, cell_ids)
        subs = batch.submissions()
    if not subs:
        reasons = "; ".join(str(u) for u in batch.unmatched[:3])
        raise SubmissionError(f"no submissions found under {path}" + (f": {reasons}" if reasons else ""))
    return Discovery(submissions=tuple(subs), unmatched=tuple(sorted(batch.unmatched, key=lambda u: u.path)),
                     unwrapped=unwrapped)


def copy_release_files(release_dir: Path, workdir: Path) -> None:
    """Give the workspace the non-notebook files that students received with the release."""
    for item in release_dir.iterdir():
        if item.suffix == ".ipynb" or item.name.startswith("."):
            continue
        target = workdir / item.name
        if item.is_dir():
            shutil.copytree(item, target, symlinks=False)
        else:
            shutil.copy2(item, target)
