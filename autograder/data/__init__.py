"""Datasets: a registry of canonical files, a verified download cache, and offline sources.

`grading_data(name, source=...)` returns a `Split`: the training part that is copied into a
student's workspace, and the held-out part that only the grader's process ever reads.
"""
from .registry import REGISTRY, DatasetSpec
from .splits import Split, grading_data, write_training_files

__all__ = ["REGISTRY", "DatasetSpec", "Split", "grading_data", "write_training_files"]
