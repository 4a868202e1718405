"""Build the notebook that is executed for grading from the source and one submission.

The executed notebook always has the source's structure: every test cell and locked
cell comes from the source (hidden tests included), and only the student's answers are
taken from the submission. So an edited, deleted, reordered or duplicated test cell
changes nothing, and the student cannot be credited for an edit. Cells the student
added are kept, after the cell they followed, with any nbgrader metadata removed.
The self-check cell (a locked cell rendered from a template) is dropped: grading never
runs the student's self-check.

A manually graded answer (nbgrader ``solution`` + ``grade``) is an answer: the student's
content is kept, never restored or noted as tampering. A task cell (``task``) is locked
markdown: restored from the source like any locked cell.
"""
from __future__ import annotations

import copy
import hashlib
import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Mapping

import nbformat
from nbformat import NotebookNode

from autograder.course.notebooks import (
    NB_VERSION,
    grade_id,
    is_grade,
    is_manual,
    is_solution,
    template_name,
)
from autograder.course.templating import SELF_CHECK
from autograder.errors import SubmissionError
from autograder.results import Note, NoteKind

MAX_NOTEBOOK_BYTES = 50 * 1024 * 1024


def read_submission(path: Path) -> tuple[NotebookNode, tuple[Note, ...]]:
    """Parse a submitted notebook, or raise SubmissionError with a reason a student understands.
    The notes (REPAIR) say how the file was repaired to be read."""
    try:
        raw = path.read_bytes()
    except OSError as exc:
        raise SubmissionError(f"the file could not be read ({exc.strerror})") from exc
    if not raw.strip():
        raise SubmissionError("the notebook file is empty")
    if len(raw) > MAX_NOTEBOOK_BYTES:
        raise SubmissionError(f"the notebook is larger than {MAX_NOTEBOOK_BYTES // 2**20} MiB")
    try:
        data = json.loads(raw.decode("utf-8"))
    except UnicodeDecodeError as exc:
        raise SubmissionError("the notebook is not UTF-8 text") from exc
    except json.JSONDecodeError as exc:
        raise SubmissionError(f"the notebook is not valid JSON (line {exc.lineno}: {exc.msg})") from exc
    if not isinstance(data, dict) or "cells" not in data and "worksheets" not in data:
        raise SubmissionError("the file is JSON but not a Jupyter notebook")
    notes: tuple[Note, ...] = ()
    minor = data.get("nbformat_minor", 0)
    cells = data.get("cells")
    if data.get("nbformat") == NB_VERSION and isinstance(minor, int) and minor < 5 and isinstance(cells, list) \
            and any(isinstance(c, dict) and "id" in c for c in cells):
        # Cell ids exist from nbformat 4.5 on; a 4.0-4.4 file that has them (an editor or an old
        # release wrote them) fails its own schema. Cells are matched by grade_id, so they are dropped.
        for cell in cells:
            if isinstance(cell, dict):
                cell.pop("id", None)
        notes += (Note(NoteKind.REPAIR, f"the notebook is nbformat 4.{minor}, whose cells have no ids, but its "
                                        f"cells carried ids; they were left out"),)
    try:
        nb = nbformat.reads(json.dumps(data), as_version=NB_VERSION)
        if data.get("nbformat", NB_VERSION) < NB_VERSION:
            notes += (Note(NoteKind.REPAIR, f"the notebook was saved as nbformat {data.get('nbformat')} "
                                           f"and was converted to version 4"),)
        nbformat.validate(nb)
    except Exception as exc:  # nbformat raises several unrelated types for malformed notebooks
        raise SubmissionError(f"the notebook structure is invalid ({type(exc).__name__})") from exc
    return nb, notes


@dataclass(frozen=True)
class Assembled:
    notebook: NotebookNode
    notes: tuple[Note, ...]         # TAMPERING (test or locked cells restored), ANSWER_CELLS (missing, duplicated)
    restored: frozenset[str]        # grade_ids of test cells that were edited or deleted
    unanswered: frozenset[str]      # grade_ids of solution cells missing from the submission
    # manual answers the student changed from the release: grade_id -> sha256 of the answer's source
    manual_answers: Mapping[str, str] = field(default_factory=dict)


def answer_digest(source: str) -> str:
    """sha256 of an answer's source, trailing whitespace and line endings ignored."""
    text = "\n".join(line.rstrip() for line in source.replace("\r\n", "\n").strip().split("\n"))
    return hashlib.sha256(text.encode()).hexdigest()


def _strip_grading_metadata(cell: NotebookNode) -> NotebookNode:
    cell = copy.deepcopy(cell)
    cell.metadata.pop("nbgrader", None)
    cell.metadata.pop("autograder", None)
    return cell


def assemble(source: NotebookNode, release: NotebookNode, student: NotebookNode) -> Assembled:
    """Merge `student` into the source's structure. Returns the notebook to execute and notes."""
    source_ids = {grade_id(c) for c in source.cells if grade_id(c)}
    by_cell_id = {c.get("id"): grade_id(c) for c in source.cells if grade_id(c) and c.get("id")}
    released = {grade_id(c): c for c in release.cells if grade_id(c)}

    found: dict[str, list[NotebookNode]] = {}
    extras_after: dict[str | None, list[NotebookNode]] = {}
    anchor: str | None = None
    for cell in student.cells:
        gid = grade_id(cell)
        if gid not in source_ids:
            gid = by_cell_id.get(cell.get("id"))   # metadata edited: fall back to the cell id
        if gid in source_ids:
            found.setdefault(gid, []).append(cell)
            anchor = gid
        else:
            extras_after.setdefault(anchor, []).append(_strip_grading_metadata(cell))

    notes: list[Note] = []
    restored, unanswered, manual_answers = set(), set(), {}
    cells = list(extras_after.get(None, []))
    for cell in source.cells:
        gid = grade_id(cell)
        if gid is None:
            continue
        copies = found.get(gid, [])
        if template_name(cell) == SELF_CHECK:
            pass     # left out; cells the student added after it are kept below
        elif is_solution(cell):          # an answer, also when it is a manually graded grade cell
            if copies:
                chosen = copy.deepcopy(copies[-1])
                chosen.metadata = copy.deepcopy(cell.metadata)
                chosen["cell_type"] = cell.cell_type
                if len(copies) > 1:
                    notes.append(Note(NoteKind.ANSWER_CELLS,
                                      f"answer cell '{gid}' appears {len(copies)} times; the last one was graded"))
            else:
                chosen = copy.deepcopy(released.get(gid, cell))
                unanswered.add(gid)
                notes.append(Note(NoteKind.ANSWER_CELLS,
                                  f"answer cell '{gid}' is missing; it was graded as unanswered"))
            if chosen.cell_type == "code":
                chosen.outputs, chosen.execution_count = [], None
            if is_manual(cell) and copies and gid in released and \
                    answer_digest(chosen.source) != answer_digest(released[gid].source):
                manual_answers[gid] = answer_digest(chosen.source)
            cells.append(chosen)
        else:
            original = released.get(gid)
            if is_grade(cell):
                if not copies:
                    notes.append(Note(NoteKind.TAMPERING, f"test cell '{gid}' was deleted; the original was restored"))
                    restored.add(gid)
                elif original is not None and any(c.source not in (original.source, cell.source) for c in copies):
                    notes.append(Note(NoteKind.TAMPERING, f"test cell '{gid}' was edited; the original was restored"))
                    restored.add(gid)
                elif len(copies) > 1:
                    notes.append(Note(NoteKind.TAMPERING,
                                      f"test cell '{gid}' appears {len(copies)} times; it was run once"))
            cells.append(copy.deepcopy(cell))
        cells.extend(extras_after.get(gid, []))

    # The executed notebook is always nbformat 4.5 (whatever the source's and the submission's 4.x):
    # the grader gives every cell a unique id, and ids need 4.5.
    merged = nbformat.v4.new_notebook(metadata=copy.deepcopy(source.metadata))
    merged.nbformat, merged.nbformat_minor = 4, 5
    seen_ids: set[str] = set()
    for index, cell in enumerate(cells):
        if cell.cell_type == "code":
            cell.outputs, cell.execution_count = [], None
        if not cell.get("id") or cell["id"] in seen_ids:
            cell["id"] = f"cell-{index}"
        seen_ids.add(cell["id"])
    merged.cells = cells
    return Assembled(notebook=merged, notes=tuple(notes), restored=frozenset(restored),
                     unanswered=frozenset(unanswered), manual_answers=manual_answers)
