"""Find the submissions under a path: nbgrader's layout, a folder of notebooks, or a zip of either.

Accepted layouts (the assignment's notebook names are the stems of its source notebooks):
- nbgrader: ``PATH/<student>/<assignment>/<notebook>.ipynb`` (PATH is usually ``submitted/``);
- per-student folders: ``PATH/<student>/<notebook>.ipynb``;
- flat: ``PATH/<student>.ipynb``, when the assignment has exactly one notebook;
- a ``.zip`` holding any of these. Archives are unpacked with every member checked:
  absolute paths, ``..`` components and symbolic links are refused.
"""
from __future__ import annotations

import hashlib
import re
import shutil
import stat
import zipfile
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath
from typing import Mapping

from .errors import SubmissionError

_STUDENT_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.@+-]{0,127}$")
MAX_ARCHIVE_BYTES = 500 * 1024 * 1024


@dataclass(frozen=True)
class Submission:
    """One student's files for the assignment, keyed by notebook name."""

    student: str
    notebooks: Mapping[str, Path]
    sha256: str
    problems: Mapping[str, str] = field(default_factory=dict)   # notebook -> why it cannot be read


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
    except zipfile.BadZipFile as exc:
        raise SubmissionError(f"{archive.name} is not a valid zip file") from exc
    children = [p for p in dest.iterdir() if p.name not in ("__MACOSX",)]
    # A zip that wraps everything in one top folder (e.g. "submitted/") is unwrapped.
    if len(children) == 1 and children[0].is_dir() and not _looks_like_student_folder(children[0]):
        return children[0]
    return dest


def _looks_like_student_folder(folder: Path) -> bool:
    return any(p.suffix == ".ipynb" for p in folder.iterdir())


def _notebook_files(folder: Path, names: tuple[str, ...]) -> tuple[dict[str, Path], dict[str, str]]:
    found, problems = {}, {}
    for name in names:
        path = folder / f"{name}.ipynb"
        if path.is_symlink():
            problems[name] = "the submitted notebook is a symbolic link"
        elif path.is_file():
            found[name] = path
    return found, problems


def discover(path: Path, *, assignment: str, notebooks: tuple[str, ...],
             scratch: Path) -> tuple[list[Submission], list[str]]:
    """All submissions under `path` sorted by student id, and the entries skipped (with reasons).

    `scratch` receives unpacked archives."""
    path = Path(path)
    if not path.exists():
        raise SubmissionError(f"{path} does not exist")
    if path.is_file() and path.suffix == ".zip":
        path = safe_extract(path, scratch)
    if not path.is_dir():
        raise SubmissionError(f"{path} is neither a folder nor a .zip of submissions")

    submissions, skipped = [], []
    for entry in sorted(path.iterdir()):
        if entry.name.startswith("."):
            continue
        if entry.is_dir() and not entry.is_symlink():
            folder = entry / assignment if (entry / assignment).is_dir() else entry
            files, problems = _notebook_files(folder, notebooks)
            student = entry.name
        elif entry.suffix == ".ipynb":
            if len(notebooks) != 1:
                raise SubmissionError(
                    f"{path} holds flat <student>.ipynb files, but the assignment has {len(notebooks)} notebooks; "
                    f"use the layout <student>/<notebook>.ipynb")
            student = entry.stem
            files, problems = ({}, {notebooks[0]: "the submitted notebook is a symbolic link"}) \
                if entry.is_symlink() else ({notebooks[0]: entry}, {})
        else:
            continue
        if not _STUDENT_ID.match(student):
            skipped.append(f"{entry.name}: not a usable student id (letters, digits and _ . @ + - only)")
            continue
        submissions.append(Submission(student=student, notebooks=files, problems=problems,
                                      sha256=_digest(list(files.values()))))
    if not submissions:
        raise SubmissionError(f"no submissions found under {path}")
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
