"""nbgrader's late-penalty hook with the autograder's rule (`autograder/grading/late.py`).

A module of its own, so that grading, which never needs nbgrader, does not import it.
"""
from __future__ import annotations

from nbgrader.plugins import LateSubmissionPlugin
from traitlets import Enum, Float
from traitlets.config import Config

from autograder.config import LATE_METHODS, LatePolicy
from autograder.grading.late import penalty


class LatePenaltyPlugin(LateSubmissionPlugin):
    """nbgrader's late-penalty hook with the autograder's rule (``penalty`` above).

    Use with nbgrader: ``c.AssignLatePenalties.plugin_class = LatePenaltyPlugin`` and the
    policy from ``LatePenaltyPlugin.config_for(config.late_penalty)`` merged into its Config.
    """

    method = Enum(LATE_METHODS, default_value=LatePolicy.method,
                  help="none, zero, per_hour or per_day (grader_config.py late_penalty.method)").tag(config=True)
    rate = Float(LatePolicy.rate, help="fraction of the score per started hour/day").tag(config=True)
    grace_minutes = Float(LatePolicy.grace_minutes, help="this close after the due date is on time").tag(config=True)
    max_fraction = Float(LatePolicy.max_fraction, help="cap on the penalty, as a fraction").tag(config=True)

    @staticmethod
    def config_for(policy: LatePolicy) -> Config:
        """A traitlets Config that makes nbgrader use this plugin with `policy`."""
        cfg = Config()
        cfg.AssignLatePenalties.plugin_class = f"{__name__}.LatePenaltyPlugin"
        cfg.LatePenaltyPlugin.method = policy.method
        cfg.LatePenaltyPlugin.rate = float(policy.rate)
        cfg.LatePenaltyPlugin.grace_minutes = float(policy.grace_minutes)
        cfg.LatePenaltyPlugin.max_fraction = float(policy.max_fraction)
        return cfg

    @property
    def policy(self) -> LatePolicy:
        return LatePolicy(method=self.method, rate=self.rate, grace_minutes=self.grace_minutes,
                          max_fraction=self.max_fraction)

    def late_submission_penalty(self, student_id: str, score: float, total_seconds_late: float) -> float | None:
        points = penalty(score, total_seconds_late, self.policy)
        return points or None
