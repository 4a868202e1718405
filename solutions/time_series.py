"""Reference solutions for week 3, notebook 05 (forecasting hourly temperature).

A series is a 1-D float array in time order. A window cut at ``start`` holds the inputs
``series[start : start + input_width]`` and the labels that end ``shift`` steps after the inputs:
``series[start + input_width + shift - label_width : start + input_width + shift]``. Windows are
batch-first with one trailing feature axis, as Keras expects: ``(n, width, 1)``. The saved model
``temp_lstm`` maps 24 standardised hours ``(batch, 24, 1)`` to the standardised next hour ``(batch, 1)``.
The hour of the day enters as ``time_of_day_features`` (sine and cosine of its angle on a 24-hour
circle), and ``linear_multistep_forecast`` fits a single-shot linear multi-step forecast by least squares.
"""

from __future__ import annotations

from typing import Any, Callable

import numpy as np

from autograder.grading.verdicts.probes import ReturnedModel

DATASET = "weather"

Kwargs = dict[str, Any]
InputGenerator = Callable[[np.random.Generator], Kwargs]


def make_windows(series: np.ndarray, input_width: int, label_width: int,
                 shift: int) -> tuple[np.ndarray, np.ndarray]:
    """Every window of ``series`` (stride 1, in time order).

    -> inputs (n, input_width, 1), labels (n, label_width, 1) with
       n = len(series) - (input_width + shift) + 1 windows.
    """
    series = np.asarray(series, dtype=np.float64)
    total = input_width + shift
    n = len(series) - total + 1
    starts = np.arange(n)
    inputs = np.stack([series[s: s + input_width] for s in starts])
    labels = np.stack([series[s + total - label_width: s + total] for s in starts])
    return inputs[..., None], labels[..., None]


def last_value_baseline(inputs: np.ndarray) -> np.ndarray:
    """Forecast the next value as the last input value: (n, input_width, 1) -> (n, 1)."""
    return inputs[:, -1, :]


def repeat_baseline(inputs: np.ndarray, label_width: int) -> np.ndarray:
    """Forecast the next ``label_width`` values as a copy of the last ``label_width`` inputs:
    (n, input_width, 1) -> (n, label_width, 1)."""
    return inputs[:, inputs.shape[1] - label_width:, :]


def mae(pred: np.ndarray, true: np.ndarray) -> float:
    """Mean absolute error of two arrays of the same shape -> a float."""
    return float(np.mean(np.abs(np.asarray(pred, dtype=np.float64) - np.asarray(true, dtype=np.float64))))


def time_of_day_features(hours: np.ndarray) -> np.ndarray:
    """(n,) hours -> (n, 2): [sin(2 pi h / 24), cos(2 pi h / 24)]."""
    angle = 2.0 * np.pi * np.asarray(hours, dtype=np.float64) / 24.0
    return np.stack([np.sin(angle), np.cos(angle)], axis=1)


def linear_multistep_forecast(train_inputs: np.ndarray, train_labels: np.ndarray,
                              inputs: np.ndarray) -> np.ndarray:
    """Least squares W (input_width + 1, label_width) of [train_inputs, 1] @ W ~ train_labels, applied to
    ``inputs``: (n, input_width, 1), (n, label_width, 1), (m, input_width, 1) -> (m, label_width, 1)."""
    def design(windows: np.ndarray) -> np.ndarray:
        windows = np.asarray(windows, dtype=np.float64)[:, :, 0]
        return np.concatenate([windows, np.ones((len(windows), 1))], axis=1)

    weights, *_ = np.linalg.lstsq(design(train_inputs), np.asarray(train_labels, dtype=np.float64)[:, :, 0],
                                  rcond=None)
    return (design(inputs) @ weights)[:, :, None]


# ---- input generators (grader side) ---------------------------------------------------------


def _size(rng: np.random.Generator, low: int, high: int) -> int:
    """Random integer in [low, high]."""
    return int(rng.integers(low, high, endpoint=True))


def generate_make_windows(rng: np.random.Generator) -> Kwargs:
    """A random walk long enough for 1-25 windows; input_width 1-10, shift 1-6, label_width 1..input_width+shift."""
    input_width, shift = _size(rng, 1, 10), _size(rng, 1, 6)
    label_width = _size(rng, 1, input_width + shift)
    length = input_width + shift + _size(rng, 0, 24)
    return {"series": np.cumsum(rng.normal(size=length)), "input_width": input_width,
            "label_width": label_width, "shift": shift}


def generate_last_value_baseline(rng: np.random.Generator) -> Kwargs:
    """Input windows (n 1-20, width 1-12, 1)."""
    return {"inputs": rng.normal(size=(_size(rng, 1, 20), _size(rng, 1, 12), 1))}


def generate_repeat_baseline(rng: np.random.Generator) -> Kwargs:
    """Input windows (n 1-20, width 1-12, 1) and label_width 1..width."""
    width = _size(rng, 1, 12)
    return {"inputs": rng.normal(size=(_size(rng, 1, 20), width, 1)), "label_width": _size(rng, 1, width)}


def generate_mae(rng: np.random.Generator) -> Kwargs:
    """Two arrays of the same random shape: (n,), (n, 1) or (n, k, 1), every error between 1 and 2 in size.

    No error is tiny next to the values, so an MAE computed in float32 (Keras' MeanAbsoluteError, accurate
    to about 1e-7 of the values) lies within the grader's relative tolerance of the float64 reference."""
    n, k = _size(rng, 1, 30), _size(rng, 1, 6)
    shape = [(n,), (n, 1), (n, k, 1)][int(rng.integers(3))]
    true = rng.normal(size=shape)
    error = rng.choice([-1.0, 1.0], size=shape) * rng.uniform(1.0, 2.0, size=shape)
    return {"pred": true + error, "true": true}


def generate_time_of_day_features(rng: np.random.Generator) -> Kwargs:
    """1-40 hours anywhere in 0-100,000 (whole and fractional), negative ones included."""
    n = _size(rng, 1, 40)
    hours = rng.uniform(-100.0, 100_000.0, size=n)
    hours[: n // 2] = np.round(hours[: n // 2])
    return {"hours": hours}


def generate_linear_multistep_forecast(rng: np.random.Generator) -> Kwargs:
    """Training windows (n 20-60, width 1-8, 1) with labels (n, 1-6, 1) from a noisy linear rule plus a bias,
    and windows to forecast (m 1-10, width, 1); n well above width + 1, so the least-squares fit is unique
    and well conditioned."""
    width, label_width = _size(rng, 1, 8), _size(rng, 1, 6)
    n, m = _size(rng, 20, 60), _size(rng, 1, 10)
    train = rng.normal(size=(n, width, 1))
    labels = train[:, :, 0] @ rng.normal(size=(width, label_width)) + rng.normal(size=label_width)
    labels = labels + rng.normal(scale=0.3, size=labels.shape)
    return {"train_inputs": train, "train_labels": labels[:, :, None], "inputs": rng.normal(size=(m, width, 1))}


def generate_forecaster(rng: np.random.Generator) -> Kwargs:
    """input_width 3-30 (for build_linear, build_dense and build_lstm)."""
    return {"input_width": _size(rng, 3, 30)}


def _windows(kwargs: Kwargs) -> np.ndarray:
    """3 windows (3, input_width, 1) of a ramp, float32."""
    width = int(kwargs["input_width"])
    return np.linspace(-1.0, 1.0, 3 * width, dtype=np.float32).reshape(3, width, 1)


def _exact(count: int) -> tuple[int, int]:
    return count, count


# Flatten -> Dense(1): input_width weights + 1 bias; no recurrent layer
BUILD_LINEAR = ReturnedModel(layers=("Dense",), recurrent=(), settings=(("Dense", "activation", "linear"),),
                             example=_windows, output_shape=lambda kw: (3, 1),
                             params=lambda kw: _exact(int(kw["input_width"]) + 1))
# Flatten -> Dense(64, relu) -> Dense(64, relu) -> Dense(1)
BUILD_DENSE = ReturnedModel(layers=("Dense", "Dense", "Dense"), recurrent=(),
                            settings=(("Dense", "activation", "relu"), ("Dense", "activation", "linear")),
                            example=_windows,
                            output_shape=lambda kw: (3, 1),
                            params=lambda kw: _exact(int(kw["input_width"]) * 64 + 64 + 4_160 + 65))
# LSTM(32) -> Dense(1): 4 x (32 x (1 + 32) + 32) + 33 = 4,385 for any input_width
BUILD_LSTM = ReturnedModel(layers=("LSTM", "Dense"), recurrent=(("LSTM", 32, False),), example=_windows,
                           output_shape=lambda kw: (3, 1), params=lambda kw: _exact(4_385))

REFERENCES: dict[str, object] = {
    "make_windows": make_windows,
    "last_value_baseline": last_value_baseline,
    "repeat_baseline": repeat_baseline,
    "mae": mae,
    "time_of_day_features": time_of_day_features,
    "linear_multistep_forecast": linear_multistep_forecast,
    "build_linear": BUILD_LINEAR,
    "build_dense": BUILD_DENSE,
    "build_lstm": BUILD_LSTM,
}

INPUT_GENERATORS: dict[str, InputGenerator] = {
    "make_windows": generate_make_windows,
    "last_value_baseline": generate_last_value_baseline,
    "repeat_baseline": generate_repeat_baseline,
    "mae": generate_mae,
    "time_of_day_features": generate_time_of_day_features,
    "linear_multistep_forecast": generate_linear_multistep_forecast,
    "build_linear": generate_forecaster,
    "build_dense": generate_forecaster,
    "build_lstm": generate_forecaster,
}

# ---- the saved model (grader side) -----------------------------------------------------------
# Reference: Input (24, 1) -> LSTM(32) -> Dense(1): 4,385 parameters.
MODELS = {
    "temp_lstm": {
        "task": "forecast",
        "metric": "mae",
        "layers": ["LSTM", "Dense"],
        "recurrent": [{"type": "LSTM", "units": 32, "return_sequences": False}],
        "params": [4_000, 6_000],
        "reported_tolerance": 1.0,
        # The grader's own training (autograder/data/feeding.py): windows of 24 hours of the first 80 %,
        # standardised with that part's mean and standard deviation, batches of 64.
        "training": {"batch_size": 64, "train_share": 0.8, "input_width": 24},
    },
}
