"""What the grader feeds a model, computed from its own split and the course's recipe, never from a student.

Each Keras notebook turns the training file into examples in a fixed way (its locked cells); the
grader repeats that here on the same split, so the model it trains sees what a student's model saw,
and the held-out data is standardised or numbered with the grader's own statistics:

- sentiment (binary_text): the notebook's own train / validation cut (`validation_share` of the
  texts, permuted with `split_seed`); the grader trains on the training part. Held out: the split's
  held-out texts and labels.
- text (char_lm): ids numbered by `["[UNK]"] + sorted(set(training text))` (the notebook's
  `build_vocabulary` and `StringLookup(mask_token=None)`); training on the first `train_chars`
  characters in chunks of `sequence_length + 1`, shuffled with a buffer of `shuffle_buffer`.
  Held out: the first `heldout_chars` characters of the held-out plays; the unigram baseline counts
  the first `baseline_chars` training characters.
- weather (forecast): the series as the notebook reads it (°C with 4 decimals, as written to
  `weather_train.csv`), its first `train_share` for training, whose mean and standard deviation
  (ddof 0) standardise every window of `input_width` hours. Held out: the split's future hours.

The recipe's keys and defaults are `RECIPES[task]`; `MODELS[<name>]["training"]` in
`solutions/<topic>.py` may override any of them (and sets `batch_size`).
"""
from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np

from .splits import Split

RECIPES: dict[str, dict[str, Any]] = {
    "binary_text": {"batch_size": 64, "validation_share": 0.2, "split_seed": 123},
    "char_lm": {"batch_size": 64, "sequence_length": 100, "train_chars": 1_000_000, "shuffle_buffer": 10_000,
                "heldout_chars": 60_000, "baseline_chars": 500_000},
    "forecast": {"batch_size": 64, "train_share": 0.8, "input_width": 24},
}
UNKNOWN = "[UNK]"


def recipe(task: str, overrides: Mapping[str, Any] | None = None) -> dict[str, Any]:
    """The feeding recipe of a task: RECIPES[task] with the model's overrides (unknown keys refused)."""
    if task not in RECIPES:
        raise ValueError(f"unknown task '{task}'; known: {', '.join(RECIPES)}")
    merged = dict(RECIPES[task])
    for key, value in (overrides or {}).items():
        if key not in merged:
            raise ValueError(f"unknown training key '{key}' for a {task} model; known: {', '.join(merged)}")
        merged[key] = value
    return merged


def char_vocabulary(text: str) -> list[str]:
    """Ids of a character model: [UNK] is 0, the sorted distinct characters follow."""
    return [UNKNOWN] + sorted(set(text))


def sentiment_training(rows: list[tuple[str, int]], *, validation_share: float,
                       split_seed: int) -> tuple[list[str], list[int]]:
    """The training part of the notebook's train / validation cut of the training file."""
    order = np.random.default_rng(split_seed).permutation(len(rows))
    n_val = int(len(rows) * validation_share)
    kept = order[n_val:]
    return [rows[i][0] for i in kept], [int(rows[i][1]) for i in kept]


def series_as_read(series) -> np.ndarray:
    """The training series as the notebook reads it back from weather_train.csv (4 decimals)."""
    return np.array([float(f"{t:.4f}") for t in np.asarray(series, dtype=np.float64)])


def job_data(task: str, split: Split, plan: Mapping[str, Any]) -> dict[str, Any]:
    """Everything the child needs to train and measure a `task` model on `split` (JSON-ready).

    binary_text: train_texts (n,), train_labels (n,), heldout_texts (m,), heldout_labels (m,);
    char_lm: vocabulary (V,), train_text, heldout_text, baseline_text, sequence_length, shuffle_buffer;
    forecast: train_series (n,), heldout_series (m,), mean, std, input_width."""
    if task == "binary_text":
        texts, labels = sentiment_training(list(split.train), validation_share=float(plan["validation_share"]),
                                           split_seed=int(plan["split_seed"]))
        return {"train_texts": texts, "train_labels": labels,
                "heldout_texts": [t for t, _ in split.heldout], "heldout_labels": [int(y) for _, y in split.heldout]}
    if task == "char_lm":
        text = str(split.train)
        return {"vocabulary": char_vocabulary(text), "train_text": text[: int(plan["train_chars"])],
                "heldout_text": str(split.heldout)[: int(plan["heldout_chars"])],
                "baseline_text": text[: int(plan["baseline_chars"])],
                "sequence_length": int(plan["sequence_length"]), "shuffle_buffer": int(plan["shuffle_buffer"])}
    if task == "forecast":
        series = series_as_read(split.train)
        train = series[: int(len(series) * float(plan["train_share"]))]
        return {"train_series": train.tolist(), "heldout_series": np.asarray(split.heldout, dtype=np.float64).tolist(),
                "mean": float(train.mean()), "std": float(train.std()), "input_width": int(plan["input_width"])}
    raise ValueError(f"unknown task '{task}'")
