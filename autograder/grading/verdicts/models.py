"""Grade a trained model by what it does on data the student never saw.

The notebook saves `models/<name>.keras` and `models/<name>.json` (docs/topic-contract.md).
The grader loads the model here, in its own process, with Keras safe mode (no Lambda layers,
no custom code: no student code runs), measures the metric on the held-out split, and checks
the architecture and the training budget. Metrics:
- accuracy (binary_text): share of held-out texts whose logit has the right sign; higher is better;
- loss (char_lm): mean per-character cross-entropy in nats on held-out plays; lower is better;
- mae (forecast): mean absolute error in °C of next-hour forecasts on the held-out future; lower is better.
"""
from __future__ import annotations

import json
import logging
import math
import os
import threading
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Mapping

import numpy as np

from autograder.config import Threshold
from autograder.results import TestResult

RECURRENT = ("SimpleRNN", "LSTM", "GRU")
LM_SEQUENCE = 100
LM_MAX_CHARS = 60_000
from autograder.results import HIGHER_IS_BETTER  # noqa: E402  (re-exported: the metrics the grader scores)


@dataclass(frozen=True)
class ModelSpec:
    """What the instructor requires of one saved model (from MODELS in solutions/<topic>.py)."""

    name: str
    task: str                                  # binary_text | char_lm | forecast
    metric: str                                # accuracy | loss | mae
    layers: tuple[str, ...] = ()
    recurrent: tuple[Mapping[str, Any], ...] = ()
    params: tuple[int, int] = (0, 10**9)
    reported_tolerance: float = 0.1

    @classmethod
    def from_mapping(cls, name: str, raw: Mapping[str, Any]) -> "ModelSpec":
        return cls(name=name, task=raw["task"], metric=raw["metric"], layers=tuple(raw.get("layers", ())),
                   recurrent=tuple(raw.get("recurrent", ())), params=tuple(raw.get("params", (0, 10**9))),
                   reported_tolerance=float(raw.get("reported_tolerance", 0.1)))


@dataclass(frozen=True)
class Measurement:
    """What the grader measured about one saved model."""

    name: str
    problem: str = ""                 # why the model could not be measured ("" if it could)
    value: float | None = None        # the metric on held-out data
    baseline: float | None = None     # a trivial predictor's metric on the same data
    reported: float | None = None     # what the notebook reported
    epochs: int | None = None
    params: int | None = None
    layer_types: tuple[str, ...] = ()
    recurrent: tuple[tuple[str, int, bool], ...] = ()
    history: Mapping[str, tuple[float, ...]] = field(default_factory=dict)


def _import_keras():
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    os.environ.setdefault("TF_ENABLE_ONEDNN_OPTS", "0")
    import keras
    import tensorflow as tf

    tf.get_logger().setLevel(logging.ERROR)     # retracing notices are not the grader's output
    return keras, tf


def _walk(layer) -> list:
    """The layer and every layer nested in it (models, Bidirectional, wrappers)."""
    found = [layer]
    for attr in ("forward_layer", "backward_layer", "layer"):
        inner = getattr(layer, attr, None)
        if inner is not None and inner is not layer and hasattr(inner, "get_config"):
            found += _walk(inner)
    for inner in getattr(layer, "layers", []) or []:
        found += _walk(inner)
    return found


def _architecture(model) -> tuple[tuple[str, ...], tuple[tuple[str, int, bool], ...]]:
    layers = [l for top in model.layers for l in _walk(top)]
    names = tuple(type(l).__name__ for l in layers)
    recurrent = []
    for top in model.layers:
        for l in _walk(top):
            if type(l).__name__ in RECURRENT and getattr(l, "forward_layer", None) is None:
                recurrent.append((type(l).__name__, int(l.units), bool(l.return_sequences)))
                if type(top).__name__ == "Bidirectional":
                    break          # count a bidirectional pair once
    return names, tuple(recurrent)


def _binary_accuracy(model, tf, heldout) -> tuple[float, float]:
    texts = tf.constant([t for t, _ in heldout])
    labels = np.array([y for _, y in heldout])
    logits = np.asarray(model.predict(texts, batch_size=256, verbose=0)).reshape(-1)
    if logits.shape[0] != labels.shape[0]:
        raise ValueError(f"the model returned {logits.shape[0]} predictions for {labels.shape[0]} texts")
    majority = max(labels.mean(), 1 - labels.mean())
    return float(np.mean((logits > 0).astype(int) == labels)), float(majority)


def _char_loss(model, tf, text: str, vocabulary: list[str], train_text: str) -> tuple[float, float]:
    index = {ch: i for i, ch in enumerate(vocabulary)}
    ids = np.array([index.get(ch, 0) for ch in text[:LM_MAX_CHARS]], dtype=np.int64)
    n = (len(ids) - 1) // LM_SEQUENCE
    x = ids[: n * LM_SEQUENCE].reshape(n, LM_SEQUENCE)
    y = ids[1: n * LM_SEQUENCE + 1].reshape(n, LM_SEQUENCE)
    logits = model.predict(x, batch_size=64, verbose=0)
    if logits.shape[:2] != x.shape or logits.shape[-1] < len(vocabulary):
        raise ValueError(f"the model returned logits of shape {logits.shape} for ids of shape {x.shape}")
    loss = tf.keras.losses.sparse_categorical_crossentropy(y, logits, from_logits=True)
    # unigram baseline: character frequencies of the training text, add-one smoothed
    counts = np.ones(len(vocabulary))
    for ch, c in zip(*np.unique(np.array(list(train_text[:500_000])), return_counts=True)):
        counts[index.get(ch, 0)] += c
    probs = counts / counts.sum()
    unigram = float(-np.mean(np.log(probs[y.reshape(-1)])))
    return float(np.mean(loss)), unigram


def _forecast_mae(model, series: np.ndarray, mean: float, std: float, width: int) -> tuple[float, float]:
    z = (series - mean) / std
    starts = np.arange(len(z) - width)
    inputs = np.stack([z[s: s + width] for s in starts])[..., None]
    truth = series[starts + width]
    pred = np.asarray(model.predict(inputs, batch_size=256, verbose=0)).reshape(len(starts), -1)[:, -1]
    mae = float(np.mean(np.abs(pred * std + mean - truth)))
    baseline = float(np.mean(np.abs(series[starts + width - 1] - truth)))
    return mae, baseline


_KERAS_LOCK = threading.Lock()


def measure(workdir: Path, spec: ModelSpec, split) -> Measurement:
    """Load models/<name>.keras from a graded workspace and measure it on the held-out split.

    Serialised by a lock: Keras's global state (sessions, name scopes) is not thread-safe."""
    with _KERAS_LOCK:
        return _measure(workdir, spec, split)


def _measure(workdir: Path, spec: ModelSpec, split) -> Measurement:
    model_path = workdir / "models" / f"{spec.name}.keras"
    meta_path = workdir / "models" / f"{spec.name}.json"
    if not model_path.is_file():
        return Measurement(spec.name, problem=f"no saved model: models/{spec.name}.keras was not written")
    try:
        meta = json.loads(meta_path.read_text()) if meta_path.is_file() else {}
        if not isinstance(meta, dict):
            raise ValueError("the side file is not a JSON object")
    except (ValueError, OSError) as exc:
        return Measurement(spec.name, problem=f"models/{spec.name}.json is unreadable ({exc})")
    keras, tf = _import_keras()
    keras.backend.clear_session()
    try:
        model = keras.models.load_model(model_path, safe_mode=True, compile=False)
    except Exception as exc:
        return Measurement(spec.name, problem=f"the saved model could not be loaded safely ({type(exc).__name__}: "
                                              f"{str(exc)[:120]})")
    names, recurrent = _architecture(model)
    reported = meta.get("reported", {}).get(spec.metric) if isinstance(meta.get("reported"), dict) else None
    history = {k: tuple(float(x) for x in v) for k, v in (meta.get("history") or {}).items()
               if isinstance(v, list)}
    common = dict(reported=float(reported) if isinstance(reported, (int, float)) else None,
                  epochs=len(history.get("loss", ())) or None, params=int(model.count_params()),
                  layer_types=names, recurrent=recurrent, history=history)
    try:
        if spec.task == "binary_text":
            value, baseline = _binary_accuracy(model, tf, split.heldout)
        elif spec.task == "char_lm":
            vocabulary = meta.get("vocabulary")
            if not isinstance(vocabulary, list) or not vocabulary:
                return Measurement(spec.name, problem="the side file has no 'vocabulary'", **common)
            value, baseline = _char_loss(model, tf, split.heldout, [str(v) for v in vocabulary], split.train)
        elif spec.task == "forecast":
            mean, std, width = float(meta["mean"]), float(meta["std"]), int(meta["input_width"])
            value, baseline = _forecast_mae(model, np.asarray(split.heldout), mean, std, width)
        else:
            raise ValueError(f"unknown task {spec.task}")
    except (KeyError, TypeError) as exc:
        return Measurement(spec.name, problem=f"the side file lacks {exc}", **common)
    except Exception as exc:
        return Measurement(spec.name, problem=f"the model failed on held-out data ({type(exc).__name__}: "
                                              f"{str(exc)[:120]})", **common)
    if not math.isfinite(value):
        return Measurement(spec.name, problem="the model's predictions are not finite", **common)
    return Measurement(spec.name, value=value, baseline=baseline, **common)


def curve(value: float, threshold: Threshold) -> float:
    """Share of the points: 0 at `min`, 1 at `target`, linear between (either direction)."""
    return float(min(1.0, max(0.0, (value - threshold.min) / (threshold.target - threshold.min))))


def metric_verdict(test: str, points: float, spec: ModelSpec, m: Measurement, *,
                   threshold: Threshold | None, budget: Mapping[str, float]) -> TestResult:
    def result(earned: float, reason: str) -> TestResult:
        status = "passed" if earned >= points else ("partial" if earned > 0 else "failed")
        if m.problem:
            status = "error"
        return TestResult(test=test, points=round(earned, 4), max_points=points, status=status,
                          reason=reason, hidden=True, kind="model")

    unit = {"accuracy": "", "loss": " nats/char", "mae": " °C"}[spec.metric]
    if m.problem:
        return result(0.0, m.problem)
    assert m.value is not None
    measured = f"held-out {spec.metric} {m.value:.4f}{unit}"
    if threshold is None:
        return result(0.0, f"{measured}; no threshold '{spec.name}.{spec.metric}' in grader_config.py")
    max_epochs = budget.get("max_epochs")
    if max_epochs is not None and m.epochs is not None and m.epochs > max_epochs:
        return result(0.0, f"{measured}, but it trained {m.epochs} epochs; the budget is {max_epochs:g}")
    max_params = budget.get("max_params")
    if max_params is not None and m.params is not None and m.params > max_params:
        return result(0.0, f"{measured}, but it has {m.params:,} parameters; the budget is {max_params:,.0f}")
    if spec.task == "forecast" and m.baseline is not None and m.value >= m.baseline:
        return result(0.0, f"{measured} does not beat the last-value baseline ({m.baseline:.4f}{unit})")
    share = curve(m.value, threshold)
    reason = (f"{measured} (0 points at {threshold.min:g}, full at {threshold.target:g}; "
              f"trivial baseline {m.baseline:.4f}{unit})")
    flag = reported_flag(spec, m)
    return result(points * share, reason + (f"; {flag}" if flag else ""))


def reported_flag(spec: ModelSpec, m: Measurement) -> str:
    """A note when the notebook's reported metric disagrees with the measured one."""
    if m.reported is None or m.value is None:
        return ""
    if abs(m.reported - m.value) > spec.reported_tolerance:
        return (f"FLAG: the notebook reported {spec.metric} {m.reported:.4f}, but the grader measured "
                f"{m.value:.4f} (tolerance {spec.reported_tolerance:g})")
    return ""


def architecture_verdict(test: str, points: float, spec: ModelSpec, m: Measurement) -> TestResult:
    def result(ok: bool, reason: str) -> TestResult:
        status = "error" if m.problem else ("passed" if ok else "failed")
        return TestResult(test=test, points=points if ok else 0.0, max_points=points, status=status,
                          reason=reason, hidden=True, kind="model")

    if m.problem and not m.layer_types:
        return result(False, m.problem)
    missing = [name for name in spec.layers if name not in m.layer_types]
    if missing:
        return result(False, f"the model has no {', '.join(missing)} layer")
    for want, got in zip(spec.recurrent, m.recurrent):
        kind, units, seqs = got
        if want.get("type", kind) != kind or int(want.get("units", units)) != units \
                or bool(want.get("return_sequences", seqs)) != seqs:
            return result(False, f"recurrent layer {kind}({units}, return_sequences={seqs}) does not match "
                                 f"the exercise ({want})")
    if len(m.recurrent) < len(spec.recurrent):
        return result(False, f"the model has {len(m.recurrent)} recurrent layers; the exercise asks for "
                             f"{len(spec.recurrent)}")
    lo, hi = spec.params
    if m.params is not None and not lo <= m.params <= hi:
        return result(False, f"the model has {m.params:,} parameters; the exercise expects {lo:,} to {hi:,}")
    return result(True, f"architecture as asked ({m.params:,} parameters)")
