"""The result key of a submission: same key, same grade, so a submission graded before is not run again.

Light on purpose (the stdlib and autograder.course.notebooks only): an unchanged re-grade computes
every key from the raw notebook JSON (`read_plain`) and compares it with the recorded one before
nbformat, nbgrader, numpy or TensorFlow are imported. `source_digest` with `read_notebook` (the
full read) and with `read_plain` gives the same digest for every notebook `read_plain` accepts.
"""
from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import TYPE_CHECKING, Callable, Mapping

from autograder import __version__
from autograder.course.notebooks import read_notebook

if TYPE_CHECKING:
    from autograder.config import GraderConfig
    from autograder.intake.discover import Submission


def source_digest(source_dir: Path, solutions_dir: Path, *, read: Callable[[Path], Mapping] = read_notebook) -> str:
    """sha256 over what grading runs of the source notebooks, and the solutions' files.

    Of a notebook: its metadata and, per cell in order, type, id, metadata and, for code cells, the
    source. The text of markdown cells is left out: it never runs, so the rendered course header
    (title, honour code) or a reworded instruction changes no grade and re-grades nobody.
    `read` = `read_plain` reads the raw JSON (raising `NotPlainJSON` where it cannot give the same)."""
    digest = hashlib.sha256()
    for path in sorted(source_dir.glob("*.ipynb")):
        nb = read(path)
        cells = [[c["cell_type"], c.get("id", ""), c["metadata"], c["source"] if c["cell_type"] == "code" else ""]
                 for c in nb["cells"]]
        digest.update(path.name.encode() + b"\0")
        digest.update(json.dumps([nb["metadata"], cells], sort_keys=True, default=str).encode())
    for path in sorted(solutions_dir.glob("*.py")):
        digest.update(path.name.encode() + b"\0" + path.read_bytes())
    return digest.hexdigest()


def result_key(submission: Submission, *, source_digest: str, config: GraderConfig) -> str:
    """Same key -> same grade: the submission and its time, the source, the grade digest of the config
    (due date and late policy included) and the grader are unchanged. A new due date or policy re-grades
    (not just re-penalises); presentation keys (course header, honour code, roster) are not in the key."""
    blob = "|".join((submission.sha256, submission.submitted_at, source_digest, config.grade_digest, __version__))
    return hashlib.sha256(blob.encode()).hexdigest()
