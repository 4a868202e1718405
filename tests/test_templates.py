"""Header and footer cells rendered from templates and grader_config.py at release."""
from __future__ import annotations

import dataclasses
import random
import re
from pathlib import Path

import nbformat
import numpy as np
import pytest
import tomllib
from nbclient import NotebookClient
from packaging.requirements import Requirement

from autograder.config import load_config
from autograder.course.notebooks import read_notebook
from autograder.course.release import release
from autograder.course.templating import (
    CELLS,
    Pin,
    course_pins,
    notebook_info,
    render,
    render_cells,
)
from autograder.errors import ReleaseError

NEW_DUE = "2027-01-15T12:00:00+01:00"


def _notebooks(folder: Path) -> dict[str, nbformat.NotebookNode]:
    return {p.name: read_notebook(p) for p in sorted(folder.glob("*.ipynb"))}


def _changed_cells(before: nbformat.NotebookNode, after: nbformat.NotebookNode) -> set[str]:
    assert [c.id for c in before.cells] == [c.id for c in after.cells]
    return {a.id for a, b in zip(before.cells, after.cells) if a != b}


@pytest.mark.slow
def test_changing_the_due_date_changes_every_header_and_nothing_else(scratch_course: Path) -> None:
    config = load_config(scratch_course)
    assert not release(config=config, check=True)          # the committed copy is fresh
    released, sources = scratch_course / "release" / "week3_rnn", scratch_course / "source" / "week3_rnn"
    old_release, old_source = _notebooks(released), _notebooks(sources)
    old_selfcheck = (released / "selfcheck.py").read_bytes()

    path = scratch_course / "grader_config.py"
    path.write_text(re.sub(r'^due = ".*?"', f'due = "{NEW_DUE}"', path.read_text(), flags=re.MULTILINE))
    config = load_config(scratch_course)
    stale = release(config=config, check=True)
    assert len(stale.source) == len(stale.release) == 5 and _notebooks(released) == old_release

    release(config=config)
    assert not release(config=config, check=True)
    for folder, old in ((released, old_release), (sources, old_source)):
        new = _notebooks(folder)
        assert new.keys() == old.keys() and len(new) == 5
        for name in new:
            assert _changed_cells(old[name], new[name]) == {"course-header"}, name
            header = new[name].cells[0].source
            assert "Friday 15 January 2027, 12:00 (UTC+01:00)" in header and "2027-01-15 11:00 UTC" in header
    assert (released / "selfcheck.py").read_bytes() == old_selfcheck


def test_templates_refuse_a_missing_value_and_name_it() -> None:
    config = load_config(Path(__file__).resolve().parents[1])
    info = notebook_info("01_rnn_basics", nbformat.v4.new_notebook(), number=1, count=1)
    with pytest.raises(ReleaseError, match="'due' is undefined"):
        render("notebook_header.md.j2", course=config.course, notebook=info, late_policy="", seed=1, pins=())
    course = {"title": "T", "week": 1, "topic": "x"}              # no honour_code
    with pytest.raises(ReleaseError, match="honour_code"):
        render("notebook_header.md.j2", course=course, notebook=info, due=None, late_policy="")


def test_rendered_cells_are_locked_non_grade_cells_with_fixed_ids(course_root: Path) -> None:
    for path in sorted((course_root / "source" / "week3_rnn").glob("*.ipynb")):
        nb = read_notebook(path)
        rendered = {c.id: c for c in nb.cells if c.metadata.get("autograder", {}).get("template")}
        expected = {cell_id for name, (cell_id, _, _) in CELLS.items() if name != "footer-save"}
        expected |= {"course-footer-save"} if "01_" not in path.name else set()
        assert rendered.keys() == expected, path.name
        for cell_id, cell in rendered.items():
            assert cell.metadata.nbgrader == {"grade": False, "grade_id": cell_id, "locked": True,
                                              "schema_version": 3, "solution": False, "task": False}
        assert nb.cells[0].id == "course-header" and nb.cells[-1].id == "course-self-check"
        first_code = next(c for c in nb.cells if c.cell_type == "code")
        assert first_code.id == "course-setup"
    topic1 = read_notebook(course_root / "source" / "week3_rnn" / "01_rnn_basics.ipynb")
    setup = next(c for c in topic1.cells if c.id == "course-setup").source
    assert "tensorflow" not in setup and "keras" not in setup     # a NumPy topic never imports TensorFlow


def test_version_pins_come_from_pyproject(course_root: Path) -> None:
    project = tomllib.loads((course_root / "pyproject.toml").read_text())["project"]
    wanted = {"Python": str(Requirement(f"python{project['requires-python']}").specifier)}
    for line in project["dependencies"]:
        req = Requirement(line)
        label = {"numpy": "NumPy", "keras": "Keras", "tensorflow": "TensorFlow",
                 "tensorflow-cpu": "TensorFlow"}.get(req.name)
        if label:
            wanted[label] = str(req.specifier)
    assert {p.label: p.specifier for p in course_pins()} == wanted


def _run(cells: list[nbformat.NotebookNode], tmp_path: Path) -> list[str]:
    nb = nbformat.v4.new_notebook(cells=cells)
    NotebookClient(nb, kernel_name="python3", timeout=120, resources={"metadata": {"path": str(tmp_path)}}).execute()
    return ["".join(o.get("text", "") for o in c.outputs if o.output_type == "stream") for c in nb.cells]


def _setup_cell(config, name: str, code: str, pins: tuple[Pin, ...]) -> nbformat.NotebookNode:
    body = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(code)])
    return render_cells(config, notebook_info(name, body, number=1, count=1), pins)["setup"]


@pytest.mark.slow
def test_setup_cell_runs_in_a_kernel_and_seeds_with_the_config_seed(course_root: Path, tmp_path: Path) -> None:
    config = dataclasses.replace(load_config(course_root), seed=777)
    setup = _setup_cell(config, "01_x", "import numpy", course_pins())
    draw = nbformat.v4.new_code_cell("import random\nprint(repr(random.random()), repr(np.random.rand()))")
    first, second = (_run([setup, draw], tmp_path) for _ in range(2))
    random.seed(777)
    np.random.seed(777)
    assert first[1] == second[1] == f"{random.random()!r} {np.random.rand()!r}\n"
    assert "| seed 777" in first[0] and "Warning" not in first[0]

    wrong = _setup_cell(config, "01_x", "import numpy", (Pin("Python", ">=3.10"), Pin("NumPy", "==0.1")))
    out = _run([wrong], tmp_path)[0]
    assert "Warning: NumPy" in out and "(==0.1)" in out and "Warning: Python" not in out


@pytest.mark.slow
def test_tensorflow_setup_cell_seeds_tensorflow_and_enables_determinism(course_root: Path, tmp_path: Path) -> None:
    config = load_config(course_root)
    setup = _setup_cell(config, "02_x", "import keras", course_pins())
    draw = nbformat.v4.new_code_cell("from tensorflow.python.framework import config as tf_config\n"
                                     "print(float(tf.random.uniform([])), np.random.rand(), "
                                     "tf_config.is_op_determinism_enabled())")
    out = _run([setup, draw, *(nbformat.from_dict(dict(c, id=f"again-{c.id}")) for c in (setup, draw))], tmp_path)
    assert out[1] == out[3] and out[1].strip().endswith("True")
    assert "TensorFlow 2" in out[0] and "Warning" not in out[0]


def test_a_topic_uses_tensorflow_only_when_its_code_imports_it_and_its_points_are_summed() -> None:
    def info(*sources: str):
        cells = [nbformat.v4.new_code_cell(s) for s in sources]
        cells.append(nbformat.v4.new_code_cell("# graded", metadata={"nbgrader": {
            "grade": True, "grade_id": "t", "locked": True, "points": 3, "schema_version": 3, "solution": False}}))
        cells.append(nbformat.v4.new_markdown_cell("answer", metadata={"nbgrader": {
            "grade": True, "grade_id": "w", "locked": False, "points": 2, "schema_version": 3, "solution": True}}))
        return notebook_info("x", nbformat.v4.new_notebook(cells=cells), number=1, count=1, points={"t": 4})

    mentions = info('def gru():\n    """As keras.layers.GRU computes it; no tensorflow needed."""')
    assert not mentions.tensorflow
    assert info("import numpy as np\nimport keras").tensorflow and info("from tensorflow import keras").tensorflow
    assert (mentions.points, mentions.manual_points) == (6, 2)       # the override 4 + the written answer 2


def test_only_the_keras_topics_get_tensorflow_in_their_grading_seed_cell(course_root: Path) -> None:
    """Topic 1 names keras.layers.GRU in a docstring; its kernels must still not import TensorFlow
    (an import of about 8 s that a cell limit cannot interrupt)."""
    from autograder.course.notebooks import imports_tensorflow
    from autograder.grading.workspace import seed_cell

    for path in sorted((course_root / "source" / "week3_rnn").glob("*.ipynb")):
        cells = read_notebook(path).cells
        uses = imports_tensorflow(cells)
        assert uses == (not path.name.startswith("01_")), path.name
        assert ("tensorflow" in seed_cell(1234, uses).source) == uses
    assert "keras" in "\n".join(c.source for c in read_notebook(course_root / "source" / "week3_rnn" /
                                                                "01_rnn_basics.ipynb").cells if c.cell_type == "code")
