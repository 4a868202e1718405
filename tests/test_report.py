"""The class report from a recorded gradebook: rates, flags, escaping, hidden reasons left out, CLI."""
from __future__ import annotations

import re
from pathlib import Path

import nbformat
import pytest
from report_factories import TOPIC1, synthetic_result

from autograder.cli import main
from autograder.config import load_config
from autograder.course.notebooks import load_source, read_notebook
from autograder.errors import AutograderError
from autograder.gradebook import Gradebook
from autograder.qa.samples import fill, reference_answers
from autograder.reports.report import (
    build_report,
    render_report,
    write_report,
)
from autograder.results import Note, NoteKind

INJECTED = '<script>window.__injected = 1</script> rnn_forward returned the wrong shape'
EDITED = Note(NoteKind.TAMPERING, "test cell 'test_rnn_forward_visible' was edited; the original was restored")
DUPLICATED = Note(NoteKind.TAMPERING, "test cell 'test_rnn_forward_visible' appears 2 times; it was run once")
TIMED_OUT = Note(NoteKind.TIMEOUT, "cell 'rnn_forward' ran past its time limit and was interrupted")
UNSANDBOXED = Note(NoteKind.SANDBOX, "WARNING: graded without a sandbox (no network/mount/PID isolation available)")
KEPT = Note(NoteKind.INTAKE, "01_rnn_basics: kept 01_rnn_basics (1).ipynb (2026-12-12T09:00:00+00:00), "
                             "ignored 01_rnn_basics.ipynb")
STAMPED = Note(NoteKind.TIMESTAMP, "submitted 2026-12-12T09:00:00+00:00 (nbgrader's timestamp.txt)")


def _record(config, *results) -> None:
    spec, _ = load_source(config)
    with Gradebook(config) as gb:
        gb.sync_assignment(spec)
        for r in results:
            gb.record(r)


@pytest.fixture
def recorded(tmp_path: Path, course_root: Path):
    config = load_config(course_root).with_gradebook(tmp_path / "gb.db")
    spec, _ = load_source(config)
    _record(config,
            synthetic_result(spec, "ann"),
            synthetic_result(spec, "ben", lost={"test_rnn_forward_visible": INJECTED,
                                                "test_rnn_forward_hidden": "hidden hint: h0 must be used"},
                             notes=(EDITED, DUPLICATED, TIMED_OUT, UNSANDBOXED), late_s=7200.0, penalty=2.0,
                             runtime_s=4.0, intake_notes=(KEPT, STAMPED)),
            synthetic_result(spec, "cal", problem="not graded: the notebook is not valid JSON"))
    return config, spec


def test_rates_count_the_notebooks_handed_in(recorded) -> None:
    config, spec = recorded
    report = build_report(config=config)
    assert len(report.tests) == sum(len(nb.tests) for nb in spec.notebooks)
    rates = {t.test: t for t in report.tests if t.notebook == TOPIC1}
    visible = rates["test_rnn_forward_visible"]
    assert (visible.passed, visible.attempted) == (1, 3)              # ann passed, ben failed, cal unreadable
    assert rates["test_rnn_cell_forward_visible"].rate == pytest.approx(2 / 3)
    assert all(t.attempted == 0 for t in report.tests if t.notebook != TOPIC1)
    topics = {nb: (p, a) for nb, p, a in report.topics()}
    n1 = len(spec.notebooks[0].tests)
    assert topics[TOPIC1] == (2 * n1 - 2, 3 * n1)
    assert {nb: len(v) for nb, v in report.runtimes.items()} == {TOPIC1: 2}      # cal never ran


def test_flags_students_and_late_penalty(recorded) -> None:
    config, _ = recorded
    report = build_report(config=config)
    assert {(f.kind, f.student) for f in report.flags} == {
        ("not graded", "cal"), ("tampering", "ben"), ("timeout", "ben"), ("late", "ben"), ("intake", "ben")}
    assert report.unsandboxed == 1 and report.pairs is None
    ben = {s.student: s for s in report.students}["ben"]
    assert (ben.penalty, ben.final_score, ben.score - ben.final_score) == (2.0, ben.score - 2.0, 2.0)
    assert set(ben.flags) == {"tampering", "timeout", "late", "intake"}
    flags = {(f.kind, f.student): f for f in report.flags}
    assert flags[("tampering", "ben")].details == (EDITED.text, DUPLICATED.text)    # a duplicate is tampering
    assert flags[("late", "ben")].details[1] == STAMPED.text                       # the time's source, no flag
    assert flags[("intake", "ben")].details == (KEPT.text,)
    assert flags[("not graded", "cal")].details == ("not graded: the notebook is not valid JSON",)


def test_flags_follow_the_kind_not_the_text(tmp_path: Path, course_root: Path) -> None:
    """A note's words never raise a flag: prose that reads like tampering under another kind raises
    none of tampering, and an innocently worded TAMPERING note is flagged."""
    config = load_config(course_root).with_gradebook(tmp_path / "gb.db")
    spec, _ = load_source(config)
    lookalike = Note(NoteKind.OTHER, "test cell 'x' was edited; the original was restored; the kernel died")
    honest = Note(NoteKind.TAMPERING, "cell order differs")
    _record(config, synthetic_result(spec, "dee", notes=(lookalike,)), synthetic_result(spec, "eve", notes=(honest,)),
            synthetic_result(spec, "fay", notes=(Note(NoteKind.KERNEL, "crashed"),
                                                  Note(NoteKind.METRIC, "reported 0.9, measured 0.7"))))
    kinds = {(f.kind, f.student) for f in build_report(config=config).flags}
    assert kinds == {("note", "dee"), ("tampering", "eve"), ("kernel died", "fay"), ("reported metric", "fay")}


def test_html_escapes_submissions_and_leaves_out_hidden_reasons(recorded) -> None:
    config, _ = recorded
    html = render_report(build_report(config=config))
    assert "&lt;script&gt;window.__injected = 1&lt;/script&gt; rnn_forward returned" in html
    assert "<script>window" not in html
    assert len(re.findall(r"<script\b", html)) == 1                       # only the sorting script
    assert "hidden hint" not in html                                     # hidden test: name and rate only
    assert "test_rnn_forward_hidden" in html
    assert "2 h 0 min" in html and "Not computed" in html
    assert not re.search(r"""(src|href)=["']?(https?:)?//""", html)        # nothing loaded from the network


def test_an_empty_gradebook_is_an_error(tmp_path: Path, course_root: Path) -> None:
    config = load_config(course_root).with_gradebook(tmp_path / "empty.db")
    with pytest.raises(AutograderError, match="no graded submissions"):
        build_report(config=config)
    assert not (tmp_path / "r.html").exists()


@pytest.mark.slow
def test_cli_report_with_similar_pairs(scratch_course: Path, tmp_path: Path, capsys) -> None:
    config = load_config(scratch_course)
    spec, sources = load_source(config)
    _record(config, synthetic_result(spec, "ann"), synthetic_result(spec, "ben"))
    answers = reference_answers(sources[TOPIC1])
    release = read_notebook(scratch_course / "release" / config.assignment / f"{TOPIC1}.ipynb")
    for student in ("ann", "ben"):
        folder = tmp_path / "submitted" / student / config.assignment
        folder.mkdir(parents=True)
        nbformat.write(fill(release, answers), str(folder / f"{TOPIC1}.ipynb"))
    out = tmp_path / "out" / "report.html"
    code = main(["--course-root", str(scratch_course), "report", "--output", str(out),
                 "--submissions", str(tmp_path / "submitted")])
    assert code == 0 and out.is_file()
    assert f"Wrote the class report of 2 submissions to {out}" in capsys.readouterr().out
    html = out.read_text()
    assert re.search(r"<td>ann</td><td>ben</td><td class=\"num\">100%</td>", html)
    assert "2 submissions compared; 1 pair(s)" in html
    code = main(["--course-root", str(scratch_course), "report", "--output", str(out),
                 "--submissions", str(tmp_path / "nowhere")])
    assert code == 2 and "no such file or folder" in capsys.readouterr().err
    assert out.read_text() == html                                       # the earlier report is kept


def test_write_report_replaces_the_file_whole(recorded, tmp_path: Path) -> None:
    config, _ = recorded
    out = tmp_path / "report.html"
    report = write_report(config=config, output=out)
    assert out.read_text().count("<tr>") >= len(report.students) + len(report.tests)
    assert not list(tmp_path.glob("*.partial"))
