"""The autograder's exceptions. Each carries enough context to act on."""
from __future__ import annotations


class AutograderError(Exception):
    """Base class: a problem the user can fix, reported without a traceback."""


class ConfigError(AutograderError):
    """grader_config.py is missing, unreadable or has a bad key or value."""


class SubmissionError(AutograderError):
    """A submission cannot be graded (corrupt, empty, unsafe archive ...). It scores 0 with this reason."""


class ReleaseError(AutograderError):
    """The source notebooks cannot be turned into a student release."""
