"""nbgrader's own error messages, taken from its log instead of its generic exception.

nbgrader's apps log the real cause at ERROR (a traceback whose last line names the exception,
"Did you mean: ..."), then raise an exception that only says "Please see the above traceback for
details". Wherever the autograder runs an nbgrader app (release: generate_assignment; intake:
the exchange's collect; gradebook: nbgrader's export plugins), it does so inside `captured(log)`:
a handler on that app's logger keeps the ERROR records (and, being a handler, keeps Python's
last-resort handler from printing them as a traceback on stderr), and `reason(exc)` turns them
into one readable message for the AutograderError the command reports.

Decision: the message is nbgrader's, word for word (the last line of each logged traceback, and
any other error line), minus the lines that only point elsewhere ("see the above traceback",
"There was an error processing assignment ...", "Removing failed ..."). When nbgrader logged
nothing useful, the exception's own text is used.
"""
from __future__ import annotations

import logging
from contextlib import contextmanager
from typing import Iterator

MAX_LINE = 160
_POINTERS = ("please see the", "there was an error processing assignment", "removing failed")


class CapturedLog(logging.Handler):
    """The ERROR records an nbgrader app logged while it ran."""

    def __init__(self) -> None:
        super().__init__(level=logging.ERROR)
        self.records: list[logging.LogRecord] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.records.append(record)

    def messages(self) -> list[str]:
        """One line per logged error: a traceback's last line, or the message itself."""
        out: list[str] = []
        for record in self.records:
            try:
                text = record.getMessage()
            except Exception:  # noqa: BLE001 -- a malformed log call must not hide the real error
                text = str(record.msg)
            if record.exc_info and record.exc_info[1] is not None:     # log.exception(...)
                exc = record.exc_info[1]
                text = f"Traceback (most recent call last)\n{type(exc).__name__}: {exc}"
            lines = [line.strip() for line in text.strip().splitlines() if line.strip()]
            if not lines:
                continue
            if "Traceback (most recent call last)" in text:     # log.error(traceback.format_exc())
                line = lines[-1]
            else:   # e.g. "No end solution statement found. Cell contents are: <the cell>": enough to find it
                line = " ".join(" ".join(lines).split())
                line = line if len(line) <= MAX_LINE else line[: MAX_LINE - 1] + "…"
            if not line.lower().startswith(_POINTERS) and line not in out:
                out.append(line)
        return out

    def reason(self, exc: BaseException) -> str:
        """nbgrader's message for the failure `exc` ended with."""
        own = " ".join(str(exc).split())
        found = self.messages()
        if not found:
            return own or type(exc).__name__
        if own and not own.lower().startswith(_POINTERS) and not any(own in m for m in found):
            found.append(own)
        return "; ".join(found)


@contextmanager
def captured(*loggers: logging.Logger) -> Iterator[CapturedLog]:
    """Record what the given loggers (an nbgrader app's `.log`) log at ERROR while the block runs."""
    handler = CapturedLog()
    targets = list(dict.fromkeys(loggers))
    for logger in targets:
        logger.addHandler(handler)
    try:
        yield handler
    finally:
        for logger in targets:
            logger.removeHandler(handler)
