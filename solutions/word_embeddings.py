"""Reference solutions for week 3, notebook 02 (word embeddings).

Only the pure functions of the notebook are compared with the student's code outside the
kernel (``REFERENCES``); the Keras parts (vectorizer, model, training, reading the
embedding layer, writing the projector files) are checked by the notebook's own test cells
and by the grader's model checks (``MODELS``).
"""

from __future__ import annotations

import string
from typing import Callable

import numpy as np

Kwargs = dict[str, object]
InputGenerator = Callable[[np.random.Generator], Kwargs]

DATASET = "sentiment"


def standardize(texts: np.ndarray) -> list[str]:
    """Lowercase, replace every "<br />" with one space, delete ASCII punctuation.

    texts: sequence of str -> list of str, one per text. Spaces are neither trimmed nor
    collapsed. Matches Keras' "lower_and_strip_punctuation" on ASCII text without "<br />".
    """
    strip = str.maketrans("", "", string.punctuation)
    return [str(text).lower().replace("<br />", " ").translate(strip) for text in texts]


def nearest_neighbours(matrix: np.ndarray, vocabulary: np.ndarray, word: str, k: int) -> list[str]:
    """The k words whose rows of ``matrix`` have the highest cosine similarity with ``word``'s row.

    matrix (vocab, dim) with no all-zero row, vocabulary (vocab,) of unique str, word in the
    vocabulary, 1 <= k < vocab -> list of k words, most similar first, ``word`` itself excluded.
    """
    words = [str(w) for w in vocabulary]
    index = words.index(word)
    unit = matrix / np.linalg.norm(matrix, axis=1, keepdims=True)
    similarity = unit @ unit[index]
    similarity[index] = -np.inf
    order = np.argsort(-similarity, kind="stable")[:k]
    return [words[i] for i in order]


# --- input generators for the grader-side comparison ---------------------------------------

_LETTERS = np.array(list(string.ascii_letters))
_PUNCTUATION = np.array(list(string.punctuation))


def _size(rng: np.random.Generator, low: int, high: int) -> int:
    """Random integer in [low, high]."""
    return int(rng.integers(low, high, endpoint=True))


def _random_text(rng: np.random.Generator) -> str:
    """A short string of mixed-case words, digits, punctuation, HTML line breaks and odd spacing."""
    pieces = []
    for _ in range(_size(rng, 0, 8)):
        kind = rng.random()
        if kind < 0.45:
            pieces.append("".join(rng.choice(_LETTERS, size=_size(rng, 1, 7))))
        elif kind < 0.65:
            pieces.append("".join(rng.choice(_PUNCTUATION, size=_size(rng, 1, 3))))
        elif kind < 0.75:
            pieces.append(str(rng.choice(["<br />", "<BR />", "<br/>", "<br>"], p=[0.6, 0.2, 0.1, 0.1])))
        elif kind < 0.85:
            pieces.append(str(rng.integers(0, 1000)))
        else:
            pieces.append(str(rng.choice([" ", "  ", "\t"])))
    separators = rng.choice(["", " ", " ", "  "], size=len(pieces))
    return "".join(p + s for p, s in zip(pieces, separators))


def generate_standardize(rng: np.random.Generator) -> Kwargs:
    """Kwargs for ``standardize``: texts, a unicode array of 1-8 random short strings."""
    texts = [_random_text(rng) for _ in range(_size(rng, 1, 8))]
    texts[0] = texts[0] + "<br />" + str(rng.choice(["A", "b!", ""]))  # at least one break tag
    return {"texts": np.array(texts, dtype=str)}


def _random_vocabulary(rng: np.random.Generator, n: int) -> np.ndarray:
    """['', '[UNK]', w2, ...] with n entries, all unique, like a TextVectorization vocabulary."""
    words: list[str] = ["", "[UNK]"]
    seen = set(words)
    lowercase = _LETTERS[:26]
    while len(words) < n:
        word = "".join(rng.choice(lowercase, size=_size(rng, 2, 7)))
        if word not in seen:
            seen.add(word)
            words.append(word)
    return np.array(words, dtype=str)


def generate_nearest_neighbours(rng: np.random.Generator) -> Kwargs:
    """Kwargs for ``nearest_neighbours``: vocab 5-40 words, dim 2-10, k in [1, vocab-1], word not at 0/1."""
    n, dim = _size(rng, 5, 40), _size(rng, 2, 10)
    vocabulary = _random_vocabulary(rng, n)
    return {
        "matrix": rng.normal(size=(n, dim)),
        "vocabulary": vocabulary,
        "word": str(vocabulary[_size(rng, 2, n - 1)]),
        "k": _size(rng, 1, n - 1),
    }


REFERENCES: dict[str, Callable] = {
    "standardize": standardize,
    "nearest_neighbours": nearest_neighbours,
}

INPUT_GENERATORS: dict[str, InputGenerator] = {
    "standardize": generate_standardize,
    "nearest_neighbours": generate_nearest_neighbours,
}

# Reference model: TextVectorization(10000 tokens, 40 ids) -> Embedding(10000, 16, name "embedding")
# -> GlobalAveragePooling1D -> Dense(16, relu) -> Dense(1) logit: 160,289 parameters.
MODELS = {
    "sentiment_embedding_bag": {
        "task": "binary_text",
        "metric": "accuracy",
        "layers": ["TextVectorization", "Embedding", "GlobalAveragePooling1D", "Dense"],
        "params": [144_000, 177_000],
        "reported_tolerance": 0.1,
    },
}
