"""Read the instructor's source notebooks: which cells are solutions, tests and probes.

nbgrader's cell metadata (schema 3) marks cells:
``{"nbgrader": {"grade": bool, "solution": bool, "locked": bool, "grade_id": str, "points": float}}``.
The autograder adds keys of its own: a grade cell that the grader scores outside the kernel
has ``{"autograder": {"probe": "<function name>"}}`` (or ``{"model": ..., "check": ...}``), and a
header/footer cell rendered by `autograder release` has ``{"autograder": {"template": "<name>"}}``.
"""
from __future__ import annotations

import copy
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Mapping

import nbformat
from nbformat import NotebookNode

from autograder.config import GraderConfig, check_points_keys
from autograder.errors import ReleaseError

NB_VERSION = 4
_NOTEBOOK_PREFIX = re.compile(r"^\d+_")


def nbgrader_meta(cell: NotebookNode) -> dict:
    meta = cell.get("metadata", {}).get("nbgrader", {})
    return meta if isinstance(meta, dict) else {}


def grade_id(cell: NotebookNode) -> str | None:
    gid = nbgrader_meta(cell).get("grade_id")
    return gid if isinstance(gid, str) and gid else None


def is_grade(cell: NotebookNode) -> bool:
    return bool(nbgrader_meta(cell).get("grade"))


def is_solution(cell: NotebookNode) -> bool:
    return bool(nbgrader_meta(cell).get("solution"))


def _autograder_meta(cell: NotebookNode) -> dict:
    meta = cell.get("metadata", {}).get("autograder", {})
    return meta if isinstance(meta, dict) else {}


def probe_name(cell: NotebookNode) -> str | None:
    name = _autograder_meta(cell).get("probe")
    return name if isinstance(name, str) and name else None


def template_name(cell: NotebookNode) -> str | None:
    """The template a header/footer cell was rendered from (autograder/templating.py), or None."""
    name = _autograder_meta(cell).get("template")
    return name if isinstance(name, str) and name else None


MODEL_CHECKS = ("metric", "architecture")


def model_check(cell: NotebookNode) -> tuple[str, str] | None:
    """(model name, "metric" | "architecture") for a grade cell the grader scores from a saved model."""
    meta = _autograder_meta(cell)
    name, check = meta.get("model"), meta.get("check")
    if isinstance(name, str) and name and check in MODEL_CHECKS:
        return name, check
    return None


@dataclass(frozen=True)
class TestSpec:
    """One grade cell of a source notebook."""

    grade_id: str
    points: float
    hidden: bool                 # the cell has a hidden-tests region
    probe: str | None = None     # scored by the grader: the student function it runs
    model: tuple[str, str] | None = None   # scored by the grader: (saved model name, check)


@dataclass(frozen=True)
class NotebookSpec:
    """One notebook of the assignment: its name (file stem) and its graded parts."""

    name: str
    path: Path
    tests: tuple[TestSpec, ...]
    solutions: tuple[str, ...]

    @property
    def reference_module(self) -> str:
        """`01_rnn_basics` -> `rnn_basics`: the module in solutions/ with the reference code."""
        return _NOTEBOOK_PREFIX.sub("", self.name)

    @property
    def max_points(self) -> float:
        return sum(t.points for t in self.tests)

    @property
    def probes(self) -> tuple[str, ...]:
        return tuple(t.probe for t in self.tests if t.probe)

    @property
    def models(self) -> tuple[str, ...]:
        return tuple(dict.fromkeys(t.model[0] for t in self.tests if t.model))


@dataclass(frozen=True)
class AssignmentSpec:
    name: str
    source_dir: Path
    notebooks: tuple[NotebookSpec, ...]

    def notebook(self, name: str) -> NotebookSpec:
        for nb in self.notebooks:
            if nb.name == name:
                return nb
        raise KeyError(name)

    @property
    def max_points(self) -> float:
        return sum(nb.max_points for nb in self.notebooks)


def read_notebook(path: Path) -> NotebookNode:
    """Read and validate an nbformat-4 notebook from the course (source or release)."""
    nb = nbformat.read(str(path), as_version=NB_VERSION)
    nbformat.validate(nb)
    return nb


def apply_points(nb: NotebookNode, points: Mapping[str, float]) -> NotebookNode:
    """A copy of `nb` with the config's point overrides written into its grade cells."""
    nb = copy.deepcopy(nb)
    for cell in nb.cells:
        gid = grade_id(cell)
        if gid in points and is_grade(cell):
            cell.metadata.nbgrader["points"] = points[gid]
    return nb


def notebook_spec(name: str, path: Path, nb: NotebookNode) -> NotebookSpec:
    tests, solutions, seen = [], [], set()
    for cell in nb.cells:
        gid = grade_id(cell)
        if gid is None:
            continue
        if gid in seen:
            raise ReleaseError(f"{path}: grade_id '{gid}' is used by more than one cell.")
        seen.add(gid)
        if is_grade(cell):
            source = cell.source
            tests.append(TestSpec(
                grade_id=gid,
                points=float(nbgrader_meta(cell).get("points", 0)),
                hidden="BEGIN HIDDEN TESTS" in source,
                probe=probe_name(cell),
                model=model_check(cell),
            ))
        elif is_solution(cell):
            solutions.append(gid)
    return NotebookSpec(name=name, path=path, tests=tuple(tests), solutions=tuple(solutions))


def source_notebook_paths(config: GraderConfig) -> list[Path]:
    folder = config.course_root / "source" / config.assignment
    paths = sorted(folder.glob("*.ipynb"))
    if not paths:
        raise ReleaseError(f"No source notebooks in {folder}.")
    return paths


def load_source(config: GraderConfig) -> tuple[AssignmentSpec, dict[str, NotebookNode]]:
    """The assignment's spec and its source notebooks (solutions included, point overrides applied)."""
    notebooks, specs = {}, []
    paths = source_notebook_paths(config)
    for path in paths:
        nb = apply_points(read_notebook(path), config.points)
        notebooks[path.stem] = nb
        specs.append(notebook_spec(path.stem, path, nb))
    check_points_keys(config.points, [t.grade_id for s in specs for t in s.tests],
                      where=f"source/{config.assignment}")
    spec = AssignmentSpec(name=config.assignment, source_dir=paths[0].parent, notebooks=tuple(specs))
    return spec, notebooks

