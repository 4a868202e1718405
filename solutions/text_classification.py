"""Reference data for week 3, notebook 03 (text classification with a bidirectional LSTM).

Every exercise has a grader-side check, so the notebook's own test cells (which run in the
student's kernel) only count when it passes:
- ``build_encoder``: the returned layer is applied to the grader's texts; its ids must equal those
  of the reference encoder adapted on the same texts (``apply:0``);
- ``padding_changes_prediction``: run on id models the harness builds from recipes (masked or not,
  SimpleRNN or LSTM) and padded ids; its per-text answers must equal the reference's, which
  builds the same model with Keras in the grader;
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

def _build(recipe: dict):
    """The Keras model a Sequential recipe describes, built as the probe harness builds it in the kernel."""
    import keras

    layers = [getattr(keras.layers, spec["keras"])(**spec.get("config", {})) for spec in recipe["layers"]]
    model = keras.Sequential([keras.Input(shape=tuple(recipe["input_shape"]), dtype=recipe["input_dtype"])] + layers)
    for layer, spec in zip(layers, recipe["layers"]):
        if spec.get("weights"):
            layer.set_weights([np.asarray(w) for w in spec["weights"]])
    return model


def padding_changes_prediction(model, ids, extra: int = 5, atol: float = 1e-5) -> np.ndarray:
    """Which texts change their logit when `extra` more padding ids (0) are appended (runs in the
    grader with Keras, on the model the recipe describes): ids (batch, T) int -> (batch,) bool."""
    network = _build(model)
    ids = np.asarray(ids).astype(np.int32)
    padded = np.concatenate([ids, np.zeros((ids.shape[0], int(extra)), dtype=np.int32)], axis=1)
    before = np.asarray(network(ids)).reshape(len(ids), -1)
    after = np.asarray(network(padded)).reshape(len(ids), -1)
    return np.abs(after - before).max(axis=1) > atol


padding_changes_prediction.uses_keras = True   # the grader calls it under its Keras lock


def _weights(rng: np.random.Generator, *shape: int, scale: float = 0.5) -> np.ndarray:
    return (rng.normal(size=shape) * scale).astype(np.float32).astype(np.float64)


def generate_padding_changes_prediction(rng: np.random.Generator) -> Kwargs:
    """An id model (a recipe the harness builds): Embedding(V 5-20, d 2-6, mask_zero either way)
    -> SimpleRNN or LSTM (2-6 units) -> Dense(1), random float32 weights with a non-zero padding
    row; ids (batch 2-6, T 3-9), each row 1-T real ids (1..V-1) then padding; extra 1-6, atol 1e-5."""
    vocabulary, dim, units = _size(rng, 5, 20), _size(rng, 2, 6), _size(rng, 2, 6)
    kind = "LSTM" if rng.random() < 0.5 else "SimpleRNN"
    gates = 4 if kind == "LSTM" else 1
    batch, steps = _size(rng, 2, 6), _size(rng, 3, 9)
    ids = np.zeros((batch, steps), dtype=np.int64)
    for row in ids:
        length = _size(rng, 1, steps)
        row[:length] = rng.integers(1, vocabulary, size=length)
    layers = [
        {"keras": "Embedding", "config": {"input_dim": vocabulary, "output_dim": dim,
                                          "mask_zero": bool(rng.random() < 0.5)},
         "weights": [_weights(rng, vocabulary, dim, scale=1.0)]},
        {"keras": kind, "config": {"units": units},
         "weights": [_weights(rng, dim, gates * units), _weights(rng, units, gates * units),
                     _weights(rng, gates * units, scale=0.1)]},
        {"keras": "Dense", "config": {"units": 1}, "weights": [_weights(rng, units, 1, scale=1.0), np.zeros(1)]},
    ]
    return {"model": {"keras": "Sequential", "input_shape": [None], "input_dtype": "int32", "layers": layers},
            "ids": ids, "extra": _size(rng, 1, 6), "atol": 1e-5}


REFERENCES: dict[str, object] = {
    "build_encoder": build_encoder,
    "padding_changes_prediction": padding_changes_prediction,
    "build_model": BUILD_MODEL,
    "build_stacked_model": BUILD_STACKED_MODEL,
}

INPUT_GENERATORS: dict[str, InputGenerator] = {
    "build_encoder": generate_build_encoder,
    "padding_changes_prediction": generate_padding_changes_prediction,
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

