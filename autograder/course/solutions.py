"""Load a topic's reference module from solutions/ into the grader's process.

`solutions/<topic>.py` may define:
- REFERENCES / INPUT_GENERATORS: functions compared with the student's on random inputs;
- DATASET: the grading dataset the notebook trains on ("sentiment", "text", "weather");
- MODELS: model name -> what the grader checks about the saved model (see models.ModelSpec).
The module is imported by path, never put on the kernel's import path.
"""
from __future__ import annotations

import importlib.util
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Mapping

import numpy as np

from autograder.errors import AutograderError


@dataclass(frozen=True)
class TopicSolutions:
    functions: Mapping[str, Callable[..., object]] = field(default_factory=dict)
    generators: Mapping[str, Callable[[np.random.Generator], dict]] = field(default_factory=dict)
    dataset: str | None = None
    models: Mapping[str, Mapping] = field(default_factory=dict)


def load_solutions(solutions_dir: Path, module: str) -> TopicSolutions:
    path = solutions_dir / f"{module}.py"
    if not path.is_file():
        raise AutograderError(f"No reference module at {path}.")
    spec = importlib.util.spec_from_file_location(f"autograder_solutions_{module}", path)
    mod = importlib.util.module_from_spec(spec)
    try:
        spec.loader.exec_module(mod)
    except Exception as exc:
        raise AutograderError(f"{path} failed to import: {type(exc).__name__}: {exc}") from exc
    return TopicSolutions(functions=getattr(mod, "REFERENCES", {}), generators=getattr(mod, "INPUT_GENERATORS", {}),
                          dataset=getattr(mod, "DATASET", None), models=getattr(mod, "MODELS", {}))
