"""Using nbgrader in this process: a findable `alembic`, and the gradebook schema head read in-process.

Used by everything that lets nbgrader create a gradebook: the gradebook itself, the release's
scratch course and nbgrader's exchange collect.
"""
from __future__ import annotations

import functools
import os
import sys
from pathlib import Path


def _ensure_alembic_on_path() -> None:
    """nbgrader runs `alembic` by name when it creates a gradebook; make the venv's bin/ visible."""
    bindir = str(Path(sys.executable).parent)
    if bindir not in os.environ.get("PATH", "").split(os.pathsep):
        os.environ["PATH"] = os.pathsep.join([bindir, os.environ.get("PATH", "")])


def prepare_nbgrader() -> None:
    """Before nbgrader creates any gradebook (ours, or release's scratch one): its schema head
    is read in-process, and `alembic` is findable should nbgrader still run it."""
    import nbgrader.api

    _ensure_alembic_on_path()
    nbgrader.api.get_alembic_version = _alembic_head


@functools.lru_cache(maxsize=1)
def _alembic_head() -> str:
    """The newest revision of nbgrader's gradebook schema, read in-process.

    nbgrader asks a freshly started `alembic heads` subprocess for it (about 3 s) every time it
    creates a gradebook; the answer only depends on the installed nbgrader."""
    import nbgrader
    from alembic.config import Config
    from alembic.script import ScriptDirectory

    cfg = Config()
    cfg.set_main_option("script_location", str(Path(nbgrader.__file__).parent / "alembic"))
    return ScriptDirectory.from_config(cfg).get_current_head()
