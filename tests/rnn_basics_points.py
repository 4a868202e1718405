"""Points of notebook 01_rnn_basics, read from its source notebook, so that the tests grading topic 1
derive its totals instead of hard-coding them (they change whenever an exercise is added)."""
from __future__ import annotations

from pathlib import Path

from autograder.course.notebooks import notebook_spec, read_notebook

SOURCE = Path(__file__).resolve().parents[1] / "source" / "week3_rnn" / "01_rnn_basics.ipynb"
SPEC = notebook_spec("01_rnn_basics", SOURCE, read_notebook(SOURCE))

AUTOGRADED_MAX = sum(t.points for t in SPEC.tests if not t.manual)   # kernel tests and grader checks
MANUAL_MAX = sum(t.points for t in SPEC.tests if t.manual)           # written answers a TA grades
MAX = AUTOGRADED_MAX + MANUAL_MAX
VISIBLE = tuple(t.grade_id for t in SPEC.tests if not (t.hidden or t.grader_side or t.manual))  # the self-check runs these
VISIBLE_POINTS = sum(t.points for t in SPEC.tests if t.grade_id in VISIBLE)
FUNCTIONS = tuple(dict.fromkeys(t.probe for t in SPEC.tests if t.probe))   # the graded functions, in notebook order


def exercise_points(*exercises: str) -> float:
    """The autograded points of the tests and grader checks of the given exercises (answer cells)."""
    unknown = set(exercises) - set(SPEC.solutions)
    assert not unknown, f"not answer cells of 01_rnn_basics: {sorted(unknown)}"
    return sum(t.points for t in SPEC.tests if t.exercise in exercises and not t.manual)
