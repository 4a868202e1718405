"""Model verdicts with real Keras models saved the way notebooks save them, on real held-out data."""
from __future__ import annotations

import json
import os
from pathlib import Path

import numpy as np
import pytest

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
os.environ.setdefault("TF_ENABLE_ONEDNN_OPTS", "0")
keras = pytest.importorskip("keras")

from autograder.config import Threshold  # noqa: E402
from autograder.data import grading_data  # noqa: E402
from autograder.grading.verdicts.models import (  # noqa: E402
    ModelSpec,
    architecture_verdict,
    curve,
    measure,
    metric_verdict,
)

SENTIMENT = grading_data("sentiment", source="embedded", cache="unused")
WEATHER = grading_data("weather", source="embedded", cache="unused")
TEXT = grading_data("text", source="embedded", cache="unused")

CLASSIFIER = ModelSpec(name="clf", task="binary_text", metric="accuracy",
                       layers=("TextVectorization", "Embedding", "Bidirectional", "LSTM"),
                       recurrent=({"type": "LSTM", "units": 8, "return_sequences": False},),
                       params=(1_000, 200_000), reported_tolerance=0.1)
ACCURACY = Threshold(min=0.6, target=0.75)


def save(workdir: Path, name: str, model, **meta) -> None:
    (workdir / "models").mkdir(parents=True, exist_ok=True)
    model.save(workdir / "models" / f"{name}.keras")
    (workdir / "models" / f"{name}.json").write_text(json.dumps(meta))


def classifier(recurrent) -> "keras.Model":
    keras.utils.set_random_seed(0)
    encoder = keras.layers.TextVectorization(max_tokens=2000, output_sequence_length=30)
    encoder.adapt([t for t, _ in SENTIMENT.train[:2000]])
    inputs = keras.Input(shape=(1,), dtype="string")
    x = keras.layers.Reshape(())(inputs)
    x = encoder(x)
    x = keras.layers.Embedding(2000, 8, mask_zero=True)(x)
    x = keras.layers.Bidirectional(recurrent)(x)
    return keras.Model(inputs, keras.layers.Dense(1)(x))


def test_untrained_classifier_scores_nothing_and_a_fake_report_is_flagged(tmp_path: Path) -> None:
    save(tmp_path, "clf", classifier(keras.layers.LSTM(8)), reported={"accuracy": 0.99},
         history={"loss": [0.7]})
    m = measure(tmp_path, CLASSIFIER, SENTIMENT)
    assert not m.problem and 0.35 < m.value < 0.65 and m.baseline == 0.5
    verdict = metric_verdict("clf_metric", 4, CLASSIFIER, m, threshold=ACCURACY, budget={})
    assert verdict.points == 0 and verdict.status == "failed"
    assert "FLAG" in verdict.reason and "reported accuracy 0.99" in verdict.reason
    assert architecture_verdict("clf_arch", 2, CLASSIFIER, m).points == 2


def test_wrong_architecture_is_named(tmp_path: Path) -> None:
    save(tmp_path, "clf", classifier(keras.layers.GRU(8)))
    m = measure(tmp_path, CLASSIFIER, SENTIMENT)
    verdict = architecture_verdict("clf_arch", 2, CLASSIFIER, m)
    assert verdict.points == 0 and "no LSTM layer" in verdict.reason


def test_constant_predictor_gets_the_majority_rate_only(tmp_path: Path) -> None:
    inputs = keras.Input(shape=(1,), dtype="string")
    encoder = keras.layers.TextVectorization(max_tokens=50, output_sequence_length=4)
    encoder.adapt(["a b c"])
    x = keras.layers.Embedding(50, 2)(encoder(keras.layers.Reshape(())(inputs)))
    x = keras.layers.GlobalAveragePooling1D()(x)
    out = keras.layers.Dense(1, kernel_initializer="zeros", bias_initializer=keras.initializers.Constant(3.0))(x)
    save(tmp_path, "clf", keras.Model(inputs, out))
    m = measure(tmp_path, CLASSIFIER, SENTIMENT)
    assert m.value == pytest.approx(0.5)
    assert metric_verdict("t", 4, CLASSIFIER, m, threshold=ACCURACY, budget={}).points == 0


def test_budget_and_missing_or_unsafe_models(tmp_path: Path) -> None:
    spec = ModelSpec(name="fc", task="forecast", metric="mae")
    assert "no saved model" in measure(tmp_path, spec, WEATHER).problem
    inputs = keras.Input(shape=(24, 1))
    out = keras.layers.Lambda(lambda t: t[:, -1, :])(inputs)
    save(tmp_path, "fc", keras.Model(inputs, out), mean=0.0, std=1.0, input_width=24)
    m = measure(tmp_path, spec, WEATHER)
    assert "could not be loaded safely" in m.problem
    assert metric_verdict("t", 4, spec, m, threshold=Threshold(3, 1), budget={}).status == "error"


def test_forecaster_must_beat_the_last_value_baseline(tmp_path: Path) -> None:
    spec = ModelSpec(name="fc", task="forecast", metric="mae")
    mean, std = float(WEATHER.train.mean()), float(WEATHER.train.std())
    inputs = keras.Input(shape=(24, 1))
    last = keras.layers.Cropping1D((23, 0))(inputs)             # exactly the last value: ties the baseline
    save(tmp_path, "fc", keras.Model(inputs, keras.layers.Flatten()(last)), mean=mean, std=std, input_width=24,
         history={"loss": [1.0] * 30})
    m = measure(tmp_path, spec, WEATHER)
    assert m.value == pytest.approx(m.baseline, rel=1e-5)
    verdict = metric_verdict("t", 4, spec, m, threshold=Threshold(min=m.baseline, target=0.5), budget={})
    assert verdict.points == 0 and "does not beat the last-value baseline" in verdict.reason
    over = metric_verdict("t", 4, spec, m, threshold=Threshold(9, 0.1), budget={"max_epochs": 20})
    assert over.points == 0 and "budget is 20" in over.reason


def test_untrained_char_model_sits_near_ln_vocab(tmp_path: Path) -> None:
    vocabulary = ["[UNK]"] + sorted(set(TEXT.train[:200_000]))
    keras.utils.set_random_seed(0)
    model = keras.Sequential([keras.Input(shape=(None,), dtype="int64"),
                              keras.layers.Embedding(len(vocabulary), 8),
                              keras.layers.GRU(16, return_sequences=True),
                              keras.layers.Dense(len(vocabulary))])
    save(tmp_path, "lm", model, vocabulary=vocabulary)
    spec = ModelSpec(name="lm", task="char_lm", metric="loss")
    m = measure(tmp_path, spec, TEXT)
    assert abs(m.value - np.log(len(vocabulary))) < 0.1
    assert m.baseline < m.value - 0.5                        # a unigram model beats an untrained GRU
    assert metric_verdict("t", 4, spec, m, threshold=Threshold(min=3.0, target=2.0), budget={}).points == 0


def test_partial_credit_curve_both_directions() -> None:
    assert curve(0.7, Threshold(0.6, 0.8)) == pytest.approx(0.5)
    assert curve(0.9, Threshold(0.6, 0.8)) == 1.0 and curve(0.5, Threshold(0.6, 0.8)) == 0.0
    assert curve(2.5, Threshold(3.0, 2.0)) == pytest.approx(0.5)
    assert curve(1.5, Threshold(3.0, 2.0)) == 1.0
