"""The datasets the course uses, with where they come from and how to verify them."""
from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class DatasetSpec:
    """A canonical, downloadable file. `sha256=None` means no hash is pinned yet (size is checked)."""

    name: str
    url: str
    filename: str
    size: int
    sha256: str | None
    licence: str
    citation: str


REGISTRY: dict[str, DatasetSpec] = {
    spec.name: spec for spec in (
        DatasetSpec(
            name="imdb",
            url="http://ai.stanford.edu/~amaas/data/sentiment/aclImdb_v1.tar.gz",
            filename="aclImdb_v1.tar.gz", size=84_125_825,
            sha256="c40f74a18d3b61f90feba1e17730e0d38e8b97c05fde7008942e91923d1658fe",
            licence="none stated; cite the paper",
            citation="Maas et al., Learning Word Vectors for Sentiment Analysis, ACL 2011"),
        DatasetSpec(
            name="shakespeare",
            url="https://storage.googleapis.com/download.tensorflow.org/data/shakespeare.txt",
            filename="shakespeare.txt", size=1_115_394,
            sha256="86c4e6aa9db7c042ec79f339dcb96d42b0075e16b8fc2e86bf0ca57e2dc565ed",
            licence="public domain text (char-rnn repository: MIT)",
            citation="Karpathy, char-rnn tiny-shakespeare, 2015"),
        DatasetSpec(
            name="jena_climate",
            url="https://storage.googleapis.com/tensorflow/tf-keras-datasets/jena_climate_2009_2016.csv.zip",
            filename="jena_climate_2009_2016.csv.zip", size=13_568_290, sha256=None,
            licence="Max Planck Institute for Biogeochemistry, free for research and education",
            citation="Jena climate dataset 2009-2016, prepared by F. Chollet"),
    )
}
