"""Find the submissions under a path: nbgrader's layout, a folder of notebooks, or a zip of either.

Accepted layouts (the assignment's notebook names are the stems of its source notebooks):
- nbgrader: ``PATH/<student>/<assignment>/<notebook>.ipynb`` (PATH is usually ``submitted/``);
- per-student folders: ``PATH/<student>/<notebook>.ipynb``;
- flat: ``PATH/<student>.ipynb``, when the assignment has exactly one notebook;
- Canvas's bulk download: loose ``<lastfirst>[_late]_<user id>_<submission id>_<name>.ipynb``
  files, mapped to student ids through a roster (autograder/lms.py); a user missing from the
  roster is skipped with the reason, and the batch goes on;
- a ``.zip`` holding any of these. Archives are unpacked with every member checked:
  absolute paths, ``..`` components and symbolic links are refused. Each file keeps the
  modification time the archive records for it (zip times have no zone: taken as UTC).

A notebook may come as several files (``name.ipynb``, ``name (1).ipynb``, Canvas's ``name-2.ipynb``,
other letter case): the latest by file time is kept (ties: the highest copy number) and the
submission's ``intake_notes`` say which was kept and which were ignored.

The submission time is, in this order: nbgrader's ``timestamp.txt`` in the student's folder
(written by ``nbgrader submit``, kept by ``nbgrader collect``); for a Canvas download, the time the
archive records for the kept files (Canvas's names carry only the late flag, which is noted);
else the newest notebook's modification time. ``intake_notes`` records which one was used.
"""
from __future__ import annotations

import datetime as dt
import hashlib
import os
import re
import shutil
import stat
import zipfile
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath
from typing import Mapping

from autograder.errors import SubmissionError
from autograder.intake.canvas import (
    CanvasFile,
    Roster,
    match_notebook,
    parse_canvas_name,
)

_STUDENT_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.@+-]{0,127}$")
MAX_ARCHIVE_BYTES = 500 * 1024 * 1024


@dataclass(frozen=True)
class Submission:
    """One student's files for the assignment, keyed by notebook name."""

    student: str
    notebooks: Mapping[str, Path]
    sha256: str
    problems: Mapping[str, str] = field(default_factory=dict)   # notebook -> why it cannot be read
    submitted_at: str = ""                 # ISO 8601 UTC ("" when unknown)
    intake_notes: tuple[str, ...] = ()     # where the time came from, duplicates resolved, LMS flags


def _digest(paths: list[Path]) -> str:
    h = hashlib.sha256()
    for path in sorted(paths):
        h.update(path.name.encode() + b"\0")
        h.update(path.read_bytes() if path.is_file() and not path.is_symlink() else b"<not a file>")
    return h.hexdigest()


def safe_extract(archive: Path, dest: Path) -> Path:
    """Unpack a zip into `dest`, refusing zip-slip paths, symlinks and oversized contents."""
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
    children = [p for p in dest.iterdir() if p.name not in ("__MACOSX",)]
    # A zip that wraps everything in one top folder (e.g. "submitted/") is unwrapped.
    if len(children) == 1 and children[0].is_dir() and not _looks_like_student_folder(children[0]):
        return children[0]
    return dest


def _looks_like_student_folder(folder: Path) -> bool:
    return any(p.suffix == ".ipynb" for p in folder.iterdir())


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


def _folder_candidates(folder: Path, names: tuple[str, ...]) -> list[_Candidate]:
    found = []
    for path in sorted(folder.iterdir()):
        match = match_notebook(path.name, names)
        if match and (path.is_file() or path.is_symlink()):
            found.append(_Candidate(notebook=match[0], path=path, number=match[1], time=_file_time(path)))
    return found


def _submission(student: str, candidates: list[_Candidate], *, stamp: dt.datetime | None = None,
                source: str = "", notes: tuple[str, ...] = ()) -> Submission:
    """A Submission from its candidate files: duplicates resolved, time and its source noted."""
    kept, problems, dup_notes = _resolve(candidates)
    files = {name: c.path for name, c in kept.items()}
    notes = notes + tuple(dup_notes)
    when = stamp
    if when is not None:
        notes += (f"submitted {_iso(when)} (nbgrader's timestamp.txt)",)
    elif kept:
        when = max(c.time for c in kept.values())
        notes += (f"submitted {_iso(when)} ({source or 'newest notebook modification time'})",)
    notes += tuple(f"{name}: Canvas marks {c.path.name} late" for name, c in sorted(kept.items()) if c.late_flag)
    return Submission(student=student, notebooks=files, problems=problems, sha256=_digest(list(files.values())),
                      submitted_at=_iso(when) if when else "", intake_notes=notes)


def _is_canvas_download(path: Path) -> bool:
    loose = [p for p in path.iterdir() if p.is_file() and not p.name.startswith(".")]
    return bool(loose) and 2 * sum(parse_canvas_name(p.name) is not None for p in loose) > len(loose)


def _canvas(path: Path, notebooks: tuple[str, ...], roster: Roster | None) -> tuple[list[Submission], list[str]]:
    """Submissions of a Canvas bulk download, one per rostered user; the rest skipped with reasons."""
    if roster is None:
        raise SubmissionError(f"{path} looks like a Canvas bulk download; its users need a roster: pass "
                              f"--roster roster.csv or set `roster` in grader_config.py (columns student_id,lms_id,name)")
    users: dict[str, list[tuple[Path, CanvasFile]]] = {}
    skipped = []
    for file in sorted(p for p in path.iterdir() if not p.name.startswith(".")):
        parsed = parse_canvas_name(file.name)
        if parsed is None or not file.is_file():
            skipped.append(f"{file.name}: not a Canvas submission file name")
            continue
        users.setdefault(parsed.user_id, []).append((file, parsed))
    by_lms = roster.by_lms_id
    submissions = []
    for user, files in sorted(users.items()):
        entry = by_lms.get(user)
        if entry is None:
            names = ", ".join(f.name for f, _ in files)
            skipped.append(f"Canvas user {user} ({files[0][1].lastfirst}) is not in the roster "
                           f"{roster.path.name}: not graded ({names})")
            continue
        if not _STUDENT_ID.match(entry.student_id):
            skipped.append(f"roster id {entry.student_id!r} of Canvas user {user}: not a usable student id")
            continue
        candidates, notes = [], [f"Canvas user {user} ({files[0][1].lastfirst}) is {entry.student_id} in the roster"]
        for file, parsed in files:
            match = match_notebook(parsed.original, notebooks)
            if match is None:
                notes.append(f"ignored {file.name}: not a notebook of the assignment")
                continue
            candidates.append(_Candidate(notebook=match[0], path=file, number=match[1], time=_file_time(file),
                                         late_flag=parsed.late))
        submissions.append(_submission(entry.student_id, candidates, notes=tuple(notes),
                                       source="Canvas archive's file time"))
    return submissions, skipped


def discover(path: Path, *, assignment: str, notebooks: tuple[str, ...],
             scratch: Path, roster: Roster | None = None) -> tuple[list[Submission], list[str]]:
    """All submissions under `path` sorted by student id, and the entries skipped (with reasons).

    `scratch` receives unpacked archives; `roster` maps LMS users (Canvas downloads) to students."""
    path = Path(path)
    if not path.exists():
        raise SubmissionError(f"{path} does not exist")
    if path.is_file() and path.suffix == ".zip":
        path = safe_extract(path, scratch)
    if not path.is_dir():
        raise SubmissionError(f"{path} is neither a folder nor a .zip of submissions")

    if _is_canvas_download(path):
        submissions, skipped = _canvas(path, notebooks, roster)
    else:
        submissions, skipped = [], []
        for entry in sorted(path.iterdir()):
            if entry.name.startswith("."):
                continue
            if entry.is_dir() and not entry.is_symlink():
                folder = entry / assignment if (entry / assignment).is_dir() else entry
                stamp, note = read_timestamp(folder)
                student = entry.name
                candidates = _folder_candidates(folder, notebooks)
            elif entry.suffix == ".ipynb":
                if len(notebooks) != 1:
                    raise SubmissionError(
                        f"{path} holds flat <student>.ipynb files, but the assignment has {len(notebooks)} "
                        f"notebooks; use the layout <student>/<notebook>.ipynb")
                student, stamp, note = entry.stem, None, ""
                candidates = [_Candidate(notebook=notebooks[0], path=entry, number=0, time=_file_time(entry))]
            else:
                continue
            if not _STUDENT_ID.match(student):
                skipped.append(f"{entry.name}: not a usable student id (letters, digits and _ . @ + - only)")
                continue
            submissions.append(_submission(student, candidates, stamp=stamp, notes=(note,) if note else ()))
    if not submissions:
        raise SubmissionError(f"no submissions found under {path}"
                              + (": " + "; ".join(skipped[:3]) if skipped else ""))
    submissions.sort(key=lambda s: s.student)
    return submissions, skipped


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
