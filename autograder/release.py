"""source/ -> release/ with nbgrader's generate_assignment, deterministic and checkable.

nbgrader runs in a scratch course folder with a scratch gradebook: it sees exactly the
source notebooks (with the config's point overrides applied), never an `nbgrader_config.py`,
and never writes the course gradebook (only `autograder.gradebook` does that).
"""
from __future__ import annotations

import filecmp
import logging
import shutil
import tempfile
from pathlib import Path

import nbformat

from .config import GraderConfig
from .errors import ReleaseError
from .notebooks import apply_points, read_notebook


def _generate(config: GraderConfig, scratch: Path) -> Path:
    """Run generate_assignment on a copy of source/<assignment>; return the release folder."""
    from nbgrader.converters import GenerateAssignment
    from nbgrader.coursedir import CourseDirectory
    from traitlets.config import Config

    from .gradebook import prepare_nbgrader

    prepare_nbgrader()

    src = config.course_root / "source" / config.assignment
    if not src.is_dir():
        raise ReleaseError(f"No source folder {src}.")
    staged = scratch / "source" / config.assignment
    shutil.copytree(src, staged, ignore=shutil.ignore_patterns(".ipynb_checkpoints", "__pycache__"))
    for path in sorted(staged.glob("*.ipynb")):
        nbformat.write(apply_points(read_notebook(path), config.points), str(path))

    cfg = Config()
    cfg.CourseDirectory.root = str(scratch)
    cfg.CourseDirectory.course_id = config.course_id
    cfg.CourseDirectory.assignment_id = config.assignment
    cfg.CourseDirectory.db_url = f"sqlite:///{scratch / 'scratch_gradebook.db'}"
    logging.getLogger("traitlets").setLevel(logging.ERROR)
    converter = GenerateAssignment(coursedir=CourseDirectory(config=cfg), config=cfg)
    converter.log.setLevel(logging.ERROR)
    try:
        converter.start()
    except Exception as exc:
        raise ReleaseError(f"nbgrader generate_assignment failed on {src}: {exc}") from exc
    out = scratch / "release" / config.assignment
    if not out.is_dir():
        raise ReleaseError(f"nbgrader produced no release for {config.assignment}.")
    return out


def _tree(folder: Path) -> set[str]:
    return {str(p.relative_to(folder)) for p in folder.rglob("*") if p.is_file()}


def stale_files(expected: Path, actual: Path) -> list[str]:
    """Files that differ between a fresh release and the committed one (missing, extra or changed)."""
    want, have = _tree(expected), (_tree(actual) if actual.is_dir() else set())
    changed = [f for f in sorted(want & have) if not filecmp.cmp(expected / f, actual / f, shallow=False)]
    return sorted(want - have) + sorted(have - want) + changed


def release(*, config: GraderConfig, check: bool = False) -> list[str]:
    """Generate release/<assignment>. With check=True, write nothing and return the stale files."""
    target = config.course_root / "release" / config.assignment
    with tempfile.TemporaryDirectory(prefix="autograder-release-") as tmp:
        fresh = _generate(config, Path(tmp))
        stale = stale_files(fresh, target)
        if check or not stale:
            return stale
        staging = target.parent / f".{config.assignment}.new"
        shutil.rmtree(staging, ignore_errors=True)
        shutil.copytree(fresh, staging)
        if target.exists():
            shutil.rmtree(target)
        staging.rename(target)
        return stale
