"""Grade exports from the gradebook, each written atomically (a temporary file, then a rename).

- ``long``: one row per (student, notebook, test) with status and reason (hidden tests by name only);
  a cell a TA scored in formgrader carries the TA's score (``Gradebook.scored_results``), one that
  waits for a TA has status ``manual``;
- ``nbgrader``: the CSV of ``nbgrader export``, written by nbgrader's own ``CsvExportPlugin`` run on
  the gradebook (raw_score, late_submission_penalty and score are nbgrader's columns; score is after
  the penalty), so it is nbgrader's format by construction;
- ``canvas``: a file for Canvas's Gradebook "Import": the columns ``Student, ID, SIS User ID,
  SIS Login ID, Section`` (Canvas matches a row by its ID, the Canvas user id) and one column
  ``<assignment title> (<Canvas assignment id>)`` holding the final score: the autograder's points
  plus the TAs' scores, after the late penalty (``Gradebook.totals``). Without
  an id, Canvas offers to create a new assignment with that title. Described in Canvas's instructor
  guide "How do I import grades in the Gradebook?" (community.canvaslms.com, Instructor-Guide ta-p/807)
  and e.g. teaching.resources.osu.edu "Import a CSV file to Carmen Grades". Rows follow the roster;
  rostered students without a grade get an empty cell (Canvas leaves those unchanged).
"""
from __future__ import annotations

import csv
from dataclasses import dataclass
from pathlib import Path

from autograder.config import GraderConfig
from autograder.errors import AutograderError
from autograder.gradebook import Gradebook
from autograder.intake.canvas import Roster

FORMATS = ("long", "nbgrader", "canvas")
CSV_COLUMNS = ("student", "assignment", "notebook", "test", "points", "max_points", "status", "reason")
NBGRADER_COLUMNS = ("assignment", "duedate", "timestamp", "student_id", "last_name", "first_name", "email",
                    "raw_score", "late_submission_penalty", "score", "max_score")
CANVAS_COLUMNS = ("Student", "ID", "SIS User ID", "SIS Login ID", "Section")


@dataclass(frozen=True)
class ExportResult:
    rows: int                              # data rows written
    unmatched: tuple[str, ...] = ()        # graded students the format could not place (not in the roster)
    pending: tuple[str, ...] = ()          # students written with answers that still wait for a TA


def _tmp(output: Path) -> Path:
    output.parent.mkdir(parents=True, exist_ok=True)
    return output.with_suffix(output.suffix + ".tmp")


def export_csv(*, config: GraderConfig, output: Path, assignment: str | None = None,
               students: tuple[str, ...] = ()) -> int:
    """Write the long-format CSV (only `students` when given); returns the number of rows. Hidden tests
    appear by name and reason only."""
    with Gradebook(config) as gb:
        rows = [r for r in gb.scored_results(assignment) if not students or r.student in students]
    tmp = _tmp(output)
    with tmp.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(CSV_COLUMNS)
        for r in rows:
            writer.writerow([r.student, r.assignment, r.notebook, r.test, f"{r.points:g}",
                             f"{r.max_points:g}", r.status, r.reason])
    tmp.replace(output)
    return len(rows)


def export_nbgrader(*, config: GraderConfig, output: Path, assignment: str | None = None,
                    students: tuple[str, ...] = ()) -> int:
    """Write nbgrader's grades CSV with nbgrader's CsvExportPlugin (only `students` when given);
    returns the number of rows."""
    from nbgrader.plugins import CsvExportPlugin

    tmp = _tmp(output)
    plugin = CsvExportPlugin(to=str(tmp), assignment=[assignment] if assignment else [], student=list(students))
    with Gradebook(config) as gb:
        gb.run_nbgrader_export(plugin)
    with tmp.open(newline="", encoding="utf-8") as handle:
        rows = sum(1 for _ in csv.reader(handle)) - 1
    tmp.replace(output)
    return rows


def export_canvas(*, config: GraderConfig, output: Path, roster: Roster, assignment: str | None = None,
                  title: str | None = None, canvas_id: str = "") -> ExportResult:
    """Write a Canvas gradebook import CSV of the final scores (after late penalties), in roster order."""
    assignment = assignment or config.assignment
    if canvas_id and not canvas_id.isdigit():
        raise AutograderError(f"the Canvas assignment id must be a number (from its URL), got {canvas_id!r}")
    column = f"{title or assignment} ({canvas_id})" if canvas_id else (title or assignment)
    with Gradebook(config) as gb:
        totals = {student: t for (student, _), t in gb.totals(assignment).items()}
    scores = {student: t.final for student, t in totals.items()}
    rostered = roster.by_student
    tmp = _tmp(output)
    with tmp.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow((*CANVAS_COLUMNS, column))
        for e in roster.entries:
            score = scores.get(e.student_id)
            writer.writerow((e.name, e.lms_id, e.sis_user_id, e.sis_login_id, e.section,
                             "" if score is None else format(round(score, 4), "g")))
    tmp.replace(output)
    return ExportResult(rows=len(roster.entries), unmatched=tuple(sorted(set(scores) - set(rostered))),
                        pending=tuple(sorted(s for s, t in totals.items() if t.pending and s in rostered)))
