"""Calibrate trained-model thresholds: grade the reference solutions over several seeds.

Each seed grades the source notebooks (the reference answers) through the normal pipeline,
with grader_config.py's `seed` replaced, on the configured grading data. For every saved model
the record holds the held-out metric per seed, its mean and worst value, the trivial baseline,
and the notebook's wall time, and proposes thresholds: the target 3 % (of the gap to the
baseline) short of the worst seed, the min a third of the way from the baseline to the worst seed.

The metric is the grader's own training of the reference's architecture (what a student's grade
comes from); `own_values` are the reference notebook's saved weights on the same held-out data.
Their largest gap in the weights' favour over the seeds, times 1.5 (at least 2 % of the gap between
worst seed and baseline), is the proposed `models.flag_margin` of the model: honest training never
beats the grader's by that much.
"""
from __future__ import annotations

import dataclasses
import json
import shutil
import statistics
import tempfile
from pathlib import Path
from typing import Callable

from autograder.config import GraderConfig
from autograder.grading.pipeline import load_context
from autograder.grading.verdicts.models import HIGHER_IS_BETTER
from autograder.run.batch import grade_path


def calibrate(*, config: GraderConfig, seeds: list[int], notebooks: list[str] | None = None,
              report: Callable[[str], None] = print) -> dict[str, dict]:
    """Run the references once per seed; return records keyed by "<notebook>/<model>"."""
    ctx = load_context(config)
    names = notebooks or [nb.name for nb in ctx.spec.notebooks if nb.models]
    runs: dict[str, dict] = {}
    for seed in seeds:
        seeded_config = dataclasses.replace(config, seed=seed)
        seeded = dataclasses.replace(ctx, config=seeded_config)
        with tempfile.TemporaryDirectory(prefix="calibrate-") as tmp:
            folder = Path(tmp) / "submitted" / f"seed{seed}" / config.assignment
            folder.mkdir(parents=True)
            for name in names:
                shutil.copy(ctx.spec.source_dir / f"{name}.ipynb", folder / f"{name}.ipynb")
            result = grade_path(config=seeded_config.with_gradebook(Path(tmp) / "gb.db"),
                                path=Path(tmp) / "submitted", progress=False, context=seeded, force=True)
        for nb in result.results[0].notebooks:
            for m in nb.metrics:
                entry = runs.setdefault(f"{nb.notebook}/{m.model}", {"metric": m.metric, "seeds": [], "values": [],
                                                                     "baselines": [], "runtime_s": [],
                                                                     "own_values": []})
                for key, value in (("seeds", seed), ("values", m.value), ("baselines", m.baseline),
                                   ("runtime_s", nb.runtime_s), ("own_values", m.own_value)):
                    entry[key].append(value)
                why = "" if m.value is not None else " -- " + "; ".join(
                    t.reason for t in nb.tests if t.kind == "model" and t.points < t.max_points)
                report(f"seed {seed:>5} {nb.notebook:<24} {m.model:<24} {m.metric} = {m.value} "
                       f"(saved weights {m.own_value}, baseline {m.baseline}) in {nb.runtime_s:.0f} s{why}")
    return {key: _summarise(e, config) for key, e in runs.items()}


def _summarise(e: dict, config: GraderConfig) -> dict:
    values = [v for v in e["values"] if v is not None]
    higher = HIGHER_IS_BETTER[e["metric"]]
    worst = (min(values) if higher else max(values)) if values else None
    baseline = statistics.mean(b for b in e["baselines"] if b is not None) if any(e["baselines"]) else None
    proposal = None
    if worst is not None and baseline is not None:
        gap = worst - baseline
        proposal = {"min": round(baseline + gap / 3, 3), "target": round(worst - 0.03 * gap, 3)}
    margin = None
    pairs = [(own, v) for own, v in zip(e.get("own_values", ()), e["values"]) if own is not None and v is not None]
    if pairs and worst is not None and baseline is not None:
        sign = 1 if higher else -1
        ahead = max(sign * (own - v) for own, v in pairs)
        margin = round(max(1.5 * ahead, 0.02 * abs(worst - baseline)), 3)
    return {**e, "mean": statistics.mean(values) if values else None, "worst": worst, "baseline": baseline,
            "runtime_mean_s": statistics.mean(e["runtime_s"]), "data": config.data.source,
            "proposed_threshold": proposal, "proposed_flag_margin": margin}


def markdown_table(records: dict[str, dict]) -> str:
    lines = ["| notebook / model | metric | seeds | mean | worst | trivial baseline | runtime (mean) |",
             "|---|---|---|---|---|---|---|"]
    for key, r in sorted(records.items()):
        lines.append(f"| {key} | {r['metric']} | {len(r['seeds'])} | {r['mean']:.4f} | {r['worst']:.4f} | "
                     f"{r['baseline']:.4f} | {r['runtime_mean_s']:.0f} s |")
    return "\n".join(lines)


def write_record(records: dict[str, dict], path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(records, indent=2, sort_keys=True) + "\n")
