"""The diagnosis of a failed comparison names the planted mistake a student's function behaves like.

Every diagnosable mutant of topic 1 is written a second way by hand (tests/diagnosis_rewrites.toml:
another syntax, the same bug) and graded grader-side: its own function's diagnosis names that mutant
and no other. Correct answers, the reference's and others written another way, get none. The
diagnostic cases never change a score; mutant outputs are cached by content; the class report counts
each misconception once per student. One test grades real submissions through the kernel."""
from __future__ import annotations

import dataclasses
from pathlib import Path
from types import SimpleNamespace

import nbformat
import numpy as np
import pytest
from rnn_basics_points import AUTOGRADED_MAX, exercise_points

from autograder.config import load_config
from autograder.course.mutants import Edit
from autograder.grading.pipeline import load_context
from autograder.grading.verdicts import diagnosis, probes
from autograder.qa import diagnosis as qa
from autograder.qa.samples import TOPIC1, fill, reference_answers
from autograder.reports.report import NOT_FLAGGED, NOTE_FLAGS, misconceptions
from autograder.results import Note, NoteKind

REWRITES = Path(__file__).with_name("diagnosis_rewrites.toml")


@pytest.fixture(scope="module")
def ctx(course_root: Path, tmp_path_factory):
    """The real course, its mutant outputs cached in a scratch folder."""
    context = load_context(load_config(course_root))
    cache = tmp_path_factory.mktemp("diagnosis-cache")
    return dataclasses.replace(context, mistakes={nb: dataclasses.replace(k, cache=cache)
                                                  for nb, k in context.mistakes.items()})


def _rewrites(notebook: str, *, controls: bool) -> list[qa.Rewrite]:
    course = load_context(load_config(Path(__file__).resolve().parents[1]))
    return [r for r in qa.load_rewrites(REWRITES, course) if r.notebook == notebook and (not r.mutant) == controls]


TOPIC1_REWRITES = _rewrites(TOPIC1, controls=False)
TOPIC1_CONTROLS = _rewrites(TOPIC1, controls=True)


# ---- the rewrites: the same bug in another syntax is named ------------------------------------
def test_every_mutant_of_topic_1_is_diagnosable_and_has_a_rewrite(ctx) -> None:
    able = qa.diagnosable(ctx, TOPIC1)
    assert [m for m, found in able.items() if not found] == []           # all 27: array functions only
    assert sorted(r.mutant for r in TOPIC1_REWRITES) == sorted(able)


@pytest.mark.parametrize("rewrite", TOPIC1_REWRITES, ids=lambda r: r.mutant)
def test_a_rewrite_is_diagnosed_as_its_mutant_and_only_as_it(ctx, rewrite: qa.Rewrite) -> None:
    judged = qa.judge(ctx, TOPIC1, Edit(cell=rewrite.cell, source=rewrite.source))
    own = sorted(ctx.mistakes[TOPIC1].defines[rewrite.cell] & set(judged.failed))
    assert own, f"the rewrite of {rewrite.mutant} passes every comparison of its cell"
    for probe in own:
        assert judged.named[probe] == (rewrite.mutant,), probe


@pytest.mark.parametrize("rewrite", TOPIC1_CONTROLS, ids=lambda r: f"correct-{r.cell}")
def test_a_correct_answer_written_another_way_gets_no_diagnosis(ctx, rewrite: qa.Rewrite) -> None:
    assert qa.judge(ctx, TOPIC1, Edit(cell=rewrite.cell, source=rewrite.source)) == qa.Judged((), {})


def test_the_reference_gets_no_diagnosis_even_when_the_matcher_is_asked(ctx) -> None:
    assert qa.judge(ctx, TOPIC1, None) == qa.Judged((), {})
    reference = qa.reference_of(ctx, TOPIC1)
    diagnostic = diagnosis.diagnostic_cases(reference, tuple(reference.functions))
    outputs = qa.outputs_of(diagnosis.notebook_program(ctx.sources[TOPIC1]),
                            {p: {diagnosis.case_name(i): kw for i, kw in enumerate(runs)} for p, runs in diagnostic.items()})
    for probe, cases in diagnostic.items():       # called directly, without a failed comparison first
        assert diagnosis.diagnose(probe, outputs, reference=reference, known=ctx.mistakes[TOPIC1], cases=cases,
                                  policy=ctx.config.reference) == ()


def test_a_mutant_of_another_cell_is_named_only_when_none_of_the_own_cell_matches(ctx) -> None:
    """A wrong rnn_cell_forward makes rnn_forward fail too: its diagnosis names the cell's mistake and
    where it is; rnn_backward with the cell's wrong dWh behaves exactly like rnn_backward's own mutant
    that takes h_all[:, t] as the state before step t, so that one is named (P's own cell first)."""
    judged = qa.judge(ctx, TOPIC1, Edit(cell="rnn_cell_forward",
                                        source="def rnn_cell_forward(x_t, h_prev, Wx, Wh, b):\n"
                                               "    return np.tanh(x_t @ Wx + h_prev @ Wh)\n"))
    assert judged.named == {"rnn_cell_forward": ("cell_missing_bias",), "rnn_forward": ("cell_missing_bias",)}
    mutant = next(m for m in ctx.mistakes[TOPIC1].mutants if m.id == "cell_missing_bias")
    assert diagnosis.note_text("rnn_forward", mutant, own_cell=False) == (
        "your `rnn_forward` behaves like a known mistake in `rnn_cell_forward` (cell_missing_bias): "
        "the bias is left out")
    dwh = next(r for r in TOPIC1_REWRITES if r.mutant == "cell_backward_dWh_from_h_next")
    assert qa.judge(ctx, TOPIC1, Edit(cell=dwh.cell, source=dwh.source)).named["rnn_backward"] == (
        "backward_state_off_by_one",)


def test_the_note_says_the_mistake_in_words_and_shows_no_input_or_output(ctx) -> None:
    mutant = next(m for m in ctx.mistakes[TOPIC1].mutants if m.id == "lstm_missing_forget_gate")
    note = diagnosis.diagnosis_note("lstm_cell_forward", mutant, own_cell=True)
    assert note.text == ("your `lstm_cell_forward` behaves like a known mistake (lstm_missing_forget_gate): "
                         "missing gate: the forget gate is dropped, c_prev never enters")
    assert diagnosis.diagnosed_mistake(note) == ("lstm_cell_forward", "lstm_missing_forget_gate", mutant.description)
    assert diagnosis.diagnosed_mistake(Note(NoteKind.TAMPERING, note.text, note.facts)) is None   # DIAGNOSIS only
    assert diagnosis.diagnosed_mistake(Note(NoteKind.DIAGNOSIS, note.text)) is None     # the facts, not the text
    assert Note.from_json(note.to_json()) == note                                        # as the gradebook stores it


# ---- the diagnostic cases never change a score ----------------------------------------------
def _graded_and_diagnostic(ctx, edit: Edit | None, probe: str):
    reference = qa.reference_of(ctx, TOPIC1)
    graded = probes.draw_inputs(reference, (probe,), policy=ctx.config.reference, student="s")[probe]
    diagnostic = diagnosis.diagnostic_inputs(reference, probe)
    program = diagnosis.notebook_program(ctx.sources[TOPIC1], edit)
    outputs = qa.outputs_of(program, {probe: {**{str(i): kw for i, kw in enumerate(graded)},
                                              **{diagnosis.case_name(i): kw for i, kw in enumerate(diagnostic)}}})
    return reference, graded, outputs


@pytest.mark.parametrize("wrong", [False, True], ids=["correct", "wrong"])
def test_the_diagnostic_cases_never_change_a_verdict(ctx, wrong: bool) -> None:
    rewrite = next(r for r in TOPIC1_REWRITES if r.mutant == "lstm_missing_forget_gate")
    edit = Edit(cell=rewrite.cell, source=rewrite.source) if wrong else None
    reference, graded, outputs = _graded_and_diagnostic(ctx, edit, "lstm_cell_forward")
    diagnostic = [k for k in outputs.arrays if k.split(probes.SEP)[1].startswith(diagnosis.CASE_PREFIX)]
    assert len(diagnostic) == diagnosis.DIAGNOSTIC_CASES
    without = dataclasses.replace(outputs, arrays={k: v for k, v in outputs.arrays.items() if k not in diagnostic})
    garbage = dataclasses.replace(outputs, arrays={**outputs.arrays, **{k: (np.full(3, np.nan),) for k in diagnostic}})
    raising = dataclasses.replace(without, errors={k: "ZeroDivisionError" for k in diagnostic})

    def verdict(got):
        return probes.compare("t", "lstm_cell_forward", 2.0, reference=reference, cases=graded, outputs=got,
                              policy=ctx.config.reference)
    verdicts = {verdict(o) for o in (outputs, without, garbage, raising)}
    assert len(verdicts) == 1
    assert verdicts.pop().status == ("failed" if wrong else "passed")


def test_diagnostic_cases_are_written_beside_the_graded_ones_under_their_own_names(tmp_path: Path) -> None:
    graded = {"f": [{"x": np.zeros(2)}, {"x": np.ones(2)}]}
    probes.write_inputs(tmp_path, graded, extra={"f": {"d0": {"x": np.full(2, 7.0)}}})
    with np.load(tmp_path / probes.INPUTS_FILE) as data:
        assert sorted(data.files) == ["f|0|x", "f|1|x", "f|d0|x"]
    with pytest.raises(ValueError, match="reuse the graded case names"):
        probes.write_inputs(tmp_path, graded, extra={"f": {"1": {"x": np.zeros(2)}}})


def test_only_plain_array_probes_get_diagnostic_cases(ctx) -> None:
    chosen = {}
    for nb, sol in ctx.solutions.items():
        spec = next(s for s in ctx.spec.notebooks if s.name == nb)
        chosen[nb] = tuple(diagnosis.diagnostic_cases(qa.reference_of(ctx, nb), spec.probes))
    assert chosen["03_text_classification"] == ()             # Keras objects and returned models only
    assert "build_model" not in chosen["02_word_embeddings"] and "export_projector_files" not in chosen["02_word_embeddings"]
    assert "generate" not in chosen["04_text_generation"]     # its inputs replace notebook globals
    assert set(chosen["05_time_series"]) >= {"make_windows", "mae"}
    reference = qa.reference_of(ctx, TOPIC1)
    assert diagnosis.diagnostic_inputs(reference, "rnn_forward")[0]["x"].tobytes() == \
        diagnosis.diagnostic_inputs(reference, "rnn_forward")[0]["x"].tobytes()       # fixed, public


# ---- mutant outputs are computed once, kept by content hash ---------------------------------
def test_mutant_outputs_are_cached_by_content(tmp_path: Path, monkeypatch) -> None:
    program = "import numpy as np\n\ndef f(x):\n    return np.sin(x), 'a'\n"
    cases = [{"x": np.arange(3.0)}, {"x": np.ones(2)}]
    first = diagnosis.program_outputs(program, "f", cases, cache=tmp_path)
    assert len(list(tmp_path.glob("*.npz"))) == 1
    monkeypatch.setattr(diagnosis, "run_program", lambda *a, **k: pytest.fail("recomputed a cached program"))
    again = diagnosis.program_outputs(program, "f", cases, cache=tmp_path)
    assert diagnosis.same_outputs(first, again, 0.0) and str(again[0][1]) == "a"
    monkeypatch.undo()
    diagnosis.program_outputs(program.replace("sin", "cos"), "f", cases, cache=tmp_path)
    diagnosis.program_outputs(program, "f", cases[:1], cache=tmp_path)
    assert len(list(tmp_path.glob("*.npz"))) == 3
    broken = diagnosis.program_outputs("def f(x):\n    return 1 / 0\n", "f", cases, cache=tmp_path)
    assert broken == ["ZeroDivisionError", "ZeroDivisionError"]
    with np.load(next(iter(tmp_path.glob("*.npz"))), allow_pickle=False):
        pass                                                   # plain arrays, no pickles


def test_definitions_keep_imports_functions_and_literals_only() -> None:
    cell = "import numpy as np\nN = 3\nx = np.ones(N)\nprint(x)\ndef f():\n    return N\nplt_show()\n"
    assert diagnosis.definitions(cell) == "import numpy as np\nN = 3\n\ndef f():\n    return N"
    assert diagnosis.definitions("def (:") == ""


# ---- the class report counts misconceptions ---------------------------------------------------
def test_the_class_report_counts_each_misconception_once_per_student() -> None:
    def nb(student: str, *named: tuple[str, str, str], notebook: str = TOPIC1):
        return SimpleNamespace(student=student, notebook=notebook, notes=tuple(
            Note(NoteKind.DIAGNOSIS, f"about {f}", (("function", f), ("mutant", m), ("description", d)))
            for f, m, d in named))
    gate = ("lstm_cell_forward", "lstm_missing_forget_gate", "no forget gate")
    bias = ("rnn_cell_forward", "cell_missing_bias", "the bias is left out")
    bias_in_forward = ("rnn_forward", "cell_missing_bias", "the bias is left out")
    rows = misconceptions([nb("ann", gate, bias, bias_in_forward), nb("bob", gate), nb("cy", bias),
                           SimpleNamespace(student="dee", notebook=TOPIC1,
                                           notes=(Note(NoteKind.DIAGNOSIS, "a diagnosis with no facts"),)),
                           SimpleNamespace(student="eve", notebook=TOPIC1, notes=(Note(
                               NoteKind.TAMPERING, "x", (("function", "f"), ("mutant", "cell_missing_bias"),
                                                         ("description", "d"))),))])
    assert [(m.mutant, m.students, m.functions) for m in rows] == [
        ("cell_missing_bias", 2, ("rnn_cell_forward", "rnn_forward")),
        ("lstm_missing_forget_gate", 2, ("lstm_cell_forward",))]
    assert NoteKind.DIAGNOSIS in NOT_FLAGGED and NoteKind.DIAGNOSIS not in NOTE_FLAGS


# ---- end to end: a real submission through the kernel -----------------------------------------
@pytest.mark.slow
def test_a_graded_submission_carries_the_diagnosis_and_the_class_report_counts_it(tmp_path: Path,
                                                                                  course_root: Path) -> None:
    from autograder.reports.report import write_report
    from autograder.run.batch import grade_path

    config = load_config(course_root).with_gradebook(tmp_path / "gb.db")
    context = load_context(config)
    context = dataclasses.replace(context, mistakes={nb: dataclasses.replace(k, cache=tmp_path / "cache")
                                                     for nb, k in context.mistakes.items()})
    answers = reference_answers(context.sources[TOPIC1])
    rewrite = next(r for r in TOPIC1_REWRITES if r.mutant == "lstm_missing_forget_gate")
    for student, cells in {"correct": answers, "no_forget_gate": {**answers, rewrite.cell: rewrite.source}}.items():
        folder = tmp_path / "sub" / student / config.assignment
        folder.mkdir(parents=True)
        nbformat.write(fill(context.releases[TOPIC1], cells), str(folder / f"{TOPIC1}.ipynb"))
    report = grade_path(config=config, path=tmp_path / "sub", progress=False, context=context)
    results = {r.student: r.notebooks[0] for r in report.results}
    assert results["correct"].score == AUTOGRADED_MAX
    assert results["no_forget_gate"].score == AUTOGRADED_MAX - exercise_points("lstm_cell_forward")
    assert [n for n in results["correct"].notes if n.kind is NoteKind.DIAGNOSIS] == []
    found = [n.text for n in results["no_forget_gate"].notes if n.kind is NoteKind.DIAGNOSIS]
    assert found == ["your `lstm_cell_forward` behaves like a known mistake (lstm_missing_forget_gate): "
                     "missing gate: the forget gate is dropped, c_prev never enters"]
    assert list((tmp_path / "cache").glob("*.npz"))      # mutant outputs kept
    html = (tmp_path / "report.html")
    built = write_report(config=config, output=html)
    assert [(m.mutant, m.students) for m in built.misconceptions] == [("lstm_missing_forget_gate", 1)]
    assert "lstm_missing_forget_gate" in html.read_text()


HANGS_ON_DIAGNOSTICS = '''
import sys
import time

_harness_calls = 0

def lstm_cell_forward(x_t, h_prev, c_prev, W, U, b):
    global _harness_calls
    if sys._getframe(1).f_code.co_name == "__autograder_run_probes":
        _harness_calls += 1
        while _harness_calls > 5:          # every call of the harness after the 5 graded cases
            time.sleep(0.05)
    z_i, z_f, z_g, z_o = np.split(x_t @ W + h_prev @ U + b, 4, axis=1)
    i, f, o = (1.0 / (1.0 + np.exp(-z)) for z in (z_i, z_f, z_o))
    c_next = f * c_prev + i * np.tanh(z_g)
    return o * np.tanh(c_next), c_next
'''


@pytest.mark.slow
def test_a_function_that_hangs_on_the_diagnostic_cases_keeps_every_point(tmp_path: Path, course_root: Path) -> None:
    """The harness runs every graded case first and saves their outputs before the first diagnostic case,
    so a kernel stuck (and killed) on a diagnostic case still has its graded outputs read back."""
    from autograder.config import Timeouts
    from autograder.run.batch import grade_path

    config = load_config(course_root).with_gradebook(tmp_path / "gb.db")
    config = dataclasses.replace(config, timeouts=Timeouts(cell_s=3, notebook_s=120, cells={}))
    context = dataclasses.replace(load_context(config), config=config)
    assert context.config.reference.cases == 5
    answers = {**reference_answers(context.sources[TOPIC1]), "lstm_cell_forward": HANGS_ON_DIAGNOSTICS}
    folder = tmp_path / "sub" / "stuck" / config.assignment
    folder.mkdir(parents=True)
    nbformat.write(fill(context.releases[TOPIC1], answers), str(folder / f"{TOPIC1}.ipynb"))
    nb = grade_path(config=config, path=tmp_path / "sub", progress=False, context=context).results[0].notebooks[0]
    assert any(n.kind is NoteKind.TIMEOUT for n in nb.notes), nb.notes          # it did hang, in the harness
    assert nb.score == AUTOGRADED_MAX, [(t.test, t.reason) for t in nb.tests if t.points < t.max_points]
