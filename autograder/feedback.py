"""Student feedback: one HTML page per student and notebook, from the gradebook.

Pages show each test's points, status and message. Hidden tests (and the grader's
reference comparisons) show only their message: never their source, their inputs,
the reference outputs or a traceback. Those are not even stored for hidden tests.
"""
from __future__ import annotations

from pathlib import Path

import jinja2

from .config import GraderConfig
from .gradebook import Gradebook

_env = jinja2.Environment(
    loader=jinja2.PackageLoader("autograder", "templates"),
    autoescape=jinja2.select_autoescape(["html", "j2"]),
    undefined=jinja2.StrictUndefined,
)


def write_feedback(*, config: GraderConfig, output_dir: Path, assignment: str | None = None) -> list[Path]:
    """Render feedback/<student>/<assignment>/<notebook>.html for every graded submission."""
    template = _env.get_template("feedback.html.j2")
    with Gradebook(config) as gb:
        results = gb.results(assignment)
        submissions = {(s.student, s.assignment): s for s in gb.submissions(assignment)}
        notebook_notes = {(n["student"], n["assignment"], n["notebook"]): n for n in gb.notebook_rows(assignment)}
    pages: dict[tuple[str, str, str], list] = {}
    for row in results:
        pages.setdefault((row.student, row.assignment, row.notebook), []).append(row)
    written = []
    for (student, assignment_name, notebook), tests in sorted(pages.items()):
        sub = submissions[(student, assignment_name)]
        nb_row = notebook_notes.get((student, assignment_name, notebook), {})
        notes = [n for n in (nb_row.get("notes") or "").split("\n") if n]
        html = template.render(
            student=student, notebook=notebook, tests=tests, notes=notes,
            score=sum(t.points for t in tests), max_score=sum(t.max_points for t in tests),
            graded_at=sub.graded_at, version=sub.autograder_version, config_digest=sub.config_digest,
            datasets=[d for d in sub.datasets.split("\n") if d])
        path = output_dir / student / assignment_name / f"{notebook}.html"
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(html, encoding="utf-8")
        written.append(path)
    return written
