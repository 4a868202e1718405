"""Per-notebook grading overhead: plain execution vs `autograder grade` vs plain `nbgrader autograde`.

Usage: python bench/grading_overhead.py [--submissions 8] [--repeats 3]

All three run the same topic-1 submissions (the demo's correct and partly-wrong samples,
alternating) on this machine, one after another, so their ratios are measured in one run.
- execute: nbclient runs each submitted notebook in a fresh kernel, nothing else;
- autograder: `grade_path` (intake, restore, execute, reference probes, gradebook), the kernel in
  the bubblewrap sandbox;
- unsandboxed: the same with `sandbox.isolation = "off"` (the kernel on the host), so the
  difference to `autograder` is what the sandbox costs, measured under the same load;
- nbgrader: `nbgrader autograde` over the same submissions in a scratch nbgrader course.
Prints the median over repeats of the whole batch, per notebook, and ratios, then what the
kernel's sandbox view costs: computing it (once per grader process) and starting bwrap with it.
"""
from __future__ import annotations

import argparse
import dataclasses
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import nbformat
from nbclient import NotebookClient

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from autograder.config import load_config  # noqa: E402
from autograder.grading import sandbox  # noqa: E402
from autograder.grading.pipeline import load_context  # noqa: E402
from autograder.qa.samples import TOPIC1, WRONG, fill, reference_answers  # noqa: E402
from autograder.run.batch import grade_path  # noqa: E402

BIN = Path(sys.executable).parent


def make_batch(ctx, folder: Path, n: int) -> list[Path]:
    good = reference_answers(ctx.sources[TOPIC1])
    paths = []
    for i in range(n):
        answers = good if i % 2 == 0 else {**good, **WRONG}
        path = folder / f"student{i:02d}" / ctx.spec.name / f"{TOPIC1}.ipynb"
        path.parent.mkdir(parents=True)
        nbformat.write(fill(ctx.releases[TOPIC1], answers), str(path))
        paths.append(path)
    return paths


def run_execute(paths: list[Path]) -> float:
    started = time.perf_counter()
    for path in paths:
        nb = nbformat.read(str(path), as_version=4)
        NotebookClient(nb, kernel_name="python3", allow_errors=True, timeout=120,
                       resources={"metadata": {"path": str(path.parent)}}).execute()
    return time.perf_counter() - started


def run_autograder(config, ctx, submitted: Path, db: Path) -> float:
    """Re-grades into the same gradebook each repeat (as nbgrader's run does), forcing re-execution."""
    started = time.perf_counter()
    grade_path(config=config.with_gradebook(db), path=submitted, progress=False, context=ctx, force=True)
    return time.perf_counter() - started


def nbgrader_course(config, submitted: Path, root: Path) -> None:
    (root / "source" / config.assignment).mkdir(parents=True)
    shutil.copy(ROOT / "source" / config.assignment / f"{TOPIC1}.ipynb", root / "source" / config.assignment)
    (root / "nbgrader_config.py").write_text(
        "c = get_config()\n"
        f"c.CourseDirectory.root = {str(root)!r}\n"
        f"c.CourseDirectory.db_url = 'sqlite:///{root}/gradebook.db'\n"
        "c.Execute.timeout = 120\n")
    subprocess.run([str(BIN / "nbgrader"), "generate_assignment", config.assignment, "--force"],
                   cwd=root, check=True, capture_output=True)
    shutil.copytree(submitted, root / "submitted")


def run_nbgrader(config, root: Path) -> float:
    shutil.rmtree(root / "autograded", ignore_errors=True)
    started = time.perf_counter()
    subprocess.run([str(BIN / "nbgrader"), "autograde", config.assignment, "--force"],
                   cwd=root, check=True, capture_output=True)
    return time.perf_counter() - started


def sandbox_start_s(repeats: int = 9) -> float | None:
    """Median wall time of bwrap building the kernel's whole view and running /usr/bin/true in it."""
    iso = sandbox.probe_isolation()
    if not iso.available:
        return None
    view = sandbox.kernel_view()
    times = []
    with tempfile.TemporaryDirectory(prefix="ag-bench-", dir="/tmp") as tmp:
        work = Path(tmp) / "w"
        work.mkdir()
        launch = view.launch(work, Path(tmp), {"HOME": str(work)}, as_root=iso.as_root)
        for _ in range(repeats):
            started = time.perf_counter()
            subprocess.run([launch.bwrap, *launch.args, "--", "/usr/bin/true"], check=True)
            times.append(time.perf_counter() - started)
    return statistics.median(times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--submissions", type=int, default=8)
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    os.environ["PATH"] = os.pathsep.join([str(BIN), os.environ.get("PATH", "")])
    config = load_config(ROOT)
    ctx = load_context(config)
    with tempfile.TemporaryDirectory(prefix="bench-") as tmp:
        tmp = Path(tmp)
        paths = make_batch(ctx, tmp / "submitted", args.submissions)
        nbgrader_course(config, tmp / "submitted", tmp / "nbgrader_course")
        off = dataclasses.replace(config, sandbox=dataclasses.replace(config.sandbox, isolation="off"))
        off_ctx = dataclasses.replace(ctx, config=off)
        times = {"execute": [], "autograder": [], "unsandboxed": [], "nbgrader": []}
        for _ in range(args.repeats):
            times["execute"].append(run_execute(paths))
            times["autograder"].append(run_autograder(config, ctx, tmp / "submitted", tmp / "bench.db"))
            times["unsandboxed"].append(run_autograder(off, off_ctx, tmp / "submitted", tmp / "bench-off.db"))
            times["nbgrader"].append(run_nbgrader(config, tmp / "nbgrader_course"))
    n = args.submissions
    med = {k: statistics.median(v) for k, v in times.items()}
    print(f"{n} submissions of {TOPIC1}, {args.repeats} repeats, {os.cpu_count()} cores; medians of the batch")
    print(f"{'method':<12} {'batch s':>9} {'per notebook s':>15} {'vs execute':>11}")
    for name in ("execute", "autograder", "unsandboxed", "nbgrader"):
        print(f"{name:<12} {med[name]:>9.2f} {med[name] / n:>15.2f} {med[name] / med['execute']:>10.2f}x")
    over = (med["autograder"] - med["execute"]) / n
    print(f"autograder overhead over plain execution: {over:+.2f} s per notebook; "
          f"autograder / nbgrader time ratio: {med['autograder'] / med['nbgrader']:.2f}")
    print(f"the sandbox's share: {(med['autograder'] - med['unsandboxed']) / n:+.2f} s per notebook "
          f"(autograder with the kernel in bwrap vs on the host)")
    start = sandbox_start_s()
    if start is None:
        print(f"sandbox: unavailable ({sandbox.probe_isolation().reason})")
    else:
        view = sandbox.kernel_view()
        print(f"sandbox: kernel view of {len(view.distributions)} distributions computed in {view.build_s:.2f} s "
              f"(once per process); bwrap starts with it in {start:.3f} s (median)")


if __name__ == "__main__":
    main()
