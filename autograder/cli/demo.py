"""`autograder demo`: release, grade the bundled sample submissions, print the scores.

The samples are built from the current release, so they never go stale (see samples.py).
Everything the demo writes goes to its own folder (default `.demo/`), with its own
gradebook: the course gradebook is never touched.
"""
from __future__ import annotations

import shutil
import time
from pathlib import Path

from autograder.cli.format import format_scores, format_summary
from autograder.config import GraderConfig
from autograder.course.release import release
from autograder.grading.pipeline import load_context
from autograder.qa.samples import write_samples
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
