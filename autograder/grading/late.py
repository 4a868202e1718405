"""Late penalties: one pure rule, used by the grader and by nbgrader's late-penalty hook.

The rule (``late_penalty`` in grader_config.py, ``due`` the due date):
- late = submission time - due date, in seconds; no due date or no submission time -> never late;
- late <= ``grace_minutes`` * 60 counts as on time: no penalty;
- otherwise, with the raw score S:
  ``none``: 0; ``zero``: S; ``per_hour`` / ``per_day``: ``rate`` * S per *started* hour / day,
  counted from the due date (1 s past the grace period is one started period; 1.5 days is two);
- the penalty never exceeds ``max_fraction`` * S (this caps ``zero`` too), and is rounded to 1e-6.

The penalty is proportional to the score, so nbgrader, which asks for a penalty per notebook,
gets per-notebook penalties that add up to the submission's penalty: ``LatePenaltyPlugin``
(`autograder/grading/late_plugin.py`, kept apart so grading never imports nbgrader) makes a
hand-run ``nbgrader autograde`` agree with the autograder.
"""
from __future__ import annotations

import datetime as dt
import math
from dataclasses import dataclass

from autograder.config import LATE_METHODS, LatePolicy

_PERIOD_S = {"per_hour": 3600.0, "per_day": 86400.0}


@dataclass(frozen=True)
class Lateness:
    """How late one submission was and what it costs."""

    late_s: float       # seconds past the due date, 0 when on time (grace included) or no due date
    penalty: float      # points deducted from the raw score


def seconds_late(due: dt.datetime | None, submitted_at: str | dt.datetime | None) -> float:
    """Seconds from `due` to the submission time (negative when early); 0 when either is unknown."""
    if due is None or not submitted_at:
        return 0.0
    when = dt.datetime.fromisoformat(submitted_at) if isinstance(submitted_at, str) else submitted_at
    if when.tzinfo is None or due.tzinfo is None:
        raise ValueError("late penalties need timezone-aware times (a due date with a UTC offset)")
    return (when - due).total_seconds()


def penalty(score: float, seconds_past_due: float, policy: LatePolicy) -> float:
    """Points deducted from `score` for a submission `seconds_past_due` after the due date."""
    if score <= 0 or seconds_past_due <= policy.grace_minutes * 60 or policy.method == "none":
        return 0.0
    if policy.method == "zero":
        fraction = 1.0
    elif policy.method in _PERIOD_S:
        fraction = policy.rate * math.ceil(seconds_past_due / _PERIOD_S[policy.method])
    else:
        raise ValueError(f"unknown late-penalty method {policy.method!r}; expected one of {LATE_METHODS}")
    return round(score * min(fraction, policy.max_fraction, 1.0), 6)


def assess(score: float, *, due: dt.datetime | None, submitted_at: str, policy: LatePolicy) -> Lateness:
    """Lateness of a submission with raw `score` handed in at `submitted_at` (ISO 8601)."""
    late = seconds_late(due, submitted_at)
    if late <= policy.grace_minutes * 60:
        return Lateness(late_s=0.0, penalty=0.0)
    return Lateness(late_s=round(late, 3), penalty=penalty(score, late, policy))
