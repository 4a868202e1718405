"""A verified download cache: atomic writes, sha256 (or size) checks, clear errors.

The cache folder comes from `grader_config.py` (`data.cache_dir`) unless the environment
variable RNN_AUTOGRADER_CACHE is set. `data.mirror_url` replaces the canonical host: the
file is fetched from `<mirror_url>/<filename>` and must still match the pinned hash.
"""
from __future__ import annotations

import hashlib
import os
import tempfile
import urllib.error
import urllib.request
from pathlib import Path

from .registry import DatasetSpec
from .sources import DataError

CACHE_ENV = "RNN_AUTOGRADER_CACHE"
_CHUNK = 1 << 20


def cache_dir(configured: str) -> Path:
    return Path(os.environ.get(CACHE_ENV) or configured).expanduser()


def sha256_of(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(_CHUNK), b""):
            digest.update(block)
    return digest.hexdigest()


def verify(spec: DatasetSpec, path: Path) -> None:
    size = path.stat().st_size
    if size != spec.size:
        raise DataError(f"{spec.name}: {path} has {size:,} bytes, expected {spec.size:,} "
                        f"(truncated or a different file). Delete it and run `autograder data fetch {spec.name}`.")
    if spec.sha256 and sha256_of(path) != spec.sha256:
        raise DataError(f"{spec.name}: {path} does not match the pinned sha256 {spec.sha256[:12]}… "
                        f"(corrupt or tampered). Delete it and run `autograder data fetch {spec.name}`.")


def source_url(spec: DatasetSpec, mirror_url: str = "") -> str:
    return f"{mirror_url.rstrip('/')}/{spec.filename}" if mirror_url else spec.url


def fetch(spec: DatasetSpec, *, cache: Path, mirror_url: str = "", timeout_s: float = 60) -> Path:
    """The verified cached file for `spec`, downloading it first if needed."""
    target = cache / spec.filename
    if target.is_file():
        verify(spec, target)
        return target
    cache.mkdir(parents=True, exist_ok=True)
    url = source_url(spec, mirror_url)
    fd, tmp_name = tempfile.mkstemp(prefix=f".{spec.filename}.", dir=cache)
    tmp = Path(tmp_name)
    try:
        with os.fdopen(fd, "wb") as out, urllib.request.urlopen(url, timeout=timeout_s) as response:
            for block in iter(lambda: response.read(_CHUNK), b""):
                out.write(block)
            out.flush()
            os.fsync(out.fileno())
        verify(spec, tmp)
        tmp.replace(target)
    except (urllib.error.URLError, OSError, TimeoutError) as exc:
        tmp.unlink(missing_ok=True)
        reason = getattr(exc, "reason", exc)
        raise DataError(f"{spec.name}: could not download {url} ({reason}). Check the network, set "
                        f"data.mirror_url in grader_config.py, or copy {spec.filename} into {cache}.") from exc
    except DataError:
        tmp.unlink(missing_ok=True)
        raise
    return target
