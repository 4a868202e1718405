"""Tricks that fool the tests running in the student's kernel can no longer earn points.

A kernel test (visible or hidden) runs in the student's process, so the student's code can
fake its pass. Its points now count only when the grader's own checks of the same exercise
(computed in the grader's process) pass. Each trick below is the *same wrong answer* as the
plain wrong submission (`rnn_cell_forward` returns zeros, which also breaks `rnn_forward`),
plus the trick; all are graded in one batch beside an honest control. A trick must never score
more than the plain wrong answer, and the honest control keeps full marks.
"""
from __future__ import annotations

from pathlib import Path

import nbformat
import pytest

from autograder.config import load_config
from autograder.course.notebooks import TestSpec, notebook_spec
from autograder.errors import ReleaseError
from autograder.grading.execute import CellOutcome
from autograder.grading.pipeline import load_context
from autograder.grading.verdicts.kernel import CheckKind, Confirmation, GraderCheck, kernel_verdict
from autograder.qa.samples import TOPIC1, fill, reference_answers
from autograder.results import TestResult
from autograder.run.batch import grade_path
from rnn_basics_points import AUTOGRADED_MAX

WRONG = '''\
def rnn_cell_forward(x_t, h_prev, Wx, Wh, b):
    return np.zeros((x_t.shape[0], Wh.shape[0]))
'''

# trick -> code placed before the wrong answer, in the same answer cell
TRICKS = {
    "patched_np_testing": (
        "import numpy.testing\n"
        "numpy.testing.assert_allclose = lambda *a, **k: None\n"
        "np.testing.assert_allclose = lambda *a, **k: None\n"
        "np.testing.assert_array_equal = lambda *a, **k: None\n"),
    "liar_ndarray": (
        "class Liar(np.ndarray):\n"
        "    def __eq__(self, other): return np.ones(self.shape, bool).view(Liar)\n"
        "    __ne__ = __lt__ = __le__ = __gt__ = __ge__ = __eq__\n"
        "    def __bool__(self): return True\n"
        "    def all(self, *a, **k): return True\n"
        "    def any(self, *a, **k): return True\n"
        "    def __array_ufunc__(self, ufunc, method, *inputs, **kwargs):\n"
        "        if ufunc.__name__ in ('isnan', 'isinf', 'isnat'):\n"
        "            return np.zeros(self.shape, bool)\n"
        "        if ufunc.__name__ in ('isfinite', 'less_equal', 'less', 'greater', 'greater_equal', 'equal',\n"
        "                              'not_equal'):\n"
        "            return np.ones(np.broadcast(*[np.asarray(i) for i in inputs]).shape, bool).view(Liar)\n"
        "        inputs = [np.asarray(i) for i in inputs]\n"
        "        return getattr(ufunc, method)(*inputs, **kwargs).view(Liar)\n"
        "    def __array_function__(self, func, types, args, kwargs):\n"
        "        if func.__name__ in ('allclose', 'array_equal', 'isclose', 'all', 'any'):\n"
        "            return True\n"
        "        return super().__array_function__(func, types, args, kwargs)\n"),
    "patched_builtins": (
        "import builtins\n"
        "builtins.abs = lambda x: 0.0\n"
        "_real_isinstance = builtins.isinstance\n"
        "builtins.isinstance = lambda obj, kind: True\n"
        "class _Never(Exception):\n"
        "    pass\n"
        "builtins.AssertionError = _Never\n"
        "import numpy.testing\n"
        "numpy.testing.assert_allclose = lambda *a, **k: None\n"),
    "printed_score": (
        "import builtins, sys, io\n"
        "builtins.print = lambda *a, **k: 1.0\n"
        "class _Shout(io.StringIO):\n"
        "    def write(self, text): return sys.__stdout__.write('1.0\\n')\n"
        "sys.stdout = _Shout()\n"
        "get_ipython().ast_node_interactivity = 'all'\n"
        "import numpy.testing\n"
        "numpy.testing.assert_allclose = lambda *a, **k: float('nan')\n"),
    "raises_system_exit": "",
    "raises_keyboard_interrupt": "",
}
# the two raising tricks replace the wrong answer's body: the function ends the test by exiting
RAISING = {
    "raises_system_exit": "def rnn_cell_forward(x_t, h_prev, Wx, Wh, b):\n    raise SystemExit(0)\n",
    "raises_keyboard_interrupt": "def rnn_cell_forward(x_t, h_prev, Wx, Wh, b):\n    raise KeyboardInterrupt\n",
}
LIAR_ANSWER = '''\
def rnn_cell_forward(x_t, h_prev, Wx, Wh, b):
    return np.zeros((x_t.shape[0], Wh.shape[0])).view(Liar)
'''
CELL_TESTS = ("test_rnn_cell_forward_visible", "test_rnn_cell_forward_hidden", "rnn_cell_forward_reference")


def _answer(trick: str) -> str:
    if trick in RAISING:
        return RAISING[trick]
    return TRICKS[trick] + (LIAR_ANSWER if trick == "liar_ndarray" else WRONG)


@pytest.fixture(scope="module")
def graded(tmp_path_factory, course_root: Path):
    root = tmp_path_factory.mktemp("adversarial_kernel")
    config = load_config(course_root).with_gradebook(root / "gradebook.db")
    ctx = load_context(config)
    good = reference_answers(ctx.sources[TOPIC1])
    students = {"honest": good, "plain_wrong": {**good, "rnn_cell_forward": WRONG},
                **{trick: {**good, "rnn_cell_forward": _answer(trick)} for trick in TRICKS}}
    for student, answers in students.items():
        folder = root / "submitted" / student / config.assignment
        folder.mkdir(parents=True)
        nbformat.write(fill(ctx.releases[TOPIC1], answers), str(folder / f"{TOPIC1}.ipynb"))
    report = grade_path(config=config, path=root / "submitted", progress=False, context=ctx, workers=2,
                        executed_root=root / "autograded")
    return {r.student: r.notebooks[0] for r in report.results}


@pytest.mark.slow
def test_honest_control_keeps_full_marks(graded) -> None:
    honest = graded["honest"]
    assert honest.score == honest.autograded_max == AUTOGRADED_MAX, [(t.test, t.reason) for t in honest.tests if t.points < t.max_points]


@pytest.mark.slow
def test_plain_wrong_answer_loses_its_exercise(graded) -> None:
    wrong = {t.test: t for t in graded["plain_wrong"].tests}
    assert all(wrong[t].points == 0 for t in CELL_TESTS)
    assert graded["plain_wrong"].score < AUTOGRADED_MAX


@pytest.mark.slow
@pytest.mark.parametrize("trick", sorted(TRICKS))
def test_a_trick_never_scores_more_than_the_plain_wrong_answer(graded, trick: str) -> None:
    tricked, wrong = graded[trick], graded["plain_wrong"]
    assert tricked.score <= wrong.score, [(t.test, t.points, t.reason) for t in tricked.tests if t.points > 0
                                          and t.test.startswith(("test_rnn_cell", "test_rnn_forward"))]
    by_test = {t.test: t for t in tricked.tests}
    assert all(by_test[t].points == 0 for t in CELL_TESTS), trick


@pytest.mark.slow
@pytest.mark.parametrize("trick", ["patched_np_testing", "liar_ndarray"])
def test_the_trick_did_fool_the_kernel_and_the_reason_names_the_grader_check(graded, trick: str) -> None:
    """The visible test passed in the kernel (the trick worked there), but the grader's comparison
    failed, so the test scores 0 and says which grader check did not confirm it."""
    visible = {t.test: t for t in graded[trick].tests}["test_rnn_cell_forward_visible"]
    assert visible.points == 0 and visible.status == "failed"
    assert visible.reason.startswith("not confirmed: the grader's comparison of rnn_cell_forward with the "
                                     "reference failed"), visible.reason


# ---- the mechanism on its own (fast) ----------------------------------------------------------

def _spec(points: float = 1.0) -> TestSpec:
    return TestSpec(grade_id="test_f_visible", points=points, hidden=False, exercise="f")


def _check(status: str, points: float, kind: CheckKind = CheckKind.COMPARISON) -> GraderCheck:
    verdict = TestResult(test="f_reference", points=points, max_points=2.0, status=status, reason="r",
                         hidden=True, kind="reference")
    return GraderCheck(kind, "f", verdict)


@pytest.mark.parametrize("checks, points, reason", [
    ((_check("passed", 2.0),), 1.0, "passed"),
    ((_check("failed", 0.0),), 0.0, "not confirmed: the grader's comparison of f with the reference failed"),
    ((_check("passed", 2.0), _check("error", 0.0, CheckKind.RETURNED_MODEL)), 0.0,
     "not confirmed: the grader's check of the model that f returns could not run"),
    ((_check("partial", 1.0, CheckKind.SAVED_MODEL),), 1.0, "passed"),
    ((_check("partial", 1.0, CheckKind.COMPARISON),), 0.0, "not confirmed"),
])
def test_kernel_points_need_every_grader_check(checks, points: float, reason: str) -> None:
    outcome = CellOutcome(index=0, ran=True)
    result = kernel_verdict(_spec(), outcome, stopped="", restored=False, confirmation=Confirmation("f", checks))
    assert result.points == points and result.reason.startswith(reason), result.reason


def test_a_failed_test_keeps_its_own_reason_and_nan_scores_are_refused() -> None:
    failing = CellOutcome(index=0, ran=True, error=("AssertionError", "wrong shape", "tb"))
    result = kernel_verdict(_spec(), failing, stopped="", restored=False,
                            confirmation=Confirmation("f", (_check("failed", 0.0),)))
    assert result.reason == "AssertionError: wrong shape"
    nan = kernel_verdict(_spec(), CellOutcome(index=0, ran=True, printed_score=float("nan")), stopped="",
                         restored=False, confirmation=Confirmation("f", (_check("passed", 2.0),)))
    assert nan.points == 0 and "not a number" in nan.reason


def _notebook(test_meta: dict) -> nbformat.NotebookNode:
    nb = nbformat.v4.new_notebook()
    nb.cells = [
        nbformat.v4.new_code_cell("def f(x):\n    return x", id="f",
                                  metadata={"nbgrader": {"grade_id": "f", "solution": True, "grade": False,
                                                         "locked": False, "schema_version": 3}}),
        nbformat.v4.new_code_cell("assert f(1) == 1", id="test_f",
                                  metadata={"nbgrader": {"grade_id": "test_f", "grade": True, "solution": False,
                                                         "locked": True, "points": 1, "schema_version": 3},
                                            "autograder": test_meta}),
    ]
    return nb


def test_a_kernel_test_without_a_grader_check_is_refused_naming_the_cell() -> None:
    with pytest.raises(ReleaseError, match="test cell 'test_f' gives 1 points in the student's kernel, but its "
                                           "exercise 'f' has no grader-side check"):
        notebook_spec("01_x", Path("01_x.ipynb"), _notebook({"exercise": "f"}))
    with pytest.raises(ReleaseError, match="grade cell 'test_f' names the exercise 'g', which is not an answer cell"):
        notebook_spec("01_x", Path("01_x.ipynb"), _notebook({"exercise": "g"}))
    nb = _notebook({"exercise": "f"})
    nb.cells.append(nbformat.v4.new_code_cell("# checked by the grader", id="f_reference", metadata={
        "nbgrader": {"grade_id": "f_reference", "grade": True, "solution": False, "locked": True, "points": 2,
                     "schema_version": 3}, "autograder": {"probe": "f"}}))
    spec = notebook_spec("01_x", Path("01_x.ipynb"), nb)
    assert [t.grade_id for t in spec.checks_of("f")] == ["f_reference"]


# ---- one Keras trick (topic 5): a GRU that calls itself LSTM and lies about its size -------------

TOPIC5 = "05_time_series"
GRU_ANSWER = '''\
def build_lstm(input_width: int = 24) -> keras.Model:
    inputs = keras.Input(shape=(input_width, 1))
    x = keras.layers.GRU(32)(inputs)
    return keras.Model(inputs, keras.layers.Dense(1)(x), name="temp_lstm")
'''
DISGUISED_GRU = '''\
class LSTM(keras.layers.GRU):            # type(layer).__name__ == "LSTM" in the kernel's tests
    pass


keras.Model.count_params = lambda self: 4385


def build_lstm(input_width: int = 24) -> keras.Model:
    inputs = keras.Input(shape=(input_width, 1))
    x = LSTM(32)(inputs)
    return keras.Model(inputs, keras.layers.Dense(1)(x), name="temp_lstm")
'''


def _fast_training(course_root: Path, answers: dict[str, str]) -> dict[str, str]:
    """The answers with the [[fast]] shortcut of mutants/05 in the training cell (one short epoch)."""
    from autograder.course.mutants import parse_mutant_file

    (edit,) = parse_mutant_file(course_root / "mutants" / f"{TOPIC5}.toml", TOPIC5).fast
    assert edit.find in answers[edit.cell]
    return {**answers, edit.cell: answers[edit.cell].replace(edit.find, edit.replace)}


@pytest.mark.slow
def test_a_disguised_keras_layer_gains_nothing(tmp_path: Path, course_root: Path) -> None:
    """Trains one short epoch (the validation shortcut, in the kernel and in the grader), so only the
    build_lstm exercise is compared."""
    import dataclasses

    from autograder.config import Timeouts

    from autograder.config import with_training_cap
    from autograder.qa.validate import FAST_TRAINING_CAP

    config = load_config(course_root).with_gradebook(tmp_path / "gradebook.db")
    config = dataclasses.replace(config, timeouts=Timeouts(cell_s=600, notebook_s=1800, kernel_start_s=120,
                                                           cells={"train_model": 900}))
    # no model metric is asserted here: the grader's training is capped as validate caps its [[fast]] mutants
    config = with_training_cap(config, epochs=FAST_TRAINING_CAP[0], examples=FAST_TRAINING_CAP[1])
    ctx = dataclasses.replace(load_context(config), config=config)
    good = _fast_training(course_root, reference_answers(ctx.sources[TOPIC5]))
    students = {"honest": good, "plain_gru": {**good, "build_lstm": GRU_ANSWER},
                "disguised_gru": {**good, "build_lstm": DISGUISED_GRU}}
    for student, answers in students.items():
        folder = tmp_path / "submitted" / student / config.assignment
        folder.mkdir(parents=True)
        nbformat.write(fill(ctx.releases[TOPIC5], answers), str(folder / f"{TOPIC5}.ipynb"))
    report = grade_path(config=config, path=tmp_path / "submitted", progress=False, context=ctx, workers=2)
    graded = {r.student: next(nb for nb in r.notebooks if nb.notebook == TOPIC5) for r in report.results}
    spec = ctx.spec.notebook(TOPIC5)
    lstm_tests = {t.grade_id for t in spec.tests if t.exercise == "build_lstm"}
    honest = {t.test: t for t in graded["honest"].tests}
    assert all(honest[t].points == honest[t].max_points for t in lstm_tests), [honest[t].reason for t in lstm_tests]
    # Left out: the models (measured after the capped training), the written answer (it waits for a
    # TA) and the visible test that the trained forecaster beats the last value (the one-batch training
    # of the shortcut does not, by design).
    unscored = {"model", "manual"}
    assert all(t.points == t.max_points for t in honest.values()
               if t.kind not in unscored and t.test != "test_lstm_beats_last_value"), \
        [(t.test, t.reason) for t in honest.values() if t.points < t.max_points]
    assert graded["disguised_gru"].score <= graded["plain_gru"].score
    tests = {t.test: t for t in graded["disguised_gru"].tests}
    assert tests["build_lstm_reference"].points == 0
    for name in ("test_build_lstm_visible", "test_build_lstm_hidden"):
        assert tests[name].points == 0 and tests[name].reason.startswith(
            "not confirmed: the grader's check of the model that build_lstm returns failed"), tests[name].reason


def test_a_kernel_test_without_an_exercise_is_refused() -> None:
    """In a notebook that uses the grader's checks, every kernel test names its exercise; a plain
    nbgrader notebook (no autograder metadata at all) is graded as nbgrader grades it."""
    nb = _notebook({})
    nb.cells.append(nbformat.v4.new_code_cell("# checked by the grader", id="f_reference", metadata={
        "nbgrader": {"grade_id": "f_reference", "grade": True, "solution": False, "locked": True, "points": 2,
                     "schema_version": 3}, "autograder": {"probe": "f"}}))
    with pytest.raises(ReleaseError, match="test cell 'test_f' gives 1 points in the student's kernel but names no exercise"):
        notebook_spec("01_x", Path("01_x.ipynb"), nb)
    plain = _notebook({})
    del plain.cells[1].metadata["autograder"]
    assert [t.grade_id for t in notebook_spec("01_x", Path("01_x.ipynb"), plain).tests] == ["test_f"]


def test_every_kernel_test_of_the_course_names_an_exercise_with_grader_checks(course_root: Path) -> None:
    from autograder.course.notebooks import load_source

    spec, _ = load_source(load_config(course_root))
    for nb in spec.notebooks:
        for test in nb.tests:
            if not (test.grader_side or test.manual) and test.points > 0:
                assert test.exercise and nb.checks_of(test.exercise), (nb.name, test.grade_id)
