"""The grader's training and measurement of one saved model, run in a bounded child process.

    python -m autograder.grading.verdicts.model_job  < job.json  > records (one JSON object a line)

The parent (`models.py`) writes one JSON job on stdin and reads one record per stage on stdout,
so the stages that finished before a limit stopped the child still count:

    {"stage": "loaded", "params": n, "layer_types": [...], "recurrent": [[type, units, seqs], ...],
     "fingerprint": "sha256 of the architecture and compile config"}
    {"stage": "grader", "value": v, "baseline": b, "history": {"loss": [...]}, "epochs": e, "examples": n}
    {"stage": "own", "value": v, "baseline": b}          # the student's saved weights, for the flag
    {"stage": "problem", "where": "load" | "grader" | "own", "problem": "one line for the student"}

No student code runs here: the model file is a private copy, loaded with Keras safe mode (no
Lambda layers, no custom objects). The child applies its own limits first (address space and
CPU seconds from the job, before TensorFlow is imported), seeds Python, NumPy and TensorFlow
with the course seed and turns on op determinism with a fixed number of threads, so the same
job gives the same numbers in any batch. Everything it feeds the model comes from the job,
which the grader builds from its own split and the course's recipe (docs/topic-contract.md).

Job keys: model (path), task (binary_text | char_lm | forecast), seed, threads, memory_mb,
cpu_s, train (null to skip training: {"epochs", "batch_size", "max_examples"}), measure_own,
and data:
- binary_text: train_texts, train_labels, heldout_texts, heldout_labels;
- char_lm: vocabulary ([UNK] first), train_text, heldout_text, sequence_length, shuffle_buffer,
  baseline_text (characters whose unigram frequencies give the baseline);
- forecast: train_series (°C), heldout_series (°C), mean, std, input_width.
"""
from __future__ import annotations

import hashlib
import json
import math
import os
import resource
import sys
import time
from collections.abc import Callable
from typing import Any

RECURRENT = ("SimpleRNN", "LSTM", "GRU")
STATEFUL_COPIED = ("StringLookup", "IntegerLookup", "Normalization", "Discretization")
Record = dict[str, Any]


def apply_limits(memory_mb: int, cpu_s: int) -> None:
    """Address space and CPU seconds (all threads) of this process; past cpu_s the kernel sends SIGXCPU."""
    memory = int(memory_mb) * 1024 * 1024
    resource.setrlimit(resource.RLIMIT_AS, (memory, memory))
    resource.setrlimit(resource.RLIMIT_CPU, (int(cpu_s), int(cpu_s) + 5))
    resource.setrlimit(resource.RLIMIT_CORE, (0, 0))


def _keras(seed: int, threads: int):
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    os.environ.setdefault("TF_ENABLE_ONEDNN_OPTS", "0")
    import logging

    import keras
    import tensorflow as tf

    tf.get_logger().setLevel(logging.ERROR)
    tf.config.threading.set_intra_op_parallelism_threads(threads)
    tf.config.threading.set_inter_op_parallelism_threads(threads)
    tf.config.experimental.enable_op_determinism()
    keras.utils.set_random_seed(seed)
    return keras, tf


def walk(layer) -> list:
    """The layer and every layer nested in it (models, Bidirectional, wrappers), depth first."""
    found = [layer]
    for attr in ("forward_layer", "backward_layer", "layer"):
        inner = getattr(layer, attr, None)
        if inner is not None and inner is not layer and hasattr(inner, "get_config"):
            found += walk(inner)
    for inner in getattr(layer, "layers", []) or []:
        found += walk(inner)
    return found


def architecture(model) -> tuple[list[str], list[list]]:
    """Layer type names (nested included) and (type, units, return_sequences) of each recurrent layer,
    a Bidirectional pair counted once."""
    names = [type(layer).__name__ for top in model.layers for layer in walk(top)]
    recurrent = []
    for top in model.layers:
        for layer in walk(top):
            if type(layer).__name__ in RECURRENT and getattr(layer, "forward_layer", None) is None:
                recurrent.append([type(layer).__name__, int(layer.units), bool(layer.return_sequences)])
                if type(top).__name__ == "Bidirectional":
                    break
    return names, recurrent


def fingerprint(model) -> str | None:
    """sha256 of what the grader's training depends on in the model: architecture (initialisers and
    layer names included) and compile config. None when the model carries state the grader copies
    from the student's file (lookup vocabularies, normalisation statistics): then it never matches."""
    names, _ = architecture(model)
    if any(n in STATEFUL_COPIED for n in names):
        return None
    blob = json.dumps({"model": model.get_config(), "compile": model.get_compile_config()},
                      sort_keys=True, default=str)
    return hashlib.sha256(blob.encode()).hexdigest()


# --- feeding: what the grader gives the model --------------------------------------------------

def _texts(tf, texts: list[str]):
    import numpy as np

    return np.array(texts, dtype=object)


def _char_ids(text: str, vocabulary: list[str]):
    import numpy as np

    index = {ch: i for i, ch in enumerate(vocabulary)}
    return np.fromiter((index.get(ch, 0) for ch in text), dtype=np.int64, count=len(text))


def _windows(series, mean: float, std: float, width: int):
    """Standardised inputs (n, width, 1) and the °C value that follows each window (n,)."""
    import numpy as np

    z = (np.asarray(series, dtype=np.float64) - mean) / std
    starts = np.arange(len(z) - width)
    inputs = np.stack([z[s: s + width] for s in starts])[..., None]
    return inputs, np.asarray(series, dtype=np.float64)[starts + width], starts


def measure(model, tf, task: str, data: dict) -> tuple[float, float]:
    """(metric on the held-out data, the trivial baseline's metric on the same data)."""
    import numpy as np

    if task == "binary_text":
        labels = np.asarray(data["heldout_labels"])
        logits = np.asarray(model.predict(tf.constant(data["heldout_texts"]), batch_size=256, verbose=0)).reshape(-1)
        if logits.shape[0] != labels.shape[0]:
            raise ValueError(f"the model returned {logits.shape[0]} predictions for {labels.shape[0]} texts")
        majority = max(labels.mean(), 1 - labels.mean())
        return float(np.mean((logits > 0).astype(int) == labels)), float(majority)
    if task == "char_lm":
        vocabulary, n_seq = data["vocabulary"], int(data["sequence_length"])
        ids = _char_ids(data["heldout_text"], vocabulary)
        n = (len(ids) - 1) // n_seq
        x = ids[: n * n_seq].reshape(n, n_seq)
        y = ids[1: n * n_seq + 1].reshape(n, n_seq)
        logits = model.predict(x, batch_size=64, verbose=0)
        if logits.shape[:2] != x.shape or logits.shape[-1] < len(vocabulary):
            raise ValueError(f"the model returned logits of shape {logits.shape} for ids of shape {x.shape} "
                             f"and {len(vocabulary)} ids")
        loss = tf.keras.losses.sparse_categorical_crossentropy(y, logits, from_logits=True)
        counts = np.ones(len(vocabulary))
        np.add.at(counts, _char_ids(data["baseline_text"], vocabulary), 1)
        probs = counts / counts.sum()
        return float(np.mean(loss)), float(-np.mean(np.log(probs[y.reshape(-1)])))
    if task == "forecast":
        series = np.asarray(data["heldout_series"], dtype=np.float64)
        mean, std, width = float(data["mean"]), float(data["std"]), int(data["input_width"])
        inputs, truth, starts = _windows(series, mean, std, width)
        pred = np.asarray(model.predict(inputs, batch_size=256, verbose=0)).reshape(len(starts), -1)[:, -1]
        mae = float(np.mean(np.abs(pred * std + mean - truth)))
        return mae, float(np.mean(np.abs(series[starts + width - 1] - truth)))
    raise ValueError(f"unknown task {task}")


def check_inputs(model, task: str, data: dict) -> str:
    """Why the grader cannot feed this model what the exercise feeds it ("" when it can)."""
    shape = tuple(model.inputs[0].shape) if getattr(model, "inputs", None) else ()
    if task == "forecast" and len(shape) == 3 and shape[1] not in (None, int(data["input_width"])):
        return (f"the model takes windows of {shape[1]} hours; the exercise (and the grader) feeds "
                f"{int(data['input_width'])}")
    return ""


def training_data(tf, task: str, data: dict, *, batch_size: int, max_examples: int | None, seed: int):
    """(x, y) arrays or a tf.data.Dataset of the grader's training split, the way the notebook builds it."""
    import numpy as np

    if task == "binary_text":
        x, y = _texts(tf, data["train_texts"]), np.asarray(data["train_labels"], dtype=np.int64)
        if max_examples:
            x, y = x[:max_examples], y[:max_examples]
        return (x, y), len(y)
    if task == "char_lm":
        n_seq = int(data["sequence_length"])
        ids = _char_ids(data["train_text"], data["vocabulary"])
        n = len(ids) // (n_seq + 1)
        if max_examples:
            n = min(n, max_examples)
        chunks = ids[: n * (n_seq + 1)].reshape(n, n_seq + 1)
        ds = tf.data.Dataset.from_tensor_slices(chunks).map(lambda c: (c[:-1], c[1:]))
        ds = ds.shuffle(int(data["shuffle_buffer"]), seed=seed).batch(batch_size, drop_remainder=True)
        return ds.prefetch(tf.data.AUTOTUNE), n
    if task == "forecast":
        series = np.asarray(data["train_series"], dtype=np.float64)
        inputs, truth, _ = _windows(series, float(data["mean"]), float(data["std"]), int(data["input_width"]))
        targets = ((truth - float(data["mean"])) / float(data["std"]))[:, None]
        if max_examples:
            inputs, targets = inputs[:max_examples], targets[:max_examples]
        return (inputs, targets), len(targets)
    raise ValueError(f"unknown task {task}")


def fresh_copy(keras, model, seed: int, data: dict, task: str):
    """The same architecture with new weights drawn from the course seed, compiled with a fresh
    optimiser of the student's configuration and the student's loss (no metrics: they cost time).

    Lookup state is rebuilt, never trusted: a TextVectorization is adapted again on the grader's
    training texts (as the notebooks adapt it on theirs); other lookup and normalisation layers keep
    the state saved with the model (a model's own preprocessing, part of its architecture)."""
    if getattr(model, "optimizer", None) is None or getattr(model, "loss", None) is None:
        raise ValueError("the saved model was never compiled: the grader trains it with the optimiser "
                         "and loss it was compiled with")
    keras.utils.set_random_seed(seed)
    clone = keras.models.clone_model(model)
    originals = [layer for top in model.layers for layer in walk(top)]
    copies = [layer for top in clone.layers for layer in walk(top)]
    for old, new in zip(originals, copies):
        kind = type(new).__name__
        if kind == "TextVectorization":
            if task != "binary_text":
                raise ValueError("a TextVectorization layer needs training texts, and this exercise has none")
            new.adapt(_texts(None, data["train_texts"]), batch_size=1024)
        elif kind in STATEFUL_COPIED and old.get_weights():
            if hasattr(old, "get_vocabulary"):
                new.set_vocabulary(old.get_vocabulary(include_special_tokens=False))
            else:
                new.set_weights(old.get_weights())
    optimizer = keras.optimizers.deserialize(keras.optimizers.serialize(model.optimizer))
    clone.compile(optimizer=optimizer, loss=model.loss)
    return clone


def _problem(where: str, exc: BaseException) -> Record:
    if isinstance(exc, MemoryError):
        text = "ran out of memory (the grader's memory limit for models)"
    elif isinstance(exc, ValueError) and str(exc) and not str(exc).startswith(("Exception encountered",)):
        text = str(exc)[:300]
    else:
        text = f"{type(exc).__name__}: {str(exc)[:200]}"
    return {"stage": "problem", "where": where, "problem": text}


def run(job: dict, emit: Callable[[Record], None]) -> None:
    """Load, (train a fresh copy,) measure. Each finished stage is emitted at once."""
    keras, tf = _keras(int(job["seed"]), int(job.get("threads", 1)))
    task, data = job["task"], job["data"]
    try:
        model = keras.models.load_model(job["model"], safe_mode=True, compile=True)
    except Exception as exc:  # noqa: BLE001 - any loading failure is the student's file's
        emit({"stage": "problem", "where": "load", "problem": f"the saved model could not be loaded safely "
                                                             f"({type(exc).__name__}: {str(exc)[:160]})"})
        return
    names, recurrent = architecture(model)
    emit({"stage": "loaded", "params": int(model.count_params()), "layer_types": names, "recurrent": recurrent,
          "fingerprint": fingerprint(model)})
    problem = check_inputs(model, task, data)
    if problem:
        emit({"stage": "problem", "where": "load", "problem": problem})
        return
    train = job.get("train")
    if train and job.get("max_params") and model.count_params() > float(job["max_params"]):
        train = None                       # over the parameter budget: scored 0 without training
    if train:
        try:
            started = time.process_time()
            clone = fresh_copy(keras, model, int(job["seed"]), data, task)
            fed, examples = training_data(tf, task, data, batch_size=int(train["batch_size"]),
                                          max_examples=train.get("max_examples"), seed=int(job["seed"]))
            keras.utils.set_random_seed(int(job["seed"]))
            if isinstance(fed, tuple):
                history = clone.fit(fed[0], fed[1], epochs=int(train["epochs"]), batch_size=int(train["batch_size"]),
                                    shuffle=True, verbose=0)
            else:
                history = clone.fit(fed, epochs=int(train["epochs"]), verbose=0)
            value, baseline = measure(clone, tf, task, data)
            emit({"stage": "grader", "value": value, "baseline": baseline, "epochs": int(train["epochs"]),
                  "batch_size": int(train["batch_size"]), "examples": int(examples),
                  "history": {k: [float(v) for v in vs] for k, vs in history.history.items()},
                  "cpu_s": round(time.process_time() - started, 2)})
        except Exception as exc:  # noqa: BLE001 - reported to the student, one line
            emit(_problem("grader", exc))
            return
    if job.get("measure_own"):
        try:
            value, baseline = measure(model, tf, task, data)
            emit({"stage": "own", "value": value, "baseline": baseline})
        except Exception as exc:  # noqa: BLE001
            emit(_problem("own", exc))


def _finite(record: Record) -> Record:
    """NaN and infinities are not JSON: a non-finite metric becomes a problem of its stage."""
    value = record.get("value")
    if isinstance(value, float) and not math.isfinite(value):
        return {"stage": "problem", "where": record["stage"], "problem": "the model's predictions are not finite"}
    return record


def main() -> int:
    job = json.loads(sys.stdin.read())
    apply_limits(int(job["memory_mb"]), int(job["cpu_s"]))
    out = sys.stdout

    def emit(record: Record) -> None:
        out.write(json.dumps(_finite(record)) + "\n")
        out.flush()

    try:
        run(job, emit)
    except MemoryError:
        emit({"stage": "problem", "where": "job", "problem": "ran out of memory (the grader's memory limit "
                                                             "for models)"})
        return 3
    return 0


if __name__ == "__main__":
    sys.exit(main())
