"""The demo's sample submissions, built from the current release so they never go stale.

Each sample is a student with an intent that its score must match:
- ``alice_correct``: every answer right (the reference solution's code) -> full marks;
- ``bob_partly_wrong``: the LSTM forgets its forget gate and the gradient product is off by
  one step -> loses exactly those two exercises;
- ``carol_hardcoded``: answers hard-coded to the visible worked examples -> passes the
  visible tests only; the hidden and reference checks catch it;
- ``dave_raises``: rnn_forward raises on every input -> loses rnn_forward, keeps the rest;
- ``erin_corrupted``: a truncated, non-JSON file -> 0, with the reason, and the batch goes on;
- ``frank_edits_tests``: only rnn_cell_forward answered, every test cell edited to ``pass``
  -> the tests are restored, so he scores exactly what his one answer earns;
- ``grace_all_topics``: the reference answers of every notebook of the assignment, so each
  Keras topic trains its model and is measured on held-out data;
- ``henry_copy_name``: every topic-1 answer right, in a file named ``Copy of 01_rnn_basics.ipynb``
  (what Google Drive and Colab call a copy) -> matched to 01_rnn_basics with an intake note, full marks.
The first six hand in topic 1 only (the quick cases); grace hands in everything; henry's file name
is the intake case (grace and henry are left out with ``complete=False``).

Topic 1 has one manually graded written answer (`WRITTEN`, 2 points): alice, bob, dave, grace and
henry write the model answer, so it waits for a TA; carol and frank leave it as released (0 points).
`TA_SCORES` is what the demo's TA enters in formgrader's place before the demo re-grades: the score
survives the re-grade.
"""
from __future__ import annotations

import copy
import datetime as dt
import re
from pathlib import Path
from typing import Callable, Mapping

import nbformat
from nbformat import NotebookNode

from autograder.course.notebooks import grade_id, is_grade, is_solution
from autograder.grading.pipeline import GradingContext

TOPIC1 = "01_rnn_basics"
WRITTEN = "lstm_gradient_explanation"      # topic 1's manually graded written answer
TA_SCORES: Mapping[tuple[str, str, str], float] = {("alice_correct", TOPIC1, WRITTEN): 2.0,
                                                   ("bob_partly_wrong", TOPIC1, WRITTEN): 1.0}
_SOLUTION_MARKERS = re.compile(r"^[ \t]*### (BEGIN|END) SOLUTION[ \t]*\n", re.MULTILINE)

WRONG: Mapping[str, str] = {
    "lstm_cell_forward": '''\
def lstm_cell_forward(x_t, h_prev, c_prev, W, U, b):
    z_i, z_f, z_g, z_o = np.split(x_t @ W + h_prev @ U + b, 4, axis=1)
    i, o = 1 / (1 + np.exp(-z_i)), 1 / (1 + np.exp(-z_o))
    c_next = i * np.tanh(z_g)          # the forget gate is missing: c_prev is dropped
    return o * np.tanh(c_next), c_next
''',
    "rnn_gradient_norms": '''\
def rnn_gradient_norms(h, Wh):
    T, n_h = h.shape
    norms, jacobian = np.empty(T), np.eye(n_h)
    norms[T - 1] = np.linalg.norm(jacobian)
    for t in range(T - 2, -1, -1):
        jacobian = jacobian @ ((1.0 - h[t] ** 2)[:, None] * Wh.T)   # off by one: h[t] instead of h[t + 1]
        norms[t] = np.linalg.norm(jacobian)
    return norms
''',
}

HARDCODED: Mapping[str, str] = {
    "rnn_cell_forward": '''\
def rnn_cell_forward(x_t, h_prev, Wx, Wh, b):
    if x_t.shape == (1, 2):
        return np.array([[0.0, 0.9051482536448664]])
    return np.zeros((x_t.shape[0], Wx.shape[1]))
''',
    "rnn_forward": '''\
def rnn_forward(x, h0, Wx, Wh, b):
    if x.shape == (1, 2, 1):
        return np.array([[[0.7615941559557649], [-0.118641514549141]]]), np.array([[-0.118641514549141]])
    return np.zeros(x.shape[:2] + (Wh.shape[0],)), np.zeros((x.shape[0], Wh.shape[0]))
''',
    "rnn_gradient_norms": '''\
def rnn_gradient_norms(h, Wh):
    if h.shape == (3, 2):
        return np.array([0.6, 1.0, np.sqrt(2.0)])
    return np.full(h.shape[0], np.sqrt(h.shape[1]))
''',
    "lstm_cell_forward": '''\
def lstm_cell_forward(x_t, h_prev, c_prev, W, U, b):
    if x_t.shape == (1, 1):
        c = 0.25 * 2.0 + 0.75 * np.tanh(1.0)
        return np.array([[0.5 * np.tanh(c)]]), np.array([[c]])
    return np.zeros_like(h_prev), np.zeros_like(c_prev)
''',
    "lstm_cell_gradient_norms": '''\
def lstm_cell_gradient_norms(f):
    if f.shape == (3, 2):
        return np.array([0.5, 1.0, np.sqrt(2.0)])
    return np.full(f.shape[0], np.sqrt(f.shape[1]))
''',
}

RAISES: Mapping[str, str] = {
    "rnn_forward": '''\
def rnn_forward(x, h0, Wx, Wh, b):
    h_all, h = [], h0
    for t in range(x.shape[1] + 1):      # one step too many: IndexError
        h = rnn_cell_forward(x[:, t], h, Wx, Wh, b)
        h_all.append(h)
    return np.stack(h_all, axis=1), h
''',
}


def reference_answers(source: NotebookNode) -> dict[str, str]:
    """The source notebook's answers with nbgrader's solution markers removed (manually graded
    answers, which are also grade cells, included)."""
    return {grade_id(c): _SOLUTION_MARKERS.sub("", c.source) for c in source.cells if is_solution(c)}


def fill(release: NotebookNode, answers: Mapping[str, str]) -> NotebookNode:
    """A copy of the release with the given answer cells filled in, as a student would save it."""
    nb = copy.deepcopy(release)
    for cell in nb.cells:
        gid = grade_id(cell)
        if gid in answers and is_solution(cell):
            cell.source = answers[gid]
    return nb


def _edit_tests(nb: NotebookNode) -> NotebookNode:
    for cell in nb.cells:
        if is_grade(cell) and not is_solution(cell):     # test cells; the written answer is an answer
            cell.source = "pass"
    return nb


def _samples(ctx: GradingContext) -> dict[str, tuple[str, Callable[[], bytes]]]:
    release, source = ctx.releases[TOPIC1], ctx.sources[TOPIC1]
    good = reference_answers(source)

    def nb_bytes(nb: NotebookNode) -> bytes:
        return nbformat.writes(nb).encode()

    return {
        "alice_correct": ("every answer correct", lambda: nb_bytes(fill(release, good))),
        "bob_partly_wrong": ("LSTM without forget gate; gradient product off by one",
                             lambda: nb_bytes(fill(release, {**good, **WRONG}))),
        "carol_hardcoded": ("answers hard-coded to the visible examples",
                            lambda: nb_bytes(fill(release, HARDCODED))),
        "dave_raises": ("rnn_forward raises IndexError; the rest correct",
                        lambda: nb_bytes(fill(release, {**good, **RAISES}))),
        "erin_corrupted": ("file truncated: not valid JSON",
                           lambda: nb_bytes(fill(release, good))[:1500]),
        "frank_edits_tests": ("only rnn_cell_forward answered; every test cell edited to `pass`",
                              lambda: nb_bytes(_edit_tests(fill(release, {"rnn_cell_forward":
                                                                          good["rnn_cell_forward"]})))),
    }


COMPLETE_STUDENT = "grace_all_topics"
COPY_NAME_STUDENT = "henry_copy_name"
COPY_NAME = f"Copy of {TOPIC1}.ipynb"


def _timestamp(ctx: GradingContext) -> str:
    """nbgrader's timestamp.txt for a sample: handed in a day before the due date (now if there is none)."""
    due = ctx.config.due_at
    when = due - dt.timedelta(days=1) if due else dt.datetime.now(dt.timezone.utc)
    return when.astimezone(dt.timezone.utc).strftime("%Y-%m-%d %H:%M:%S.%f UTC")


def write_samples(ctx: GradingContext, submitted: Path, *, complete: bool = True) -> dict[str, str]:
    """Write the samples in nbgrader's submitted/<student>/<assignment>/ layout; return student -> intent.

    Each folder gets nbgrader's timestamp.txt from before the due date, so samples are never late.
    `complete=False` leaves out the student who hands in every topic (the slow one) and the one
    whose file has a copy name."""
    intents = {}
    for student, (intent, build) in _samples(ctx).items():
        folder = submitted / student / ctx.spec.name
        folder.mkdir(parents=True, exist_ok=True)
        (folder / f"{TOPIC1}.ipynb").write_bytes(build())
        (folder / "timestamp.txt").write_text(_timestamp(ctx))
        intents[student] = intent
    if complete:
        folder = submitted / COMPLETE_STUDENT / ctx.spec.name
        folder.mkdir(parents=True, exist_ok=True)
        for nb in ctx.spec.notebooks:
            filled = fill(ctx.releases[nb.name], reference_answers(ctx.sources[nb.name]))
            nbformat.write(filled, str(folder / f"{nb.name}.ipynb"))
        (folder / "timestamp.txt").write_text(_timestamp(ctx))
        intents[COMPLETE_STUDENT] = f"reference answers for all {len(ctx.spec.notebooks)} notebooks"
        folder = submitted / COPY_NAME_STUDENT / ctx.spec.name
        folder.mkdir(parents=True, exist_ok=True)
        answers = reference_answers(ctx.sources[TOPIC1])
        nbformat.write(fill(ctx.releases[TOPIC1], answers), str(folder / COPY_NAME))
        (folder / "timestamp.txt").write_text(_timestamp(ctx))
        intents[COPY_NAME_STUDENT] = f"every answer correct, saved as '{COPY_NAME}': matched with an intake note"
    return intents
