"""Run student functions on grader-chosen inputs, and judge what they return outside the kernel.

Trust boundary: the grader draws the inputs, writes them to `probe_inputs.npz` (arrays) and
`probe_inputs.json` (Keras objects to build, as recipes) in the submission's workspace, and
appends one cell (`harness_cell`) to the executed notebook. That cell calls each student
function on those inputs and writes what it returned: arrays to `probe_outputs.npz`, Keras
models to `probe_models/<probe>|<case>|<i>.keras`, exceptions to `probe_outputs.json`. The
grader reads them back (regular files only, never through a symlink or FIFO; `.npz` with
`allow_pickle=False`, models with Keras's `safe_mode=True`) and judges them in its own process.
No reference code or expected output ever enters the student's kernel.

What a probe's reference (`REFERENCES[name]` in `solutions/<topic>.py`) is decides the check:
- a function: called here on the same inputs; every output must match (`compare`). A function
  with the attribute `uses_keras = True` builds Keras objects itself (from the recipes, as the
  harness does) and is called under the grader's Keras lock;
- `ReturnedModel`: the function returns a Keras model; its layers (searched through nested
  models and wrappers), recurrent layers, output shape on a fixed input and parameter count;
- `WrittenFiles`: the function writes files into a folder the grader names; the grader reads and
  parses them and compares the contents (and the returned paths) with what is expected.

An input generator returns keyword arguments. Besides arrays and scalars, a value may be a
recipe dict, built into a Keras object in the kernel (`{"keras": "TextVectorization", "config":
{...}}`, or `{"keras": "Sequential", "input_shape": [...], "input_dtype": "int32", "layers":
[{"keras": "Embedding", "config": {...}, "weights": [array, ...]}]}`). Two key prefixes:
`global:<name>` replaces a notebook global while the function runs (restored afterwards), and
`apply:<i>` calls the i-th returned object (a Keras layer) on that input and takes the result
as the output: the reference returns layers too, applied here the same way.
"""
from __future__ import annotations

import hashlib
import io
import json
import os
import shutil
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, Mapping

import numpy as np

from autograder.config import ReferencePolicy
from autograder.grading.verdicts import files
from autograder.grading.verdicts.kernel import CheckKind
from autograder.grading.verdicts.model_job import walk
from autograder.results import TestResult

INPUTS_FILE = "probe_inputs.npz"
RECIPES_FILE = "probe_inputs.json"
OUTPUTS_FILE = "probe_outputs.npz"
ERRORS_FILE = "probe_outputs.json"
MODELS_DIR = "probe_models"
FILES_DIR = "probe_files"
SEP = "|"
GLOBAL = "global:"
APPLY = "apply:"
MAX_READ_BYTES = 64 * 2**20      # the largest workspace file the grader reads back

# Runs in the student's kernel. Self-contained: it must not rely on names the student defined.
_HARNESS = '''\
def __autograder_run_probes(inputs_path, recipes_path, outputs_path, errors_path, models_dir, namespace):
    import json
    import os
    import numpy
    with numpy.load(inputs_path, allow_pickle=False) as data:
        stored = {key: data[key] for key in data.files}
    recipes = {}
    if os.path.exists(recipes_path):
        with open(recipes_path) as handle:
            recipes = json.load(handle)
    calls = {}
    for key, value in list(stored.items()) + list(recipes.items()):
        probe, case, arg = key.split("|")
        if not arg.startswith("#"):
            calls.setdefault((probe, case), {})[arg] = value

    def build(recipe):
        import keras
        if recipe["keras"] == "Sequential":
            layers = [build(layer) for layer in recipe["layers"]]
            model = keras.Sequential([keras.Input(shape=tuple(recipe["input_shape"]), dtype=recipe["input_dtype"])]
                                     + layers)
            for layer, spec in zip(layers, recipe["layers"]):
                if spec.get("weights"):
                    layer.set_weights([stored[key] for key in spec["weights"]])
            return model
        return getattr(keras.layers, recipe["keras"])(**recipe.get("config", {}))

    def plain(part):
        if isinstance(part, os.PathLike):
            part = os.fspath(part)
        part = numpy.asarray(part)
        if part.dtype.kind == "O" and part.size and all(isinstance(x, bytes) for x in part.ravel()):
            part = numpy.array([x.decode("utf-8") for x in part.ravel()]).reshape(part.shape)
        if part.dtype.kind == "S":
            part = numpy.char.decode(part, "utf-8")
        return part if part.dtype.kind == "U" else part.astype(numpy.float64)

    def save():
        # written whole, then renamed: an interrupted later case leaves the outputs saved before it
        numpy.savez(outputs_path + ".partial.npz", **arrays)
        with open(errors_path + ".partial", "w") as handle:
            json.dump({"errors": errors, "models": models, "cwd": os.getcwd()}, handle)
        os.replace(outputs_path + ".partial.npz", outputs_path)
        os.replace(errors_path + ".partial", errors_path)

    arrays, errors, models = {}, {}, []
    graded = sorted(key for key in calls if key[1].isdigit())
    extra = sorted(key for key in calls if not key[1].isdigit())     # diagnostic cases: after every graded one
    for probe, case in graded + extra:
        if extra and (probe, case) == extra[0]:
            save()
        kwargs = calls[(probe, case)]
        replaced = {}
        try:
            function = namespace.get(probe)
            if not callable(function):
                raise NameError(probe + " is not defined")
            call, apply = {}, {}
            for name, value in kwargs.items():
                if isinstance(value, dict):
                    value = build(value)
                elif value.ndim == 0:
                    value = value.item()
                else:
                    value = value.copy()
                if name.startswith("global:"):
                    replaced[name[7:]] = namespace.get(name[7:], replaced)
                    namespace[name[7:]] = value
                elif name.startswith("apply:"):
                    apply[int(name[6:])] = value
                else:
                    call[name] = value
            result = function(**call)
            parts = result if isinstance(result, tuple) else (result,)
            if apply:
                parts = tuple(parts[i](apply[i]) for i in sorted(apply))
            for i, part in enumerate(parts):
                key = probe + "|" + case + "|" + str(i)
                if hasattr(part, "count_params") and hasattr(part, "save"):
                    os.makedirs(models_dir, exist_ok=True)
                    part.save(os.path.join(models_dir, key + ".keras"))
                    models.append(key)
                else:
                    try:
                        arrays[key] = plain(part)
                    except (TypeError, ValueError):   # neither a model nor an array: say what it was
                        arrays[key] = numpy.array("a " + type(part).__name__ + ", not an array")
        except BaseException as exc:  # SystemExit, KeyboardInterrupt: recorded like any other failure
            errors[probe + "|" + case] = type(exc).__name__
        finally:
            for name, old in replaced.items():
                if old is replaced:
                    namespace.pop(name, None)
                else:
                    namespace[name] = old
    save()

__autograder_run_probes(@ARGS@, globals())
del __autograder_run_probes
'''


def harness_cell_source() -> str:
    args = (INPUTS_FILE, RECIPES_FILE, OUTPUTS_FILE, ERRORS_FILE, MODELS_DIR)
    return _HARNESS.replace("@ARGS@", ", ".join(repr(f) for f in args))


Kwargs = Mapping[str, Any]


@dataclass(frozen=True)
class ReturnedModel:
    """What a function that returns a Keras model must return (checked on the reloaded model).

    Each callable takes the probe's keyword arguments (recipes as the generator wrote them):
    `example` -> the fixed input the model is called on (an array; strings become a tf string
    tensor), `output_shape` -> the shape of the model's output on it, `params` -> the accepted
    (low, high) parameter count. `layers`: layer type names that must occur, repeats counted
    (searched recursively, so a nested Sequential block or the functional API both pass);
    `recurrent`: the recurrent layers in order, as (type, units, return_sequences), a
    Bidirectional pair counted once; `settings`: (layer type, config key, value) that some layer
    of that type must have (e.g. an Embedding with mask_zero=True)."""

    layers: tuple[str, ...]
    example: Callable[[Kwargs], np.ndarray]
    output_shape: Callable[[Kwargs], tuple[int, ...]]
    params: Callable[[Kwargs], tuple[int, int]]
    recurrent: tuple[tuple[str, int, bool], ...] | None = None
    settings: tuple[tuple[str, str, Any], ...] = ()


@dataclass(frozen=True)
class WrittenFiles:
    """What a function that writes files must write, judged from the files by the grader.

    `folder`: the argument naming the folder; the grader sets it to a fresh folder in the
    workspace. `expected(kwargs)` -> file name -> expected content, `parse[file name](text)` ->
    the content as the grader reads it (an array: numbers by relative error, strings exactly).
    `returns(kwargs)` -> the paths the function must return, relative to the workspace."""

    folder: str
    expected: Callable[[Kwargs], Mapping[str, Any]]
    parse: Mapping[str, Callable[[str], Any]]
    returns: Callable[[Kwargs], tuple[str, ...]] | None = None


@dataclass(frozen=True)
class Reference:
    """A notebook's reference module: references and input generators, keyed by function name."""

    functions: Mapping[str, Any]       # a function, ReturnedModel or WrittenFiles per probe
    generators: Mapping[str, Callable[[np.random.Generator], dict[str, Any]]]


def check_kind(reference: Reference, probe: str) -> CheckKind:
    """How a probe's verdict is named when it confirms (or not) a kernel test."""
    ref = reference.functions.get(probe)
    if isinstance(ref, ReturnedModel):
        return CheckKind.RETURNED_MODEL
    if isinstance(ref, WrittenFiles):
        return CheckKind.WRITTEN_FILES
    return CheckKind.COMPARISON


def _stable_int(text: str) -> int:
    return int.from_bytes(hashlib.sha256(text.encode()).digest()[:8], "little")


def draw_inputs(reference: Reference, probes: tuple[str, ...], *, policy: ReferencePolicy,
                student: str) -> dict[str, list[dict[str, Any]]]:
    """Fresh random inputs per probe: reproducible for one student, different between students.

    A WrittenFiles probe gets its folder argument set to `probe_files/<probe>/<case>`."""
    cases = {}
    for probe in probes:
        rng = np.random.default_rng([policy.seed, _stable_int(student), _stable_int(probe)])
        runs = [reference.generators[probe](rng) for _ in range(policy.cases)]
        ref = reference.functions.get(probe)
        if isinstance(ref, WrittenFiles):
            runs = [{**kwargs, ref.folder: f"{FILES_DIR}/{probe}/{i}"} for i, kwargs in enumerate(runs)]
        cases[probe] = runs
    return cases


def _flatten_recipe(recipe: Mapping[str, Any], key: str, arrays: dict[str, np.ndarray]) -> dict[str, Any]:
    """A JSON copy of a recipe whose weight arrays are moved to `arrays` under `#`-keys."""
    out = {k: v for k, v in recipe.items() if k not in ("layers", "weights")}
    if "layers" in recipe:
        out["layers"] = [_flatten_recipe(layer, f"{key}{i}.", arrays) for i, layer in enumerate(recipe["layers"])]
    if recipe.get("weights"):
        names = []
        for j, weight in enumerate(recipe["weights"]):
            name = f"{key}#{j}"
            arrays[name] = np.asarray(weight)
            names.append(name)
        out["weights"] = names
    return out


def write_inputs(workdir: Path, cases: Mapping[str, list[Mapping[str, Any]]],
                 extra: Mapping[str, Mapping[str, Mapping[str, Any]]] | None = None) -> None:
    """Write the graded cases (named 0 .. n-1) and `extra` cases (probe -> case name -> kwargs, e.g. the
    diagnostic cases `d0`, `d1`, ... of grading/verdicts/diagnosis.py, which `compare` never reads)."""
    flat, recipes = {}, {}
    named = {probe: {str(i): kwargs for i, kwargs in enumerate(runs)} for probe, runs in cases.items()}
    for probe, more in (extra or {}).items():
        clash = set(more) & set(named.get(probe, {}))
        if clash:
            raise ValueError(f"extra cases of {probe} reuse the graded case names {sorted(clash)}")
        named.setdefault(probe, {}).update(more)
    for probe, runs in named.items():
        for case, kwargs in runs.items():
            for arg, value in kwargs.items():
                key = SEP.join((probe, case, arg))
                if isinstance(value, Mapping):
                    recipes[key] = _flatten_recipe(value, SEP.join((probe, case, "#")), flat)
                else:
                    flat[key] = np.asarray(value)
    np.savez(workdir / INPUTS_FILE, **flat)
    if recipes:
        (workdir / RECIPES_FILE).write_text(json.dumps(recipes))


def read_workspace_file(workdir: Path, relative: str, *, limit: int = MAX_READ_BYTES) -> bytes:
    """The bytes of a regular file in the workspace, read as `files.read_bytes` reads (no symlink
    at any level, no FIFO or device, at most `limit` bytes); a refusal is an OSError here."""
    try:
        return files.read_bytes(workdir, relative, max_bytes=limit)
    except files.UnsafeFile as exc:
        raise OSError(str(exc)) from None


@dataclass(frozen=True)
class ProbeOutputs:
    arrays: Mapping[str, tuple[np.ndarray, ...]]   # "probe|case" -> outputs
    errors: Mapping[str, str]                      # "probe|case" -> exception type name
    models: frozenset[str] = frozenset()           # "probe|case|i" of the Keras models the harness saved
    workdir: Path | None = None                    # where the models and written files are
    cwd: str = ""                                  # the kernel's working directory (as the kernel saw it)


def read_outputs(workdir: Path) -> ProbeOutputs | None:
    """The kernel's outputs, or None when the harness never finished (or left unreadable files)."""
    try:
        with np.load(io.BytesIO(read_workspace_file(workdir, OUTPUTS_FILE)), allow_pickle=False) as data:
            grouped: dict[str, dict[int, np.ndarray]] = {}
            for key in data.files:
                probe, case, index = key.split(SEP)
                grouped.setdefault(f"{probe}{SEP}{case}", {})[int(index)] = data[key]
        record = json.loads(read_workspace_file(workdir, ERRORS_FILE, limit=2**20))
        errors, models, cwd = dict(record["errors"]), record["models"], str(record.get("cwd", ""))
    except (OSError, ValueError, KeyError, TypeError):
        return None
    arrays = {k: tuple(v[i] for i in sorted(v)) for k, v in grouped.items()}
    return ProbeOutputs(arrays=arrays, errors={str(k): str(v) for k, v in errors.items()},
                        models=frozenset(str(m) for m in models), workdir=workdir, cwd=cwd)


def relative_error(student: np.ndarray, expected: np.ndarray) -> float:
    """||student - expected|| / ||expected|| (absolute error when the expected output is zero)."""
    diff = float(np.linalg.norm((student - expected).ravel()))
    scale = float(np.linalg.norm(np.asarray(expected).ravel()))
    return diff / scale if scale > 1e-12 else diff


def _difference(student: np.ndarray, expected: np.ndarray) -> float:
    """Strings must match exactly (0 or inf); numbers are compared by relative error."""
    if expected.dtype.kind in "UOS" or student.dtype.kind == "U":
        return 0.0 if student.astype(str).tolist() == _as_text(expected).tolist() else float("inf")
    return relative_error(student, expected.astype(np.float64))


def _as_text(array: np.ndarray) -> np.ndarray:
    if array.dtype.kind == "S":
        return np.char.decode(array, "utf-8")
    if array.dtype.kind == "O":
        return np.array([x.decode("utf-8") if isinstance(x, bytes) else str(x) for x in array.ravel()],
                        dtype=str).reshape(array.shape)
    return array.astype(str)


def _split(kwargs: Mapping[str, Any]) -> tuple[dict[str, Any], dict[int, Any]]:
    """(arguments of the call, inputs of `apply:<i>`); `global:` overrides are for the kernel only."""
    call = {k: (v.copy() if isinstance(v, np.ndarray) else v) for k, v in kwargs.items()
            if not k.startswith((GLOBAL, APPLY))}
    apply = {int(k[len(APPLY):]): v for k, v in kwargs.items() if k.startswith(APPLY)}
    return call, apply


def _keras():
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    os.environ.setdefault("TF_ENABLE_ONEDNN_OPTS", "0")
    import keras
    import tensorflow as tf

    return keras, tf


def _expected(reference: Reference, probe: str, kwargs: Mapping[str, Any]) -> tuple[np.ndarray, ...]:
    """The reference's outputs on one case. The reference gets the `global:` values as keyword
    arguments too; with `apply:` inputs it returns layers, which are applied here as in the kernel."""
    call, apply = _split(kwargs)
    extra = {k[len(GLOBAL):]: v for k, v in kwargs.items() if k.startswith(GLOBAL)}
    function = reference.functions[probe]
    if not apply and not getattr(function, "uses_keras", False):
        want = function(**call, **extra)
        return tuple(np.asarray(w) for w in (want if isinstance(want, tuple) else (want,)))
    from autograder.grading.verdicts.models import (
        _KERAS_LOCK,  # Keras state is not thread-safe
    )
    with _KERAS_LOCK:
        _keras()
        want = function(**call, **extra)
        want = want if isinstance(want, tuple) else (want,)
        if not apply:                  # a reference that builds Keras objects from recipes itself
            return tuple(np.asarray(w) for w in want)
        return tuple(np.asarray(want[i](apply[i])) for i in sorted(apply))


def compare(test: str, probe: str, max_points: float, *, reference: Reference,
            cases: list[dict[str, Any]], outputs: ProbeOutputs | None,
            policy: ReferencePolicy, unavailable: str = "") -> TestResult:
    """All-or-nothing: full points when every random case is judged right (within `policy.rtol`)."""
    def result(status: str, reason: str) -> TestResult:
        points = max_points if status == "passed" else 0.0
        return TestResult(test=test, points=points, max_points=max_points, status=status,
                          reason=reason, hidden=True, kind="reference")

    if outputs is None:
        return result("error", f"{probe} could not be run on the grader's inputs"
                      + (f": {unavailable}" if unavailable else ""))
    ref = reference.functions[probe]
    n = len(cases)
    raised = {}
    for i in range(n):
        name = outputs.errors.get(f"{probe}{SEP}{i}")
        if name is not None:
            raised[name] = raised.get(name, 0) + 1
    if raised:
        names = ", ".join(f"{name} on {count}/{n}" for name, count in sorted(raised.items()))
        if raised.get("NameError") == n:
            return result("failed", f"{probe} is not defined")
        return result("failed", f"{probe} raised an exception on random inputs ({names})")
    if isinstance(ref, ReturnedModel):
        return _judge_models(result, probe, ref, cases, outputs)
    if isinstance(ref, WrittenFiles):
        return _judge_files(result, probe, ref, cases, outputs, policy)
    shape_bad, wrong, worst = 0, 0, 0.0
    for i, kwargs in enumerate(cases):
        got = outputs.arrays.get(f"{probe}{SEP}{i}", ())
        want = _expected(reference, probe, kwargs)
        if len(got) != len(want) or any(g.shape != w.shape for g, w in zip(got, want)):
            shape_bad += 1
            continue
        errors = [_difference(g, w) for g, w in zip(got, want)]
        err = max(errors) if all(np.isfinite(errors)) else float("inf")
        worst = max(worst, err)
        wrong += err > policy.rtol
    if shape_bad:
        return result("failed", f"{probe} returned the wrong number or shape of outputs on {shape_bad}/{n} random inputs")
    if wrong:
        return result("failed", f"{probe} differs from the reference on {wrong}/{n} random inputs "
                                + (f"(largest relative error {worst:.2g}, allowed {policy.rtol:g})"
                                   if np.isfinite(worst) else "(values do not match)"))
    return result("passed", f"{probe} matches the reference on {n}/{n} random inputs "
                            f"(largest relative error {worst:.1g})")


RECURRENT = ("SimpleRNN", "LSTM", "GRU")


def _recurrent_layers(layers: list) -> list[tuple[str, int, bool]]:
    """(type, units, return_sequences) of each recurrent layer in order; a Bidirectional pair once."""
    found, inside = [], set()
    for layer in layers:
        if id(layer) in inside:
            continue
        name = type(layer).__name__
        if name == "Bidirectional":
            inside |= {id(inner) for inner in walk(layer)[1:]}
            layer = layer.forward_layer
            name = type(layer).__name__
        if name in RECURRENT:
            found.append((name, int(layer.units), bool(layer.return_sequences)))
    return found


def model_problem(model, spec: ReturnedModel, kwargs: Kwargs) -> str:
    """Why a (reloaded) model does not fit `spec`, or "" when it does. Runs in the grader's process."""
    keras, tf = _keras()
    layers = [inner for top in model.layers for inner in walk(top)]
    names = [type(layer).__name__ for layer in layers]
    for name in dict.fromkeys(spec.layers):
        if names.count(name) < spec.layers.count(name):
            need = spec.layers.count(name)
            return f"the model has {names.count(name)} {name} layer(s); the exercise asks for {need}"
    if spec.recurrent is not None:
        recurrent = _recurrent_layers(layers)
        if tuple(recurrent) != tuple(spec.recurrent):
            shown = ", ".join(f"{t}({u}, return_sequences={s})" for t, u, s in recurrent) or "none"
            return f"its recurrent layers are {shown}, not what the exercise asks for"
    for kind, key, value in spec.settings:
        if not any(type(layer).__name__ == kind and layer.get_config().get(key) == value for layer in layers):
            return f"no {kind} layer has {key}={value!r}"
    example = np.asarray(spec.example(kwargs))
    tensor = tf.constant(example.tolist()) if example.dtype.kind in "US" else example
    try:
        shape = tuple(np.asarray(model(tensor)).shape)
    except Exception as exc:
        return f"the model fails on an input of shape {example.shape} ({type(exc).__name__})"
    want = tuple(spec.output_shape(kwargs))
    if shape != want:
        return f"on an input of shape {example.shape} the model returns shape {shape}, not {want}"
    lo, hi = spec.params(kwargs)
    count = int(model.count_params())
    if not lo <= count <= hi:
        return f"the model has {count:,} parameters; the exercise gives {lo:,}" + (f" to {hi:,}" if hi != lo else "")
    return ""


def _judge_models(result, probe: str, spec: ReturnedModel, cases, outputs: ProbeOutputs) -> TestResult:
    from autograder.grading.verdicts.models import (
        _KERAS_LOCK,  # Keras state is not thread-safe
    )

    n = len(cases)
    scratch = Path(tempfile.mkdtemp(prefix="autograder-probe-model-"))
    try:
        for i, kwargs in enumerate(cases):
            key = f"{probe}{SEP}{i}{SEP}0"
            if key not in outputs.models or f"{probe}{SEP}{i}" in outputs.arrays:
                return result("failed", f"{probe} did not return a Keras model on {i + 1}/{n} of the grader's inputs")
            try:
                copy = scratch / f"{i}.keras"
                copy.write_bytes(read_workspace_file(outputs.workdir, f"{MODELS_DIR}/{key}.keras"))
            except OSError as exc:
                return result("error", f"the model {probe} returned could not be read ({exc})")
            keras, _ = _keras()
            with _KERAS_LOCK:
                keras.backend.clear_session()
                try:
                    model = keras.models.load_model(copy, safe_mode=True, compile=False)
                except Exception as exc:
                    return result("failed", f"the model {probe} returned cannot be reloaded safely "
                                            f"({type(exc).__name__}: {str(exc)[:100]})")
                problem = model_problem(model, spec, kwargs)
            if problem:
                return result("failed", f"{probe}: {problem} (grader's input {i + 1}/{n})")
    finally:
        shutil.rmtree(scratch, ignore_errors=True)
    return result("passed", f"the models {probe} returned fit the exercise on {n}/{n} of the grader's inputs")


def _same_path(got: str, want: str, cwd: str) -> bool:
    got = os.path.normpath(got)
    if os.path.isabs(got) and cwd:
        got = os.path.relpath(got, os.path.normpath(cwd))
    return got == os.path.normpath(want)


def _judge_files(result, probe: str, spec: WrittenFiles, cases, outputs: ProbeOutputs,
                 policy: ReferencePolicy) -> TestResult:
    n = len(cases)
    for i, kwargs in enumerate(cases):
        folder = str(kwargs[spec.folder])
        for name, want in spec.expected(kwargs).items():
            try:
                text = read_workspace_file(outputs.workdir, f"{folder}/{name}").decode("utf-8")
            except (OSError, UnicodeDecodeError) as exc:
                return result("failed", f"{probe} did not write a readable {name} ({type(exc).__name__}) "
                                        f"on {i + 1}/{n} of the grader's inputs")
            try:
                got = np.asarray(spec.parse[name](text))
            except ValueError:
                return result("failed", f"{probe} wrote a {name} the grader cannot read (grader's input {i + 1}/{n})")
            want = np.asarray(want)
            if got.shape != want.shape:
                lines = got.shape[0] if got.ndim else 0
                what = (f"{lines} lines; expected {want.shape[0]}" if lines != want.shape[0]
                        else f"lines of shape {got.shape[1:]}; expected {want.shape[1:]}")
                return result("failed", f"{probe} wrote {name} with {what} (grader's input {i + 1}/{n})")
            err = _difference(got, want)
            if not err <= policy.rtol:
                return result("failed", f"{probe} wrote a {name} whose contents differ from the expected ones "
                                        f"(grader's input {i + 1}/{n})")
        if spec.returns is not None:
            got = outputs.arrays.get(f"{probe}{SEP}{i}", ())
            want = spec.returns(kwargs)
            if len(got) != len(want) or not all(g.ndim == 0 and g.dtype.kind == "U" and _same_path(str(g), w, outputs.cwd)
                                                for g, w in zip(got, want)):
                return result("failed", f"{probe} did not return the paths of the files it wrote "
                                        f"(grader's input {i + 1}/{n})")
    return result("passed", f"{probe} wrote the expected files on {n}/{n} of the grader's inputs")
