"""grader_config.py: validated once, bad keys named, stray nbgrader configs refused."""
from __future__ import annotations

import dataclasses
from pathlib import Path

import pytest

from autograder.config import load_config, parse_config
from autograder.errors import ConfigError

BASE = {"course_id": "c", "assignment": "a"}


def test_the_course_config_loads(course_root: Path) -> None:
    config = load_config(course_root)
    assert config.assignment == "week3_rnn"
    assert config.timeouts.cell_s > 0 and config.reference.cases >= 1
    assert len(config.digest) == 16


@pytest.mark.parametrize("values, key", [
    ({**BASE, "cell_timeout": 5}, "cell_timeout"),
    ({**BASE, "timeouts": {"cel_s": 5}}, "timeouts.cel_s"),
    ({**BASE, "timeouts": {"cell_s": "slow"}}, "timeouts.cell_s"),
    ({**BASE, "timeouts": {"cell_s": -1}}, "timeouts.cell_s"),
    ({**BASE, "reference": {"cases": 2.5}}, "reference.cases"),
    ({**BASE, "seed": "x"}, "seed"),
    ({**BASE, "data": {"source": "s3"}}, "data.source"),
    ({**BASE, "thresholds": {"accuracy": {"min": 0.5}}}, "thresholds.accuracy"),
    ({"course_id": "c"}, "assignment"),
    ({**BASE, "assignment": "../x"}, "assignment"),
])
def test_bad_values_name_the_key(values: dict, key: str) -> None:
    with pytest.raises(ConfigError, match=key.replace(".", r"\.")):
        parse_config(values)


def test_misspelt_key_gets_a_suggestion() -> None:
    with pytest.raises(ConfigError, match="Did you mean 'timeouts'"):
        parse_config({**BASE, "timeout": {}})


def test_per_cell_timeouts_override_the_default() -> None:
    config = parse_config({**BASE, "timeouts": {"cell_s": 30, "cells": {"train": 600}}})
    assert config.timeouts.for_cell("train") == 600
    assert config.timeouts.for_cell("other") == 30
    assert config.timeouts.for_cell(None) == 30


def test_digest_follows_values() -> None:
    a = parse_config(BASE)
    b = parse_config({**BASE, "seed": 7})
    assert a.digest == parse_config(dict(BASE)).digest
    assert a.digest != b.digest


def test_config_is_frozen() -> None:
    config = parse_config(BASE)
    with pytest.raises(dataclasses.FrozenInstanceError):
        config.seed = 3  # type: ignore[misc]
    with pytest.raises(TypeError):
        config.timeouts.cells["x"] = 1  # type: ignore[index]


def test_stray_nbgrader_config_is_refused(scratch_course: Path) -> None:
    (scratch_course / "nbgrader_config.py").write_text("c = get_config()\nc.Execute.timeout = 5\n")
    with pytest.raises(ConfigError, match="nbgrader_config.py"):
        load_config(scratch_course)


def test_unreadable_config_is_reported(scratch_course: Path) -> None:
    (scratch_course / "grader_config.py").write_text("course_id = 'x'\nassignment = \n")
    with pytest.raises(ConfigError, match="could not be read"):
        load_config(scratch_course)


def test_budgets_are_checked() -> None:
    config = parse_config({**BASE, "budgets": {"m": {"max_epochs": 5}}})
    assert config.budgets["m"]["max_epochs"] == 5
    with pytest.raises(ConfigError, match=r"budgets\.m\.max_epoch"):
        parse_config({**BASE, "budgets": {"m": {"max_epoch": 5}}})


@pytest.mark.parametrize("due, message", [
    ("2026-12-11 23:59", "UTC offset"),
    ("next friday", "ISO 8601"),
    (20261211, "must be a string"),
])
def test_bad_due_dates_are_refused(due: object, message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        parse_config({"course_id": "c", "assignment": "a", "due": due})


def test_due_date_and_late_policy_are_parsed() -> None:
    config = parse_config({"course_id": "c", "assignment": "a", "due": "2026-12-11T23:59:00+01:00",
                           "late_penalty": {"method": "per_hour", "rate": 0.02}, "course": {"week": 4}})
    assert config.due_at is not None and config.due_at.utcoffset().total_seconds() == 3600
    assert config.late_penalty.method == "per_hour" and config.late_penalty.grace_minutes == 15
    assert config.course.week == 4 and config.course.topic
    with pytest.raises(ConfigError, match="late_penalty.method"):
        parse_config({"course_id": "c", "assignment": "a", "late_penalty": {"method": "sometimes"}})
    with pytest.raises(ConfigError, match="max_fraction"):
        parse_config({"course_id": "c", "assignment": "a", "late_penalty": {"max_fraction": 2}})
    with pytest.raises(ConfigError, match="course.wek"):
        parse_config({"course_id": "c", "assignment": "a", "course": {"wek": 4}})
