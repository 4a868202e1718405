"""grader_config.py: validated once, bad keys named, stray nbgrader configs refused."""
from __future__ import annotations

import dataclasses
import json
import runpy
import types
from collections.abc import Mapping
from pathlib import Path

import pytest

from autograder.config import (
    _CHOICES,
    GRADE,
    KEY_CLASSES,
    LOCATION,
    PRESENTATION,
    config_as_dict,
    config_keys,
    load_config,
    parse_config,
    unclassified_keys,
)
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
    assert a.digest == parse_config(dict(BASE)).digest == a.grade_digest
    assert a.digest != b.digest
    assert dataclasses.replace(a, seed=7).grade_digest == b.grade_digest     # never stale after a replace


def _course_values(course_root: Path) -> dict:
    namespace = runpy.run_path(str(course_root / "grader_config.py"))
    return {k: v for k, v in namespace.items() if not k.startswith("_") and not isinstance(v, types.ModuleType)}


# Changed values where a generic change would not be valid; every other key is changed by its type.
CHANGED = {
    "gradebook_url": "sqlite:///elsewhere.db",
    "due": "2026-12-12T23:59:00+00:00",
    "roster": "roster.csv",
    "data.mirror_url": "https://mirror.example/course-data",
    "late_penalty.max_fraction": 0.5,
    "points": {"test_rnn_cell_forward_visible": 2.0},
}


def _changed(key: str, value):
    """A different valid value for `key` (whose value is `value`)."""
    if key in CHANGED:
        return CHANGED[key]
    if key in _CHOICES:
        return next(c for c in _CHOICES[key] if c != value)
    if isinstance(value, bool):
        return not value
    if isinstance(value, int):
        return value + 1
    if isinstance(value, float):
        return value / 2
    if isinstance(value, str):
        return value + "-changed"
    if key == "thresholds":        # move the first target halfway towards its min: same direction
        name, spec = next(iter(value.items()))
        return {**value, name: {"min": spec["min"], "target": (spec["min"] + spec["target"]) / 2}}
    if key == "budgets":
        name, spec = next(iter(value.items()))
        return {**value, name: {**spec, "max_epochs": spec["max_epochs"] + 1}}
    if isinstance(value, Mapping):     # another section or mapping: change its first number
        name = next((k for k, v in value.items() if isinstance(v, (int, float)) and not isinstance(v, bool)), None)
        if name is not None:
            return {**value, name: _changed(f"{key}.{name}", value[name])}
    raise AssertionError(f"no changed value for config key {key!r}: add one to CHANGED")


# What a change of each key must do, written out here on its own: a key that only changes what pages
# and headers show re-renders, one that only says where things are kept does nothing, any other re-grades.
RE_RENDERS = {"course.title", "course.week", "course.topic", "course.honour_code", "roster",
              "serve.runs_per_day", "serve.before_due", "serve.metric_decimals"}
NEITHER = {"course_id", "gradebook_url", "data.cache_dir", "data.mirror_url", "serve.poll_s"}


@pytest.mark.parametrize("key", config_keys())
def test_each_key_moves_the_digest_of_its_class(course_root: Path, key: str) -> None:
    """Changing a grade key moves the grade digest (a re-grade) and not the presentation digest; a
    presentation key the reverse (a re-render); a location key neither. A new key must be classified."""
    assert key in KEY_CLASSES, f"config key {key!r} is not classified in config.KEY_CLASSES"
    expected = PRESENTATION if key in RE_RENDERS else LOCATION if key in NEITHER else GRADE
    assert KEY_CLASSES[key] == expected, f"{key} is classified {KEY_CLASSES[key]!r}; it should be {expected!r}"
    values = _course_values(course_root)
    base = parse_config(values, course_root=course_root)
    section, _, name = key.partition(".")
    if name:
        current = getattr(getattr(base, section), name)
        current = dict(current) if isinstance(current, Mapping) else current
        changed = {**values, section: {**values.get(section, {}), name: _changed(key, current)}}
    else:
        current = getattr(base, key)
        if dataclasses.is_dataclass(current):
            current = {f.name: getattr(current, f.name) for f in dataclasses.fields(current)}
        current = {k: dataclasses.asdict(v) if dataclasses.is_dataclass(v) else dict(v) if isinstance(v, Mapping)
                   else v for k, v in current.items()} if isinstance(current, Mapping) else current
        changed = {**values, key: _changed(key, current)}
    other = parse_config(changed, course_root=course_root)
    assert config_as_dict(other) != config_as_dict(base), f"{key}: the change did not take"
    moved = {GRADE: other.grade_digest != base.grade_digest,
             PRESENTATION: other.presentation_digest != base.presentation_digest}
    assert moved == {GRADE: expected == GRADE, PRESENTATION: expected == PRESENTATION}, key


def test_every_key_is_classified_once() -> None:
    assert unclassified_keys() == []
    assert sorted(KEY_CLASSES) == sorted(config_keys())                      # no class for a key that is gone
    assert set(KEY_CLASSES.values()) == {GRADE, PRESENTATION, LOCATION}
    # the check itself: a classification that misses a key names it
    assert unclassified_keys({k: v for k, v in KEY_CLASSES.items() if k != "sandbox.cpu_s"}) == ["sandbox.cpu_s"]


def test_the_result_key_moves_with_the_grade_digest_only(course_root: Path, tmp_path: Path) -> None:
    from autograder.grading.pipeline import GradingContext
    from autograder.intake.discover import Submission

    config = load_config(course_root)
    submission = Submission(student="ann", notebooks={}, sha256="0" * 64, submitted_at="2026-12-11T20:00:00+00:00")

    def key(cfg) -> str:
        ctx = GradingContext(config=cfg, spec=None, sources={}, releases={}, solutions={}, data={},
                             release_dir=tmp_path, source_digest="s")
        return ctx.result_key(submission)

    cosmetic = dataclasses.replace(config, roster="other.csv", course=dataclasses.replace(
        config.course, honour_code="Be kind.", title="Deep Learning II"))
    assert key(cosmetic) == key(config)
    assert key(dataclasses.replace(config, seed=config.seed + 1)) != key(config)
    assert key(dataclasses.replace(config, due="2026-12-20T23:59:00+00:00")) != key(config)


def test_source_digest_leaves_out_markdown_text(tmp_path: Path, course_root: Path) -> None:
    """The rendered course header is markdown: rewording it (or any instruction) re-grades nobody; a
    changed code cell or cell metadata does."""
    import nbformat

    from autograder.grading.pipeline import source_digest

    source, solutions = tmp_path / "source", tmp_path / "solutions"
    source.mkdir()
    solutions.mkdir()
    nb = nbformat.read(str(course_root / "source" / "week3_rnn" / "01_rnn_basics.ipynb"), as_version=4)
    path = source / "01_rnn_basics.ipynb"

    def digest_of(notebook) -> str:
        nbformat.write(notebook, str(path))
        return source_digest(source, solutions)

    before = digest_of(nb)
    markdown = next(c for c in nb.cells if c.cell_type == "markdown")
    markdown.source += "\n\n**Honour code.** A new wording."
    assert digest_of(nb) == before
    code = next(c for c in nb.cells if c.cell_type == "code")
    code.source += "\n# changed"
    changed_code = digest_of(nb)
    assert changed_code != before
    markdown.metadata["nbgrader"] = {"grade": True, "grade_id": "essay", "points": 1, "solution": False}
    assert digest_of(nb) != changed_code


def test_autograder_config_prints_both_digests(course_root: Path, capsys) -> None:
    from autograder.cli import main

    assert main(["--course-root", str(course_root), "config"]) == 0
    printed = json.loads(capsys.readouterr().out)
    config = load_config(course_root)
    assert (printed["grade_digest"], printed["presentation_digest"]) == (config.grade_digest,
                                                                          config.presentation_digest)
    assert printed["grade_digest"] != printed["presentation_digest"]


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


# ---- value checks: points, late penalty rate, threshold order (each beside an accepted control) ----

@pytest.mark.parametrize("values, message", [
    ({**BASE, "points": {"test_rnn_forward_visible": -1}}, r"points\.test_rnn_forward_visible.*0 or more"),
    ({**BASE, "late_penalty": {"rate": 1.5}}, r"late_penalty\.rate.*between 0 and 1"),
    ({**BASE, "late_penalty": {"rate": 10}}, r"late_penalty\.rate.*write 0\.1"),
    ({**BASE, "late_penalty": {"rate": -0.1}}, r"late_penalty\.rate.*between 0 and 1"),
    ({**BASE, "late_penalty": {"grace_minutes": -5}}, r"late_penalty\.grace_minutes"),
    ({**BASE, "thresholds": {"m.accuracy": {"min": 0.8, "target": 0.6}}}, r"thresholds\.m\.accuracy.*higher accuracy"),
    ({**BASE, "thresholds": {"m.loss": {"min": 1.9, "target": 3.0}}}, r"thresholds\.m\.loss.*lower loss"),
    ({**BASE, "thresholds": {"m.mae": {"min": 0.2, "target": 0.25}}}, r"thresholds\.m\.mae.*lower mae"),
    ({**BASE, "thresholds": {"m.acuracy": {"min": 0.6, "target": 0.8}}}, r"Did you mean 'm\.accuracy'"),
])
def test_values_out_of_range_or_order_are_refused(values: dict, message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        parse_config(values)


def test_values_in_range_and_order_are_accepted() -> None:
    config = parse_config({**BASE, "points": {"t": 0, "u": 2.5}, "late_penalty": {"rate": 0, "max_fraction": 1},
                           "thresholds": {"m.accuracy": {"min": 0.6, "target": 0.8},
                                          "m.loss": {"min": 3.0, "target": 1.9},
                                          "m.mae": {"min": 0.25, "target": 0.2}}})
    assert config.points["u"] == 2.5 and config.late_penalty.rate == 0
    assert parse_config({**BASE, "late_penalty": {"rate": 1}}).late_penalty.rate == 1


def test_the_course_thresholds_follow_the_graders_direction(course_root: Path) -> None:
    from autograder.grading.verdicts.models import HIGHER_IS_BETTER

    config = load_config(course_root)
    for key, t in config.thresholds.items():
        assert (t.min < t.target) == HIGHER_IS_BETTER[key.rsplit(".", 1)[1]], key


def _with_points(scratch_course: Path, points: str) -> None:
    config = scratch_course / "grader_config.py"
    config.write_text(config.read_text().replace("\npoints = {}\n", f"\npoints = {points}\n"))


def test_a_points_key_naming_no_grade_cell_is_refused_with_a_suggestion(scratch_course: Path) -> None:
    from autograder.course.notebooks import load_source
    from autograder.course.release import rendered_sources

    _with_points(scratch_course, '{"test_rnn_forwrd_visible": 2}')
    config = load_config(scratch_course)          # the file alone is valid: it does not know the notebooks
    for load in (load_source, rendered_sources):  # grading and release both refuse it
        with pytest.raises(ConfigError, match=r"'points\.test_rnn_forwrd_visible' \(did you mean "
                                              r"'test_rnn_forward_visible'\?\) names no grade cell"):
            load(config)


def test_a_points_key_naming_a_grade_cell_applies(scratch_course: Path) -> None:
    from autograder.course.notebooks import load_source

    _with_points(scratch_course, '{"test_rnn_forward_visible": 2}')
    spec, _ = load_source(load_config(scratch_course))
    test = next(t for nb in spec.notebooks for t in nb.tests if t.grade_id == "test_rnn_forward_visible")
    assert test.points == 2
