"""Name the student's mistake: which planted mutant (`mutants/<notebook>.toml`) a failing function behaves like.

When the grader's comparison of a probe P fails, the student's P is compared with every mutant of
its notebook on a small, fixed, public set of diagnostic inputs; a mutant whose outputs the
student's reproduce gives a DIAGNOSIS note in the mutant's words:
"your `lstm_cell_forward` behaves like a known mistake (lstm_missing_forget_gate): missing gate: ...".

Decisions:
- **Diagnostic inputs** are `DIAGNOSTIC_CASES` cases per probe, drawn from the probe's own input
  generator with the public seed `DIAGNOSTIC_SEED` (unrelated to `reference.seed`, the same for every
  student). They travel with the graded inputs as extra cases named `d0`, `d1`, ... through the same
  untrusted-file path (`probe_inputs.npz` -> harness -> `probe_outputs.npz`), so no second kernel
  runs. `probes.compare` reads only the cases `0 .. reference.cases - 1`: what the student's function
  does on a diagnostic case (right, wrong, raising) never changes a point, and nothing of it is shown.
  The harness runs every graded case first and saves their outputs before the first diagnostic case,
  so a function that hangs there (the kernel is interrupted or killed) keeps the points it earned.
- **Only plain array probes are diagnosable**: a reference that is a function without
  `uses_keras`, whose inputs hold no Keras recipe and no `global:` / `apply:` keys. ReturnedModel and
  WrittenFiles probes, and those built on Keras objects, get no diagnostic cases and no diagnosis.
- **Mutant outputs are computed by the grader**, never in the student's kernel: the source notebook's
  code cells other than grade cells, cut to their definitions (imports, `def`, `class`, assignments of
  literals: `definitions`), with the mutant's edit applied, are executed in a fresh namespace of the
  grader's process (trusted instructor code; no top-level computation, training or plotting runs),
  and P is called on each diagnostic input. The reference program built the same way must reproduce
  `solutions/`' reference on them, else the probe is not diagnosable (a function that needs a
  notebook global computed at run time). Outputs are kept in `<data cache>/diagnosis/<sha256>.npz`
  (no pickles), keyed by the program's text, the probe, the diagnostic inputs and numpy's version,
  so a mutant is run once per content.
- **Matching** uses the grader's tolerance (`reference.rtol`) on every diagnostic case. A mutant
  whose outputs equal the reference's on those inputs is left out (not diagnosable there), so a
  correct answer is never diagnosed. Mutants of the cell that defines P are preferred; only when
  none matches are mutants of other cells named (P calls a function they change, e.g. `rnn_forward`
  and a wrong `rnn_cell_forward`). Several matching mutants give one note each: on these inputs
  they cannot be told apart.
- The note names the mutant's id in parentheses for the student, and carries the function, mutant id
  and description as the note's facts; `diagnosed_mistake` reads those back for the class report's
  misconception counts (never the text).
- A changed `mutants/` file re-diagnoses on the next grading of a submission, not retroactively: the
  mutant files are not part of a result's key (a diagnosis never changes a grade); `grade --force`.
"""
from __future__ import annotations

import ast
import hashlib
import io
import os
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Mapping, Sequence

import numpy as np
from nbformat import NotebookNode

from autograder.config import ReferencePolicy
from autograder.course.mutants import Edit, Mutant, MutantSet
from autograder.course.notebooks import grade_id, is_grade
from autograder.grading.verdicts.probes import (
    APPLY,
    GLOBAL,
    SEP,
    ProbeOutputs,
    Reference,
    ReturnedModel,
    WrittenFiles,
    _difference,
    _expected,
    _stable_int,
)
from autograder.results import Note, NoteKind

DIAGNOSTIC_SEED = 15          # public and fixed (the project's issue 15); unrelated to reference.seed
DIAGNOSTIC_CASES = 3
CASE_PREFIX = "d"             # diagnostic case i is written as case "d<i>" beside the graded cases 0 .. n-1
CACHE_FOLDER = "diagnosis"

Outputs = tuple[np.ndarray, ...] | str       # a call's outputs, or the name of the exception it raised


def case_name(i: int) -> str:
    return f"{CASE_PREFIX}{i}"


def _plain_call(reference: Reference, probe: str) -> bool:
    ref = reference.functions.get(probe)
    return (callable(ref) and not isinstance(ref, (ReturnedModel, WrittenFiles))
            and not getattr(ref, "uses_keras", False) and probe in reference.generators)


def diagnostic_inputs(reference: Reference, probe: str) -> list[dict[str, Any]]:
    """The fixed, public diagnostic cases of one probe (the same for every student and run)."""
    rng = np.random.default_rng([DIAGNOSTIC_SEED, _stable_int(probe)])
    return [reference.generators[probe](rng) for _ in range(DIAGNOSTIC_CASES)]


def diagnostic_cases(reference: Reference, probes: Sequence[str]) -> dict[str, list[dict[str, Any]]]:
    """probe -> its diagnostic cases, for the diagnosable probes among `probes` (plain array calls)."""
    cases = {}
    for probe in probes:
        if not _plain_call(reference, probe):
            continue
        runs = diagnostic_inputs(reference, probe)
        if all(not isinstance(v, Mapping) and not k.startswith((GLOBAL, APPLY)) for kw in runs for k, v in kw.items()):
            cases[probe] = runs
    return cases


# ---- the grader's programs: a notebook's definitions, with or without a mutant's edit -------------------
def _is_definition(node: ast.stmt) -> bool:
    if isinstance(node, (ast.Import, ast.ImportFrom, ast.FunctionDef, ast.ClassDef)):
        return True
    if isinstance(node, (ast.Assign, ast.AnnAssign)) and node.value is not None:
        try:
            ast.literal_eval(node.value)
        except (ValueError, TypeError, SyntaxError, MemoryError, RecursionError):
            return False
        return True
    return False


def definitions(source: str) -> str:
    """The imports, functions, classes and literal assignments of one cell, as source ("" if it does not parse)."""
    try:
        tree = ast.parse(source)
    except SyntaxError:
        return ""
    return ast.unparse(ast.Module(body=[n for n in tree.body if _is_definition(n)], type_ignores=[]))


def defined_functions(source: str) -> frozenset[str]:
    try:
        tree = ast.parse(source)
    except SyntaxError:
        return frozenset()
    return frozenset(n.name for n in tree.body if isinstance(n, ast.FunctionDef))


def notebook_program(source: NotebookNode, edit: Edit | None = None, *, where: str = "") -> str:
    """The definitions of the source notebook's code cells other than grade cells, with `edit` applied
    to its answer cell: what the grader runs for the reference (no edit), a mutant, or a rewrite."""
    parts = []
    for cell in source.cells:
        if cell.cell_type != "code" or is_grade(cell):
            continue
        text = cell.source
        if edit is not None and grade_id(cell) == edit.cell:
            text = edit.apply(text, where=where or f"cell '{edit.cell}'")
        parts.append(definitions(text))
    return "\n\n".join(p for p in parts if p)


@dataclass(frozen=True)
class KnownMistakes:
    """What the grader needs to diagnose one notebook: its reference program and each mutant's."""

    notebook: str
    reference_program: str
    programs: Mapping[str, str]                  # mutant id -> program with its edit
    mutants: tuple[Mutant, ...]
    defines: Mapping[str, frozenset[str]]        # answer cell grade_id -> functions it defines
    cache: Path | None = None                    # where mutant outputs are kept (None: not kept)

    @classmethod
    def build(cls, source: NotebookNode, mutants: MutantSet, *, cache: Path | None) -> "KnownMistakes":
        programs = {m.id: notebook_program(source, m.edit, where=f"{mutants.path}: mutant '{m.id}'")
                    for m in mutants.mutants}
        return cls(notebook=mutants.notebook, reference_program=notebook_program(source), programs=programs,
                   mutants=mutants.mutants, cache=cache,
                   defines={grade_id(c): defined_functions(c.source) for c in source.cells
                            if c.cell_type == "code" and not is_grade(c) and grade_id(c)})


def _plain(part: Any) -> np.ndarray:
    """An output as the harness hands it back: text as str arrays, everything else float64."""
    if isinstance(part, os.PathLike):
        part = os.fspath(part)
    array = np.asarray(part)
    if array.dtype.kind == "S":
        array = np.char.decode(array, "utf-8")
    return array if array.dtype.kind == "U" else array.astype(np.float64)


def run_program(program: str, probe: str, cases: Sequence[Mapping[str, Any]]) -> list[Outputs]:
    """Execute `program` in a fresh namespace and call `probe` on each case (in the grader's process)."""
    namespace: dict[str, Any] = {"__name__": "autograder_diagnosis"}
    try:
        exec(compile(program, "<diagnosis>", "exec"), namespace)     # noqa: S102 -- the course's own source
    except Exception as exc:
        return [type(exc).__name__] * len(cases)
    function = namespace.get(probe)
    if not callable(function):
        return ["NameError"] * len(cases)
    out: list[Outputs] = []
    for kwargs in cases:
        call = {k: (v.copy() if isinstance(v, np.ndarray) else v) for k, v in kwargs.items()}
        try:
            with np.errstate(all="ignore"):
                result = function(**call)
            out.append(tuple(_plain(p) for p in (result if isinstance(result, tuple) else (result,))))
        except Exception as exc:
            out.append(type(exc).__name__)
    return out


def _cache_key(program: str, probe: str, cases: Sequence[Mapping[str, Any]]) -> str:
    digest = hashlib.sha256()
    for text in (program, probe, np.__version__):
        digest.update(text.encode() + b"\0")
    for kwargs in cases:
        for key in sorted(kwargs):
            array = np.asarray(kwargs[key])
            digest.update(f"{key}|{array.dtype.str}|{array.shape}\0".encode() + array.tobytes())
    return digest.hexdigest()


def _load(path: Path, n: int) -> list[Outputs] | None:
    try:
        with np.load(path, allow_pickle=False) as data:
            stored = {k: data[k] for k in data.files}
    except (OSError, ValueError):
        return None
    out: list[Outputs] = []
    for i in range(n):
        error = stored.get(f"{i}{SEP}error")
        if error is not None:
            out.append(str(error))
            continue
        parts, j = [], 0
        while f"{i}{SEP}{j}" in stored:
            parts.append(stored[f"{i}{SEP}{j}"])
            j += 1
        out.append(tuple(parts))
    return out


def _store(path: Path, outputs: Sequence[Outputs]) -> None:
    arrays = {}
    for i, got in enumerate(outputs):
        if isinstance(got, str):
            arrays[f"{i}{SEP}error"] = np.array(got)
        else:
            arrays.update({f"{i}{SEP}{j}": part for j, part in enumerate(got)})
    buffer = io.BytesIO()
    np.savez(buffer, **arrays)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, partial = tempfile.mkstemp(dir=path.parent, prefix=path.name, suffix=".partial")
    with os.fdopen(fd, "wb") as handle:
        handle.write(buffer.getvalue())
    os.replace(partial, path)


def program_outputs(program: str, probe: str, cases: Sequence[Mapping[str, Any]], *,
                    cache: Path | None) -> list[Outputs]:
    """`run_program`, kept in `cache` by content hash (computed once per program, probe and inputs)."""
    path = cache / f"{_cache_key(program, probe, cases)}.npz" if cache is not None else None
    if path is not None:
        stored = _load(path, len(cases))
        if stored is not None:
            return stored
    outputs = run_program(program, probe, cases)
    if path is not None:
        try:
            _store(path, outputs)
        except (OSError, ValueError):       # a read-only or full cache: computed again next time
            pass
    return outputs


# ---- matching ---------------------------------------------------------------------------------------
def same_outputs(a: Sequence[Outputs], b: Sequence[Outputs], rtol: float) -> bool:
    """Every case returned outputs of the same shapes, equal within `rtol` (no case raised)."""
    if len(a) != len(b):
        return False
    for got, want in zip(a, b):
        if isinstance(got, str) or isinstance(want, str) or len(got) != len(want):
            return False
        for g, w in zip(got, want):
            if g.shape != w.shape or not _difference(g, w) <= rtol:
                return False
    return True


def student_outputs(outputs: ProbeOutputs, probe: str, n: int) -> list[Outputs]:
    """What the student's function returned on the n diagnostic cases (an exception's name, or
    "missing" when the harness wrote nothing for a case)."""
    got: list[Outputs] = []
    for i in range(n):
        key = f"{probe}{SEP}{case_name(i)}"
        got.append(outputs.errors[key] if key in outputs.errors else outputs.arrays.get(key, "missing"))
    return got


def note_text(probe: str, mutant: Mutant, *, own_cell: bool) -> str:
    where = "" if own_cell else f" in `{mutant.cell}`"
    return f"your `{probe}` behaves like a known mistake{where} ({mutant.id}): {mutant.description}"


def diagnosis_note(probe: str, mutant: Mutant, *, own_cell: bool) -> Note:
    """The DIAGNOSIS note: the words for the student, and the function, mutant and description as facts."""
    return Note(NoteKind.DIAGNOSIS, note_text(probe, mutant, own_cell=own_cell),
                facts=(("function", probe), ("mutant", mutant.id), ("description", mutant.description)))


def diagnosed_mistake(note: Note) -> tuple[str, str, str] | None:
    """(function, mutant id, description) of a DIAGNOSIS note (from its facts); None for any other note."""
    if note.kind is not NoteKind.DIAGNOSIS:
        return None
    named = (note.fact("function"), note.fact("mutant"), note.fact("description"))
    return named if all(x is not None for x in named) else None


def matching_mutants(probe: str, student: Sequence[Outputs], *, reference: Reference, known: KnownMistakes,
                     cases: Sequence[Mapping[str, Any]], rtol: float) -> tuple[list[Mutant], bool]:
    """The mutants whose outputs on `cases` the student's reproduce, and whether they are of P's own cell.

    Mutants equal to the reference on `cases` are left out (not diagnosable there); so is the probe
    when the grader's reference program does not reproduce the reference."""
    if any(isinstance(s, str) for s in student):
        return [], False
    expected = [_expected(reference, probe, kwargs) for kwargs in cases]
    expected = [tuple(_plain(w) for w in want) for want in expected]
    if not same_outputs(program_outputs(known.reference_program, probe, cases, cache=known.cache), expected, rtol):
        return [], False
    matches = []
    for mutant in known.mutants:
        got = program_outputs(known.programs[mutant.id], probe, cases, cache=known.cache)
        if same_outputs(got, expected, rtol) or not same_outputs(student, got, rtol):
            continue
        matches.append(mutant)
    own = [m for m in matches if probe in known.defines.get(m.cell, ())]
    return (own, True) if own else (matches, False)


def diagnose(probe: str, outputs: ProbeOutputs | None, *, reference: Reference, known: KnownMistakes,
             cases: Sequence[Mapping[str, Any]], policy: ReferencePolicy) -> tuple[Note, ...]:
    """DIAGNOSIS notes for a probe whose comparison failed: one per known mistake it behaves like.

    Never raises: a diagnosis that cannot be made (an unreadable cache, a reference that fails on a
    diagnostic input) is no diagnosis, and the grade it would have annotated stands as it is."""
    if outputs is None or not cases:
        return ()
    student = student_outputs(outputs, probe, len(cases))
    try:
        mutants, own = matching_mutants(probe, student, reference=reference, known=known, cases=cases,
                                        rtol=policy.rtol)
    except Exception:
        return ()
    return tuple(diagnosis_note(probe, m, own_cell=own) for m in mutants)
