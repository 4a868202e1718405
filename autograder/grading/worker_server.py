"""A fork server for grading workers: the worker's imports done once per grading process, then one fork per notebook.

    python -I -m autograder.grading.worker_server FD      (started by `WorkerServer`, minimal environment)

A worker (`worker.py`) costs about 0.3 CPU seconds before it does anything: the interpreter and its
imports (nbformat with jsonschema, nbclient, jupyter_client, zmq). The server pays that once and
forks a fresh copy per notebook, which then runs `worker.main()` exactly as `python -m
autograder.grading.worker` would. The server never runs a job and never talks to a kernel; it has a
single thread when it forks (nothing it imports starts one), so a fork is a clean copy.

It starts with `-I` from a folder of its own: no current directory, user site or PYTHON* variable
is on its `sys.path`. A worker started with `python -m` from the workspace would have the workspace
first on its `sys.path`, and the kernel can write there; a forked worker cannot import a file the
kernel wrote, however late it imports.

Protocol, over the AF_UNIX SOCK_SEQPACKET socket FD (one message each):
    grader -> server   RUN <id> <json: cwd, env, cgroups>   with three fds: the worker's stdin, stdout, stderr
    server -> grader   PID <id> <pid>
    server -> grader   EXIT <id> <status>   as os.waitpid reports it (signal in the low byte)
The fork starts a new session (so the grader can kill its whole session), joins the run's cgroups,
takes the three fds as 0, 1 and 2, closes every other, and replaces its environment and directory
with the job's. When the grader goes away (the socket closes), the server kills the workers still
running and exits.
"""
from __future__ import annotations

import contextlib
import json
import os
import select
import signal
import socket
import subprocess
import sys
import tempfile
import threading
from dataclasses import dataclass, field
from pathlib import Path
from typing import Mapping

_MESSAGE = 1 << 16


# ---- the server (its own process) -------------------------------------------------------------

def _fork_job(spec: dict, fds: list[int]) -> int:
    """In the fork: become the worker of one notebook and return its exit status."""
    os.setsid()
    for folder in spec["cgroups"]:
        with open(os.path.join(folder, "cgroup.procs"), "w") as procs:
            procs.write(str(os.getpid()))
    for target, fd in enumerate(fds):
        os.dup2(fd, target)
    os.closerange(3, os.sysconf("SC_OPEN_MAX") if os.sysconf("SC_OPEN_MAX") > 0 else 4096)
    os.chdir(spec["cwd"])
    os.environ.clear()
    os.environ.update(spec["env"])
    sys.stdin = open(0, encoding="utf-8", closefd=False)
    sys.stdout = open(1, "w", encoding="utf-8", closefd=False)
    sys.stderr = open(2, "w", encoding="utf-8", errors="backslashreplace", closefd=False, buffering=1)
    from autograder.grading import worker

    return worker.main()


def serve(fd: int) -> None:
    from autograder.grading import worker  # noqa: F401  (the point of the server: imported before any fork)

    channel = socket.socket(fileno=fd)
    running: dict[int, tuple[str, int]] = {}      # pidfd -> (job id, pid)
    channel.send(b"READY")
    while True:
        readable, _, _ = select.select([channel, *running], [], [])
        for ready in readable:
            if ready is channel:
                message, fds, _, _ = socket.recv_fds(channel, _MESSAGE, 3)
                if not message:                   # the grader is gone: so are its workers
                    for _, pid in running.values():
                        with contextlib.suppress(ProcessLookupError, PermissionError):
                            os.killpg(pid, signal.SIGKILL)
                    return
                command, job, spec = message.decode().split(" ", 2)
                if command != "RUN" or len(fds) != 3:
                    for extra in fds:
                        os.close(extra)
                    continue
                pid = os.fork()
                if pid == 0:
                    code = 1
                    try:
                        code = _fork_job(json.loads(spec), fds)
                    except BaseException:
                        import traceback
                        traceback.print_exc()
                    finally:
                        with contextlib.suppress(Exception):
                            sys.stdout.flush()
                            sys.stderr.flush()
                        os._exit(code)
                for extra in fds:
                    os.close(extra)
                running[os.pidfd_open(pid)] = (job, pid)
                channel.send(f"PID {job} {pid}".encode())
            else:
                job, pid = running.pop(ready)
                os.close(ready)
                _, status = os.waitpid(pid, 0)
                channel.send(f"EXIT {job} {status}".encode())


# ---- the grader's side ------------------------------------------------------------------------

class WorkerStartError(OSError):
    """The fork server could not start a worker (it would not start, or died)."""


@dataclass
class ForkedWorker:
    """One worker forked by the server: its pid (and session), its stdin and stdout, its exit status."""

    job: str
    stdin: object                       # a binary file the grader writes the job (and GO) to
    stdout: int                         # the fd the grader reads READY, DONE and the answer from
    pid: int = 0
    status: int | None = None           # as Popen's returncode: negative for a signal
    started: threading.Event = field(default_factory=threading.Event)
    ended: threading.Event = field(default_factory=threading.Event)

    def kill(self) -> None:
        if self.pid:
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.killpg(self.pid, signal.SIGKILL)

    def wait(self, timeout: float) -> int | None:
        """The exit status, or None when it did not end in `timeout` (or the server died)."""
        self.ended.wait(timeout)
        return self.status

    def close(self) -> None:
        with contextlib.suppress(OSError):
            self.stdin.close()
        with contextlib.suppress(OSError):
            os.close(self.stdout)


class WorkerServer:
    """The grading process's fork server: started on first use, restarted if it died. A reader
    thread hands each PID / EXIT message to the worker waiting for it."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._proc: subprocess.Popen | None = None
        self._channel: socket.socket | None = None
        self._jobs: dict[str, ForkedWorker] = {}
        self._count = 0

    def _start(self, env: Mapping[str, str]) -> None:
        ours, theirs = socket.socketpair(socket.AF_UNIX, socket.SOCK_SEQPACKET)
        home = Path(tempfile.mkdtemp(prefix="autograder-workers-"))
        try:
            proc = subprocess.Popen([sys.executable, "-I", "-m", "autograder.grading.worker_server",
                                     str(theirs.fileno())], pass_fds=(theirs.fileno(),), stdin=subprocess.DEVNULL,
                                    stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, cwd=str(home),
                                    env={**env, "HOME": str(home)}, start_new_session=True)
        finally:
            theirs.close()
        ours.settimeout(60)
        try:
            hello = ours.recv(_MESSAGE)
        except OSError:
            hello = b""
        ours.settimeout(None)
        if hello != b"READY":
            proc.kill()
            proc.wait()
            ours.close()
            raise WorkerStartError("the grading workers' fork server did not start")
        self._proc, self._channel = proc, ours
        threading.Thread(target=self._read, args=(proc, ours), daemon=True, name="worker-server").start()

    def _read(self, proc: subprocess.Popen, channel: socket.socket) -> None:
        while True:
            try:
                message = channel.recv(_MESSAGE)
            except OSError:
                message = b""
            if not message:
                break
            kind, job, value = message.decode().split(" ")
            with self._lock:
                worker = self._jobs.get(job)
                if worker is not None and kind == "EXIT":
                    self._jobs.pop(job)
            if worker is None:
                continue
            if kind == "PID":
                worker.pid = int(value)
                worker.started.set()
            elif kind == "EXIT":
                worker.status = os.waitstatus_to_exitcode(int(value))
                worker.ended.set()
        with self._lock:                  # the server died: every worker still waiting has ended
            for worker in self._jobs.values():
                worker.started.set()
                worker.ended.set()
            self._jobs.clear()
            if self._proc is proc:
                self._proc, self._channel = None, None
        proc.wait()
        channel.close()

    def spawn(self, *, cwd: Path, env: Mapping[str, str], cgroups: tuple[str, ...], stderr) -> ForkedWorker:
        """Fork a worker with cwd `cwd`, exactly the environment `env`, in `cgroups`, with stderr to
        the file `stderr`; its stdin and stdout are pipes held by the returned handle."""
        job_in, grader_out = os.pipe()
        grader_in, job_out = os.pipe()
        spec = json.dumps({"cwd": str(cwd), "env": dict(env), "cgroups": list(cgroups)})
        with self._lock:
            self._count += 1
            worker = ForkedWorker(job=str(self._count), stdin=os.fdopen(grader_out, "wb", buffering=0),
                                  stdout=grader_in)
            try:
                if self._proc is None or self._proc.poll() is not None:
                    self._start(env)
                self._jobs[worker.job] = worker
                socket.send_fds(self._channel, [f"RUN {worker.job} {spec}".encode()],
                                [job_in, job_out, stderr.fileno()])
            except OSError as exc:
                self._jobs.pop(worker.job, None)
                worker.close()
                raise WorkerStartError(str(exc) or "the grading workers' fork server is gone") from exc
            finally:
                os.close(job_in)
                os.close(job_out)
        if not worker.started.wait(60) or not worker.pid:
            worker.close()
            raise WorkerStartError("the grading workers' fork server did not fork a worker")
        return worker


WORKERS = WorkerServer()


if __name__ == "__main__":
    serve(int(sys.argv[1]))
