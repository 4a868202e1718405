"""Every hidden check fails on a planted wrong solution, graded through the real pipeline.

Each bug set replaces every answer with a plausible mistake. A test cell or reference
comparison that no bug can fail would be a check that cannot fail; this suite forbids that.
"""
from __future__ import annotations

from pathlib import Path

import nbformat
import pytest

from autograder.batch import grade_path
from autograder.config import load_config
from autograder.grading import load_context
from autograder.samples import TOPIC1, fill, reference_answers

pytestmark = pytest.mark.slow

BUG_SETS = {
    "sigmoid_instead_of_tanh": {
        "rnn_cell_forward": "def rnn_cell_forward(x_t, h_prev, Wx, Wh, b):\n"
                            "    return 1 / (1 + np.exp(-(x_t @ Wx + h_prev @ Wh + b)))",
        "rnn_forward": "def rnn_forward(x, h0, Wx, Wh, b):\n"
                       "    hs, h = [], h0\n"
                       "    for t in range(x.shape[1]):\n"
                       "        h = np.tanh(x[:, t] @ Wx + h0 @ Wh + b)   # always uses h0\n"
                       "        hs.append(h)\n"
                       "    return np.stack(hs, axis=1), h",
        "rnn_gradient_norms": "def rnn_gradient_norms(h, Wh):\n"
                              "    T, n = h.shape\n"
                              "    out, J = np.empty(T), np.eye(n)\n"
                              "    out[-1] = np.linalg.norm(J)\n"
                              "    for t in range(T - 2, -1, -1):\n"
                              "        J = J @ Wh.T                      # tanh derivative forgotten\n"
                              "        out[t] = np.linalg.norm(J)\n"
                              "    return out",
        "lstm_cell_forward": "def lstm_cell_forward(x_t, h_prev, c_prev, W, U, b):\n"
                             "    z = x_t @ W + h_prev @ U + b\n"
                             "    zi, zf, zg, zo = np.split(z, 4, axis=1)\n"
                             "    s = lambda v: 1 / (1 + np.exp(-v))\n"
                             "    c = s(zf) * c_prev + s(zi) * np.tanh(zg)\n"
                             "    return s(zo) * c, c                 # missing tanh on the cell",
        "lstm_cell_gradient_norms": "def lstm_cell_gradient_norms(f):\n"
                                    "    T, n = f.shape\n"
                                    "    tail = np.ones_like(f)\n"
                                    "    for t in range(T - 1):\n"
                                    "        tail[t] = np.prod(f[t:], axis=0)   # includes f[t]: off by one\n"
                                    "    return np.linalg.norm(tail, axis=1)",
    },
    "transposed_and_reordered": {
        "rnn_cell_forward": "def rnn_cell_forward(x_t, h_prev, Wx, Wh, b):\n"
                            "    return np.tanh(x_t @ Wx + h_prev @ Wh.T + b)",
        "rnn_forward": "def rnn_forward(x, h0, Wx, Wh, b):\n"
                       "    hs, h = [], h0\n"
                       "    for t in range(x.shape[1]):\n"
                       "        h = rnn_cell_forward(x[:, t], h, Wx, Wh, b)\n"
                       "        hs.append(h)\n"
                       "    return np.stack(hs, axis=1), hs[0]       # many-to-one returns the first state",
        "rnn_gradient_norms": "def rnn_gradient_norms(h, Wh):\n"
                              "    T, n = h.shape\n"
                              "    out, J = np.empty(T), np.eye(n)\n"
                              "    out[-1] = np.linalg.norm(J)\n"
                              "    for t in range(T - 2, -1, -1):\n"
                              "        J = J @ ((1 - h[t + 1] ** 2)[:, None] * Wh)   # Wh not transposed\n"
                              "        out[t] = np.linalg.norm(J)\n"
                              "    return out",
        "lstm_cell_forward": "def lstm_cell_forward(x_t, h_prev, c_prev, W, U, b):\n"
                             "    z = x_t @ W + h_prev @ U + b\n"
                             "    zf, zi, zg, zo = np.split(z, 4, axis=1)     # gates in the wrong order\n"
                             "    s = lambda v: 1 / (1 + np.exp(-v))\n"
                             "    c = s(zf) * c_prev + s(zi) * np.tanh(zg)\n"
                             "    return s(zo) * np.tanh(c), c",
        "lstm_cell_gradient_norms": "def lstm_cell_gradient_norms(f):\n"
                                    "    T, n = f.shape\n"
                                    "    tail = np.ones_like(f)\n"
                                    "    for t in range(T - 1):\n"
                                    "        tail[t] = np.sum(f[t + 1:], axis=0)   # sum instead of product\n"
                                    "    return np.linalg.norm(tail, axis=1)",
    },
}


@pytest.fixture(scope="module")
def bug_results(tmp_path_factory, course_root: Path):
    root = tmp_path_factory.mktemp("bugs")
    config = load_config(course_root).with_gradebook(root / "gb.db")
    ctx = load_context(config)
    good = reference_answers(ctx.sources[TOPIC1])
    for name, bugs in BUG_SETS.items():
        folder = root / "submitted" / name / config.assignment
        folder.mkdir(parents=True)
        nbformat.write(fill(ctx.releases[TOPIC1], {**good, **bugs}), str(folder / f"{TOPIC1}.ipynb"))
    report = grade_path(config=config, path=root / "submitted", progress=False, context=ctx)
    return ctx, {r.student: {t.test: t for t in r.notebooks[0].tests} for r in report.results}


def test_every_check_is_failed_by_some_planted_bug(bug_results) -> None:
    ctx, results = bug_results
    spec = ctx.spec.notebook(TOPIC1)
    never_failed = [t.grade_id for t in spec.tests
                    if all(results[name][t.grade_id].points == t.points for name in BUG_SETS)]
    assert never_failed == []


@pytest.mark.parametrize("bug_set", sorted(BUG_SETS))
def test_each_bug_is_caught_by_hidden_and_reference_checks(bug_results, bug_set: str) -> None:
    _, results = bug_results
    for function in BUG_SETS[bug_set]:
        got = results[bug_set]
        assert got[f"{function}_reference"].points == 0, (bug_set, function)
        assert got[f"{function}_reference"].status == "failed"
