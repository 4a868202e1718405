"""Run a notebook in a fresh kernel, cell by cell, within per-cell and per-notebook limits.

This is the only module that talks to nbclient. Stderr is never a failure here
(TensorFlow logs to stderr); a cell fails only when it raises. A cell that overruns
its limit is interrupted; if the kernel does not come back (a loop that swallows
KeyboardInterrupt), the kernel is killed and the remaining cells are reported as not run.

With a `KernelLaunch` (the sandbox's), only the kernel runs inside bubblewrap: the kernel manager
wraps the kernel command, talks to the kernel over unix sockets (`transport="ipc"`) and interrupts
it with an `interrupt_request` message (a SIGINT to the process group would reach bwrap itself,
which dies of it and takes the kernel along).
"""
from __future__ import annotations

import dataclasses
import json
import os
import re
import subprocess
import time
from dataclasses import dataclass
from enum import Enum
from pathlib import Path
from typing import Callable, Mapping

from jupyter_client.manager import AsyncKernelManager
from nbclient import NotebookClient
from nbclient.exceptions import CellTimeoutError, DeadKernelError
from nbclient.util import run_sync
from nbformat import NotebookNode
from traitlets import Unicode, default
from traitlets.config import Config

KERNEL_NAME = "python3"
_LIVENESS_TIMEOUT_S = 5
_ANSI = re.compile(r"\x1b\[[0-9;]*[A-Za-z]")


@dataclass(frozen=True)
class CellOutcome:
    """What happened to one code cell."""

    index: int
    ran: bool
    error: tuple[str, str, str] | None = None   # (ename, evalue, traceback text without colours)
    timed_out: bool = False
    printed_score: float | None = None          # nbgrader convention: a grade cell may return a number


class StopCause(str, Enum):
    """Why execution stopped before the last cell: *what* happened (`Execution.stopped` says it in words)."""

    NOTEBOOK_TIME_LIMIT = "notebook_time_limit"   # the whole notebook ran past its limit
    CELL_STUCK = "cell_stuck"          # a cell ran past its limit and ignored the interrupt: kernel killed
    KERNEL_DIED = "kernel_died"        # crash, os._exit or out of memory
    KERNEL_START = "kernel_start"      # the kernel could not be started: nothing ran
    WORKER = "worker"                  # the grading worker failed or did not finish: nothing ran


@dataclass(frozen=True)
class Execution:
    outcomes: Mapping[int, CellOutcome]   # by cell index, code cells only
    runtime_s: float
    stopped: str = ""                      # why execution stopped early ("" if every cell ran)
    cause: StopCause | None = None         # set exactly when `stopped` is; an Execution that is built with
                                           # a `stopped` text but no cause is a worker failure (the sandbox's)

    def __post_init__(self) -> None:
        if self.stopped and self.cause is None:
            object.__setattr__(self, "cause", StopCause.WORKER)
        if self.cause is not None and not self.stopped:
            raise ValueError(f"an execution stopped by {self.cause.value} needs the reason in `stopped`")

    def to_json(self) -> dict:
        return {"runtime_s": self.runtime_s, "stopped": self.stopped,
                "cause": self.cause.value if self.cause else None,
                "outcomes": [dataclasses.asdict(o) for o in self.outcomes.values()]}

    @classmethod
    def from_json(cls, data: dict) -> "Execution":
        outcomes = {}
        for o in data["outcomes"]:
            error = tuple(o["error"]) if o.get("error") else None
            outcomes[int(o["index"])] = CellOutcome(index=int(o["index"]), ran=bool(o["ran"]), error=error,
                                                    timed_out=bool(o["timed_out"]),
                                                    printed_score=o.get("printed_score"))
        cause = StopCause(data["cause"]) if data.get("cause") else None
        return cls(outcomes=outcomes, runtime_s=float(data["runtime_s"]), stopped=str(data["stopped"]), cause=cause)


@dataclass(frozen=True)
class KernelLaunch:
    """How to start the kernel inside the sandbox (built by `sandbox.KernelView.launch`)."""

    bwrap: str
    args: tuple[str, ...]              # bwrap's arguments, handed over on a file descriptor (`--args`)
    command: tuple[str, ...]           # what bwrap runs, up to the interpreter: [setpriv ... --] python
    connection_file: str               # in the socket folder, bound into the sandbox at the same path
    owner: tuple[int, int] | None = None   # (uid, gid) that must read the connection file (grader is root)

    def to_json(self) -> dict:
        return dataclasses.asdict(self)

    @classmethod
    def from_json(cls, data: dict) -> "KernelLaunch":
        owner = tuple(data["owner"]) if data.get("owner") else None
        return cls(bwrap=data["bwrap"], args=tuple(data["args"]), command=tuple(data["command"]),
                   connection_file=data["connection_file"], owner=owner)  # type: ignore[arg-type]


class SandboxedKernelManager(AsyncKernelManager):
    """A kernel manager whose kernel runs in bwrap: ipc sockets, message interrupts, wrapped command."""

    launch_json = Unicode("", config=True, help="KernelLaunch as JSON")

    @default("transport")
    def _default_transport(self) -> str:
        return "ipc"

    @property
    def launch(self) -> KernelLaunch:
        return KernelLaunch.from_json(json.loads(self.launch_json))

    @property
    def kernel_spec(self):  # type: ignore[override]
        spec = super().kernel_spec
        if spec is not None:
            spec.interrupt_mode = "message"
        return spec

    def write_connection_file(self, **kwargs) -> None:  # type: ignore[override]
        super().write_connection_file(**kwargs)
        owner = self.launch.owner
        if owner is not None:
            os.chown(self.connection_file, *owner)

    def format_kernel_cmd(self, extra_arguments: list[str] | None = None) -> list[str]:
        """bwrap --args FD <setpriv ...> python -m ipykernel_launcher -f <connection file>; the view's
        arguments go into a memfd, so they are not on the kernel's /proc/1/cmdline."""
        launch = self.launch
        fd = os.memfd_create("bwrap-args")
        data = b"".join(a.encode() + b"\0" for a in launch.args)
        view = memoryview(data)
        while view:
            view = view[os.write(fd, view):]
        os.lseek(fd, 0, os.SEEK_SET)
        self._args_fd = fd
        return [launch.bwrap, "--args", str(fd), *launch.command, "-m", "ipykernel_launcher",
                "-f", self.connection_file, *(extra_arguments or [])]

    async def _async_launch_kernel(self, kernel_cmd: list[str], **kw) -> None:  # type: ignore[override]
        fd = getattr(self, "_args_fd", None)
        try:
            await super()._async_launch_kernel(kernel_cmd, pass_fds=(fd,) if fd is not None else (), **kw)
        finally:
            if fd is not None:
                os.close(fd)
                self._args_fd = None


class LimitedOutputClient(NotebookClient):
    """A NotebookClient that keeps at most `max_output_bytes` of output per cell (an output flood
    cannot exhaust the grader's memory); later output is dropped after one truncation notice."""

    max_output_bytes: int = 1 << 20

    def output(self, outs, msg, display_id, cell_index):  # type: ignore[override]
        size = len(json.dumps(msg.get("content", {}), default=str))
        used = self._output_used.get(cell_index, 0)
        self._output_used[cell_index] = used + size
        if used + size <= self.max_output_bytes:
            return super().output(outs, msg, display_id, cell_index)
        if used <= self.max_output_bytes:
            outs.append(NotebookNode(output_type="stream", name="stderr",
                                     text=f"\n[output truncated by the grader after {self.max_output_bytes} bytes]\n"))
        return None


def strip_ansi(text: str) -> str:
    return _ANSI.sub("", text)


def _outcome(index: int, cell: NotebookNode, reply: dict | None) -> CellOutcome:
    """The kernel's execute_reply decides pass or fail; outputs only add a printed score.

    The reply travels on the shell channel and always arrives; display outputs travel on
    IOPub and can be late, so an error is never inferred from missing outputs alone.
    """
    content = (reply or {}).get("content", {})
    error = None
    if content.get("status") == "error" or reply is None:
        error = (str(content.get("ename", "Error")), strip_ansi(str(content.get("evalue", ""))),
                 strip_ansi("\n".join(content.get("traceback", []))))
    elif content.get("status") == "aborted":
        error = ("Aborted", "execution was aborted", "")
    score = None
    for out in cell.get("outputs", []):
        if out.get("output_type") == "execute_result":
            text = out.get("data", {}).get("text/plain", "")
            try:
                score = float(text if isinstance(text, str) else "".join(text))
            except ValueError:
                pass
    return CellOutcome(index=index, ran=True, error=error, printed_score=score)


def execute_notebook(
    nb: NotebookNode,
    *,
    workdir: Path,
    env: Mapping[str, str],
    cell_timeout: Callable[[NotebookNode], float],
    notebook_timeout_s: float,
    startup_timeout_s: float = 60,
    max_output_bytes: int = 1 << 20,
    launch: KernelLaunch | None = None,
    ready: Callable[[], None] | None = None,
    cells_done: Callable[[], None] | None = None,
) -> Execution:
    """Execute `nb` in place (outputs are written into it) with cwd `workdir`.

    With `launch`, the kernel runs in the sandbox and `env` is only bwrap's own environment (the
    kernel's is part of `launch`). `ready` is called once the kernel answers, before the first cell
    (the grader's gate: a kernel is started ahead while others run, and waits there for a free
    slot); the time spent in it counts against no limit and is not part of `runtime_s`. `cells_done`
    is called once no cell will run any more, before the kernel is stopped (the slot is freed then).

    The kernel is killed when execution ends (after the last cell, at a closed gate, at a limit),
    not asked to shut down (`shutdown_kernel="immediate"`: SIGKILL to its process group). Everything
    the grader reads was written by the cells, a graceful shutdown cost about 0.7 s per notebook,
    and no student code (an atexit handler) runs after the last cell."""
    started = time.monotonic()
    deadline = started + notebook_timeout_s
    sandboxed = {}
    if launch is not None:
        sandboxed = {"kernel_manager_class": SandboxedKernelManager, "config": Config({"SandboxedKernelManager": {
            "launch_json": json.dumps(launch.to_json()), "connection_file": launch.connection_file}})}
    client = LimitedOutputClient(
        nb, kernel_name=KERNEL_NAME, allow_errors=True, startup_timeout=int(startup_timeout_s),
        resources={"metadata": {"path": str(workdir)}}, record_timing=False,
        shutdown_kernel="immediate", **sandboxed,
    )
    client.max_output_bytes = max_output_bytes
    client._output_used = {}
    outcomes: dict[int, CellOutcome] = {}
    replies: dict[int, dict] = {}
    client.on_cell_executed = lambda cell, cell_index, execute_reply: replies.__setitem__(cell_index, execute_reply)
    stopped, cause = "", None
    try:
        with client.setup_kernel(env=dict(env), cwd=str(workdir),
                                 stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL):
            if ready is not None:
                waiting = time.monotonic()
                ready()
                waited = time.monotonic() - waiting
                started, deadline = started + waited, deadline + waited
            for index, cell in enumerate(nb.cells):
                if cell.cell_type != "code":
                    continue
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    stopped = f"the notebook time limit ({notebook_timeout_s:.0f} s) was reached"
                    cause = StopCause.NOTEBOOK_TIME_LIMIT
                    break
                limit = min(cell_timeout(cell), remaining)
                client.timeout = max(1, int(limit + 0.999))
                try:
                    client.execute_cell(cell, index)
                except CellTimeoutError:
                    outcomes[index] = CellOutcome(index=index, ran=True, timed_out=True)
                    if limit < cell_timeout(cell):
                        stopped = f"the notebook time limit ({notebook_timeout_s:.0f} s) was reached"
                        cause = StopCause.NOTEBOOK_TIME_LIMIT
                        break
                    if not _recover(client):
                        stopped = (f"cell {index} ran past its {limit:.0f} s limit and did not stop "
                                   f"when interrupted; the kernel was killed")
                        cause = StopCause.CELL_STUCK
                        break
                    continue
                except DeadKernelError:
                    outcomes[index] = CellOutcome(index=index, ran=True, error=(
                        "DeadKernelError", "the kernel died while running this cell", ""))
                    stopped = f"the kernel died in cell {index} (crash, os._exit or out of memory)"
                    cause = StopCause.KERNEL_DIED
                    break
                outcomes[index] = _outcome(index, cell, replies.get(index))
            if cells_done is not None:
                cells_done()
    except RuntimeError as exc:   # kernel failed to start
        stopped, cause = f"the kernel could not be started ({exc})", StopCause.KERNEL_START
    return Execution(outcomes=outcomes, runtime_s=time.monotonic() - started, stopped=stopped, cause=cause)


def _recover(client: NotebookClient) -> bool:
    """Interrupt the kernel after a timeout and check that it answers again.

    The channels are replaced: the abandoned cell may have left a pending IOPub read behind
    that would otherwise swallow the next cells' messages.
    """
    try:
        run_sync(client.km.interrupt_kernel)()
        client.kc.stop_channels()
        client.kc = client.km.client()
        client.kc.start_channels()
        # kernel_info queues behind a cell that is still running: no answer means still stuck
        run_sync(client.kc.wait_for_ready)(timeout=_LIVENESS_TIMEOUT_S)
        return True
    except (RuntimeError, DeadKernelError):
        return False
