"""How well the diagnosis names planted mistakes that students write their own way.

`tests/diagnosis_rewrites.toml` holds, for each mutant the diagnosis can name, the same bug written a
second way by hand (another syntax: `np.matmul` for `@`, `np.einsum`, a loop for vectorised code, a
sigmoid through `tanh`), and correct answers written another way (`[[control]]`). Each is judged
grader-side, without a kernel: the reference notebook's definitions with that one answer cell
replaced (`diagnosis.notebook_program`) are run on the grader's random inputs for a student and on the
diagnostic inputs, and turned into the `ProbeOutputs` the harness would have written; then every
probe is compared as the pipeline compares it, and each failed comparison is diagnosed as the
pipeline diagnoses it. `bench/diagnosis_rate.py` prints the rate over every mutant of the course;
`tests/test_diagnosis.py` asserts it mutant by mutant (and one real kernel run, end to end).
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any, Mapping

try:
    import tomllib
except ModuleNotFoundError:      # Python 3.10
    import tomli as tomllib

from autograder.course.mutants import Edit
from autograder.grading.pipeline import GradingContext
from autograder.grading.verdicts import diagnosis, probes
from autograder.grading.verdicts.probes import SEP, ProbeOutputs, Reference

STUDENT = "diagnosis-rewrite"        # the student id the random inputs are drawn for


@dataclass(frozen=True)
class Rewrite:
    """One answer cell written by hand: the bug of `mutant` in another syntax, or (mutant "") a correct answer."""

    notebook: str
    cell: str
    source: str
    mutant: str = ""


def load_rewrites(path: Path, ctx: GradingContext) -> tuple[Rewrite, ...]:
    data = tomllib.loads(path.read_text(encoding="utf-8"))
    cells = {(nb, m.id): m.cell for nb, known in ctx.mistakes.items() for m in known.mutants}
    found = []
    for table in data.get("rewrite", []):
        key = (table["notebook"], table["mutant"])
        if key not in cells:
            raise ValueError(f"{path}: no mutant '{key[1]}' in mutants/{key[0]}.toml")
        found.append(Rewrite(notebook=key[0], cell=cells[key], source=table["source"], mutant=key[1]))
    found += [Rewrite(notebook=t["notebook"], cell=t["cell"], source=t["source"]) for t in data.get("control", [])]
    return tuple(found)


def reference_of(ctx: GradingContext, notebook: str) -> Reference:
    sol = ctx.solutions[notebook]
    return Reference(functions=sol.functions, generators=sol.generators)


def outputs_of(program: str, cases: Mapping[str, Mapping[str, list[Mapping[str, Any]]]]) -> ProbeOutputs:
    """What the harness would hand back for a student whose notebook defines `program`:
    probe -> case name -> kwargs, run grader-side (`diagnosis.run_program`)."""
    arrays, errors = {}, {}
    for probe, named in cases.items():
        names = list(named)
        for name, got in zip(names, diagnosis.run_program(program, probe, [named[n] for n in names])):
            if isinstance(got, str):
                errors[f"{probe}{SEP}{name}"] = got
            else:
                arrays[f"{probe}{SEP}{name}"] = got
    return ProbeOutputs(arrays=arrays, errors=errors)


@dataclass(frozen=True)
class Judged:
    """What grading a rewrite grader-side gives: the probes whose comparison failed, and the mutants named."""

    failed: tuple[str, ...]
    named: Mapping[str, tuple[str, ...]]      # probe -> mutant ids of its DIAGNOSIS notes


def judge(ctx: GradingContext, notebook: str, edit: Edit | None) -> Judged:
    """Compare every probe of `notebook` as the pipeline does, and diagnose each failed comparison."""
    known = ctx.mistakes[notebook]
    reference = reference_of(ctx, notebook)
    spec = next(nb for nb in ctx.spec.notebooks if nb.name == notebook)
    diagnostic = diagnosis.diagnostic_cases(reference, spec.probes)
    graded = probes.draw_inputs(reference, tuple(diagnostic), policy=ctx.config.reference, student=STUDENT)
    program = diagnosis.notebook_program(ctx.sources[notebook], edit)
    cases = {p: {**{str(i): kw for i, kw in enumerate(graded[p])},
                 **{diagnosis.case_name(i): kw for i, kw in enumerate(diagnostic[p])}} for p in diagnostic}
    outputs = outputs_of(program, cases)
    failed, named = [], {}
    for probe in diagnostic:
        verdict = probes.compare(probe, probe, 1.0, reference=reference, cases=graded[probe], outputs=outputs,
                                 policy=ctx.config.reference)
        if verdict.status != "failed":
            continue
        failed.append(probe)
        notes = diagnosis.diagnose(probe, outputs, reference=reference, known=known, cases=diagnostic[probe],
                                   policy=ctx.config.reference)
        named[probe] = tuple(m for _, m, _ in filter(None, map(diagnosis.diagnosed_mistake, notes)))
    return Judged(failed=tuple(failed), named=named)


def diagnosable(ctx: GradingContext, notebook: str) -> dict[str, tuple[str, ...]]:
    """mutant id -> the diagnosable probes of the cell it changes on which its outputs differ from the
    reference's (empty: the diagnosis cannot name it)."""
    known = ctx.mistakes[notebook]
    reference = reference_of(ctx, notebook)
    spec = next(nb for nb in ctx.spec.notebooks if nb.name == notebook)
    diagnostic = diagnosis.diagnostic_cases(reference, spec.probes)
    found = {}
    for mutant in known.mutants:
        hits = []
        for probe in sorted(known.defines.get(mutant.cell, ()) & set(diagnostic)):
            cases = diagnostic[probe]
            expected = [tuple(diagnosis._plain(w) for w in probes._expected(reference, probe, kw)) for kw in cases]
            got = diagnosis.program_outputs(known.programs[mutant.id], probe, cases, cache=known.cache)
            if not any(isinstance(g, str) for g in got) and not diagnosis.same_outputs(got, expected,
                                                                                      ctx.config.reference.rtol):
                hits.append(probe)
        found[mutant.id] = tuple(hits)
    return found


@dataclass(frozen=True)
class RateRow:
    notebook: str
    mutants: int
    diagnosable: int
    rewrites: int          # diagnosable mutants with a hand-written rewrite
    named: int             # rewrites whose own function's diagnosis names their mutant
    controls: int
    controls_clean: int    # correct rewrites with no failed comparison and no diagnosis


def rate(ctx: GradingContext, rewrites: tuple[Rewrite, ...]) -> tuple[RateRow, ...]:
    rows = []
    for notebook, known in ctx.mistakes.items():
        able = {m: p for m, p in diagnosable(ctx, notebook).items() if p}
        mine = [r for r in rewrites if r.notebook == notebook]
        named = sum(1 for r in mine if r.mutant in able and names_its_mutant(ctx, r))
        controls = [r for r in mine if not r.mutant]
        clean = sum(1 for r in controls if judge(ctx, notebook, Edit(cell=r.cell, source=r.source)) == Judged((), {}))
        rows.append(RateRow(notebook=notebook, mutants=len(known.mutants), diagnosable=len(able),
                            rewrites=sum(1 for r in mine if r.mutant in able), named=named,
                            controls=len(controls), controls_clean=clean))
    return tuple(rows)


def names_its_mutant(ctx: GradingContext, rewrite: Rewrite) -> bool:
    """The rewrite fails a comparison of a function its cell defines, and that diagnosis names its mutant."""
    judged = judge(ctx, rewrite.notebook, Edit(cell=rewrite.cell, source=rewrite.source))
    own = ctx.mistakes[rewrite.notebook].defines.get(rewrite.cell, frozenset())
    return any(rewrite.mutant in judged.named.get(p, ()) for p in own)

