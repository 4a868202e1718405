"""Reference solutions for week 3, notebook 01 (RNN basics).

Conventions follow Keras: arrays are row-major, batch-first and float64, and a
recurrent layer computes ``inputs @ kernel + state @ recurrent_kernel + bias``.
Shapes use ``batch`` (sequences), ``T`` (time steps), ``n_x`` (input features)
and ``n_h`` (hidden units).
"""

from __future__ import annotations

from typing import Callable

import numpy as np

Kwargs = dict[str, np.ndarray]
InputGenerator = Callable[[np.random.Generator], Kwargs]


def rnn_cell_forward(
    x_t: np.ndarray, h_prev: np.ndarray, Wx: np.ndarray, Wh: np.ndarray, b: np.ndarray
) -> np.ndarray:
    """One tanh RNN step.

    x_t (batch, n_x), h_prev (batch, n_h), Wx (n_x, n_h), Wh (n_h, n_h), b (n_h,)
    -> h_next (batch, n_h) = tanh(x_t @ Wx + h_prev @ Wh + b).
    """
    return np.tanh(x_t @ Wx + h_prev @ Wh + b)


def rnn_forward(
    x: np.ndarray, h0: np.ndarray, Wx: np.ndarray, Wh: np.ndarray, b: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """Run the tanh RNN over a batch of sequences.

    x (batch, T, n_x), h0 (batch, n_h), weights as in ``rnn_cell_forward``
    -> h_all (batch, T, n_h), the state after every step (many-to-many), and
       h_last (batch, n_h), the state after the final step (many-to-one).
    """
    batch, T, _ = x.shape
    h_all = np.empty((batch, T, h0.shape[1]))
    h = h0
    for t in range(T):
        h = rnn_cell_forward(x[:, t], h, Wx, Wh, b)
        h_all[:, t] = h
    return h_all, h


def rnn_cell_backward(
    dh_next: np.ndarray,
    x_t: np.ndarray,
    h_prev: np.ndarray,
    h_next: np.ndarray,
    Wx: np.ndarray,
    Wh: np.ndarray,
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Backward pass of one tanh RNN step h_next = tanh(x_t @ Wx + h_prev @ Wh + b).

    dh_next (batch, n_h) is the gradient of the loss with respect to h_next; x_t (batch, n_x),
    h_prev and h_next (batch, n_h), Wx (n_x, n_h), Wh (n_h, n_h) are the step's inputs and output
    -> dx_t (batch, n_x), dh_prev (batch, n_h), dWx (n_x, n_h), dWh (n_h, n_h), db (n_h,).
    """
    da = dh_next * (1.0 - h_next ** 2)     # through tanh: tanh'(a) = 1 - tanh(a)**2
    return da @ Wx.T, da @ Wh.T, x_t.T @ da, h_prev.T @ da, da.sum(axis=0)


def rnn_backward(
    dh_all: np.ndarray,
    x: np.ndarray,
    h0: np.ndarray,
    h_all: np.ndarray,
    Wx: np.ndarray,
    Wh: np.ndarray,
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Backpropagation through time for ``rnn_forward``.

    dh_all (batch, T, n_h) is the gradient of the loss with respect to every state h_all[:, t]
    as the outputs see it; x (batch, T, n_x), h0 (batch, n_h), h_all (batch, T, n_h) from the
    forward pass, Wx, Wh as in ``rnn_cell_forward``
    -> dx (batch, T, n_x), dh0 (batch, n_h), dWx (n_x, n_h), dWh (n_h, n_h), db (n_h,).
    """
    T = x.shape[1]
    dx = np.zeros(x.shape)
    dWx, dWh, db = np.zeros(Wx.shape), np.zeros(Wh.shape), np.zeros(Wh.shape[0])
    dh_carry = np.zeros(h0.shape)          # gradient reaching h_all[:, t] from step t + 1
    for t in range(T - 1, -1, -1):
        h_prev = h_all[:, t - 1] if t > 0 else h0
        dx[:, t], dh_carry, dWx_t, dWh_t, db_t = rnn_cell_backward(
            dh_all[:, t] + dh_carry, x[:, t], h_prev, h_all[:, t], Wx, Wh)
        dWx, dWh, db = dWx + dWx_t, dWh + dWh_t, db + db_t
    return dx, dh_carry, dWx, dWh, db


def lstm_cell_forward(
    x_t: np.ndarray,
    h_prev: np.ndarray,
    c_prev: np.ndarray,
    W: np.ndarray,
    U: np.ndarray,
    b: np.ndarray,
) -> tuple[np.ndarray, np.ndarray]:
    """One LSTM step with Keras gate order [i, f, g, o].

    x_t (batch, n_x), h_prev (batch, n_h), c_prev (batch, n_h),
    W (n_x, 4 n_h), U (n_h, 4 n_h), b (4 n_h,)
    -> h_next (batch, n_h), c_next (batch, n_h).
    """
    z_i, z_f, z_g, z_o = np.split(x_t @ W + h_prev @ U + b, 4, axis=1)
    i, f, o = (1.0 / (1.0 + np.exp(-z)) for z in (z_i, z_f, z_o))
    c_next = f * c_prev + i * np.tanh(z_g)
    h_next = o * np.tanh(c_next)
    return h_next, c_next


def rnn_gradient_norms(h: np.ndarray, Wh: np.ndarray) -> np.ndarray:
    """Frobenius norms of d h[T-1] / d h[t] for one sequence of a tanh RNN.

    h (T, n_h) hidden states, Wh (n_h, n_h) -> norms (T,); norms[T-1] = sqrt(n_h).
    """
    T, n_h = h.shape
    norms = np.empty(T)
    jacobian = np.eye(n_h)
    norms[T - 1] = np.linalg.norm(jacobian)
    for t in range(T - 2, -1, -1):
        # chain rule: d h[T-1]/d h[t] = d h[T-1]/d h[t+1] @ diag(1 - h[t+1]**2) @ Wh.T
        jacobian = jacobian @ ((1.0 - h[t + 1] ** 2)[:, None] * Wh.T)
        norms[t] = np.linalg.norm(jacobian)
    return norms


def lstm_cell_gradient_norms(f: np.ndarray) -> np.ndarray:
    """Frobenius norms of d c[T-1] / d c[t] along the direct LSTM cell path.

    f (T, n_h) forget-gate activations -> norms (T,) with
    norms[t] = || prod_{k=t+1}^{T-1} f[k] ||_2; norms[T-1] = sqrt(n_h).
    """
    tail = np.ones_like(f)
    tail[:-1] = np.cumprod(f[:0:-1], axis=0)[::-1]
    return np.linalg.norm(tail, axis=1)


def _sigmoid(z: np.ndarray) -> np.ndarray:
    """Elementwise logistic function, same shape as z."""
    return 1.0 / (1.0 + np.exp(-z))


def gru_cell_forward(
    x_t: np.ndarray, h_prev: np.ndarray, W: np.ndarray, U: np.ndarray, b: np.ndarray
) -> np.ndarray:
    """One GRU step as Keras 3 computes it (``reset_after=True``), gate order [z, r, h].

    x_t (batch, n_x), h_prev (batch, n_h), W (n_x, 3 n_h), U (n_h, 3 n_h),
    b (2, 3 n_h): b[0] is added to x_t @ W, b[1] to h_prev @ U
    -> h_next (batch, n_h) = z * h_prev + (1 - z) * tanh(x_h + r * u_h).
    """
    x_z, x_r, x_h = np.split(x_t @ W + b[0], 3, axis=1)
    u_z, u_r, u_h = np.split(h_prev @ U + b[1], 3, axis=1)
    z, r = _sigmoid(x_z + u_z), _sigmoid(x_r + u_r)
    return z * h_prev + (1.0 - z) * np.tanh(x_h + r * u_h)


def _size(rng: np.random.Generator, low: int, high: int) -> int:
    """Random integer in [low, high]."""
    return int(rng.integers(low, high, endpoint=True))


def _weight(rng: np.random.Generator, fan_in: int, n_out: int) -> np.ndarray:
    """Weight matrix (fan_in, n_out) scaled by 1/sqrt(fan_in) so tanh stays unsaturated."""
    return rng.normal(size=(fan_in, n_out)) / np.sqrt(fan_in)


def _rnn_weights(rng: np.random.Generator, n_x: int, n_h: int) -> Kwargs:
    """Wx (n_x, n_h), Wh (n_h, n_h), b (n_h,)."""
    return {
        "Wx": _weight(rng, n_x, n_h),
        "Wh": _weight(rng, n_h, n_h),
        "b": 0.5 * rng.normal(size=n_h),
    }


def generate_rnn_cell_forward(rng: np.random.Generator) -> Kwargs:
    """Kwargs for ``rnn_cell_forward`` with batch 1-6, n_x 1-8, n_h 2-8 (one unit would hide a transposed matrix)."""
    batch, n_x, n_h = _size(rng, 1, 6), _size(rng, 1, 8), _size(rng, 2, 8)
    return {
        "x_t": rng.normal(size=(batch, n_x)),
        "h_prev": rng.uniform(-1.0, 1.0, size=(batch, n_h)),
        **_rnn_weights(rng, n_x, n_h),
    }


def generate_rnn_forward(rng: np.random.Generator) -> Kwargs:
    """Kwargs for ``rnn_forward`` with batch 1-6, T 2-12, n_x 1-8, n_h 2-8 (one unit would hide a transposed matrix)."""
    batch, T = _size(rng, 1, 6), _size(rng, 2, 12)
    n_x, n_h = _size(rng, 1, 8), _size(rng, 2, 8)
    return {
        "x": rng.normal(size=(batch, T, n_x)),
        "h0": rng.uniform(-1.0, 1.0, size=(batch, n_h)),
        **_rnn_weights(rng, n_x, n_h),
    }


def generate_rnn_cell_backward(rng: np.random.Generator) -> Kwargs:
    """Kwargs for ``rnn_cell_backward``: one step's inputs, its output h_next and an upstream gradient."""
    step = generate_rnn_cell_forward(rng)
    b = step.pop("b")
    h_next = rnn_cell_forward(**step, b=b)
    return {"dh_next": rng.normal(size=h_next.shape), **step, "h_next": h_next}


def generate_rnn_backward(rng: np.random.Generator) -> Kwargs:
    """Kwargs for ``rnn_backward``: a forward run's inputs and states and an upstream gradient per state."""
    run = generate_rnn_forward(rng)
    b = run.pop("b")
    h_all, _ = rnn_forward(**run, b=b)
    return {"dh_all": rng.normal(size=h_all.shape), **run, "h_all": h_all}


def generate_gru_cell_forward(rng: np.random.Generator) -> Kwargs:
    """Kwargs for ``gru_cell_forward`` with batch 1-6, n_x 1-8, n_h 2-8 and both Keras biases."""
    batch, n_x, n_h = _size(rng, 1, 6), _size(rng, 1, 8), _size(rng, 2, 8)
    return {
        "x_t": rng.normal(size=(batch, n_x)),
        "h_prev": rng.uniform(-1.0, 1.0, size=(batch, n_h)),
        "W": _weight(rng, n_x, 3 * n_h),
        "U": _weight(rng, n_h, 3 * n_h),
        "b": 0.5 * rng.normal(size=(2, 3 * n_h)),
    }


def generate_lstm_cell_forward(rng: np.random.Generator) -> Kwargs:
    """Kwargs for ``lstm_cell_forward`` with batch 1-6, n_x 1-8, n_h 2-8 (one unit would hide a transposed matrix)."""
    batch, n_x, n_h = _size(rng, 1, 6), _size(rng, 1, 8), _size(rng, 2, 8)
    return {
        "x_t": rng.normal(size=(batch, n_x)),
        "h_prev": rng.uniform(-1.0, 1.0, size=(batch, n_h)),
        "c_prev": rng.normal(size=(batch, n_h)),
        "W": _weight(rng, n_x, 4 * n_h),
        "U": _weight(rng, n_h, 4 * n_h),
        "b": 0.5 * rng.normal(size=4 * n_h),
    }


def generate_rnn_gradient_norms(rng: np.random.Generator) -> Kwargs:
    """Kwargs for ``rnn_gradient_norms``: states h (T, n_h) of a tanh RNN run, and its Wh."""
    T, n_x, n_h = _size(rng, 2, 12), _size(rng, 1, 8), _size(rng, 2, 8)
    weights = _rnn_weights(rng, n_x, n_h)
    x = rng.normal(size=(1, T, n_x))
    h0 = rng.uniform(-1.0, 1.0, size=(1, n_h))
    h_all, _ = rnn_forward(x, h0, **weights)
    return {"h": h_all[0], "Wh": weights["Wh"]}


def generate_lstm_cell_gradient_norms(rng: np.random.Generator) -> Kwargs:
    """Kwargs for ``lstm_cell_gradient_norms``: forget gates f (T, n_h) in (0, 1)."""
    T, n_h = _size(rng, 2, 12), _size(rng, 2, 8)
    return {"f": _sigmoid(rng.normal(loc=1.0, size=(T, n_h)))}


REFERENCES: dict[str, Callable] = {
    "rnn_cell_forward": rnn_cell_forward,
    "rnn_forward": rnn_forward,
    "rnn_cell_backward": rnn_cell_backward,
    "rnn_backward": rnn_backward,
    "rnn_gradient_norms": rnn_gradient_norms,
    "lstm_cell_forward": lstm_cell_forward,
    "lstm_cell_gradient_norms": lstm_cell_gradient_norms,
    "gru_cell_forward": gru_cell_forward,
}

INPUT_GENERATORS: dict[str, InputGenerator] = {
    "rnn_cell_forward": generate_rnn_cell_forward,
    "rnn_forward": generate_rnn_forward,
    "rnn_cell_backward": generate_rnn_cell_backward,
    "rnn_backward": generate_rnn_backward,
    "rnn_gradient_norms": generate_rnn_gradient_norms,
    "lstm_cell_forward": generate_lstm_cell_forward,
    "lstm_cell_gradient_norms": generate_lstm_cell_gradient_norms,
    "gru_cell_forward": generate_gru_cell_forward,
}
