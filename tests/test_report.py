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
    note_kind,
    render_report,
    write_report,
)

INJECTED = '<script>window.__injected = 1</script> rnn_forward returned the wrong shape'
EDITED = "test cell 'test_rnn_forward_visible' was edited; the original was restored"
TIMED_OUT = "cell 'rnn_forward' ran past its time limit and was interrupted"
UNSANDBOXED = "WARNING: graded without a sandbox (no network/mount/PID isolation available)"


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
                             notes=(EDITED, TIMED_OUT, UNSANDBOXED), late_s=7200.0, penalty=2.0, runtime_s=4.0),
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
        ("not graded", "cal"), ("tampering", "ben"), ("timeout", "ben"), ("late", "ben")}
    assert report.unsandboxed == 1 and report.pairs is None
    ben = {s.student: s for s in report.students}["ben"]
    assert (ben.penalty, ben.final_score, ben.score - ben.final_score) == (2.0, ben.score - 2.0, 2.0)
    assert set(ben.flags) == {"tampering", "timeout", "late"}
    assert note_kind("FLAG: the notebook reported accuracy 0.9500, but ...") == "reported metric"
    assert note_kind("the kernel died in cell 4 (crash, os._exit or out of memory)") == "kernel died"


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
