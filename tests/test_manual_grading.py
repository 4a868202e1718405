"""Manually graded answers end to end, by nbgrader's conventions: an answer cell that is also a grade
cell (``solution`` + ``grade``, points, no tests) and a ``task`` cell are parsed as their own kind,
kept as answers when assembling (never restored, never tampering), released as nbgrader releases
them, left waiting for a TA by `grade` (status ``manual``, ``auto_score`` None), and a TA's score
shows in every export, the class report and the feedback pages; a re-grade never loses it.

The real formgrader (a `jupyter server` with nbgrader's server extension) is in
test_a_ta_score_from_the_real_formgrader_survives_regrades.
"""
from __future__ import annotations

import copy
import csv
import json
import os
import secrets
import socket
import sqlite3
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

import nbformat
import pytest

from autograder.config import load_config
from autograder.course.notebooks import notebook_spec
from autograder.course.release import release
from autograder.errors import ReleaseError
from autograder.gradebook import Gradebook
from autograder.grading.assemble import assemble
from autograder.results import NoteKind

BIN = Path(sys.executable).parent
ASSIGNMENT, NOTEBOOK = "ps1", "p1"
DUE = "2026-12-11T23:59:00+00:00"
CONFIG = (f'course_id = "manual"\nassignment = "{ASSIGNMENT}"\ndue = "{DUE}"\n'
          'late_penalty = {"method": "per_day", "rate": 0.5, "grace_minutes": 0, "max_fraction": 1.0}\n')
ESSAY_PROMPT = "In two sentences: why do LSTMs keep the gradient alive?\n\n"
ESSAY_SOURCE = ESSAY_PROMPT + "### BEGIN SOLUTION\nThe cell path is additive; the forget gate stays near 1.\n### END SOLUTION"
ESSAY_ANSWER = ESSAY_PROMPT + "Because the cell state is updated by addition, gated by f."
RIGHT = "def squares(n):\n    return [i * i for i in range(1, n + 1)]\n"
SOLUTIONS = """import numpy as np


def squares(n):
    return np.array([i * i for i in range(1, n + 1)])


REFERENCES = {"squares": squares}
INPUT_GENERATORS = {"squares": lambda rng: {"n": int(rng.integers(1, 9))}}
"""


def _meta(gid: str, **flags) -> dict:
    meta = {"grade": False, "grade_id": gid, "locked": False, "schema_version": 3, "solution": False, "task": False}
    meta.update(flags)
    return {"nbgrader": meta}


def source_notebook() -> nbformat.NotebookNode:
    """An answer with a kernel test and the grader's comparison that confirms it (1 point each), a written
    answer (2 points, manual), a task (1 point) and a locked cell."""
    nb = nbformat.v4.new_notebook()
    nb.metadata["kernelspec"] = {"display_name": "Python 3", "language": "python", "name": "python3"}
    nb.cells = [
        nbformat.v4.new_markdown_cell("# Squares", id="intro"),
        nbformat.v4.new_code_cell("def squares(n):\n    ### BEGIN SOLUTION\n    return [i * i for i in range(1, n + 1)]\n"
                                  "    ### END SOLUTION\n", id="squares", metadata=_meta("squares", solution=True)),
        nbformat.v4.new_code_cell("assert list(squares(3)) == [1, 4, 9]", id="test_squares",
                                  metadata={**_meta("test_squares", grade=True, locked=True, points=1.0),
                                            "autograder": {"exercise": "squares"}}),
        nbformat.v4.new_code_cell("# Checked by the grader", id="squares_reference",
                                  metadata={**_meta("squares_reference", grade=True, locked=True, points=1.0),
                                            "autograder": {"probe": "squares"}}),
        nbformat.v4.new_markdown_cell(ESSAY_SOURCE, id="essay",
                                      metadata=_meta("essay", grade=True, solution=True, points=2.0)),
        nbformat.v4.new_markdown_cell("Plot the squares and describe the curve (graded by a TA).", id="plot_task",
                                      metadata=_meta("plot_task", task=True, locked=True, points=1.0)),
        nbformat.v4.new_markdown_cell("Do not change this cell.", id="ro", metadata=_meta("ro", locked=True)),
    ]
    return nb


def make_course(root: Path) -> Path:
    (root / "source" / ASSIGNMENT).mkdir(parents=True)
    (root / "grader_config.py").write_text(CONFIG)
    nbformat.write(source_notebook(), str(root / "source" / ASSIGNMENT / f"{NOTEBOOK}.ipynb"))
    (root / "solutions").mkdir()
    (root / "solutions" / f"{NOTEBOOK}.py").write_text(SOLUTIONS)
    return root


def answered(release_nb: nbformat.NotebookNode, answers: dict[str, str]) -> nbformat.NotebookNode:
    nb = copy.deepcopy(release_nb)
    for cell in nb.cells:
        gid = cell.metadata.get("nbgrader", {}).get("grade_id")
        if gid in answers:
            cell.source = answers[gid]
    return nb


def hand_in(folder: Path, student: str, nb: nbformat.NotebookNode, *, submitted: str) -> None:
    target = folder / student / ASSIGNMENT
    target.mkdir(parents=True, exist_ok=True)
    nbformat.write(nb, str(target / f"{NOTEBOOK}.ipynb"))
    (target / "timestamp.txt").write_text(submitted)


ON_TIME, ONE_DAY_LATE = "2026-12-11 20:00:00.000000 UTC", "2026-12-12 12:00:00.000000 UTC"


def _cli(course: Path, *args: str) -> subprocess.CompletedProcess:
    done = subprocess.run([str(BIN / "autograder"), *args], cwd=course, capture_output=True, text=True,
                          timeout=900, check=False)
    return done


# ---- parsing -----------------------------------------------------------------------------------

def test_manual_cells_are_their_own_kind_of_grade_cell(tmp_path: Path) -> None:
    spec = notebook_spec(NOTEBOOK, tmp_path / "p1.ipynb", source_notebook())
    tests = {t.grade_id: t for t in spec.tests}
    assert set(tests) == {"test_squares", "squares_reference", "essay", "plot_task"}
    assert (tests["essay"].manual, tests["essay"].task, tests["essay"].cell_type) == (True, False, "markdown")
    assert (tests["plot_task"].manual, tests["plot_task"].task) == (True, True)
    assert not tests["test_squares"].manual and not any(t.grader_side for t in spec.tests if t.manual)
    assert spec.max_points == 5.0 and "essay" in spec.solutions       # an answer too, as nbgrader stores it
    # manual cells with points and no grader-side check load (a TA's grade needs no confirmation),
    # also when one names an exercise that nothing checks ...
    nb = source_notebook()
    del nb.cells[2:4]                                                 # no kernel test, no grader check
    nb.cells[2].metadata["autograder"] = {"exercise": "squares"}
    assert [t.manual for t in notebook_spec(NOTEBOOK, tmp_path / "p1.ipynb", nb).tests] == [True, True]
    # ... while a kernel test without its grader check is still refused (the confirmation rule stands)
    nb = source_notebook()
    del nb.cells[3]
    with pytest.raises(ReleaseError, match="no grader-side check"):
        notebook_spec(NOTEBOOK, tmp_path / "p1.ipynb", nb)


# ---- assembly ----------------------------------------------------------------------------------

def test_a_manual_answer_is_kept_and_a_task_cell_restored(tmp_path: Path) -> None:
    source = source_notebook()
    release_nb = copy.deepcopy(source)
    release_nb.cells[4].source = ESSAY_PROMPT + "YOUR ANSWER HERE"
    student = answered(release_nb, {"essay": ESSAY_ANSWER, "plot_task": "I did the plot. Full marks please."})
    merged = assemble(source, release_nb, student)
    cells = {c.metadata.get("nbgrader", {}).get("grade_id"): c for c in merged.notebook.cells}
    assert cells["essay"].source == ESSAY_ANSWER                      # the student's answer, kept
    assert cells["plot_task"].source == source.cells[5].source        # the task's text, restored
    assert not [n for n in merged.notes if n.kind is NoteKind.TAMPERING]
    assert set(merged.manual_answers) == {"essay"} and not merged.restored
    # the control: an edited test cell is still restored and noted
    cheat = answered(student, {"test_squares": "pass"})
    merged = assemble(source, release_nb, cheat)
    assert [n.kind for n in merged.notes] == [NoteKind.TAMPERING] and merged.restored == {"test_squares"}
    # an answer left as released is not an answer
    assert assemble(source, release_nb, release_nb).manual_answers == {}


# ---- release, grade, TA scores, exports, report, feedback, re-grade, remove ----------------------

@pytest.fixture(scope="module")
def graded(tmp_path_factory):
    """The small course released and graded: ann (answers everything, on time), ben (no written answer,
    one day late: penalty 50 %), cat (answers everything, on time)."""
    root = tmp_path_factory.mktemp("manual")
    course = make_course(root / "course")
    config = load_config(course)
    release(config=config)
    release_nb = nbformat.read(str(course / "release" / ASSIGNMENT / f"{NOTEBOOK}.ipynb"), as_version=4)
    submitted = root / "submitted"
    hand_in(submitted, "ann", answered(release_nb, {"squares": RIGHT, "essay": ESSAY_ANSWER}), submitted=ON_TIME)
    hand_in(submitted, "ben", answered(release_nb, {"squares": RIGHT}), submitted=ONE_DAY_LATE)
    hand_in(submitted, "cat", answered(release_nb, {"squares": RIGHT, "essay": "short"}), submitted=ON_TIME)
    done = _cli(course, "grade", str(submitted), "--no-progress")
    assert done.returncode == 0, done.stdout + done.stderr
    return course, config, submitted, release_nb, done


@pytest.mark.slow
def test_release_keeps_manual_cells_as_nbgrader_releases_them(graded) -> None:
    _, _, _, release_nb, _ = graded
    cells = {c.metadata["nbgrader"]["grade_id"]: c for c in release_nb.cells if "nbgrader" in c.metadata}
    assert cells["essay"].source == ESSAY_PROMPT + "YOUR ANSWER HERE"            # model answer cleared
    assert cells["essay"].metadata["nbgrader"]["points"] == 2 and cells["essay"].metadata["nbgrader"]["solution"]
    assert cells["plot_task"].metadata["nbgrader"]["task"] and cells["plot_task"].source.startswith("Plot")


@pytest.mark.slow
def test_grade_leaves_manual_answers_waiting_for_a_ta(graded) -> None:
    course, config, _, _, done = graded
    with Gradebook(config) as gb:
        results = {(r.student, r.test): r for r in gb.results()}
        notes = {n.student: n.notes for n in gb.notebooks()}
        grades = {(m.student, m.test): m for m in gb.manual_grades()}
    assert (results[("ann", "essay")].status, results[("ann", "essay")].points) == ("manual", 0.0)
    assert results[("ann", "plot_task")].status == "manual" and results[("ann", "essay")].kind == "manual"
    assert results[("ann", "essay")].answer_sha256                                 # the graded answer's digest
    # an answer left as released scores 0, as nbgrader's autograde scores it: nothing to mark
    assert (results[("ben", "essay")].status, results[("ben", "essay")].reason.split(":")[0]) == ("failed", "not answered")
    assert not any(r.status in ("error",) or r.reason.startswith("not run") for r in results.values())
    # nbgrader's gradebook: no automatic score, needs a manual grade; the unanswered one is a 0
    assert (grades[("ann", "essay")].auto_score, grades[("ann", "essay")].needs_manual_grade) == (None, True)
    assert (grades[("ann", "plot_task")].auto_score, grades[("ann", "plot_task")].needs_manual_grade) == (None, True)
    assert (grades[("ben", "essay")].auto_score, grades[("ben", "essay")].needs_manual_grade) == (0.0, False)
    assert [n.kind for n in notes["ann"] if n.kind is NoteKind.MANUAL] == [NoteKind.MANUAL]
    assert "essay" in next(n.text for n in notes["ann"] if n.kind is NoteKind.MANUAL)
    assert not [n for n in notes["ann"] if n.kind is NoteKind.TAMPERING]
    # grade's one line per student: waiting answers cost nothing yet; ben's blank answer cost 2 points
    line = {ln.split()[0]: ln for ln in done.stdout.splitlines() if ln.split() and ln.split()[0] in ("ann", "ben")}
    assert "waits for a TA: essay, plot_task" in line["ann"] and " -" not in line["ann"].split("/", 1)[1], line
    assert "p1 -2: essay" in line["ben"] and "waits for a TA: plot_task" in line["ben"], line


def _long_rows(path: Path) -> dict[tuple[str, str], dict[str, str]]:
    with path.open(newline="") as handle:
        return {(r["student"], r["test"]): r for r in csv.DictReader(handle)}


def _nbgrader_rows(path: Path) -> dict[str, dict[str, str]]:
    with path.open(newline="") as handle:
        return {r["student_id"]: r for r in csv.DictReader(handle)}


def _canvas(path: Path) -> dict[str, str]:
    with path.open(newline="") as handle:
        rows = list(csv.reader(handle))
    return {r[0]: r[-1] for r in rows[1:]}


ROSTER = "student_id,lms_id,name\nann,101,Ann\nben,102,Ben\ncat,103,Cat\n"


def check_exports(course: Path, out: Path, expected: dict[str, tuple[float, float, float]]) -> None:
    """Every export and page shows, per student, (autograded, by a TA, final) as expected. The nbgrader
    export is nbgrader's own CsvExportPlugin, so it checks the others against nbgrader's total."""
    from autograder.intake.canvas import load_roster
    from autograder.reports.export import export_canvas, export_csv, export_nbgrader
    from autograder.reports.feedback import write_feedback
    from autograder.reports.report import write_report

    out.mkdir(parents=True, exist_ok=True)
    (out / "roster.csv").write_text(ROSTER)
    config = load_config(course)
    export_csv(config=config, output=out / "long.csv")
    export_nbgrader(config=config, output=out / "nbgrader.csv")
    canvas_result = export_canvas(config=config, output=out / "canvas.csv", roster=load_roster(out / "roster.csv"))
    write_report(config=config, output=out / "report.html")
    write_feedback(config=config, output_dir=out / "feedback")
    long_rows, nb_rows, canvas = (_long_rows(out / "long.csv"), _nbgrader_rows(out / "nbgrader.csv"),
                                  _canvas(out / "canvas.csv"))
    with Gradebook(config) as gb:
        subs = {s.student: s for s in gb.submissions()}
    assert set(subs) == set(expected)
    for student, (auto, manual, final) in expected.items():
        raw = sum(float(r["points"]) for (s, _), r in long_rows.items() if s == student)
        assert raw == pytest.approx(auto + manual), student
        assert float(nb_rows[student]["raw_score"]) == pytest.approx(auto + manual), student
        assert float(nb_rows[student]["score"]) == pytest.approx(final), student
        assert float(canvas[student.capitalize()]) == pytest.approx(final), student
        assert float(nb_rows[student]["late_submission_penalty"]) == pytest.approx(subs[student].penalty)
    html = (out / "report.html").read_text()
    with Gradebook(config) as gb:
        waiting = {s for (s, _), t in gb.totals().items() if t.pending}
    assert set(canvas_result.pending) == waiting
    for student, (auto, manual, final) in expected.items():
        row = html.split(f"<td>{student}</td>", 1)[1].split("</tr>", 1)[0]
        assert f'<td class="num score">{auto + manual:g}</td>' in row, row
        assert f'<td class="num final">{final:g}</td>' in row, row
        page = (out / "feedback" / student / ASSIGNMENT / f"{NOTEBOOK}.html").read_text()
        total = page.split('id="total"', 1)[1].split("</table>", 1)[0]
        assert f"<strong>{final:g} / 5</strong>" in total and f'<td class="pts">{manual:g}</td>' in total, total


@pytest.mark.slow
def test_ta_scores_show_everywhere_and_survive_a_forced_regrade(graded, tmp_path: Path) -> None:
    course, config, submitted, release_nb, _ = graded
    # before any TA: autograded points only; ben's 2 points are halved by the late penalty
    check_exports(course, tmp_path / "before", {"ann": (2.0, 0.0, 2.0), "ben": (2.0, 0.0, 1.0),
                                                "cat": (2.0, 0.0, 2.0)})
    roster = tmp_path / "before" / "roster.csv"        # the CLI says whose answers still wait
    done = _cli(course, "export", "--format", "canvas", "--roster", str(roster), "--output", str(tmp_path / "c.csv"))
    assert done.returncode == 0 and "wait for a TA" in done.stdout and "ann, ben, cat" in done.stdout, done.stdout
    page = (tmp_path / "before" / "feedback" / "ann" / ASSIGNMENT / f"{NOTEBOOK}.html").read_text()
    assert "waits for a TA" in page and 'id="pending"' in page
    with Gradebook(config) as gb:          # what formgrader's PUT does (the real one: the slow test below)
        gb.enter_manual_score("ann", ASSIGNMENT, NOTEBOOK, "essay", 1.5)
        gb.enter_manual_score("ann", ASSIGNMENT, NOTEBOOK, "plot_task", 1.0)
        gb.enter_manual_score("ben", ASSIGNMENT, NOTEBOOK, "plot_task", 1.0)
        with pytest.raises(ValueError, match="outside"):
            gb.enter_manual_score("cat", ASSIGNMENT, NOTEBOOK, "essay", 3.0)     # more than the cell's 2 points
    expected = {"ann": (2.0, 2.5, 4.5), "ben": (2.0, 1.0, 2.0), "cat": (2.0, 0.0, 2.0)}
    check_exports(course, tmp_path / "after", expected)
    page = (tmp_path / "after" / "feedback" / "ann" / ASSIGNMENT / f"{NOTEBOOK}.html").read_text()
    assert "scored by a TA: 1.5 of 2 points" in page and 'id="pending"' not in page
    assert "waits for a TA" in (tmp_path / "after" / "feedback" / "cat" / ASSIGNMENT / f"{NOTEBOOK}.html").read_text()

    again = _cli(course, "grade", str(submitted), "--no-progress", "--force")      # re-runs every notebook
    assert again.returncode == 0 and "unchanged" not in again.stdout, again.stdout + again.stderr
    check_exports(course, tmp_path / "regraded", expected)
    with Gradebook(config) as gb:
        grades = {(m.student, m.test): m for m in gb.manual_grades()}
        notes = {n.student: n.notes for n in gb.notebooks()}
    assert grades[("ann", "essay")].manual_score == 1.5 and grades[("ann", "essay")].auto_score is None
    assert grades[("ann", "essay")].needs_manual_grade          # nbgrader's rule: a TA's score is reviewed again
    assert not any("changed since a TA" in n.text for n in notes["ann"])         # same answer: nothing to re-mark

    # a re-submission that changes the scored answer keeps the TA's score (nbgrader keeps it) and asks
    # for re-marking; cat's unscored change asks for nothing new
    hand_in(submitted, "ann", answered(release_nb, {"squares": RIGHT, "essay": ESSAY_PROMPT + "Another answer."}),
            submitted=ON_TIME)
    hand_in(submitted, "cat", answered(release_nb, {"squares": RIGHT, "essay": "longer now"}), submitted=ON_TIME)
    assert _cli(course, "grade", str(submitted), "--no-progress").returncode == 0
    with Gradebook(config) as gb:
        grades = {(m.student, m.test): m for m in gb.manual_grades()}
        notes = {n.student: n.notes for n in gb.notebooks()}
    assert grades[("ann", "essay")].manual_score == 1.5
    remark = [n for n in notes["ann"] if n.kind is NoteKind.MANUAL and "changed since a TA" in n.text]
    assert len(remark) == 1 and "essay" in remark[0].text and "plot_task" not in remark[0].text
    assert not any("changed since a TA" in n.text for n in notes["cat"])
    check_exports(course, tmp_path / "resubmitted", expected)


@pytest.mark.slow
def test_remove_deletes_a_student_everywhere(graded, tmp_path: Path) -> None:
    course, config, submitted, _, _ = graded
    scratch = tmp_path / "course"
    subprocess.run(["cp", "-a", str(course), str(scratch)], check=True)
    done = _cli(scratch, "remove", "--student", "cat")
    assert done.returncode == 0 and "Removed cat" in done.stdout, done.stdout + done.stderr
    with sqlite3.connect(scratch / "gradebook.db") as db:
        for table in ("autograder_results", "autograder_notebooks", "autograder_submissions", "submitted_assignment"):
            column = "student_id" if table == "submitted_assignment" else "student"
            assert db.execute(f"select count(*) from {table} where {column} = 'cat'").fetchone() == (0,), table
        assert db.execute("select count(*) from student where id = 'cat'").fetchone() == (0,)
        assert db.execute("select count(*) from autograder_submissions").fetchone() == (2,)   # the others stay
    missing = _cli(scratch, "remove", "--student", "cat")
    assert missing.returncode == 2 and "no submission" in missing.stderr
    out = tmp_path / "exports"
    out.mkdir()
    assert _cli(scratch, "export", "--format", "long", "--output", str(out / "long.csv")).returncode == 0
    assert {s for s, _ in _long_rows(out / "long.csv")} == {"ann", "ben"}
    scores = _cli(scratch, "scores", "--student", "cat")
    assert scores.returncode == 2 and "no grade" in scores.stderr


@pytest.mark.slow
def test_students_nbgrader_removed_are_gone_from_every_export(graded, tmp_path: Path) -> None:
    course, config, _, _, _ = graded
    scratch = tmp_path / "course"
    subprocess.run(["cp", "-a", str(course), str(scratch)], check=True)
    db_url = f"sqlite:///{scratch / 'gradebook.db'}"
    done = subprocess.run([str(BIN / "nbgrader"), "db", "student", "remove", "ben", "--force",
                           f"--CourseDirectory.db_url={db_url}", f"--CourseDirectory.root={scratch}"],
                          cwd=tmp_path, capture_output=True, text=True, timeout=300, check=False)
    assert done.returncode == 0, done.stdout + done.stderr
    out = tmp_path / "exports"
    out.mkdir()
    (out / "roster.csv").write_text(ROSTER)
    assert _cli(scratch, "export", "--format", "long", "--output", str(out / "long.csv")).returncode == 0
    assert {s for s, _ in _long_rows(out / "long.csv")} == {"ann", "cat"}
    assert _cli(scratch, "export", "--format", "canvas", "--roster", str(out / "roster.csv"),
                "--output", str(out / "canvas.csv")).returncode == 0
    assert _canvas(out / "canvas.csv")["Ben"] == ""                    # rostered, no grade any more
    assert _cli(scratch, "report", "--output", str(out / "report.html")).returncode == 0
    assert "<td>ben</td>" not in (out / "report.html").read_text()
    assert _cli(scratch, "scores", "--student", "ben").returncode == 2
    # the control: nbgrader still knows ann, and so does every export
    assert "<td>ann</td>" in (out / "report.html").read_text()


# ---- the demo's sample set ---------------------------------------------------------------------

@pytest.mark.slow
def test_the_demo_samples_written_answer(graded_samples) -> None:
    from autograder.qa.samples import WRITTEN

    _, ctx, report, _ = graded_samples
    assert any(t.manual and t.grade_id == WRITTEN for t in ctx.spec.notebook("01_rnn_basics").tests)
    status = {r.student: {t.test: t for nb in r.notebooks for t in nb.tests}[WRITTEN] for r in report.results
              if r.graded_ok}
    assert status["alice_correct"].status == "manual" and status["dave_raises"].status == "manual"
    assert status["carol_hardcoded"].status == "failed" and status["frank_edits_tests"].status == "failed"
    frank = next(r for r in report.results if r.student == "frank_edits_tests").notebooks[0]
    assert not any(WRITTEN in n.text for n in frank.notes if n.kind is NoteKind.TAMPERING)


# ---- the real formgrader -----------------------------------------------------------------------

def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Formgrader:
    """nbgrader's formgrader in a real `jupyter server` (the venv's nbgrader server extensions, enabled
    by nbgrader's own install), on loopback with a token, configured as nbgrader's UI tests configure it:
    an nbgrader_config.py in the server's working folder naming the course and its gradebook."""

    def __init__(self, course: Path, config, home: Path):
        home.mkdir(parents=True, exist_ok=True)
        (home / "nbgrader_config.py").write_text(
            "c = get_config()\n"
            f"c.CourseDirectory.root = {str(course)!r}\n"
            f"c.CourseDirectory.db_url = {config.resolved_gradebook_url!r}\n"
            f"c.CourseDirectory.course_id = {config.course_id!r}\n"
            f"c.Exchange.root = {str(home / 'exchange')!r}\n")
        self.token, self.port = secrets.token_hex(16), _free_port()
        env = {**os.environ, "HOME": str(home), "JUPYTER_CONFIG_DIR": str(home / "config"),
               "JUPYTER_DATA_DIR": str(home / "data"), "JUPYTER_RUNTIME_DIR": str(home / "runtime"),
               "PATH": os.pathsep.join([str(BIN), os.environ.get("PATH", "")])}
        self.log = (home / "server.log").open("w")
        self.proc = subprocess.Popen(
            [str(BIN / "jupyter"), "server", "--no-browser", "--ServerApp.ip=127.0.0.1",
             f"--ServerApp.port={self.port}", "--ServerApp.port_retries=0", f"--IdentityProvider.token={self.token}",
             f"--ServerApp.root_dir={course}", "--allow-root"], cwd=home, env=env, stdout=self.log, stderr=subprocess.STDOUT)
        deadline = time.monotonic() + 120
        while True:
            try:
                if self.call("GET", "/formgrader/api/status") == {"status": True}:
                    break
            except (urllib.error.URLError, ConnectionError):
                pass
            if self.proc.poll() is not None or time.monotonic() > deadline:
                self.close()
                raise AssertionError("formgrader did not start: " + (home / "server.log").read_text()[-3000:])
            time.sleep(0.5)

    def call(self, method: str, path: str, body: dict | None = None):
        request = urllib.request.Request(f"http://127.0.0.1:{self.port}{path}", method=method,
                                         data=None if body is None else json.dumps(body).encode(),
                                         headers={"Authorization": f"token {self.token}"})
        with urllib.request.urlopen(request, timeout=60) as reply:
            return json.loads(reply.read().decode())

    def close(self) -> None:
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.log.close()


@pytest.mark.slow
def test_a_ta_score_from_the_real_formgrader_survives_regrades(graded, tmp_path: Path) -> None:
    course0, _, submitted, _, _ = graded
    course = tmp_path / "course"
    subprocess.run(["cp", "-a", str(course0), str(course)], check=True)
    config = load_config(course)
    with Gradebook(config) as gb:                 # a fresh start: no TA score yet on this copy's ann and cat
        ann_before = {m.test: m for m in gb.manual_grades() if m.student == "cat"}
    assert ann_before["essay"].manual_score is None
    server = Formgrader(course, config, tmp_path / "formgrader")
    try:
        subs = server.call("GET", f"/formgrader/api/submitted_notebooks/{ASSIGNMENT}/{NOTEBOOK}")
        cat = next(s for s in subs if s["student"] == "cat")
        grades = {g["name"]: g for g in server.call("GET", f"/formgrader/api/grades?submission_id={cat['id']}")}
        assert grades["essay"]["auto_score"] is None and grades["essay"]["needs_manual_grade"]
        assert grades["test_squares"]["auto_score"] == 1.0                     # the autograder's score, as nbgrader's
        put = server.call("PUT", f"/formgrader/api/grade/{grades['essay']['id']}", {"manual_score": 2.0})
        assert put["manual_score"] == 2.0 and not put["needs_manual_grade"]
        server.call("PUT", f"/formgrader/api/grade/{grades['plot_task']['id']}",
                    {"manual_score": 0.5, "extra_credit": 0.25})
        check_exports(course, tmp_path / "scored", _after_formgrader(course))
        # re-grades, forced and not, from the CLI while formgrader runs: the TA's scores stay
        for extra in (["--force"], []):
            done = _cli(course, "grade", str(submitted), "--no-progress", *extra)
            assert done.returncode == 0, done.stdout + done.stderr
            grades = {g["name"]: g for g in server.call("GET", f"/formgrader/api/grades?submission_id={cat['id']}")}
            assert (grades["essay"]["manual_score"], grades["plot_task"]["manual_score"],
                    grades["plot_task"]["extra_credit"]) == (2.0, 0.5, 0.25)
        check_exports(course, tmp_path / "regraded", _after_formgrader(course))
    finally:
        server.close()


def _after_formgrader(course: Path) -> dict[str, tuple[float, float, float]]:
    """Expected (autograded, by a TA, final): cat has 2 + 0.5 + 0.25 extra from formgrader; ann and ben as
    the copied gradebook holds them."""
    with Gradebook(load_config(course)) as gb:
        totals = {s: t for (s, _), t in gb.totals().items()}
    assert (totals["cat"].autograded, totals["cat"].manual) == (2.0, 2.75)
    return {s: (t.autograded, t.manual, t.final) for s, t in totals.items()}
