"""Reference solutions for week 3, notebook 04 (character-level text generation with a GRU).

Characters are numbered the way ``keras.layers.StringLookup(vocabulary=..., mask_token=None)``
numbers them: id 0 is ``[UNK]`` (any character outside the vocabulary) and the character at
position ``i`` of the sorted vocabulary gets id ``i + 1``. The saved model ``char_gru`` maps ids
``(batch, T)`` to next-character logits ``(batch, T, vocab_size)``.
"""

from __future__ import annotations

from typing import Any, Callable

import numpy as np

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


REFERENCES: dict[str, Callable] = {
    "build_vocabulary": build_vocabulary,
    "text_to_ids": text_to_ids,
    "split_input_target": split_input_target,
    "sample_next": sample_next,
}

INPUT_GENERATORS: dict[str, InputGenerator] = {
    "build_vocabulary": generate_build_vocabulary,
    "text_to_ids": generate_text_to_ids,
    "split_input_target": generate_split_input_target,
    "sample_next": generate_sample_next,
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
