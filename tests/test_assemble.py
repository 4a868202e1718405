"""assemble(): tests always come from the source; only answers come from the student."""
from __future__ import annotations

import copy
import json
from pathlib import Path

import pytest
from factories import answer, notebook, source_and_release

from autograder.course.notebooks import grade_id
from autograder.errors import SubmissionError
from autograder.grading.assemble import assemble, read_submission


def _sources(nb) -> dict[str, str]:
    return {grade_id(c) or c.id: c.source for c in nb.cells}


def test_answers_are_spliced_into_the_source_structure() -> None:
    source, release = source_and_release()
    student = copy.deepcopy(release)
    student.cells[0].source = "def double(x):\n    return x + x"
    merged = assemble(source, release, student)
    got = _sources(merged.notebook)
    assert got["double"] == "def double(x):\n    return x + x"
    assert "BEGIN HIDDEN TESTS" in got["test_double_hidden"]       # hidden tests restored from the source
    assert got["square"] == release.cells[3].source                 # untouched answer stays a stub
    assert merged.notes == () and not merged.restored


def test_edited_and_deleted_tests_are_restored_and_noted() -> None:
    source, release = source_and_release()
    student = copy.deepcopy(release)
    student.cells[1].source = "pass"        # test edited to pass
    del student.cells[4]                    # test deleted
    merged = assemble(source, release, student)
    got = _sources(merged.notebook)
    assert got["test_double"] == source.cells[1].source
    assert got["test_square"] == source.cells[4].source
    assert merged.restored == {"test_double", "test_square"}
    assert any("edited" in n.text for n in merged.notes) and any("deleted" in n.text for n in merged.notes)
    assert {n.kind.value for n in merged.notes} == {"tampering"}


def test_reordered_duplicated_and_relabelled_cells() -> None:
    source, release = source_and_release()
    student = copy.deepcopy(release)
    student.cells[3].source = "def square(x):\n    return x ** 2"
    student.cells.reverse()                                   # reordered
    student.cells.append(copy.deepcopy(student.cells[0]))     # duplicated test cell
    student.cells[0].metadata["nbgrader"]["grade_id"] = "renamed"   # metadata edited: matched by cell id
    merged = assemble(source, release, student)
    order = [grade_id(c) for c in merged.notebook.cells if grade_id(c)]
    assert order == ["double", "test_double", "test_double_hidden", "square", "test_square"]
    assert _sources(merged.notebook)["square"] == "def square(x):\n    return x ** 2"


def test_student_cells_are_kept_without_grading_metadata() -> None:
    source, release = source_and_release()
    student = copy.deepcopy(release)
    helper = answer("sneaky", "HELPER = 1")
    helper.metadata["nbgrader"]["grade"] = True
    helper.metadata["nbgrader"]["points"] = 100
    student.cells.insert(1, helper)
    merged = assemble(source, release, student)
    kept = [c for c in merged.notebook.cells if c.source == "HELPER = 1"]
    assert len(kept) == 1 and "nbgrader" not in kept[0].metadata
    assert merged.notebook.cells.index(kept[0]) == 1          # still right after the cell it followed


def test_missing_answer_uses_the_release_stub() -> None:
    source, release = source_and_release()
    student = notebook(*copy.deepcopy(release.cells[1:]))
    merged = assemble(source, release, student)
    assert merged.unanswered == {"double"}
    assert "NotImplementedError" in _sources(merged.notebook)["double"]


@pytest.mark.parametrize("content, reason", [
    (b"", "empty"),
    (b'{"cells": [', "not valid JSON"),
    (b"\xff\xfe\x00", "UTF-8"),
    (b'{"a": 1}', "not a Jupyter notebook"),
    (b'{"cells": "no", "metadata": {}, "nbformat": 4, "nbformat_minor": 5}', "invalid"),
])
def test_unreadable_submissions_give_a_reason(tmp_path: Path, content: bytes, reason: str) -> None:
    path = tmp_path / "x.ipynb"
    path.write_bytes(content)
    with pytest.raises(SubmissionError, match=reason):
        read_submission(path)


def test_nbformat_v3_is_converted(tmp_path: Path) -> None:
    v3 = {"nbformat": 3, "nbformat_minor": 0, "metadata": {"name": ""},
          "worksheets": [{"cells": [{"cell_type": "code", "input": "x = 1", "language": "python",
                                     "outputs": [], "metadata": {}}], "metadata": {}}]}
    path = tmp_path / "old.ipynb"
    path.write_text(json.dumps(v3))
    nb, notes = read_submission(path)
    assert nb.nbformat == 4 and nb.cells[0].source == "x = 1"
    assert notes and "converted" in notes[0].text
