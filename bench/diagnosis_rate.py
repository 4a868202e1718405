"""How many planted mistakes the diagnosis can name, and how many it names when written another way.

Usage: python bench/diagnosis_rate.py [--rewrites tests/diagnosis_rewrites.toml]

Over every mutant of `mutants/` (all five notebooks): a mutant is *diagnosable* when a function its
cell defines is a plain array probe and its outputs on the diagnostic inputs differ from the
reference's (a mutant of a model, of training, or of a Keras-object function is not); a *rewrite* is
the same bug written by hand another way (`tests/diagnosis_rewrites.toml`), *named* when grading it
grader-side gives a diagnosis of its own function that names the mutant. Controls are correct
answers written another way; *clean* when no comparison fails and nothing is diagnosed.
Exits 1 when a rewrite is not named or a control is not clean.
"""
from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

from autograder.config import load_config  # noqa: E402
from autograder.grading.pipeline import load_context  # noqa: E402
from autograder.qa.diagnosis import load_rewrites, rate  # noqa: E402


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rewrites", type=Path, default=ROOT / "tests" / "diagnosis_rewrites.toml")
    args = parser.parse_args()
    started = time.perf_counter()
    ctx = load_context(load_config(ROOT))
    rows = rate(ctx, load_rewrites(args.rewrites, ctx))
    print("| notebook | mutants | diagnosable | rewrites | named | controls clean |")
    print("|---|---|---|---|---|---|")
    for r in rows:
        print(f"| `{r.notebook}` | {r.mutants} | {r.diagnosable} | {r.rewrites} | {r.named} | "
              f"{r.controls_clean} / {r.controls} |")
    total = {k: sum(getattr(r, k) for r in rows) for k in ("mutants", "diagnosable", "rewrites", "named",
                                                            "controls", "controls_clean")}
    print(f"| all | {total['mutants']} | {total['diagnosable']} | {total['rewrites']} | {total['named']} | "
          f"{total['controls_clean']} / {total['controls']} |")
    print(f"\n{total['named']} of {total['mutants']} mutants named from a rewrite "
          f"({total['named'] / total['mutants']:.0%}); {total['named']} of {total['diagnosable']} diagnosable "
          f"({total['named'] / max(1, total['diagnosable']):.0%}); {time.perf_counter() - started:.1f} s")
    return 0 if total["named"] == total["rewrites"] and total["controls_clean"] == total["controls"] else 1


if __name__ == "__main__":
    sys.exit(main())
