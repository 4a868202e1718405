"""The late-penalty rule with exact numbers, and nbgrader's hook giving the same numbers."""
from __future__ import annotations

import datetime as dt

import pytest

from autograder.config import LatePolicy
from autograder.grading.late import assess, penalty
from autograder.grading.late_plugin import LatePenaltyPlugin

DUE = dt.datetime(2026, 12, 11, 23, 59, tzinfo=dt.timezone.utc)
PER_DAY = LatePolicy(method="per_day", rate=0.1, grace_minutes=15, max_fraction=1.0)


def at(seconds_after_due: float) -> str:
    return (DUE + dt.timedelta(seconds=seconds_after_due)).isoformat()


@pytest.mark.parametrize("seconds, policy, expected", [
    (-3600, PER_DAY, 0.0),                                                    # on time
    (900, PER_DAY, 0.0),                                                      # exactly at the end of grace
    (901, PER_DAY, 2.0),                                                      # 1 s past grace: one started day
    (1.5 * 86400, PER_DAY, 4.0),                                              # 1.5 days: two started days
    (1.5 * 3600, LatePolicy(method="per_hour", rate=0.05), 2.0),              # 1.5 hours: two started hours
    (60, LatePolicy(method="per_hour", rate=0.05, grace_minutes=0), 1.0),     # no grace: one started hour
    (901, LatePolicy(method="zero"), 20.0),
    (901, LatePolicy(method="zero", max_fraction=0.5), 10.0),                 # the cap applies to zero too
    (10 * 86400, LatePolicy(method="none"), 0.0),
    (5 * 86400, LatePolicy(method="per_day", rate=0.3, max_fraction=0.5), 10.0),   # 1.5 capped at 0.5
    (30 * 86400, PER_DAY, 20.0),                                              # never more than the score
])
def test_penalty_on_a_score_of_20(seconds: float, policy: LatePolicy, expected: float) -> None:
    assert assess(20.0, due=DUE, submitted_at=at(seconds), policy=policy).penalty == expected
    assert penalty(20.0, seconds, policy) == expected


def test_lateness_reports_seconds_only_past_grace() -> None:
    assert assess(20.0, due=DUE, submitted_at=at(600), policy=PER_DAY).late_s == 0.0
    assert assess(20.0, due=DUE, submitted_at=at(901), policy=PER_DAY).late_s == 901.0


def test_no_due_date_or_no_time_is_never_late() -> None:
    assert assess(20.0, due=None, submitted_at=at(10 * 86400), policy=PER_DAY).penalty == 0.0
    assert assess(20.0, due=DUE, submitted_at="", policy=PER_DAY).penalty == 0.0


def test_a_time_without_a_zone_is_refused() -> None:
    with pytest.raises(ValueError, match="timezone"):
        assess(20.0, due=DUE, submitted_at="2026-12-12T10:00:00", policy=PER_DAY)


def test_other_time_zones_compare_by_the_instant() -> None:
    # 01:00 at +02:00 is 23:00 UTC, before the due date
    assert assess(20.0, due=DUE, submitted_at="2026-12-12T01:00:00+02:00", policy=PER_DAY).penalty == 0.0
    assert assess(20.0, due=DUE, submitted_at="2026-12-12T03:00:00+02:00", policy=PER_DAY).penalty == 2.0


def test_nbgrader_runs_the_same_rule_through_its_hook() -> None:
    from nbgrader.preprocessors import AssignLatePenalties

    policy = LatePolicy(method="per_day", rate=0.25, grace_minutes=10, max_fraction=0.6)
    preprocessor = AssignLatePenalties(config=LatePenaltyPlugin.config_for(policy))
    preprocessor.init_plugin()
    plugin = preprocessor.plugin_inst
    assert isinstance(plugin, LatePenaltyPlugin) and plugin.policy == policy
    for seconds in (60, 601, 86400 + 1, 2.5 * 86400, 9 * 86400):
        for score in (0.0, 3.0, 12.0, 20.0):
            expected = penalty(score, seconds, policy)
            assert (plugin.late_submission_penalty("s", score, seconds) or 0.0) == expected
    # nbgrader asks per notebook: the notebooks' penalties add up to the submission's
    assert plugin.late_submission_penalty("s", 12.0, 2 * 86400) + plugin.late_submission_penalty("s", 8.0, 2 * 86400) \
        == penalty(20.0, 2 * 86400, policy) == 10.0
