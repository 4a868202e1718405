"""Mutants in mutants/: the files fit the current source, topic 1's mutants are all killed by
their targeted tests through the real pipeline, a harmless mutant survives and fails validation,
and a broken mutant file stops with an error naming the mutant."""
from __future__ import annotations

import csv
import subprocess
import sys
from pathlib import Path

import pytest

from autograder.config import load_config
from autograder.course.mutants import (
    MutantError,
    check,
    load_mutants,
    parse_mutant_file,
    submission,
)
from autograder.course.notebooks import grade_id, is_grade, is_solution
from autograder.grading.pipeline import load_context

TOPIC1 = "01_rnn_basics"
AUTOGRADER = Path(sys.executable).parent / "autograder"
HARMLESS = '''
[[mutant]]
id = "comment_only"
cell = "rnn_cell_forward"
description = "adds a comment: the answer is unchanged"
find = "return np.tanh("
replace = "# only a comment\\n    return np.tanh("
kills = ["rnn_cell_forward_reference"]

[[mutant]]
id = "cell_missing_bias"
cell = "rnn_cell_forward"
description = "the bias is left out"
find = "return np.tanh(x_t @ Wx + h_prev @ Wh + b)"
replace = "return np.tanh(x_t @ Wx + h_prev @ Wh)"
kills = ["test_rnn_cell_forward_hidden", "rnn_cell_forward_reference"]
'''


@pytest.fixture(scope="module")
def ctx(course_root: Path):
    return load_context(load_config(course_root))


def test_every_notebook_has_mutants_that_apply_to_the_current_source(ctx, course_root: Path) -> None:
    sets = load_mutants(course_root / "mutants", ctx.spec.notebooks, ctx.sources)
    assert [s.notebook for s in sets] == [nb.name for nb in ctx.spec.notebooks]
    for s in sets:
        answers = {grade_id(c) for c in ctx.sources[s.notebook].cells if is_solution(c) and not is_grade(c)}
        assert {m.cell for m in s.mutants} == answers, f"{s.notebook}: every exercise needs a mutant"
        for m in s.mutants:
            built = submission(ctx.sources[s.notebook], s, m)
            changed = [c.id for c, o in zip(built.cells, ctx.sources[s.notebook].cells) if c.source != o.source]
            assert m.cell in changed and set(changed) <= {m.cell} | {e.cell for e in s.fast}, (s.notebook, m.id)


def _write(folder: Path, text: str) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{TOPIC1}.toml"
    path.write_text(text, encoding="utf-8")
    return path


@pytest.mark.parametrize("change, message", [
    (("np.tanh(x_t @ Wx", "np.tanh(x_t @ Wy"), "`find` occurs 0 times in cell 'rnn_cell_forward'"),
    (('find = "return np.tanh(x_t @ Wx + h_prev @ Wh + b)"', 'find = "h_prev @ Wh + b"'), "`find` occurs 2 times"),
    (('kills = ["test_rnn_cell_forward_hidden"', 'kills = ["test_rnn_cell_forward_hiden"'),
     "names tests that 01_rnn_basics does not have: ['test_rnn_cell_forward_hiden']"),
    (('cell = "rnn_cell_forward"\ndescription = "the bias', 'cell = "imports"\ndescription = "the bias'),
     "'imports' is not an answer cell"),
    (('kills = ["test_rnn_cell_forward_hidden"', 'kill = ["test_rnn_cell_forward_hidden"'), "unknown keys ['kill']"),
    (('replace = "return np.tanh(x_t @ Wx + h_prev @ Wh)"', 'source = "def f(): pass"'), "not both or neither"),
])
def test_a_broken_mutant_names_itself(ctx, tmp_path: Path, change: tuple[str, str], message: str) -> None:
    old, new = change
    assert old in HARMLESS
    path = _write(tmp_path, HARMLESS.replace(old, new, 1))
    with pytest.raises(MutantError) as error:
        check(parse_mutant_file(path, TOPIC1), ctx.spec.notebook(TOPIC1), ctx.sources[TOPIC1])
    assert "mutant 'cell_missing_bias'" in str(error.value) and message in str(error.value)


def test_unreadable_toml_and_duplicate_ids_are_errors(tmp_path: Path) -> None:
    with pytest.raises(MutantError, match="cannot be read as TOML"):
        parse_mutant_file(_write(tmp_path / "a", HARMLESS + "\n[[mutant]\n"), TOPIC1)
    with pytest.raises(MutantError, match="mutant 'comment_only' is defined twice"):
        parse_mutant_file(_write(tmp_path / "b", HARMLESS.replace("cell_missing_bias", "comment_only")), TOPIC1)


@pytest.mark.slow
def test_every_topic1_mutant_is_killed_by_its_targeted_tests(course_root: Path, full_validation) -> None:
    """Each mutant is caught by its hidden test and the grader's reference comparison, and every
    test of the notebook (visible, hidden, reference) is failed by some mutant (read from the
    whole course's validation, which grades topic 1's mutants through the real pipeline)."""
    ctx = load_context(load_config(course_root))
    mutants = load_mutants(course_root / "mutants", (ctx.spec.notebook(TOPIC1),), ctx.sources)[0].mutants
    rows = {r["mutant"]: r for r in full_validation.rows if r["notebook"] == TOPIC1}
    assert mutants and set(rows) == {m.id for m in mutants}, sorted(rows)
    hit = set()
    for mutant in mutants:
        lost = full_validation.lost(mutant.id)
        assert rows[mutant.id]["verdict"] == "killed", rows[mutant.id]
        assert lost >= set(mutant.kills) | {f"test_{mutant.cell}_hidden", f"{mutant.cell}_reference"}, rows[mutant.id]
        hit |= lost
    tests = {t.grade_id for t in ctx.spec.notebook(TOPIC1).tests if not t.manual}
    assert tests <= hit, sorted(tests - hit)


@pytest.mark.slow
def test_a_harmless_mutant_survives_and_fails_validation(scratch_course: Path, tmp_path: Path) -> None:
    """Through the CLI: the other notebooks are not handed in, and that must not count as a kill."""
    _write(scratch_course / "mutants", HARMLESS)
    out = tmp_path / "mutants.csv"
    result = subprocess.run([str(AUTOGRADER), "validate", "--notebook", TOPIC1, "--mutants-only", "--no-progress",
                             "--report", str(out)], cwd=scratch_course, capture_output=True, text=True, timeout=600)
    assert result.returncode == 1, result.stdout + result.stderr
    assert "mutant 01_rnn_basics/comment_only SURVIVED: no test lost points" in result.stdout
    rows = {r["mutant"]: r for r in csv.DictReader(out.open(encoding="utf-8"))}
    assert rows["comment_only"]["verdict"] == "SURVIVED" and rows["comment_only"]["killed_by"] == ""
    assert rows["cell_missing_bias"]["verdict"] == "killed"
    assert "test_rnn_cell_forward_hidden (-1)" in rows["cell_missing_bias"]["killed_by"]
    assert "rnn_cell_forward_reference (-2)" in rows["cell_missing_bias"]["killed_by"]
