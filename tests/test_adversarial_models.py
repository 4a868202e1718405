"""Attacks on the trained-model grade, each from inside a graded notebook, graded in one batch beside
honest controls (topic 05, the cheapest Keras notebook; every kernel trains on 1,024 windows).

The grade of a model comes from the grader's own training of the saved architecture, for the
declared epochs, fed from the grader's split, in a bounded child process; workspace files are never
followed. So each attack gains nothing, or is flagged where flagging is the verdict:

| attack | verdict |
|---|---|
| smuggled model (base64 in an answer cell, trained on held-out data) + forged history | grade of the architecture; flagged "possible training on held-out data" |
| models/temp_lstm.keras a symlink to a file the sandbox hides | refused, named; 0 on both model checks |
| models/temp_lstm.json a FIFO | refused at once, named; the grader does not block |
| forged side file (vocabulary, input_width, mean, std, reported 0.0) | ignored: the same grade as the honest control; the report flagged |
| a variable-width model with a forged input_width | fed the exercise's 24 hours: no better than honest |
| budget split over two fit calls (6 epochs, history says 3) | trained for the declared 3: the same grade as an honest 3-epoch run |
| UpSampling1D(3000) bomb | stopped at models.cpu_s (or memory_mb), 0 with the limit named; the batch goes on |
"""
from __future__ import annotations

import base64
import dataclasses
import os
from pathlib import Path

import nbformat
import numpy as np
import pytest

from autograder.config import load_config
from autograder.grading.pipeline import load_context
from autograder.qa.samples import fill, reference_answers
from autograder.run.batch import grade_path

pytestmark = pytest.mark.slow
NB = "05_time_series"
METRIC, ARCHITECTURE = "temp_lstm_metric", "temp_lstm_architecture"
SHORT = "train_inputs, train_targets = train_inputs[:1024], train_targets[:1024]\n"


def _train(epochs: int, extra: str = "") -> str:
    return (SHORT + "model = build_lstm(INPUT_WIDTH)\n"
            f"history = compile_and_fit(model, train_inputs, train_targets, val_inputs, val_targets, epochs={epochs})\n"
            + extra)


_FORGED_HISTORY = ("class _History:\n"
                   "    history = {'loss': [0.01, 0.005], 'mae': [0.05, 0.04], 'val_loss': [0.01, 0.005],\n"
                   "               'val_mae': [0.05, 0.04]}\n"
                   "history = _History()\n")
_AFTER_SAVE = {
    "symlink": "import os\nos.remove('models/temp_lstm.keras')\nos.symlink(TARGET, 'models/temp_lstm.keras')\n",
    "fifo": "import os\nos.remove('models/temp_lstm.json')\nos.mkfifo('models/temp_lstm.json')\n",
    "forged_side_file": ("import json\nwith open('models/temp_lstm.json', 'w') as f:\n"
                         "    json.dump({'epochs': 2, 'reported': {'mae': 0.0}, 'vocabulary': ['[UNK]'],\n"
                         "               'input_width': 1, 'mean': 1000.0, 'std': 1e-6, 'history': {'loss': [1, 1]}}, f)\n"),
    "forged_input_width": ("import json\nwith open('models/temp_lstm.json', 'w') as f:\n"
                           "    json.dump({'epochs': 2, 'input_width': 2000, 'mean': 0.0, 'std': 1.0}, f)\n"),
}


def _smuggled_model(split) -> str:
    """A temp_lstm trained in the test process on the held-out hours themselves, as base64."""
    import keras

    from autograder.data.feeding import job_data, recipe

    data = job_data("forecast", split, recipe("forecast"))
    z = (np.asarray(data["heldout_series"] + data["train_series"]) - data["mean"]) / data["std"]
    x = np.stack([z[s:s + 24] for s in range(len(z) - 24)])[..., None]
    keras.utils.set_random_seed(7)
    inputs = keras.Input(shape=(24, 1))
    model = keras.Model(inputs, keras.layers.Dense(1)(keras.layers.LSTM(32)(inputs)), name="temp_lstm")
    model.compile(loss="mse", optimizer=keras.optimizers.Adam(learning_rate=0.01))
    model.fit(x, z[24:, None], epochs=8, batch_size=64, verbose=0)
    path = Path(os.environ.get("TMPDIR", "/tmp")) / f"smuggled-{os.getpid()}.keras"
    model.save(path)
    blob = base64.b64encode(path.read_bytes()).decode()
    path.unlink()
    return blob


@pytest.fixture(scope="module")
def graded(tmp_path_factory, course_root: Path):
    root = tmp_path_factory.mktemp("adversarial-models")
    config = load_config(course_root).with_gradebook(root / "gb.db")
    config = dataclasses.replace(config, budgets={**config.budgets, "temp_lstm": {"max_epochs": 3, "max_params": 50_000}},
                                 models=dataclasses.replace(config.models, cpu_s=30, wall_s=300))
    ctx = dataclasses.replace(load_context(config), config=config)
    good = reference_answers(ctx.sources[NB])
    split = ctx.data[NB]
    variable_width = (SHORT + "inputs = keras.Input(shape=(None, 1))\n"
                      "model = keras.Model(inputs, keras.layers.Dense(1)(keras.layers.LSTM(32)(inputs)), name='temp_lstm')\n"
                      "history = compile_and_fit(model, train_inputs, train_targets, val_inputs, val_targets, epochs=2)\n")
    bomb = (SHORT + "val_inputs, val_targets = val_inputs[:1], val_targets[:1]   # the kernel predicts one window\n"
            "inputs = keras.Input(shape=(INPUT_WIDTH, 1))\n"
            "x = keras.layers.UpSampling1D(3000)(inputs)\n"
            "model = keras.Model(inputs, keras.layers.Dense(1)(keras.layers.LSTM(32)(x)), name='temp_lstm')\n"
            "model.compile(loss='mse', optimizer='adam')\n" + _FORGED_HISTORY.replace("0.01, 0.005", "0.01"))
    smuggled = (SHORT + f"import base64\n_blob = {_smuggled_model(split)!r}\n"
                "with open('smuggled.keras', 'wb') as handle:\n    handle.write(base64.b64decode(_blob))\n"
                "model = keras.models.load_model('smuggled.keras')\n" + _FORGED_HISTORY)
    students = {
        "honest": _train(2), "honest_three_epochs": _train(3), "smuggled": smuggled,
        "symlink": _train(2), "fifo": _train(2), "forged_side_file": _train(2), "forged_input_width": variable_width,
        "split_budget": _train(3, "history = compile_and_fit(model, train_inputs, train_targets, val_inputs, "
                                  "val_targets, epochs=3)\n"),
        "bomb": bomb,
    }
    target = str(course_root / "solutions" / "time_series.py")
    for student, train in students.items():
        nb = fill(ctx.releases[NB], {**good, "train_model": train})
        if student in _AFTER_SAVE:
            at = next(i for i, c in enumerate(nb.cells) if c.metadata.get("nbgrader", {}).get("grade_id") == "save_model")
            nb.cells.insert(at + 1, nbformat.v4.new_code_cell(_AFTER_SAVE[student].replace("TARGET", repr(target))))
        folder = root / "submitted" / student / config.assignment
        folder.mkdir(parents=True)
        nbformat.write(nb, str(folder / f"{NB}.ipynb"))
    report = grade_path(config=config, path=root / "submitted", progress=False, context=ctx, workers=2)
    return {r.student: next(n for n in r.notebooks if n.notebook == NB) for r in report.results}


def _t(result) -> dict:
    return {t.test: t for t in result.tests}


def _metric(result):
    return next(m for m in result.metrics if m.model == "temp_lstm")


def _notes(result) -> str:
    return " | ".join(n.text for n in result.notes)


def _training_windows() -> int:
    """Windows of the notebook's training cut of the grading series, by the grader's own forecast recipe."""
    from autograder.data import grading_data
    from autograder.data.feeding import recipe

    plan = recipe("forecast")
    hours = len(grading_data("weather", source="embedded", cache="unused").train)
    return int(hours * plan["train_share"]) - plan["input_width"]


def test_honest_controls_are_trained_and_measured_by_the_grader(graded) -> None:
    windows = _training_windows()
    for student, epochs in (("honest", 2), ("honest_three_epochs", 3)):
        t, m = _t(graded[student]), _metric(graded[student])
        assert t[ARCHITECTURE].points == 2 and t[METRIC].status in ("passed", "partial", "failed")
        assert m.value is not None and m.epochs == epochs and m.examples == windows and not m.capped
        assert m.own_value is not None and "after the grader's training (%d epochs" % epochs in t[METRIC].reason
        assert "possible training on held-out data" not in _notes(graded[student])


def test_smuggled_model_with_forged_history_gains_nothing_and_is_flagged(graded) -> None:
    honest, attack = _metric(graded["honest"]), _metric(graded["smuggled"])
    assert attack.epochs == 2 and attack.value == pytest.approx(honest.value, abs=0.02)
    assert _t(graded["smuggled"])[METRIC].points <= _t(graded["honest"])[METRIC].points + 0.5
    margin = load_config(Path(__file__).resolve().parents[1]).models.flag_margin["temp_lstm.mae"]
    assert attack.own_value < attack.value - margin              # the smuggled weights know the held-out hours
    assert "possible training on held-out data" in _notes(graded["smuggled"])


def test_symlinked_model_file_is_refused(graded) -> None:
    t = _t(graded["symlink"])
    assert t[METRIC].points == 0 and t[ARCHITECTURE].points == 0
    assert "models/temp_lstm.keras was not read" in t[METRIC].reason and "symbolic link" in t[METRIC].reason
    assert _t(graded["honest"])[ARCHITECTURE].points == 2


def test_fifo_side_file_is_refused_without_blocking(graded) -> None:
    t = _t(graded["fifo"])
    assert t[METRIC].points == 0 and "models/temp_lstm.json was not read" in t[METRIC].reason
    assert "FIFO" in t[METRIC].reason


def test_forged_vocabulary_input_width_mean_std_are_ignored(graded) -> None:
    honest, forged = _metric(graded["honest"]), _metric(graded["forged_side_file"])
    assert forged.value == pytest.approx(honest.value, abs=1e-9)        # the same architecture, the same grade
    assert _t(graded["forged_side_file"])[METRIC].points == _t(graded["honest"])[METRIC].points
    assert "FLAG: the notebook reported mae 0.0000" in _notes(graded["forged_side_file"])


def test_forged_input_width_on_a_variable_width_model_gains_nothing(graded) -> None:
    honest, forged = _metric(graded["honest"]), _metric(graded["forged_input_width"])
    assert forged.value > 0.1 and forged.value >= honest.value - 0.02
    assert _t(graded["forged_input_width"])[METRIC].points <= _t(graded["honest"])[METRIC].points + 0.5


def test_budget_split_over_two_fit_calls_gains_nothing(graded) -> None:
    honest, split = _metric(graded["honest_three_epochs"]), _metric(graded["split_budget"])
    assert split.epochs == 3 and split.value == pytest.approx(honest.value, abs=1e-9)
    assert _t(graded["split_budget"])[METRIC].points == _t(graded["honest_three_epochs"])[METRIC].points


def test_upsampling_bomb_is_stopped_at_a_limit_and_the_batch_goes_on(graded) -> None:
    t, m = _t(graded["bomb"]), _metric(graded["bomb"])
    assert t[METRIC].points == 0 and m.value is None
    assert "models.cpu_s" in t[METRIC].reason or "models.memory_mb" in t[METRIC].reason
    assert graded["bomb"].state.value == "graded" and _metric(graded["honest"]).value is not None
