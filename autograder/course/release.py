"""source/ -> release/ with nbgrader's generate_assignment, deterministic and checkable.

nbgrader runs in a scratch course folder with a scratch gradebook: it sees exactly the
source notebooks (template cells re-rendered from grader_config.py, the config's point
overrides applied), never an `nbgrader_config.py`, and never writes the course gradebook
(only `autograder.gradebook` does that). The release also gets `selfcheck.py`, copied from
this package, which the notebooks' self-check cells run.

The source notebooks keep the rendered header and footer cells (autograder/templating.py):
a release writes the fresh rendering back into source/ when it differs, and a check reports
a stale source as well as a stale release.
"""
from __future__ import annotations

import filecmp
import logging
import shutil
import tempfile
from dataclasses import dataclass
from pathlib import Path

import nbformat
from nbformat import NotebookNode

from autograder.config import GraderConfig
from autograder.course.notebooks import (
    apply_points,
    read_notebook,
    source_notebook_paths,
)
from autograder.course.templating import render_assignment
from autograder.errors import ReleaseError

SELFCHECK = Path(__file__).with_name("selfcheck.py")


@dataclass(frozen=True)
class ReleaseResult:
    """What differed from a fresh release: release files, and source notebooks whose template
    cells no longer match grader_config.py. Its length is the number of differing files."""

    release: tuple[str, ...]
    source: tuple[str, ...]

    @property
    def changed(self) -> tuple[str, ...]:
        return self.source + self.release

    def __len__(self) -> int:
        return len(self.changed)


def rendered_sources(config: GraderConfig) -> dict[Path, NotebookNode]:
    """Each source notebook, by path, with its template cells rendered from the config."""
    paths = {p.stem: p for p in source_notebook_paths(config)}
    rendered = render_assignment({name: read_notebook(p) for name, p in paths.items()}, config)
    return {paths[name]: nb for name, nb in rendered.items()}


def _stale_sources(rendered: dict[Path, NotebookNode]) -> list[Path]:
    return [p for p, nb in rendered.items() if nbformat.writes(read_notebook(p)) != nbformat.writes(nb)]


def _generate(config: GraderConfig, scratch: Path, rendered: dict[Path, NotebookNode]) -> Path:
    """Run generate_assignment on a copy of source/<assignment>; return the release folder."""
    from nbgrader.converters import GenerateAssignment
    from nbgrader.coursedir import CourseDirectory
    from traitlets.config import Config

    from autograder.nbgrader_env import prepare_nbgrader

    prepare_nbgrader()

    src = config.course_root / "source" / config.assignment
    if not src.is_dir():
        raise ReleaseError(f"No source folder {src}.")
    staged = scratch / "source" / config.assignment
    shutil.copytree(src, staged, ignore=shutil.ignore_patterns(".ipynb_checkpoints", "__pycache__"))
    for path, nb in rendered.items():
        nbformat.write(apply_points(nb, config.points), str(staged / path.name))

    cfg = Config()
    cfg.CourseDirectory.root = str(scratch)
    cfg.CourseDirectory.course_id = config.course_id
    cfg.CourseDirectory.assignment_id = config.assignment
    cfg.CourseDirectory.db_url = f"sqlite:///{scratch / 'scratch_gradebook.db'}"
    logging.getLogger("traitlets").setLevel(logging.ERROR)
    converter = GenerateAssignment(coursedir=CourseDirectory(config=cfg), config=cfg)
    converter.log.setLevel(logging.ERROR)
    from autograder.nbgrader_log import captured

    with captured(converter.log) as log:
        try:
            converter.start()
        except Exception as exc:
            raise ReleaseError(f"nbgrader generate_assignment failed on {src}: {log.reason(exc)}") from exc
    out = scratch / "release" / config.assignment
    if not out.is_dir():
        raise ReleaseError(f"nbgrader produced no release for {config.assignment}.")
    shutil.copyfile(SELFCHECK, out / SELFCHECK.name)
    return out


def _tree(folder: Path) -> set[str]:
    return {str(p.relative_to(folder)) for p in folder.rglob("*") if p.is_file()}


def stale_files(expected: Path, actual: Path) -> list[str]:
    """Files that differ between a fresh release and the committed one (missing, extra or changed)."""
    want, have = _tree(expected), (_tree(actual) if actual.is_dir() else set())
    changed = [f for f in sorted(want & have) if not filecmp.cmp(expected / f, actual / f, shallow=False)]
    return sorted(want - have) + sorted(have - want) + changed


def release(*, config: GraderConfig, check: bool = False) -> ReleaseResult:
    """Render the template cells into source/ and generate release/<assignment> from it.
    With check=True, write nothing and return what is stale."""
    target = config.course_root / "release" / config.assignment
    rendered = rendered_sources(config)
    sources = _stale_sources(rendered)
    with tempfile.TemporaryDirectory(prefix="autograder-release-") as tmp:
        fresh = _generate(config, Path(tmp), rendered)
        stale = stale_files(fresh, target)
        result = ReleaseResult(release=tuple(stale), source=tuple(
            str(p.relative_to(config.course_root)) for p in sources))
        if check:
            return result
        for path in sources:
            nbformat.write(rendered[path], str(path))
        if not stale:
            return result
        staging = target.parent / f".{config.assignment}.new"
        shutil.rmtree(staging, ignore_errors=True)
        shutil.copytree(fresh, staging)
        if target.exists():
            shutil.rmtree(target)
        staging.rename(target)
        return result
