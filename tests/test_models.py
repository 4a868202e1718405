"""Model verdicts with real Keras models saved the way notebooks save them, trained again by the grader
in its bounded child process, on real held-out data."""
from __future__ import annotations

import dataclasses
import json
import os
from pathlib import Path

import numpy as np
import pytest

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
os.environ.setdefault("TF_ENABLE_ONEDNN_OPTS", "0")
keras = pytest.importorskip("keras")

from autograder.config import (
    ConfigError,
    Threshold,
    load_config,
    parse_config,
    with_training_cap,
)
from autograder.data import grading_data
from autograder.data.feeding import job_data, recipe
from autograder.grading.verdicts import files
from autograder.grading.verdicts.models import (
    Limit,
    Measurement,
    ModelSpec,
    architecture_verdict,
    curve,
    heldout_flag,
    measure,
    metric_verdict,
    model_notes,
)
from autograder.results import NoteKind

SENTIMENT = grading_data("sentiment", source="embedded", cache="unused")
WEATHER = grading_data("weather", source="embedded", cache="unused")
TEXT = grading_data("text", source="embedded", cache="unused")

CLASSIFIER = ModelSpec(name="clf", task="binary_text", metric="accuracy",
                       layers=("TextVectorization", "Embedding", "Bidirectional", "LSTM"),
                       recurrent=({"type": "LSTM", "units": 8, "return_sequences": False},),
                       params=(1_000, 200_000), reported_tolerance=0.1)
FORECAST = ModelSpec(name="fc", task="forecast", metric="mae", layers=("LSTM", "Dense"))
ACCURACY = Threshold(min=0.6, target=0.75)


@pytest.fixture(scope="module")
def config(course_root: Path):
    """The course config with the grader's training capped at one epoch of 256 examples."""
    return with_training_cap(load_config(course_root), epochs=1, examples=256)


@pytest.fixture(scope="module")
def uncapped(course_root: Path):
    return load_config(course_root)


def save(workdir: Path, name: str, model, **meta) -> Path:
    (workdir / "models").mkdir(parents=True, exist_ok=True)
    model.save(workdir / "models" / f"{name}.keras")
    (workdir / "models" / f"{name}.json").write_text(json.dumps({"epochs": 1, **meta}))
    return workdir


def classifier(recurrent) -> keras.Model:
    keras.utils.set_random_seed(0)
    encoder = keras.layers.TextVectorization(max_tokens=2000, output_sequence_length=30)
    encoder.adapt([t for t, _ in SENTIMENT.train[:2000]])
    inputs = keras.Input(shape=(1,), dtype="string")
    x = keras.layers.Reshape(())(inputs)
    x = encoder(x)
    x = keras.layers.Embedding(2000, 8, mask_zero=True)(x)
    x = keras.layers.Bidirectional(recurrent)(x)
    model = keras.Model(inputs, keras.layers.Dense(1)(x))
    model.compile(optimizer="adam", loss=keras.losses.BinaryCrossentropy(from_logits=True))
    return model


def forecaster(width=24, *, learning_rate: float = 0.01) -> keras.Model:
    keras.utils.set_random_seed(0)
    inputs = keras.Input(shape=(width, 1))
    model = keras.Model(inputs, keras.layers.Dense(1)(keras.layers.LSTM(8)(inputs)), name="fc")
    model.compile(optimizer=keras.optimizers.Adam(learning_rate), loss="mse")
    return model


@pytest.mark.slow
def test_an_untrained_classifier_is_trained_by_the_grader_and_a_fake_report_is_flagged(tmp_path: Path,
                                                                                      config) -> None:
    save(tmp_path, "clf", classifier(keras.layers.LSTM(8)), reported={"accuracy": 0.99}, history={"loss": [0.7]})
    m = measure(tmp_path, CLASSIFIER, SENTIMENT, config=config)
    assert not m.problem and m.baseline == 0.5 and 0.3 < m.value < 0.8
    assert m.capped and m.examples == 256 and m.trained_epochs == 1 and m.own_value is None   # no flag when capped
    verdict = metric_verdict("clf_metric", 4, CLASSIFIER, m, threshold=Threshold(min=0.9, target=0.95), budget={})
    assert verdict.points == 0 and verdict.status == "failed" and "capped at 1 of the 1 declared epochs" in verdict.reason
    assert architecture_verdict("clf_arch", 2, CLASSIFIER, m).points == 2


@pytest.mark.slow
def test_wrong_architecture_is_named(tmp_path: Path, config) -> None:
    save(tmp_path, "clf", classifier(keras.layers.GRU(8)))
    m = measure(tmp_path, CLASSIFIER, SENTIMENT, config=config)
    verdict = architecture_verdict("clf_arch", 2, CLASSIFIER, m)
    assert verdict.points == 0 and "no LSTM layer" in verdict.reason


@pytest.mark.slow
def test_the_grade_comes_from_the_architecture_not_the_saved_weights(tmp_path: Path, uncapped) -> None:
    """Two saves of one architecture, trained for 0 and 3 epochs: the grader's number is the same;
    only the saved weights' own measurement differs. A reported metric is compared with those."""
    fresh, trained = forecaster(), forecaster()
    mean, std = float(WEATHER.train.mean()), float(WEATHER.train.std())
    z = (np.asarray(WEATHER.train) - mean) / std
    x = np.stack([z[s:s + 24] for s in range(2000)])[..., None]
    trained.fit(x, z[24:2024, None], epochs=3, verbose=0)
    a = measure(save(tmp_path / "a", "fc", fresh, epochs=2, reported={"mae": 0.01}), FORECAST, WEATHER,
                config=uncapped)
    b = measure(save(tmp_path / "b", "fc", trained, epochs=2), FORECAST, WEATHER, config=uncapped)
    assert not a.problem and not b.problem and not a.capped and a.trained_epochs == 2 and a.batch_size == 64
    assert a.value == pytest.approx(b.value, abs=1e-9)             # identical grader training
    assert a.own_value > b.own_value + 0.05                          # the saved weights differ
    notes = model_notes(FORECAST, a, config=uncapped)
    assert [n.kind for n in notes] == [NoteKind.METRIC] and "reported mae 0.0100" in notes[0].text


@pytest.mark.slow
def test_a_later_process_reuses_the_stored_training_and_a_bad_entry_is_trained_again(tmp_path: Path, config,
                                                                                    monkeypatch) -> None:
    from autograder.grading.verdicts import models as model_verdicts

    jobs = []
    real_run_job = model_verdicts.run_job

    def recording(job, **kwargs):
        jobs.append(job["train"])
        return real_run_job(job, **kwargs)

    monkeypatch.setattr(model_verdicts, "run_job", recording)
    monkeypatch.setenv("RNN_AUTOGRADER_CACHE", str(tmp_path / "cache"))
    store = model_verdicts.training_store(config)
    save(tmp_path / "w", "fc", forecaster(learning_rate=0.02))

    def fresh_process() -> Measurement:          # what a new grader process starts with: an empty memory
        monkeypatch.setattr(model_verdicts, "_TRAINED", model_verdicts._TrainedOnce())
        return measure(tmp_path / "w", FORECAST, WEATHER, config=config)

    first = fresh_process()
    assert jobs == [{"epochs": 1, "batch_size": 64, "max_examples": 256}] and len(list(store.glob("*.json"))) == 1
    again = fresh_process()
    assert jobs[1:] == [] and again.value == first.value         # capped and stored: no child at all
    next(store.glob("*.json")).write_text("{not json")
    third = fresh_process()
    assert jobs[1:] == [{"epochs": 1, "batch_size": 64, "max_examples": 256}] and third.value == first.value
    off = dataclasses.replace(config, models=dataclasses.replace(config.models, reuse_trainings=False))
    assert model_verdicts.training_store(off) is None


@pytest.mark.slow
def test_budget_missing_uncompiled_and_unsafe_models(tmp_path: Path, config) -> None:
    spec = dataclasses.replace(FORECAST, layers=())
    assert "no saved model" in measure(tmp_path, spec, WEATHER, config=config).problem
    inputs = keras.Input(shape=(24, 1))
    lam = keras.Model(inputs, keras.layers.Lambda(lambda t: t[:, -1, :])(inputs))
    lam.compile(optimizer="adam", loss="mse")
    m = measure(save(tmp_path / "lambda", "fc", lam), spec, WEATHER, config=config)
    assert "could not be loaded safely" in m.problem
    assert metric_verdict("t", 4, spec, m, threshold=Threshold(3, 1), budget={}).status == "error"
    raw = keras.Model(inputs, keras.layers.Dense(1)(keras.layers.Flatten()(inputs)))
    m = measure(save(tmp_path / "raw", "fc", raw), spec, WEATHER, config=config)
    assert "never compiled" in m.problem and m.params == 25
    m = measure(save(tmp_path / "long", "fc", forecaster(), epochs=30), spec, WEATHER, config=config)
    over = metric_verdict("t", 4, spec, m, threshold=Threshold(9, 0.1), budget={"max_epochs": 20})
    assert over.points == 0 and "declares 30 epochs of training; the budget is 20" in over.reason
    m = measure(save(tmp_path / "none", "fc", forecaster(), epochs="all"), spec, WEATHER, config=config)
    assert "does not say how many epochs" in m.problem


@pytest.mark.slow          # grades or trains for real (10-20 s): `make test` runs it, test-fast does not
def test_forecaster_must_beat_the_last_value_baseline(tmp_path: Path, config) -> None:
    inputs = keras.Input(shape=(24, 1))
    last = keras.layers.Cropping1D((23, 0))(inputs)             # exactly the last value: ties the baseline
    model = keras.Model(inputs, keras.layers.Flatten()(last))
    model.compile(optimizer="adam", loss="mse")
    m = measure(save(tmp_path, "fc", model), FORECAST, WEATHER, config=config)
    assert m.value == pytest.approx(m.baseline, rel=1e-4)
    verdict = metric_verdict("t", 4, FORECAST, m, threshold=Threshold(min=m.baseline, target=0.5), budget={})
    assert verdict.points == 0 and "does not beat the last-value baseline" in verdict.reason


@pytest.mark.slow
def test_untrained_char_model_sits_near_ln_vocab_whatever_vocabulary_the_side_file_claims(tmp_path: Path,
                                                                                          config) -> None:
    vocabulary = ["[UNK]"] + sorted(set(TEXT.train))
    keras.utils.set_random_seed(0)
    model = keras.Sequential([keras.Input(shape=(None,), dtype="int64"),
                              keras.layers.Embedding(len(vocabulary), 8),
                              keras.layers.GRU(16, return_sequences=True),
                              keras.layers.Dense(len(vocabulary))])
    model.compile(optimizer="adam", loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True))
    spec = ModelSpec(name="lm", task="char_lm", metric="loss")
    honest = measure(save(tmp_path / "honest", "lm", model, vocabulary=vocabulary), spec, TEXT, config=config)
    forged = measure(save(tmp_path / "forged", "lm", model, vocabulary=["[UNK]"]), spec, TEXT, config=config)
    assert abs(honest.value - np.log(len(vocabulary))) < 0.15
    assert honest.baseline < honest.value - 0.5                    # a unigram model beats an untrained GRU
    assert forged.value == pytest.approx(honest.value, abs=1e-9)   # the side file's vocabulary is not used
    assert metric_verdict("t", 4, spec, forged, threshold=Threshold(min=3.0, target=2.0), budget={}).points == 0


def test_the_grader_feeds_its_own_statistics() -> None:
    data = job_data("forecast", WEATHER, recipe("forecast"))
    train = np.asarray(WEATHER.train)[: int(len(WEATHER.train) * 0.8)]
    assert data["mean"] == pytest.approx(train.mean(), abs=1e-4) and data["input_width"] == 24
    text = job_data("char_lm", TEXT, recipe("char_lm"))
    assert text["vocabulary"][0] == "[UNK]" and text["vocabulary"][1:] == sorted(set(TEXT.train))
    sentiment = job_data("binary_text", SENTIMENT, recipe("binary_text"))
    assert len(sentiment["train_texts"]) == 6400 and len(sentiment["heldout_texts"]) == 2000
    with pytest.raises(ValueError, match="unknown training key 'epochs'"):
        recipe("forecast", {"epochs": 3})


@pytest.mark.slow
def test_a_model_over_the_cpu_limit_scores_zero_and_says_which_limit(tmp_path: Path, config) -> None:
    inputs = keras.Input(shape=(24, 1))
    x = keras.layers.UpSampling1D(3000)(inputs)                 # 72,000 steps per window
    bomb = keras.Model(inputs, keras.layers.Dense(1)(keras.layers.LSTM(8)(x)))
    bomb.compile(optimizer="adam", loss="mse")
    tight = dataclasses.replace(config, models=dataclasses.replace(config.models, cpu_s=6, wall_s=120))
    m = measure(save(tmp_path, "fc", bomb), FORECAST, WEATHER, config=tight)
    assert m.limit in (Limit.CPU, Limit.MEMORY) and m.value is None and m.layer_types   # loaded, never measured
    verdict = metric_verdict("t", 4, FORECAST, m, threshold=Threshold(0.3, 0.2), budget={})
    assert verdict.points == 0 and verdict.status == "failed" and "models." in verdict.reason


def test_held_out_flag_needs_the_saved_weights_to_beat_the_grader_by_more_than_the_margin() -> None:
    spec = ModelSpec(name="m", task="forecast", metric="mae")
    honest = Measurement("m", value=0.18, own_value=0.15)
    cheat = Measurement("m", value=0.18, own_value=0.10)
    assert heldout_flag(spec, honest, 0.06) == ""
    assert "possible training on held-out data" in heldout_flag(spec, cheat, 0.06)
    assert heldout_flag(spec, dataclasses.replace(cheat, capped=True), 0.06) == ""
    acc = ModelSpec(name="a", task="binary_text", metric="accuracy")
    assert heldout_flag(acc, Measurement("a", value=0.80, own_value=0.90), 0.03)
    assert heldout_flag(acc, Measurement("a", value=0.80, own_value=0.70), 0.03) == ""


def test_models_config_is_validated(course_root: Path) -> None:
    base = {"course_id": "c", "assignment": "a"}
    policy = parse_config({**base, "models": {"cpu_s": 30, "flag_margin": {"temp_lstm.mae": 0.1}}}).models
    assert policy.cpu_s == 30 and policy.flag_margin["temp_lstm.mae"] == 0.1
    assert policy.flag_margin["char_gru.loss"] > 0                      # defaults kept for the others
    with pytest.raises(ConfigError, match="Did you mean 'models.cpu_s'"):
        parse_config({**base, "models": {"cpu_sec": 30}})
    with pytest.raises(ConfigError, match="models.memory_mb"):
        parse_config({**base, "models": {"memory_mb": 0}})
    with pytest.raises(ConfigError, match="models.threads"):
        parse_config({**base, "models": {"threads": 1.5}})
    assert parse_config({**base, "models": {"cap_epochs": 0}}).models.cap_epochs == 0
    assert parse_config({**base, "models": {"reuse_trainings": False}}).models.reuse_trainings is False
    with pytest.raises(ConfigError, match="models.reuse_trainings.*True or False"):
        parse_config({**base, "models": {"reuse_trainings": "no"}})


def test_workspace_files_are_never_followed(tmp_path: Path) -> None:
    (tmp_path / "models").mkdir()
    (tmp_path / "models" / "ok.json").write_text("{}")
    assert files.read_bytes(tmp_path, "models/ok.json", max_bytes=10) == b"{}"
    secret = tmp_path / "secret.txt"
    secret.write_text("held-out")
    (tmp_path / "models" / "link.keras").symlink_to(secret)
    os.mkfifo(tmp_path / "models" / "fifo.keras")
    (tmp_path / "elsewhere").mkdir()
    (tmp_path / "elsewhere" / "m.keras").write_text("x")
    (tmp_path / "linked").symlink_to(tmp_path / "elsewhere")
    with pytest.raises(files.UnsafeFile, match="symbolic link"):
        files.read_bytes(tmp_path, "models/link.keras", max_bytes=100)
    with pytest.raises(files.UnsafeFile, match="FIFO"):
        files.read_bytes(tmp_path, "models/fifo.keras", max_bytes=100)      # returns at once: no reader blocks
    with pytest.raises(files.UnsafeFile, match="linked is a symbolic link"):
        files.read_bytes(tmp_path, "linked/m.keras", max_bytes=100)
    with pytest.raises(files.UnsafeFile, match="limit"):
        files.read_bytes(tmp_path, "models/ok.json", max_bytes=1)
    with pytest.raises(FileNotFoundError):
        files.read_bytes(tmp_path, "models/none.keras", max_bytes=100)
    with pytest.raises(files.UnsafeFile, match="plain relative path"):
        files.read_bytes(tmp_path, "../secret.txt", max_bytes=100)


def test_partial_credit_curve_both_directions() -> None:
    assert curve(0.7, Threshold(0.6, 0.8)) == pytest.approx(0.5)
    assert curve(0.9, Threshold(0.6, 0.8)) == 1.0 and curve(0.5, Threshold(0.6, 0.8)) == 0.0
    assert curve(2.5, Threshold(3.0, 2.0)) == pytest.approx(0.5)
    assert curve(1.5, Threshold(3.0, 2.0)) == 1.0


@pytest.mark.slow
def test_a_forked_job_and_a_fresh_interpreter_give_the_same_numbers(tmp_path: Path, uncapped) -> None:
    """`python -m autograder.grading.verdicts.model_job` (a fresh interpreter, the job on stdin) and a
    fork of the TensorFlow-preloaded server run the same job to the same digits."""
    from autograder.grading.verdicts.models import run_job

    save(tmp_path, "fc", forecaster())
    data = job_data("forecast", WEATHER, recipe("forecast"))
    job = {"model": str(tmp_path / "models" / "fc.keras"), "task": "forecast", "seed": 1234, "threads": 1,
           "memory_mb": 6144, "cpu_s": 300, "train": {"epochs": 1, "batch_size": 64, "max_examples": 512},
           "measure_own": True, "max_params": None, "data": data}
    runs = []
    for forked in (True, False):
        home = tmp_path / f"home-{forked}"
        home.mkdir()
        records, limit, _ = run_job(job, wall_s=300, home=home, forked=forked)
        assert limit is None
        runs.append({r["stage"]: r.get("value") for r in records})
    assert runs[0] == runs[1] and set(runs[0]) == {"loaded", "grader", "own"}
