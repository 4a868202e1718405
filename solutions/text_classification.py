"""Reference data for week 3, notebook 03 (text classification with a bidirectional LSTM).

Every exercise has a grader-side check, so the notebook's own test cells (which run in the
student's kernel) only count when it passes:
- ``build_encoder``: the returned layer is applied to the grader's texts; its ids must equal those
  of the reference encoder adapted on the same texts (``apply:0``);
- ``build_model``, ``build_stacked_model``: the returned model is saved by the harness, reloaded
  here without student code and checked (``ReturnedModel``): layers, masking, recurrent layers,
  output shape and parameter count for a fresh encoder;
- ``train_model``: the saved model's architecture and held-out accuracy (``MODELS``).
"""

from __future__ import annotations

from typing import Callable

import numpy as np

from autograder.grading.verdicts.probes import ReturnedModel

Kwargs = dict[str, object]
InputGenerator = Callable[[np.random.Generator], Kwargs]

DATASET = "sentiment"

_LETTERS = np.array(list("abcdefghijklmnopqrstuvwxyz"))


def _size(rng: np.random.Generator, low: int, high: int) -> int:
    """Random integer in [low, high]."""
    return int(rng.integers(low, high, endpoint=True))


def _words(rng: np.random.Generator, n: int) -> list[str]:
    """n distinct lower-case words of 2-7 letters."""
    words: list[str] = []
    while len(words) < n:
        word = "".join(rng.choice(_LETTERS, size=_size(rng, 2, 7)))
        if word not in words:
            words.append(word)
    return words


def build_encoder(texts, max_tokens: int, sequence_length: int):
    """A TextVectorization encoder adapted on texts, default standardisation (runs in the grader
    with Keras): texts (n,) str -> layer mapping str (batch,) to ids (batch, sequence_length)."""
    import keras

    encoder = keras.layers.TextVectorization(max_tokens=max_tokens, output_sequence_length=sequence_length)
    encoder.adapt(np.asarray(texts, dtype=object))
    return encoder


def generate_build_encoder(rng: np.random.Generator) -> Kwargs:
    """10-30 texts over 4-12 words with distinct frequencies (mixed case, punctuation), max_tokens
    4-14, sequence_length 2-8, and 6 texts to encode (``apply:0``), with unknown words."""
    words = _words(rng, _size(rng, 4, 12))
    weights = np.arange(len(words), 0, -1, dtype=float) ** 2

    def text(pool: list[str], p) -> str:
        chosen = rng.choice(pool, size=_size(rng, 1, 9), p=p)
        styled = [w.upper() if rng.random() < 0.2 else w.capitalize() if rng.random() < 0.2 else w for w in chosen]
        return " ".join(s + str(rng.choice(["", "", ",", "!", "."])) for s in styled)

    texts = [text(words, weights / weights.sum()) for _ in range(_size(rng, 10, 30))]
    probe = [text(words + ["zzq", "unseen"], None) for _ in range(5)] + [""]
    return {"texts": np.array(texts, dtype=str), "max_tokens": _size(rng, 4, 14),
            "sequence_length": _size(rng, 2, 8), "apply:0": np.array(probe, dtype=str)}


def generate_build_model(rng: np.random.Generator) -> Kwargs:
    """An encoder (a recipe the harness builds) with 3-30 words and 3-12 ids per text."""
    words = _words(rng, _size(rng, 3, 30))
    return {"encoder": {"keras": "TextVectorization",
                        "config": {"max_tokens": len(words) + 2, "output_sequence_length": _size(rng, 3, 12),
                                   "vocabulary": words}}}


def _vocabulary(kwargs: Kwargs) -> int:
    return len(kwargs["encoder"]["config"]["vocabulary"]) + 2


def _exact(count: int) -> tuple[int, int]:
    return count, count


_TEXTS = lambda kwargs: np.array(["the plot was dull", "", "a fine and moving story", "dull"])   # noqa: E731

# Embedding V x 64 + Bidirectional(LSTM(64)) 66,048 + Dense(64) 8,256 + Dense(1) 65
BUILD_MODEL = ReturnedModel(
    layers=("TextVectorization", "Embedding", "Bidirectional", "Dense", "Dense"),
    recurrent=(("LSTM", 64, False),),
    settings=(("Embedding", "mask_zero", True),),
    example=_TEXTS,
    output_shape=lambda kwargs: (4, 1),
    params=lambda kwargs: _exact(_vocabulary(kwargs) * 64 + 66_048 + 8_256 + 65),
)

# ... + Bidirectional(LSTM(64, return_sequences)) 66,048 + Bidirectional(LSTM(32)) 41,216
# + Dense(64) 4,160 + Dropout + Dense(1) 65
BUILD_STACKED_MODEL = ReturnedModel(
    layers=("TextVectorization", "Embedding", "Bidirectional", "Bidirectional", "Dense", "Dense", "Dropout"),
    recurrent=(("LSTM", 64, True), ("LSTM", 32, False)),
    settings=(("Embedding", "mask_zero", True),),
    example=_TEXTS,
    output_shape=lambda kwargs: (4, 1),
    params=lambda kwargs: _exact(_vocabulary(kwargs) * 64 + 66_048 + 41_216 + 4_160 + 65),
)

REFERENCES: dict[str, object] = {
    "build_encoder": build_encoder,
    "build_model": BUILD_MODEL,
    "build_stacked_model": BUILD_STACKED_MODEL,
}

INPUT_GENERATORS: dict[str, InputGenerator] = {
    "build_encoder": generate_build_encoder,
    "build_model": generate_build_model,
    "build_stacked_model": generate_build_model,
}

# Reference model: TextVectorization(5000 tokens, 40 ids) -> Embedding(5000, 64, mask_zero=True)
# -> Bidirectional(LSTM(64)) -> Dense(64, relu) -> Dense(1) logit: 394,369 parameters
# (Embedding 320,000 + Bidirectional 66,048 + Dense 8,256 + Dense 65).
MODELS = {
    "sentiment_bilstm": {
        "task": "binary_text",
        "metric": "accuracy",
        "layers": ["TextVectorization", "Embedding", "Bidirectional", "LSTM", "Dense"],
        "recurrent": [{"type": "LSTM", "units": 64, "return_sequences": False}],
        "params": [355_000, 434_000],
        "reported_tolerance": 0.1,
        # The grader's own training (autograder/data/feeding.py): the notebook's 80 / 20 cut, batches of 64.
        "training": {"batch_size": 64, "validation_share": 0.2, "split_seed": 123},
    },
}
