"""Planted wrong solutions (mutants) kept in `mutants/<notebook>.toml`, and how they become submissions.

A mutant file holds one `[[mutant]]` table per planted bug:

    [[mutant]]
    id = "sigmoid_activation"                # unique within the file: letters, digits, _ . -
    cell = "rnn_cell_forward"                # grade_id of the answer cell it replaces
    description = "sigmoid instead of tanh"  # one line
    kills = ["rnn_cell_forward_reference"]   # the tests (grade_ids) that must lose points
    find = "np.tanh("                        # either find + replace: `find` must occur exactly
    replace = "np.sin("                      #   once in the reference cell's source
    # source = '''...'''                     # or the whole new source of the cell
    # fast = false                           # do not apply the file's [[fast]] edits (default true)

and optionally `[[fast]]` tables (cell, description, find + replace or source): edits that make a
slow notebook train little. They are applied to every mutant of the file that does not say
`fast = false`, and such a mutant is compared with the reference carrying the same edits, so
what the shortcut itself costs is never counted as a kill.

A mutant is applied to the *source* notebook (the reference solution): the result is the
reference with one answer cell changed, graded like any student's submission. Every problem in
a file (bad TOML, unknown keys, a cell that is not an answer cell, a test that does not exist,
a `find` that matches 0 or several times) raises MutantError naming the file and the mutant.
"""
from __future__ import annotations

import copy
import re

try:
    import tomllib
except ModuleNotFoundError:      # Python 3.10: the same parser, as a package
    import tomli as tomllib
from dataclasses import dataclass
from pathlib import Path

from nbformat import NotebookNode

from autograder.course.notebooks import NotebookSpec, grade_id, is_grade, is_solution
from autograder.errors import AutograderError

_ID = re.compile(r"^[A-Za-z0-9_.-]+$")
_MUTANT_KEYS = {"id", "cell", "description", "kills", "find", "replace", "source", "fast"}
_FAST_KEYS = {"cell", "description", "find", "replace", "source"}
_FILE_KEYS = {"mutant", "fast"}


class MutantError(AutograderError):
    """A mutant file cannot be read or does not fit the current source notebook."""


@dataclass(frozen=True)
class Edit:
    """A new source for one answer cell: the whole text, or one exact find -> replace."""

    cell: str
    source: str | None = None
    find: str | None = None
    replace: str | None = None

    def apply(self, text: str, *, where: str) -> str:
        if self.source is not None:
            return self.source
        assert self.find is not None and self.replace is not None
        count = text.count(self.find)
        if count != 1:
            raise MutantError(f"{where}: `find` occurs {count} times in cell '{self.cell}' of the reference "
                              f"(it must occur exactly once): {self.find!r}")
        return text.replace(self.find, self.replace)


@dataclass(frozen=True)
class Mutant:
    """One planted bug: the reference with one answer cell changed."""

    id: str
    notebook: str
    description: str
    kills: tuple[str, ...]
    edit: Edit
    fast: bool = True

    @property
    def cell(self) -> str:
        return self.edit.cell


@dataclass(frozen=True)
class MutantSet:
    """The mutants of one notebook, with its optional shortcut edits."""

    notebook: str
    path: Path
    mutants: tuple[Mutant, ...]
    fast: tuple[Edit, ...] = ()

    def uses_fast(self, mutant: Mutant) -> bool:
        return bool(self.fast) and mutant.fast


def _edit(table: dict, *, where: str) -> Edit:
    cell = table.get("cell")
    if not isinstance(cell, str) or not cell:
        raise MutantError(f"{where}: `cell` (the grade_id of an answer cell) is missing")
    has_source, has_find = "source" in table, "find" in table or "replace" in table
    if has_source == has_find:
        raise MutantError(f"{where}: give either `source` or `find` + `replace`, not both or neither")
    if has_source:
        if not isinstance(table["source"], str):
            raise MutantError(f"{where}: `source` must be a string")
        return Edit(cell=cell, source=table["source"])
    find, replace = table.get("find"), table.get("replace")
    if not isinstance(find, str) or not find or not isinstance(replace, str):
        raise MutantError(f"{where}: `find` (non-empty) and `replace` must both be strings")
    if find == replace:
        raise MutantError(f"{where}: `find` and `replace` are the same text")
    return Edit(cell=cell, find=find, replace=replace)


def _description(table: dict, *, where: str) -> str:
    text = table.get("description")
    if not isinstance(text, str) or not text.strip() or "\n" in text.strip():
        raise MutantError(f"{where}: `description` must be one non-empty line")
    return text.strip()


def _mutant(table: dict, *, notebook: str, where: str) -> Mutant:
    unknown = sorted(set(table) - _MUTANT_KEYS)
    if unknown:
        raise MutantError(f"{where}: unknown keys {unknown} (allowed: {sorted(_MUTANT_KEYS)})")
    kills = table.get("kills")
    if not isinstance(kills, list) or not kills or not all(isinstance(k, str) and k for k in kills):
        raise MutantError(f"{where}: `kills` must be a non-empty list of test ids")
    fast = table.get("fast", True)
    if not isinstance(fast, bool):
        raise MutantError(f"{where}: `fast` must be true or false")
    return Mutant(id=table["id"], notebook=notebook, description=_description(table, where=where),
                  kills=tuple(dict.fromkeys(kills)), edit=_edit(table, where=where), fast=fast)


def parse_mutant_file(path: Path, notebook: str) -> MutantSet:
    """Read one mutant file (syntax and keys only; `check` compares it with the notebook)."""
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError) as exc:
        raise MutantError(f"{path}: cannot be read as TOML: {exc}") from exc
    unknown = sorted(set(data) - _FILE_KEYS)
    if unknown:
        raise MutantError(f"{path}: unknown top-level keys {unknown} (use [[mutant]] and [[fast]] tables)")
    tables = data.get("mutant", [])
    if not isinstance(tables, list) or not tables:
        raise MutantError(f"{path}: no [[mutant]] tables")
    mutants, seen = [], set()
    for number, table in enumerate(tables, 1):
        ident = table.get("id")
        if not isinstance(ident, str) or not _ID.match(ident):
            raise MutantError(f"{path}: mutant #{number}: `id` must be letters, digits, _ . - (got {ident!r})")
        if ident in seen:
            raise MutantError(f"{path}: mutant '{ident}' is defined twice")
        seen.add(ident)
        mutants.append(_mutant(table, notebook=notebook, where=f"{path}: mutant '{ident}'"))
    fast = []
    for number, table in enumerate(data.get("fast", []), 1):
        where = f"{path}: [[fast]] #{number}"
        unknown = sorted(set(table) - _FAST_KEYS)
        if unknown:
            raise MutantError(f"{where}: unknown keys {unknown} (allowed: {sorted(_FAST_KEYS)})")
        _description(table, where=where)
        fast.append(_edit(table, where=where))
    return MutantSet(notebook=notebook, path=path, mutants=tuple(mutants), fast=tuple(fast))


def _answer_sources(source: NotebookNode) -> dict[str, str]:
    return {grade_id(c): c.source for c in source.cells if is_solution(c) and not is_grade(c) and grade_id(c)}


def check(mutants: MutantSet, spec: NotebookSpec, source: NotebookNode) -> None:
    """Raise MutantError unless every mutant and shortcut fits the current source notebook."""
    answers = _answer_sources(source)
    tests = {t.grade_id for t in spec.tests}
    fast_cells = {e.cell for e in mutants.fast}
    for number, edit in enumerate(mutants.fast, 1):
        where = f"{mutants.path}: [[fast]] #{number}"
        if edit.cell not in answers:
            raise MutantError(f"{where}: '{edit.cell}' is not an answer cell of {spec.name} "
                              f"(answer cells: {', '.join(answers)})")
        edit.apply(answers[edit.cell], where=where)
    for m in mutants.mutants:
        where = f"{mutants.path}: mutant '{m.id}'"
        if m.cell not in answers:
            raise MutantError(f"{where}: '{m.cell}' is not an answer cell of {spec.name} "
                              f"(answer cells: {', '.join(answers)})")
        unknown = [k for k in m.kills if k not in tests]
        if unknown:
            raise MutantError(f"{where}: `kills` names tests that {spec.name} does not have: {unknown}")
        if mutants.uses_fast(m) and m.cell in fast_cells:
            raise MutantError(f"{where}: it replaces cell '{m.cell}', which a [[fast]] edit changes too; "
                              f"set `fast = false`")
        m.edit.apply(answers[m.cell], where=where)


def load_mutants(folder: Path, spec_notebooks: tuple[NotebookSpec, ...],
                 sources: dict[str, NotebookNode]) -> tuple[MutantSet, ...]:
    """Read and check `<folder>/<notebook>.toml` for each notebook; a missing file is an error."""
    sets = []
    for spec in spec_notebooks:
        path = Path(folder) / f"{spec.name}.toml"
        if not path.is_file():
            raise MutantError(f"{path} is missing: every notebook needs mutants (see autograder/course/mutants.py)")
        mutant_set = parse_mutant_file(path, spec.name)
        check(mutant_set, spec, sources[spec.name])
        sets.append(mutant_set)
    return tuple(sets)


def build(source: NotebookNode, edits: tuple[Edit, ...], *, where: str) -> NotebookNode:
    """A copy of the source notebook with the given answer cells changed."""
    nb = copy.deepcopy(source)
    by_cell = {grade_id(c): c for c in nb.cells if is_solution(c) and not is_grade(c)}
    for edit in edits:
        if edit.cell not in by_cell:
            raise MutantError(f"{where}: '{edit.cell}' is not an answer cell")
        by_cell[edit.cell].source = edit.apply(by_cell[edit.cell].source, where=where)
    return nb


def submission(source: NotebookNode, mutants: MutantSet, mutant: Mutant) -> NotebookNode:
    """The notebook a mutant hands in: the reference, the shortcuts (unless opted out), the bug."""
    fast = mutants.fast if mutants.uses_fast(mutant) else ()
    return build(source, fast + (mutant.edit,), where=f"{mutants.path}: mutant '{mutant.id}'")


def fast_reference(source: NotebookNode, mutants: MutantSet) -> NotebookNode:
    """The reference with the file's shortcut edits: the baseline of the mutants that use them."""
    return build(source, mutants.fast, where=f"{mutants.path}: [[fast]]")
