"""Verdicts: kernel test cells, grader-side reference comparisons, trained models."""
