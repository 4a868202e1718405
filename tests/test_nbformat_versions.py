"""Notebooks of nbformat 4.0-4.5 are released and graded in their own format, and nbgrader's own
fixtures (nbformat 4.0) score what real `nbgrader autograde` gives them."""
from __future__ import annotations

import copy
import json
import subprocess
import sys
from pathlib import Path

import nbformat
import pytest

from autograder.config import load_config
from autograder.course.notebooks import read_notebook
from autograder.course.release import check_release, release
from autograder.grading.assemble import read_submission
from autograder.results import NoteKind
from autograder.run.batch import grade_path

MINORS = (0, 1, 2, 3, 4, 5)
NBGRADER = Path(sys.executable).parent / "nbgrader"
CONFIG = 'course_id = "formats"\nassignment = "ps1"\ndue = ""\n'
RIGHT = "def squares(n):\n    return [i * i for i in range(1, n + 1)]\n"
WRONG = "def squares(n):\n    return [i * i for i in range(n)]\n"          # off by one: starts at 0


def _meta(grade_id: str, *, solution: bool = False, grade: bool = False, points: float = 0.0) -> dict:
    meta = {"grade": grade, "grade_id": grade_id, "locked": not solution, "schema_version": 3, "solution": solution}
    return {"nbgrader": {**meta, **({"points": points} if grade else {})}}


def _cell(kind: str, source: str, metadata: dict | None = None) -> dict:
    cell = {"cell_type": kind, "metadata": metadata or {}, "source": source}
    return {**cell, "execution_count": None, "outputs": []} if kind == "code" else cell


def notebook_json(minor: int, cells: list[dict]) -> str:
    """A notebook written exactly as nbformat 4.`minor` has it: cell ids only from 4.5 on."""
    cells = copy.deepcopy(cells)
    if minor >= 5:
        for i, cell in enumerate(cells):
            cell["id"] = f"c{i}"
    meta = {"kernelspec": {"display_name": "Python 3", "language": "python", "name": "python3"}}
    return json.dumps({"cells": cells, "metadata": meta, "nbformat": 4, "nbformat_minor": minor}, indent=1)


def squares_cells(minor: int, answer: str) -> list[dict]:
    return [_cell("markdown", f"# Squares in nbformat 4.{minor}"),
            _cell("code", answer, _meta("squares", solution=True)),
            _cell("code", "assert squares(3) == [1, 4, 9]", _meta("test_squares", grade=True, points=1.0))]


SOURCE_ANSWER = "def squares(n):\n    ### BEGIN SOLUTION\n    return [i * i for i in range(1, n + 1)]\n    ### END SOLUTION\n"


def _course(root: Path, notebooks: dict[str, str]) -> Path:
    (root / "source" / "ps1").mkdir(parents=True)
    (root / "grader_config.py").write_text(CONFIG)
    for name, text in notebooks.items():
        (root / "source" / "ps1" / f"{name}.ipynb").write_text(text)
    return root


def _answered(release_text: str, answer: str) -> str:
    """The released notebook (as written, format untouched) with its answer cell replaced."""
    data = json.loads(release_text)
    for cell in data["cells"]:
        if cell["metadata"].get("nbgrader", {}).get("grade_id") == "squares":
            cell["source"] = answer
    return json.dumps(data, indent=1)


@pytest.mark.slow
def test_every_minor_version_is_released_and_graded_in_its_own_format(tmp_path: Path) -> None:
    course = _course(tmp_path / "course", {f"p4{m}": notebook_json(m, squares_cells(m, SOURCE_ANSWER))
                                           for m in MINORS})
    config = load_config(course)
    release(config=config)
    for m in MINORS:
        for folder in ("source", "release"):
            path = course / folder / "ps1" / f"p4{m}.ipynb"
            data = json.loads(path.read_text())
            assert (data["nbformat"], data["nbformat_minor"]) == (4, m), path
            assert all(("id" in c) == (m >= 5) for c in data["cells"]), path     # ids only where 4.m has them
            read_notebook(path)                                                 # validates against 4.m's schema
        released = json.loads((course / "release" / "ps1" / f"p4{m}.ipynb").read_text())
        assert "BEGIN SOLUTION" not in json.dumps(released)
    assert not release(config=config, check=True) and not check_release(config=config)   # deterministic

    submitted = tmp_path / "submitted"
    for student, answer, minors in (("right", RIGHT, MINORS), ("wrong", WRONG, (0, 4))):
        folder = submitted / student / "ps1"
        folder.mkdir(parents=True)
        for m in minors:
            text = (course / "release" / "ps1" / f"p4{m}.ipynb").read_text()
            (folder / f"p4{m}.ipynb").write_text(_answered(text, answer))
    report = grade_path(config=config, path=submitted, progress=False, workers=2)
    assert report.ok and not report.unmatched
    scores = {(r.student, nb.notebook): nb.score for r in report.results for nb in r.notebooks}
    assert scores == {**{("right", f"p4{m}"): 1.0 for m in MINORS}, **{("wrong", f"p4{m}"): 0.0 for m in MINORS}}
    right = {nb.notebook: nb for r in report.results if r.student == "right" for nb in r.notebooks}
    assert all(t.status == "passed" for nb in right.values() for t in nb.tests)
    notes = [n for r in report.results for nb in r.notebooks for n in nb.notes if n.kind is NoteKind.REPAIR]
    assert notes == []                                                   # nothing needed repairing


def test_a_4_0_source_with_ids_from_an_older_release_is_repaired(tmp_path: Path) -> None:
    broken = json.loads(notebook_json(0, squares_cells(0, SOURCE_ANSWER)))
    for i, cell in enumerate(broken["cells"]):
        cell["id"] = f"x{i}"                                              # what the old release wrote into 4.0
    course = _course(tmp_path / "course", {"p1": json.dumps(broken)})
    kept = tmp_path / "broken.ipynb"
    kept.write_text(json.dumps(broken))
    with pytest.raises(nbformat.ValidationError):
        read_notebook(kept)
    config = load_config(course)
    assert check_release(config=config).source == ("source/ps1/p1.ipynb",)      # reported stale, not a traceback
    release(config=config)
    for folder in ("source", "release"):
        data = json.loads((course / folder / "ps1" / "p1.ipynb").read_text())
        assert data["nbformat_minor"] == 0 and not any("id" in c for c in data["cells"])
        read_notebook(course / folder / "ps1" / "p1.ipynb")
    assert not release(config=config, check=True)
    # nbgrader's generate_assignment (nbconvert) relaxes nbformat's cached 4.0 schema for the whole
    # process; release restores it, so the same file is refused after a release as before it
    with pytest.raises(nbformat.ValidationError):
        read_notebook(kept)


def test_a_4_x_submission_with_ids_is_read_with_a_repair_note(tmp_path: Path) -> None:
    plain = tmp_path / "plain.ipynb"
    plain.write_text(notebook_json(2, squares_cells(2, RIGHT)))
    nb, notes = read_submission(plain)
    assert nb.nbformat_minor == 2 and notes == ()
    with_ids = json.loads(plain.read_text())
    for i, cell in enumerate(with_ids["cells"]):
        cell["id"] = f"x{i}"
    bad = tmp_path / "with_ids.ipynb"
    bad.write_text(json.dumps(with_ids))
    nb, notes = read_submission(bad)
    assert [n.kind for n in notes] == [NoteKind.REPAIR] and "4.2" in notes[0].text
    assert not any("id" in c for c in nb.cells)
    nbformat.validate(nb)


# ---- nbgrader's own fixtures -------------------------------------------------------------------

def _nbgrader_files() -> Path | None:
    import nbgrader

    files = Path(nbgrader.__file__).parent / "tests" / "apps" / "files"
    return files if (files / "submitted-unchanged.ipynb").is_file() else None


FIXTURES = ("unchanged", "changed", "cheat-attempt", "cheat-attempt-alternative")
EXPECTED = {"unchanged": 1.0, "changed": 2.0, "cheat-attempt": 1.0, "cheat-attempt-alternative": 1.0}


def _equivalent_fixture(kind: str) -> str:
    """Where the nbgrader wheel does not ship its test files: a 4.0 notebook with the same cells
    (answer set_a; tests foo and bar; manually graded baz and quux; locked ro1 and ro2)."""
    answers = {"unchanged": ("# YOUR CODE HERE\nraise NotImplementedError()", "YOUR ANSWER HERE",
                             "# YOUR CODE HERE\nraise NotImplementedError()"),
               "changed": ("a = 1", "An answer!", "b = 2"),
               "cheat-attempt": ("import IPython.core.interactiveshell\nIPython.core.interactiveshell."
                                 "InteractiveShell.showtraceback = lambda *args, **kwargs : None", "An answer!", "b = 2"),
               "cheat-attempt-alternative": ("import IPython.core.interactiveshell\nIPython.core.interactiveshell."
                                             "InteractiveShell.showtraceback = None", "An answer!", "b = 2")}[kind]
    cells = [_cell("code", answers[0], _meta("set_a", solution=True)),
             _cell("code", 'print("Success!")', _meta("foo", grade=True, points=1.0)),
             _cell("code", "assert a == 1", _meta("bar", grade=True, points=1.0)),
             _cell("markdown", answers[1], _meta("baz", solution=True, grade=True, points=2.0)),
             _cell("code", answers[2], _meta("quux", solution=True, grade=True, points=3.0)),
             _cell("code", "print(\"Don't change this cell!\")", _meta("ro1")),
             _cell("markdown", "This cell shouldn't be changed.", _meta("ro2"))]
    for cell in cells:
        cell["metadata"]["nbgrader"]["locked"] = cell["metadata"]["nbgrader"]["grade_id"] in ("ro1", "ro2")
    return notebook_json(0, cells)


def _fixture(kind: str) -> str:
    files = _nbgrader_files()
    return (files / f"submitted-{kind}.ipynb").read_text() if files else _equivalent_fixture(kind)


def _nbgrader_scores(root: Path) -> dict[str, dict[str, float | None]]:
    """Real `nbgrader generate_assignment` + `nbgrader autograde` on the fixtures: student -> cell -> auto score."""
    from nbgrader.api import Gradebook

    (root / "source" / "ps1").mkdir(parents=True)
    (root / "source" / "ps1" / "p1.ipynb").write_text(_fixture("unchanged"))
    for kind in FIXTURES:
        (root / "submitted" / kind / "ps1").mkdir(parents=True)
        (root / "submitted" / kind / "ps1" / "p1.ipynb").write_text(_fixture(kind))
    db = f"sqlite:///{root / 'gradebook.db'}"
    flags = [f"--CourseDirectory.root={root}", f"--CourseDirectory.db_url={db}"]
    for step in ("generate_assignment", "autograde"):
        done = subprocess.run([str(NBGRADER), step, "ps1", *flags], cwd=root, capture_output=True, text=True,
                              timeout=600, check=False)
        assert done.returncode == 0, done.stdout + done.stderr
    with Gradebook(db) as gb:
        return {kind: {g.name: g.auto_score for g in gb.find_submission_notebook("p1", "ps1", kind).grades}
                for kind in FIXTURES}


@pytest.mark.slow
def test_nbgraders_fixtures_grade_as_nbgrader_grades_them(tmp_path: Path) -> None:
    theirs = _nbgrader_scores(tmp_path / "nbgrader")
    assert {k: sum(v or 0 for v in cells.values()) for k, cells in theirs.items()} == EXPECTED

    course = _course(tmp_path / "course", {"p1": _fixture("unchanged")})
    assert json.loads(_fixture("unchanged"))["nbformat_minor"] == 0
    config = load_config(course)
    release(config=config)                         # a 4.0 notebook: released as 4.0, no ids
    assert not check_release(config=config)
    for kind in FIXTURES:
        (tmp_path / "submitted" / kind / "ps1").mkdir(parents=True)
        (tmp_path / "submitted" / kind / "ps1" / "p1.ipynb").write_text(_fixture(kind))
    report = grade_path(config=config, path=tmp_path / "submitted", progress=False, workers=2)
    assert not report.failed and not report.unmatched
    ours = {r.student: {t.test: t.points for t in r.notebooks[0].tests} for r in report.results}
    assert {k: sum(cells.values()) for k, cells in ours.items()} == EXPECTED
    for kind in FIXTURES:         # every cell nbgrader scores automatically, ours scores the same
        auto = {cell: score for cell, score in theirs[kind].items() if score is not None}
        assert {cell: ours[kind][cell] for cell in auto} == auto, kind
    # the manually graded answers baz and quux are answers, not edited tests: kept, never restored,
    # and where nbgrader leaves them to a TA (auto score None) they wait for one, typed
    by_student = {r.student: r.notebooks[0] for r in report.results}
    for kind in FIXTURES:
        nb = by_student[kind]
        assert not [n for n in nb.notes if n.kind is NoteKind.TAMPERING], (kind, nb.notes)
        status = {t.test: t.status for t in nb.tests}
        assert {c for c, score in theirs[kind].items() if score is None} == \
            {t for t, st in status.items() if st == "manual"}, kind
    assert {t.test: t.status for t in by_student["changed"].tests if t.test in ("baz", "quux")} == \
        {"baz": "manual", "quux": "manual"}
    assert NoteKind.MANUAL in {n.kind for n in by_student["changed"].notes}
    assert NoteKind.MANUAL not in {n.kind for n in by_student["unchanged"].notes}     # nothing to mark


# ---- the release is checked before grading ------------------------------------------------------

AUTOGRADER = Path(sys.executable).parent / "autograder"


def _cli(course: Path, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run([str(AUTOGRADER), *args], cwd=course, capture_output=True, text=True, timeout=600,
                          check=False)


@pytest.mark.slow
def test_grade_refuses_a_stale_release_unless_allowed(tmp_path: Path) -> None:
    course = _course(tmp_path / "course", {"p1": notebook_json(5, squares_cells(5, SOURCE_ANSWER))})
    assert _cli(course, "release").returncode == 0
    folder = tmp_path / "submitted" / "alice" / "ps1"
    folder.mkdir(parents=True)
    (folder / "p1.ipynb").write_text(_answered((course / "release" / "ps1" / "p1.ipynb").read_text(), RIGHT))

    fresh = _cli(course, "grade", str(tmp_path / "submitted"), "--no-progress")        # the honest control
    assert fresh.returncode == 0 and "stale" not in fresh.stderr, fresh.stdout + fresh.stderr

    source = course / "source" / "ps1" / "p1.ipynb"          # a test changed after the release went out
    source.write_text(source.read_text().replace("[1, 4, 9]", "[1, 4, 9, 16]"))
    refused = _cli(course, "grade", str(tmp_path / "submitted"), "--no-progress", "--force")
    assert refused.returncode == 1, refused.stdout + refused.stderr
    assert "release/ps1 is stale against source/" in refused.stderr and "`autograder release`" in refused.stderr
    assert "--allow-stale" in refused.stderr and refused.stdout == ""

    allowed = _cli(course, "grade", str(tmp_path / "submitted"), "--no-progress", "--force", "--allow-stale")
    assert allowed.returncode == 0, allowed.stdout + allowed.stderr
    assert "WARNING: release/ps1 is stale" in allowed.stderr and "tests they were never given" in allowed.stderr
    import sqlite3

    with sqlite3.connect(course / "gradebook.db") as db:     # graded with the unreleased test, as warned
        assert db.execute("select score from autograder_submissions where student='alice'").fetchone() == (0.0,)
    help_text = _cli(course, "grade", "--help").stdout
    assert "--allow-stale" in help_text and "never have received" in " ".join(help_text.split())
