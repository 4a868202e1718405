"""Reference solutions for week 3, notebook 02 (word embeddings).

Every exercise has a grader-side check, so the notebook's own test cells (which run in the
student's kernel) only count when it passes:
- ``standardize``, ``nearest_neighbours``: compared with the reference on random inputs;
- ``build_vectorizer``: the returned layer is applied to the grader's texts; its ids must equal
  those of the reference vectorizer (``apply:0``);
- ``build_model``: the returned model is saved by the harness and checked here (``ReturnedModel``);
- ``embedding_matrix``: called on a small model the harness builds from a recipe;
- ``export_projector_files``: the files it writes are read and judged here (``WrittenFiles``);
- ``train_model``: the saved model's architecture and held-out accuracy (``MODELS``).
"""

from __future__ import annotations

import string
from typing import Callable

import numpy as np

from autograder.grading.verdicts.probes import ReturnedModel, WrittenFiles

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


def build_vectorizer(texts, vocab_size: int, sequence_length: int):
    """A TextVectorization layer adapted on texts (runs in the grader's process, with Keras).

    texts (n,) str -> layer mapping str (batch,) to int ids (batch, sequence_length)."""
    import keras

    vectorizer = keras.layers.TextVectorization(max_tokens=vocab_size, output_mode="int",
                                                output_sequence_length=sequence_length,
                                                standardize="lower_and_strip_punctuation")
    vectorizer.adapt(np.asarray(texts, dtype=object))
    return vectorizer


def _vocabulary_words(rng: np.random.Generator, n: int) -> list[str]:
    """n distinct lower-case words of 2-7 letters."""
    return [str(w) for w in _random_vocabulary(rng, n + 2)[2:]]


def generate_build_vectorizer(rng: np.random.Generator) -> Kwargs:
    """10-30 texts over 4-12 words with distinct frequencies (mixed case, punctuation, breaks),
    vocab_size 4-14, sequence_length 2-8, and 6 texts to vectorise (``apply:0``) with unknown words."""
    words = _vocabulary_words(rng, _size(rng, 4, 12))
    weights = np.arange(len(words), 0, -1, dtype=float) ** 2
    def text(pool: list[str]) -> str:
        chosen = rng.choice(pool, size=_size(rng, 1, 9), p=None if pool is not words else weights / weights.sum())
        styled = [w.upper() if rng.random() < 0.2 else w.capitalize() if rng.random() < 0.2 else w for w in chosen]
        return " ".join(s + str(rng.choice(["", "", ",", "!", "."])) for s in styled)
    texts = [text(words) for _ in range(_size(rng, 10, 30))]
    probe = [text(words + ["zzq", "unseen"]) for _ in range(5)] + [""]
    return {"texts": np.array(texts, dtype=str), "vocab_size": _size(rng, 4, 14),
            "sequence_length": _size(rng, 2, 8), "apply:0": np.array(probe, dtype=str)}


def vectorizer_recipe(words: list[str], sequence_length: int) -> dict:
    """A recipe the harness builds: TextVectorization with a fixed vocabulary ('' and '[UNK]' + words)."""
    return {"keras": "TextVectorization",
            "config": {"max_tokens": len(words) + 2, "output_sequence_length": sequence_length,
                       "vocabulary": list(words)}}


def generate_build_model(rng: np.random.Generator) -> Kwargs:
    """A vectorizer of 3-30 words and 3-12 ids per text, and embedding_dim 2-20."""
    words = _vocabulary_words(rng, _size(rng, 3, 30))
    return {"vectorizer": vectorizer_recipe(words, _size(rng, 3, 12)), "embedding_dim": _size(rng, 2, 20)}


def _bag_params(kwargs: Kwargs) -> tuple[int, int]:
    """Embedding V x d + Dense(16) d x 16 + 16 + Dense(1) 17, V = words + 2."""
    vocabulary = len(kwargs["vectorizer"]["config"]["vocabulary"]) + 2
    d = int(kwargs["embedding_dim"])
    count = vocabulary * d + d * 16 + 16 + 17
    return count, count


BUILD_MODEL = ReturnedModel(
    layers=("TextVectorization", "Embedding", "GlobalAveragePooling1D", "Dense", "Dense"),
    example=lambda kwargs: np.array(["good film", "", "a word that is not known"]),
    output_shape=lambda kwargs: (3, 1),
    params=_bag_params,
)


def embedding_matrix(model) -> np.ndarray:
    """The weights of the layer named "embedding", read from the recipe the harness built the model
    from: model (recipe) -> (vocab, dim)."""
    for layer in model["layers"]:
        if layer["config"].get("name") == "embedding":
            return np.asarray(layer["weights"][0])
    raise ValueError("the recipe has no layer named 'embedding'")


def generate_embedding_matrix(rng: np.random.Generator) -> Kwargs:
    """A Sequential model (ids of length 3) -> Embedding(V 5-40, d 2-12, named "embedding") with a
    known table -> Dense(3) decoy; weights are float32 values, so the comparison is exact."""
    vocabulary, dim = _size(rng, 5, 40), _size(rng, 2, 12)
    table = rng.normal(size=(vocabulary, dim)).astype(np.float32).astype(np.float64)
    decoy = [rng.normal(size=(dim, 3)).astype(np.float32), np.zeros(3, np.float32)]
    return {"model": {"keras": "Sequential", "input_shape": [3], "input_dtype": "int32", "layers": [
        {"keras": "Embedding", "config": {"input_dim": vocabulary, "output_dim": dim, "name": "embedding"},
         "weights": [table]},
        {"keras": "Dense", "config": {"units": 3, "name": "decoy"}, "weights": decoy}]}}


def _tsv_numbers(text: str) -> np.ndarray:
    """Rows of tab-separated numbers -> (rows, columns) float array (ValueError when ragged)."""
    return np.array([[float(x) for x in line.split("\t")] for line in text.splitlines()], dtype=float)


def _lines(text: str) -> np.ndarray:
    return np.array(text.splitlines(), dtype=str)


def generate_export_projector_files(rng: np.random.Generator) -> Kwargs:
    """matrix (vocab 4-30, dim 2-8) of float32 values of size about 1e-3 (full precision must be
    written), and the vocabulary ['', '[UNK]', words...]; the grader sets ``folder``."""
    n, dim = _size(rng, 4, 30), _size(rng, 2, 8)
    matrix = (rng.normal(size=(n, dim)) * 1e-3).astype(np.float32).astype(np.float64)
    return {"matrix": matrix, "vocabulary": np.array(["", "[UNK]"] + _vocabulary_words(rng, n - 2), dtype=str)}


EXPORT_PROJECTOR_FILES = WrittenFiles(
    folder="folder",
    expected=lambda kwargs: {"vectors.tsv": np.asarray(kwargs["matrix"])[1:],
                             "metadata.tsv": np.asarray(kwargs["vocabulary"])[1:]},
    parse={"vectors.tsv": _tsv_numbers, "metadata.tsv": _lines},
    returns=lambda kwargs: (f"{kwargs['folder']}/vectors.tsv", f"{kwargs['folder']}/metadata.tsv"),
)


REFERENCES: dict[str, object] = {
    "standardize": standardize,
    "nearest_neighbours": nearest_neighbours,
    "build_vectorizer": build_vectorizer,
    "build_model": BUILD_MODEL,
    "embedding_matrix": embedding_matrix,
    "export_projector_files": EXPORT_PROJECTOR_FILES,
}

INPUT_GENERATORS: dict[str, InputGenerator] = {
    "standardize": generate_standardize,
    "nearest_neighbours": generate_nearest_neighbours,
    "build_vectorizer": generate_build_vectorizer,
    "build_model": generate_build_model,
    "embedding_matrix": generate_embedding_matrix,
    "export_projector_files": generate_export_projector_files,
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
        # The grader's own training (autograder/data/feeding.py): the notebook's 80 / 20 cut, batches of 64.
        "training": {"batch_size": 64, "validation_share": 0.2, "split_seed": 123},
    },
}
