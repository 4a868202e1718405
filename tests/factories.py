"""Small in-memory notebooks with nbgrader metadata, for unit tests of single stages."""
from __future__ import annotations

import nbformat
from nbformat import NotebookNode


def meta(grade_id: str, *, grade: bool = False, solution: bool = False, locked: bool = False,
         points: float | None = None) -> dict:
    m = {"grade": grade, "solution": solution, "locked": locked, "task": False,
         "schema_version": 3, "grade_id": grade_id}
    if points is not None:
        m["points"] = points
    return {"nbgrader": m}


def answer(grade_id: str, source: str) -> NotebookNode:
    return nbformat.v4.new_code_cell(source, metadata=meta(grade_id, solution=True), id=grade_id)


def test_cell(grade_id: str, source: str, points: float = 1) -> NotebookNode:
    return nbformat.v4.new_code_cell(source, metadata=meta(grade_id, grade=True, locked=True, points=points),
                                     id=grade_id)


def notebook(*cells: NotebookNode) -> NotebookNode:
    nb = nbformat.v4.new_notebook()
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    nb.cells = list(cells)
    return nb


def source_and_release() -> tuple[NotebookNode, NotebookNode]:
    """A two-exercise source notebook (with a hidden test) and its release."""
    source = notebook(
        answer("double", "def double(x):\n    ### BEGIN SOLUTION\n    return 2 * x\n    ### END SOLUTION"),
        test_cell("test_double", "assert double(2) == 4, 'double(2) should be 4'"),
        test_cell("test_double_hidden",
                  "# hidden\n### BEGIN HIDDEN TESTS\nassert double(-3) == -6, 'negative numbers'\n### END HIDDEN TESTS"),
        answer("square", "def square(x):\n    ### BEGIN SOLUTION\n    return x * x\n    ### END SOLUTION"),
        test_cell("test_square", "assert square(3) == 9, 'square(3) should be 9'", points=2),
    )
    release = notebook(
        answer("double", "def double(x):\n    raise NotImplementedError()"),
        test_cell("test_double", "assert double(2) == 4, 'double(2) should be 4'"),
        test_cell("test_double_hidden", "# hidden\n"),
        answer("square", "def square(x):\n    raise NotImplementedError()"),
        test_cell("test_square", "assert square(3) == 9, 'square(3) should be 9'", points=2),
    )
    return source, release
