"""The test cells of week3_rnn/05_time_series.ipynb are fair to honest answers written in another way.

Each test cell runs here, as it runs in the student's kernel, against an answer the grader's own
comparison accepts but that differs from the reference in form: float32 windows (the TensorFlow
tutorial casts to float32), Keras' float32 MeanAbsoluteError, and models whose layers sit inside a
nested `keras.Sequential` block. Each must pass; beside each, a wrong answer of the same form must
still fail an assertion.
"""
from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import Callable

import nbformat
import numpy as np
import pytest

ROOT = Path(__file__).resolve().parents[1]
NOTEBOOK = ROOT / "source" / "week3_rnn" / "05_time_series.ipynb"
sys.path.insert(0, str(ROOT))

from solutions import time_series as ref  # noqa: E402


def _keras():
    """Import Keras (TensorFlow backend) quietly."""
    os.environ["TF_CPP_MIN_LOG_LEVEL"] = "2"
    os.environ["TF_ENABLE_ONEDNN_OPTS"] = "0"
    import keras

    return keras


def _cell_sources() -> dict[str, str]:
    """Source of every notebook cell, keyed by cell id."""
    return {cell.id: cell.source for cell in nbformat.read(NOTEBOOK, as_version=4).cells}


def _run_cell(cell_id: str, answers: dict[str, Callable]) -> None:
    """Execute a test cell with `np`, `keras`, the reference functions and `answers` in scope."""
    namespace = {"np": np, "keras": _keras(), **ref.REFERENCES, **answers}
    exec(compile(_cell_sources()[cell_id], f"<cell {cell_id}>", "exec"), namespace)


def _fails(cell_id: str, answers: dict[str, Callable]) -> bool:
    try:
        _run_cell(cell_id, answers)
    except AssertionError:
        return True
    return False


# --- answers of another form, right and wrong ------------------------------------------------------


def windows_float32(series, input_width, label_width, shift):
    """The tutorial's way: cast to float32, then slice every window of input_width + shift steps."""
    total = input_width + shift
    windows = np.lib.stride_tricks.sliding_window_view(np.asarray(series, dtype=np.float32), total)
    return windows[:, :input_width, None], windows[:, total - label_width:, None]


def windows_float32_labels_inside_inputs(series, input_width, label_width, shift):
    inputs, _ = windows_float32(series, input_width, label_width, shift)
    return inputs, inputs[:, input_width - label_width:, :]


def windows_float32_one_short(series, input_width, label_width, shift):
    inputs, labels = windows_float32(series, input_width, label_width, shift)
    return inputs[:-1], labels[:-1]


def mae_keras(pred, true) -> float:
    keras = _keras()
    return float(keras.metrics.MeanAbsoluteError()(np.asarray(true, dtype=np.float32),
                                                   np.asarray(pred, dtype=np.float32)))


def mae_keras_squared(pred, true) -> float:
    keras = _keras()
    return float(keras.metrics.MeanSquaredError()(np.asarray(true, dtype=np.float32),
                                                  np.asarray(pred, dtype=np.float32)))


def _nested(input_width: int, layers: list, name: str):
    """Input -> one named Sequential block holding `layers`."""
    keras = _keras()
    inputs = keras.Input(shape=(input_width, 1))
    block = keras.Sequential(layers, name=f"{name}_block")
    return keras.Model(inputs, block(inputs), name=name)


def linear_nested(input_width: int = 24):
    keras = _keras()
    return _nested(input_width, [keras.layers.Flatten(), keras.layers.Dense(1)], "linear")


def linear_nested_relu(input_width: int = 24):
    keras = _keras()
    return _nested(input_width, [keras.layers.Flatten(), keras.layers.Dense(1, activation="relu")], "linear")


def dense_nested(input_width: int = 24):
    keras = _keras()
    return _nested(input_width, [keras.layers.Flatten(), keras.layers.Dense(64, activation="relu"),
                                 keras.layers.Dense(64, activation="relu"), keras.layers.Dense(1)], "dense")


def dense_nested_without_relu(input_width: int = 24):
    keras = _keras()
    return _nested(input_width, [keras.layers.Flatten(), keras.layers.Dense(64), keras.layers.Dense(64),
                                 keras.layers.Dense(1)], "dense")


def lstm_nested(input_width: int = 24):
    keras = _keras()
    return _nested(input_width, [keras.layers.LSTM(32), keras.layers.Dense(1)], "temp_lstm")


def lstm_nested_16_units(input_width: int = 24):
    keras = _keras()
    return _nested(input_width, [keras.layers.LSTM(16), keras.layers.Dense(1)], "temp_lstm")


RIGHT = [("make_windows", windows_float32), ("mae", mae_keras), ("build_linear", linear_nested),
         ("build_dense", dense_nested), ("build_lstm", lstm_nested)]
WRONG = [("make_windows", windows_float32_labels_inside_inputs, ("hidden", "visible")),
         ("make_windows", windows_float32_one_short, ("hidden",)),
         ("mae", mae_keras_squared, ("hidden",)),
         ("build_linear", linear_nested_relu, ("hidden",)),
         ("build_dense", dense_nested_without_relu, ("hidden",)),
         ("build_lstm", lstm_nested_16_units, ("hidden", "visible"))]


def test_the_other_forms_pass_the_graders_comparison() -> None:
    """The answers of another form are right by the grader's own rule (its inputs, `reference.rtol`)."""
    from autograder.config import load_config
    from autograder.grading.verdicts.probes import relative_error

    rtol = load_config(ROOT).reference.rtol
    rng = np.random.default_rng(0)
    for _ in range(50):
        kwargs = ref.generate_make_windows(rng)
        for got, want in zip(windows_float32(**kwargs), ref.make_windows(**kwargs)):
            assert got.dtype == np.float32 and got.shape == want.shape
            assert relative_error(got, want) <= rtol
        kwargs = ref.generate_mae(rng)
        assert relative_error(np.asarray(mae_keras(**kwargs)), np.asarray(ref.mae(**kwargs))) <= rtol, kwargs


@pytest.mark.parametrize("kind", ["visible", "hidden"])
@pytest.mark.parametrize(("function", "answer"), RIGHT, ids=[a.__name__ for _, a in RIGHT])
def test_test_cells_pass_an_honest_answer_of_another_form(function: str, answer: Callable, kind: str) -> None:
    _run_cell(f"test_{function}_{kind}", {function: answer})


@pytest.mark.parametrize(("function", "answer", "kinds"), WRONG, ids=[a.__name__ for _, a, _ in WRONG])
def test_test_cells_still_fail_a_wrong_answer_of_that_form(function: str, answer: Callable, kinds) -> None:
    for kind in kinds:
        assert _fails(f"test_{function}_{kind}", {function: answer}), f"test_{function}_{kind}"


def test_hidden_window_test_names_the_dtype_and_the_window() -> None:
    def integer_windows(series, input_width, label_width, shift):
        inputs, labels = windows_float32(series, input_width, label_width, shift)
        return inputs.astype(np.int64), labels.astype(np.int64)

    def one_wrong_window(series, input_width, label_width, shift):
        inputs, labels = windows_float32(series, input_width, label_width, shift)
        inputs = inputs.copy()
        inputs[1] += 1.0
        return inputs, labels

    with pytest.raises(AssertionError, match="float array.*got dtype int64"):
        _run_cell("test_make_windows_hidden", {"make_windows": integer_windows})
    with pytest.raises(AssertionError, match=r"window 1: the inputs must be series\[1 : 1 \+ input_width\]"):
        _run_cell("test_make_windows_hidden", {"make_windows": one_wrong_window})
