"""Data layer: verified downloads over a real loopback HTTP server, parsers of real files, splits."""
from __future__ import annotations

import functools
import hashlib
import http.server
import socket
import threading
from pathlib import Path

import pytest
from conftest import SHARED_DATA

from autograder.data import grading_data, sources, write_training_files
from autograder.data.download import fetch
from autograder.data.registry import REGISTRY
from autograder.data.sources import DataError

needs_shared = pytest.mark.skipif(not SHARED_DATA.is_dir(), reason=f"{SHARED_DATA} is absent on this machine")


@pytest.fixture
def http_root(tmp_path: Path):
    """A real HTTP server on 127.0.0.1 serving a folder; yields (folder, base_url)."""
    root = tmp_path / "www"
    root.mkdir()
    handler = functools.partial(http.server.SimpleHTTPRequestHandler, directory=str(root))
    handler.log_message = lambda *a, **k: None
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield root, f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()


@needs_shared
def test_download_verifies_the_canonical_hash(http_root, tmp_path: Path) -> None:
    root, url = http_root
    original = SHARED_DATA / "tiny_shakespeare" / "input.txt"
    (root / "shakespeare.txt").write_bytes(original.read_bytes())
    spec = REGISTRY["shakespeare"]
    assert hashlib.sha256(original.read_bytes()).hexdigest() == spec.sha256
    cache = tmp_path / "cache"
    path = fetch(spec, cache=cache, mirror_url=url)
    assert path.read_bytes() == original.read_bytes()
    (root / "shakespeare.txt").unlink()                 # second call is served from the cache
    assert fetch(spec, cache=cache, mirror_url=url) == path
    assert [p.name for p in cache.iterdir()] == ["shakespeare.txt"]   # no temporary files left


@needs_shared
def test_wrong_hash_and_truncation_are_refused(http_root, tmp_path: Path) -> None:
    root, url = http_root
    data = (SHARED_DATA / "tiny_shakespeare" / "input.txt").read_bytes()
    spec = REGISTRY["shakespeare"]
    (root / "shakespeare.txt").write_bytes(data[:-1] + b"?")         # same size, different bytes
    with pytest.raises(DataError, match="shakespeare.*sha256"):
        fetch(spec, cache=tmp_path / "c1", mirror_url=url)
    (root / "shakespeare.txt").write_bytes(data[:1000])              # truncated
    with pytest.raises(DataError, match="shakespeare.*truncated"):
        fetch(spec, cache=tmp_path / "c2", mirror_url=url)
    assert not any((tmp_path / "c1").iterdir()) and not any((tmp_path / "c2").iterdir())


def test_missing_network_names_the_dataset(tmp_path: Path) -> None:
    with socket.socket() as s:              # a port with nothing listening
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    with pytest.raises(DataError, match="shakespeare: could not download.*mirror_url"):
        fetch(REGISTRY["shakespeare"], cache=tmp_path / "c", mirror_url=f"http://127.0.0.1:{port}")


def test_corrupt_cached_file_is_reported(tmp_path: Path) -> None:
    (tmp_path / "shakespeare.txt").write_text("not it")
    with pytest.raises(DataError, match="Delete it"):
        fetch(REGISTRY["shakespeare"], cache=tmp_path)


@needs_shared
def test_parsers_read_the_real_files() -> None:
    sample = sources.read_imdb_sample(SHARED_DATA / "imdb_sample" / "texts.csv")
    assert len(sample) == 1000 and sum(v for _, _, v in sample) == 200
    assert sum(y for _, y, valid in sample if not valid) == 383
    uci = sources.read_uci_sentences(SHARED_DATA / "sentiment_labelled_sentences" / "imdb_labelled.txt")
    assert len(uci) == 1000 and sum(y for _, y in uci) == 500
    beijing = sources.read_beijing(SHARED_DATA / "beijing_pm25" / "PRSA_data_2010.1.1-2014.12.31.csv")
    assert beijing.shape == (43824,) and -25 < beijing.min() < beijing.max() < 45


def test_embedded_splits_are_deterministic_and_disjoint() -> None:
    sentiment = grading_data("sentiment", source="embedded", cache="unused")
    assert sentiment.sizes == {"train": 8000, "heldout": 2000}
    assert not {t for t, _ in sentiment.train} & {t for t, _ in sentiment.heldout}
    assert sum(y for _, y in sentiment.heldout) == 1000
    text = grading_data("text", source="embedded", cache="unused")
    assert "PROSPERO:" in text.heldout and "PROSPERO:" not in text.train
    weather = grading_data("weather", source="embedded", cache="unused")
    assert weather.sizes == {"train": 7007, "heldout": 1752}
    assert "sha256=" in weather.describe() and "seattle-temps" in weather.source


def test_only_the_training_part_reaches_the_workspace(tmp_path: Path) -> None:
    split = grading_data("sentiment", source="embedded", cache="unused")
    path = write_training_files(split, tmp_path)
    written = path.read_text(encoding="utf-8")
    assert split.train[0][0] in written
    assert not any(text in written for text, _ in split.heldout[:200])


def test_missing_offline_package_is_a_clear_error() -> None:
    with pytest.raises(DataError, match="not installed"):
        sources.package_file("no_such_package_xyz", "x.csv", install_hint="pip install it")
