"""An unchanged re-grade is answered from the raw notebook JSON and the recorded keys alone.

The plain reader (`read_plain`) gives the spec and the source digest of the full one (nbformat) on the
course's notebooks, tests' factories and nbformat 4.0-4.5; the stdlib reader of the recorded keys gives
the gradebook's; a changed submission, source, config or a missing result still goes past the fast path;
and the CLI's unchanged re-grade imports none of nbformat, SQLAlchemy, numpy, TensorFlow or nbgrader."""
from __future__ import annotations

import dataclasses
import json
import os
import shutil
import sqlite3
import subprocess
import sys
from pathlib import Path

import nbformat
import pytest
from factories import source_and_release
from test_gradebook import _result
from test_nbformat_versions import (
    MINORS,
    RIGHT,
    SOURCE_ANSWER,
    _answered,
    _course,
    notebook_json,
    squares_cells,
)

from autograder.config import load_config
from autograder.course.notebooks import (
    NotPlainJSON,
    load_source,
    notebook_spec,
    read_notebook,
    read_plain,
)
from autograder.errors import ReleaseError
from autograder.grading.keys import source_digest
from autograder.grading.recorded import sqlite_result_keys

COURSE_ROOT = Path(__file__).resolve().parents[1]
HEAVY = ("nbformat", "jsonschema", "sqlalchemy", "numpy", "tensorflow", "keras", "nbgrader", "jupyter_client")
REAL_NOTEBOOKS = sorted((COURSE_ROOT / "source").glob("*/*.ipynb")) + sorted((COURSE_ROOT / "release").glob("*/*.ipynb"))


def _spec_or_refusal(path: Path, nb):
    try:
        return notebook_spec(path.stem, path, nb)
    except ReleaseError as exc:
        return str(exc)


def _assert_same_reading(path: Path, tmp_path: Path) -> None:
    """The plain read of `path` gives the full read's source digest and spec."""
    alone, empty = tmp_path / f"alone-{path.stem}", tmp_path / "no-solutions"
    alone.mkdir()
    empty.mkdir(exist_ok=True)
    shutil.copy(path, alone / path.name)
    assert source_digest(alone, empty, read=read_plain) == source_digest(alone, empty)
    assert _spec_or_refusal(path, read_plain(path)) == _spec_or_refusal(path, read_notebook(path))


@pytest.mark.parametrize("path", REAL_NOTEBOOKS, ids=lambda p: f"{p.parent.parent.name}/{p.name}")
def test_the_plain_read_of_each_course_notebook_gives_the_full_digest_and_spec(path: Path, tmp_path: Path) -> None:
    _assert_same_reading(path, tmp_path)


def test_the_plain_read_of_the_course_gives_its_spec_and_source_digest() -> None:
    config = load_config(COURSE_ROOT)
    (plain_spec, _), (spec, _) = load_source(config, read=read_plain), load_source(config)
    assert plain_spec == spec and plain_spec.cell_ids() == spec.cell_ids()
    solutions = COURSE_ROOT / "solutions"
    assert source_digest(spec.source_dir, solutions, read=read_plain) == source_digest(spec.source_dir, solutions)


@pytest.mark.parametrize("minor", MINORS)
def test_every_minor_version_reads_the_same_as_written_and_as_nbformat_writes_it(minor: int, tmp_path: Path) -> None:
    written = tmp_path / f"p4{minor}.ipynb"
    written.write_text(notebook_json(minor, squares_cells(minor, SOURCE_ANSWER)))
    _assert_same_reading(written, tmp_path)
    # nbformat's writer splits sources into lines; transient metadata is dropped by both readers
    as_nbformat_writes = json.loads(nbformat.writes(nbformat.read(str(written), as_version=nbformat.NO_CONVERT)))
    as_nbformat_writes["metadata"].update(orig_nbformat=3, signature="sha256:00")
    as_nbformat_writes["cells"][1]["metadata"]["trusted"] = True
    rewritten = _write(tmp_path / f"lines-p4{minor}.ipynb", as_nbformat_writes)
    assert isinstance(as_nbformat_writes["cells"][1]["source"], list)
    _assert_same_reading(rewritten, tmp_path)


def test_the_factories_notebooks_read_the_same(tmp_path: Path) -> None:
    for name, nb in zip(("source", "release"), source_and_release()):
        path = tmp_path / f"{name}.ipynb"
        nbformat.write(nb, str(path))
        _assert_same_reading(path, tmp_path)


def _write(path: Path, nb: dict) -> Path:
    path.write_text(json.dumps(nb))
    return path


@pytest.mark.parametrize("case", ["4.5 without an id", "4.5 with a repeated id", "4.4 with an id", "nbformat 3",
                                  "not JSON", "source of numbers", "a BOM"])
def test_what_nbformat_would_convert_repair_or_refuse_is_left_to_it(case: str, tmp_path: Path) -> None:
    nb = json.loads(notebook_json(5, squares_cells(5, SOURCE_ANSWER)))
    path = tmp_path / "nb.ipynb"
    if case == "4.5 without an id":
        del nb["cells"][0]["id"]
    elif case == "4.5 with a repeated id":
        nb["cells"][1]["id"] = nb["cells"][0]["id"]
    elif case == "4.4 with an id":
        nb["nbformat_minor"] = 4
    elif case == "nbformat 3":
        nb["nbformat"] = 3
    elif case == "source of numbers":
        nb["cells"][0]["source"] = [1, 2]
    _write(path, nb)
    if case == "not JSON":
        path.write_text("{")
    elif case == "a BOM":
        path.write_bytes(b"\xef\xbb\xbf" + path.read_bytes())
    with pytest.raises(NotPlainJSON):
        read_plain(path)


def test_the_stdlib_reader_gives_the_gradebooks_keys(tmp_path: Path) -> None:
    from autograder.gradebook import SCHEMA_VERSION, Gradebook, recorded_result_keys

    config = load_config(COURSE_ROOT).with_gradebook(tmp_path / "gb.db")
    path, assignment = config.gradebook_path, config.assignment
    assert sqlite_result_keys(path, assignment) == {}                     # no gradebook yet
    spec, _ = load_source(config)
    with Gradebook(config) as gb:
        gb.sync_assignment(spec)
        for student in ("ann", "bob", "cal"):
            gb.record(dataclasses.replace(_result(spec, student), result_key=f"key-{student}"))
    db = sqlite3.connect(path)      # nbgrader no longer holds cal's submission: cal has no key
    db.execute("DELETE FROM submitted_assignment WHERE student_id = 'cal'")
    db.commit()
    db.close()
    with Gradebook(config) as gb:
        held = gb.result_keys(assignment)
    assert held == {"ann": "key-ann", "bob": "key-bob"}
    assert sqlite_result_keys(path, assignment) == held == recorded_result_keys(config, assignment)
    assert sqlite_result_keys(path, "another") == {}
    db = sqlite3.connect(path)
    db.execute("UPDATE autograder_schema SET version = ?", (SCHEMA_VERSION + 1,))
    db.commit()
    db.close()
    assert sqlite_result_keys(path, assignment) == {} == recorded_result_keys(config, assignment)


def test_the_release_check_and_the_data_stage_find_the_same_cache(monkeypatch, tmp_path: Path) -> None:
    from autograder.course import release, templating
    from autograder.data.download import CACHE_ENV, cache_dir

    config = load_config(COURSE_ROOT)
    monkeypatch.setenv(CACHE_ENV, str(tmp_path / "cache"))
    assert config.data.cache_path == cache_dir(config.data.cache_dir) == tmp_path / "cache"
    monkeypatch.delenv(CACHE_ENV)
    assert config.data.cache_path == cache_dir(config.data.cache_dir)
    assert release._DISTRIBUTION == templating.DISTRIBUTION


# ---- a graded course: the fast path, what goes past it, and what the process imports --------------
class _PastTheFastPath(Exception):
    pass


@pytest.fixture(scope="module")
def graded_course(tmp_path_factory):
    """A course of one nbformat 4.5 and one 4.0 notebook, released, with alice's submission graded."""
    from autograder.course.release import check_release, release
    from autograder.run.batch import grade_path

    root = tmp_path_factory.mktemp("unchanged") / "course"
    course = _course(root, {f"p4{m}": notebook_json(m, squares_cells(m, SOURCE_ANSWER)) for m in (0, 5)})
    config = load_config(course)
    release(config=config)
    assert not check_release(config=config)         # remembered as current: the next check is a few stats
    folder = course / "submitted" / "alice" / config.assignment
    folder.mkdir(parents=True)
    for name in ("p40", "p45"):
        text = (course / "release" / config.assignment / f"{name}.ipynb").read_text()
        (folder / f"{name}.ipynb").write_text(_answered(text, RIGHT))
    first = grade_path(config=config, path=course / "submitted", progress=False)
    assert [r.student for r in first.results] == ["alice"] and first.ok
    return config, course


def _regrade(config, course: Path, monkeypatch):
    """grade_path on the batch, from scratch (no context); raises _PastTheFastPath when it has work."""
    from autograder.run import batch

    def refuse(_config):
        raise _PastTheFastPath

    with monkeypatch.context() as patched:
        patched.setattr(batch, "_load_context", refuse)
        return batch.grade_path(config=config, path=course / "submitted", progress=False)


@pytest.mark.slow
def test_an_unchanged_batch_is_answered_without_loading_the_course(graded_course, monkeypatch) -> None:
    config, course = graded_course
    again = _regrade(config, course, monkeypatch)
    assert again.results == () and again.unchanged == ("alice",)
    # a presentation key is in no result key
    retitled = dataclasses.replace(config, course=dataclasses.replace(config.course, title="Another title"))
    assert retitled.grade_digest == config.grade_digest
    assert _regrade(retitled, course, monkeypatch).unchanged == ("alice",)


@pytest.mark.slow
def test_a_change_that_can_change_a_grade_goes_past_the_fast_path(graded_course, monkeypatch) -> None:
    config, course = graded_course
    with pytest.raises(_PastTheFastPath):                                   # the config's grade digest
        _regrade(dataclasses.replace(config, seed=config.seed + 1), course, monkeypatch)
    submitted = course / "submitted" / "alice" / config.assignment / "p45.ipynb"
    source = course / "source" / config.assignment / "p40.ipynb"
    solutions = course / "solutions"
    for path, change in ((submitted, lambda t: t.replace("range(1, n + 1)", "range(1, n+1)")),
                         (source, lambda t: t.replace("assert squares(3)", "assert  squares(3)"))):
        original, stat = path.read_text(), path.stat()
        try:
            path.write_text(change(original))
            assert path.read_text() != original
            with pytest.raises(_PastTheFastPath):
                _regrade(config, course, monkeypatch)
        finally:       # the file's time too: without timestamp.txt, it is the submission's time
            path.write_text(original)
            os.utime(path, ns=(stat.st_atime_ns, stat.st_mtime_ns))
    solutions.mkdir(exist_ok=True)
    try:
        (solutions / "squares.py").write_text("REFERENCES = {}\n")            # the solutions are in the key
        with pytest.raises(_PastTheFastPath):
            _regrade(config, course, monkeypatch)
    finally:
        shutil.rmtree(solutions)
    bob = course / "submitted" / "bob"
    shutil.copytree(course / "submitted" / "alice", bob)                      # a submission with no result
    try:
        with pytest.raises(_PastTheFastPath):
            _regrade(config, course, monkeypatch)
    finally:
        shutil.rmtree(bob)
    assert _regrade(config, course, monkeypatch).unchanged == ("alice",)     # everything restored


@pytest.mark.slow
def test_the_cli_regrades_an_unchanged_batch_without_the_heavy_packages(graded_course) -> None:
    from autograder.course.release import check_release

    config, course = graded_course
    assert not check_release(config=config)     # the course as last found current (other tests touch files)
    script = ("import json, sys\nfrom autograder.cli import main\n"
              f"code = main(['--course-root', {str(course)!r}, 'grade', 'submitted'])\n"
              f"heavy = sorted({{m.split('.')[0] for m in sys.modules}} & set({list(HEAVY)!r}))\n"
              "print('HEAVY', json.dumps(heavy))\nsys.exit(code)\n")
    done = subprocess.run([sys.executable, "-c", script], cwd=course, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "1 submissions unchanged since they were graded" in done.stdout
    assert done.stdout.splitlines()[-1] == "HEAVY []", done.stdout
