"""The wheel holds the whole package, and installed outside the checkout (as on a Dask worker) it grades.

The fresh venv gets the wheel alone (`--no-deps`); its third-party dependencies come from this
venv's site-packages through a `.pth` line, which Python adds to the path without running the
editable install's hooks, so `autograder` itself can only come from the wheel.
"""
from __future__ import annotations

import json
import shutil
import subprocess
import sys
import sysconfig
import venv
import zipfile
from pathlib import Path

import nbformat
import pytest

from autograder.config import load_config
from autograder.grading.pipeline import load_context
from autograder.qa.samples import TOPIC1, fill, reference_answers

ROOT = Path(__file__).resolve().parents[1]
PACKAGE = ROOT / "autograder"


@pytest.fixture(scope="module")
def wheel(tmp_path_factory) -> Path:
    """Built from a copy of the checkout, so no `build/` folder of an earlier build can add or hide files."""
    out, src = tmp_path_factory.mktemp("wheel"), tmp_path_factory.mktemp("src")
    for name in ("pyproject.toml", "README.md"):
        shutil.copy(ROOT / name, src / name)
    shutil.copytree(PACKAGE, src / "autograder", ignore=shutil.ignore_patterns("__pycache__"))
    subprocess.run([sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "--quiet",
                    "-w", str(out), str(src)], check=True, capture_output=True, text=True, timeout=300)
    (found,) = out.glob("rnn_autograder-*.whl")
    return found


def package_files() -> set[str]:
    """What the wheel must hold: every module and template of the checkout's package."""
    return {str(p.relative_to(ROOT)) for p in PACKAGE.rglob("*")
            if p.suffix in (".py", ".j2") and "__pycache__" not in p.parts}


@pytest.mark.slow
def test_the_wheel_holds_every_module_and_template(wheel: Path) -> None:
    names = set(zipfile.ZipFile(wheel).namelist())
    missing = sorted(package_files() - names)
    assert not missing, f"the wheel lacks {missing}"
    assert any(n.endswith(".j2") and "/course/templates/" in n for n in names)
    assert any(n.endswith(".j2") and "/reports/templates/" in n for n in names)


def test_the_completeness_check_names_a_missing_file(wheel: Path, tmp_path: Path) -> None:
    shrunk = tmp_path / wheel.name
    with zipfile.ZipFile(wheel) as src, zipfile.ZipFile(shrunk, "w") as dst:
        for item in src.infolist():
            if item.filename != "autograder/data/splits.py":
                dst.writestr(item, src.read(item))
    assert package_files() - set(zipfile.ZipFile(shrunk).namelist()) == {"autograder/data/splits.py"}


@pytest.mark.slow
def test_an_installed_wheel_grades_a_submission_outside_the_checkout(wheel: Path, tmp_path: Path) -> None:
    env_dir = tmp_path / "worker-venv"
    venv.EnvBuilder(with_pip=False).create(env_dir)
    python = env_dir / "bin" / "python"
    site = Path(subprocess.run([str(python), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
                               check=True, capture_output=True, text=True).stdout.strip())
    (site / "grader-dependencies.pth").write_text(sysconfig.get_paths()["purelib"] + "\n")
    subprocess.run([sys.executable, "-m", "pip", "--python", str(python), "install", "--no-deps", "--quiet",
                    str(wheel)], check=True, capture_output=True, text=True, timeout=300)

    where = subprocess.run([str(python), "-c", "import autograder; print(autograder.__file__)"], cwd=tmp_path,
                           check=True, capture_output=True, text=True).stdout.strip()
    assert Path(where).is_relative_to(env_dir), where

    config = load_config(ROOT)
    ctx = load_context(config)
    folder = tmp_path / "submitted" / "wendy" / config.assignment
    folder.mkdir(parents=True)
    nbformat.write(fill(ctx.releases[TOPIC1], reference_answers(ctx.sources[TOPIC1])), str(folder / f"{TOPIC1}.ipynb"))
    script = (
        "import json, sys\n"
        "from pathlib import Path\n"
        "from autograder.config import load_config\n"
        "from autograder.run.batch import grade_path\n"
        f"config = load_config(Path({str(ROOT)!r})).with_gradebook(Path({str(tmp_path / 'gradebook.db')!r}))\n"
        f"report = grade_path(config=config, path=Path({str(tmp_path / 'submitted')!r}), progress=False)\n"
        "r = report.results[0]\n"
        "nb = [n for n in r.notebooks if n.notebook == sys.argv[1]][0]\n"
        "print(json.dumps({'score': nb.score, 'max': nb.autograded_max, 'file': __import__('autograder').__file__}))\n")
    done = subprocess.run([str(python), "-c", script, TOPIC1], cwd=tmp_path, capture_output=True, text=True,
                          timeout=900, env={"PATH": f"{env_dir / 'bin'}:/usr/bin:/bin", "HOME": str(tmp_path)})
    assert done.returncode == 0, done.stderr[-3000:]
    answer = json.loads(done.stdout.strip().splitlines()[-1])
    assert Path(answer["file"]).is_relative_to(env_dir)
    assert answer["score"] == answer["max"] > 0
