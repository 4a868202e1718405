"""Read the instructor's source notebooks: which cells are solutions, tests and probes.

nbgrader's cell metadata (schema 3) marks cells:
``{"nbgrader": {"grade": bool, "solution": bool, "locked": bool, "grade_id": str, "points": float}}``.
The autograder adds keys of its own: a grade cell that the grader scores outside the kernel
has ``{"autograder": {"probe": "<function name>"}}`` (or ``{"model": ..., "check": ...}``), and a
header/footer cell rendered by `autograder release` has ``{"autograder": {"template": "<name>"}}``.

Every grade cell belongs to an exercise, the grade_id of the answer cell it tests:
``{"autograder": {"exercise": "<answer grade_id>"}}``. A probe cell defaults to its function's
name. A test that runs in the student's kernel can be fooled by anything the student's code does
in that process, so its points count only when the grader's own checks of the same exercise
(probe and model cells) passed: a kernel test with points whose exercise has no such check is
refused when the notebooks are loaded (docs/topic-contract.md, section 4).

Manually graded cells (nbgrader's conventions) are grade cells of their own kind
(`TestSpec.manual`): an answer cell that is also a grade cell (``solution`` and ``grade``, with
``points`` and no tests: a written or code answer a TA marks) and a ``task`` cell (markdown,
``task: true``, ``points``). They are never kernel tests, so they need no grader-side
confirmation; grading leaves them for a TA (status ``manual``).
"""
from __future__ import annotations

import copy
import json
import re
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Callable, Mapping

from autograder.config import GraderConfig, check_points_keys
from autograder.errors import ReleaseError

if TYPE_CHECKING:      # nbformat (and jsonschema) load only where a notebook is read in full: `read_notebook`
    from nbformat import NotebookNode

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


def is_task(cell: NotebookNode) -> bool:
    """nbgrader's task cell: markdown that describes work a TA grades (``task: true``, with points)."""
    return bool(nbgrader_meta(cell).get("task"))


def is_manual(cell: NotebookNode) -> bool:
    """A cell a TA grades: an answer that is also a grade cell (nbgrader's "manually graded answer",
    whose autograde score is None unless left as released), or a task cell."""
    return (is_grade(cell) and is_solution(cell)) or is_task(cell)


def _autograder_meta(cell: NotebookNode) -> dict:
    meta = cell.get("metadata", {}).get("autograder", {})
    return meta if isinstance(meta, dict) else {}


def probe_name(cell: NotebookNode) -> str | None:
    name = _autograder_meta(cell).get("probe")
    return name if isinstance(name, str) and name else None


def exercise_name(cell: NotebookNode) -> str | None:
    """The answer cell (grade_id) a grade cell tests, as its metadata declares it, or None."""
    name = _autograder_meta(cell).get("exercise")
    return name if isinstance(name, str) and name else None


# A notebook needs TensorFlow when one of its code cells imports TensorFlow or Keras; a mention in a
# docstring or a comment (topic 1 names keras.layers.GRU) does not count.
_IMPORTS_TENSORFLOW = re.compile(r"^\s*(?:import|from)\s+(?:tensorflow|keras)\b", re.MULTILINE)


def imports_tensorflow(cells) -> bool:
    """Whether any of these code cells imports TensorFlow or Keras (the kernel then needs it seeded)."""
    return any(c.cell_type == "code" and _IMPORTS_TENSORFLOW.search(c.source) for c in cells)


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
    exercise: str | None = None  # grade_id of the answer cell this test belongs to
    manual: bool = False         # graded by a TA (answer + grade cell, or task cell): never autograded
    task: bool = False           # nbgrader's task cell (a TaskCell in its gradebook), else a GradeCell
    cell_type: str = "code"      # the cell's type, as nbgrader's gradebook records it

    @property
    def grader_side(self) -> bool:
        """Scored in the grader's process (probe or model cell), never from what the kernel did."""
        return bool(self.probe or self.model)


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

    def checks_of(self, exercise: str | None) -> tuple[TestSpec, ...]:
        """The grader-side tests (probe and model cells) of one exercise, in notebook order."""
        return tuple(t for t in self.tests if t.grader_side and exercise is not None and t.exercise == exercise)


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

    def cell_ids(self) -> dict[str, frozenset[str]]:
        """notebook name -> the grade_ids of its grade and answer cells (how intake tells which notebook a
        flat `<student>.ipynb` is)."""
        return {nb.name: frozenset(t.grade_id for t in nb.tests) | frozenset(nb.solutions) for nb in self.notebooks}


def read_notebook(path: Path) -> NotebookNode:
    """Read and validate an nbformat-4 notebook from the course (source or release)."""
    import nbformat

    nb = nbformat.read(str(path), as_version=NB_VERSION)
    nbformat.validate(nb)
    return nb


class NotPlainJSON(Exception):
    """`read_plain` cannot give what `read_notebook` would for this file: read it in full instead."""


_TRANSIENT = ("orig_nbformat", "orig_nbformat_minor", "signature")   # nbformat drops these on read
_CELL_TYPES = frozenset({"code", "markdown", "raw"})
_MINORS = range(6)           # the 4.x versions this nbformat reads as written (cell ids from 4.5)


def read_plain(path: Path) -> dict:
    """The notebook as `read_notebook` gives it, as plain dicts, read with the stdlib `json` only.

    nbformat's reader of a 4.x notebook joins each cell's source (a list of lines on disk) into one
    string and drops the transient metadata (`_TRANSIENT`, a cell's ``trusted``); the fields a spec and
    the source digest read are then the same. Outputs and attachments are left as stored (neither reads
    them). Raises `NotPlainJSON` for anything nbformat would convert, repair or refuse: another major
    version, a 4.5 cell without an id or with a repeated one (nbformat makes up random ids), or a notebook
    whose shape is not a notebook's. Nothing is validated against the schema."""
    try:
        nb = json.loads(path.read_text(encoding="utf8"))
    except (OSError, ValueError) as exc:
        raise NotPlainJSON(f"{path}: {exc}") from exc
    if not isinstance(nb, dict) or nb.get("nbformat") != NB_VERSION or nb.get("nbformat_minor") not in _MINORS \
            or not isinstance(nb.get("metadata"), dict) or not isinstance(nb.get("cells"), list):
        raise NotPlainJSON(f"{path}: not an nbformat-{NB_VERSION} notebook as written")
    with_ids, seen = nb["nbformat_minor"] >= 5, set()
    for cell in nb["cells"]:
        if not isinstance(cell, dict) or cell.get("cell_type") not in _CELL_TYPES \
                or not isinstance(cell.get("metadata"), dict):
            raise NotPlainJSON(f"{path}: a cell that is not a notebook cell")
        source = cell.get("source")
        if isinstance(source, list) and all(isinstance(line, str) for line in source):
            cell["source"] = "".join(source)
        elif not isinstance(source, str):
            raise NotPlainJSON(f"{path}: a cell source that is neither text nor lines")
        if with_ids:
            if not isinstance(cell.get("id"), str) or cell["id"] in seen:
                raise NotPlainJSON(f"{path}: a cell id that nbformat would make up")
            seen.add(cell["id"])
        elif "id" in cell:
            raise NotPlainJSON(f"{path}: a cell id in a notebook of nbformat 4.{nb['nbformat_minor']}")
        cell["metadata"].pop("trusted", None)
    for key in _TRANSIENT:
        nb["metadata"].pop(key, None)
    return nb


def apply_points(nb: NotebookNode, points: Mapping[str, float]) -> NotebookNode:
    """A copy of `nb` with the config's point overrides written into its grade cells."""
    nb = copy.deepcopy(nb)
    for cell in nb["cells"]:
        gid = grade_id(cell)
        if gid in points and is_grade(cell):
            cell["metadata"]["nbgrader"]["points"] = points[gid]
    return nb


def notebook_spec(name: str, path: Path, nb: NotebookNode) -> NotebookSpec:
    tests, solutions, seen = [], [], set()
    for cell in nb["cells"]:
        gid = grade_id(cell)
        if gid is None:
            continue
        if gid in seen:
            raise ReleaseError(f"{path}: grade_id '{gid}' is used by more than one cell.")
        seen.add(gid)
        if is_manual(cell):
            tests.append(TestSpec(grade_id=gid, points=float(nbgrader_meta(cell).get("points", 0)), hidden=False,
                                  exercise=exercise_name(cell), manual=True, task=is_task(cell),
                                  cell_type=cell["cell_type"]))
            if is_solution(cell):
                solutions.append(gid)      # also an answer cell, as nbgrader's SaveCells records it
        elif is_grade(cell):
            source = cell["source"]
            probe = probe_name(cell)
            tests.append(TestSpec(
                grade_id=gid,
                points=float(nbgrader_meta(cell).get("points", 0)),
                hidden="BEGIN HIDDEN TESTS" in source,
                probe=probe,
                model=model_check(cell),
                exercise=exercise_name(cell) or probe,
            ))
        elif is_solution(cell):
            solutions.append(gid)
    spec = NotebookSpec(name=name, path=path, tests=tuple(tests), solutions=tuple(solutions))
    _check_confirmation(spec)
    return spec


def _check_confirmation(spec: NotebookSpec) -> None:
    """Refuse a kernel test with points that no grader-side check of its exercise can confirm.

    A plain nbgrader notebook, whose cells carry no autograder metadata at all (no exercise, probe
    or model), is graded as nbgrader grades it: its kernel tests count as they ran (README, Known
    limits). A notebook that uses the autograder's checks at all must confirm every kernel test."""
    if not any(t.grader_side or t.exercise is not None for t in spec.tests):
        return
    for test in spec.tests:
        if test.exercise is not None and test.exercise not in spec.solutions:
            raise ReleaseError(f"{spec.path}: grade cell '{test.grade_id}' names the exercise '{test.exercise}', "
                               f"which is not an answer cell of the notebook (answer cells: "
                               f"{', '.join(spec.solutions)}).")
        if test.grader_side or test.manual or test.points <= 0:
            continue            # a TA's grade needs no grader-side confirmation
        if test.exercise is None:
            raise ReleaseError(f"{spec.path}: test cell '{test.grade_id}' gives {test.points:g} points in the "
                               f"student's kernel but names no exercise: add \"autograder\": {{\"exercise\": "
                               f"\"<answer grade_id>\"}} to its metadata (docs/topic-contract.md).")
        if not spec.checks_of(test.exercise):
            raise ReleaseError(f"{spec.path}: test cell '{test.grade_id}' gives {test.points:g} points in the "
                               f"student's kernel, but its exercise '{test.exercise}' has no grader-side check "
                               f"(a probe or model cell with \"exercise\": \"{test.exercise}\") to confirm them.")


def source_notebook_paths(config: GraderConfig) -> list[Path]:
    folder = config.course_root / "source" / config.assignment
    paths = sorted(folder.glob("*.ipynb"))
    if not paths:
        raise ReleaseError(f"No source notebooks in {folder}.")
    return paths


def load_source(config: GraderConfig, *, read: Callable[[Path], NotebookNode] = read_notebook,
                ) -> tuple[AssignmentSpec, dict[str, NotebookNode]]:
    """The assignment's spec and its source notebooks (solutions included, point overrides applied).

    `read` = `read_plain` gives the same spec from the raw JSON (plain dicts for notebooks), or raises
    `NotPlainJSON`: what an unchanged re-grade reads."""
    notebooks, specs = {}, []
    paths = source_notebook_paths(config)
    for path in paths:
        nb = apply_points(read(path), config.points)
        notebooks[path.stem] = nb
        specs.append(notebook_spec(path.stem, path, nb))
    check_points_keys(config.points, [t.grade_id for s in specs for t in s.tests],
                      where=f"source/{config.assignment}")
    spec = AssignmentSpec(name=config.assignment, source_dir=paths[0].parent, notebooks=tuple(specs))
    return spec, notebooks

