"""source/ -> release/ with nbgrader's generate_assignment, deterministic and checkable.

nbgrader runs in a scratch course folder with a scratch gradebook: it sees exactly the
source notebooks (template cells re-rendered from grader_config.py, the config's point
overrides applied), never an `nbgrader_config.py`, and never writes the course gradebook
(only `autograder.gradebook` does that). The release also gets `selfcheck.py`, copied from
this package, which the notebooks' self-check cells run.

The source notebooks keep the rendered header and footer cells (autograder/templating.py):
a release writes the fresh rendering back into source/ when it differs, and a check reports
a stale source as well as a stale release.

Every notebook keeps the nbformat version it was written in (4.0-4.5), as nbgrader's own
generate_assignment does: cell ids exist only from nbformat 4.5 on, so in an older notebook the
rendered header/footer cells carry no id (they are found by their metadata, ``grade_id`` and
``autograder.template``, never by id), and ids that an earlier tool wrote into such a notebook
are dropped when it is released. Nothing is upgraded behind the instructor's back.

`grade` refuses a stale release (`check_release`): grading would run tests that students never
received. The fresh release that the check compares with is cached under the data cache,
keyed by a digest of everything that goes into it, so an unchanged course costs a comparison.
"""
from __future__ import annotations

import contextlib
import filecmp
import hashlib
import json
import logging
import os
import shutil
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Iterator

from autograder.config import GraderConfig
from autograder.course.notebooks import (
    apply_points,
    read_notebook,
    source_notebook_paths,
)
from autograder.errors import ReleaseError

if TYPE_CHECKING:
    from nbformat import NotebookNode

# nbformat, nbgrader and the templates (autograder/course/templating.py) are imported where a release is
# made or checked in full: a check that finds the course as it was last found current (`_current_marker`)
# needs none of them, so an unchanged re-grade starts without them.

SELFCHECK = Path(__file__).with_name("selfcheck.py")
CELL_IDS_FROM = (4, 5)      # the first nbformat version whose cells have an `id`


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


def has_cell_ids(nb: NotebookNode) -> bool:
    """Whether the notebook's own format (nbformat.nbformat_minor) allows cell ids."""
    return (nb.get("nbformat", 4), nb.get("nbformat_minor", 0)) >= CELL_IDS_FROM


def keep_format(nb: NotebookNode) -> NotebookNode:
    """`nb` valid in its own nbformat version: below 4.5, every cell's `id` is removed (in place)."""
    if not has_cell_ids(nb):
        for cell in nb.cells:
            cell.pop("id", None)
    return nb


def _parse(path: Path) -> NotebookNode:
    """The notebook in `path` as written: no conversion, no validation (and no log line about it)."""
    import nbformat

    return nbformat.reader.reads(path.read_text(encoding="utf-8"))


def read_source(path: Path) -> NotebookNode:
    """A source notebook in its own format. Ids in a notebook older than 4.5 (which its schema
    forbids; an earlier release wrote them) are dropped, so the notebook validates again."""
    import nbformat

    nb = _parse(path)
    if nb.get("nbformat") == 4 and not has_cell_ids(nb) and any("id" in c for c in nb.cells):
        nbformat.validate(keep_format(nb))
        return nb
    return read_notebook(path)


def rendered_sources(config: GraderConfig) -> dict[Path, NotebookNode]:
    """Each source notebook, by path, with its template cells rendered from the config, in the
    notebook's own nbformat version (no cell ids below 4.5)."""
    from autograder.course.templating import render_assignment

    paths = {p.stem: p for p in source_notebook_paths(config)}
    rendered = render_assignment({name: read_source(p) for name, p in paths.items()}, config)
    return {paths[name]: keep_format(nb) for name, nb in rendered.items()}


def _stale_sources(rendered: dict[Path, NotebookNode]) -> list[Path]:
    import nbformat

    return [p for p, nb in rendered.items() if nbformat.writes(_parse(p)) != nbformat.writes(nb)]


@contextlib.contextmanager
def _strict_validation_kept() -> Iterator[None]:
    """nbconvert (inside generate_assignment) validates with ``relax_add_props=True``, and nbformat
    then keeps that relaxed schema as *the* validator of the notebook's version for the rest of the
    process (nbformat 5.10 `get_validator` caches it). Later reads in the same process (grading
    after a release, `grade` after its release check) would accept cells with unknown keys, ids in
    4.0-4.4 notebooks among them, while a fresh process refuses them. The cache is restored after."""
    from nbformat import validator

    saved = dict(validator.validators)
    try:
        yield
    finally:
        validator.validators.clear()
        validator.validators.update(saved)


def _generate(config: GraderConfig, scratch: Path, rendered: dict[Path, NotebookNode]) -> Path:
    """Run generate_assignment on a copy of source/<assignment>; return the release folder."""
    import nbformat
    from nbgrader.converters import GenerateAssignment
    from nbgrader.coursedir import CourseDirectory
    from traitlets.config import Config

    from autograder.course.templating import write_requirements
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

    with captured(converter.log) as log, _strict_validation_kept():
        try:
            converter.start()
        except Exception as exc:
            raise ReleaseError(f"nbgrader generate_assignment failed on {src}: {log.reason(exc)}") from exc
    out = scratch / "release" / config.assignment
    if not out.is_dir():
        raise ReleaseError(f"nbgrader produced no release for {config.assignment}.")
    shutil.copyfile(SELFCHECK, out / SELFCHECK.name)
    write_requirements(out, config.assignment)
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
    import nbformat

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


_CACHE_KEEP = 8      # fresh releases kept in the cache (the newest by use)


def _identity(config: GraderConfig) -> bytes:
    """The versions of this package, nbgrader and nbformat, and the course and assignment ids: part of
    every digest of what a release depends on."""
    from importlib.metadata import version

    from autograder import __version__

    return json.dumps([__version__, version("nbgrader"), version("nbformat"), config.course_id,
                       config.assignment]).encode()


def _release_inputs(config: GraderConfig, rendered: dict[Path, NotebookNode]) -> str:
    """sha256 over everything generate_assignment's output depends on: the staged source folder
    (rendered notebooks with point overrides, other files), selfcheck.py, the course and
    assignment ids and the versions of nbgrader, nbformat and this package."""
    import nbformat

    from autograder.course.templating import student_requirements

    src = config.course_root / "source" / config.assignment
    digest = hashlib.sha256(_identity(config))
    staged = {p.name: nbformat.writes(apply_points(nb, config.points)).encode() for p, nb in rendered.items()}
    for path in sorted(src.rglob("*")):
        rel = path.relative_to(src)
        if not path.is_file() or {".ipynb_checkpoints", "__pycache__"} & set(rel.parts):
            continue
        data = staged.pop(str(rel), None) if len(rel.parts) == 1 else None
        digest.update(str(rel).encode() + b"\0" + (data if data is not None else path.read_bytes()) + b"\0")
    for name, data in sorted(staged.items()):
        digest.update(name.encode() + b"\0" + data + b"\0")
    digest.update(SELFCHECK.read_bytes())
    digest.update(student_requirements(config.assignment).encode())
    return digest.hexdigest()


def _fresh_release(config: GraderConfig, rendered: dict[Path, NotebookNode], scratch: Path) -> Path:
    """The release generate_assignment makes from `rendered`: from the cache when the same inputs
    were released before, else generated in `scratch` (and cached when the cache is writable)."""
    root = config.data.cache_path / "releases"
    entry = root / _release_inputs(config, rendered)
    if (entry / ".complete").is_file():
        os.utime(entry)
        return entry / config.assignment
    fresh = _generate(config, scratch, rendered)
    try:
        root.mkdir(parents=True, exist_ok=True)
        building = Path(tempfile.mkdtemp(prefix=".building-", dir=root))
        shutil.copytree(fresh, building / config.assignment)
        (building / ".complete").write_text("")
        try:
            building.rename(entry)
        except OSError:          # another process cached the same inputs first
            shutil.rmtree(building, ignore_errors=True)
        old = sorted((p for p in root.iterdir() if not p.name.startswith(".")), key=lambda p: p.stat().st_mtime)
        for stale_entry in old[:-_CACHE_KEEP]:
            shutil.rmtree(stale_entry, ignore_errors=True)
    except OSError:
        pass                     # no cache: the fresh release in `scratch` is used as it is
    return fresh


def check_release(*, config: GraderConfig) -> ReleaseResult:
    """What `release(check=True)` reports (stale source notebooks, stale release files), with the
    fresh release taken from the cache when its inputs are unchanged. Writes nothing to the course.

    A course found current is remembered under the data cache by `_file_state` (every input file's
    size and modification time, the config's values and the versions): the next check of the same
    state costs a few `stat` calls. Any edit, even one that changes no byte of the release, is
    checked in full again; only a "current" verdict is ever remembered."""
    marker = _current_marker(config)
    if marker is not None and marker.is_file():
        return ReleaseResult(release=(), source=())
    target = config.course_root / "release" / config.assignment
    rendered = rendered_sources(config)
    sources = _stale_sources(rendered)
    with tempfile.TemporaryDirectory(prefix="autograder-release-") as tmp:
        fresh = _fresh_release(config, rendered, Path(tmp))
        stale = stale_files(fresh, target)
    result = ReleaseResult(release=tuple(stale), source=tuple(str(p.relative_to(config.course_root)) for p in sources))
    if marker is not None and not result:
        with contextlib.suppress(OSError):
            marker.parent.mkdir(parents=True, exist_ok=True)
            marker.touch()
    return result


def _file_state(config: GraderConfig) -> str:
    """sha256 over what a release check depends on, read with `stat` only: (path, size, mtime) of every
    file of source/<assignment>, release/<assignment>, grader_config.py and this package's course/
    folder (templates, selfcheck.py), the config's values, what the student requirements are made of
    (`_requirements_inputs`) and the versions."""
    digest = hashlib.sha256(_identity(config) + json.dumps([config.grade_digest, config.presentation_digest,
                                                            _requirements_inputs()]).encode())
    folders = (config.course_root / "source" / config.assignment, config.course_root / "release" / config.assignment,
               Path(__file__).parent)
    files = [config.course_root / "grader_config.py"]
    for folder in folders:
        files += sorted(p for p in folder.rglob("*") if "__pycache__" not in p.parts)
    for path in files:
        try:
            st = path.stat()
        except OSError:
            digest.update(f"{path}\0missing\0".encode())
            continue
        digest.update(f"{path}\0{st.st_size}\0{st.st_mtime_ns}\0{path.is_dir()}\0".encode())
    return digest.hexdigest()


_DISTRIBUTION = "rnn-autograder"     # templating.DISTRIBUTION (a test keeps the two equal)


def _requirements_inputs() -> list:
    """What `student_requirements` is made of besides templating.py (whose file state `_file_state` has):
    the installed package's Requires-Python and requirements, read from its metadata."""
    from importlib.metadata import metadata, requires

    return [metadata(_DISTRIBUTION)["Requires-Python"], requires(_DISTRIBUTION) or []]


def _current_marker(config: GraderConfig) -> Path | None:
    try:
        return config.data.cache_path / "release-checks" / _file_state(config)
    except (OSError, ImportError):    # no cache, or no installed metadata (PackageNotFoundError)
        return None
