"""`autograder demo`: release, grade the bundled sample submissions, print the scores.

The samples are built from the current release, so they never go stale (see samples.py).
Everything the demo writes goes to its own folder (default `.demo/`), with its own
gradebook: the course gradebook is never touched. After grading, a TA's scores for the written
answer (`samples.TA_SCORES`, entered as formgrader would) are kept through a forced re-grade.
"""
from __future__ import annotations

import shutil
import time
from pathlib import Path

from autograder.cli.format import format_scores, format_summary
from autograder.config import GraderConfig
from autograder.course.release import release
from autograder.grading.pipeline import load_context
from autograder.gradebook import Gradebook
from autograder.qa.samples import TA_SCORES, write_samples
from autograder.reports.export import export_csv
from autograder.reports.feedback import write_feedback
from autograder.reports.report import write_report
from autograder.run.batch import default_workers, grade_path


def run_demo(*, config: GraderConfig, workdir: Path | None = None, progress: bool = True) -> int:
    started = time.monotonic()
    workdir = (workdir or config.course_root / ".demo").resolve()
    shutil.rmtree(workdir, ignore_errors=True)
    workdir.mkdir(parents=True)
    changed = release(config=config)
    print(f"1. Released release/{config.assignment}" + (f" ({len(changed)} files updated)" if changed else " (up to date)"))

    ctx = load_context(config)
    submitted = workdir / "submitted"
    samples = write_samples(ctx, submitted)
    print(f"2. Wrote {len(samples)} sample submissions to {submitted}:")
    for student, intent in samples.items():
        print(f"     {student:<22} {intent}")

    demo_config = config.with_gradebook(workdir / "gradebook.db")
    report = grade_path(config=demo_config, path=submitted, executed_root=workdir / "autograded",
                        progress=progress, context=ctx, workers=default_workers())
    print("3. Scores\n")
    print(format_scores(report.results))
    print(format_summary(report))
    measured = [(r.student, nb.notebook, t) for r in report.results for nb in r.notebooks
                for t in nb.tests if t.kind == "model"]
    if measured:
        print("\n   Trained models, measured by the grader on held-out data:")
        for student, notebook, t in measured:
            print(f"   {student:<18} {notebook:<24} {t.test:<32} {t.points:>4g}/{t.max_points:<3g} {t.reason}")
    graded = {r.student for r in report.results}
    entered = {key: score for key, score in TA_SCORES.items() if key[0] in graded}
    if entered:
        with Gradebook(demo_config) as gb:
            for (student, notebook, test), score in entered.items():
                gb.enter_manual_score(student, ctx.spec.name, notebook, test, score)
        again = grade_path(config=demo_config, path=submitted, students=tuple(sorted({k[0] for k in entered})),
                           executed_root=workdir / "autograded", progress=False, context=ctx, force=True)
        with Gradebook(demo_config) as gb:
            kept = {(m.student, m.notebook, m.test): m.manual_score for m in gb.manual_grades(ctx.spec.name)}
            totals = gb.totals(ctx.spec.name)
        print(f"\n   A TA's scores of the written answer (formgrader), then a forced re-grade of "
              f"{len(again.results)} students:")
        for (student, notebook, test), score in entered.items():
            t = totals[(student, ctx.spec.name)]
            print(f"   {student:<18} {test}: TA score {score:g}, after the re-grade {kept[(student, notebook, test)]:g}; "
                  f"total {t.autograded:g} autograded + {t.manual:g} by a TA = {t.final:g} / {t.max_score:g}")
    datasets = sorted({d for r in report.results for d in r.datasets})
    for line in datasets:
        print(f"   data: {line}")
    csv_path = workdir / "grades.csv"
    export_csv(config=demo_config, output=csv_path)
    pages = write_feedback(config=demo_config, output_dir=workdir / "feedback")
    write_report(config=demo_config, output=workdir / "report.html", submissions=submitted)
    print(f"\n4. Grades CSV:   {csv_path}")
    print(f"   Feedback:     {workdir / 'feedback'} ({len(pages)} pages)")
    print(f"   Class report: {workdir / 'report.html'}")
    print(f"   Gradebook:    {demo_config.gradebook_path}")
    print(f"   {len(report.failed)} submission(s) could not be graded (expected: the corrupted one). "
          f"Demo took {time.monotonic() - started:.0f} s.")
    return 0
