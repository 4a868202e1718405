"""Notes and states are types from where they arise to the pages that show them: kinds never drift from
the report's flags, a duplicated test cell is tampering, and nothing is told apart by its words."""
from __future__ import annotations

import copy
import json
from pathlib import Path

import nbformat
import pytest
from factories import source_and_release
from report_factories import TOPIC1, synthetic_result

from autograder.cli.format import format_intake
from autograder.config import load_config
from autograder.course.notebooks import load_source
from autograder.gradebook import Gradebook
from autograder.grading.assemble import assemble, read_submission
from autograder.grading.execute import Execution, StopCause
from autograder.grading.pipeline import NOT_GRADED_STOPS, STOP_NOTES
from autograder.intake.discover import discover
from autograder.reports.feedback import write_feedback
from autograder.reports.report import (
    NOT_FLAGGED,
    NOTE_FLAGS,
    STATE_FLAGS,
    STATES_NOT_FLAGGED,
    unmapped,
)
from autograder.results import Note, NotebookResult, NotebookState, NoteKind, SubmissionResult
from autograder.results import TestResult as _TestResult


# ---- the enums and the tables that read them stay in step --------------------------------------
def test_every_note_kind_is_a_flag_or_says_why_not() -> None:
    assert unmapped(NoteKind, NOTE_FLAGS, NOT_FLAGGED) == []
    assert all(reason for reason in NOT_FLAGGED.values())


def test_the_drift_check_catches_a_kind_left_out_or_listed_twice() -> None:
    without = {k: v for k, v in NOTE_FLAGS.items() if k is not NoteKind.TAMPERING}
    assert unmapped(NoteKind, without, NOT_FLAGGED) == [NoteKind.TAMPERING]
    twice = {**NOT_FLAGGED, NoteKind.TIMEOUT: "also explained"}
    assert unmapped(NoteKind, NOTE_FLAGS, twice) == [NoteKind.TIMEOUT]


def test_every_state_is_a_flag_or_says_why_not() -> None:
    assert unmapped(NotebookState, STATE_FLAGS, STATES_NOT_FLAGGED) == []


def test_every_stop_cause_is_a_note_or_a_not_graded_state() -> None:
    for cause in StopCause:
        assert (cause in STOP_NOTES) != (cause in NOT_GRADED_STOPS), cause


def test_an_execution_stopped_without_a_cause_is_a_worker_failure() -> None:
    """The sandbox builds Executions for its own failures; one without a cause cannot pass for graded."""
    stopped = Execution(outcomes={}, runtime_s=0.0, stopped="the grading worker failed (exit status 1)")
    assert stopped.cause is StopCause.WORKER
    assert Execution(outcomes={}, runtime_s=1.0).cause is None
    again = Execution.from_json(Execution(outcomes={}, runtime_s=1.0, stopped="the kernel died in cell 3",
                                          cause=StopCause.KERNEL_DIED).to_json())
    assert again.cause is StopCause.KERNEL_DIED
    with pytest.raises(ValueError, match="needs the reason"):
        Execution(outcomes={}, runtime_s=1.0, cause=StopCause.KERNEL_DIED)


# ---- the types refuse prose --------------------------------------------------------------------
def test_notes_are_typed_and_serialise_as_json() -> None:
    note = Note(NoteKind.TAMPERING, "test cell 'a' was edited; the original was restored")
    assert Note.from_json(json.loads(json.dumps(note.to_json()))) == note
    with pytest.raises(TypeError):
        Note("tampering", "a kind given as a word")                        # type: ignore[arg-type]
    with pytest.raises(ValueError):
        Note.from_json({"kind": "tamper", "text": "x"})


def test_a_result_refuses_notes_in_words_and_a_state_that_contradicts_its_problem() -> None:
    with pytest.raises(TypeError, match="Note"):
        NotebookResult(notebook="nb", tests=(), notes=("the kernel died",))   # type: ignore[arg-type]
    with pytest.raises(TypeError, match="Note"):
        SubmissionResult(student="s", assignment="a", notebooks=(), submission_sha256="", autograder_version="",
                         config_digest="", graded_at="", intake_notes=("kept a.ipynb",))  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="not graded"):
        NotebookResult(notebook="nb", tests=(), state=NotebookState.NOT_GRADED)
    with pytest.raises(ValueError, match="not graded"):
        NotebookResult(notebook="nb", tests=(), problem="unreadable", state=NotebookState.GRADED)
    assert NotebookResult(notebook="nb", tests=(), problem="unreadable").state is NotebookState.NOT_GRADED
    assert NotebookResult(notebook="nb", tests=()).state is NotebookState.GRADED


# ---- notes get their kind where they arise ----------------------------------------------------
def test_a_duplicated_test_cell_is_tampering_and_an_honest_notebook_has_no_notes() -> None:
    source, release = source_and_release()
    honest = copy.deepcopy(release)
    assert assemble(source, release, honest).notes == ()
    duplicated = copy.deepcopy(release)
    duplicated.cells.insert(2, copy.deepcopy(release.cells[1]))           # test_double twice
    notes = assemble(source, release, duplicated).notes
    assert [(n.kind, n.text) for n in notes] == [(NoteKind.TAMPERING,
                                                  "test cell 'test_double' appears 2 times; it was run once")]


def test_answer_cells_missing_or_duplicated_are_not_tampering() -> None:
    """A copied or deleted answer cell costs what it costs, but it is no edit of a test: not flagged red."""
    source, release = source_and_release()
    student = copy.deepcopy(release)
    student.cells.insert(1, copy.deepcopy(release.cells[0]))             # answer "double" twice
    del student.cells[4]                                                 # answer "square" deleted
    kinds = {n.kind for n in assemble(source, release, student).notes}
    assert kinds == {NoteKind.ANSWER_CELLS}


def test_a_converted_notebook_carries_a_repair_note(tmp_path: Path) -> None:
    path = tmp_path / "old.ipynb"
    path.write_text(json.dumps({"nbformat": 3, "nbformat_minor": 0, "metadata": {},
                                "worksheets": [{"cells": [{"cell_type": "code", "input": "x = 1", "outputs": [],
                                                           "language": "python", "metadata": {}}],
                                                "metadata": {}}]}))
    _, notes = read_submission(path)
    assert [n.kind for n in notes] == [NoteKind.REPAIR]
    fresh = tmp_path / "new.ipynb"
    nbformat.write(nbformat.v4.new_notebook(), str(fresh))
    assert read_submission(fresh)[1] == ()


def test_intake_notes_say_how_files_were_found_and_when(tmp_path: Path) -> None:
    folder = tmp_path / "submitted" / "ann" / "hw"
    folder.mkdir(parents=True)
    for name in ("01_nb.ipynb", "01_nb (1).ipynb"):
        (folder / name).write_text("{}")
    (folder / "timestamp.txt").write_text("2026-12-11 20:00:00.000000 UTC")
    [sub], _ = discover(tmp_path / "submitted", assignment="hw", notebooks=("01_nb",), scratch=tmp_path / "s")
    kinds = [n.kind for n in sub.intake_notes]
    assert set(kinds) == {NoteKind.INTAKE, NoteKind.TIMESTAMP} and kinds.count(NoteKind.TIMESTAMP) == 1
    result = SubmissionResult(student="ann", assignment="hw", notebooks=(), submission_sha256="", autograder_version="",
                              config_digest="", graded_at="", intake_notes=sub.intake_notes)
    printed = format_intake([result])
    assert "intake ann: 01_nb: kept" in printed and "timestamp.txt" not in printed     # the time is no news


# ---- feedback reads the types back ------------------------------------------------------------
def test_feedback_shows_notes_and_states_from_the_gradebook(tmp_path: Path, course_root: Path) -> None:
    config = load_config(course_root).with_gradebook(tmp_path / "gb.db")
    spec, _ = load_source(config)
    line_break = Note(NoteKind.TAMPERING, "test cell 'a' was edited;\nthe original was restored")
    with Gradebook(config) as gb:
        gb.sync_assignment(spec)
        gb.record(synthetic_result(spec, "ann", notes=(line_break, Note(NoteKind.TIMEOUT, "cell 'b' ran long"))))
        gb.record(synthetic_result(spec, "cal", problem="not graded: the notebook is not valid JSON"))
        stored = {n.student: n for n in gb.notebooks() if n.notebook == TOPIC1}
    assert stored["ann"].notes[0] == line_break                      # a note with a newline stays one note
    pages = {p.relative_to(tmp_path / "fb").as_posix(): p.read_text()
             for p in write_feedback(config=config, output_dir=tmp_path / "fb")}
    ann = pages[f"ann/{spec.name}/{TOPIC1}.html"]
    assert ann.count('<li class="note-') == 2 and 'class="note-tampering"' in ann
    assert "could not be graded: not graded: the notebook is not valid JSON" in pages[f"cal/{spec.name}/{TOPIC1}.html"]
    other = spec.notebooks[1].name
    assert "was not handed in" in pages[f"ann/{spec.name}/{other}.html"]
    assert "not handed in" not in ann and "could not be graded" not in ann


def test_validation_ignores_notebooks_by_state_not_by_reason() -> None:
    """A mutant's absent notebooks are NOT_SUBMITTED; a handed-in notebook whose every test reads
    "not submitted" (a student's own words in a reason) still counts."""
    from autograder.qa.validate import ValidationReport

    def nb(name: str, state: NotebookState) -> NotebookResult:
        status = "failed" if state is NotebookState.NOT_SUBMITTED else "passed"
        return NotebookResult(notebook=name, state=state, tests=(
            _TestResult(test="t", points=0.0 if status == "failed" else 1.0, max_points=1.0, status=status,
                        reason="not submitted"),))

    reference = SubmissionResult(student="r", assignment="a", submission_sha256="", autograder_version="",
                                 config_digest="", graded_at="",
                                 notebooks=(nb("one", NotebookState.GRADED), nb("two", NotebookState.NOT_SUBMITTED)))
    report = ValidationReport(notebooks=("one", "two"), tests=(), reference=reference, blank=None)
    assert [n.notebook for n in report._selected(reference)] == ["one"]
    assert report.max_score == 1.0
