"""Similarity finds planted near-copies (renamed, reordered) and only them."""
from __future__ import annotations

from autograder.reports.similarity import compare_all, fingerprints, normalised_tokens

TEMPLATE = "def rnn_forward(x, h0, Wx, Wh, b):\n    raise NotImplementedError()\n"

ALICE = '''
def rnn_forward(x, h0, Wx, Wh, b):
    batch, T, _ = x.shape
    h_all = np.empty((batch, T, h0.shape[1]))
    h = h0
    for t in range(T):
        h = np.tanh(x[:, t] @ Wx + h @ Wh + b)
        h_all[:, t] = h
    return h_all, h

def lstm_cell_forward(x_t, h_prev, c_prev, W, U, b):
    z_i, z_f, z_g, z_o = np.split(x_t @ W + h_prev @ U + b, 4, axis=1)
    i, f, o = (1.0 / (1.0 + np.exp(-z)) for z in (z_i, z_f, z_o))
    c_next = f * c_prev + i * np.tanh(z_g)
    h_next = o * np.tanh(c_next)
    return h_next, c_next
'''
# A near-copy: every name changed, literals changed, the two functions swapped, statements moved.
ALICE_COPY = '''
def lstm_cell_forward(inp, prev_h, prev_c, Wk, Uk, bias):
    a1, a2, a3, a4 = np.split(inp @ Wk + prev_h @ Uk + bias, 4, axis=1)
    g1, g2, g3 = (1 / (1 + np.exp(-q)) for q in (a1, a2, a4))
    new_c = g2 * prev_c + g1 * np.tanh(a3)
    new_h = g3 * np.tanh(new_c)
    return new_h, new_c

def rnn_forward(seq, start, A, B, c):
    n, steps, _ = seq.shape
    hidden = start
    out = np.empty((n, steps, start.shape[1]))
    for k in range(steps):
        hidden = np.tanh(seq[:, k] @ A + hidden @ B + c)
        out[:, k] = hidden
    return out, hidden
'''
BOB = '''
def rnn_forward(x, h0, Wx, Wh, b):
    states = []
    h = h0
    for step in np.moveaxis(x, 1, 0):
        h = rnn_cell_forward(step, h, Wx, Wh, b)
        states.append(h)
    return np.stack(states, axis=1), states[-1]

def lstm_cell_forward(x_t, h_prev, c_prev, W, U, b):
    n = h_prev.shape[1]
    z = np.concatenate([x_t, h_prev], axis=1) @ np.concatenate([W, U], axis=0) + b
    sig = lambda v: 0.5 * (1 + np.tanh(0.5 * v))
    gate_i, gate_f, gate_o = sig(z[:, :n]), sig(z[:, n:2 * n]), sig(z[:, 3 * n:])
    cell = gate_f * c_prev + gate_i * np.tanh(z[:, 2 * n:3 * n])
    return gate_o * np.tanh(cell), cell
'''
CAROL = '''
def rnn_forward(x, h0, Wx, Wh, b):
    out = []
    for t in range(x.shape[1]):
        h0 = np.tanh(np.dot(x[:, t, :], Wx) + np.dot(h0, Wh) + b)
        out.append(h0[:, None, :])
    h_all = np.concatenate(out, axis=1)
    return h_all, h_all[:, -1, :]

def lstm_cell_forward(x_t, h_prev, c_prev, W, U, b):
    pre = np.dot(x_t, W) + np.dot(h_prev, U) + b
    parts = np.array_split(pre, 4, axis=-1)
    input_gate = 1 / (1 + np.exp(-parts[0]))
    forget_gate = 1 / (1 + np.exp(-parts[1]))
    candidate = np.tanh(parts[2])
    output_gate = 1 / (1 + np.exp(-parts[3]))
    c = forget_gate * c_prev + input_gate * candidate
    return output_gate * np.tanh(c), c
'''


def test_tokens_abstract_names_and_literals() -> None:
    assert normalised_tokens("total = count + 1.5") == normalised_tokens("s = n + 2")
    assert fingerprints("x = 1") == fingerprints("y = 2")


def test_planted_copy_is_found_and_independent_work_is_not() -> None:
    answers = {"alice": ALICE, "alice_copy": ALICE_COPY, "bob": BOB, "carol": CAROL}
    pairs = compare_all(answers, TEMPLATE, threshold=0.5)
    assert [(p.a, p.b) for p in pairs] == [("alice", "alice_copy")]
    assert pairs[0].similarity >= 0.8
    everything = {(p.a, p.b): p.similarity for p in compare_all(answers, TEMPLATE, threshold=0.0)}
    assert max(v for k, v in everything.items() if k != ("alice", "alice_copy")) < 0.35


def test_template_code_does_not_count() -> None:
    answers = {"a": TEMPLATE + "\nx = 1\n", "b": TEMPLATE + "\ny = [i for i in range(3)]\n"}
    assert compare_all(answers, TEMPLATE, threshold=0.5) == []
