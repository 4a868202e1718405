"""A notebook's private workspace: its environment and the cells the grader adds to it."""
from __future__ import annotations

import os
import sys
from pathlib import Path

import nbformat
from nbformat import NotebookNode

DATA_ENV = "COURSE_DATA_DIR"      # where the kernel finds the training part of the grading data
SEED_ENV = "COURSE_SEED"          # the notebooks' setup cells seed Python, numpy and Keras from it
INJECTED = "autograder_injected"  # metadata flag of the cells the grader adds


def seed_cell(seed: int, uses_tensorflow: bool) -> NotebookNode:
    lines = ["import random as _ag_random", f"_ag_random.seed({seed})",
             "try:", "    import numpy as _ag_np", f"    _ag_np.random.seed({seed})",
             "except ImportError:", "    pass"]
    if uses_tensorflow:
        lines += ["import keras as _ag_keras, tensorflow as _ag_tf", f"_ag_keras.utils.set_random_seed({seed})",
                  "_ag_tf.config.experimental.enable_op_determinism()", "del _ag_keras, _ag_tf"]
    lines += ["del _ag_random"]
    return nbformat.v4.new_code_cell("\n".join(lines), metadata={INJECTED: True}, id="autograder-seed")


# Passed on from the grader when set: OpenBLAS's CPU detection, so kernel and grader compute alike.
_NUMERIC_FROM_HOST = ("OPENBLAS_CORETYPE", "OPENBLAS_L2_SIZE")


def kernel_env(workdir: Path, seed: int, *, threads: int = 0) -> dict[str, str]:
    """The kernel's whole environment, built from nothing: HOME and every tool's config/cache folder
    inside the workspace, the seed, TensorFlow's quiet and deterministic flags, and PATH with the
    interpreter's folder first. Nothing else of the grader's environment (its HOME, tokens, paths)
    reaches the kernel. The sandbox rewrites the workspace paths to /workspace and PATH to its view.

    `threads` > 0 caps TensorFlow's and BLAS's threads so parallel kernels do not oversubscribe."""
    home = workdir / ".home"
    for sub in ("", "tmp", "keras", "ipython", "jupyter", "jupyter-data", "jupyter-runtime", "mpl"):
        (home / sub).mkdir(parents=True, exist_ok=True)
    numeric = {k: os.environ[k] for k in _NUMERIC_FROM_HOST if k in os.environ}
    return {
        "PATH": os.pathsep.join([str(Path(sys.executable).parent), "/usr/bin", "/bin"]),
        "LANG": "C.UTF-8", **numeric,
        "HOME": str(home), "TMPDIR": str(home / "tmp"), "KERAS_HOME": str(home / "keras"),
        "IPYTHONDIR": str(home / "ipython"), "JUPYTER_CONFIG_DIR": str(home / "jupyter"),
        "JUPYTER_DATA_DIR": str(home / "jupyter-data"), "JUPYTER_RUNTIME_DIR": str(home / "jupyter-runtime"),
        "JUPYTER_PLATFORM_DIRS": "1", "MPLCONFIGDIR": str(home / "mpl"), "MPLBACKEND": "Agg",
        "PYTHONHASHSEED": str(seed), "PYTHONDONTWRITEBYTECODE": "1", SEED_ENV: str(seed),
        "TF_CPP_MIN_LOG_LEVEL": "2", "TF_ENABLE_ONEDNN_OPTS": "0", "TF_DETERMINISTIC_OPS": "1",
        **({"TF_NUM_INTRAOP_THREADS": str(threads), "TF_NUM_INTEROP_THREADS": "1", "OMP_NUM_THREADS": str(threads),
            "OPENBLAS_NUM_THREADS": str(threads)} if threads else {}),
    }
