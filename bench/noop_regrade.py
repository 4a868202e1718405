"""Whole-process time of an unchanged re-grade: `autograder grade` on a batch graded before.

Usage: python bench/noop_regrade.py [--submissions 8] [--repeats 7]

A scratch copy of the course grades N topic-1 submissions once; then the console script runs
again on the unchanged batch, as a TA would after an interrupted run, and finds nothing to do.
Prints the median over repeats of the whole process, beside the bare interpreter start and the
import of the CLI, so the ratios show what the grader itself costs.
"""
from __future__ import annotations

import argparse
import shutil
import statistics
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
from autograder.qa.samples import TOPIC1, fill, reference_answers  # noqa: E402
from autograder.run.batch import grade_path  # noqa: E402

BIN = Path(sys.executable).parent


def median_s(command: list[str], repeats: int, cwd: Path) -> float:
    times = []
    for _ in range(repeats):
        started = time.perf_counter()
        done = subprocess.run(command, cwd=cwd, capture_output=True, text=True)
        times.append(time.perf_counter() - started)
        if done.returncode != 0:
            raise SystemExit(f"{' '.join(command)} failed:\n{done.stdout}\n{done.stderr}")
    return statistics.median(times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--submissions", type=int, default=8)
    parser.add_argument("--repeats", type=int, default=7)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="noop-regrade-") as tmp:
        course = Path(tmp) / "course"
        course.mkdir()
        shutil.copy(ROOT / "grader_config.py", course)
        for name in ("source", "release", "solutions"):
            shutil.copytree(ROOT / name, course / name, ignore=shutil.ignore_patterns("__pycache__"))
        config = load_config(course)
        ctx = load_context(config)
        filled = fill(ctx.releases[TOPIC1], reference_answers(ctx.sources[TOPIC1]))
        for i in range(args.submissions):
            folder = course / "submitted" / f"student{i:02d}" / config.assignment
            folder.mkdir(parents=True)
            nbformat.write(filled, str(folder / f"{TOPIC1}.ipynb"))
        first = time.perf_counter()
        grade_path(config=config, path=course / "submitted", progress=False, context=ctx, workers=2)
        first = time.perf_counter() - first

        python = median_s([sys.executable, "-c", "pass"], args.repeats, course)
        imports = median_s([sys.executable, "-c", "import autograder.cli"], args.repeats, course)
        noop = median_s([str(BIN / "autograder"), "--course-root", str(course), "grade", "submitted"],
                        args.repeats, course)
    print(f"{args.submissions} topic-1 submissions, median of {args.repeats} runs, whole process:")
    print(f"  python -c pass                    {python:6.2f} s")
    print(f"  import autograder.cli             {imports:6.2f} s")
    print(f"  autograder grade, unchanged batch {noop:6.2f} s   ({first / noop:.0f}x faster than grading it: {first:.1f} s)")


if __name__ == "__main__":
    main()
