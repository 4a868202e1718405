"""Load `grader_config.py` into one frozen, validated policy object.

The file is plain Python with top-level assignments. It is read once, checked
against the schema below, and turned into `GraderConfig`. nbgrader silently
ignores `--config`, so the autograder never lets nbgrader look for its own
config files: it builds nbgrader's settings from this object, and it refuses to
run beside an `nbgrader_config.py` that would otherwise be picked up by hand-run
nbgrader commands and disagree without anyone noticing.
"""
from __future__ import annotations

import dataclasses
import datetime as dt
import difflib
import functools
import hashlib
import json
import os
import runpy
import types
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Mapping, Sequence

from autograder.errors import ConfigError

CONFIG_FILENAME = "grader_config.py"
DATA_SOURCES = ("embedded", "canonical")
CACHE_ENV = "RNN_AUTOGRADER_CACHE"   # overrides data.cache_dir (autograder/data/download.py reads the same variable)


@dataclass(frozen=True)
class Timeouts:
    """Time limits in seconds. `cells` maps a grade_id to its own per-cell limit."""

    kernel_start_s: float = 60
    cell_s: float = 60
    notebook_s: float = 900
    cells: Mapping[str, float] = field(default_factory=dict)

    def __post_init__(self) -> None:
        object.__setattr__(self, "cells", types.MappingProxyType(dict(self.cells)))

    def for_cell(self, grade_id: str | None) -> float:
        return float(self.cells.get(grade_id, self.cell_s)) if grade_id else float(self.cell_s)


@dataclass(frozen=True)
class ReferencePolicy:
    """How student functions are compared with the reference solutions."""

    cases: int = 5
    rtol: float = 1e-6
    seed: int = 20261126


@dataclass(frozen=True)
class Threshold:
    """Partial credit rises linearly from `min` (0 points) to `target` (full points)."""

    min: float
    target: float


@dataclass(frozen=True)
class SandboxPolicy:
    """Isolation and resource limits for student code (see autograder/grading/sandbox.py).

    "namespaces" runs each kernel in the bubblewrap allow-list sandbox as uid 65534; "off" runs it on
    the host. Where bwrap cannot run, `when_unavailable` decides: "warn" grades on the host with a
    sandbox note on every result, "refuse" stops the batch."""

    isolation: str = "namespaces"        # "namespaces" (bubblewrap) or "off"
    when_unavailable: str = "warn"       # "warn" or "refuse"
    memory_mb: int = 6144
    max_processes: int = 512
    max_file_mb: int = 1024
    max_output_kb: int = 1024
    cpu_s: int = 3600


@dataclass(frozen=True)
class CourseInfo:
    """What the header of every released notebook shows (autograder/course/templates/notebook_header.md.j2)."""

    title: str = "Deep Learning"
    week: int = 3
    topic: str = "Recurrent neural networks"
    honour_code: str = ("Write your own code. You may discuss ideas with others, but do not share or copy "
                        "solution code. Name every source you used in the notebook.")


LATE_METHODS = ("none", "zero", "per_hour", "per_day")


@dataclass(frozen=True)
class LatePolicy:
    """Penalty for work submitted after `due`, as a fraction of the score.

    method "none": no penalty; "zero": a late submission scores 0; "per_hour" / "per_day":
    `rate` of the score per started hour / day late, capped at `max_fraction`. Submissions
    within `grace_minutes` of the due time are on time.
    """

    method: str = "per_day"
    rate: float = 0.1
    grace_minutes: float = 15
    max_fraction: float = 1.0


@dataclass(frozen=True)
class ServePolicy:
    """What `autograder serve` (autograder/serve/service.py) allows and shows before the due date.

    `runs_per_day`: official runs per student and notebook per UTC day (0 = no limit). A notebook
    counts as run when a submission changes it since its last graded run; a submission that would
    go over the limit for any of its notebooks is not graded, and its feedback says so and when
    the next run is free. `before_due`: "summary" shows visible tests in full, and hidden tests and
    grader checks as pass counts per exercise without messages, with model metrics rounded to
    `metric_decimals`; "full" shows everything. After the due date feedback is always full.
    `poll_s`: how often the inbound folder is looked at."""

    runs_per_day: int = 3
    before_due: str = "summary"
    metric_decimals: int = 2
    poll_s: float = 2.0


@dataclass(frozen=True)
class DataPolicy:
    source: str = "embedded"
    cache_dir: str = "~/.cache/rnn-autograder"
    mirror_url: str = ""

    @property
    def cache_path(self) -> Path:
        """The cache folder: $RNN_AUTOGRADER_CACHE when set, else `cache_dir`, with `~` expanded; what
        autograder.data.download.cache_dir gives, without importing the data stage (numpy)."""
        return Path(os.environ.get(CACHE_ENV) or self.cache_dir).expanduser()


@dataclass(frozen=True)
class ModelsPolicy:
    """How the grader trains and measures saved models (autograder/grading/verdicts/models.py).

    Each model is trained again by the grader and measured in a child process with these limits
    and `threads` threads (whatever --workers is, so a grade never depends on the batch layout).
    `flag_margin` maps "<model>.<metric>" to how far (in the metric's units) the student's saved
    weights may beat the grader's training before the notebook is flagged "possible training on
    held-out data"; the defaults are measured (README "How trained models are graded").
    `cap_epochs` / `cap_examples` (0 = none) cap the grader's training: `autograder validate` sets
    them for the [[fast]] mutants and their reference; course grading leaves them at 0.
    `reuse_trainings` keeps the grader's training of each architecture in the data cache for later runs
    (the training is deterministic, so reusing it changes no number; off: every run trains again)."""

    cpu_s: int = 900
    memory_mb: int = 6144
    wall_s: float = 1800
    threads: int = 1
    max_file_mb: int = 64
    flag_margin: Mapping[str, float] = field(default_factory=lambda: dict(DEFAULT_FLAG_MARGINS))
    cap_epochs: int = 0
    cap_examples: int = 0
    reuse_trainings: bool = True

    def __post_init__(self) -> None:
        object.__setattr__(self, "flag_margin", types.MappingProxyType(dict(self.flag_margin)))


# Measured by `autograder calibrate` (docs/calibration.json "flag_margin_proposed"): a little over the
# largest gap, over three seeds, between the reference's own weights and the grader's training of them.
DEFAULT_FLAG_MARGINS: Mapping[str, float] = types.MappingProxyType({
    "sentiment_embedding_bag.accuracy": 0.03, "sentiment_bilstm.accuracy": 0.03,
    "char_gru.loss": 0.1, "temp_lstm.mae": 0.06})
MODELS_INT_KEYS = ("cpu_s", "memory_mb", "threads", "max_file_mb", "cap_epochs", "cap_examples")


@dataclass(frozen=True)
class GraderConfig:
    course_id: str
    assignment: str
    gradebook_url: str = "sqlite:///gradebook.db"
    timeouts: Timeouts = field(default_factory=Timeouts)
    points: Mapping[str, float] = field(default_factory=dict)
    reference: ReferencePolicy = field(default_factory=ReferencePolicy)
    seed: int = 1234
    thresholds: Mapping[str, Threshold] = field(default_factory=dict)
    budgets: Mapping[str, Mapping[str, float]] = field(default_factory=dict)
    data: DataPolicy = field(default_factory=DataPolicy)
    sandbox: SandboxPolicy = field(default_factory=SandboxPolicy)
    models: ModelsPolicy = field(default_factory=ModelsPolicy)
    course: CourseInfo = field(default_factory=CourseInfo)
    due: str = ""                        # ISO 8601 with a UTC offset; "" = no due date
    late_penalty: LatePolicy = field(default_factory=LatePolicy)
    roster: str = ""                     # CSV mapping LMS names/ids to student ids; "" = none
    serve: ServePolicy = field(default_factory=ServePolicy)
    # Not a key of the file: where it was read from. The digests of its values are properties below.
    course_root: Path = field(default=Path("."), compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "points", types.MappingProxyType(dict(self.points)))
        object.__setattr__(self, "thresholds", types.MappingProxyType(dict(self.thresholds)))
        object.__setattr__(self, "budgets", types.MappingProxyType(
            {k: types.MappingProxyType(dict(v)) for k, v in self.budgets.items()}))

    @property
    def gradebook_path(self) -> Path | None:
        """The sqlite file behind `gradebook_url`, resolved against the course root."""
        prefix = "sqlite:///"
        if not self.gradebook_url.startswith(prefix):
            return None
        path = Path(self.gradebook_url[len(prefix):])
        return path if path.is_absolute() else self.course_root / path

    @property
    def resolved_gradebook_url(self) -> str:
        path = self.gradebook_path
        return f"sqlite:///{path}" if path is not None else self.gradebook_url

    @property
    def due_at(self) -> dt.datetime | None:
        """`due` as a timezone-aware datetime (None when no due date is set)."""
        return dt.datetime.fromisoformat(self.due) if self.due else None

    @property
    def roster_path(self) -> Path | None:
        """The roster CSV, resolved against the course root (None when unset)."""
        if not self.roster:
            return None
        path = Path(self.roster).expanduser()
        return path if path.is_absolute() else self.course_root / path

    def with_gradebook(self, path: Path) -> "GraderConfig":
        """The same policy writing to another gradebook (both digests are unchanged)."""
        return dataclasses.replace(self, gradebook_url=f"sqlite:///{Path(path).resolve()}")

    @functools.cached_property
    def grade_digest(self) -> str:
        """16 hex digits over the keys that can change a grade (KEY_CLASSES): part of every result key,
        so a change re-grades."""
        return _class_digest(self, GRADE)

    @functools.cached_property
    def presentation_digest(self) -> str:
        """16 hex digits over the keys that only change what pages show (course header, honour code,
        roster): a change re-renders, never re-grades."""
        return _class_digest(self, PRESENTATION)

    @property
    def digest(self) -> str:
        """The grade digest (`grade_digest`), under the name older readers use."""
        return self.grade_digest


_FILE_KEYS = [f.name for f in dataclasses.fields(GraderConfig) if f.name != "course_root"]
_SECTIONS = {"timeouts": Timeouts, "reference": ReferencePolicy, "data": DataPolicy, "sandbox": SandboxPolicy,
             "course": CourseInfo, "late_penalty": LatePolicy, "serve": ServePolicy}
_CHOICES = {"data.source": DATA_SOURCES, "sandbox.isolation": ("namespaces", "off"),
            "sandbox.when_unavailable": ("warn", "refuse"), "late_penalty.method": LATE_METHODS,
            "serve.before_due": ("summary", "full")}


def _unknown(key: str, allowed: list[str], where: str) -> ConfigError:
    close = difflib.get_close_matches(key, allowed, n=1)
    hint = f" Did you mean '{close[0]}'?" if close else ""
    return ConfigError(f"{where}: unknown key '{key}'.{hint} Allowed: {', '.join(allowed)}.")


def _check_number(value: Any, key: str, *, integer: bool = False, positive: bool = True) -> float:
    ok_types = (int,) if integer else (int, float)
    if isinstance(value, bool) or not isinstance(value, ok_types):
        kind = "an integer" if integer else "a number"
        raise ConfigError(f"grader_config.py: '{key}' must be {kind}, got {value!r}.")
    if positive and value <= 0:
        raise ConfigError(f"grader_config.py: '{key}' must be greater than 0, got {value!r}.")
    return value


def _check_str(value: Any, key: str, *, allow_empty: bool = False) -> str:
    if not isinstance(value, str) or (not allow_empty and not value.strip()):
        raise ConfigError(f"grader_config.py: '{key}' must be a non-empty string, got {value!r}.")
    return value


def _check_mapping(value: Any, key: str) -> Mapping[str, Any]:
    if not isinstance(value, dict):
        raise ConfigError(f"grader_config.py: '{key}' must be a dict, got {type(value).__name__}.")
    for k in value:
        if not isinstance(k, str):
            raise ConfigError(f"grader_config.py: keys of '{key}' must be strings, got {k!r}.")
    return value


def _section(cls: type, value: Any, key: str) -> Any:
    _check_mapping(value, key)
    allowed = [f.name for f in dataclasses.fields(cls)]
    for k in value:
        if k not in allowed:
            raise _unknown(f"{key}.{k}", [f"{key}.{a}" for a in allowed], "grader_config.py")
    kwargs: dict[str, Any] = {}
    for f in dataclasses.fields(cls):
        if f.name not in value:
            continue
        v, name = value[f.name], f"{key}.{f.name}"
        if f.name == "cells":
            _check_mapping(v, name)
            kwargs[f.name] = types.MappingProxyType(
                {k: float(_check_number(s, f"{name}.{k}")) for k, s in v.items()})
        elif f.type in ("float", "int"):
            positive = name not in ("late_penalty.rate", "late_penalty.grace_minutes", "serve.runs_per_day")
            kwargs[f.name] = _check_number(v, name, integer=f.type == "int", positive=positive)
        else:
            kwargs[f.name] = _check_str(v, name, allow_empty=f.name == "mirror_url")
    return cls(**kwargs)


def _thresholds(value: Any) -> Mapping[str, Threshold]:
    _check_mapping(value, "thresholds")
    out = {}
    for metric, spec in value.items():
        name = f"thresholds.{metric}"
        _check_mapping(spec, name)
        if set(spec) != {"min", "target"}:
            raise ConfigError(f"grader_config.py: '{name}' needs exactly the keys 'min' and 'target', got {sorted(spec)}.")
        lo = _check_number(spec["min"], f"{name}.min", positive=False)
        hi = _check_number(spec["target"], f"{name}.target", positive=False)
        if lo == hi:
            raise ConfigError(f"grader_config.py: '{name}' has min == target ({lo}); they must differ.")
        _check_threshold_order(name, metric, lo, hi)
        out[metric] = Threshold(min=float(lo), target=float(hi))
    return types.MappingProxyType(out)


def _check_threshold_order(name: str, key: str, lo: float, hi: float) -> None:
    """`min` (0 points) must lie on the bad side of `target` (full points) for the key's metric.

    The metric is the part after the last dot of "<model>.<metric>"; which side is good comes
    from HIGHER_IS_BETTER, the table the grader scores with (accuracy up; loss and mae down). A key
    without a known metric is refused: its order could not be checked and no model would use it."""
    from autograder.results import HIGHER_IS_BETTER

    metric = key.rsplit(".", 1)[-1]
    if "." not in key or metric not in HIGHER_IS_BETTER:
        close = difflib.get_close_matches(metric, list(HIGHER_IS_BETTER), n=1)
        hint = f" Did you mean '{key.rsplit('.', 1)[0]}.{close[0]}'?" if close and "." in key else ""
        raise ConfigError(f"grader_config.py: '{name}' must be named '<model>.<metric>' with a metric the "
                          f"grader measures ({', '.join(HIGHER_IS_BETTER)}).{hint}")
    if HIGHER_IS_BETTER[metric] and not lo < hi:
        raise ConfigError(f"grader_config.py: '{name}': higher {metric} is better, so 'min' (0 points) must be "
                          f"below 'target' (full points); got min={lo:g}, target={hi:g}.")
    if not HIGHER_IS_BETTER[metric] and not lo > hi:
        raise ConfigError(f"grader_config.py: '{name}': lower {metric} is better, so 'min' (0 points) must be "
                          f"above 'target' (full points); got min={lo:g}, target={hi:g}.")


BUDGET_KEYS = ("max_epochs", "max_params")


def _budgets(value: Any) -> Mapping[str, Mapping[str, float]]:
    _check_mapping(value, "budgets")
    out = {}
    for model, spec in value.items():
        _check_mapping(spec, f"budgets.{model}")
        for k in spec:
            if k not in BUDGET_KEYS:
                raise _unknown(f"budgets.{model}.{k}", [f"budgets.{model}.{b}" for b in BUDGET_KEYS],
                               "grader_config.py")
        out[model] = {k: float(_check_number(v, f"budgets.{model}.{k}")) for k, v in spec.items()}
    return out


def _models(value: Any) -> ModelsPolicy:
    """The `models` section: limits of the grader's training (numbers > 0), the training cap (0 = none),
    and flag margins per "<model>.<metric>" (numbers > 0; the file's entries replace the defaults')."""
    _check_mapping(value, "models")
    allowed = [f.name for f in dataclasses.fields(ModelsPolicy)]
    kwargs: dict[str, Any] = {}
    for k, v in value.items():
        name = f"models.{k}"
        if k not in allowed:
            raise _unknown(name, [f"models.{a}" for a in allowed], "grader_config.py")
        if k == "flag_margin":
            _check_mapping(v, name)
            kwargs[k] = {**DEFAULT_FLAG_MARGINS,
                         **{m: float(_check_number(x, f"{name}.{m}")) for m, x in v.items()}}
        elif k == "reuse_trainings":
            if not isinstance(v, bool):
                raise ConfigError(f"grader_config.py: '{name}' must be True or False, got {v!r}.")
            kwargs[k] = v
        else:
            kwargs[k] = _check_number(v, name, integer=k in MODELS_INT_KEYS, positive=not k.startswith("cap_"))
            if kwargs[k] < 0:
                raise ConfigError(f"grader_config.py: '{name}' must be 0 or more, got {v!r}.")
    return ModelsPolicy(**kwargs)


def with_training_cap(config: GraderConfig, *, epochs: int, examples: int) -> GraderConfig:
    """The same policy with the grader's training capped (epochs, examples; 0 = no cap). Validation
    grades its [[fast]] mutants and their reference with one cap, so they stay comparable."""
    return dataclasses.replace(config, models=dataclasses.replace(config.models, cap_epochs=int(epochs),
                                                                  cap_examples=int(examples)))


def _check_due(value: Any) -> str:
    if value == "":
        return value
    if not isinstance(value, str):
        raise ConfigError(f"grader_config.py: 'due' must be a string like '2026-12-11T23:59:00+00:00', got {value!r}.")
    try:
        when = dt.datetime.fromisoformat(value)
    except ValueError:
        raise ConfigError(f"grader_config.py: 'due' is not an ISO 8601 date and time: {value!r} "
                          f"(write e.g. '2026-12-11T23:59:00+00:00').") from None
    if when.tzinfo is None:
        raise ConfigError(f"grader_config.py: 'due' needs a UTC offset, e.g. '{value}+00:00'; "
                          f"without one, graders in other time zones would disagree on who is late.")
    return value


def _check_points(value: Any, key: str) -> float:
    """Points of one grade cell: a number, 0 or more (nbgrader sums them; a negative one would
    subtract from tests the student passed)."""
    _check_number(value, key, positive=False)
    if value < 0:
        raise ConfigError(f"grader_config.py: '{key}' must be 0 or more points, got {value!r}.")
    return value


def _check_late(late: LatePolicy) -> None:
    """`rate` and `max_fraction` are fractions of the raw score, so each lies in [0, 1]; the grace
    period is not negative."""
    for key in ("rate", "max_fraction"):
        value = getattr(late, key)
        if not 0 <= value <= 1:
            raise ConfigError(f"grader_config.py: 'late_penalty.{key}' is a fraction of the score and must lie "
                              f"between 0 and 1, got {value!r}" + (f" (for {value:g}%, write {value / 100:g})."
                                                                   if 1 < value <= 100 else "."))
    if late.grace_minutes < 0:
        raise ConfigError(f"grader_config.py: 'late_penalty.grace_minutes' must be 0 or more, got {late.grace_minutes!r}.")


def check_points_keys(points: Mapping[str, float], grade_ids: Sequence[str], *, where: str) -> None:
    """Every key of `points` must name a grade cell of the source notebooks.

    Checked where the notebooks are loaded (release, grading), since the file alone does not know
    them; `where` names what was read (e.g. "source/week3_rnn"). An unknown key would otherwise be
    silently ignored, leaving the notebook's own points in force."""
    known = sorted(set(grade_ids))
    unknown = [key for key in points if key not in known]
    if not unknown:
        return
    parts = []
    for key in unknown:
        close = difflib.get_close_matches(key, known, n=1, cutoff=0.6)
        parts.append(f"'points.{key}'" + (f" (did you mean '{close[0]}'?)" if close else ""))
    raise ConfigError(f"grader_config.py: {', '.join(parts)} names no grade cell of the notebooks in {where}. "
                      f"Grade cells: {', '.join(known)}.")


def parse_config(values: Mapping[str, Any], *, course_root: Path = Path(".")) -> GraderConfig:
    """Validate the top-level names of a config file; raise ConfigError naming the bad key."""
    for key in values:
        if key not in _FILE_KEYS:
            raise _unknown(key, _FILE_KEYS, "grader_config.py")
    for required in ("course_id", "assignment"):
        if required not in values:
            raise ConfigError(f"grader_config.py: the key '{required}' is required.")
    kwargs: dict[str, Any] = {}
    for key, value in values.items():
        if key in _SECTIONS:
            kwargs[key] = _section(_SECTIONS[key], value, key)
        elif key == "points":
            _check_mapping(value, "points")
            kwargs[key] = types.MappingProxyType(
                {k: float(_check_points(v, f"points.{k}")) for k, v in value.items()})
        elif key == "thresholds":
            kwargs[key] = _thresholds(value)
        elif key == "budgets":
            kwargs[key] = _budgets(value)
        elif key == "models":
            kwargs[key] = _models(value)
        elif key == "seed":
            kwargs[key] = _check_number(value, "seed", integer=True, positive=False)
        elif key == "due":
            kwargs[key] = _check_due(value)
        elif key == "roster":
            kwargs[key] = _check_str(value, key, allow_empty=True)
        else:
            kwargs[key] = _check_str(value, key)
    if "/" in kwargs["assignment"] or kwargs["assignment"].startswith("."):
        raise ConfigError(f"grader_config.py: 'assignment' must be a plain folder name, got {kwargs['assignment']!r}.")
    for dotted, choices in _CHOICES.items():
        section, key = dotted.split(".")
        if section in kwargs and getattr(kwargs[section], key) not in choices:
            raise ConfigError(f"grader_config.py: '{dotted}' must be one of {', '.join(choices)}, "
                              f"got {getattr(kwargs[section], key)!r}.")
    late = kwargs.get("late_penalty")
    if late is not None:
        _check_late(late)
    return GraderConfig(**kwargs, course_root=course_root)


def _plain(value: Any) -> Any:
    if dataclasses.is_dataclass(value):
        return {f.name: _plain(getattr(value, f.name)) for f in dataclasses.fields(value)
                if f.name != "course_root"}
    if isinstance(value, Mapping):
        return {k: _plain(v) for k, v in sorted(value.items())}
    return value


def config_as_dict(config: GraderConfig) -> dict[str, Any]:
    return _plain(config)


# --- the two digests: every key of the file is in exactly one class -------------------------------
GRADE = "grade"                # can change a grade: in `grade_digest`, hence in every result key
PRESENTATION = "presentation"  # changes only what pages and notebook headers show: in `presentation_digest`
LOCATION = "location"          # where things are kept (gradebook, data cache, mirror): in neither digest
KEY_CLASSES: Mapping[str, str] = types.MappingProxyType({
    "course_id": LOCATION,                 # nbgrader's course in the gradebook and the exchange
    "assignment": GRADE,
    "gradebook_url": LOCATION,
    "timeouts.kernel_start_s": GRADE, "timeouts.cell_s": GRADE, "timeouts.notebook_s": GRADE,
    "timeouts.cells": GRADE,
    "points": GRADE,
    "reference.cases": GRADE, "reference.rtol": GRADE, "reference.seed": GRADE,
    "seed": GRADE,
    "thresholds": GRADE,
    "budgets": GRADE,
    "models": GRADE,                       # the grader's training of saved models: limits, cap, flag margins
    "data.source": GRADE,                  # embedded or canonical data: other numbers
    "data.cache_dir": LOCATION,            # downloads are checked by sha256: the same bytes wherever kept
    "data.mirror_url": LOCATION,
    "sandbox.isolation": GRADE, "sandbox.when_unavailable": GRADE, "sandbox.memory_mb": GRADE,
    "sandbox.max_processes": GRADE, "sandbox.max_file_mb": GRADE, "sandbox.max_output_kb": GRADE,
    "sandbox.cpu_s": GRADE,
    "course.title": PRESENTATION, "course.week": PRESENTATION, "course.topic": PRESENTATION,
    "course.honour_code": PRESENTATION,
    "due": GRADE,                          # lateness and its penalty
    "late_penalty.method": GRADE, "late_penalty.rate": GRADE, "late_penalty.grace_minutes": GRADE,
    "late_penalty.max_fraction": GRADE,
    "roster": PRESENTATION,                # maps LMS users to students; a submission's grade is its own
    # `autograder serve`: how often a student may run, and what feedback shows before the due date
    "serve.runs_per_day": PRESENTATION, "serve.before_due": PRESENTATION,
    "serve.metric_decimals": PRESENTATION, "serve.poll_s": LOCATION,
})


def config_keys() -> list[str]:
    """Every key of the file, a section's fields dotted (`timeouts.cell_s`); mappings are one key."""
    keys = []
    for f in dataclasses.fields(GraderConfig):
        if f.name == "course_root":
            continue
        section = _SECTIONS.get(f.name)
        keys += [f"{f.name}.{g.name}" for g in dataclasses.fields(section)] if section else [f.name]
    return keys


def unclassified_keys(classes: Mapping[str, str] = KEY_CLASSES) -> list[str]:
    """Keys of the file missing from `classes` (they count as GRADE: a change re-grades)."""
    return [k for k in config_keys() if k not in classes]


def _class_digest(config: GraderConfig, kind: str) -> str:
    plain = _plain(config)
    values = {}
    for key in config_keys():
        if KEY_CLASSES.get(key, GRADE) == kind:
            section, _, name = key.partition(".")
            values[key] = plain[section][name] if name else plain[section]
    blob = json.dumps(values, sort_keys=True, default=str).encode()
    return hashlib.sha256(blob).hexdigest()[:16]


def find_course_root(start: Path | None = None) -> Path:
    """The nearest folder at or above `start` (default: cwd) that holds grader_config.py."""
    here = (start or Path.cwd()).resolve()
    for folder in (here, *here.parents):
        if (folder / CONFIG_FILENAME).is_file():
            return folder
    raise ConfigError(
        f"No {CONFIG_FILENAME} found in {here} or any parent folder. Run the command inside the course "
        f"folder, or pass --course-root.")


def check_no_stray_nbgrader_config(course_root: Path) -> None:
    """Refuse an nbgrader_config.py that hand-run nbgrader commands would load instead of ours."""
    for folder in {course_root.resolve(), Path.cwd().resolve()}:
        stray = folder / "nbgrader_config.py"
        if stray.exists():
            raise ConfigError(
                f"Found {stray}. This course is configured only by {CONFIG_FILENAME}; nbgrader would load "
                f"that file on its own and its settings could silently disagree. Move its settings into "
                f"{CONFIG_FILENAME} and delete it.")


def load_config(course_root: Path | None = None) -> GraderConfig:
    """Read, validate and freeze the course's grader_config.py."""
    root = Path(course_root).resolve() if course_root else find_course_root()
    path = root / CONFIG_FILENAME
    if not path.is_file():
        raise ConfigError(f"{path} does not exist.")
    check_no_stray_nbgrader_config(root)
    try:
        namespace = runpy.run_path(str(path), run_name="grader_config")
    except Exception as exc:  # a syntax error or a failing expression in the file
        raise ConfigError(f"{path} could not be read: {type(exc).__name__}: {exc}") from exc
    values = {k: v for k, v in namespace.items()
              if not k.startswith("_") and not isinstance(v, types.ModuleType)}
    return parse_config(values, course_root=root)
