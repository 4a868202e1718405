"""Plain-text tables the CLI prints: scores, failures, intake notes."""
from __future__ import annotations

from typing import Sequence

from autograder.results import SubmissionResult


def _short(text: str, width: int) -> str:
    return text if len(text) <= width else text[: width - 1] + "…"


def format_scores(results: Sequence[SubmissionResult], *, reasons: bool = True, width: int = 110) -> str:
    """A plain-text table: one line per student and notebook, then the reasons for lost points."""
    lines = [f"{'student':<22} {'notebook':<22} {'score':>11}  problem / notes"]
    for r in results:
        missing = [nb.notebook for nb in r.notebooks if nb.tests and all(t.reason == "not submitted" for t in nb.tests)]
        for nb in r.notebooks:
            if nb.notebook in missing:
                continue
            flag = nb.problem or (nb.notes[0] if nb.notes else "")
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


def format_summary(report) -> str:
    """Failures with their reasons, then the slowest notebooks."""
    lines = []
    for r in report.failed:
        for nb in r.notebooks:
            if nb.problem:
                lines.append(f"  could not grade {r.student}/{nb.notebook}: {nb.problem}")
    runs = sorted(((nb.runtime_s, r.student, nb.notebook) for r in report.results for nb in r.notebooks
                   if nb.runtime_s), reverse=True)[:3]
    if runs:
        lines.append("slowest notebooks: " + ", ".join(f"{s}/{n} {t:.1f} s" for t, s, n in runs))
    return "\n".join(lines)


def format_intake(results: Sequence[SubmissionResult]) -> str:
    """Late submissions with their penalties, and how each submission's files were resolved."""
    lines = []
    for r in results:
        if r.penalty or r.late_s:
            lines.append(f"  late {r.student}: submitted {r.submitted_at}, {r.late_s / 3600:.1f} h after the due date; "
                         f"-{r.penalty:g} points, {r.final_score:g} / {r.max_score:g} after the penalty")
        lines += [f"  intake {r.student}: {note}" for note in r.intake_notes if not note.startswith("submitted ")]
    return "\n".join(lines)
