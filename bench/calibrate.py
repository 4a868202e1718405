"""Calibrate the trained-model thresholds: run each topic's reference over several seeds.

Usage: python bench/calibrate.py [--seeds 1234 1 2] [--notebooks 02_word_embeddings ...]

Each seed grades the source notebooks (the reference solutions) through the normal pipeline,
with grader_config.py's `seed` replaced, on the configured grading data. For every saved model
it prints the held-out metric per seed, its mean and worst value, the trivial baseline, and the
notebook's wall time; it writes the same numbers to docs/calibration.json. Thresholds in
grader_config.py must lie between the baseline and the worst reference value, with margins.
"""
from __future__ import annotations

import argparse
import dataclasses
import json
import shutil
import statistics
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from autograder.batch import grade_path  # noqa: E402
from autograder.config import load_config  # noqa: E402
from autograder.grading import load_context  # noqa: E402
from autograder.models import HIGHER_IS_BETTER  # noqa: E402

OUT = ROOT / "docs" / "calibration.json"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, nargs="+", default=[1234, 1, 2])
    parser.add_argument("--notebooks", nargs="*", help="default: every notebook that trains a model")
    args = parser.parse_args()
    base = load_config(ROOT)
    ctx = load_context(base)
    names = args.notebooks or [nb.name for nb in ctx.spec.notebooks if nb.models]
    runs: dict[str, dict] = {}
    for seed in args.seeds:
        config = dataclasses.replace(base, seed=seed)
        seeded = dataclasses.replace(ctx, config=config)
        with tempfile.TemporaryDirectory(prefix="calibrate-") as tmp:
            folder = Path(tmp) / "submitted" / f"seed{seed}" / config.assignment
            folder.mkdir(parents=True)
            for name in names:
                shutil.copy(ctx.spec.source_dir / f"{name}.ipynb", folder / f"{name}.ipynb")
            report = grade_path(config=config.with_gradebook(Path(tmp) / "gb.db"), path=Path(tmp) / "submitted",
                                progress=False, context=seeded, force=True)
        for nb in report.results[0].notebooks:
            for m in nb.metrics:
                entry = runs.setdefault(f"{nb.notebook}/{m.model}", {"metric": m.metric, "seeds": [], "values": [],
                                                                     "baselines": [], "runtime_s": []})
                entry["seeds"].append(seed)
                entry["values"].append(m.value)
                entry["baselines"].append(m.baseline)
                entry["runtime_s"].append(nb.runtime_s)
                print(f"seed {seed:>5} {nb.notebook:<24} {m.model:<24} {m.metric} = {m.value} "
                      f"(baseline {m.baseline}) in {nb.runtime_s:.0f} s", flush=True)
    records = {}
    for key, e in runs.items():
        values = [v for v in e["values"] if v is not None]
        higher = HIGHER_IS_BETTER[e["metric"]]
        records[key] = {**e, "mean": statistics.mean(values) if values else None,
                        "worst": (min(values) if higher else max(values)) if values else None,
                        "baseline": statistics.mean(e["baselines"]) if e["baselines"][0] is not None else None,
                        "runtime_mean_s": statistics.mean(e["runtime_s"]), "data": base.data.source}
    OUT.write_text(json.dumps(records, indent=2, sort_keys=True) + "\n")
    print("\n| notebook / model | metric | seeds | mean | worst | trivial baseline | runtime (mean) |")
    print("|---|---|---|---|---|---|---|")
    for key, r in sorted(records.items()):
        print(f"| {key} | {r['metric']} | {len(r['seeds'])} | {r['mean']:.4f} | {r['worst']:.4f} | "
              f"{r['baseline']:.4f} | {r['runtime_mean_s']:.0f} s |")
    print(f"\nwrote {OUT}")


if __name__ == "__main__":
    main()
