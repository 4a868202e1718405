"""CSV export from the gradebook: one row per (student, notebook, test)."""
from __future__ import annotations

import csv
from pathlib import Path

from .config import GraderConfig
from .gradebook import Gradebook

CSV_COLUMNS = ("student", "assignment", "notebook", "test", "points", "max_points", "status", "reason")


def export_csv(*, config: GraderConfig, output: Path, assignment: str | None = None) -> int:
    """Write the long-format CSV; returns the number of rows. Hidden tests appear by name and reason only."""
    with Gradebook(config) as gb:
        rows = gb.results(assignment)
    output.parent.mkdir(parents=True, exist_ok=True)
    tmp = output.with_suffix(output.suffix + ".tmp")
    with tmp.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(CSV_COLUMNS)
        for r in rows:
            writer.writerow([r.student, r.assignment, r.notebook, r.test, f"{r.points:g}",
                             f"{r.max_points:g}", r.status, r.reason])
    tmp.replace(output)
    return len(rows)
