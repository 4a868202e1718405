"""Throughput: plain `nbgrader autograde` vs `autograder grade` (1 and 2 workers), and re-grading.

Usage: python bench/throughput.py [--notebook 01_rnn_basics] [--submissions 8]

Grades the same batch of reference submissions of one notebook, one method after another:
1. plain `nbgrader autograde` in a scratch nbgrader course;
2. `autograder grade` with 1 worker, then with 2 workers (the default on 2 cores), each forced
   to re-execute everything;
3. `autograder grade` again on the unchanged batch (nothing changed: nothing is re-run).
Prints seconds per batch and per notebook, and the ratios.
"""
from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import nbformat

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from autograder.config import load_config  # noqa: E402
from autograder.grading.pipeline import load_context  # noqa: E402
from autograder.qa.samples import fill, reference_answers  # noqa: E402
from autograder.run.batch import grade_path  # noqa: E402

BIN = Path(sys.executable).parent


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--notebook", default="01_rnn_basics")
    parser.add_argument("--submissions", type=int, default=8)
    args = parser.parse_args()
    os.environ["PATH"] = os.pathsep.join([str(BIN), os.environ.get("PATH", "")])
    config = load_config(ROOT)
    ctx = load_context(config)
    nb = args.notebook
    timeouts = "c.Execute.timeout = 600\n"
    times: dict[str, float] = {}
    with tempfile.TemporaryDirectory(prefix="throughput-") as tmp:
        tmp = Path(tmp)
        filled = fill(ctx.releases[nb], reference_answers(ctx.sources[nb]))
        for i in range(args.submissions):
            folder = tmp / "submitted" / f"student{i:02d}" / config.assignment
            folder.mkdir(parents=True)
            nbformat.write(filled, str(folder / f"{nb}.ipynb"))

        course = tmp / "nbgrader_course"
        (course / "source" / config.assignment).mkdir(parents=True)
        shutil.copy(ctx.spec.source_dir / f"{nb}.ipynb", course / "source" / config.assignment)
        (course / "nbgrader_config.py").write_text(
            f"c = get_config()\nc.CourseDirectory.root = {str(course)!r}\n"
            f"c.CourseDirectory.db_url = 'sqlite:///{course}/gradebook.db'\n" + timeouts)
        subprocess.run([str(BIN / "nbgrader"), "generate_assignment", config.assignment, "--force"],
                       cwd=course, check=True, capture_output=True)
        shutil.copytree(tmp / "submitted", course / "submitted")
        data_env = {}
        if nb in ctx.data:     # plain nbgrader needs the training data too
            from autograder.data import write_training_files
            data_env["COURSE_DATA_DIR"] = str(write_training_files(ctx.data[nb], tmp / "data").parent)
        started = time.perf_counter()
        subprocess.run([str(BIN / "nbgrader"), "autograde", config.assignment, "--force"], cwd=course,
                       check=True, capture_output=True, env={**os.environ, **data_env})
        times["nbgrader autograde"] = time.perf_counter() - started

        scratch = config.with_gradebook(tmp / "bench.db")
        for workers in (1, 2):
            started = time.perf_counter()
            grade_path(config=scratch, path=tmp / "submitted", progress=False, context=ctx, force=True,
                       workers=workers)
            times[f"autograder, {workers} worker{'s' * (workers > 1)}"] = time.perf_counter() - started
        started = time.perf_counter()
        report = grade_path(config=scratch, path=tmp / "submitted", progress=False, context=ctx, workers=2)
        times["autograder, unchanged re-grade"] = time.perf_counter() - started
        assert not report.results and len(report.unchanged) == args.submissions

    n = args.submissions
    base = times["nbgrader autograde"]
    print(f"{n} submissions of {nb} on {os.cpu_count()} cores")
    print(f"{'method':<34} {'batch s':>8} {'per notebook s':>15} {'throughput vs nbgrader':>23}")
    for name, seconds in times.items():
        print(f"{name:<34} {seconds:>8.2f} {seconds / n:>15.2f} {base / seconds:>22.2f}x")
    print(f"2 workers vs 1 worker: {times['autograder, 1 worker'] / times['autograder, 2 workers']:.2f}x; "
          f"unchanged re-grade vs first grading (2 workers): "
          f"{times['autograder, 2 workers'] / times['autograder, unchanged re-grade']:.0f}x faster")


if __name__ == "__main__":
    main()
