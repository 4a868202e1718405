"""Student feedback: one HTML page per student and notebook, from the gradebook.

Pages show each test's points, status and message. A manually graded answer shows "waits for a
TA" until a TA scores it in formgrader, then the TA's score (`Gradebook.scored_results`); the page
ends with the assignment's total: autograded + TA scores - late penalty (`Gradebook.totals`). Hidden tests (and the grader's reference
comparisons) show only their message: never their source, their inputs, the reference outputs
or a traceback. Those are not even stored for hidden tests.

For a notebook that saves trained models, each model gets a panel: the training curve (every
per-epoch series of the saved Keras history, as inline SVG), and the held-out metric the grader
measured placed against the thresholds of grader_config.py (0 points at `min`, full points at
`target`), the trivial baseline and the value the notebook reported, with the points earned.

`FeedbackView` says how much a page shows. The full view is the one above. The summary view is what
`autograder serve` releases before the due date (`serve.before_due = "summary"`): visible tests in
full; hidden tests and the grader's checks only as "passed k of n" per exercise, with neither their
messages nor their points one by one; model metrics rounded to `metric_decimals`, without the scale
chart or the metric-flag notes that carry the exact numbers. A notice page
(`write_notice`) stands in for feedback when a submission was not graded (its daily runs used up).
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import jinja2
from markupsafe import Markup

from autograder.config import GraderConfig, Threshold
from autograder.course.notebooks import AssignmentSpec, load_source
from autograder.gradebook import Gradebook, MetricRow, ResultRow
from autograder.grading.verdicts.models import HIGHER_IS_BETTER
from autograder.reports import charts
from autograder.results import NotebookState, NoteKind

_env = jinja2.Environment(
    loader=jinja2.PackageLoader("autograder.reports", "templates"),
    autoescape=jinja2.select_autoescape(["html", "j2"]),
    undefined=jinja2.StrictUndefined,
)


@dataclass(frozen=True)
class FeedbackView:
    """How much a feedback page shows (see the module docstring)."""

    summary: bool = False
    metric_decimals: int = 4

    @property
    def metric_format(self) -> str:
        return f"%.{self.metric_decimals}f"


FULL = FeedbackView()


@dataclass(frozen=True)
class ExerciseSummary:
    """The hidden tests and grader checks of one exercise, as a summary page shows them."""

    exercise: str            # the answer cell's grade_id ("" for checks of no exercise)
    passed: int
    total: int


def summarise(tests, exercise_of) -> tuple[list, list[ExerciseSummary]]:
    """(tests shown in full, counts per exercise): visible kernel tests stay; hidden tests and
    grader-side checks become "passed k of n" per exercise. `exercise_of(grade_id)` -> exercise."""
    shown, counts = [], {}
    for t in tests:
        if not t.hidden and t.kind in ("kernel", "manual"):
            shown.append(t)
            continue
        key = exercise_of(t.test) or ""
        passed, total = counts.get(key, (0, 0))
        counts[key] = (passed + (t.status == "passed"), total + 1)
    return shown, [ExerciseSummary(exercise=k, passed=p, total=n) for k, (p, n) in counts.items()]


@dataclass(frozen=True)
class ModelPanel:
    """What a student sees about one trained model."""

    model: str
    metric: str
    row: MetricRow
    threshold: Threshold | None
    higher_is_better: bool
    result: ResultRow | None        # the grade cell scored from this metric
    curve: Markup                   # "" when the notebook saved no history
    scale: Markup                   # "" when the model could not be measured


def model_panel(row: MetricRow, *, threshold: Threshold | None, result: ResultRow | None) -> ModelPanel:
    def order(key: str) -> tuple:
        base = key.removeprefix("val_")
        return base != "loss", base, key.startswith("val_")
    series = {k: row.history[k] for k in sorted(row.history, key=order)}
    curve = charts.line_chart(series, title=f"Training curve of {row.model}", x_label="epoch",
                              y_label="value") if any(series.values()) else Markup("")
    scale = Markup("")
    if row.value is not None and threshold is not None:
        markers = [("0 points", threshold.min, "#8c959f"), ("full points", threshold.target, "#1a7f37")]
        if row.baseline is not None:
            markers.append(("baseline", row.baseline, "#9a6700"))
        if row.reported is not None:
            markers.append(("you reported", row.reported, "#8250df"))
        markers.append(("measured", row.value, "#0969da"))
        scale = charts.scale_chart(markers, band=(threshold.min, threshold.target),
                                   title=f"Held-out {row.metric} of {row.model} against the thresholds",
                                   x_label=f"held-out {row.metric}")
    return ModelPanel(model=row.model, metric=row.metric, row=row, threshold=threshold,
                      higher_is_better=HIGHER_IS_BETTER.get(row.metric, True), result=result, curve=curve,
                      scale=scale)


def write_feedback(*, config: GraderConfig, output_dir: Path, assignment: str | None = None,
                   students: tuple[str, ...] = (), view: FeedbackView = FULL,
                   spec: AssignmentSpec | None = None) -> list[Path]:
    """Render feedback/<student>/<assignment>/<notebook>.html for every graded submission (of
    `students` only, when given: only their rows are read), showing what `view` shows. `spec`: the
    source's, when the caller has read it already (`load_source`)."""
    template = _env.get_template("feedback.html.j2")
    spec = spec or load_source(config)[0]
    exercise_of = {(nb.name, t.grade_id): t.exercise for nb in spec.notebooks for t in nb.tests}
    metric_test = {(nb.name, t.model[0]): t.grade_id for nb in spec.notebooks for t in nb.tests
                   if t.model and t.model[1] == "metric"}
    with Gradebook(config) as gb:
        results = gb.scored_results(assignment, students=students)
        submissions = {(s.student, s.assignment): s for s in gb.submissions(assignment, students=students)}
        totals = gb.totals(assignment, students=students)
        notebook_rows = {(n.student, n.assignment, n.notebook): n
                         for n in gb.notebooks(assignment, students=students)}
        metrics: dict[tuple[str, str, str], list[MetricRow]] = {}
        for m in gb.metrics(assignment, students=students):
            metrics.setdefault((m.student, m.assignment, m.notebook), []).append(m)
    pages: dict[tuple[str, str, str], list] = {}
    for row in results:
        if not students or row.student in students:
            pages.setdefault((row.student, row.assignment, row.notebook), []).append(row)
    written = []
    for (student, assignment_name, notebook), tests in sorted(pages.items()):
        sub = submissions[(student, assignment_name)]
        nb_row = notebook_rows.get((student, assignment_name, notebook))
        by_test = {t.test: t for t in tests}
        panels = [model_panel(m, threshold=config.thresholds.get(f"{m.model}.{m.metric}"),
                              result=by_test.get(metric_test.get((notebook, m.model), "")))
                  for m in metrics.get((student, assignment_name, notebook), [])]
        shown, exercises = summarise(tests, lambda g: exercise_of.get((notebook, g))) if view.summary \
            else (tests, [])
        html = template.render(
            view=view, exercises=exercises,
            student=student, notebook=notebook, tests=shown,
            notes=[n for n in nb_row.notes if not view.summary or n.kind is not NoteKind.METRIC] if nb_row else (), panels=panels,
            state=nb_row.state if nb_row else NotebookState.GRADED, problem=nb_row.problem if nb_row else "",
            states=NotebookState,
            score=sum(t.points for t in tests), max_score=sum(t.max_points for t in tests),
            graded_at=sub.graded_at, version=sub.autograder_version, config_digest=sub.config_digest,
            datasets=sub.datasets, total=totals[(student, assignment_name)])
        path = output_dir / student / assignment_name / f"{notebook}.html"
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(html, encoding="utf-8")
        written.append(path)
    return written


def write_notice(*, output_dir: Path, student: str, assignment: str, notebooks: tuple[str, ...],
                 title: str, message: str) -> list[Path]:
    """A page per notebook that says why a submission got no new feedback (`autograder serve`)."""
    template = _env.get_template("notice.html.j2")
    written = []
    for notebook in notebooks:
        path = output_dir / student / assignment / f"{notebook}.html"
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(template.render(student=student, notebook=notebook, title=title, message=message),
                        encoding="utf-8")
        written.append(path)
    return written
