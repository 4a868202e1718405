"""The class report: one self-contained HTML file for the instructor, from the gradebook.

Charts are inline SVG (autograder/charts.py); there is no external file, script or font, so
the page opens offline and can be mailed. Everything that comes from submissions (student
ids, reasons, notes) is HTML-escaped by the template. Hidden tests and the grader's own
checks appear with their names and pass rates only: their reasons are left out and no
source or traceback is ever stored. Definitions:
- a test's pass rate counts the submissions that handed in its notebook; status ``passed`` only
  (partial credit shows in the mean points);
- a topic's pass rate is the share of passed tests over all attempted tests of that notebook;
- runtimes are those of notebooks that ran (not submitted or unreadable ones have none);
- a student's score is nbgrader's total: the autograder's points plus the TAs' scores from formgrader
  (`Gradebook.totals`), final = score - late penalty; the cells that still wait for a TA are counted;
- flags come from types only: a notebook's state (`STATE_FLAGS`) and its notes' kinds (`NOTE_FLAGS`);
  every kind is flagged or listed in `NOT_FLAGGED` with the reason (tests/test_notes.py checks it);
- misconceptions: per (notebook, mutant of `mutants/`), the students with a DIAGNOSIS note naming it
  (`diagnosis.diagnosed_mistake`), each student counted once however many of their functions it names.
"""
from __future__ import annotations

import datetime as dt
from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from typing import Mapping

import jinja2

from autograder.config import GraderConfig
from autograder.errors import AutograderError
from autograder.gradebook import Gradebook, NotebookRow, ResultRow
from autograder.grading.verdicts.diagnosis import diagnosed_mistake
from autograder.reports import charts
from autograder.reports.similarity import Pair, similar_pairs
from autograder.results import Note, NotebookState, NoteKind

# The flag each kind of note raises in the class report ...
NOTE_FLAGS: Mapping[NoteKind, str] = {
    NoteKind.TAMPERING: "tampering",
    NoteKind.ANSWER_CELLS: "answer cells",
    NoteKind.REPAIR: "repaired",
    NoteKind.INTAKE: "intake",
    NoteKind.TIMEOUT: "timeout",
    NoteKind.KERNEL: "kernel died",
    NoteKind.METRIC: "reported metric",
    NoteKind.LATE: "late",
    NoteKind.MANUAL: "manual grading",
    NoteKind.OTHER: "note",
}
# ... or why it raises none.
NOT_FLAGGED: Mapping[NoteKind, str] = {
    NoteKind.SANDBOX: "the same for every notebook of a batch: counted once at the top of the report",
    NoteKind.TIMESTAMP: "every submission has one: shown in the details of its `late` flag",
    NoteKind.DIAGNOSIS: "a mistake to explain, not a problem of the submission: counted per mistake in Misconceptions",
}
STATE_FLAGS: Mapping[NotebookState, str] = {NotebookState.NOT_GRADED: "not graded"}
STATES_NOT_FLAGGED: Mapping[NotebookState, str] = {
    NotebookState.GRADED: "the normal case",
    NotebookState.NOT_SUBMITTED: "left out of the pass rates; the score shows it",
}


def unmapped(kinds: type, flags: Mapping, not_flagged: Mapping) -> list:
    """Members of the enum `kinds` that are neither flagged nor explained, or both: [] when in step."""
    return [k for k in kinds if (k in flags) == (k in not_flagged)]


@dataclass(frozen=True)
class StudentLine:
    student: str
    score: float             # raw score (autograded + TA scores), before the late penalty
    max_score: float
    penalty: float
    final_score: float
    late_s: float
    flags: tuple[str, ...]   # flag kinds, e.g. ("tampering", "late")
    manual: float = 0.0      # of the score, what TAs gave in formgrader
    pending: int = 0         # answers that still wait for a TA


@dataclass(frozen=True)
class TestRate:
    notebook: str
    test: str
    kind: str
    hidden: bool
    passed: int
    attempted: int
    mean_points: float
    max_points: float
    common_reason: str       # most frequent reason for lost points; "" for hidden tests

    @property
    def rate(self) -> float:
        return self.passed / self.attempted if self.attempted else 0.0


@dataclass(frozen=True)
class Misconception:
    """How many students' functions behave like one planted mistake (a mutant of `mutants/<notebook>.toml`)."""

    notebook: str
    mutant: str
    description: str
    students: int
    functions: tuple[str, ...]     # the functions it was diagnosed in


@dataclass(frozen=True)
class Flag:
    kind: str
    student: str
    notebook: str
    details: tuple[str, ...]


@dataclass(frozen=True)
class ClassReport:
    assignment: str
    generated_at: str
    students: tuple[StudentLine, ...]
    tests: tuple[TestRate, ...]
    runtimes: Mapping[str, tuple[tuple[str, float], ...]]   # notebook -> (student, seconds)
    flags: tuple[Flag, ...]
    pairs: tuple[Pair, ...] | None     # None: similarity was not computed
    compared: int                      # submissions compared for similarity
    unsandboxed: int                   # notebooks graded without a sandbox
    misconceptions: tuple[Misconception, ...] = ()   # most frequent first

    def topics(self) -> list[tuple[str, int, int]]:
        """(notebook, passed tests, attempted tests), in notebook order."""
        out: dict[str, list[int]] = {}
        for t in self.tests:
            acc = out.setdefault(t.notebook, [0, 0])
            acc[0] += t.passed
            acc[1] += t.attempted
        return [(nb, p, a) for nb, (p, a) in out.items()]


def late_text(seconds: float) -> str:
    """'1 d 3 h', '2 h 5 min', '12 min'; '' when on time."""
    if seconds <= 0:
        return ""
    minutes = int(seconds // 60)
    days, hours, mins = minutes // 1440, minutes // 60 % 24, minutes % 60
    if days:
        return f"{days} d {hours} h"
    return f"{hours} h {mins} min" if hours else f"{max(1, mins)} min"


def _test_rates(results: list[ResultRow], not_submitted: set[tuple[str, str]]) -> tuple[TestRate, ...]:
    """`not_submitted`: (student, notebook) pairs not handed in, left out of the rates."""
    groups: dict[tuple[str, str], list[ResultRow]] = {}
    for row in results:
        groups.setdefault((row.notebook, row.test), []).append(row)
    rates = []
    for (notebook, test), rows in groups.items():
        done = [r for r in rows if (r.student, r.notebook) not in not_submitted
                and r.status != "manual"]         # answers still waiting for a TA are not attempts yet
        lost = Counter(r.reason for r in done if r.points < r.max_points)
        hidden = any(r.hidden for r in rows)
        common = ""
        if lost and not hidden:
            reason, count = lost.most_common(1)[0]
            common = f"{reason if len(reason) <= 200 else reason[:199] + '…'} ({count}x)"
        rates.append(TestRate(notebook=notebook, test=test, kind=rows[0].kind, hidden=hidden,
                              passed=sum(r.status == "passed" for r in done), attempted=len(done),
                              mean_points=sum(r.points for r in done) / len(done) if done else 0.0,
                              max_points=rows[0].max_points, common_reason=common))
    return tuple(sorted(rates, key=lambda t: t.notebook))      # stable: keeps test order within a notebook


def _note_flags(notes: tuple[Note, ...], student: str, notebook: str) -> list[Flag]:
    """One flag per flagged kind among `notes`, with the notes' texts as its details (in order)."""
    by_flag: dict[str, list[str]] = {}
    for note in notes:
        if note.kind in NOTE_FLAGS:
            by_flag.setdefault(NOTE_FLAGS[note.kind], []).append(note.text)
    return [Flag(kind, student, notebook, tuple(texts)) for kind, texts in by_flag.items()]


def misconceptions(notebooks: list[NotebookRow]) -> tuple[Misconception, ...]:
    """Per (notebook, mutant): the students diagnosed with it, most frequent first."""
    found: dict[tuple[str, str], tuple[str, set[str], dict[str, None]]] = {}
    for nb in notebooks:
        for note in nb.notes:
            named = diagnosed_mistake(note)
            if named is None:
                continue
            probe, mutant, description = named
            _, students, functions = found.setdefault((nb.notebook, mutant), (description, set(), {}))
            students.add(nb.student)
            functions[probe] = None
    rows = [Misconception(notebook=notebook, mutant=mutant, description=description, students=len(students),
                          functions=tuple(functions))
            for (notebook, mutant), (description, students, functions) in found.items()]
    return tuple(sorted(rows, key=lambda m: (-m.students, m.notebook, m.mutant)))


def _not_submitted(notebooks: list[NotebookRow]) -> set[tuple[str, str]]:
    return {(nb.student, nb.notebook) for nb in notebooks if nb.state is NotebookState.NOT_SUBMITTED}


def build_report(*, config: GraderConfig, submissions: Path | None = None, threshold: float = 0.6) -> ClassReport:
    """Read the gradebook (and, with `submissions`, compare the submitted answers) into a ClassReport."""
    with Gradebook(config) as gb:
        subs = gb.submissions(config.assignment)
        results = gb.scored_results(config.assignment)
        notebooks = gb.notebooks(config.assignment)
        totals = gb.totals(config.assignment)
    if not subs:
        raise AutograderError(f"the gradebook {config.gradebook_url} has no graded submissions of "
                              f"'{config.assignment}'; run `autograder grade` first")
    compared, pairs = 0, None
    if submissions is not None:
        if not submissions.exists():
            raise AutograderError(f"--submissions {submissions}: no such file or folder")
        compared, found = similar_pairs(config=config, path=submissions, threshold=threshold)
        pairs = tuple(found)

    flags: list[Flag] = []
    unsandboxed = sum(1 for nb in notebooks if any(n.kind is NoteKind.SANDBOX for n in nb.notes))
    for nb in notebooks:
        if nb.state in STATE_FLAGS:
            flags.append(Flag(STATE_FLAGS[nb.state], nb.student, nb.notebook, (nb.problem,)))
        flags += _note_flags(nb.notes, nb.student, nb.notebook)
    for s in subs:
        if s.late_s > 0:
            times = tuple(n.text for n in s.intake_notes if n.kind is NoteKind.TIMESTAMP)
            flags.append(Flag("late", s.student, "", (f"submitted {s.submitted_at}, {late_text(s.late_s)} after the "
                                                      f"due date; penalty {s.penalty:g} points",) + times))
        flags += _note_flags(s.intake_notes, s.student, "")
    for p in pairs or ():
        flags.append(Flag("similar", p.a, "", (f"{p.similarity:.0%} of answer fingerprints shared with {p.b} "
                                               f"({p.shared})",)))
    kinds: dict[str, list[str]] = {}
    for student, kind in [(f.student, f.kind) for f in flags] + [(p.b, "similar") for p in pairs or ()]:
        if kind not in kinds.setdefault(student, []):
            kinds[student].append(kind)

    runtimes: dict[str, list[tuple[str, float]]] = {}
    for nb in notebooks:
        if nb.runtime_s > 0:
            runtimes.setdefault(nb.notebook, []).append((nb.student, nb.runtime_s))
    students = tuple(StudentLine(student=s.student, score=t.raw, max_score=s.max_score, penalty=s.penalty,
                                 final_score=t.final, late_s=s.late_s, flags=tuple(kinds.get(s.student, ())),
                                 manual=t.manual, pending=len(t.pending))
                     for s in subs for t in (totals[(s.student, s.assignment)],))
    return ClassReport(assignment=config.assignment,
                       generated_at=dt.datetime.now(dt.timezone.utc).replace(microsecond=0).isoformat(),
                       students=students, tests=_test_rates(results, _not_submitted(notebooks)),
                       runtimes={k: tuple(v) for k, v in sorted(runtimes.items())},
                       flags=tuple(sorted(flags, key=lambda f: (f.kind, f.student, f.notebook))),
                       pairs=pairs, compared=compared, unsandboxed=unsandboxed,
                       misconceptions=misconceptions(notebooks))


def _rate_color(rate: float) -> str:
    return "#1a7f37" if rate >= 0.8 else ("#bf8700" if rate >= 0.5 else "#cf222e")


def report_charts(report: ClassReport) -> dict[str, str]:
    """The four charts of the report, as SVG markup."""
    in_bin: list[list[str]] = [[] for _ in range(10)]
    for s in report.students:
        share = s.final_score / s.max_score * 100 if s.max_score else 0.0
        in_bin[charts.bin_index(share, lo=0, hi=100, bins=10)].append(s.student)
    histogram = [charts.Bar(f"{i * 10}-{i * 10 + 10}", len(who),
                            f"{len(who)} student(s) at {i * 10}-{i * 10 + 10} %" + (f": {', '.join(who)}" if who else ""))
                 for i, who in enumerate(in_bin)]
    per_test = [charts.Bar(t.test + (" (hidden)" if t.hidden else ""), t.rate,
                           f"{t.test}: {t.passed} of {t.attempted} passed", group=t.notebook, color=_rate_color(t.rate))
                for t in report.tests if t.attempted]
    per_topic = [charts.Bar(nb, p / a, f"{nb}: {p} of {a} tests passed", color=_rate_color(p / a))
                 for nb, p, a in report.topics() if a]
    return {
        "scores": charts.column_chart(histogram, title="Final scores (% of the maximum)",
                                      x_label="final score, % of the maximum", y_label="students"),
        "tests": charts.bar_chart(per_test, title="Pass rate per test, by notebook (notebooks handed in)",
                                  x_label="submissions passing",
                                  y_label=""),
        "topics": charts.bar_chart(per_topic, title="Pass rate per notebook (notebooks handed in)",
                                   x_label="tests passed",
                                   y_label=""),
        "runtimes": charts.strip_plot(report.runtimes, title="Runtime per notebook",
                                      x_label="seconds to run the notebook", y_label=""),
    }


_env = jinja2.Environment(loader=jinja2.PackageLoader("autograder.reports", "templates"),
                          autoescape=jinja2.select_autoescape(["html", "j2"]), undefined=jinja2.StrictUndefined)


def render_report(report: ClassReport) -> str:
    return _env.get_template("class_report.html.j2").render(r=report, charts=report_charts(report),
                                                             late_text=late_text)


def write_report(*, config: GraderConfig, output: Path, submissions: Path | None = None,
                 threshold: float = 0.6) -> ClassReport:
    """Build the report and write it to `output` (written whole, then renamed into place)."""
    report = build_report(config=config, submissions=submissions, threshold=threshold)
    html = render_report(report)
    output.parent.mkdir(parents=True, exist_ok=True)
    partial = output.with_name(output.name + ".partial")
    partial.write_text(html, encoding="utf-8")
    partial.replace(output)
    return report
