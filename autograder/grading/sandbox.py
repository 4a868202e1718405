"""Run one notebook's execution in a sandbox: its own process, namespaces, user and limits.

With `sandbox.isolation = "namespaces"` (the default) the worker (`autograder.grading.worker`) and the
kernel it starts run inside new network, mount and PID namespaces:
- network: only a private loopback (brought up so the kernel can talk to its client); the
  host's network and loopback services are unreachable;
- mounts: `solutions/`, `source/`, the gradebook, `autograded/`, `feedback/`, `submitted/`,
  the batch being graded and the workspaces of other submissions graded at the same time are
  covered by empty mounts, and /dev/shm is a private tmpfs;
- PID: the kernel cannot see or signal the grader's processes, and everything it started dies
  with the worker;
- filesystems: everything is remounted read-only except the workspace (HOME and TMPDIR are in it);
- user: when the grader runs as root, the worker drops to `nobody` (uid 65534) if that user
  can reach the Python interpreter; otherwise it stays uid 0 with every capability dropped, so
  it cannot undo the mounts;
- cgroups (as root): a `pids` cgroup bounds the processes of the whole sandbox (fork bombs) and
  a `memory` cgroup its total memory; leftovers are killed when the notebook is done;
- limits (all from grader_config.py): address space, file size, process count, output size.
Where namespaces are unavailable, `sandbox.when_unavailable` decides: "refuse" stops the
batch with an error; "warn" grades without isolation and notes that on every result.
"""
from __future__ import annotations

import contextlib
import functools
import json
import os
import shutil
import stat
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Iterable, Mapping

import nbformat
from nbformat import NotebookNode

from autograder.config import GraderConfig
from autograder.errors import AutograderError
from autograder.grading.execute import Execution

NOBODY = 65534
UNISOLATED_NOTE = "WARNING: graded without a sandbox (no network/mount/PID isolation available)"
_GRACE_S = 60


@dataclass(frozen=True)
class Isolation:
    available: bool
    as_root: bool
    reason: str = ""


def _unshare_prefix(as_root: bool) -> list[str]:
    prefix = ["unshare", "--net", "--mount", "--pid", "--fork", "--kill-child", "--mount-proc"]
    return prefix if as_root else prefix + ["--map-root-user"]


@functools.lru_cache(maxsize=1)
def probe_isolation() -> Isolation:
    """Can this machine create the namespaces? (Tried once per process.)"""
    as_root = os.geteuid() == 0
    if not shutil.which("unshare") or not shutil.which("ip"):
        return Isolation(False, as_root, "the unshare or ip command is missing")
    try:
        done = subprocess.run(_unshare_prefix(as_root) + ["sh", "-c", "ip link set lo up"],
                              capture_output=True, text=True, timeout=20)
    except (OSError, subprocess.TimeoutExpired) as exc:
        return Isolation(False, as_root, str(exc))
    if done.returncode != 0:
        return Isolation(False, as_root, done.stderr.strip() or f"unshare exited with {done.returncode}")
    return Isolation(True, as_root)


def check_policy(config: GraderConfig) -> str:
    """"" when execution will be isolated; a warning note when it will not (or raise when refused)."""
    Cgroups.sweep()
    if config.sandbox.isolation == "off":
        return UNISOLATED_NOTE + " (sandbox.isolation is 'off')"
    iso = probe_isolation()
    if iso.available:
        return ""
    if config.sandbox.when_unavailable == "refuse":
        raise AutograderError(f"Cannot isolate student code on this machine ({iso.reason}); "
                              f"grader_config.py sets sandbox.when_unavailable = 'refuse'.")
    return f"{UNISOLATED_NOTE}: {iso.reason}"


def hidden_paths(config: GraderConfig, extra: Iterable[Path] = ()) -> list[Path]:
    """Paths the student's code must not see: reference code, source, grades, other submissions."""
    root = config.course_root
    candidates = [root / n for n in ("solutions", "source", "autograded", "feedback", "submitted", ".demo")]
    gradebook = config.gradebook_path
    if gradebook is not None:
        candidates += [gradebook, gradebook.with_name(gradebook.name + "-journal")]
    candidates += [Path(p) for p in extra]
    needed = [(root / ".autograder-work").resolve(), Path(sys.prefix).resolve(), Path(sys.executable).resolve()]
    seen, out = set(), []
    for path in candidates:
        path = path.resolve()
        if any(n == path or path in n.parents for n in needed):
            continue     # never hide the workspaces or the interpreter the kernel runs on
        if path.exists() and path not in seen:
            seen.add(path)
            out.append(path)
    # A path inside another hidden folder is covered already; mounting onto it would fail,
    # because once the folder is covered the path no longer exists there.
    return [p for p in out if not any(q in p.parents for q in out)]


def workspace_root(config: GraderConfig) -> Path:
    root = config.course_root / ".autograder-work"
    root.mkdir(exist_ok=True)
    root.chmod(0o755)
    return root


def _script(hide: list[Path], empty: Path, workdir: Path, drop_to_nobody: bool, as_root: bool) -> str:
    """Shell run inside the new namespaces, before the worker: loopback up; other workspaces,
    secrets and the batch covered; every filesystem read-only except this workspace (TMPDIR
    points into it); then the worker as an unprivileged user (or, where the interpreter is not
    reachable for one, as root without any capability, so the mounts cannot be undone)."""
    ws, ws_root = str(workdir), str(workdir.parent)
    lines = [
        "set -e",
        "ip link set lo up",
        "mount -t tmpfs -o size=256m,mode=1777 tmpfs /dev/shm",
        # keep this workspace, hide its siblings (other students graded at the same time)
        "mkdir /dev/shm/.ws",
        f"mount --bind '{ws}' /dev/shm/.ws",
        f"mount -t tmpfs -o size=1m,mode=755 tmpfs '{ws_root}'",
        f"mkdir '{ws}'",
        f"mount --move /dev/shm/.ws '{ws}'",
    ]
    for path in hide:
        source = "/dev/null" if path.is_file() else str(empty)
        lines.append(f"mount --bind {source} '{path}'")
    lines.append("awk '{print $5}' /proc/self/mountinfo | while read -r m; do case \"$m\" in "
                 f"/proc*|/sys*|/dev*|'{ws}') ;; *) mount -o remount,bind,ro \"$m\" 2>/dev/null || true;; esac; done")
    if drop_to_nobody:
        runner = f"setpriv --reuid={NOBODY} --regid={NOBODY} --clear-groups -- "
    elif as_root:
        runner = "setpriv --inh-caps=-all --ambient-caps=-all --bounding-set=-all -- "
    else:
        runner = ""
    lines.append(f'exec {runner}"$@"')
    return "\n".join(lines)


def _world_reachable(path: Path) -> bool:
    """Every folder above `path` is world-executable and `path` itself world-readable/executable."""
    path = path.resolve()
    mode = path.stat().st_mode
    if not (mode & stat.S_IROTH and (path.is_file() or mode & stat.S_IXOTH)):
        return False
    return all(parent.stat().st_mode & stat.S_IXOTH for parent in path.parents)


@functools.lru_cache(maxsize=1)
def nobody_can_run_python() -> bool:
    """Can uid 65534 run this interpreter and read its libraries? (Not when it lives under a
    private /root, as pyenv installs do.) Decided from file modes, without starting a process."""
    if os.geteuid() != 0 or not shutil.which("setpriv"):
        return False
    try:
        return all(_world_reachable(Path(p)) for p in
                   (sys.executable, sys.prefix, sys.base_prefix, Path(os.__file__).parent, Path(json.__file__).parent))
    except OSError:
        return False


CGROUP_V1 = Path("/sys/fs/cgroup")


class Cgroups:
    """Per-run cgroups (v1 `pids` and `memory`, where the grader may create them): a ceiling on
    processes and memory for the whole sandbox, whatever user it runs as. `join_command` is
    the shell line that moves the sandbox into them before anything else starts."""

    def __init__(self, name: str, *, max_processes: int, memory_mb: int):
        self.paths: list[Path] = []
        if os.geteuid() != 0:
            return
        for controller, settings in (("pids", {"pids.max": str(max_processes)}),
                                     ("memory", {"memory.limit_in_bytes": str(memory_mb * 2**20)})):
            path = CGROUP_V1 / controller / name
            try:
                path.mkdir()
                for key, value in settings.items():
                    (path / key).write_text(value)
            except OSError:      # no such controller, or not allowed here: rlimits still apply
                with contextlib.suppress(OSError):
                    path.rmdir()
                continue
            self.paths.append(path)

    @staticmethod
    def sweep(min_age_s: float = 3600) -> None:
        """Remove empty cgroups left by a grader that was killed: they hold no process and are
        older than any notebook run, so a sandbox that is just being set up is never touched."""
        now = time.time()
        for path in CGROUP_V1.glob("*/autograder-*"):
            with contextlib.suppress(OSError):
                if now - path.stat().st_mtime > min_age_s and not (path / "cgroup.procs").read_text().split():
                    path.rmdir()

    def join_command(self) -> str:
        return "; ".join(f"echo $$ > {p}/cgroup.procs" for p in self.paths)

    def close(self) -> None:
        """Kill anything left in the cgroups (a fork bomb's children), then remove them."""
        for path in self.paths:
            for _ in range(50):
                try:
                    pids = [int(x) for x in (path / "cgroup.procs").read_text().split()]
                except OSError:
                    break
                if not pids:
                    break
                for pid in pids:
                    try:
                        os.kill(pid, 9)
                    except ProcessLookupError:
                        pass
                time.sleep(0.05)
            with contextlib.suppress(OSError):
                path.rmdir()


def _give_to_nobody(workdir: Path) -> None:
    for folder, _dirs, files in os.walk(workdir):
        os.chown(folder, NOBODY, NOBODY)
        for name in files:
            os.chown(os.path.join(folder, name), NOBODY, NOBODY, follow_symlinks=False)


def execute(nb: NotebookNode, *, workdir: Path, env: Mapping[str, str], config: GraderConfig,
            hide: list[Path], isolated: bool) -> tuple[NotebookNode, Execution]:
    """Execute `nb` with cwd `workdir` in a worker process (sandboxed when `isolated`)."""
    t, s = config.timeouts, config.sandbox
    job = {"notebook": nb, "workdir": str(workdir), "env": dict(env),
           "timeouts": {"cell_s": t.cell_s, "cells": dict(t.cells), "notebook_s": t.notebook_s,
                        "kernel_start_s": t.kernel_start_s},
           "limits": {"memory_mb": s.memory_mb, "max_file_mb": s.max_file_mb, "cpu_s": s.cpu_s,
                      "max_processes": s.max_processes, "max_output_kb": s.max_output_kb}}
    worker = [sys.executable, "-m", "autograder.grading.worker"]
    with tempfile.TemporaryDirectory(prefix="autograder-empty-") as empty:
        os.chmod(empty, 0o755)
        cgroups = Cgroups(f"autograder-{workdir.name}", max_processes=s.max_processes, memory_mb=s.memory_mb)
        if isolated:
            iso = probe_isolation()
            drop = iso.as_root and nobody_can_run_python()
            if drop:
                _give_to_nobody(workdir)
            script = _script(hide, Path(empty), workdir, drop, iso.as_root)
            command = _unshare_prefix(iso.as_root) + ["sh", "-c", script, "sandbox", *worker]
        else:
            command = worker
        if cgroups.paths:
            command = ["sh", "-c", cgroups.join_command() + '; exec "$@"', "cgroup", *command]
        deadline = t.notebook_s + t.kernel_start_s + _GRACE_S
        try:
            done = subprocess.run(command, input=json.dumps(job), capture_output=True, text=True,
                                  timeout=deadline, cwd=str(workdir), start_new_session=True,
                                  env={**os.environ, "PYTHONDONTWRITEBYTECODE": "1"})
        except subprocess.TimeoutExpired:
            return nb, Execution(outcomes={}, runtime_s=deadline,
                                 stopped=f"the grading worker did not finish within {deadline:.0f} s")
        finally:
            cgroups.close()
    try:
        answer = json.loads(done.stdout)
    except json.JSONDecodeError:
        # the first line that names the failure (mount's hint about dmesg comes after it)
        lines = [ln.strip() for ln in (done.stderr or "").splitlines()
                 if ln.strip() and not ln.strip().startswith("dmesg(1)")]
        tail = " / ".join(lines[-2:])[:300] or f"exit status {done.returncode}"
        return nb, Execution(outcomes={}, runtime_s=0.0, stopped=f"the grading worker failed ({tail})")
    return nbformat.from_dict(answer["notebook"]), Execution.from_json(answer["execution"])


@dataclass(frozen=True)
class SandboxPlan:
    """How this batch runs student code: isolated or not, and what to hide from it."""

    isolated: bool
    note: str                      # "" when isolated; otherwise the warning stored with every result
    hide: tuple[Path, ...] = ()
    threads: int = 0               # TensorFlow/BLAS threads per kernel (0: library default)
    slots: threading.Semaphore | None = None   # bounds the kernels running at once across the batch

    @classmethod
    def for_batch(cls, config: GraderConfig, extra_hidden: tuple[Path, ...] = ()) -> "SandboxPlan":
        note = check_policy(config)
        return cls(isolated=not note, note=note, hide=tuple(hidden_paths(config, extra_hidden)))
