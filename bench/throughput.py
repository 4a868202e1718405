"""Throughput: plain `nbgrader autograde` vs `autograder grade` (1 and 2 workers), and re-grading.

Usage: python bench/throughput.py [--notebook 01_rnn_basics] [--submissions 8] [--workers 1,2] [--repeats 1]

Grades the same batch of reference submissions of one notebook, one method after another:
1. plain `nbgrader autograde` in a scratch nbgrader course;
2. `autograder grade` with 1 worker, then with 2 workers (the default on 2 cores), each forced
   to re-execute everything, with and without a kernel started ahead (`run.batch.KERNELS_AHEAD`);
3. `autograder grade` again on the unchanged batch (nothing changed: nothing is re-run).
Prints seconds per batch and per notebook (medians over the rounds), the ratios of the medians,
and each round's ratio to the nbgrader run of the same round, with their median: on a noisy
machine the per-round ratio is the steadier number.
"""
from __future__ import annotations

import argparse
import functools
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Callable

import nbformat

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from autograder.config import load_config  # noqa: E402
from autograder.grading.pipeline import load_context  # noqa: E402
from autograder.qa.samples import fill, reference_answers  # noqa: E402
from autograder.run.batch import KERNELS_AHEAD, grade_path  # noqa: E402

BIN = Path(sys.executable).parent


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--notebook", default="01_rnn_basics")
    parser.add_argument("--submissions", type=int, default=8)
    parser.add_argument("--workers", default="1,2", help="worker counts to try, comma-separated")
    parser.add_argument("--repeats", type=int, default=1, help="rounds; each time printed is the median")
    args = parser.parse_args()
    os.environ["PATH"] = os.pathsep.join([str(BIN), os.environ.get("PATH", "")])
    config = load_config(ROOT)
    ctx = load_context(config)
    nb = args.notebook
    timeouts = "c.Execute.timeout = 600\n"
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
        def plain_nbgrader() -> None:
            subprocess.run([str(BIN / "nbgrader"), "autograde", config.assignment, "--force"], cwd=course,
                           check=True, capture_output=True, env={**os.environ, **data_env})

        scratch = config.with_gradebook(tmp / "bench.db")
        methods: dict[str, Callable[[], None]] = {"nbgrader autograde": plain_nbgrader}
        for workers in [int(w) for w in args.workers.split(",")]:
            for ahead in (0, KERNELS_AHEAD):
                name = f"autograder, {workers} worker{'s' * (workers > 1)}" + ", no kernel ahead" * (not ahead)
                methods[name] = functools.partial(
                    grade_path, config=scratch, path=tmp / "submitted", progress=False, context=ctx, force=True,
                    workers=workers, kernels_ahead=ahead)
        samples: dict[str, list[float]] = {name: [] for name in methods}
        for _ in range(args.repeats):          # interleaved rounds: every method sees the same machine load
            for name, method in methods.items():
                started = time.perf_counter()
                method()
                samples[name].append(time.perf_counter() - started)
        times = {name: statistics.median(values) for name, values in samples.items()}
        started = time.perf_counter()
        report = grade_path(config=scratch, path=tmp / "submitted", progress=False, context=ctx, workers=2)
        times["autograder, unchanged re-grade"] = time.perf_counter() - started
        assert not report.results and len(report.unchanged) == args.submissions

    n = args.submissions
    base = times["nbgrader autograde"]
    print(f"{n} submissions of {nb} on {os.cpu_count()} cores; median of {args.repeats} interleaved round(s)")
    print(f"{'method':<46} {'batch s':>8} {'per notebook s':>15} {'throughput vs nbgrader':>23} "
          f"{'per-round ratios (median)':>26}")
    for name, seconds in times.items():
        rounds = [b / s for b, s in zip(samples["nbgrader autograde"], samples.get(name, ()))]
        spread = (" ".join(f"{r:.2f}" for r in rounds) + f" ({statistics.median(rounds):.2f}x)") if rounds else ""
        print(f"{name:<46} {seconds:>8.2f} {seconds / n:>15.2f} {base / seconds:>22.2f}x {spread:>26}")
    if {"autograder, 1 worker", "autograder, 2 workers"} <= times.keys():
        print(f"2 workers vs 1 worker: {times['autograder, 1 worker'] / times['autograder, 2 workers']:.2f}x")
    for name in [k for k in times if k.endswith(", no kernel ahead")]:
        ahead = name.removesuffix(", no kernel ahead")
        print(f"{ahead}: a kernel started ahead vs none: {times[name] / times[ahead]:.2f}x")


if __name__ == "__main__":
    main()
