"""Check that the assignment's tests work: the reference scores full marks, the blank release 0,
and every planted wrong solution in `mutants/` loses points on the tests it targets.

Everything is graded through the same pipeline as students (fresh kernels, probes, restoration)
in one batch into a throw-away gradebook, so the course gradebook is never touched.

A mutant submission holds only its own notebook; the others are absent, and only the mutant's
notebook is compared, so "not submitted" never counts as a kill. Points lost are measured
against a baseline graded once per notebook: the reference itself, or, for mutants that use
their file's `[[fast]]` shortcut, the reference with the same shortcut. Submissions start in
name order, so student ids carry a rank that starts the slowest (full references) first.

The grader trains every saved model again (grading/verdicts/models.py). The [[fast]] mutants and
their references are graded in a second batch whose config caps that training at FAST_TRAINING_CAP
(epochs, examples), the same cap for the reference and the mutants, so their metrics stay
comparable and the shortcut stays short; identical architectures are then trained once.

Manually graded answers (a TA's grade) are not tests of the grader: the reference must leave them
waiting for a TA (status ``manual``), and no mutant has to make them lose points.
"""
from __future__ import annotations

import csv
import dataclasses
import shutil
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

import nbformat

from autograder.config import GraderConfig, with_training_cap
from autograder.course.mutants import (
    Mutant,
    MutantSet,
    fast_reference,
    load_mutants,
    submission,
)
from autograder.errors import AutograderError
from autograder.grading.pipeline import load_context
from autograder.results import NotebookResult, NotebookState, SubmissionResult, TestResult
from autograder.run.batch import default_workers, grade_path

REFERENCE_STUDENT = "0.reference-solution"
BLANK_STUDENT = "3.blank-release"
_FAST_PREFIX = "1.fast-reference."
_MUTANT_PREFIX = {False: "2.mutant.", True: "3.mutant."}   # keyed by "uses the shortcut"
_EPS = 1e-9
FAST_TRAINING_CAP = (1, 256)      # the grader's training of [[fast]] submissions: epochs, examples


@dataclass(frozen=True)
class MutantOutcome:
    """How one mutant fared: every test that lost points against its baseline."""

    mutant: Mutant
    lost: tuple[tuple[str, float], ...]    # (test, points lost), in notebook order
    problem: str = ""                     # the mutant's notebook could not be graded
    runtime_s: float = 0.0                # wall time of the mutant's notebook

    @property
    def verdict(self) -> str:
        if self.problem:
            return "not graded"
        if not self.lost:
            return "SURVIVED"
        return "missed target" if self.missed else "killed"

    @property
    def missed(self) -> tuple[str, ...]:
        """Targeted tests that did not lose points."""
        lost = {t for t, _ in self.lost}
        return tuple(k for k in self.mutant.kills if k not in lost)

    @property
    def ok(self) -> bool:
        return self.verdict == "killed"


@dataclass(frozen=True)
class ValidationReport:
    notebooks: tuple[str, ...]                  # the notebooks validated
    tests: tuple[tuple[str, str], ...]          # (notebook, test) of every test of those notebooks
    reference: SubmissionResult | None          # None when no check needed it (mutants_only, shortcuts only)
    blank: SubmissionResult | None              # None with mutants_only
    mutants: tuple[MutantOutcome, ...] = ()
    baselines: tuple[NotebookResult, ...] = ()  # the references with their [[fast]] shortcut
    runtime_s: float = 0.0
    every_mutant: bool = True                   # False when only some mutants were picked

    def _selected(self, result: SubmissionResult | None) -> list[NotebookResult]:
        """The notebooks of `result` that were handed in (the rest are absent on purpose)."""
        return [nb for nb in result.notebooks if nb.notebook in self.notebooks
                and nb.state is not NotebookState.NOT_SUBMITTED] if result else []

    @property
    def problems(self) -> list[str]:
        out = []
        for nb in self._selected(self.reference):
            out += [f"reference {nb.notebook}/{t.test}: {t.points:g}/{t.max_points:g} ({t.reason})"
                    for t in nb.tests if t.points < t.max_points and t.kind != "manual"]
            out += [f"reference {nb.notebook}/{t.test}: a manually graded answer must wait for a TA, got "
                    f"{t.status} ({t.reason})" for t in nb.tests if t.kind == "manual" and not t.needs_manual_grade]
        for nb in self._selected(self.blank):
            out += [f"blank release {nb.notebook}/{t.test}: {t.points:g}/{t.max_points:g} ({t.reason})"
                    for t in nb.tests if t.points > 0]
        out += [f"reference with the [[fast]] shortcut {nb.notebook}: not graded ({nb.problem})"
                for nb in self.baselines if nb.state is NotebookState.NOT_GRADED]
        for m in self.mutants:
            if m.verdict == "SURVIVED":
                out.append(f"mutant {m.mutant.notebook}/{m.mutant.id} SURVIVED: no test lost points")
            elif m.verdict == "missed target":
                out.append(f"mutant {m.mutant.notebook}/{m.mutant.id}: targeted tests lost no points: "
                           f"{', '.join(m.missed)}")
            elif m.verdict == "not graded":
                out.append(f"mutant {m.mutant.notebook}/{m.mutant.id}: not graded ({m.problem})")
        if self.mutants and self.every_mutant:
            out += [f"no mutant makes {nb}/{t} lose points" for nb, t in self.untested]
        return out

    @property
    def untested(self) -> tuple[tuple[str, str], ...]:
        """(notebook, test) pairs that no mutant of the run made lose points."""
        hit = {(m.mutant.notebook, t) for m in self.mutants for t, _ in m.lost}
        return tuple(key for key in self.tests if key not in hit)

    @property
    def ok(self) -> bool:
        return not self.problems

    @property
    def max_score(self) -> float:
        """Full marks over the reference notebooks graded (the autograded ones: a TA grades the rest)."""
        return sum(t.max_points for nb in self._selected(self.reference) for t in nb.tests if t.kind != "manual")

    @property
    def manual(self) -> tuple[tuple[str, str], ...]:
        """(notebook, test) of the manually graded answers of the validated notebooks."""
        return tuple((nb.notebook, t.test) for nb in self._selected(self.reference) for t in nb.tests
                     if t.kind == "manual")

    def rows(self) -> list[tuple[str, TestResult, TestResult]]:
        """(notebook, reference result, blank result) per test; empty without the blank release."""
        if self.blank is None or self.reference is None:
            return []
        blank = {(n.notebook, t.test): t for n in self.blank.notebooks for t in n.tests}
        return [(nb.notebook, t, blank[(nb.notebook, t.test)])
                for nb in self._selected(self.reference) for t in nb.tests]


def _select(names: tuple[str, ...], available: tuple[str, ...]) -> tuple[str, ...]:
    unknown = [n for n in names if n not in available]
    if unknown:
        raise AutograderError(f"unknown notebook {', '.join(unknown)}; the assignment has {', '.join(available)}")
    return tuple(n for n in available if not names or n in names)


def _mutant_student(mutant: Mutant, fast: bool) -> str:
    return f"{_MUTANT_PREFIX[fast]}{mutant.notebook}.{mutant.id}"


def _outcome(mutant: Mutant, result: SubmissionResult, baseline: NotebookResult) -> MutantOutcome:
    nb = next(n for n in result.notebooks if n.notebook == mutant.notebook)
    if nb.state is NotebookState.NOT_GRADED:
        return MutantOutcome(mutant=mutant, lost=(), problem=nb.problem, runtime_s=nb.runtime_s)
    base = {t.test: t.points for t in baseline.tests}
    lost = tuple((t.test, round(base[t.test] - t.points, 4)) for t in nb.tests if base[t.test] - t.points > _EPS)
    return MutantOutcome(mutant=mutant, lost=lost, runtime_s=nb.runtime_s)


def _pick(sets: tuple[MutantSet, ...], ids: tuple[str, ...]) -> tuple[MutantSet, ...]:
    if not ids:
        return sets
    unknown = sorted(set(ids) - {m.id for s in sets for m in s.mutants})
    if unknown:
        raise AutograderError(f"no mutant {', '.join(unknown)} in the selected notebooks")
    picked = (dataclasses.replace(s, mutants=tuple(m for m in s.mutants if m.id in ids)) for s in sets)
    return tuple(s for s in picked if s.mutants)


def validate(*, config: GraderConfig, notebooks: tuple[str, ...] = (), mutants: bool = True,
             mutants_only: bool = False, mutant_ids: tuple[str, ...] = (), mutants_dir: Path | None = None,
             workers: int = 0, progress: bool = False) -> ValidationReport:
    """Grade the reference, the blank release (unless `mutants_only`) and the mutants (all, or
    those in `mutant_ids`) of the selected notebooks (default: all) in one batch, `workers`
    notebooks at once. With `mutants_only` the full reference of a notebook is graded only when
    one of its mutants does without the [[fast]] shortcut."""
    started = time.monotonic()
    ctx = load_context(config)
    selected = _select(tuple(notebooks), tuple(nb.name for nb in ctx.spec.notebooks))
    specs = tuple(nb for nb in ctx.spec.notebooks if nb.name in selected)
    sets: tuple[MutantSet, ...] = ()
    if mutants or mutants_only:
        sets = _pick(load_mutants(mutants_dir or config.course_root / "mutants", specs, ctx.sources),
                     tuple(mutant_ids))
    with_reference = [n for n in selected if not mutants_only
                      or any(not s.uses_fast(m) for s in sets if s.notebook == n for m in s.mutants)]
    with tempfile.TemporaryDirectory(prefix="autograder-validate-") as tmp:
        submitted = {False: Path(tmp) / "submitted", True: Path(tmp) / "submitted-fast"}

        def hand_in(student: str, name: str, nb, *, fast: bool = False) -> None:
            folder = submitted[fast] / student / ctx.spec.name
            folder.mkdir(parents=True, exist_ok=True)
            if isinstance(nb, Path):
                shutil.copy(nb, folder / f"{name}.ipynb")
            else:
                nbformat.write(nb, str(folder / f"{name}.ipynb"))

        for name in with_reference:
            hand_in(REFERENCE_STUDENT, name, ctx.spec.source_dir / f"{name}.ipynb")
        for name in selected if not mutants_only else ():
            hand_in(BLANK_STUDENT, name, ctx.release_dir / f"{name}.ipynb")
        for s in sets:
            source = ctx.sources[s.notebook]
            if any(s.uses_fast(m) for m in s.mutants):
                hand_in(f"{_FAST_PREFIX}{s.notebook}", s.notebook, fast_reference(source, s), fast=True)
            for m in s.mutants:
                hand_in(_mutant_student(m, s.uses_fast(m)), s.notebook, submission(source, s, m),
                        fast=s.uses_fast(m))
        scratch = config.with_gradebook(Path(tmp) / "validate.db")
        capped = with_training_cap(scratch, epochs=FAST_TRAINING_CAP[0], examples=FAST_TRAINING_CAP[1])
        results = []
        for fast, batch_config in ((False, scratch), (True, capped)):
            if submitted[fast].is_dir():
                report = grade_path(config=batch_config, path=submitted[fast], progress=progress,
                                    context=dataclasses.replace(ctx, config=batch_config),
                                    workers=workers or default_workers())
                results += report.results
    by_student = {r.student: r for r in results}
    reference = by_student.get(REFERENCE_STUDENT)
    ref_nb = {nb.notebook: nb for nb in reference.notebooks} if reference else {}
    baselines = {s.notebook: next(n for n in by_student[f"{_FAST_PREFIX}{s.notebook}"].notebooks
                                  if n.notebook == s.notebook)
                 for s in sets if f"{_FAST_PREFIX}{s.notebook}" in by_student}
    outcomes = tuple(_outcome(m, by_student[_mutant_student(m, s.uses_fast(m))],
                              baselines[s.notebook] if s.uses_fast(m) else ref_nb[s.notebook])
                     for s in sets for m in s.mutants)
    return ValidationReport(notebooks=selected, tests=tuple((nb.name, t.grade_id) for nb in specs for t in nb.tests
                                                            if not t.manual),
                            reference=reference,
                            blank=None if mutants_only else by_student[BLANK_STUDENT], mutants=outcomes,
                            baselines=tuple(baselines.values()), runtime_s=round(time.monotonic() - started, 1),
                            every_mutant=not mutant_ids)


# --- the mutant table, printed and as CSV -------------------------------------------------------

CSV_COLUMNS = ("mutant", "notebook", "cell", "description", "targets", "killed_by", "verdict", "runtime_s")


def _lost_text(outcome: MutantOutcome) -> str:
    return "; ".join(f"{t} (-{p:g})" for t, p in outcome.lost)


def mutant_rows(report: ValidationReport) -> list[dict[str, str]]:
    """One row per mutant: the CSV_COLUMNS as text."""
    return [{"mutant": o.mutant.id, "notebook": o.mutant.notebook, "cell": o.mutant.cell,
             "description": o.mutant.description, "targets": "; ".join(o.mutant.kills),
             "killed_by": o.problem or _lost_text(o), "verdict": o.verdict, "runtime_s": f"{o.runtime_s:.1f}"}
            for o in report.mutants]


def write_mutant_csv(report: ValidationReport, path: Path) -> None:
    with open(path, "w", newline="", encoding="utf-8") as handle:
        writer = csv.DictWriter(handle, fieldnames=CSV_COLUMNS)
        writer.writeheader()
        writer.writerows(mutant_rows(report))


def format_mutants(report: ValidationReport, *, width: int = 48) -> str:
    """A plain-text table: mutant, notebook, description, targets, tests that lost points, verdict."""
    def short(text: str, n: int) -> str:
        return text if len(text) <= n else text[: n - 1] + "…"

    lines = [f"{'mutant':<30} {'notebook':<22} {'description':<{width}} {'time':>6} {'verdict':<13} "
             f"targets -> lost points"]
    for row in mutant_rows(report):
        lines.append(f"{short(row['mutant'], 30):<30} {row['notebook']:<22} {short(row['description'], width):<{width}} "
                     f"{row['runtime_s']:>5}s {row['verdict']:<13} {row['targets']}")
        lines.append(f"{'':<{30 + 22 + width + 23}}-> {row['killed_by'] or '(none)'}")
    return "\n".join(lines)
