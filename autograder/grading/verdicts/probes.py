"""Run student functions on grader-chosen inputs, and compare with the reference outside the kernel.

Trust boundary: the grader draws the inputs, writes them to `probe_inputs.npz` in the
submission's workspace, and appends one cell (`harness_cell`) to the executed notebook.
That cell calls each student function on those inputs and writes the outputs to
`probe_outputs.npz` (arrays) and `probe_outputs.json` (exceptions). The grader reads
them back with `allow_pickle=False` and compares them with the reference solutions in
its own process. No reference code or expected output ever enters the student's kernel.
"""
from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Mapping

import numpy as np

from autograder.config import ReferencePolicy
from autograder.results import TestResult

INPUTS_FILE = "probe_inputs.npz"
OUTPUTS_FILE = "probe_outputs.npz"
ERRORS_FILE = "probe_outputs.json"
SEP = "|"

# Runs in the student's kernel. Self-contained: it must not rely on names the student defined.
_HARNESS = '''\
def __autograder_run_probes(inputs_path, outputs_path, errors_path, namespace):
    import json
    import numpy
    calls = {}
    with numpy.load(inputs_path, allow_pickle=False) as data:
        for key in data.files:
            probe, case, arg = key.split("|")
            calls.setdefault((probe, case), {})[arg] = data[key]
    arrays, errors = {}, {}
    for (probe, case), kwargs in sorted(calls.items()):
        try:
            function = namespace.get(probe)
            if not callable(function):
                raise NameError(probe + " is not defined")
            result = function(**{name: (value.item() if value.ndim == 0 else value.copy())
                                 for name, value in kwargs.items()})
            parts = result if isinstance(result, tuple) else (result,)
            for i, part in enumerate(parts):
                part = numpy.asarray(part)
                if part.dtype.kind not in "U":
                    part = part.astype(numpy.float64)
                arrays[probe + "|" + case + "|" + str(i)] = part
        except Exception as exc:
            errors[probe + "|" + case] = type(exc).__name__
    numpy.savez(outputs_path, **arrays)
    with open(errors_path, "w") as handle:
        json.dump(errors, handle)

__autograder_run_probes(@ARGS@, globals())
del __autograder_run_probes
'''


def harness_cell_source() -> str:
    return _HARNESS.replace("@ARGS@", ", ".join(repr(f) for f in (INPUTS_FILE, OUTPUTS_FILE, ERRORS_FILE)))


@dataclass(frozen=True)
class Reference:
    """A notebook's reference module: functions and input generators, keyed by function name."""

    functions: Mapping[str, Callable[..., object]]
    generators: Mapping[str, Callable[[np.random.Generator], dict[str, np.ndarray]]]


def _stable_int(text: str) -> int:
    return int.from_bytes(hashlib.sha256(text.encode()).digest()[:8], "little")


def draw_inputs(reference: Reference, probes: tuple[str, ...], *, policy: ReferencePolicy,
                student: str) -> dict[str, list[dict[str, np.ndarray]]]:
    """Fresh random inputs per probe: reproducible for one student, different between students."""
    cases = {}
    for probe in probes:
        rng = np.random.default_rng([policy.seed, _stable_int(student), _stable_int(probe)])
        cases[probe] = [reference.generators[probe](rng) for _ in range(policy.cases)]
    return cases


def write_inputs(workdir: Path, cases: Mapping[str, list[dict[str, np.ndarray]]]) -> None:
    flat = {SEP.join((probe, str(i), arg)): np.asarray(value)
            for probe, runs in cases.items() for i, kwargs in enumerate(runs) for arg, value in kwargs.items()}
    np.savez(workdir / INPUTS_FILE, **flat)


@dataclass(frozen=True)
class ProbeOutputs:
    arrays: Mapping[str, tuple[np.ndarray, ...]]   # "probe|case" -> outputs
    errors: Mapping[str, str]                      # "probe|case" -> exception type name


def read_outputs(workdir: Path) -> ProbeOutputs | None:
    """The kernel's outputs, or None when the harness never finished."""
    try:
        with np.load(workdir / OUTPUTS_FILE, allow_pickle=False) as data:
            grouped: dict[str, dict[int, np.ndarray]] = {}
            for key in data.files:
                probe, case, index = key.split(SEP)
                grouped.setdefault(f"{probe}{SEP}{case}", {})[int(index)] = data[key]
        errors = json.loads((workdir / ERRORS_FILE).read_text())
    except (OSError, ValueError, KeyError):
        return None
    arrays = {k: tuple(v[i] for i in sorted(v)) for k, v in grouped.items()}
    return ProbeOutputs(arrays=arrays, errors={str(k): str(v) for k, v in dict(errors).items()})


def relative_error(student: np.ndarray, expected: np.ndarray) -> float:
    """||student - expected|| / ||expected|| (absolute error when the expected output is zero)."""
    diff = float(np.linalg.norm((student - expected).ravel()))
    scale = float(np.linalg.norm(np.asarray(expected).ravel()))
    return diff / scale if scale > 1e-12 else diff


def _difference(student: np.ndarray, expected: np.ndarray) -> float:
    """Strings must match exactly (0 or inf); numbers are compared by relative error."""
    if expected.dtype.kind in "UO" or student.dtype.kind == "U":
        return 0.0 if student.astype(str).tolist() == expected.astype(str).tolist() else float("inf")
    return relative_error(student, expected.astype(np.float64))


def compare(test: str, probe: str, max_points: float, *, reference: Reference,
            cases: list[dict[str, np.ndarray]], outputs: ProbeOutputs | None,
            policy: ReferencePolicy, unavailable: str = "") -> TestResult:
    """All-or-nothing: full points when every random case is within `policy.rtol` of the reference."""
    def result(status: str, reason: str) -> TestResult:
        points = max_points if status == "passed" else 0.0
        return TestResult(test=test, points=points, max_points=max_points, status=status,
                          reason=reason, hidden=True, kind="reference")

    if outputs is None:
        return result("error", f"{probe} could not be run on the grader's inputs"
                      + (f": {unavailable}" if unavailable else ""))
    n = len(cases)
    raised, shape_bad, wrong, worst = {}, 0, 0, 0.0
    for i, kwargs in enumerate(cases):
        key = f"{probe}{SEP}{i}"
        if key in outputs.errors:
            raised[outputs.errors[key]] = raised.get(outputs.errors[key], 0) + 1
            continue
        got = outputs.arrays.get(key, ())
        want = reference.functions[probe](**{k: (v.copy() if isinstance(v, np.ndarray) else v)
                                             for k, v in kwargs.items()})
        want = want if isinstance(want, tuple) else (want,)
        if len(got) != len(want) or any(g.shape != np.shape(w) for g, w in zip(got, want)):
            shape_bad += 1
            continue
        errors = [_difference(g, np.asarray(w)) for g, w in zip(got, want)]
        err = max(errors) if all(np.isfinite(errors)) else float("inf")
        worst = max(worst, err)
        wrong += err > policy.rtol
    if raised:
        names = ", ".join(f"{name} on {count}/{n}" for name, count in sorted(raised.items()))
        if "NameError" in raised and raised["NameError"] == n:
            return result("failed", f"{probe} is not defined")
        return result("failed", f"{probe} raised an exception on random inputs ({names})")
    if shape_bad:
        return result("failed", f"{probe} returned the wrong number or shape of outputs on {shape_bad}/{n} random inputs")
    if wrong:
        return result("failed", f"{probe} differs from the reference on {wrong}/{n} random inputs "
                                + (f"(largest relative error {worst:.2g}, allowed {policy.rtol:g})"
                                   if np.isfinite(worst) else "(values do not match)"))
    return result("passed", f"{probe} matches the reference on {n}/{n} random inputs "
                            f"(largest relative error {worst:.1g})")
