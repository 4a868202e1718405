"""Grade one submission: assemble, execute, judge. Pure of the gradebook: it returns a result.

Stages for each notebook of a submission:
  read (intake problems -> 0 with a reason) -> assemble (restore tests, splice answers)
  -> execute (fresh kernel in a private workspace, seeded, time-limited)
  -> kernel verdicts (test cells) + reference verdicts (probes, in this process)
  -> a diagnosis of each failed comparison against the notebook's mutants (`verdicts/diagnosis.py`):
     DIAGNOSIS notes only, never points.
Manually graded answers and task cells are left for a TA (`manual_verdict`: status ``manual``, 0
autograded points, and a MANUAL note on the notebook); an answer left as released scores 0.
"""
from __future__ import annotations

import contextlib
import dataclasses
import datetime as dt
import shutil
import tempfile
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Mapping

import nbformat
from nbformat import NotebookNode

from autograder import __version__
from autograder.config import GraderConfig
from autograder.course.mutants import check as check_mutants
from autograder.course.mutants import parse_mutant_file
from autograder.course.notebooks import (
    AssignmentSpec,
    NotebookSpec,
    TestSpec,
    grade_id,
    imports_tensorflow,
    load_source,
    read_notebook,
)
from autograder.course.solutions import TopicSolutions, load_solutions
from autograder.data import Split, grading_data, write_training_files
from autograder.errors import AutograderError, SubmissionError
from autograder.grading import keys, late, sandbox
from autograder.grading.assemble import Assembled, assemble, read_submission
from autograder.grading.execute import StopCause
from autograder.grading.keys import source_digest
from autograder.grading.sandbox import SandboxPlan
from autograder.grading.verdicts import diagnosis, models, probes
from autograder.grading.verdicts.kernel import (
    MAX_REASON,
    RESTORED_NOTE,
    CheckKind,
    Confirmation,
    GraderCheck,
    clip,
    kernel_verdict,
)
from autograder.grading.workspace import DATA_ENV, INJECTED, kernel_env, seed_cell
from autograder.intake.discover import Submission, copy_release_files
from autograder.results import (
    MANUAL,
    ModelMetric,
    Note,
    NotebookResult,
    NotebookState,
    NoteKind,
    SubmissionResult,
    TestResult,
)


class LazySplits(Mapping[str, Split]):
    """notebook name -> its grading data (`Split`), each dataset loaded on first use (`grading_data`
    loads it once per process). An unchanged re-grade never touches the data, so it never pays for it."""

    def __init__(self, datasets: Mapping[str, str], config: GraderConfig):
        self._datasets = dict(datasets)          # notebook name -> dataset name
        self._data = config.data

    def __getitem__(self, notebook: str) -> Split:
        return grading_data(self._datasets[notebook], source=self._data.source, cache=self._data.cache_dir,
                            mirror_url=self._data.mirror_url)

    def __iter__(self):
        return iter(self._datasets)

    def __len__(self) -> int:
        return len(self._datasets)


@dataclass(frozen=True)
class GradingContext:
    """Everything a grading run needs that does not depend on the student."""

    config: GraderConfig
    spec: AssignmentSpec
    sources: Mapping[str, NotebookNode]
    releases: Mapping[str, NotebookNode]
    solutions: Mapping[str, TopicSolutions]
    data: Mapping[str, Split]          # notebook name -> its grading data (topics that train models);
                                       # a LazySplits from load_context: loaded on first use
    release_dir: Path
    source_digest: str = ""            # sha256 over source notebooks and solutions: part of each result key
    mistakes: Mapping[str, diagnosis.KnownMistakes] = field(default_factory=dict)   # notebook -> its mutants,
                                       # for the diagnosis of failed comparisons (none: no diagnosis)

    def load_data(self) -> None:
        """Load every grading dataset now: a batch with work calls this before its first kernel, so a
        missing dataset stops it with one clear error instead of failing every submission."""
        for _split in self.data.values():
            pass

    def result_key(self, submission: Submission) -> str:
        """`keys.result_key` of `submission` in this context (same key -> same grade)."""
        return keys.result_key(submission, source_digest=self.source_digest, config=self.config)


def load_context(config: GraderConfig) -> GradingContext:
    spec, sources = load_source(config)
    release_dir = config.course_root / "release" / config.assignment
    releases, solutions, datasets = {}, {}, {}
    for nb in spec.notebooks:
        path = release_dir / f"{nb.name}.ipynb"
        if not path.is_file():
            raise AutograderError(f"{path} is missing: run `autograder release` first.")
        releases[nb.name] = read_notebook(path)
        if not (nb.probes or nb.models):
            continue
        sol = load_solutions(config.course_root / "solutions", nb.reference_module)
        missing = sorted(set(nb.probes) - set(sol.functions)) + sorted(set(nb.models) - set(sol.models))
        if missing:
            raise AutograderError(f"solutions/{nb.reference_module}.py has no reference for {missing}")
        solutions[nb.name] = sol
        if sol.dataset:
            datasets[nb.name] = sol.dataset
    return GradingContext(config=config, spec=spec, sources=sources, releases=releases,
                          solutions=solutions, data=LazySplits(datasets, config), release_dir=release_dir,
                          source_digest=source_digest(spec.source_dir, config.course_root / "solutions"),
                          mistakes=known_mistakes(config, spec, sources, solutions))


def known_mistakes(config: GraderConfig, spec: AssignmentSpec, sources: Mapping[str, NotebookNode],
                   solutions: Mapping[str, TopicSolutions]) -> dict[str, diagnosis.KnownMistakes]:
    """notebook -> its mutants (`mutants/<notebook>.toml`), for notebooks with probes; a notebook without
    a mutant file gets no diagnosis, a file that does not fit the source stops with its MutantError."""
    found = {}
    cache = config.data.cache_path / diagnosis.CACHE_FOLDER
    for nb in spec.notebooks:
        path = config.course_root / "mutants" / f"{nb.name}.toml"
        if not nb.probes or nb.name not in solutions or not path.is_file():
            continue
        mutant_set = parse_mutant_file(path, nb.name)
        check_mutants(mutant_set, nb, sources[nb.name])
        found[nb.name] = diagnosis.KnownMistakes.build(sources[nb.name], mutant_set, cache=cache)
    return found


# How each cause of an early stop is recorded: a note of this kind (the notebook is graded), or,
# when nothing could run, the notebook is not graded and the stop is its problem.
STOP_NOTES = {StopCause.NOTEBOOK_TIME_LIMIT: NoteKind.TIMEOUT, StopCause.CELL_STUCK: NoteKind.TIMEOUT,
              StopCause.KERNEL_DIED: NoteKind.KERNEL}
NOT_GRADED_STOPS = frozenset({StopCause.KERNEL_START, StopCause.WORKER})
# The reason shown on each test of a notebook that was not handed in. Words for people: whether a
# notebook was handed in is `NotebookResult.state`; compare that, never this text.
NOT_SUBMITTED = "not submitted"


def _blank(spec: NotebookSpec, state: NotebookState, reason: str) -> NotebookResult:
    """Zero on every test, each with `reason`: a notebook NOT_SUBMITTED (tests "failed", no problem) or
    NOT_GRADED (tests "error", `reason` is the problem)."""
    if state is NotebookState.GRADED:
        raise ValueError("a blank result is for a notebook that was not graded or not submitted")
    problem = state is NotebookState.NOT_GRADED
    tests = tuple(TestResult(test=t.grade_id, points=0.0, max_points=t.points,
                             status="error" if problem else "failed",
                             reason=reason, hidden=t.hidden or bool(t.probe or t.model),
                             kind=MANUAL if t.manual else "model" if t.model else ("reference" if t.probe else "kernel"))
                  for t in spec.tests)
    return NotebookResult(notebook=spec.name, tests=tests, problem=reason if problem else "", state=state)


def grade_notebook(ctx: GradingContext, spec: NotebookSpec, path: Path, *, student: str,
                   workdir: Path, plan: SandboxPlan, executed_dir: Path | None = None) -> NotebookResult:
    """Grade one submitted notebook file in the (empty) workspace `workdir`."""
    config = ctx.config
    try:
        student_nb, read_notes = read_submission(path)
    except SubmissionError as exc:
        return _blank(spec, NotebookState.NOT_GRADED, f"not graded: {exc}")
    merged: Assembled = assemble(ctx.sources[spec.name], ctx.releases[spec.name], student_nb)
    nb = merged.notebook
    nb.cells.insert(0, seed_cell(config.seed, imports_tensorflow(ctx.sources[spec.name].cells)))
    sol = ctx.solutions.get(spec.name)
    reference = probes.Reference(functions=sol.functions, generators=sol.generators) if sol else None
    cases, diagnostic = {}, {}
    if spec.probes and reference is not None:
        cases = probes.draw_inputs(reference, spec.probes, policy=config.reference, student=student)
        if spec.name in ctx.mistakes:
            diagnostic = diagnosis.diagnostic_cases(reference, spec.probes)
        probes.write_inputs(workdir, cases, extra={p: {diagnosis.case_name(i): kw for i, kw in enumerate(runs)}
                                                   for p, runs in diagnostic.items()})
        nb.cells.append(nbformat.v4.new_code_cell(probes.harness_cell_source(),
                                                  metadata={INJECTED: True}, id="autograder-probes"))
    copy_release_files(ctx.release_dir, workdir)
    env = kernel_env(workdir, config.seed, threads=plan.threads)
    split = ctx.data.get(spec.name)
    if split is not None:
        env[DATA_ENV] = str(write_training_files(split, workdir / "data").parent)

    nb, execution = sandbox.execute(nb, workdir=workdir, env=env, config=config, plan=plan)

    index_of = {grade_id(c): i for i, c in enumerate(nb.cells) if grade_id(c) and not c.metadata.get(INJECTED)}
    outputs = probes.read_outputs(workdir) if cases else None
    model_specs = {name: models.ModelSpec.from_mapping(name, sol.models[name]) for name in spec.models} \
        if sol and split is not None else {}
    # The grader's training is as heavy as a kernel's: it takes a running slot too (kernels ahead only start).
    with plan.running if model_specs and plan.running else contextlib.nullcontext():
        measured = {name: models.measure(workdir, s, split, config=config) for name, s in model_specs.items()}
    # Grader-side verdicts first: a kernel test's points count only when they confirm its exercise.
    checks: dict[str, GraderCheck] = {}
    for test in spec.tests:
        if test.model:
            checks[test.grade_id] = GraderCheck(CheckKind.SAVED_MODEL, test.model[0],
                                                _model_verdict(ctx, test, sol, measured))
        elif test.probe and reference is not None:
            verdict = probes.compare(test.grade_id, test.probe, test.points, reference=reference,
                                     cases=cases[test.probe], outputs=outputs, policy=config.reference,
                                     unavailable=execution.stopped)
            if test.grade_id in merged.restored:
                verdict = dataclasses.replace(verdict, reason=verdict.reason + RESTORED_NOTE)
            checks[test.grade_id] = GraderCheck(probes.check_kind(reference, test.probe), test.probe, verdict)
    diagnoses: dict[Note, None] = {}
    for test in spec.tests:
        if test.probe in diagnostic and checks[test.grade_id].verdict.status == "failed":
            diagnoses.update(dict.fromkeys(diagnosis.diagnose(test.probe, outputs, reference=reference,
                                                              known=ctx.mistakes[spec.name],
                                                              cases=diagnostic[test.probe], policy=config.reference)))
    results = []
    for test in spec.tests:
        if test.manual:
            results.append(manual_verdict(test, merged))
            continue
        if test.grade_id in checks:
            results.append(checks[test.grade_id].verdict)
            continue
        outcome = execution.outcomes.get(index_of.get(test.grade_id, -1))
        confirmation = Confirmation(test.exercise, tuple(checks[t.grade_id] for t in spec.checks_of(test.exercise)
                                                         if t.grade_id in checks)) if test.exercise else None
        results.append(kernel_verdict(test, outcome, stopped=execution.stopped,
                                      restored=test.grade_id in merged.restored, confirmation=confirmation))
    if executed_dir is not None:
        executed_dir.mkdir(parents=True, exist_ok=True)
        nbformat.write(nb, str(executed_dir / f"{spec.name}.ipynb"))
    timed_out = tuple(Note(NoteKind.TIMEOUT, f"cell '{grade_id(nb.cells[i]) or i}' ran past its time limit "
                                             f"and was interrupted")
                      for i, o in sorted(execution.outcomes.items()) if o.timed_out)
    notes = ((Note(NoteKind.SANDBOX, plan.note),) if plan.note else ()) + read_notes + merged.notes + timed_out
    waiting = [t.test for t in results if t.needs_manual_grade]
    if waiting:
        notes += (Note(NoteKind.MANUAL, f"{len(waiting)} answer{'s' if len(waiting) > 1 else ''} "
                                        f"({', '.join(waiting)}) wait{'' if len(waiting) > 1 else 's'} "
                                        f"for a TA's grade in formgrader"),)
    state, problem = NotebookState.GRADED, ""
    if execution.cause in NOT_GRADED_STOPS:
        state, problem = NotebookState.NOT_GRADED, execution.stopped
    elif execution.cause is not None:
        notes += (Note(STOP_NOTES[execution.cause], execution.stopped),)
    flags = tuple(note for n, m in measured.items() for note in models.model_notes(model_specs[n], m, config=config))
    return NotebookResult(notebook=spec.name, tests=tuple(results), runtime_s=round(execution.runtime_s, 3),
                          state=state, problem=problem, notes=notes + flags + tuple(diagnoses),
                          datasets=(split.describe(),) if split is not None else (),
                          metrics=tuple(ModelMetric(model=n, metric=sol.models[n]["metric"], value=m.value,
                                                    baseline=m.baseline, reported=m.reported, epochs=m.epochs,
                                                    params=m.params, history=dict(m.history), own_value=m.own_value,
                                                    batch_size=m.batch_size, examples=m.examples, capped=m.capped)
                                        for n, m in measured.items()))


def manual_verdict(test: TestSpec, merged: Assembled) -> TestResult:
    """A cell a TA grades. A task cell and a changed answer wait for the TA (status ``manual``,
    0 autograded points); an answer left as released (or missing) scores 0, as nbgrader's autograde
    scores an unchanged answer cell. Whether its code ran is irrelevant: it is never autograded."""
    if test.task:
        return TestResult(test=test.grade_id, points=0.0, max_points=test.points, status=MANUAL,
                          reason="task: waits for a TA's grade", kind=MANUAL)
    answer = merged.manual_answers.get(test.grade_id)
    if answer is None:
        return TestResult(test=test.grade_id, points=0.0, max_points=test.points, status="failed",
                          reason="not answered: the answer cell is as released", kind=MANUAL)
    return TestResult(test=test.grade_id, points=0.0, max_points=test.points, status=MANUAL,
                      reason="answered: waits for a TA's grade", kind=MANUAL, answer_sha256=answer)


def _model_verdict(ctx: GradingContext, test: TestSpec, sol: TopicSolutions | None,
                   measured: Mapping[str, models.Measurement]) -> TestResult:
    name, check = test.model
    if sol is None or name not in measured:
        return TestResult(test=test.grade_id, points=0.0, max_points=test.points, status="error",
                          reason=f"model '{name}' could not be measured: no grading data", hidden=True, kind="model")
    spec = models.ModelSpec.from_mapping(name, sol.models[name])
    if check == "architecture":
        return models.architecture_verdict(test.grade_id, test.points, spec, measured[name])
    config = ctx.config
    return models.metric_verdict(test.grade_id, test.points, spec, measured[name],
                                 threshold=config.thresholds.get(f"{name}.{spec.metric}"),
                                 budget=config.budgets.get(name, {}))


def now_utc() -> str:
    return dt.datetime.now(dt.timezone.utc).replace(microsecond=0).isoformat()


def grade_submission(ctx: GradingContext, submission: Submission, *, executed_root: Path | None = None,
                     plan: SandboxPlan | None = None) -> SubmissionResult:
    """Grade every notebook of one submission, each in its own fresh workspace and kernel."""
    plan = plan or SandboxPlan.for_batch(ctx.config)

    def one(spec: NotebookSpec) -> NotebookResult:
        if spec.name in submission.problems:
            return _blank(spec, NotebookState.NOT_GRADED, f"not graded: {submission.problems[spec.name]}")
        path = submission.notebooks.get(spec.name)
        if path is None:
            return _blank(spec, NotebookState.NOT_SUBMITTED, NOT_SUBMITTED)
        with plan.slots or contextlib.nullcontext():
            workdir = Path(tempfile.mkdtemp(prefix=f"{submission.student}-", dir=sandbox.workspace_root(ctx.config)))
            try:
                executed_dir = executed_root / submission.student / ctx.spec.name if executed_root else None
                return grade_notebook(ctx, spec, path, student=submission.student, workdir=workdir,
                                      plan=plan, executed_dir=executed_dir)
            finally:
                shutil.rmtree(workdir, ignore_errors=True)

    # The notebooks of one submission are independent: with batch slots they run side by side.
    parallel = plan.slots is not None and len(ctx.spec.notebooks) > 1
    if parallel:
        with ThreadPoolExecutor(max_workers=len(ctx.spec.notebooks)) as pool:
            notebooks = list(pool.map(one, ctx.spec.notebooks))
    else:
        notebooks = [one(spec) for spec in ctx.spec.notebooks]
    lateness = late.assess(sum(n.score for n in notebooks), due=ctx.config.due_at,
                           submitted_at=submission.submitted_at, policy=ctx.config.late_penalty)
    return SubmissionResult(
        student=submission.student, assignment=ctx.spec.name, notebooks=tuple(notebooks),
        submission_sha256=submission.sha256, autograder_version=__version__,
        config_digest=ctx.config.grade_digest, graded_at=now_utc(),
        datasets=tuple(sorted({d.describe() for d in ctx.data.values()})), result_key=ctx.result_key(submission),
        submitted_at=submission.submitted_at, late_s=lateness.late_s, penalty=lateness.penalty,
        intake_notes=submission.intake_notes)


def internal_error_result(ctx: GradingContext, submission: Submission, exc: BaseException) -> SubmissionResult:
    """A result that records a grader failure on one submission, so the batch can go on."""
    reason = f"not graded: internal error ({type(exc).__name__}: {exc})"
    return SubmissionResult(
        student=submission.student, assignment=ctx.spec.name,
        notebooks=tuple(_blank(spec, NotebookState.NOT_GRADED, clip(reason, MAX_REASON))
                        for spec in ctx.spec.notebooks),
        submission_sha256=submission.sha256, autograder_version=__version__,
        config_digest=ctx.config.grade_digest, graded_at=now_utc(),
        submitted_at=submission.submitted_at, intake_notes=submission.intake_notes)
