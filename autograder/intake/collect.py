"""Collect submissions from nbgrader's exchange into ``submitted/`` with nbgrader's own ExchangeCollect.

Students hand in with ``nbgrader submit`` (or the Jupyter assignment list), which writes
``<exchange>/<course_id>/inbound/<student>+<assignment>+<timestamp>+<random>/`` with a
``timestamp.txt``. Collecting copies each student's latest one to
``submitted/<student>/<assignment>/``, ``timestamp.txt`` included, which intake then reads as the
submission time. nbgrader's configuration is built here in code from grader_config.py (nbgrader
ignores ``--config``); the exchange root comes from the command line.
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from autograder.config import GraderConfig
from autograder.errors import AutograderError


@dataclass(frozen=True)
class CollectResult:
    submitted_dir: Path
    students: tuple[str, ...]          # students with a collected submission of the assignment


def nbgrader_config(config: GraderConfig, exchange_root: Path):
    """The traitlets Config nbgrader's exchange apps need for this course and exchange."""
    from traitlets.config import Config

    cfg = Config()
    cfg.CourseDirectory.root = str(config.course_root)
    cfg.CourseDirectory.course_id = config.course_id
    cfg.CourseDirectory.assignment_id = config.assignment
    cfg.CourseDirectory.db_url = config.resolved_gradebook_url
    cfg.Exchange.root = str(Path(exchange_root).resolve())
    return cfg


def run_exchange_app(app_class, cfg, *, what: str) -> None:
    """Start one of nbgrader's exchange apps (ExchangeCollect, ExchangeReleaseFeedback, ...) with the
    traitlets config `cfg`; its failure is an AutograderError with nbgrader's own reason."""
    from nbgrader.auth import Authenticator
    from nbgrader.coursedir import CourseDirectory
    from nbgrader.exchange import ExchangeError

    from autograder.nbgrader_log import captured

    app = app_class(coursedir=CourseDirectory(config=cfg), authenticator=Authenticator(config=cfg), config=cfg)
    with captured(app.log) as log:
        try:
            app.start()
        except ExchangeError as exc:
            raise AutograderError(f"{what} failed: {log.reason(exc)}") from exc


def collect(*, config: GraderConfig, exchange_root: Path, update: bool = True) -> CollectResult:
    """Run nbgrader's collect for the configured course and assignment; `update` replaces older copies."""
    from nbgrader.exchange.default import ExchangeCollect

    from autograder.nbgrader_env import prepare_nbgrader

    exchange_root = Path(exchange_root)
    inbound = exchange_root / config.course_id / "inbound"
    if not inbound.is_dir():
        raise AutograderError(f"no nbgrader exchange for course '{config.course_id}' under {exchange_root} "
                              f"({inbound} does not exist)")
    prepare_nbgrader()
    cfg = nbgrader_config(config, exchange_root)
    cfg.ExchangeCollect.update = update
    run_exchange_app(ExchangeCollect, cfg, what="nbgrader collect")
    submitted = config.course_root / "submitted"
    students = tuple(sorted(p.name for p in submitted.iterdir() if (p / config.assignment).is_dir())) \
        if submitted.is_dir() else ()
    return CollectResult(submitted_dir=submitted, students=students)
