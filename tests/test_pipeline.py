"""End to end on the real topic-1 notebook: the demo's samples get exactly their intended scores."""
from __future__ import annotations

import csv
import dataclasses
import html
import re
from pathlib import Path

import nbformat
import pytest

from autograder.config import Timeouts, load_config
from autograder.gradebook import Gradebook
from autograder.grading.pipeline import load_context
from autograder.qa.samples import TOPIC1, fill, reference_answers
from autograder.reports.export import CSV_COLUMNS, export_csv
from autograder.reports.feedback import write_feedback
from autograder.run.batch import grade_path
from rnn_basics_points import AUTOGRADED_MAX, FUNCTIONS, MAX, SPEC, exercise_points

pytestmark = pytest.mark.slow

VISIBLE = [f"test_{f}_visible" for f in FUNCTIONS]


def graded_tests_of(function: str) -> set[str]:
    return {f"test_{function}_visible", f"test_{function}_hidden", f"{function}_reference"}


# student -> the tests that must score 0 (every other test must score full points)
EXPECTED_LOST = {
    "alice_correct": set(),
    "bob_partly_wrong": graded_tests_of("lstm_cell_forward") | graded_tests_of("rnn_gradient_norms"),
    # the visible tests pass in her kernel, but no grader comparison confirms them
    "carol_hardcoded": {t for f in FUNCTIONS for t in graded_tests_of(f)},
    "dave_raises": graded_tests_of("rnn_forward"),
    "erin_corrupted": {t for f in FUNCTIONS for t in graded_tests_of(f)},
    "frank_edits_tests": {t for f in FUNCTIONS[1:] for t in graded_tests_of(f)},
}
EXPECTED_SCORE = {"alice_correct": AUTOGRADED_MAX,
                  "bob_partly_wrong": AUTOGRADED_MAX - exercise_points("lstm_cell_forward", "rnn_gradient_norms"),
                  "carol_hardcoded": 0, "dave_raises": AUTOGRADED_MAX - exercise_points("rnn_forward"),
                  "erin_corrupted": 0, "frank_edits_tests": exercise_points("rnn_cell_forward")}


@pytest.fixture(scope="module")
def graded(graded_samples):
    return graded_samples


def _n_tests(graded) -> int:
    return sum(len(nb.tests) for nb in graded[1].spec.notebooks)


def test_exact_scores_of_the_sample_set(graded) -> None:
    _, _, report, _ = graded
    results = {r.student: r for r in report.results}
    assert set(results) == set(EXPECTED_SCORE)
    for student, lost in EXPECTED_LOST.items():
        nb = results[student].notebooks[0]
        got_lost = {t.test for t in nb.tests if t.points == 0 and t.kind != "manual"}   # a TA grades the rest
        assert got_lost == lost, student
        assert nb.score == EXPECTED_SCORE[student], student
        assert all(t.points in (0, t.max_points) for t in nb.tests)


def test_reasons_say_what_happened(graded) -> None:
    _, _, report, _ = graded
    results = {r.student: r.notebooks[0] for r in report.results}
    erin = results["erin_corrupted"]
    assert "not valid JSON" in erin.problem and all(t.status == "error" for t in erin.tests)
    dave = {t.test: t for t in results["dave_raises"].tests}
    assert "IndexError" in dave["rnn_forward_reference"].reason
    frank = results["frank_edits_tests"]
    assert len([n for n in frank.notes if "edited" in n.text and n.kind.value == "tampering"]) == \
        sum(not t.manual for t in SPEC.tests)       # every test cell
    assert all("restored" in t.reason for t in frank.tests if t.kind != "manual")
    assert not report.ok and [r.student for r in report.failed] == ["erin_corrupted"]


def test_gradebook_agrees_with_nbgrader_and_records_provenance(graded) -> None:
    config, _, report, _ = graded
    with Gradebook(config) as gb:
        subs = {s.student: s for s in gb.submissions()}
        for r in report.results:
            assert gb.nbgrader_score(config.assignment, r.student) == pytest.approx(r.score)
            assert subs[r.student].score == pytest.approx(r.score)
            assert subs[r.student].config_digest == config.digest
            assert subs[r.student].autograder_version
        assert len(gb.results()) == 6 * _n_tests(graded)


def test_regrading_replaces_rows_without_duplicates(graded, tmp_path: Path) -> None:
    config, ctx, report, root = graded
    n_tests = _n_tests(graded)
    again = grade_path(config=config, path=root / "submitted", students=("alice_correct",),
                       progress=False, context=ctx, force=True)
    assert again.results[0].notebooks[0].tests == report.results[0].notebooks[0].tests
    with Gradebook(config) as gb:
        assert len(gb.results()) == 6 * n_tests
        assert len(gb.submissions()) == 6


def _hidden_source_lines(ctx, submitted: Path) -> list[str]:
    """Code lines that exist only in hidden tests or in the reference solutions (not in any submission)."""
    source = ctx.sources[TOPIC1]
    release_text = "\n".join(c.source for c in ctx.releases[TOPIC1].cells)
    release_text += "\n".join(p.read_text(errors="replace") for p in submitted.rglob("*.ipynb"))
    lines = []
    for cell in source.cells:
        for block in re.findall(r"### BEGIN HIDDEN TESTS\n(.*?)### END HIDDEN TESTS", cell.source, re.DOTALL):
            lines += [l.strip() for l in block.splitlines()]
    solutions = (Path(ctx.config.course_root) / "solutions" / "rnn_basics.py").read_text()
    lines += [l.strip() for l in solutions.splitlines()]
    return [l for l in lines if len(l) >= 25 and not l.startswith("#") and l not in release_text
            and not l.startswith(('"""', "'''")) and "assert" not in l]


def test_feedback_and_csv_never_show_hidden_source(graded, tmp_path: Path) -> None:
    config, ctx, _, root = graded
    out = tmp_path / "grades.csv"
    export_csv(config=config, output=out)
    with out.open() as handle:
        rows = list(csv.DictReader(handle))
    assert tuple(rows[0]) == CSV_COLUMNS and len(rows) == 6 * _n_tests(graded)
    pages = write_feedback(config=config, output_dir=tmp_path / "feedback")
    assert len(pages) == 6 * len(ctx.spec.notebooks)
    secret = _hidden_source_lines(ctx, root / "submitted")
    assert len(secret) > 20
    texts = [html.unescape(p.read_text()) for p in pages] + [out.read_text()]
    for text in texts:
        leaked = [line for line in secret if line in text]
        assert not leaked, leaked[:3]
        assert "Traceback" not in text or "hidden" not in text.split("Traceback")[0][-200:]
    bob = html.unescape((tmp_path / "feedback" / "bob_partly_wrong" / config.assignment / f"{TOPIC1}.html").read_text())
    # the autograded points and a 2-point written answer that a TA has not graded yet
    assert f"{EXPECTED_SCORE['bob_partly_wrong']:g} / {MAX:g}" in bob and "forget gate" in bob


def test_visible_failures_keep_their_traceback_hidden_ones_do_not(graded) -> None:
    _, _, report, _ = graded
    bob = {t.test: t for t in {r.student: r for r in report.results}["bob_partly_wrong"].notebooks[0].tests}
    assert bob["test_lstm_cell_forward_visible"].detail
    assert bob["test_lstm_cell_forward_hidden"].detail == "" and bob["lstm_cell_forward_reference"].detail == ""


def test_timeouts_come_from_the_config(tmp_path: Path, course_root: Path) -> None:
    config = load_config(course_root).with_gradebook(tmp_path / "gb.db")
    config = dataclasses.replace(config, timeouts=Timeouts(cell_s=3, notebook_s=120, cells={}))
    ctx = dataclasses.replace(load_context(config), config=config)
    answers = reference_answers(ctx.sources[TOPIC1])
    answers["rnn_forward"] = "import time\nwhile True:\n    time.sleep(0.05)"
    folder = tmp_path / "sub" / "slow" / config.assignment
    folder.mkdir(parents=True)
    nbformat.write(fill(ctx.releases[TOPIC1], answers), str(folder / f"{TOPIC1}.ipynb"))
    report = grade_path(config=config, path=tmp_path / "sub", progress=False, context=ctx)
    nb = report.results[0].notebooks[0]
    # the loop sits in an answer cell: rnn_forward is never defined, everything else still scores
    assert {t.test for t in nb.tests if t.points == 0 and t.kind != "manual"} == graded_tests_of("rnn_forward")
    assert nb.score == AUTOGRADED_MAX - exercise_points("rnn_forward") and report.ok
    assert any("rnn_forward" in note.text and note.kind.value == "timeout" for note in nb.notes)


def test_two_gradings_are_identical(graded, tmp_path: Path) -> None:
    config, ctx, report, root = graded
    other = config.with_gradebook(tmp_path / "again.db")
    again = grade_path(config=other, path=root / "submitted", students=("bob_partly_wrong",),
                       progress=False, context=ctx)
    first = {r.student: r for r in report.results}["bob_partly_wrong"]
    assert again.results[0].notebooks[0].tests == first.notebooks[0].tests


def test_unchanged_submissions_are_not_run_again(graded, monkeypatch) -> None:
    config, ctx, _, root = graded
    again = grade_path(config=config, path=root / "submitted", progress=False, context=ctx)
    assert again.results == () and set(again.unchanged) == set(EXPECTED_SCORE)
    # the unchanged batch is answered from the recorded keys alone: nbgrader's Gradebook is never opened
    with monkeypatch.context() as patched:
        def refuse(*_args, **_kwargs):
            raise AssertionError("an unchanged re-grade opened the Gradebook")
        patched.setattr("autograder.run.batch.Gradebook", refuse)
        fast = grade_path(config=config, path=root / "submitted", progress=False, context=ctx)
    assert fast.results == () and fast.unchanged == again.unchanged
    changed = root / "submitted" / "carol_hardcoded" / config.assignment / f"{TOPIC1}.ipynb"
    original = changed.read_bytes()
    try:
        changed.write_bytes(original.replace(b"0.9051482536448664", b"0.9051482536448665"))
        third = grade_path(config=config, path=root / "submitted", progress=False, context=ctx)
        assert [r.student for r in third.results] == ["carol_hardcoded"]
    finally:
        changed.write_bytes(original)


def test_two_workers_give_the_serial_grades(graded, tmp_path: Path) -> None:
    config, ctx, report, root = graded
    parallel = grade_path(config=config.with_gradebook(tmp_path / "parallel.db"), path=root / "submitted",
                          progress=False, context=ctx, workers=2)
    serial = {r.student: [n.tests for n in r.notebooks] for r in report.results}
    assert {r.student: [n.tests for n in r.notebooks] for r in parallel.results} == serial
