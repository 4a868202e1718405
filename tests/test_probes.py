"""Grader-side comparison with the reference: passes on the reference, fails on wrong outputs."""
from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from autograder.config import ReferencePolicy
from autograder.grading.verdicts import probes

POLICY = ReferencePolicy(cases=3, rtol=1e-6, seed=1)


def _reference() -> probes.Reference:
    return probes.Reference(
        functions={"affine": lambda x, w: (x @ w, np.tanh(x @ w))},
        generators={"affine": lambda rng: {"x": rng.normal(size=(rng.integers(1, 4), 3)),
                                           "w": rng.normal(size=(3, 2))}},
    )


def _run_harness(tmp_path: Path, student_code: str, cases) -> probes.ProbeOutputs | None:
    """Run the real harness cell in a fresh Python process, as the kernel would."""
    probes.write_inputs(tmp_path, {"affine": cases})
    script = student_code + "\n" + probes.harness_cell_source()
    subprocess.run([sys.executable, "-c", script], cwd=tmp_path, check=True)
    return probes.read_outputs(tmp_path)


def _verdict(tmp_path: Path, code: str):
    ref = _reference()
    cases = probes.draw_inputs(ref, ("affine",), policy=POLICY, student="s1")["affine"]
    outputs = _run_harness(tmp_path, code, cases)
    return probes.compare("affine_reference", "affine", 2.0, reference=ref, cases=cases,
                          outputs=outputs, policy=POLICY)


def test_correct_function_passes(tmp_path: Path) -> None:
    result = _verdict(tmp_path, "import numpy as np\ndef affine(x, w):\n    z = x @ w\n    return z, np.tanh(z)")
    assert (result.status, result.points) == ("passed", 2.0)
    assert result.hidden and result.kind == "reference"


@pytest.mark.parametrize("code, reason", [
    ("import numpy as np\ndef affine(x, w):\n    z = x @ w\n    return z, 1 / (1 + np.exp(-z))", "differs"),
    ("import numpy as np\ndef affine(x, w):\n    return x @ w", "number or shape"),
    ("import numpy as np\ndef affine(x, w):\n    z = w.T @ x.T\n    return z, np.tanh(z)", "number or shape"),
    ("def affine(x, w):\n    raise ValueError('no')", "raised"),
    ("x = 1", "not defined"),
    ("import numpy as np\ndef affine(x, w):\n    z = x @ w\n    return z * np.nan, np.tanh(z)", "differs"),
])
def test_wrong_functions_fail(tmp_path: Path, code: str, reason: str) -> None:
    result = _verdict(tmp_path, code)
    assert result.status == "failed" and result.points == 0
    assert reason in result.reason


def test_inputs_differ_between_students_and_repeat_for_one() -> None:
    ref = _reference()
    a1 = probes.draw_inputs(ref, ("affine",), policy=POLICY, student="a")["affine"]
    a2 = probes.draw_inputs(ref, ("affine",), policy=POLICY, student="a")["affine"]
    b = probes.draw_inputs(ref, ("affine",), policy=POLICY, student="b")["affine"]
    assert all(np.array_equal(x["x"], y["x"]) for x, y in zip(a1, a2))
    assert not all(x["x"].shape == y["x"].shape and np.allclose(x["x"], y["x"]) for x, y in zip(a1, b))


def test_missing_outputs_are_an_error_not_a_pass(tmp_path: Path) -> None:
    ref = _reference()
    cases = probes.draw_inputs(ref, ("affine",), policy=POLICY, student="s")["affine"]
    result = probes.compare("t", "affine", 1.0, reference=ref, cases=cases,
                            outputs=probes.read_outputs(tmp_path), policy=POLICY, unavailable="kernel died")
    assert result.status == "error" and "kernel died" in result.reason


def test_string_outputs_and_scalar_arguments(tmp_path: Path) -> None:
    ref = probes.Reference(
        functions={"shout": lambda words, times: [w.upper() * times for w in words]},
        generators={"shout": lambda rng: {"words": np.array(["ab", "c", "de f"]), "times": int(rng.integers(1, 3))}},
    )
    cases = probes.draw_inputs(ref, ("shout",), policy=POLICY, student="s")["shout"]

    def verdict(code: str):
        probes.write_inputs(tmp_path, {"shout": cases})
        subprocess.run([sys.executable, "-c", code + "\n" + probes.harness_cell_source()], cwd=tmp_path, check=True)
        return probes.compare("t", "shout", 1.0, reference=ref, cases=cases,
                              outputs=probes.read_outputs(tmp_path), policy=POLICY)

    good = verdict("def shout(words, times):\n    assert isinstance(times, int)\n    return [w.upper() * times for w in words]")
    assert good.status == "passed", good.reason
    bad = verdict("def shout(words, times):\n    return [w.upper() for w in words]")
    assert bad.status == "failed" and "do not match" in bad.reason


# ---- reading the workspace safely -------------------------------------------------------------

def test_outputs_behind_a_symlink_or_a_fifo_are_refused(tmp_path: Path) -> None:
    """The workspace belongs to the student's code: the grader never follows a link it left there,
    and a FIFO in place of an output file cannot block the grader."""
    import os

    ref = _reference()
    cases = probes.draw_inputs(ref, ("affine",), policy=POLICY, student="s1")["affine"]
    good = _run_harness(tmp_path, "import numpy as np\ndef affine(x, w):\n    z = x @ w\n    return z, np.tanh(z)", cases)
    assert good is not None
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    (tmp_path / probes.OUTPUTS_FILE).rename(elsewhere / probes.OUTPUTS_FILE)
    (tmp_path / probes.OUTPUTS_FILE).symlink_to(elsewhere / probes.OUTPUTS_FILE)
    assert probes.read_outputs(tmp_path) is None
    (tmp_path / probes.OUTPUTS_FILE).unlink()
    os.mkfifo(tmp_path / probes.OUTPUTS_FILE)
    assert probes.read_outputs(tmp_path) is None           # returns at once: never opened for a blocking read
    (tmp_path / "sub").symlink_to(elsewhere, target_is_directory=True)
    with pytest.raises(OSError):
        probes.read_workspace_file(tmp_path, f"sub/{probes.OUTPUTS_FILE}")
    for bad in ("../x", "/etc/passwd", ""):
        with pytest.raises(OSError):
            probes.read_workspace_file(tmp_path, bad)


def test_a_function_that_exits_is_recorded_and_the_other_cases_still_run(tmp_path: Path) -> None:
    code = ("import numpy as np\ncalls = []\ndef affine(x, w):\n    calls.append(1)\n"
            "    if len(calls) == 2:\n        raise SystemExit(0)\n    z = x @ w\n    return z, np.tanh(z)")
    result = _verdict(tmp_path, code)
    assert result.status == "failed" and "SystemExit on 1/3" in result.reason, result.reason


# ---- probes of functions that return layers, models or write files (Keras in the kernel) --------

KERAS_GOOD_BAG = '''
import keras
def build_model(vectorizer, embedding_dim=16):
    inputs = keras.Input(shape=(1,), dtype="string")
    x = keras.layers.Embedding(vectorizer.vocabulary_size(), embedding_dim, name="embedding")(vectorizer(inputs))
    x = keras.layers.GlobalAveragePooling1D()(x)
    return keras.Model(inputs, keras.layers.Dense(1)(keras.layers.Dense(16, activation="relu")(x)))
'''
KERAS_NESTED_BAG = '''
import keras
def build_model(vectorizer, embedding_dim=16):
    head = keras.Sequential([keras.layers.GlobalAveragePooling1D(), keras.layers.Dense(16, activation="relu"),
                             keras.layers.Dense(1)])
    return keras.Sequential([keras.Input(shape=(1,), dtype="string"), vectorizer,
                             keras.layers.Embedding(vectorizer.vocabulary_size(), embedding_dim, name="embedding"), head])
'''
KERAS_NO_POOLING = '''
import keras
def build_model(vectorizer, embedding_dim=16):
    inputs = keras.Input(shape=(1,), dtype="string")
    x = keras.layers.Embedding(vectorizer.vocabulary_size(), embedding_dim, name="embedding")(vectorizer(inputs))
    x = keras.layers.Flatten()(x)
    return keras.Model(inputs, keras.layers.Dense(1)(keras.layers.Dense(16, activation="relu")(x)))
'''
KERAS_LAMBDA = '''
import keras
def build_model(vectorizer, embedding_dim=16):
    inputs = keras.Input(shape=(1,), dtype="string")
    x = keras.layers.Embedding(vectorizer.vocabulary_size(), embedding_dim, name="embedding")(vectorizer(inputs))
    x = keras.layers.Lambda(lambda t: 1.0 * t)(keras.layers.GlobalAveragePooling1D()(x))
    return keras.Model(inputs, keras.layers.Dense(1)(keras.layers.Dense(16, activation="relu")(x)))
'''


def _word_embeddings() -> probes.Reference:
    from autograder.course.solutions import load_solutions

    sol = load_solutions(Path(__file__).resolve().parents[1] / "solutions", "word_embeddings")
    return probes.Reference(functions=sol.functions, generators=sol.generators)


def _keras_verdict(tmp_path: Path, reference: probes.Reference, probe: str, code: str):
    policy = ReferencePolicy(cases=2, rtol=1e-6, seed=3)
    cases = probes.draw_inputs(reference, (probe,), policy=policy, student="k")
    probes.write_inputs(tmp_path, cases)
    env = {"TF_CPP_MIN_LOG_LEVEL": "3", "TF_ENABLE_ONEDNN_OPTS": "0", "PATH": "/usr/bin:/bin", "HOME": str(tmp_path)}
    subprocess.run([sys.executable, "-c", code + "\n" + probes.harness_cell_source()], cwd=tmp_path, check=True,
                   env=env, capture_output=True)
    return probes.compare(f"{probe}_reference", probe, 2.0, reference=reference, cases=cases[probe],
                          outputs=probes.read_outputs(tmp_path), policy=policy)


@pytest.mark.slow
@pytest.mark.parametrize("code, status, reason", [
    (KERAS_GOOD_BAG, "passed", "fit the exercise"),
    (KERAS_NESTED_BAG, "passed", "fit the exercise"),          # a nested Sequential block is fine
    (KERAS_NO_POOLING, "failed", "0 GlobalAveragePooling1D layer(s)"),
    (KERAS_LAMBDA, "failed", "cannot be reloaded safely"),     # no student code runs in the grader
    ("def build_model(vectorizer, embedding_dim=16):\n    return vectorizer", "failed", "did not return a Keras model"),
])
def test_a_returned_model_is_reloaded_and_checked_by_the_grader(tmp_path: Path, code: str, status: str,
                                                                reason: str) -> None:
    result = _keras_verdict(tmp_path, _word_embeddings(), "build_model", code)
    assert result.status == status and reason in result.reason, result.reason


PROJECTOR_GOOD = '''
from pathlib import Path
def export_projector_files(matrix, vocabulary, folder):
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    with open(folder / "vectors.tsv", "w") as v, open(folder / "metadata.tsv", "w") as m:
        for i in range(1, len(vocabulary)):
            v.write("\\t".join(repr(float(x)) for x in matrix[i]) + "\\n")
            m.write(str(vocabulary[i]) + "\\n")
    return (folder / "vectors.tsv").resolve(), folder / "metadata.tsv"
'''


@pytest.mark.slow
@pytest.mark.parametrize("change, status, reason", [
    (None, "passed", "wrote the expected files"),
    (("range(1, len(vocabulary))", "range(len(vocabulary))"), "failed", "vectors.tsv with"),
    (('repr(float(x))', '"%.2f" % x'), "failed", "vectors.tsv whose contents differ"),
    (("m.write(str(vocabulary[i])", "m.write(str(vocabulary[i]).upper()"), "failed", "metadata.tsv whose contents"),
    (('folder / "metadata.tsv"\n', 'folder / "vectors.tsv"\n'), "failed", "did not return the paths"),
])
def test_written_files_are_read_and_judged_by_the_grader(tmp_path: Path, change, status: str, reason: str) -> None:
    code = PROJECTOR_GOOD if change is None else PROJECTOR_GOOD.replace(*change)
    assert change is None or code != PROJECTOR_GOOD
    result = _keras_verdict(tmp_path, _word_embeddings(), "export_projector_files", code)
    assert result.status == status and reason in result.reason, result.reason


def test_written_files_behind_a_symlink_are_refused(tmp_path: Path) -> None:
    code = ("import os\ndef export_projector_files(matrix, vocabulary, folder):\n"
            "    os.makedirs(os.path.dirname(folder), exist_ok=True)\n"
            "    os.symlink('/etc', folder)\n    return os.path.join(folder, 'vectors.tsv'), os.path.join(folder, 'metadata.tsv')")
    result = _keras_verdict(tmp_path, _word_embeddings(), "export_projector_files", code)
    assert result.status == "failed" and "did not write a readable vectors.tsv" in result.reason, result.reason


def _text_generation() -> probes.Reference:
    from autograder.course.solutions import load_solutions

    sol = load_solutions(Path(__file__).resolve().parents[1] / "solutions", "text_generation")
    return probes.Reference(functions=sol.functions, generators=sol.generators)


LOOKUPS = '''
import keras
def make_lookup_layers(vocabulary):
    return (keras.layers.StringLookup(vocabulary=list(vocabulary), mask_token=None),
            keras.layers.StringLookup(vocabulary=list(vocabulary), mask_token=None, invert=True))
'''


@pytest.mark.slow
@pytest.mark.parametrize("change, status", [(None, "passed"), (("mask_token=None)", "mask_token=None, num_oov_indices=2)"),
                                                             "failed")])
def test_returned_layers_are_applied_to_the_grader_inputs(tmp_path: Path, change, status: str) -> None:
    """The two lookups are called in the kernel on the grader's characters and ids (`apply:0`,
    `apply:1`); a second out-of-vocabulary id shifts every id by one and is caught."""
    code = LOOKUPS if change is None else LOOKUPS.replace(*change)
    result = _keras_verdict(tmp_path, _text_generation(), "make_lookup_layers", code)
    assert result.status == status, result.reason


GENERATE = '''
import numpy as np
import tensorflow as tf
SEQ_LENGTH = 100
ids_from_chars = chars_from_ids = None     # replaced by the grader's lookups while generate runs
def sample_next(logits, temperature, seed):
    rng = np.random.default_rng(seed)
    scaled = np.asarray(logits, dtype=np.float64) / temperature
    probs = np.exp(scaled - scaled.max(axis=1, keepdims=True))
    probs /= probs.sum(axis=1, keepdims=True)
    return np.array([rng.choice(probs.shape[1], p=row) for row in probs])
def generate(model, start, n, temperature=1.0, seed=0):
    rng = np.random.default_rng(seed)
    ids = [int(i) for i in ids_from_chars(tf.strings.unicode_split(start, "UTF-8")).numpy()]
    new = []
    for _ in range(n):
        logits = np.asarray(model.predict_on_batch(np.array([ids[-SEQ_LENGTH:]], dtype=np.int32)))[:, -1, :]
        logits = logits.astype(np.float64)
        logits[:, 0] = -np.inf
        ids.append(int(sample_next(logits, temperature, rng)[0]))
        new.append(ids[-1])
    if not new:
        return start
    return start + tf.strings.reduce_join(chars_from_ids(np.array(new, dtype=np.int64))).numpy().decode("utf-8")
'''


@pytest.mark.slow
@pytest.mark.parametrize("change, status", [(None, "passed"),
                                            (("sample_next(logits, temperature, rng)", "sample_next(logits, temperature, seed)"),
                                             "failed")])
def test_notebook_globals_are_replaced_while_the_function_runs(tmp_path: Path, change, status: str) -> None:
    """generate reads the notebook's lookups: the harness puts the grader's in their place (and
    restores them), so the text can be compared with the reference's for a known model."""
    code = GENERATE if change is None else GENERATE.replace(*change)
    result = _keras_verdict(tmp_path, _text_generation(), "generate", code)
    assert result.status == status, result.reason
