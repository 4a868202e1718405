"""Tests for solutions/rnn_basics.py and the test cells of week3_rnn/01_rnn_basics.ipynb.

- the references agree with Keras (SimpleRNN, LSTM, GRU) and with finite differences (the
  gradient norms and the backward passes);
- every input generator feeds its reference with inputs of varying sizes;
- planted wrong solutions (mutants) are caught by the grader-side comparison and by the
  notebook's hidden and visible test cells.
"""

from __future__ import annotations

import os
import sys
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType
from typing import Callable

import nbformat
import numpy as np
import pytest

ROOT = Path(__file__).resolve().parents[1]
NOTEBOOK = ROOT / "source" / "week3_rnn" / "01_rnn_basics.ipynb"
sys.path.insert(0, str(ROOT))

from solutions import rnn_basics as ref  # noqa: E402

Array = np.ndarray

SEEDS = range(10)


def _keras() -> ModuleType:
    """Import Keras (TensorFlow backend) quietly."""
    os.environ["TF_CPP_MIN_LOG_LEVEL"] = "2"
    os.environ["TF_ENABLE_ONEDNN_OPTS"] = "0"
    import keras

    return keras


def _float32_exact(kwargs: dict[str, Array]) -> dict[str, Array]:
    """Round every array to float32 precision (kept as float64) so Keras sees the same numbers."""
    return {name: value.astype(np.float32).astype(np.float64) for name, value in kwargs.items()}


def _as_tuple(outputs: Array | tuple[Array, ...]) -> tuple[Array, ...]:
    """Wrap a single output array in a tuple."""
    return outputs if isinstance(outputs, tuple) else (outputs,)


def _relative_error(actual: Array | tuple[Array, ...], expected: Array | tuple[Array, ...]) -> float:
    """||actual - expected|| / ||expected|| over all output arrays, flattened and concatenated."""
    a = np.concatenate([np.ravel(x) for x in _as_tuple(actual)])
    e = np.concatenate([np.ravel(x) for x in _as_tuple(expected)])
    return float(np.linalg.norm(a - e) / np.linalg.norm(e))


# --- agreement with Keras -------------------------------------------------------------------


@pytest.mark.parametrize("seed", range(3))
def test_rnn_forward_matches_keras_simple_rnn(seed: int) -> None:
    keras = _keras()
    kwargs = _float32_exact(ref.generate_rnn_forward(np.random.default_rng(seed)))
    _, T, n_x = kwargs["x"].shape
    n_h = kwargs["h0"].shape[1]
    layer = keras.layers.SimpleRNN(n_h, return_sequences=True, return_state=True)
    layer.build((None, T, n_x))
    layer.set_weights([kwargs["Wx"], kwargs["Wh"], kwargs["b"]])
    sequence, last = layer(kwargs["x"].astype(np.float32), initial_state=kwargs["h0"].astype(np.float32))

    h_all, h_last = ref.rnn_forward(**kwargs)
    np.testing.assert_allclose(h_all, np.asarray(sequence), atol=1e-5)
    np.testing.assert_allclose(h_last, np.asarray(last), atol=1e-5)


def _lstm_loop(x: Array, h0: Array, c0: Array, W: Array, U: Array,
               b: Array) -> tuple[Array, Array, Array]:
    """x (batch, T, n_x) -> h_all (batch, T, n_h), h_last (batch, n_h), c_last (batch, n_h)."""
    h, c, states = h0, c0, []
    for t in range(x.shape[1]):
        h, c = ref.lstm_cell_forward(x[:, t], h, c, W, U, b)
        states.append(h)
    return np.stack(states, axis=1), h, c


@pytest.mark.parametrize("T", [1, 7])
def test_lstm_cell_forward_matches_keras_lstm(T: int) -> None:
    keras = _keras()
    rng = np.random.default_rng(T)
    cell = ref.generate_lstm_cell_forward(rng)
    batch, n_x = cell["x_t"].shape
    n_h = cell["h_prev"].shape[1]
    kwargs = _float32_exact({"x": rng.normal(size=(batch, T, n_x)), "h0": cell["h_prev"], "c0": cell["c_prev"],
                             "W": cell["W"], "U": cell["U"], "b": cell["b"]})
    layer = keras.layers.LSTM(n_h, return_sequences=True, return_state=True)
    layer.build((None, T, n_x))
    layer.set_weights([kwargs["W"], kwargs["U"], kwargs["b"]])
    sequence, h_last, c_last = layer(kwargs["x"].astype(np.float32),
                                     initial_state=[kwargs["h0"].astype(np.float32), kwargs["c0"].astype(np.float32)])

    expected = (np.asarray(sequence), np.asarray(h_last), np.asarray(c_last))
    for actual, keras_value in zip(_lstm_loop(**kwargs), expected):
        np.testing.assert_allclose(actual, keras_value, atol=1e-5)


@pytest.mark.parametrize("T", [1, 6])
def test_gru_cell_forward_matches_keras_gru(T: int) -> None:
    """Keras 3's default GRU (reset_after=True, gate order [z, r, h], bias (2, 3 n_h)) is the reference's loop."""
    keras = _keras()
    rng = np.random.default_rng(20 + T)
    cell = ref.generate_gru_cell_forward(rng)
    batch, n_x = cell["x_t"].shape
    n_h = cell["h_prev"].shape[1]
    kwargs = _float32_exact({"x": rng.normal(size=(batch, T, n_x)), "h0": cell["h_prev"], "W": cell["W"],
                             "U": cell["U"], "b": cell["b"]})
    layer = keras.layers.GRU(n_h, return_sequences=True, return_state=True)
    layer.build((None, T, n_x))
    assert [w.shape for w in layer.get_weights()] == [(n_x, 3 * n_h), (n_h, 3 * n_h), (2, 3 * n_h)]
    layer.set_weights([kwargs["W"], kwargs["U"], kwargs["b"]])
    sequence, h_last = layer(kwargs["x"].astype(np.float32), initial_state=kwargs["h0"].astype(np.float32))

    h, states = kwargs["h0"], []
    for t in range(T):
        h = ref.gru_cell_forward(kwargs["x"][:, t], h, kwargs["W"], kwargs["U"], kwargs["b"])
        states.append(h)
    np.testing.assert_allclose(np.stack(states, axis=1), np.asarray(sequence), atol=1e-5)
    np.testing.assert_allclose(h, np.asarray(h_last), atol=1e-5)


# --- gradient norms ---------------------------------------------------------------------------


def test_rnn_gradient_norms_match_finite_differences() -> None:
    rng = np.random.default_rng(11)
    T, n_x, n_h = 6, 2, 3
    Wx, Wh, b = rng.normal(size=(n_x, n_h)), rng.normal(size=(n_h, n_h)) / 2, rng.normal(size=n_h) / 2
    x = rng.normal(size=(T, n_x))
    h_all, _ = ref.rnn_forward(x[None], rng.uniform(-1, 1, size=(1, n_h)), Wx, Wh, b)
    h = h_all[0]

    def final_state(h_t: Array, t: int) -> Array:
        """Run the recurrence from state h_t (n_h,) at step t to step T-1 -> (n_h,)."""
        for k in range(t + 1, T):
            h_t = np.tanh(x[k] @ Wx + h_t @ Wh + b)
        return h_t

    eps = 1e-6
    fd_norms = [
        np.linalg.norm([(final_state(h[t] + eps * e, t) - final_state(h[t] - eps * e, t)) / (2 * eps)
                        for e in np.eye(n_h)])
        for t in range(T)
    ]
    np.testing.assert_allclose(ref.rnn_gradient_norms(h, Wh), fd_norms, rtol=1e-5)


def _central_differences(loss: Callable[[], float], array: Array, eps: float = 1e-6) -> Array:
    """d loss() / d array by central differences; `array` is changed in place and restored."""
    grad = np.zeros(array.shape)
    for i in np.ndindex(array.shape):
        old = array[i]
        array[i] = old + eps
        plus = loss()
        array[i] = old - eps
        minus = loss()
        array[i] = old
        grad[i] = (plus - minus) / (2 * eps)
    return grad


@pytest.mark.parametrize("seed", range(3))
def test_rnn_cell_backward_matches_finite_differences(seed: int) -> None:
    rng = np.random.default_rng(seed)
    args = ref.generate_rnn_cell_forward(rng)
    dh_next = rng.normal(size=ref.rnn_cell_forward(**args).shape)
    h_next = ref.rnn_cell_forward(**args)
    grads = ref.rnn_cell_backward(dh_next, args["x_t"], args["h_prev"], h_next, args["Wx"], args["Wh"])
    for name, grad in zip(("x_t", "h_prev", "Wx", "Wh", "b"), grads):
        numeric = _central_differences(lambda: float(np.sum(ref.rnn_cell_forward(**args) * dh_next)), args[name])
        assert _relative_error(grad, numeric) < 1e-7, name


@pytest.mark.parametrize("seed", range(3))
def test_rnn_backward_matches_finite_differences(seed: int) -> None:
    rng = np.random.default_rng(seed)
    args = ref.generate_rnn_forward(rng)
    h_all, _ = ref.rnn_forward(**args)
    dh_all = rng.normal(size=h_all.shape)
    grads = ref.rnn_backward(dh_all, args["x"], args["h0"], h_all, args["Wx"], args["Wh"])
    for name, grad in zip(("x", "h0", "Wx", "Wh", "b"), grads):
        numeric = _central_differences(lambda: float(np.sum(ref.rnn_forward(**args)[0] * dh_all)), args[name])
        assert _relative_error(grad, numeric) < 1e-7, name


def test_generated_backward_inputs_come_from_a_forward_pass() -> None:
    """The grader's inputs for the backward passes are consistent: h_next / h_all are the forward states."""
    for seed in range(5):
        cell = ref.generate_rnn_cell_backward(np.random.default_rng(seed))
        assert np.all(np.abs(cell["h_next"]) < 1) and cell["dh_next"].shape == cell["h_next"].shape
        run = ref.generate_rnn_backward(np.random.default_rng(seed))
        assert run["h_all"].shape == run["dh_all"].shape == run["x"].shape[:2] + run["h0"].shape[1:]


@pytest.mark.parametrize("seed", SEEDS)
def test_lstm_cell_gradient_norms_match_product_formula(seed: int) -> None:
    f = ref.generate_lstm_cell_gradient_norms(np.random.default_rng(seed))["f"]
    expected = [np.linalg.norm(np.diag(np.prod(f[t + 1:], axis=0))) for t in range(len(f))]
    np.testing.assert_allclose(ref.lstm_cell_gradient_norms(f), expected, rtol=1e-12)


# --- input generators -------------------------------------------------------------------------


def test_generators_cover_every_reference() -> None:
    assert set(ref.INPUT_GENERATORS) == set(ref.REFERENCES)


@pytest.mark.parametrize("name", sorted(ref.REFERENCES))
def test_input_generator_feeds_reference(name: str) -> None:
    signatures = set()
    for seed in range(20):
        kwargs = ref.INPUT_GENERATORS[name](np.random.default_rng(seed))
        assert all(isinstance(v, Array) and v.dtype == np.float64 for v in kwargs.values())
        outputs = _as_tuple(ref.REFERENCES[name](**kwargs))
        assert all(np.all(np.isfinite(out)) for out in outputs)
        signatures.add(tuple(v.shape for v in kwargs.values()))
    assert len(signatures) > 5, "generated sizes should vary across seeds"


@pytest.mark.parametrize("seed", SEEDS)
def test_generated_states_and_gates_lie_in_open_unit_ranges(seed: int) -> None:
    h = ref.generate_rnn_gradient_norms(np.random.default_rng(seed))["h"]
    f = ref.generate_lstm_cell_gradient_norms(np.random.default_rng(seed))["f"]
    assert np.all(np.abs(h) < 1)
    assert np.all((f > 0) & (f < 1))


# --- planted wrong solutions (mutants) ----------------------------------------------------------


def _sigmoid(z: Array) -> Array:
    """Elementwise logistic function, same shape as z."""
    return 1.0 / (1.0 + np.exp(-z))


def cell_sigmoid_activation(x_t: Array, h_prev: Array, Wx: Array, Wh: Array, b: Array) -> Array:
    """Bug: sigmoid instead of tanh."""
    return _sigmoid(x_t @ Wx + h_prev @ Wh + b)


def cell_missing_bias(x_t: Array, h_prev: Array, Wx: Array, Wh: Array, b: Array) -> Array:
    """Bug: the bias is left out."""
    return np.tanh(x_t @ Wx + h_prev @ Wh)


def cell_transposed_Wh(x_t: Array, h_prev: Array, Wx: Array, Wh: Array, b: Array) -> Array:
    """Bug: h_prev @ Wh.T instead of h_prev @ Wh."""
    return np.tanh(x_t @ Wx + h_prev @ Wh.T + b)


def forward_state_not_carried(x: Array, h0: Array, Wx: Array, Wh: Array, b: Array) -> tuple[Array, Array]:
    """Bug: every step starts again from h0."""
    h_all = np.stack([ref.rnn_cell_forward(x[:, t], h0, Wx, Wh, b) for t in range(x.shape[1])], axis=1)
    return h_all, h_all[:, -1]


def forward_ignores_h0(x: Array, h0: Array, Wx: Array, Wh: Array, b: Array) -> tuple[Array, Array]:
    """Bug: the recurrence starts from zeros instead of h0."""
    return ref.rnn_forward(x, np.zeros_like(h0), Wx, Wh, b)


def forward_reversed_time(x: Array, h0: Array, Wx: Array, Wh: Array, b: Array) -> tuple[Array, Array]:
    """Bug: the sequence is processed from the last step to the first."""
    h_all, h_last = ref.rnn_forward(x[:, ::-1], h0, Wx, Wh, b)
    return h_all[:, ::-1], h_last


def forward_last_is_first(x: Array, h0: Array, Wx: Array, Wh: Array, b: Array) -> tuple[Array, Array]:
    """Bug: h_last is the state after the first step."""
    h_all, _ = ref.rnn_forward(x, h0, Wx, Wh, b)
    return h_all, h_all[:, 0]


def forward_stores_previous_state(x: Array, h0: Array, Wx: Array, Wh: Array, b: Array) -> tuple[Array, Array]:
    """Bug: h_all[:, t] holds the state before step t (off by one)."""
    h_all, h_last = ref.rnn_forward(x, h0, Wx, Wh, b)
    return np.concatenate([h0[:, None], h_all[:, :-1]], axis=1), h_last


def _backward_norms(n_h: int, factors: list[Array], *, append_left: bool = False,
                    ord: str | int = "fro") -> Array:
    """Norms of the running product of factors[T-1], ..., factors[1] (identity first), shape (T,)."""
    jacobian, norms = np.eye(n_h), [np.linalg.norm(np.eye(n_h), ord)]
    for factor in factors[:0:-1]:
        jacobian = factor @ jacobian if append_left else jacobian @ factor
        norms.append(np.linalg.norm(jacobian, ord))
    return np.array(norms[::-1])


def _tanh_factors(h: Array, Wh: Array) -> list[Array]:
    """factors[k] = diag(1 - h[k]**2) @ Wh.T, each (n_h, n_h)."""
    return [(1.0 - hk ** 2)[:, None] * Wh.T for hk in h]


def grad_transposed_Wh(h: Array, Wh: Array) -> Array:
    """Bug: factor diag(1 - h[k]**2) @ Wh instead of @ Wh.T."""
    return _backward_norms(len(Wh), [(1.0 - hk ** 2)[:, None] * Wh for hk in h])


def grad_derivative_one_minus_h(h: Array, Wh: Array) -> Array:
    """Bug: tanh derivative taken as 1 - h instead of 1 - h**2."""
    return _backward_norms(len(Wh), [(1.0 - hk)[:, None] * Wh.T for hk in h])


def grad_uses_previous_state(h: Array, Wh: Array) -> Array:
    """Bug: the factor for step k uses the tanh derivative at h[k-1] instead of h[k]."""
    return _backward_norms(len(Wh), _tanh_factors(np.roll(h, 1, axis=0), Wh))


def grad_range_includes_t(h: Array, Wh: Array) -> Array:
    """Bug: the product runs over k = t..T-1, so it also includes the factor for step t."""
    jacobian, norms = np.eye(len(Wh)), []
    for factor in _tanh_factors(h, Wh)[::-1]:
        jacobian = jacobian @ factor
        norms.append(np.linalg.norm(jacobian))
    return np.array(norms[::-1])


def grad_spectral_norm(h: Array, Wh: Array) -> Array:
    """Bug: spectral norm instead of Frobenius norm."""
    return _backward_norms(len(Wh), _tanh_factors(h, Wh), ord=2)


def grad_reversed_product_order(h: Array, Wh: Array) -> Array:
    """Bug: new factors are multiplied on the left of the running Jacobian."""
    return _backward_norms(len(Wh), _tanh_factors(h, Wh), append_left=True)


def _gates(x_t: Array, h_prev: Array, W: Array, U: Array, b: Array,
           order: str = "ifgo") -> tuple[Array, Array, Array, Array]:
    """(i, f, z_g, o): sigmoid gates and the candidate pre-activation, blocks read in `order`."""
    blocks = dict(zip(order, np.split(x_t @ W + h_prev @ U + b, 4, axis=1)))
    return _sigmoid(blocks["i"]), _sigmoid(blocks["f"]), blocks["g"], _sigmoid(blocks["o"])


def lstm_no_forget_gate(x_t: Array, h_prev: Array, c_prev: Array, W: Array, U: Array,
                        b: Array) -> tuple[Array, Array]:
    """Bug: c_next = c_prev + i * g (the forget gate is never applied)."""
    i, _, z_g, o = _gates(x_t, h_prev, W, U, b)
    c_next = c_prev + i * np.tanh(z_g)
    return o * np.tanh(c_next), c_next


def lstm_gate_order_igfo(x_t: Array, h_prev: Array, c_prev: Array, W: Array, U: Array,
                         b: Array) -> tuple[Array, Array]:
    """Bug: gate blocks read in the order [i, g, f, o] (TF1 LSTMCell) instead of [i, f, g, o]."""
    i, f, z_g, o = _gates(x_t, h_prev, W, U, b, order="igfo")
    c_next = f * c_prev + i * np.tanh(z_g)
    return o * np.tanh(c_next), c_next


def lstm_sigmoid_candidate(x_t: Array, h_prev: Array, c_prev: Array, W: Array, U: Array,
                           b: Array) -> tuple[Array, Array]:
    """Bug: sigmoid instead of tanh for the candidate g."""
    i, f, z_g, o = _gates(x_t, h_prev, W, U, b)
    c_next = f * c_prev + i * _sigmoid(z_g)
    return o * np.tanh(c_next), c_next


def lstm_h_without_tanh(x_t: Array, h_prev: Array, c_prev: Array, W: Array, U: Array,
                        b: Array) -> tuple[Array, Array]:
    """Bug: h_next = o * c_next (tanh missing)."""
    i, f, z_g, o = _gates(x_t, h_prev, W, U, b)
    c_next = f * c_prev + i * np.tanh(z_g)
    return o * c_next, c_next


def lstm_h_from_c_prev(x_t: Array, h_prev: Array, c_prev: Array, W: Array, U: Array,
                       b: Array) -> tuple[Array, Array]:
    """Bug: h_next = o * tanh(c_prev) (uses the old cell state)."""
    i, f, z_g, o = _gates(x_t, h_prev, W, U, b)
    return o * np.tanh(c_prev), f * c_prev + i * np.tanh(z_g)


def lstm_grad_range_includes_t(f: Array) -> Array:
    """Bug: product over k = t..T-1 (one factor too many)."""
    return np.array([np.linalg.norm(np.prod(f[t:], axis=0)) for t in range(len(f))])


def lstm_grad_range_shifted(f: Array) -> Array:
    """Bug: product over k = t..T-2 (range shifted by one)."""
    return np.array([np.linalg.norm(np.prod(f[t:-1], axis=0)) for t in range(len(f))])


def lstm_grad_forward_cumprod(f: Array) -> Array:
    """Bug: product over k = 0..t (cumulative product from the start)."""
    return np.linalg.norm(np.cumprod(f, axis=0), axis=1)


def lstm_grad_spectral_norm(f: Array) -> Array:
    """Bug: largest entry (spectral norm) instead of Frobenius norm."""
    return np.array([np.max(np.prod(f[t + 1:], axis=0)) for t in range(len(f))])


def cell_backward_derivative_of_h_prev(dh_next: Array, x_t: Array, h_prev: Array, h_next: Array, Wx: Array,
                                       Wh: Array) -> tuple[Array, ...]:
    """Bug: the tanh derivative is taken at h_prev instead of h_next."""
    return ref.rnn_cell_backward(dh_next * (1 - h_prev ** 2) / (1 - h_next ** 2), x_t, h_prev, h_next, Wx, Wh)


def cell_backward_untransposed_Wh(dh_next: Array, x_t: Array, h_prev: Array, h_next: Array, Wx: Array,
                                  Wh: Array) -> tuple[Array, ...]:
    """Bug: dh_prev = da @ Wh instead of da @ Wh.T."""
    dx_t, _, dWx, dWh, db = ref.rnn_cell_backward(dh_next, x_t, h_prev, h_next, Wx, Wh)
    return dx_t, (dh_next * (1 - h_next ** 2)) @ Wh, dWx, dWh, db


def cell_backward_dWh_from_h_next(dh_next: Array, x_t: Array, h_prev: Array, h_next: Array, Wx: Array,
                                  Wh: Array) -> tuple[Array, ...]:
    """Bug: dWh = h_next.T @ da instead of h_prev.T @ da."""
    dx_t, dh_prev, dWx, _, db = ref.rnn_cell_backward(dh_next, x_t, h_prev, h_next, Wx, Wh)
    return dx_t, dh_prev, dWx, h_next.T @ (dh_next * (1 - h_next ** 2)), db


def cell_backward_bias_mean(dh_next: Array, x_t: Array, h_prev: Array, h_next: Array, Wx: Array,
                            Wh: Array) -> tuple[Array, ...]:
    """Bug: the bias gradient is averaged over the batch instead of summed."""
    *rest, db = ref.rnn_cell_backward(dh_next, x_t, h_prev, h_next, Wx, Wh)
    return (*rest, db / len(x_t))


def _bptt(dh_all: Array, x: Array, h0: Array, h_all: Array, Wx: Array, Wh: Array, *, carry: bool = True,
          outputs_every_step: bool = True, state_shift: int = 1, accumulate: bool = True) -> tuple[Array, ...]:
    """rnn_backward with one of its four steps optionally done wrong."""
    T = x.shape[1]
    dx, carried = np.zeros(x.shape), np.zeros(h0.shape)
    sums = [np.zeros(Wx.shape), np.zeros(Wh.shape), np.zeros(Wh.shape[0])]
    for t in range(T - 1, -1, -1):
        h_prev = h_all[:, t - state_shift] if t - state_shift >= 0 else h0
        upstream = (dh_all[:, t] if outputs_every_step or t == T - 1 else 0) + (carried if carry else 0)
        dx[:, t], carried, *step = ref.rnn_cell_backward(upstream, x[:, t], h_prev, h_all[:, t], Wx, Wh)
        sums = [s + g for s, g in zip(sums, step)] if accumulate else step
    return (dx, carried, *sums)


def backward_gradient_not_carried(dh_all: Array, x: Array, h0: Array, h_all: Array, Wx: Array,
                                  Wh: Array) -> tuple[Array, ...]:
    """Bug: truncated, the gradient handed back by step t + 1 is dropped."""
    return _bptt(dh_all, x, h0, h_all, Wx, Wh, carry=False)


def backward_output_gradient_dropped(dh_all: Array, x: Array, h0: Array, h_all: Array, Wx: Array,
                                     Wh: Array) -> tuple[Array, ...]:
    """Bug: dh_all enters at the last step only."""
    return _bptt(dh_all, x, h0, h_all, Wx, Wh, outputs_every_step=False)


def backward_state_off_by_one(dh_all: Array, x: Array, h0: Array, h_all: Array, Wx: Array,
                              Wh: Array) -> tuple[Array, ...]:
    """Bug: the state before step t is taken as h_all[:, t]."""
    return _bptt(dh_all, x, h0, h_all, Wx, Wh, state_shift=0)


def backward_weights_overwritten(dh_all: Array, x: Array, h0: Array, h_all: Array, Wx: Array,
                                 Wh: Array) -> tuple[Array, ...]:
    """Bug: each step's weight gradients replace the running sums."""
    return _bptt(dh_all, x, h0, h_all, Wx, Wh, accumulate=False)


def _gru(x_t: Array, h_prev: Array, W: Array, U: Array, b: Array, *, order: str = "zrh",
         reset_after: bool = True, swap_update: bool = False, recurrent_bias: bool = True) -> Array:
    """One GRU step with one of its conventions optionally changed."""
    n_h = h_prev.shape[1]
    xs = dict(zip(order, np.split(x_t @ W + b[0], 3, axis=1)))
    us = dict(zip(order, np.split(h_prev @ U + (b[1] if recurrent_bias else 0), 3, axis=1)))
    z, r = _sigmoid(xs["z"] + us["z"]), _sigmoid(xs["r"] + us["r"])
    if reset_after:
        candidate = np.tanh(xs["h"] + r * us["h"])
    else:
        candidate = np.tanh(xs["h"] + (r * h_prev) @ U[:, 2 * n_h:] + b[1, 2 * n_h:])
    return (1 - z) * h_prev + z * candidate if swap_update else z * h_prev + (1 - z) * candidate


def gru_gate_order_rz(x_t: Array, h_prev: Array, W: Array, U: Array, b: Array) -> Array:
    """Bug: blocks read in the order [r, z, h] instead of [z, r, h]."""
    return _gru(x_t, h_prev, W, U, b, order="rzh")


def gru_reset_before(x_t: Array, h_prev: Array, W: Array, U: Array, b: Array) -> Array:
    """Bug: (r * h_prev) @ U_h, the reset_after=False formulation."""
    return _gru(x_t, h_prev, W, U, b, reset_after=False)


def gru_update_gate_swapped(x_t: Array, h_prev: Array, W: Array, U: Array, b: Array) -> Array:
    """Bug: (1 - z) * h_prev + z * candidate."""
    return _gru(x_t, h_prev, W, U, b, swap_update=True)


def gru_single_bias(x_t: Array, h_prev: Array, W: Array, U: Array, b: Array) -> Array:
    """Bug: the recurrent bias b[1] is left out."""
    return _gru(x_t, h_prev, W, U, b, recurrent_bias=False)


@dataclass(frozen=True)
class Mutant:
    """A planted wrong solution (impl) for the notebook function named `function`."""

    function: str
    impl: Callable

    @property
    def name(self) -> str:
        return self.impl.__name__


MUTANTS = [
    Mutant("rnn_cell_forward", cell_sigmoid_activation),
    Mutant("rnn_cell_forward", cell_missing_bias),
    Mutant("rnn_cell_forward", cell_transposed_Wh),
    Mutant("rnn_forward", forward_state_not_carried),
    Mutant("rnn_forward", forward_ignores_h0),
    Mutant("rnn_forward", forward_reversed_time),
    Mutant("rnn_forward", forward_last_is_first),
    Mutant("rnn_forward", forward_stores_previous_state),
    Mutant("rnn_gradient_norms", grad_transposed_Wh),
    Mutant("rnn_gradient_norms", grad_derivative_one_minus_h),
    Mutant("rnn_gradient_norms", grad_uses_previous_state),
    Mutant("rnn_gradient_norms", grad_range_includes_t),
    Mutant("rnn_gradient_norms", grad_spectral_norm),
    Mutant("rnn_gradient_norms", grad_reversed_product_order),
    Mutant("lstm_cell_forward", lstm_no_forget_gate),
    Mutant("lstm_cell_forward", lstm_gate_order_igfo),
    Mutant("lstm_cell_forward", lstm_sigmoid_candidate),
    Mutant("lstm_cell_forward", lstm_h_without_tanh),
    Mutant("lstm_cell_forward", lstm_h_from_c_prev),
    Mutant("lstm_cell_gradient_norms", lstm_grad_range_includes_t),
    Mutant("lstm_cell_gradient_norms", lstm_grad_range_shifted),
    Mutant("lstm_cell_gradient_norms", lstm_grad_forward_cumprod),
    Mutant("lstm_cell_gradient_norms", lstm_grad_spectral_norm),
    Mutant("rnn_cell_backward", cell_backward_derivative_of_h_prev),
    Mutant("rnn_cell_backward", cell_backward_untransposed_Wh),
    Mutant("rnn_cell_backward", cell_backward_dWh_from_h_next),
    Mutant("rnn_cell_backward", cell_backward_bias_mean),
    Mutant("rnn_backward", backward_gradient_not_carried),
    Mutant("rnn_backward", backward_output_gradient_dropped),
    Mutant("rnn_backward", backward_state_off_by_one),
    Mutant("rnn_backward", backward_weights_overwritten),
    Mutant("gru_cell_forward", gru_gate_order_rz),
    Mutant("gru_cell_forward", gru_reset_before),
    Mutant("gru_cell_forward", gru_update_gate_swapped),
    Mutant("gru_cell_forward", gru_single_bias),
]
MUTANT_PARAMS = [pytest.param(m, id=f"{m.function}-{m.name}") for m in MUTANTS]


def test_every_function_has_mutants() -> None:
    assert {m.function for m in MUTANTS} == set(ref.REFERENCES)


@pytest.mark.parametrize("mutant", MUTANT_PARAMS)
def test_grader_comparison_rejects_mutant(mutant: Mutant) -> None:
    """For each of 20 students, the grader's draw of inputs exposes the mutant in at least one case.

    (A single draw can be blind to some bugs, e.g. a reversed product when T = 2; the grader
    draws `reference.cases` inputs per student and needs all of them to match.)
    """
    from autograder.config import ReferencePolicy
    from autograder.grading.verdicts.probes import Reference, draw_inputs

    reference = Reference(functions=ref.REFERENCES, generators=ref.INPUT_GENERATORS)
    policy = ReferencePolicy()
    for student in (f"student{i}" for i in range(20)):
        cases = draw_inputs(reference, (mutant.function,), policy=policy, student=student)[mutant.function]
        worst = max(_relative_error(mutant.impl(**kw), ref.REFERENCES[mutant.function](**kw)) for kw in cases)
        assert worst > 1e-3, student


# --- the notebook's test cells, run against the references and the mutants -------------------


def _cell_sources() -> dict[str, str]:
    """Source of every notebook cell, keyed by cell id."""
    return {cell.id: cell.source for cell in nbformat.read(NOTEBOOK, as_version=4).cells}


HELPER_CELLS = ("gradient_check",)   # locked cells that define what the test cells call (numerical_gradient)


def _run_cell(source: str, overrides: dict[str, Callable] | None = None) -> None:
    """Execute a test cell with the notebook's helper cells and the reference functions (optionally
    replaced) in scope."""
    namespace = {"np": np, **ref.REFERENCES, **(overrides or {})}
    cells = _cell_sources()
    for helper in HELPER_CELLS:
        exec(compile(cells[helper], f"<notebook cell {helper}>", "exec"), namespace)
    exec(compile(source, "<notebook cell>", "exec"), namespace)


def _fails_an_assertion(source: str, overrides: dict[str, Callable]) -> bool:
    """Whether the cell fails an assertion with the given functions replaced."""
    try:
        _run_cell(source, overrides)
    except AssertionError:
        return True
    return False


@pytest.mark.parametrize("name", sorted(ref.REFERENCES))
@pytest.mark.parametrize("kind", ["visible", "hidden"])
def test_notebook_test_cells_pass_with_reference(name: str, kind: str) -> None:
    _run_cell(_cell_sources()[f"test_{name}_{kind}"])


@pytest.mark.parametrize("mutant", MUTANT_PARAMS)
def test_notebook_hidden_cell_catches_mutant(mutant: Mutant) -> None:
    source = _cell_sources()[f"test_{mutant.function}_hidden"]
    assert _fails_an_assertion(source, {mutant.function: mutant.impl})


@pytest.mark.parametrize("mutant", MUTANT_PARAMS)
def test_notebook_visible_cell_catches_mutant(mutant: Mutant) -> None:
    source = _cell_sources()[f"test_{mutant.function}_visible"]
    assert _fails_an_assertion(source, {mutant.function: mutant.impl})
