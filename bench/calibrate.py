"""Calibrate the trained-model thresholds (same as `autograder calibrate`).

Usage: python bench/calibrate.py [--seeds 1234 1 2] [--notebooks 02_word_embeddings ...]
Writes docs/calibration.json and prints the README table (see autograder/calibrate.py).
"""
from __future__ import annotations

import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from autograder.cli import main  # noqa: E402

if __name__ == "__main__":
    raise SystemExit(main(["--course-root", str(ROOT), "calibrate", *sys.argv[1:]]))
