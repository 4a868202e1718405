"""Run the released notebooks, answered, in a plain student environment, and time them against budget.

Usage: python bench/student_env.py [--venv DIR] [--notebook 05_time_series ...] [--repeats 1]

What a student at home has, and nothing more:
1. a fresh virtual environment holding only `release/<assignment>/requirements.txt` (TensorFlow,
   Keras, numpy, pandas, matplotlib, and the self-check's nbclient / ipykernel); the autograder
   package is not installed in it and is not on its path;
2. each released notebook, its answer cells filled with the reference answers, beside the
   release's side files (`selfcheck.py`), in a scratch folder; run top to bottom by nbclient with
   that environment's own Python kernel and default threads, as "Run All" does;
3. the data a student can have here. The tiny Shakespeare file is byte-identical to the file
   04 downloads, so when `--shakespeare` (default: ../shared/data/tiny_shakespeare/input.txt)
   exists it is put where `keras.utils.get_file` caches it and 04 runs exactly as at home. IMDB
   and Jena cannot be downloaded on a machine without network, so 02, 03 and 05 read the
   training part of the grading data from `COURSE_DATA_DIR`, as they do in the grader and on a
   course JupyterHub that provides it.
Prints seconds per notebook (median over repeats) against its budget, and the three slowest cells.
The budget counts every cell but the self-check cell: that cell runs the whole notebook a second
time in a fresh kernel (release/<assignment>/selfcheck.py), so it takes about as long again. It is
left out (its nested-run guard is set) unless `--with-self-check`, which prints its time beside.
Exits 1 when a notebook raises or runs over its budget.
"""
from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import venv
from pathlib import Path

import nbformat

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from autograder.config import load_config  # noqa: E402
from autograder.course.selfcheck import GUARD_ENV  # noqa: E402  (set: the self-check cell does nothing)
from autograder.data import write_training_files  # noqa: E402
from autograder.grading.pipeline import load_context  # noqa: E402
from autograder.qa.samples import fill, reference_answers  # noqa: E402

# Seconds a student may wait for "Run All" of an answered notebook on a 2-core laptop.
BUDGET_S = {"01_rnn_basics": 60, "02_word_embeddings": 60, "03_text_classification": 120,
            "04_text_generation": 120, "05_time_series": 60}
SHAKESPEARE = ROOT.parent / "shared" / "data" / "tiny_shakespeare" / "input.txt"

# Runs inside the student environment: the notebook, timed cell by cell, as JSON on stdout.
RUNNER = r"""
import json, sys, time
import nbformat
from nbclient import NotebookClient
path = sys.argv[1]
nb = nbformat.read(path, as_version=4)
times = {}
class Timed(NotebookClient):
    async def async_execute_cell(self, cell, cell_index, **kw):
        started = time.perf_counter()
        try:
            return await super().async_execute_cell(cell, cell_index, **kw)
        finally:
            times[cell_index] = time.perf_counter() - started
client = Timed(nb, timeout=1800, kernel_name="python3", resources={"metadata": {"path": sys.argv[2]}})
started = time.perf_counter()
error = ""
try:
    client.execute()
except Exception as exc:
    error = f"{type(exc).__name__}: {str(exc)[-600:]}"
total = time.perf_counter() - started
def label(i):
    meta = nb.cells[i].metadata.get("nbgrader", {})
    return meta.get("grade_id") or f"cell {i}"
check = sum(t for i, t in times.items() if "selfcheck.py" in nb.cells[i].source)
top = sorted(times, key=times.get, reverse=True)
print(json.dumps({"total_s": total - check, "self_check_s": check, "error": error,
                  "slowest": [[label(i), times[i]] for i in top if "selfcheck.py" not in nb.cells[i].source][:3]}))
"""


def student_venv(folder: Path, requirements: Path) -> Path:
    """A virtual environment with only the release's requirements (created once, then reused)."""
    python = folder / "bin" / "python"
    stamp = folder / ".requirements"
    wanted = requirements.read_text()
    if python.exists() and stamp.exists() and stamp.read_text() == wanted:
        return python
    shutil.rmtree(folder, ignore_errors=True)
    venv.create(folder, with_pip=True)
    subprocess.run([str(python), "-m", "pip", "install", "--quiet", "-r", str(requirements)], check=True)
    stamp.write_text(wanted)
    return python


def plain_env(home: Path) -> dict[str, str]:
    """The environment of a student's shell: no autograder path, own Jupyter and Keras folders."""
    keep = {k: v for k, v in os.environ.items() if k in ("PATH", "LANG", "LC_ALL", "TMPDIR", "USER")}
    keep.update(HOME=str(home), JUPYTER_DATA_DIR=str(home / "jupyter"), JUPYTER_CONFIG_DIR=str(home / "jupyter"),
                KERAS_HOME=str(home / "keras"), MPLBACKEND="Agg", TF_CPP_MIN_LOG_LEVEL="2")
    return keep


def run_once(python: Path, name: str, nb, ctx, shakespeare: Path, *, self_check: bool) -> dict:
    with tempfile.TemporaryDirectory(prefix=f"student-{name}-") as tmp:
        home, work = Path(tmp) / "home", Path(tmp) / "work"
        work.mkdir(parents=True)
        for side in ctx.release_dir.iterdir():
            if side.is_file() and side.suffix != ".ipynb":
                shutil.copy(side, work)
        nbformat.write(nb, work / f"{name}.ipynb")
        (work / "runner.py").write_text(RUNNER)
        env = plain_env(home)
        if not self_check:
            env[GUARD_ENV] = "1"
        data = "none"
        if name in ctx.data:
            split = ctx.data[name]
            if split.dataset == "text" and shakespeare.is_file():
                (home / "keras" / "datasets").mkdir(parents=True)
                shutil.copy(shakespeare, home / "keras" / "datasets" / "shakespeare.txt")
                data = "home: tiny Shakespeare in the Keras cache"
            else:
                env["COURSE_DATA_DIR"] = str(write_training_files(split, work / "data").parent)
                data = f"COURSE_DATA_DIR: {split.source.split(' ')[0]} ({len(split.train):,} training items)"
        done = subprocess.run([str(python), "runner.py", f"{name}.ipynb", str(work)], cwd=work, env=env,
                              capture_output=True, text=True)
        if done.returncode != 0 or not done.stdout.strip():
            return {"total_s": 0.0, "self_check_s": 0.0, "slowest": [], "data": data,
                    "error": f"runner exited {done.returncode}: {done.stderr[-600:]}"}
        return {**json.loads(done.stdout.strip().splitlines()[-1]), "data": data}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--venv", type=Path, default=Path(tempfile.gettempdir()) / "rnn-student-venv")
    parser.add_argument("--notebook", action="append", default=[])
    parser.add_argument("--repeats", type=int, default=1)
    parser.add_argument("--shakespeare", type=Path, default=SHAKESPEARE)
    parser.add_argument("--with-self-check", action="store_true")
    args = parser.parse_args()
    config = load_config(ROOT)
    ctx = load_context(config)
    python = student_venv(args.venv, ctx.release_dir / "requirements.txt")
    probe = subprocess.run([str(python), "-c", "import importlib.util as u; print(u.find_spec('autograder'))"],
                           capture_output=True, text=True, env=plain_env(Path(tempfile.gettempdir())),
                           cwd=tempfile.gettempdir())
    assert probe.stdout.strip() == "None", "the student environment must not see the autograder package"
    names = args.notebook or sorted(ctx.releases)
    failed = False
    print(f"{'notebook':<24} {'median s':>9} {'budget s':>9} {'ratio':>6} {'self-check s':>12}  slowest cells")
    for name in names:
        nb = fill(ctx.releases[name], reference_answers(ctx.sources[name]))
        runs = [run_once(python, name, nb, ctx, args.shakespeare, self_check=args.with_self_check) for _ in range(args.repeats)]
        errors = [r["error"] for r in runs if r["error"]]
        median = statistics.median(r["total_s"] for r in runs)
        check = statistics.median(r["self_check_s"] for r in runs)
        budget = BUDGET_S.get(name, 60)
        over = median > budget
        failed |= bool(errors) or over
        slowest = ", ".join(f"{cell} {seconds:.0f} s" for cell, seconds in runs[0]["slowest"])
        print(f"{name:<24} {median:9.1f} {budget:9d} {median / budget:6.2f} {check:12.1f}  {slowest}"
              + ("  OVER BUDGET" if over else ""))
        print(f"{'':<24} data: {runs[0]['data']}")
        for error in errors:
            print(f"  error: {error}")
    return 1 if failed else 0


if __name__ == "__main__":
    raise SystemExit(main())
