"""Grader-side comparison with the reference: passes on the reference, fails on wrong outputs."""
from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from autograder.config import ReferencePolicy
from autograder.grading.verdicts import probes

POLICY = ReferencePolicy(cases=3, rtol=1e-6, seed=1)


def _reference() -> probes.Reference:
    return probes.Reference(
        functions={"affine": lambda x, w: (x @ w, np.tanh(x @ w))},
        generators={"affine": lambda rng: {"x": rng.normal(size=(rng.integers(1, 4), 3)),
                                           "w": rng.normal(size=(3, 2))}},
    )


def _run_harness(tmp_path: Path, student_code: str, cases) -> probes.ProbeOutputs | None:
    """Run the real harness cell in a fresh Python process, as the kernel would."""
    probes.write_inputs(tmp_path, {"affine": cases})
    script = student_code + "\n" + probes.harness_cell_source()
    subprocess.run([sys.executable, "-c", script], cwd=tmp_path, check=True)
    return probes.read_outputs(tmp_path)


def _verdict(tmp_path: Path, code: str):
    ref = _reference()
    cases = probes.draw_inputs(ref, ("affine",), policy=POLICY, student="s1")["affine"]
    outputs = _run_harness(tmp_path, code, cases)
    return probes.compare("affine_reference", "affine", 2.0, reference=ref, cases=cases,
                          outputs=outputs, policy=POLICY)


def test_correct_function_passes(tmp_path: Path) -> None:
    result = _verdict(tmp_path, "import numpy as np\ndef affine(x, w):\n    z = x @ w\n    return z, np.tanh(z)")
    assert (result.status, result.points) == ("passed", 2.0)
    assert result.hidden and result.kind == "reference"


@pytest.mark.parametrize("code, reason", [
    ("import numpy as np\ndef affine(x, w):\n    z = x @ w\n    return z, 1 / (1 + np.exp(-z))", "differs"),
    ("import numpy as np\ndef affine(x, w):\n    return x @ w", "number or shape"),
    ("import numpy as np\ndef affine(x, w):\n    z = w.T @ x.T\n    return z, np.tanh(z)", "number or shape"),
    ("def affine(x, w):\n    raise ValueError('no')", "raised"),
    ("x = 1", "not defined"),
    ("import numpy as np\ndef affine(x, w):\n    z = x @ w\n    return z * np.nan, np.tanh(z)", "differs"),
])
def test_wrong_functions_fail(tmp_path: Path, code: str, reason: str) -> None:
    result = _verdict(tmp_path, code)
    assert result.status == "failed" and result.points == 0
    assert reason in result.reason


def test_inputs_differ_between_students_and_repeat_for_one() -> None:
    ref = _reference()
    a1 = probes.draw_inputs(ref, ("affine",), policy=POLICY, student="a")["affine"]
    a2 = probes.draw_inputs(ref, ("affine",), policy=POLICY, student="a")["affine"]
    b = probes.draw_inputs(ref, ("affine",), policy=POLICY, student="b")["affine"]
    assert all(np.array_equal(x["x"], y["x"]) for x, y in zip(a1, a2))
    assert not all(x["x"].shape == y["x"].shape and np.allclose(x["x"], y["x"]) for x, y in zip(a1, b))


def test_missing_outputs_are_an_error_not_a_pass(tmp_path: Path) -> None:
    ref = _reference()
    cases = probes.draw_inputs(ref, ("affine",), policy=POLICY, student="s")["affine"]
    result = probes.compare("t", "affine", 1.0, reference=ref, cases=cases,
                            outputs=probes.read_outputs(tmp_path), policy=POLICY, unavailable="kernel died")
    assert result.status == "error" and "kernel died" in result.reason


def test_string_outputs_and_scalar_arguments(tmp_path: Path) -> None:
    ref = probes.Reference(
        functions={"shout": lambda words, times: [w.upper() * times for w in words]},
        generators={"shout": lambda rng: {"words": np.array(["ab", "c", "de f"]), "times": int(rng.integers(1, 3))}},
    )
    cases = probes.draw_inputs(ref, ("shout",), policy=POLICY, student="s")["shout"]

    def verdict(code: str):
        probes.write_inputs(tmp_path, {"shout": cases})
        subprocess.run([sys.executable, "-c", code + "\n" + probes.harness_cell_source()], cwd=tmp_path, check=True)
        return probes.compare("t", "shout", 1.0, reference=ref, cases=cases,
                              outputs=probes.read_outputs(tmp_path), policy=POLICY)

    good = verdict("def shout(words, times):\n    assert isinstance(times, int)\n    return [w.upper() * times for w in words]")
    assert good.status == "passed", good.reason
    bad = verdict("def shout(words, times):\n    return [w.upper() for w in words]")
    assert bad.status == "failed" and "do not match" in bad.reason
