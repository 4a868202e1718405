"""Plain-text tables the CLI prints: scores, failures, intake notes."""
from __future__ import annotations

from collections import Counter
from typing import Sequence

from autograder.results import NotebookState, NoteKind, SubmissionResult


def _short(text: str, width: int) -> str:
    return text if len(text) <= width else text[: width - 1] + "…"


def notebook_label(name: str) -> str:
    """`01_rnn_basics` -> `01`: the short name the one-line table uses (the whole name when unnumbered)."""
    head = name.split("_", 1)[0]
    return head if head.isdigit() else name


def _is_not_submitted(nb) -> bool:
    return nb.state is NotebookState.NOT_SUBMITTED


def _lost_tests(nb) -> list:
    """Tests that cost points; an answer waiting for a TA has cost nothing yet (see _waiting)."""
    return [t for t in nb.tests if t.points < t.max_points and not t.needs_manual_grade]


def _waiting(nb) -> list:
    return [t for t in nb.tests if t.needs_manual_grade]


def student_problems(r: SubmissionResult) -> list[str]:
    """What cost a student points, in a few words each, by notebook:
    "01 not graded: <why>", "01 -8: test_a, test_b +1", "not submitted: 02 03", "01 notes: tampering 2"."""
    parts, missing = [], []
    for nb in r.notebooks:
        label = notebook_label(nb.notebook)
        if _is_not_submitted(nb):
            missing.append(label)
            continue
        if nb.problem:
            parts.append(f"{label} {nb.problem}" if nb.problem.startswith("not graded") else
                         f"{label} not graded: {nb.problem}")
        else:
            lost = _lost_tests(nb)
            if lost:
                names = ", ".join(t.test for t in lost[:2]) + (f" +{len(lost) - 2}" if len(lost) > 2 else "")
                parts.append(f"{label} -{sum(t.max_points - t.points for t in lost):g}: {names}")
            waiting = _waiting(nb)
            if waiting:
                parts.append(f"{label} waits for a TA: {', '.join(t.test for t in waiting)}")
        kinds = Counter(n.kind.value for n in nb.notes)
        if kinds:
            parts.append(f"{label} notes: " + ", ".join(f"{k} {c}" if c > 1 else k for k, c in sorted(kinds.items())))
    if missing:
        parts.append("not submitted: " + " ".join(missing))
    return parts


def format_students(results: Sequence[SubmissionResult], *, width: int = 120) -> str:
    """One line per student: total / max (raw), the late penalty, and what cost points in a few words.

    The terminal view of a batch of any size (300 students: 301 lines); per-test reasons are in
    `format_scores` (`grade --details`, `autograder scores`)."""
    lines = [f"{'student':<24} {'score':>13} {'late':>7}  problems"]
    for r in results:
        late = f"-{r.penalty:g}" if r.penalty else ("late" if r.late_s else "")
        problems = "; ".join(student_problems(r)) or "full marks"
        lines.append(_short(f"{r.student:<24} {r.score:>6g} / {r.max_score:<4g} {late:>7}  {problems}", width))
    return "\n".join(lines)


def most_lost_tests(results: Sequence[SubmissionResult], *, top: int = 5) -> list[tuple[str, int]]:
    """The tests that most students lost points on (notebooks not handed in or not graded left out)."""
    counts = Counter(f"{notebook_label(nb.notebook)}/{t.test}" for r in results for nb in r.notebooks
                     if not nb.problem and not _is_not_submitted(nb) for t in _lost_tests(nb))
    return counts.most_common(top)


def format_scores(results: Sequence[SubmissionResult], *, reasons: bool = True, width: int = 110) -> str:
    """A plain-text table: one line per student and notebook, then the reasons for lost points."""
    lines = [f"{'student':<22} {'notebook':<22} {'score':>11}  problem / notes"]
    for r in results:
        missing = [nb.notebook for nb in r.notebooks if nb.state is NotebookState.NOT_SUBMITTED]
        for nb in r.notebooks:
            if nb.notebook in missing:
                continue
            flag = nb.problem or (nb.notes[0].text if nb.notes else "")
            if not nb.problem and len(nb.notes) > 1:
                flag += f" (+{len(nb.notes) - 1} more notes)"
            lines.append(f"{r.student:<22} {nb.notebook:<22} {nb.score:>5g} / {nb.max_score:<3g}  {_short(flag, width)}")
            if reasons:
                for t in nb.tests:
                    if t.points < t.max_points and not nb.problem:
                        lines.append(_short(f"{'':<24}- {t.test} ({t.points:g}/{t.max_points:g}): {t.reason}", width + 40))
        if missing:
            lines.append(f"{r.student:<22} {'(not submitted)':<22} {0:>5g} / {sum(n.max_score for n in r.notebooks if n.notebook in missing):<3g}  {', '.join(missing)}")
        if len(r.notebooks) > 1:
            lines.append(f"{r.student:<22} {'TOTAL':<22} {r.score:>5g} / {r.max_score:<3g}")
    return "\n".join(lines)


def format_summary(report, *, limit: int = 8, width: int = 120) -> str:
    """Failures with their reasons (at most `limit` lines, then a count), the tests most often lost,
    then the slowest notebooks: at most limit + 3 lines of at most `width` characters, whatever the
    size of the batch."""
    lines = []
    failures = [(r.student, nb.notebook, nb.problem) for r in report.failed for nb in r.notebooks if nb.problem]
    for student, notebook, problem in failures[:limit]:
        lines.append(_short(f"  could not grade {student}/{notebook}: {problem}", width))
    if len(failures) > limit:
        lines.append(f"  ... and {len(failures) - limit} more notebooks that could not be graded "
                     f"(`autograder scores --student S` shows each)")
    lost = most_lost_tests(report.results, top=3)
    if lost:
        lines.append(_short("tests most often lost: " + ", ".join(f"{test} ({n} students)" for test, n in lost), width))
    runs = sorted(((nb.runtime_s, r.student, nb.notebook) for r in report.results for nb in r.notebooks
                   if nb.runtime_s), reverse=True)[:3]
    if runs:
        lines.append(_short("slowest notebooks: " + ", ".join(f"{s}/{n} {t:.1f} s" for t, s, n in runs), width))
    return "\n".join(lines)


def format_intake(results: Sequence[SubmissionResult]) -> str:
    """Late submissions with their penalties, and how each submission's files were resolved."""
    lines = []
    for r in results:
        if r.penalty or r.late_s:
            lines.append(f"  late {r.student}: submitted {r.submitted_at}, {r.late_s / 3600:.1f} h after the due date; "
                         f"-{r.penalty:g} points, {r.final_score:g} / {r.max_score:g} after the penalty")
        lines += [f"  intake {r.student}: {note.text}" for note in r.intake_notes if note.kind is not NoteKind.TIMESTAMP]
    return "\n".join(lines)


def format_serve_event(event) -> str:
    """One log line of `autograder serve`: time, event, student and submission time, what happened."""
    who = f" {event.job.student} {event.job.timestamp!r}" if event.job is not None else ""
    return f"{event.at.isoformat(timespec='seconds')} {event.kind.value:<12}{who}: {event.text}"


def format_serve_status(status, path) -> str:
    """`autograder serve --status`: the queue by state, the running jobs, the last error."""
    counts = ", ".join(f"{n} {state.value}" for state, n in status.counts.items())
    lines = [f"queue {path}: {counts}"]
    lines += [f"  running {j.student} {j.timestamp!r} (start {j.starts})" for j in status.running]
    if status.last_error is not None:
        e = status.last_error
        lines.append(f"last error: {e.student} {e.timestamp!r}: {e.message}")
    else:
        lines.append("last error: none")
    return "\n".join(lines)
