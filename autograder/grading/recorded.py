"""The recorded result keys of an assignment, read from a sqlite gradebook with the stdlib `sqlite3`.

An unchanged re-grade needs only these keys, so it reads them without SQLAlchemy or nbgrader
(autograder/gradebook.py, which writes them, imports both). The schema version, the table names
and the queries are defined here and used by the gradebook too (it is the stage after this one),
so the two readers cannot drift.
"""
from __future__ import annotations

import sqlite3
from pathlib import Path

SCHEMA_VERSION = 2      # 1: notes as lines of text, no notebook state; 2: typed JSON notes and states
SCHEMA_TABLE = "autograder_schema"
SUBMISSIONS_TABLE = "autograder_submissions"
KEYS_SQL = f"SELECT student, result_key, nbgrader_id FROM {SUBMISSIONS_TABLE} WHERE assignment = :assignment"
HELD_SQL = "SELECT id FROM submitted_assignment"        # nbgrader's submissions


def held_keys(rows, held) -> dict[str, str]:
    """student -> result key, from the rows of KEYS_SQL, of each submission nbgrader still holds (`held`:
    the ids of HELD_SQL). A submission nbgrader no longer holds has no key: it is graded again."""
    held = set(held)
    return {student: key for student, key, nb_id in rows if not nb_id or nb_id in held}


def sqlite_result_keys(path: Path, assignment: str) -> dict[str, str]:
    """student -> result key of each recorded submission of `assignment` in the sqlite gradebook at `path`,
    opened read-only. {} when the file does not exist, cannot be read, or is not at SCHEMA_VERSION (the
    caller then opens the gradebook in full, which creates or upgrades it)."""
    if not path.is_file():
        return {}
    try:
        conn = sqlite3.connect(f"{path.resolve().as_uri()}?mode=ro", uri=True)
    except sqlite3.Error:
        return {}
    try:
        version = conn.execute(f"SELECT version FROM {SCHEMA_TABLE}").fetchone()
        if version is None or version[0] != SCHEMA_VERSION:
            return {}
        held = [row[0] for row in conn.execute(HELD_SQL)]
        return held_keys(conn.execute(KEYS_SQL, {"assignment": assignment}), held)
    except sqlite3.Error:
        return {}
    finally:
        conn.close()
