"""Similarity between students' answers: winnowed fingerprints of normalised tokens.

For each submission, the code of its answer cells (matched by grade_id, as in grading) is
tokenised; identifiers become `V`, numbers `N`, strings `S`; comments and layout are dropped.
Hashes of every k consecutive tokens are winnowed (the minimum of each window of w hashes,
Schleimer et al., SIGMOD 2003), and fingerprints that also occur in the released template
are removed. Two submissions' similarity is |A ∩ B| / min(|A|, |B|). Renaming variables,
changing literals or reordering whole statements leaves most fingerprints in place.
"""
from __future__ import annotations

import hashlib
import io
import itertools
import keyword
import tempfile
import token
import tokenize
from dataclasses import dataclass
from pathlib import Path
from typing import Iterable, Mapping

from nbformat import NotebookNode

from autograder.config import GraderConfig
from autograder.course.notebooks import (
    grade_id,
    is_grade,
    is_solution,
    load_source,
    read_notebook,
)
from autograder.errors import SubmissionError
from autograder.grading.assemble import read_submission
from autograder.intake.discover import discover

K_GRAM = 8
WINDOW = 4
MIN_FINGERPRINTS = 5      # fewer than this (a near-blank submission) is too little evidence


@dataclass(frozen=True)
class Pair:
    a: str
    b: str
    similarity: float
    shared: int


def normalised_tokens(code: str) -> list[str]:
    out = []
    try:
        for tok in tokenize.generate_tokens(io.StringIO(code).readline):
            if tok.type == token.NAME:
                out.append(tok.string if keyword.iskeyword(tok.string) else "V")
            elif tok.type == token.NUMBER:
                out.append("N")
            elif tok.type == token.STRING:
                out.append("S")
            elif tok.type == token.OP:
                out.append(tok.string)
    except (tokenize.TokenError, IndentationError, SyntaxError):
        pass     # unfinished code still yields the tokens read so far
    return out


def fingerprints(code: str, *, k: int = K_GRAM, window: int = WINDOW) -> set[int]:
    toks = normalised_tokens(code)
    hashes = [int.from_bytes(hashlib.blake2b(" ".join(toks[i:i + k]).encode(), digest_size=8).digest(), "big")
              for i in range(len(toks) - k + 1)]
    if len(hashes) <= window:
        return set(hashes)
    return {min(hashes[i:i + window]) for i in range(len(hashes) - window + 1)}


def answer_code(nb: NotebookNode) -> str:
    return "\n".join(c.source for c in nb.cells if is_solution(c) and not is_grade(c) and grade_id(c))


def compare_all(answers: Mapping[str, str], template: str, *, threshold: float) -> list[Pair]:
    """Pairs of students whose answers share at least `threshold` of their fingerprints."""
    common = fingerprints(template)
    prints = {s: fingerprints(code) - common for s, code in answers.items()}
    pairs = []
    for a, b in itertools.combinations(sorted(prints), 2):
        small = min(len(prints[a]), len(prints[b]))
        if small < MIN_FINGERPRINTS:
            continue
        shared = len(prints[a] & prints[b])
        score = shared / small
        if score >= threshold:
            pairs.append(Pair(a, b, round(score, 3), shared))
    return sorted(pairs, key=lambda p: -p.similarity)


def answers_from_files(files: Iterable[tuple[str, Path]]) -> dict[str, str]:
    """student -> answer code of every readable notebook (unreadable ones are skipped)."""
    out: dict[str, list[str]] = {}
    for student, path in files:
        try:
            nb, _ = read_submission(path)
        except SubmissionError:
            continue
        out.setdefault(student, []).append(answer_code(nb))
    return {s: "\n".join(parts) for s, parts in out.items()}


def similar_pairs(*, config: GraderConfig, path: Path, threshold: float) -> tuple[int, list[Pair]]:
    """(students compared, similar pairs) for the submissions at `path` (any layout `grade` accepts)."""
    spec, _ = load_source(config)
    names = tuple(nb.name for nb in spec.notebooks)
    release = config.course_root / "release" / config.assignment
    template = "\n".join(answer_code(read_notebook(release / f"{n}.ipynb")) for n in names)
    with tempfile.TemporaryDirectory() as scratch:
        submissions, _ = discover(path, assignment=config.assignment, notebooks=names, scratch=Path(scratch))
        answers = answers_from_files((s.student, p) for s in submissions for p in s.notebooks.values())
    return len(answers), compare_all(answers, template, threshold=threshold)
