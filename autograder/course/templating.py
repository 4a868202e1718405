"""The header and footer cells every notebook shares, rendered from templates and grader_config.py.

Header: the course, week and topic, the notebook's number and title, its points (summed over its
grade cells at release, with the config's overrides, so the total never goes stale; written answers a
TA grades named apart), the due date (in its configured UTC offset and in UTC), the late policy and
the honour code; then a code cell that
checks the Python/NumPy (and TensorFlow/Keras) versions against the course's pins and seeds
every random number generator with the config's seed (op determinism for TensorFlow topics).
Footer: what to do before handing in, a check that the trained models were saved (notebooks
that save models), and the self-check cell (`selfcheck.py`, shipped in the release).

Where rendering happens: the source notebooks hold the rendered cells, so an instructor can run
them as they are and grading runs exactly the structure students see. `autograder release`
re-renders them from grader_config.py, into source/ and into the release, and `release --check`
reports either one as stale after a config change. Each rendered cell has a fixed cell id and
grade_id (`course-header`, ...), metadata ``{"autograder": {"template": "<name>"}}``, and is an
nbgrader locked cell (never a grade cell), so assembly restores it like any other locked cell.
Templates use StrictUndefined: a missing value stops the release with the value's name.
"""
from __future__ import annotations

import copy
import datetime as dt
import importlib.metadata
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

import jinja2
import nbformat
from nbformat import NotebookNode

from autograder.config import GraderConfig, check_points_keys
from autograder.course.notebooks import (grade_id, imports_tensorflow, is_grade, is_manual, model_check,
                                         nbgrader_meta, template_name)
from autograder.errors import ReleaseError

DISTRIBUTION = "rnn-autograder"
# template name -> (cell id, cell type, template file)
CELLS = {
    "header": ("course-header", "markdown", "notebook_header.md.j2"),
    "setup": ("course-setup", "code", "notebook_setup.py.j2"),
    "footer": ("course-footer", "markdown", "notebook_footer.md.j2"),
    "footer-save": ("course-footer-save", "code", "notebook_footer_save.py.j2"),
    "self-check": ("course-self-check", "code", "notebook_self_check.py.j2"),
}
SELF_CHECK = "self-check"
_PIN_LABELS = {"python": "Python", "numpy": "NumPy", "tensorflow": "TensorFlow", "tensorflow-cpu": "TensorFlow",
               "keras": "Keras"}
_NUMPY_TOPIC_PINS = ("Python", "NumPy")
_DAYS = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")
_MONTHS = ("January", "February", "March", "April", "May", "June", "July", "August", "September", "October",
           "November", "December")

_env = jinja2.Environment(loader=jinja2.PackageLoader("autograder.course", "templates"), undefined=jinja2.StrictUndefined,
                          autoescape=False, keep_trailing_newline=False)


@dataclass(frozen=True)
class Pin:
    """A version the course is pinned to: `label` (as the setup cell shows it) and a PEP 440 specifier."""

    label: str
    specifier: str


@dataclass(frozen=True)
class NotebookInfo:
    """What the templates need to know about one notebook."""

    filename: str
    number: int
    count: int
    title: str
    models: tuple[str, ...]
    tensorflow: bool
    points: float = 0.0          # every grade cell, the config's overrides applied
    manual_points: float = 0.0   # of those, the cells a TA grades (written answers, tasks)


@dataclass(frozen=True)
class DueDate:
    local: str     # in the configured offset, e.g. "Friday 11 December 2026, 23:59"
    offset: str    # "+01:00"
    utc: str       # "2026-12-11 22:59"


def course_pins() -> tuple[Pin, ...]:
    """Python, NumPy, TensorFlow and Keras pins, as pyproject.toml declares them (installed metadata)."""
    from packaging.requirements import Requirement

    try:
        meta = importlib.metadata.metadata(DISTRIBUTION)
        requires = importlib.metadata.requires(DISTRIBUTION) or []
    except importlib.metadata.PackageNotFoundError as exc:
        raise ReleaseError(f"the '{DISTRIBUTION}' package is not installed (pip install -e .): its pinned "
                           f"versions go into every notebook's set-up cell") from exc
    pins = {"Python": str(meta["Requires-Python"])}
    for line in requires:
        req = Requirement(line)
        label = _PIN_LABELS.get(req.name.lower())
        if label and (req.marker is None or "extra" not in str(req.marker)):
            pins.setdefault(label, str(req.specifier))
    missing = [label for label in ("Python", "NumPy", "TensorFlow", "Keras") if not pins.get(label)]
    if missing:
        raise ReleaseError(f"pyproject.toml pins no version of {', '.join(missing)}")
    return tuple(Pin(label, spec) for label, spec in pins.items())


REQUIREMENTS = "requirements.txt"
# What a student installs, in this order: the notebooks' libraries, then what the self-check needs.
STUDENT_PACKAGES = ("tensorflow-cpu", "tensorflow", "keras", "numpy", "pandas", "matplotlib",
                    "ipykernel", "jupyter-client", "nbformat", "nbclient")


def student_requirements(assignment: str) -> str:
    """The release's requirements.txt: the student packages with the grader's pins (pyproject.toml, read
    from the installed metadata as course_pins does), environment markers kept (tensorflow-cpu on
    x86-64 Linux/Windows, tensorflow elsewhere, as the grader installs it). Deterministic text."""
    from packaging.requirements import Requirement
    from packaging.utils import canonicalize_name

    try:
        meta = importlib.metadata.metadata(DISTRIBUTION)
        requires = importlib.metadata.requires(DISTRIBUTION) or []
    except importlib.metadata.PackageNotFoundError as exc:
        raise ReleaseError(f"the '{DISTRIBUTION}' package is not installed (pip install -e .): its pinned "
                           f"versions go into the release's {REQUIREMENTS}") from exc
    found: dict[str, list[str]] = {}
    for line in requires:
        req = Requirement(line)
        if req.marker is not None and "extra" in str(req.marker):
            continue
        found.setdefault(canonicalize_name(req.name), []).append(str(req))
    missing = [name for name in STUDENT_PACKAGES if canonicalize_name(name) not in found]
    if missing:
        raise ReleaseError(f"pyproject.toml pins no version of {', '.join(missing)}, which students install "
                           f"({REQUIREMENTS} of the release)")
    lines = [f"# The packages of {assignment}, at the versions the grader uses (pyproject.toml of {DISTRIBUTION}).",
             f"# Python {meta['Requires-Python']}. Install them with:  python -m pip install -r {REQUIREMENTS}",
             "# Topic 1 needs only numpy and the self-check's nbformat, nbclient and ipykernel; the others need all.",
             "# Written by `autograder release`; `autograder release --check` reports it when it is stale."]
    lines += [line for name in STUDENT_PACKAGES for line in found[canonicalize_name(name)]]
    return "\n".join(lines) + "\n"


def write_requirements(folder: Path, assignment: str) -> None:
    """Write requirements.txt into a release folder (see student_requirements)."""
    (Path(folder) / REQUIREMENTS).write_text(student_requirements(assignment), encoding="utf-8")


def _long_date(moment: dt.datetime) -> str:
    return f"{_DAYS[moment.weekday()]} {moment.day} {_MONTHS[moment.month - 1]} {moment.year}, {moment:%H:%M}"


def due_date(config: GraderConfig) -> DueDate | None:
    due = config.due_at
    if due is None:
        return None
    zone = due.strftime("%z")
    offset = f"{zone[:3]}:{zone[3:5]}"
    return DueDate(local=_long_date(due), offset=offset, utc=f"{due.astimezone(dt.timezone.utc):%Y-%m-%d %H:%M}")


def late_policy(config: GraderConfig) -> str:
    policy = config.late_penalty
    grace = f" after a grace period of {policy.grace_minutes:g} minutes" if policy.grace_minutes else ""
    if policy.method == "none":
        return "Late work is not penalised."
    if policy.method == "zero":
        return f"Work handed in late scores 0{grace}."
    unit = "hour" if policy.method == "per_hour" else "day"
    cap = f", at most {policy.max_fraction:.0%}" if policy.max_fraction < 1 else ""
    return f"Late work loses {policy.rate:.0%} of its score per started {unit}{cap}{grace}."


def _body(nb: NotebookNode) -> list[NotebookNode]:
    return [c for c in nb.cells if template_name(c) is None]


def _title(name: str, body: list[NotebookNode]) -> str:
    for cell in body:
        if cell.cell_type == "markdown":
            for line in cell.source.splitlines():
                if line.startswith("# "):
                    return line[2:].strip()
    return name.split("_", 1)[-1].replace("_", " ").capitalize()


def _points(cell: NotebookNode, overrides: Mapping[str, float]) -> float:
    return float(overrides.get(grade_id(cell), nbgrader_meta(cell).get("points", 0)) or 0)


def notebook_info(name: str, nb: NotebookNode, *, number: int, count: int,
                  points: Mapping[str, float] | None = None) -> NotebookInfo:
    """The facts about notebook `name` (file stem) that its header and footer show; `points` are the
    config's overrides (grade_id -> points)."""
    body = _body(nb)
    overrides = points or {}
    models = tuple(dict.fromkeys(m[0] for m in (model_check(c) for c in body) if m))
    graded = [c for c in body if is_grade(c) or is_manual(c)]
    return NotebookInfo(filename=f"{name}.ipynb", number=number, count=count, title=_title(name, body),
                        models=models, tensorflow=imports_tensorflow(body),
                        points=sum(_points(c, overrides) for c in graded),
                        manual_points=sum(_points(c, overrides) for c in graded if is_manual(c)))


def render(template: str, **values) -> str:
    """Render one template; a value it needs and did not get is a ReleaseError naming it."""
    try:
        return _env.get_template(template).render(**values).strip() + "\n"
    except jinja2.UndefinedError as exc:
        raise ReleaseError(f"template {template}: {exc} (its values come from grader_config.py)") from exc


def _cell(name: str, source: str) -> NotebookNode:
    cell_id, kind, _ = CELLS[name]
    meta = {"autograder": {"template": name},
            "nbgrader": {"grade": False, "grade_id": cell_id, "locked": True, "schema_version": 3,
                         "solution": False, "task": False}}
    source = source.rstrip("\n")
    if kind == "markdown":
        return nbformat.v4.new_markdown_cell(source, metadata=meta, id=cell_id)
    return nbformat.v4.new_code_cell(source, metadata=meta, id=cell_id)


def render_cells(config: GraderConfig, info: NotebookInfo,
                 pins: tuple[Pin, ...] | None = None) -> dict[str, NotebookNode]:
    """The template cells of one notebook, by template name (no footer-save without models)."""
    pins = course_pins() if pins is None else pins
    if not info.tensorflow:
        pins = tuple(p for p in pins if p.label in _NUMPY_TOPIC_PINS)
    values = {"course": config.course, "notebook": info, "due": due_date(config), "late_policy": late_policy(config),
              "seed": config.seed, "pins": pins, "assignment": config.assignment}
    return {name: _cell(name, render(template, **values)) for name, (_, _, template) in CELLS.items()
            if name != "footer-save" or info.models}


def render_notebook(nb: NotebookNode, config: GraderConfig, info: NotebookInfo,
                    pins: tuple[Pin, ...] | None = None) -> NotebookNode:
    """A copy of `nb` with freshly rendered template cells: the header first, the set-up cell right
    before the first code cell, the footer cells last. Old template cells are replaced."""
    cells = render_cells(config, info, pins)
    body = copy.deepcopy(_body(nb))
    first_code = next((i for i, c in enumerate(body) if c.cell_type == "code"), len(body))
    footer = [cells[n] for n in ("footer", "footer-save", SELF_CHECK) if n in cells]
    out = copy.deepcopy(nb)
    out.cells = [cells["header"], *body[:first_code], cells["setup"], *body[first_code:], *footer]
    return out


def render_assignment(notebooks: dict[str, NotebookNode], config: GraderConfig) -> dict[str, NotebookNode]:
    """Every notebook of an assignment (file stem -> notebook, any order) with its template cells rendered.

    The config's `points` keys are checked here against the notebooks' grade cells (a ConfigError with
    a did-you-mean), because release applies them to exactly these notebooks."""
    check_points_keys(config.points, [grade_id(c) for nb in notebooks.values() for c in nb.cells
                                      if is_grade(c) and grade_id(c)],
                      where=f"source/{config.assignment}")
    pins = course_pins()
    names = sorted(notebooks)
    return {name: render_notebook(notebooks[name], config,
                                  notebook_info(name, notebooks[name], number=i, count=len(names),
                                                points=config.points), pins)
            for i, name in enumerate(names, start=1)}
