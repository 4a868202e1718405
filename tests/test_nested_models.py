"""The model tests of 02-04 judge a model by the layers it contains, not by how they are nested.

A correct `build_model` that groups its layers in a named `keras.Sequential` block, or writes the
whole model as one Sequential, passes the visible and hidden test cells of its notebook as the
reference does. The same nesting with one wrong size still fails them. The test cells run, as
written in source/, in one child Python process (one TensorFlow import for all cases).
"""
from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import nbformat
import pytest

pytestmark = pytest.mark.slow

SOURCE = Path(__file__).resolve().parents[1] / "source" / "week3_rnn"

_EMBEDDING_BAG_NESTED = """
def build_model(vectorizer, embedding_dim=16):
    inputs = keras.Input(shape=(1,), dtype="string")
    bag = keras.Sequential([keras.layers.Embedding(vectorizer.vocabulary_size(), embedding_dim, name="embedding"),
                            keras.layers.GlobalAveragePooling1D()], name="bag")
    head = keras.Sequential([keras.layers.Dense({units}, activation="relu"), keras.layers.Dense(1)], name="head")
    return keras.Model(inputs, head(bag(vectorizer(inputs))))
"""
_BILSTM_NESTED = """
def build_model(encoder):
    reader = keras.Sequential([
        keras.layers.Embedding(encoder.vocabulary_size(), 64, mask_zero=True),
        keras.layers.Bidirectional(keras.layers.LSTM({units})),
    ], name="reader")
    head = keras.Sequential([keras.layers.Dense(64, activation="relu"), keras.layers.Dense(1)], name="head")
    inputs = keras.Input(shape=(1,), dtype="string")
    return keras.Model(inputs, head(reader(encoder(inputs))))
"""
_STACKED_SEQUENTIAL = """
def build_stacked_model(encoder):
    return keras.Sequential([
        keras.Input(shape=(1,), dtype="string"),
        encoder,
        keras.Sequential([
            keras.layers.Embedding(encoder.vocabulary_size(), 64, mask_zero=True),
            keras.layers.Bidirectional(keras.layers.LSTM(64, return_sequences=True)),
            keras.layers.Bidirectional(keras.layers.LSTM({units})),
        ], name="reader"),
        keras.Sequential([keras.layers.Dense(64, activation="relu"), keras.layers.Dropout(0.5),
                          keras.layers.Dense(1)], name="head"),
    ])
"""
_CHAR_GRU_NESTED = """
def build_model(vocab_size, embedding_dim=64, rnn_units=128):
    core = keras.Sequential([keras.layers.Embedding(vocab_size, embedding_dim),
                             keras.layers.GRU({units}, return_sequences=True)], name="core")
    inputs = keras.Input(shape=(None,), dtype="int32")
    return keras.Model(inputs, keras.layers.Dense(vocab_size)(core(inputs)))
"""
# (notebook, answer template, correct size, wrong size, test cells, the cells the wrong size must fail;
# 04's visible test checks only shapes, so there the hidden test alone knows the size)
CASES = {
    "embedding_bag": ("02_word_embeddings", _EMBEDDING_BAG_NESTED, 16, 8,
                      ["test_build_model_visible", "test_build_model_hidden"],
                      ["test_build_model_visible", "test_build_model_hidden"]),
    "bilstm": ("03_text_classification", _BILSTM_NESTED, 64, 32,
               ["test_build_model_visible", "test_build_model_hidden"],
               ["test_build_model_visible", "test_build_model_hidden"]),
    "stacked_bilstm": ("03_text_classification", _STACKED_SEQUENTIAL, 32, 16,
                       ["test_build_stacked_model_visible", "test_build_stacked_model_hidden"],
                       ["test_build_stacked_model_visible", "test_build_stacked_model_hidden"]),
    "char_gru": ("04_text_generation", _CHAR_GRU_NESTED, 128, 64,
                 ["test_build_model_visible", "test_build_model_hidden"], ["test_build_model_hidden"]),
}

_RUNNER = r"""
import json, sys, traceback
cases = json.load(sys.stdin)
out = {}
for case in cases:
    scope = {}
    try:
        exec(case["setup"], scope)
        exec(case["answer"], scope)
    except Exception:
        out[case["key"]] = {"setup": traceback.format_exc()}
        continue
    verdicts = {}
    for name, source in case["tests"].items():
        try:
            exec(source, scope)
            verdicts[name] = "passed"
        except AssertionError as error:
            verdicts[name] = f"AssertionError: {error}"
        except Exception as error:
            verdicts[name] = f"{type(error).__name__}: {error}"
    out[case["key"]] = verdicts
print(json.dumps(out))
"""


def _cells(notebook: str) -> dict[str, str]:
    nb = nbformat.read(SOURCE / f"{notebook}.ipynb", as_version=4)
    return {c.metadata["nbgrader"]["grade_id"]: c.source for c in nb.cells if "nbgrader" in c.metadata}


@pytest.fixture(scope="module")
def verdicts() -> dict:
    cases = []
    for name, (notebook, template, good, bad, tests, _) in CASES.items():
        cells = _cells(notebook)
        # 04's tests read the training text; a short stand-in has the same kind of characters.
        setup = cells["setup"] + "\ntext = 'First Citizen:\\nBefore we proceed any further, hear me speak.\\n'\n"
        for kind, units in (("correct", good), ("wrong", bad)):
            cases.append({"key": f"{name}/{kind}", "setup": setup, "answer": template.replace("{units}", str(units)),
                          "tests": {t: cells[t] for t in tests}})
    run = subprocess.run([sys.executable, "-c", _RUNNER], input=json.dumps(cases), capture_output=True,
                         text=True, timeout=900, env={**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3", "CUDA_VISIBLE_DEVICES": ""})
    assert run.returncode == 0, run.stderr[-3000:]
    return json.loads(run.stdout.strip().splitlines()[-1])


@pytest.mark.parametrize("case", sorted(CASES))
def test_a_correct_nested_model_passes_every_test_cell(verdicts, case) -> None:
    got = verdicts[f"{case}/correct"]
    assert got and all(v == "passed" for v in got.values()), got


@pytest.mark.parametrize("case", sorted(CASES))
def test_the_same_nesting_with_a_wrong_size_fails_the_test_cells(verdicts, case) -> None:
    got = verdicts[f"{case}/wrong"]
    assert "setup" not in got, got
    must_fail = CASES[case][5]
    assert all(got[t].startswith("AssertionError") for t in must_fail), got
