"""Read files a graded kernel wrote, without following anything the kernel planted.

A workspace belongs to the student's code while it runs: any name in it may have become a symlink
(into a path the sandbox hides, which the grader, running as root, could read), a FIFO (which
blocks a reader forever) or a device. Every read here walks from the workspace folder one name at
a time with `O_NOFOLLOW` (a symlink anywhere on the way fails), opens with `O_NONBLOCK` (a FIFO
cannot block), checks with `fstat` that the file is a regular file and no larger than the limit,
and only then reads it, from the same file descriptor.
"""
from __future__ import annotations

import errno
import os
import stat
from pathlib import Path, PurePosixPath


class UnsafeFile(Exception):
    """A workspace file the grader refuses to read; the message says why, in one line."""


def _kind(mode: int) -> str:
    for test, name in ((stat.S_ISLNK, "a symbolic link"), (stat.S_ISFIFO, "a FIFO"), (stat.S_ISCHR, "a device"),
                       (stat.S_ISBLK, "a device"), (stat.S_ISSOCK, "a socket"), (stat.S_ISDIR, "a folder")):
        if test(mode):
            return name
    return "not a regular file"


def read_bytes(workdir: Path, relative: str, *, max_bytes: int) -> bytes:
    """The bytes of `workdir/relative`. Raises FileNotFoundError when it does not exist, and
    UnsafeFile when any part of the path is a symlink, or the file is not regular or too large."""
    parts = PurePosixPath(relative).parts
    if not parts or any(p in ("", ".", "..") or "/" in p for p in parts):
        raise UnsafeFile(f"{relative}: not a plain relative path")
    flags_dir = os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW | os.O_CLOEXEC
    fds = [os.open(workdir, flags_dir)]
    try:
        for i, part in enumerate(parts):
            last = i == len(parts) - 1
            flags = (os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK | os.O_CLOEXEC) if last else flags_dir
            try:
                fds.append(os.open(part, flags, dir_fd=fds[-1]))
            except OSError as exc:
                if exc.errno == errno.ENOENT:
                    raise FileNotFoundError(relative) from None
                if exc.errno in (errno.ELOOP, errno.ENOTDIR, errno.EMLINK):
                    where = "/".join(parts[: i + 1])
                    try:
                        mode = os.lstat(part, dir_fd=fds[-1]).st_mode
                        what = _kind(mode)
                    except OSError:
                        what = "not a plain folder or file"
                    raise UnsafeFile(f"{where} is {what}; the grader reads only regular files it does not "
                                     f"have to follow") from None
                raise UnsafeFile(f"{relative} could not be opened ({exc.strerror})") from None
        info = os.fstat(fds[-1])
        if not stat.S_ISREG(info.st_mode):
            raise UnsafeFile(f"{relative} is {_kind(info.st_mode)}; the grader reads only regular files")
        if info.st_size > max_bytes:
            raise UnsafeFile(f"{relative} has {info.st_size / 1e6:.1f} MB; the limit is {max_bytes / 1e6:.1f} MB")
        chunks, left = [], max_bytes + 1
        while left > 0:
            chunk = os.read(fds[-1], min(left, 1 << 20))
            if not chunk:
                break
            chunks.append(chunk)
            left -= len(chunk)
        data = b"".join(chunks)
        if len(data) > max_bytes:
            raise UnsafeFile(f"{relative} grew past {max_bytes / 1e6:.1f} MB while it was read")
        return data
    finally:
        for fd in reversed(fds):
            os.close(fd)


def copy_out(workdir: Path, relative: str, target: Path, *, max_bytes: int) -> Path:
    """Copy `workdir/relative` (read as `read_bytes` does) to `target`, a path the kernel cannot reach."""
    data = read_bytes(workdir, relative, max_bytes=max_bytes)
    fd = os.open(target, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW | os.O_CLOEXEC, 0o600)
    with os.fdopen(fd, "wb") as handle:
        handle.write(data)
    return target
