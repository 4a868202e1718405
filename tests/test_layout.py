"""The package's folders are stages: each imports only from the stages before it, and only the CLI prints."""
from __future__ import annotations

import ast
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[1] / "autograder"

# The data path, from the bottom up. A module may import from its own stage and the stages before it.
STAGES = ("base", "data", "course", "intake", "grading", "gradebook", "run", "reports", "qa", "serve", "cli")
BASE_MODULES = {"__init__", "__version__", "config", "errors", "results", "nbgrader_env", "nbgrader_log"}


def stage_of(module: str) -> str:
    """`autograder.grading.verdicts.models` -> "grading"; the top-level shared modules -> "base"."""
    parts = module.split(".")
    if len(parts) == 1 or parts[1] in BASE_MODULES:
        return "base"
    return "cli" if parts[1] == "__main__" else parts[1]


def module_name(path: Path) -> str:
    parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def imports_of(path: Path) -> list[str]:
    """Every `autograder...` module imported anywhere in the file, function-level imports included."""
    found = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.ImportFrom) and node.level == 0 and node.module \
                and node.module.split(".")[0] == "autograder":
            found += ([f"autograder.{a.name}" for a in node.names] if node.module == "autograder" else [node.module])
        elif isinstance(node, ast.Import):
            found += [a.name for a in node.names if a.name.split(".")[0] == "autograder"]
    return found


MODULES = sorted(PACKAGE.rglob("*.py"))


def upward_imports(modules: list[Path]) -> list[str]:
    bad = []
    for path in modules:
        own = module_name(path)
        for target in imports_of(path):
            if STAGES.index(stage_of(target)) > STAGES.index(stage_of(own)):
                bad.append(f"{own} ({stage_of(own)}) imports {target} ({stage_of(target)})")
    return bad


def test_every_folder_of_the_package_is_a_known_stage() -> None:
    folders = {p.parent.relative_to(PACKAGE).parts[0] for p in MODULES if p.parent != PACKAGE}
    assert folders <= set(STAGES), f"folders that are no stage: {sorted(folders - set(STAGES))}"
    top = {p.stem for p in PACKAGE.glob("*.py")}
    assert top <= BASE_MODULES | {"__main__", "gradebook"}, f"unexpected top-level modules: {sorted(top)}"


def test_no_stage_imports_a_stage_after_it() -> None:
    assert upward_imports(MODULES) == []


def test_the_layering_check_catches_an_upward_import(tmp_path: Path) -> None:
    fake = PACKAGE / "grading" / "_layering_probe.py"
    try:
        fake.write_text("from autograder.reports.export import export_csv\n")
        assert upward_imports([fake]) == ["autograder.grading._layering_probe (grading) imports "
                                          "autograder.reports.export (reports)"]
    finally:
        fake.unlink()


@pytest.mark.parametrize("path", [p for p in MODULES if stage_of(module_name(p)) != "cli"
                                  and p.name != "selfcheck.py"], ids=lambda p: module_name(p))
def test_only_the_cli_prints(path: Path) -> None:
    """`selfcheck.py` is a student's script shipped in the release: it prints for the student."""
    calls = [node.lineno for node in ast.walk(ast.parse(path.read_text(encoding="utf-8")))
             if isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id == "print"]
    assert calls == [], f"{module_name(path)} prints at lines {calls}"
