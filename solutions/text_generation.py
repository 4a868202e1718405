"""Reference solutions for week 3, notebook 04 (character-level text generation with a GRU).

Characters are numbered the way ``keras.layers.StringLookup(vocabulary=..., mask_token=None)``
numbers them: id 0 is ``[UNK]`` (any character outside the vocabulary) and the character at
position ``i`` of the sorted vocabulary gets id ``i + 1``. The saved model ``char_gru`` maps ids
``(batch, T)`` to next-character logits ``(batch, T, vocab_size)``.
"""

from __future__ import annotations

from typing import Any, Callable

import numpy as np

from autograder.grading.verdicts.probes import ReturnedModel

DATASET = "text"

Kwargs = dict[str, Any]
InputGenerator = Callable[[np.random.Generator], Kwargs]


def build_vocabulary(text: str) -> list[str]:
    """The distinct characters of ``text``, sorted by code point -> list of one-character strings."""
    return sorted(set(text))


def text_to_ids(text: str, vocabulary) -> np.ndarray:
    """Character ids of ``text`` (shape ``(len(text),)``, integers).

    vocabulary: sorted distinct characters (a list or a 1-D NumPy string array). The character at
    position i gets id i + 1; a character that is not in the vocabulary gets id 0 ([UNK]).
    """
    index = {str(ch): i + 1 for i, ch in enumerate(vocabulary)}
    return np.array([index.get(ch, 0) for ch in text], dtype=np.int64)


def split_input_target(sequence):
    """(input, target) of one training sequence: every element but the last, and every element but
    the first, so that target[t] is the character that follows input[t]."""
    return sequence[:-1], sequence[1:]


def sample_next(logits: np.ndarray, temperature: float, seed) -> np.ndarray:
    """One id per row of ``logits`` (batch, vocab_size), drawn from softmax(logits / temperature).

    ``rng = np.random.default_rng(seed)`` (an int, or a Generator that is then used as it is);
    rows are sampled in order, each with ``rng.choice(vocab_size, p=probabilities_of_the_row)``.
    -> ids (batch,), integers.
    """
    rng = np.random.default_rng(seed)
    scaled = np.asarray(logits, dtype=np.float64) / temperature
    scaled = scaled - scaled.max(axis=1, keepdims=True)
    probs = np.exp(scaled)
    probs = probs / probs.sum(axis=1, keepdims=True)
    return np.array([rng.choice(probs.shape[1], p=row) for row in probs], dtype=np.int64)


# ---- input generators (grader side) ---------------------------------------------------------

_ALPHABET = list("\n !&',-.:;?ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz") + ["—", "é", "[", "]"]


def _size(rng: np.random.Generator, low: int, high: int) -> int:
    """Random integer in [low, high]."""
    return int(rng.integers(low, high, endpoint=True))


def _random_text(rng: np.random.Generator, alphabet: list[str], length: int) -> str:
    return "".join(rng.choice(np.array(alphabet), size=length))


def generate_build_vocabulary(rng: np.random.Generator) -> Kwargs:
    """A text of 20-80 characters: a newline, a space and 1-12 more random characters (capitals,
    lower case, punctuation, non-ASCII), so that a wrong order or a dropped character shows."""
    others = [ch for ch in _ALPHABET if ch not in "\n "]
    alphabet = ["\n", " "] + list(rng.choice(np.array(others), size=_size(rng, 1, 12), replace=False))
    text = "".join(alphabet) + _random_text(rng, alphabet, _size(rng, 20, 80) - len(alphabet))
    return {"text": "".join(rng.permutation(list(text)))}


def generate_text_to_ids(rng: np.random.Generator) -> Kwargs:
    """A text of 1-80 characters and a sorted vocabulary that misses some of its characters."""
    alphabet = list(rng.choice(np.array(_ALPHABET), size=_size(rng, 3, 14), replace=False))
    text = _random_text(rng, alphabet, _size(rng, 1, 80))
    present = sorted(set(text))
    kept = [ch for ch in present if rng.random() < 0.75] or present[:1]
    extra = [ch for ch in _ALPHABET if ch not in present and rng.random() < 0.1]
    return {"text": text, "vocabulary": np.array(sorted(kept + extra))}


def generate_split_input_target(rng: np.random.Generator) -> Kwargs:
    """An integer id sequence of length 2-40."""
    return {"sequence": rng.integers(0, 80, size=_size(rng, 2, 40))}


def generate_sample_next(rng: np.random.Generator) -> Kwargs:
    """Logits (batch 8-20, vocab 2-12) of scale 1, 3 or 300 (too large for exp without subtracting the
    row maximum), a temperature in [0.2, 3] and an integer seed."""
    batch, vocab = _size(rng, 8, 20), _size(rng, 2, 12)
    scale = float(rng.choice([1.0, 3.0, 300.0]))
    return {"logits": scale * rng.normal(size=(batch, vocab)), "temperature": float(rng.uniform(0.2, 3.0)),
            "seed": int(rng.integers(0, 2**31 - 1))}


def make_lookup_layers(vocabulary):
    """The reference lookups (Keras, in the grader's process): ids_from_chars, chars_from_ids."""
    import keras

    vocabulary = [str(ch) for ch in vocabulary]
    return (keras.layers.StringLookup(vocabulary=vocabulary, mask_token=None),
            keras.layers.StringLookup(vocabulary=vocabulary, mask_token=None, invert=True))


def _vocabulary(rng: np.random.Generator) -> list[str]:
    """3-20 sorted distinct characters."""
    return sorted(str(ch) for ch in rng.choice(np.array(_ALPHABET), size=_size(rng, 3, 20), replace=False))


def generate_make_lookup_layers(rng: np.random.Generator) -> Kwargs:
    """A sorted vocabulary; 30 characters to look up (``apply:0``, some unknown) and 30 ids to turn
    back (``apply:1``, 0 included)."""
    vocabulary = _vocabulary(rng)
    pool = np.array(vocabulary + [ch for ch in _ALPHABET if ch not in vocabulary][:3])
    return {"vocabulary": np.array(vocabulary), "apply:0": rng.choice(pool, size=30),
            "apply:1": rng.integers(0, len(vocabulary) + 1, size=30)}


def generate_build_model(rng: np.random.Generator) -> Kwargs:
    """vocab_size 5-90."""
    return {"vocab_size": _size(rng, 5, 90)}


def _gru_params(kwargs: Kwargs) -> tuple[int, int]:
    """Embedding V x 64 + GRU(128) 3 x (64 x 128 + 128 x 128 + 2 x 128) + Dense(V) 128 V + V."""
    v = int(kwargs["vocab_size"])
    count = v * 64 + 3 * (64 * 128 + 128 * 128 + 2 * 128) + 128 * v + v
    return count, count


BUILD_MODEL = ReturnedModel(
    layers=("Embedding", "GRU", "Dense"),
    recurrent=(("GRU", 128, True),),
    example=lambda kwargs: (np.arange(14).reshape(2, 7) % int(kwargs["vocab_size"])).astype(np.int32),
    output_shape=lambda kwargs: (2, 7, int(kwargs["vocab_size"])),
    params=_gru_params,
)


def generate(model, start: str, n: int, temperature: float, seed, *, vocabulary, **_notebook) -> str:
    """The reference text for a probe model, in numpy: ``model`` is the recipe of an Embedding-only
    Sequential whose table row i holds the logits that follow id i (so the logits at the last
    position depend on the last id only), ``vocabulary`` the notebook global the harness replaced.
    One generator ``np.random.default_rng(seed)`` for all steps, [UNK] (id 0) never drawn."""
    table = np.asarray(model["layers"][0]["weights"][0], dtype=np.float64)
    chars = [str(ch) for ch in vocabulary]
    index = {ch: i + 1 for i, ch in enumerate(chars)}
    rng = np.random.default_rng(seed)
    last = index.get(start[-1], 0) if start else 0
    out = []
    for _ in range(int(n)):
        logits = table[last][None, :].copy()
        logits[:, 0] = -np.inf
        last = int(sample_next(logits, temperature, rng)[0])
        out.append(chars[last - 1])
    return start + "".join(out)


def generate_generate(rng: np.random.Generator) -> Kwargs:
    """A model recipe (Embedding(V, V) with a random logit table, float32 values), a start of 1-5
    characters of a fresh vocabulary, n 0-30, temperature 0.3-2, an integer seed; the notebook's
    lookups and vocabulary are replaced (``global:``) by ones for that vocabulary."""
    vocabulary = _vocabulary(rng)
    v = len(vocabulary) + 1
    table = (2.0 * rng.normal(size=(v, v))).astype(np.float32).astype(np.float64)
    config = {"vocabulary": vocabulary, "mask_token": None}
    return {
        "model": {"keras": "Sequential", "input_shape": [None], "input_dtype": "int32", "layers": [
            {"keras": "Embedding", "config": {"input_dim": v, "output_dim": v}, "weights": [table]}]},
        "start": "".join(rng.choice(np.array(vocabulary), size=_size(rng, 1, 5))),
        "n": _size(rng, 0, 30), "temperature": float(rng.uniform(0.3, 2.0)), "seed": int(rng.integers(0, 2**31 - 1)),
        "global:ids_from_chars": {"keras": "StringLookup", "config": config},
        "global:chars_from_ids": {"keras": "StringLookup", "config": {**config, "invert": True}},
        "global:vocabulary": np.array(vocabulary),
        "global:vocab_size": v,
    }


REFERENCES: dict[str, object] = {
    "build_vocabulary": build_vocabulary,
    "text_to_ids": text_to_ids,
    "split_input_target": split_input_target,
    "sample_next": sample_next,
    "make_lookup_layers": make_lookup_layers,
    "build_model": BUILD_MODEL,
    "generate": generate,
}

INPUT_GENERATORS: dict[str, InputGenerator] = {
    "build_vocabulary": generate_build_vocabulary,
    "text_to_ids": generate_text_to_ids,
    "split_input_target": generate_split_input_target,
    "sample_next": generate_sample_next,
    "make_lookup_layers": generate_make_lookup_layers,
    "build_model": generate_build_model,
    "generate": generate_generate,
}

# ---- the saved model (grader side) -----------------------------------------------------------
# Reference: Embedding(vocab_size, 64) -> GRU(128, return_sequences=True) -> Dense(vocab_size).
# 90,322 parameters with the 82-entry vocabulary of the grading text (87,234 with the 66 entries
# of tiny Shakespeare).
MODELS = {
    "char_gru": {
        "task": "char_lm",
        "metric": "loss",
        "layers": ["Embedding", "GRU", "Dense"],
        "recurrent": [{"type": "GRU", "units": 128, "return_sequences": True}],
        "params": [70_000, 115_000],
        "reported_tolerance": 0.5,
        # The grader's own training (autograder/data/feeding.py), as make_dataset builds it: the first
        # 1,000,000 characters in chunks of 101, shuffled with a buffer of 10,000, batches of 64.
        "training": {"batch_size": 64, "sequence_length": 100, "train_chars": 1_000_000, "shuffle_buffer": 10_000},
    },
}
