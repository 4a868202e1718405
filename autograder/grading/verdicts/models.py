"""Grade a trained model by training its architecture again, the grader's way, on data the student never saw.

The notebook saves `models/<name>.keras` and `models/<name>.json` (docs/topic-contract.md). What the
grader takes from them, and nothing else:
- the saved, compiled architecture (layers, their configuration, the optimiser's configuration and the
  loss), loaded with Keras safe mode: no Lambda layers, no custom code;
- the declared training length: `epochs` (else the length of the saved history) and, when present,
  `batch_size` (else the course's batch size). More epochs than `budgets["<model>"]["max_epochs"]`
  score 0 on the metric, and so do more parameters than `max_params`.

The grade comes from a fresh copy of that architecture, initialised from the course seed and trained
by the grader on its own training split, fed the way the notebook feeds it (`autograder/data/feeding.py`:
vocabulary, window width, mean and standard deviation all come from the grader's split and recipe,
never from the side file), and measured on the held-out split. The student's saved weights are
measured on the same held-out data too: when they beat the grader's training by more than
`models.flag_margin["<model>.<metric>"]` (more than the seed-to-seed spread of honest training),
the notebook is flagged "possible training on held-out data". A model smuggled in, a forged
history, a budget split over several `fit` calls or data embedded in the notebook gain nothing.

Training and measuring run in a child process (`model_job.py`) that runs no student code, with the
address-space, CPU-second and wall-time limits of `models` in grader_config.py and a fixed number
of threads (`models.threads`, independent of `--workers`, so a grade never depends on the batch
layout). A model over a limit scores 0 on the metric with the limit named; the batch goes on.
Workspace files are read without following symlinks, FIFOs or devices (`files.py`).

Because the grader's training depends only on the architecture file's config, the declared epochs and
batch size, the data, the seed, the threads and the library versions, identical architectures are
trained once (a class that builds the reference architecture costs one training), and the result is
kept on disk for later runs (`_TrainedOnce`; `models.reuse_trainings = False` trains every time); the
student's own weights are still loaded and measured for every submission.

Metrics:
- accuracy (binary_text): share of held-out texts whose logit has the right sign; higher is better;
- loss (char_lm): mean per-character cross-entropy in nats on held-out plays; lower is better;
- mae (forecast): mean absolute error in °C of next-hour forecasts on the held-out future; lower is better.
"""
from __future__ import annotations

import functools
import hashlib
import io
import json
import math
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
import zipfile
from collections import OrderedDict
from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import Enum
from pathlib import Path
from typing import Any

from autograder.config import GraderConfig, Threshold
from autograder.data.feeding import job_data, recipe
from autograder.grading.verdicts import files
from autograder.grading.verdicts.model_job import STATEFUL_COPIED
from autograder.results import HIGHER_IS_BETTER, Note, NoteKind, TestResult

__all__ = ["HIGHER_IS_BETTER", "Limit", "Measurement", "ModelSpec", "architecture_verdict", "curve", "measure",
           "metric_verdict", "model_notes", "reported_flag"]

# Kept for the probes' in-process model checks (Keras's global state is not thread-safe); the
# measurement of saved models runs in child processes and never takes it.
_KERAS_LOCK = threading.Lock()
MAX_SIDE_FILE = 4 * 1024 * 1024


@dataclass(frozen=True)
class ModelSpec:
    """What the instructor requires of one saved model (from MODELS in solutions/<topic>.py).

    `training` overrides the task's feeding recipe (autograder/data/feeding.py RECIPES): the course's
    batch size, the notebook's train / validation cut, window width, sequence length, ..."""

    name: str
    task: str                                  # binary_text | char_lm | forecast
    metric: str                                # accuracy | loss | mae
    layers: tuple[str, ...] = ()
    recurrent: tuple[Mapping[str, Any], ...] = ()
    params: tuple[int, int] = (0, 10**9)
    reported_tolerance: float = 0.1
    training: Mapping[str, Any] = field(default_factory=dict)

    @classmethod
    def from_mapping(cls, name: str, raw: Mapping[str, Any]) -> ModelSpec:
        return cls(name=name, task=raw["task"], metric=raw["metric"], layers=tuple(raw.get("layers", ())),
                   recurrent=tuple(raw.get("recurrent", ())), params=tuple(raw.get("params", (0, 10**9))),
                   reported_tolerance=float(raw.get("reported_tolerance", 0.1)),
                   training=dict(raw.get("training", {})))


class Limit(str, Enum):
    """Which of the grader's limits stopped the training and measurement of a model."""

    CPU = "cpu"          # models.cpu_s CPU seconds (all threads)
    MEMORY = "memory"    # models.memory_mb of address space
    WALL = "wall"        # models.wall_s seconds of wall time


@dataclass(frozen=True)
class Measurement:
    """What the grader measured about one saved model.

    `value` is the grade's number: the metric of the grader's own training of the architecture.
    `own_value` is the student's saved weights on the same held-out data (only for the flag)."""

    name: str
    problem: str = ""                 # why the metric could not be measured ("" if it could)
    value: float | None = None        # the grader-trained model's metric on held-out data
    baseline: float | None = None     # a trivial predictor's metric on the same data
    reported: float | None = None     # what the notebook reported
    epochs: int | None = None         # declared epochs: what the grader trained for
    params: int | None = None
    layer_types: tuple[str, ...] = ()
    recurrent: tuple[tuple[str, int, bool], ...] = ()
    history: Mapping[str, tuple[float, ...]] = field(default_factory=dict)   # the notebook's own history
    own_value: float | None = None    # the student's saved weights on the held-out data
    own_problem: str = ""             # why they could not be measured ("" if they were, or were not asked)
    batch_size: int | None = None     # the batch size the grader trained with
    examples: int | None = None       # training examples the grader used (fewer under a training cap)
    trained_epochs: int | None = None # epochs the grader trained (fewer than `epochs` under a training cap)
    grader_cpu_s: float | None = None # CPU seconds of the grader's training and measurement (in the child)
    capped: bool = False              # the grader's training was capped (models.cap_epochs / cap_examples)
    limit: Limit | None = None        # the limit that stopped the child, if one did
    grader_history: Mapping[str, tuple[float, ...]] = field(default_factory=dict)


# --- reading the workspace ------------------------------------------------------------------------

def _declared(meta: Mapping[str, Any], spec: ModelSpec, plan: Mapping[str, Any]) -> tuple[int | None, int, str]:
    """(epochs, batch size, problem): what the notebook declares about its training."""
    history = meta.get("history") if isinstance(meta.get("history"), dict) else {}
    epochs = meta.get("epochs")
    if epochs is None and isinstance(history.get("loss"), list):
        epochs = len(history["loss"])
    if isinstance(epochs, bool) or not isinstance(epochs, int) or epochs < 1:
        return None, int(plan["batch_size"]), (f"models/{spec.name}.json does not say how many epochs the model "
                                               f"trained (an integer 'epochs' of at least 1)")
    batch = meta.get("batch_size", plan["batch_size"])
    if isinstance(batch, bool) or not isinstance(batch, int) or not 1 <= batch <= 65_536:
        return epochs, int(plan["batch_size"]), (f"models/{spec.name}.json declares a batch size of {batch!r}; "
                                                 f"it must be an integer from 1 to 65536")
    return epochs, batch, ""


def _architecture_key(model_bytes: bytes) -> str | None:
    """sha256 of the saved file's config.json (architecture and compile config), or None when the
    file is not a readable Keras zip, or carries lookup / normalisation state that is copied from
    it (such a model's training also depends on its weights file)."""
    try:
        with zipfile.ZipFile(io.BytesIO(model_bytes)) as archive:
            info = archive.getinfo("config.json")
            if info.file_size > MAX_SIDE_FILE:
                return None
            config = json.loads(archive.read(info))
    except (KeyError, ValueError, zipfile.BadZipFile, OSError):
        return None
    text = json.dumps(config, sort_keys=True)
    if any(f'"class_name": "{name}"' in text for name in STATEFUL_COPIED):
        return None
    return hashlib.sha256(text.encode()).hexdigest()


class _TrainedOnce:
    """The grader's training results per training key, computed once; concurrent requests for one
    key wait for the first (one event per key, never one lock around training).

    Results are kept in memory for the process and, with a `store` folder, on disk for every later
    process (`<data cache>/trainings/<key>.json`, written whole by rename): a forced re-grade, the
    demo, `validate` and the next batch reuse the grader's own training of an architecture they have
    seen. The key covers everything that training depends on (training_key); only the grader writes
    the store, and the kernel sandbox never shows it. An unreadable entry is trained again."""

    def __init__(self, size: int = 256) -> None:
        self._lock = threading.Lock()          # guards the dict only
        self._done: OrderedDict[str, dict] = OrderedDict()
        self._running: dict[str, threading.Event] = {}
        self._size = size

    def claim(self, key: str, store: Path | None = None) -> tuple[dict | None, bool]:
        """(cached records, True when this caller must compute them and `put` or `drop`)."""
        while True:
            with self._lock:
                if key in self._done:
                    self._done.move_to_end(key)
                    return self._done[key], False
                event = self._running.get(key)
                if event is None:
                    stored = _read_stored(store, key)
                    if stored is not None:
                        self._remember(key, stored)
                        return stored, False
                    self._running[key] = threading.Event()
                    return None, True
            event.wait()

    def put(self, key: str, value: dict, store: Path | None = None) -> None:
        _write_stored(store, key, value)
        with self._lock:
            self._remember(key, value)
            self._running.pop(key).set()

    def _remember(self, key: str, value: dict) -> None:
        self._done[key] = value
        while len(self._done) > self._size:
            self._done.popitem(last=False)

    def drop(self, key: str) -> None:
        with self._lock:
            event = self._running.pop(key, None)
        if event is not None:
            event.set()


_TRAINED = _TrainedOnce()


def _read_stored(store: Path | None, key: str) -> dict | None:
    if store is None:
        return None
    try:
        value = json.loads((store / f"{key}.json").read_text())
    except (OSError, ValueError):
        return None
    ok = isinstance(value, dict) and all(isinstance(value.get(stage), dict) for stage in ("loaded", "grader"))
    return value if ok else None


def _write_stored(store: Path | None, key: str, value: dict) -> None:
    if store is None:
        return
    try:
        store.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(prefix=".", suffix=".json", dir=store)
        with os.fdopen(fd, "w") as handle:
            json.dump(value, handle)
        os.replace(tmp, store / f"{key}.json")
    except OSError:
        pass                 # no store: the result is kept for this process only


def training_store(config: GraderConfig) -> Path | None:
    """Where the grader's trainings are kept between processes (None: `models.reuse_trainings` is off)."""
    if not config.models.reuse_trainings:
        return None
    from autograder.data.download import cache_dir

    return cache_dir(config.data.cache_dir) / "trainings"


# --- the child process ----------------------------------------------------------------------------

def _child_env(home: Path, threads: int) -> dict[str, str]:
    """A minimal environment: nothing of the grader's own environment reaches the child. The hash
    seed is fixed (a forked job inherits its server's), so both ways of starting a job agree."""
    n = str(threads)
    return {"PATH": os.pathsep.join([str(Path(sys.executable).parent), "/usr/bin", "/bin"]),
            "HOME": str(home), "TMPDIR": str(home), "KERAS_HOME": str(home / ".keras"), "LANG": "C.UTF-8",
            "PYTHONHASHSEED": "0", "PYTHONDONTWRITEBYTECODE": "1",
            "TF_CPP_MIN_LOG_LEVEL": "2", "TF_ENABLE_ONEDNN_OPTS": "0", "CUDA_VISIBLE_DEVICES": "",
            "OMP_NUM_THREADS": n, "OPENBLAS_NUM_THREADS": n, "MKL_NUM_THREADS": n,
            "TF_NUM_INTRAOP_THREADS": n, "TF_NUM_INTEROP_THREADS": n}


class _Zygote:
    """The grading process's fork server (model_zygote.py): started on first use, restarted if it died.
    A reader thread hands each PID / EXIT line to the job waiting for it."""

    def __init__(self) -> None:
        self._lock = threading.Lock()          # guards the process handle, the pipe and the table only
        self._proc: subprocess.Popen | None = None
        self._waiting: dict[str, dict[str, Any]] = {}

    def _start(self) -> subprocess.Popen | None:
        home = Path(tempfile.mkdtemp(prefix="autograder-zygote-"))
        proc = subprocess.Popen([sys.executable, "-I", "-m", "autograder.grading.verdicts.model_zygote"],
                                stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL,
                                cwd=str(home), env=_child_env(home, 1), start_new_session=True)
        if proc.stdout.readline().strip() != b"READY":
            proc.kill()
            proc.wait()
            return None
        threading.Thread(target=self._read, args=(proc,), daemon=True, name="model-zygote").start()
        return proc

    def _read(self, proc: subprocess.Popen) -> None:
        for raw in proc.stdout:
            kind, _, rest = raw.decode().strip().partition(" ")
            folder, _, value = rest.rpartition(" ")
            with self._lock:
                slot = self._waiting.get(folder)
            if slot is not None and kind in ("PID", "EXIT"):
                slot[kind] = int(value)
                slot[kind + "_event"].set()
        with self._lock:                       # the server died: every job still waiting has ended
            for slot in self._waiting.values():
                slot.setdefault("EXIT", None)
                slot["PID_event"].set()
                slot["EXIT_event"].set()
            if self._proc is proc:
                self._proc = None

    def run(self, folder: Path, wall_s: float) -> tuple[int | None, bool] | None:
        """(exit code as Popen gives it, hit the wall-time limit), or None without a server."""
        key = str(folder)
        slot: dict[str, Any] = {"PID_event": threading.Event(), "EXIT_event": threading.Event()}
        with self._lock:
            if self._proc is None or self._proc.poll() is not None:
                self._proc = self._start()
            if self._proc is None:
                return None
            self._waiting[key] = slot
            try:
                self._proc.stdin.write(f"RUN {key}\n".encode())
                self._proc.stdin.flush()
            except OSError:
                self._waiting.pop(key)
                self._proc = None
                return None
        try:
            started = time.monotonic()
            if not slot["PID_event"].wait(60) or slot.get("PID") is None:
                return None
            walled = not slot["EXIT_event"].wait(max(0.0, wall_s - (time.monotonic() - started)))
            if walled:
                try:
                    os.killpg(slot["PID"], signal.SIGKILL)     # the job's own session, started by the server
                except ProcessLookupError:
                    pass
                slot["EXIT_event"].wait(30)
            status = slot.get("EXIT")
            return (os.waitstatus_to_exitcode(status) if status is not None else None), walled
        finally:
            with self._lock:
                self._waiting.pop(key, None)


_ZYGOTE = _Zygote()


def run_job(job: Mapping[str, Any], *, wall_s: float, home: Path,
            forked: bool = True) -> tuple[list[dict], Limit | None, str]:
    """Run one job in a child process; return its records, the limit that stopped it (None when it
    ended by itself) and the end of its stderr (for a crash's reason).

    The child is forked from the grading process's fork server, which has TensorFlow imported
    (`forked`, the default), or is `python -I -m autograder.grading.verdicts.model_job` with the job
    on stdin; both run the same code with the same limits, environment and seeds, and give the same
    numbers (tests/test_models.py)."""
    if forked:
        (home / "job.json").write_text(json.dumps(job))
        (home / "env.json").write_text(json.dumps(_child_env(home, int(job["threads"]))))
        ran = _ZYGOTE.run(home, wall_s)
        if ran is not None:
            code, walled = ran
            found = _records((home / "records.jsonl").read_text("utf-8", "replace")
                             if (home / "records.jsonl").exists() else "")
            tail = (home / "stderr.txt").read_bytes()[-2000:].decode("utf-8", "replace") \
                if (home / "stderr.txt").exists() else ""
            return found, Limit.WALL if walled else _crash_limit(code, tail, found), tail
    return _run_command(job, wall_s=wall_s, home=home)


def _records(text: str) -> list[dict]:
    found = []
    for line in text.splitlines():
        try:
            record = json.loads(line)
        except ValueError:
            continue
        if isinstance(record, dict) and "stage" in record:
            found.append(record)
    return found


def _crash_limit(code: int | None, tail: str, found: list[dict]) -> Limit | None:
    """The limit behind a child's end: SIGXCPU (soft CPU limit) or SIGKILL (the hard one, 5 s later)
    for CPU; an abort, a segfault or a MemoryError for memory."""
    if code in (-signal.SIGXCPU, -signal.SIGKILL):
        return Limit.CPU
    if code in (-signal.SIGABRT, -signal.SIGSEGV, -signal.SIGBUS) or "bad_alloc" in tail or "MemoryError" in tail \
            or any("out of memory" in r.get("problem", "") for r in found):
        return Limit.MEMORY
    return None


def _run_command(job: Mapping[str, Any], *, wall_s: float, home: Path) -> tuple[list[dict], Limit | None, str]:
    command = [sys.executable, "-I", "-m", "autograder.grading.verdicts.model_job"]
    stderr_path = home / "stderr.txt"
    with open(stderr_path, "wb") as stderr:
        proc = subprocess.Popen(command, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=stderr,
                                cwd=str(home), env=_child_env(home, int(job["threads"])),
                                start_new_session=True)
        limit = None
        try:
            out, _ = proc.communicate(json.dumps(job).encode(), timeout=wall_s)
        except subprocess.TimeoutExpired:
            limit = Limit.WALL
            os.killpg(proc.pid, signal.SIGKILL)
            out, _ = proc.communicate()
        finally:
            if proc.poll() is None:
                os.killpg(proc.pid, signal.SIGKILL)
                proc.wait()
    tail = stderr_path.read_bytes()[-2000:].decode("utf-8", "replace")
    found = _records(out.decode("utf-8", "replace"))
    return found, limit or _crash_limit(proc.returncode, tail, found), tail


def _limit_reason(limit: Limit, config: GraderConfig) -> str:
    policy = config.models
    return {Limit.CPU: f"the grader stopped its training of the model at the CPU limit "
                       f"(models.cpu_s = {policy.cpu_s} CPU seconds)",
            Limit.MEMORY: f"the grader's training of the model ran out of memory "
                          f"(models.memory_mb = {policy.memory_mb} MB)",
            Limit.WALL: f"the grader stopped its training of the model at the time limit "
                        f"(models.wall_s = {policy.wall_s:g} s)"}[limit]


# --- measure ---------------------------------------------------------------------------------------

def measure(workdir: Path, spec: ModelSpec, split, *, config: GraderConfig) -> Measurement:
    """Train a fresh copy of models/<name>.keras the grader's way and measure it (and the saved
    weights) on the held-out split, in a bounded child process."""
    policy, budget = config.models, config.budgets.get(spec.name, {})
    plan = recipe(spec.task, spec.training)
    name = spec.name
    try:
        meta = json.loads(files.read_bytes(workdir, f"models/{name}.json", max_bytes=MAX_SIDE_FILE))
        if not isinstance(meta, dict):
            raise ValueError("the side file is not a JSON object")
    except FileNotFoundError:
        meta = {}
    except files.UnsafeFile as exc:
        return Measurement(name, problem=f"models/{name}.json was not read: {exc}")
    except (ValueError, UnicodeDecodeError) as exc:
        return Measurement(name, problem=f"models/{name}.json is unreadable ({exc})")
    history = {k: tuple(float(x) for x in v) for k, v in (meta.get("history") or {}).items()
               if isinstance(v, list) and all(isinstance(x, (int, float)) for x in v)} \
        if isinstance(meta.get("history"), dict) else {}
    reported = meta.get("reported", {}).get(spec.metric) if isinstance(meta.get("reported"), dict) else None
    epochs, batch_size, declared_problem = _declared(meta, spec, plan)
    common: dict[str, Any] = dict(reported=float(reported) if isinstance(reported, (int, float))
                                  and not isinstance(reported, bool) else None,
                                  epochs=epochs, history=history, batch_size=batch_size)
    home = Path(tempfile.mkdtemp(prefix=f"autograder-model-{name}-"))
    try:
        try:
            model_bytes = files.read_bytes(workdir, f"models/{name}.keras", max_bytes=policy.max_file_mb << 20)
        except FileNotFoundError:
            return Measurement(name, problem=f"no saved model: models/{name}.keras was not written", **common)
        except files.UnsafeFile as exc:
            return Measurement(name, problem=f"models/{name}.keras was not read: {exc}", **common)
        model_path = home / "model.keras"
        model_path.write_bytes(model_bytes)
        over_budget = epochs is not None and budget.get("max_epochs") is not None and epochs > budget["max_epochs"]
        train = None
        capped = bool(policy.cap_epochs or policy.cap_examples)
        if epochs is not None and not declared_problem and not over_budget:
            train = {"epochs": min(epochs, policy.cap_epochs) if policy.cap_epochs else epochs,
                     "batch_size": batch_size, "max_examples": policy.cap_examples or None}
        job = {"model": str(model_path), "task": spec.task, "seed": int(config.seed), "threads": policy.threads,
               "memory_mb": policy.memory_mb, "cpu_s": policy.cpu_s, "train": train,
               "measure_own": not capped, "max_params": budget.get("max_params"),
               "data": job_data(spec.task, split, plan)}
        key = _training_key(model_bytes, job, split) if train else None
        store = training_store(config)
        cached, mine = _TRAINED.claim(key, store) if key else (None, False)
        try:
            if cached is not None and capped:
                records, limit = [cached["loaded"], cached["grader"]], None        # nothing of the file is used
            else:
                if cached is not None:
                    job = {**job, "train": None}
                records, limit, _ = run_job(job, wall_s=policy.wall_s, home=home)
                stages = {r["stage"]: r for r in records}
                if mine:
                    if "loaded" in stages and "grader" in stages:
                        _TRAINED.put(key, {"loaded": stages["loaded"], "grader": stages["grader"]}, store)
                    else:
                        _TRAINED.drop(key)
                    mine = False
                if cached is not None:
                    records = records + [cached["grader"]]
        finally:
            if mine:
                _TRAINED.drop(key)
        return _measurement(spec, records, limit, common, declared_problem, capped, config)
    finally:
        shutil.rmtree(home, ignore_errors=True)


@functools.lru_cache(maxsize=1)
def _versions() -> tuple[str, ...]:
    """What else a training result depends on: this grader, the code of its training child and of the
    feeding recipes, and the libraries that train."""
    from importlib.metadata import PackageNotFoundError, version

    from autograder import __version__

    here = Path(__file__).resolve()
    code = hashlib.sha256()
    for path in (here.parent / "model_job.py", here.parent / "model_zygote.py", here.parents[2] / "data" / "feeding.py"):
        code.update(path.read_bytes())
    found = [__version__, code.hexdigest()]
    for dist in ("tensorflow", "keras", "numpy"):
        try:
            found.append(f"{dist}=={version(dist)}")
        except PackageNotFoundError:
            found.append(f"{dist} missing")
    return tuple(found)


def _training_key(model_bytes: bytes, job: Mapping[str, Any], split) -> str | None:
    architecture = _architecture_key(model_bytes)
    if architecture is None:
        return None
    blob = json.dumps({"architecture": architecture, "task": job["task"], "seed": job["seed"],
                       "threads": job["threads"], "train": job["train"], "max_params": job["max_params"],
                       "limits": [job["cpu_s"], job["memory_mb"]],
                       "data": [split.source, split.sha256, split.sizes], "versions": _versions()},
                      sort_keys=True, default=str)
    return hashlib.sha256(blob.encode()).hexdigest()


def _measurement(spec: ModelSpec, records: list[dict], limit: Limit | None, common: dict, declared_problem: str,
                 capped: bool, config: GraderConfig) -> Measurement:
    stages: dict[str, dict] = {}
    problems: dict[str, str] = {}
    for record in records:
        if record["stage"] == "problem":
            problems.setdefault(str(record.get("where", "job")), str(record.get("problem", ""))[:300])
        else:
            stages[record["stage"]] = record
    loaded = stages.get("loaded", {})
    if loaded:
        common = dict(common, params=int(loaded["params"]), layer_types=tuple(loaded["layer_types"]),
                      recurrent=tuple((str(t), int(u), bool(s)) for t, u, s in loaded["recurrent"]))
    grader, own = stages.get("grader"), stages.get("own")
    if own is not None:
        common["own_value"] = float(own["value"])
    elif "own" in problems:
        common["own_problem"] = problems["own"]
    common["capped"] = capped
    if grader is not None:
        common.update(value=float(grader["value"]), baseline=float(grader["baseline"]),
                      examples=int(grader["examples"]), trained_epochs=int(grader["epochs"]),
                      grader_cpu_s=float(grader.get("cpu_s", 0.0)),
                      grader_history={k: tuple(float(x) for x in v) for k, v in grader.get("history", {}).items()})
    if "load" in problems:
        return Measurement(spec.name, problem=problems["load"], **common)
    if not loaded:
        reason = _limit_reason(limit, config) if limit else "the grader could not load the saved model"
        return Measurement(spec.name, problem=reason, limit=limit, **common)
    if declared_problem:
        return Measurement(spec.name, problem=declared_problem, **common)
    if grader is None and "grader" in problems:
        return Measurement(spec.name, problem=f"the grader could not train the saved architecture: "
                                              f"{problems['grader']}", **common)
    if grader is None and limit is not None:
        return Measurement(spec.name, problem=_limit_reason(limit, config), limit=limit, **common)
    if limit is not None and own is None and not capped:
        common["own_problem"] = _limit_reason(limit, config).replace("its training of", "its measurement of")
    if grader is not None and not math.isfinite(float(grader["value"])):
        return Measurement(spec.name, problem="the model's predictions are not finite", **common)
    return Measurement(spec.name, limit=limit, **common)


# --- verdicts --------------------------------------------------------------------------------------

def curve(value: float, threshold: Threshold) -> float:
    """Share of the points: 0 at `min`, 1 at `target`, linear between (either direction)."""
    return float(min(1.0, max(0.0, (value - threshold.min) / (threshold.target - threshold.min))))


def metric_verdict(test: str, points: float, spec: ModelSpec, m: Measurement, *,
                   threshold: Threshold | None, budget: Mapping[str, float]) -> TestResult:
    def result(earned: float, reason: str, *, error: bool = False) -> TestResult:
        status = "passed" if earned >= points else ("partial" if earned > 0 else "failed")
        return TestResult(test=test, points=round(earned, 4), max_points=points, status="error" if error else status,
                          reason=reason, hidden=True, kind="model")

    unit = {"accuracy": "", "loss": " nats/char", "mae": " °C"}[spec.metric]
    max_epochs = budget.get("max_epochs")
    if max_epochs is not None and m.epochs is not None and m.epochs > max_epochs:
        return result(0.0, f"the notebook declares {m.epochs} epochs of training; the budget is {max_epochs:g}")
    max_params = budget.get("max_params")
    if max_params is not None and m.params is not None and m.params > max_params:
        return result(0.0, f"the model has {m.params:,} parameters; the budget is {max_params:,.0f}")
    if m.problem:
        return result(0.0, m.problem, error=m.limit is None)
    assert m.value is not None
    trained = f"{m.epochs} epochs" + (f", batch size {m.batch_size}" if m.batch_size else "")
    if m.capped:
        trained = (f"capped at {m.trained_epochs} of the {m.epochs} declared epochs and {m.examples} examples, "
                   f"batch size {m.batch_size}")
    measured = f"held-out {spec.metric} {m.value:.4f}{unit} after the grader's training ({trained})"
    if m.own_value is not None:
        measured += f"; your saved model: {m.own_value:.4f}{unit}"
    if threshold is None:
        return result(0.0, f"{measured}; no threshold '{spec.name}.{spec.metric}' in grader_config.py")
    if spec.task == "forecast" and m.baseline is not None and m.value >= m.baseline:
        return result(0.0, f"{measured}; it does not beat the last-value baseline ({m.baseline:.4f}{unit})")
    share = curve(m.value, threshold)
    reason = (f"{measured} (0 points at {threshold.min:g}, full at {threshold.target:g}; "
              f"trivial baseline {m.baseline:.4f}{unit})")
    flag = reported_flag(spec, m)
    return result(points * share, reason + (f"; {flag}" if flag else ""))


def reported_flag(spec: ModelSpec, m: Measurement) -> str:
    """The notebook's reported metric against the held-out measurement of the weights it describes
    (the saved model; the grader's training when those could not be measured). "" when they agree."""
    measured = m.own_value if m.own_value is not None else (None if m.capped else m.value)
    if m.reported is None or measured is None:
        return ""
    if abs(m.reported - measured) > spec.reported_tolerance:
        return (f"FLAG: the notebook reported {spec.metric} {m.reported:.4f}, but the grader measured "
                f"{measured:.4f} (tolerance {spec.reported_tolerance:g})")
    return ""


def heldout_flag(spec: ModelSpec, m: Measurement, margin: float | None) -> str:
    """"" unless the saved weights beat the grader's training of the same architecture by more than
    `margin` (in the metric's units): honest training lands within the seed spread of the grader's."""
    if margin is None or m.own_value is None or m.value is None or m.capped:
        return ""
    sign = 1.0 if HIGHER_IS_BETTER[spec.metric] else -1.0
    ahead = sign * (m.own_value - m.value)
    if ahead <= margin:
        return ""
    return (f"possible training on held-out data: the saved model's held-out {spec.metric} {m.own_value:.4f} "
            f"beats the {m.value:.4f} of the same architecture trained by the grader by {ahead:.4f} "
            f"(more than the {margin:g} that separate honest training runs; models.flag_margin)")


def model_notes(spec: ModelSpec, m: Measurement, *, config: GraderConfig) -> tuple[Note, ...]:
    """The metric notes of one measured model: a reported metric that disagrees, weights that beat
    the grader's training by more than the seed spread."""
    margin = config.models.flag_margin.get(f"{spec.name}.{spec.metric}")
    texts = (reported_flag(spec, m), heldout_flag(spec, m, margin))
    return tuple(Note(NoteKind.METRIC, t) for t in texts if t)


def architecture_verdict(test: str, points: float, spec: ModelSpec, m: Measurement) -> TestResult:
    def result(ok: bool, reason: str) -> TestResult:
        status = "error" if m.problem and not m.layer_types else ("passed" if ok else "failed")
        return TestResult(test=test, points=points if ok else 0.0, max_points=points, status=status,
                          reason=reason, hidden=True, kind="model")

    if not m.layer_types:
        return result(False, m.problem or "the saved model could not be read")
    missing = [name for name in spec.layers if name not in m.layer_types]
    if missing:
        return result(False, f"the model has no {', '.join(missing)} layer")
    for want, got in zip(spec.recurrent, m.recurrent):
        kind, units, seqs = got
        if want.get("type", kind) != kind or int(want.get("units", units)) != units \
                or bool(want.get("return_sequences", seqs)) != seqs:
            return result(False, f"recurrent layer {kind}({units}, return_sequences={seqs}) does not match "
                                 f"the exercise ({want})")
    if len(m.recurrent) < len(spec.recurrent):
        return result(False, f"the model has {len(m.recurrent)} recurrent layers; the exercise asks for "
                             f"{len(spec.recurrent)}")
    lo, hi = spec.params
    if m.params is not None and not lo <= m.params <= hi:
        return result(False, f"the model has {m.params:,} parameters; the exercise expects {lo:,} to {hi:,}")
    return result(True, f"architecture as asked ({m.params:,} parameters)")
