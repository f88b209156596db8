"""Data sets: the 2D benchmarks (mixtures.py), image data from torchvision's folders or the
bundled MNIST subset (images.py), Stacked MNIST built from either (stacked.py), and one registry
of data sources (:data:`DATA_SOURCES`, keyed by ``data.name``), each with its sampler, its
evaluation (mode metrics or classifier scores) and its picture (planar.py, image_source.py)."""

from .image_source import ImageSource, StackedMNISTSource
from .mixtures import GaussianMixture, circle, grid, ring, swiss_roll
from .planar import GridSource, MixtureSource, SwissRollSource

DATA_SOURCES = {
    "ring": MixtureSource,
    "grid": GridSource,
    "circle": MixtureSource,
    "swiss_roll": SwissRollSource,
    "mnist": ImageSource,
    "fashion_mnist": ImageSource,
    "cifar10": ImageSource,
    "stacked_mnist": StackedMNISTSource,
}
IMAGE_DATASETS = tuple(name for name, source in DATA_SOURCES.items() if source.images)


def data_source(name: str):
    """The data source class of ``data.name``; build one for a run with ``.from_config(config)``."""
    return DATA_SOURCES[name]


__all__ = [
    "DATA_SOURCES",
    "IMAGE_DATASETS",
    "GaussianMixture",
    "GridSource",
    "ImageSource",
    "MixtureSource",
    "StackedMNISTSource",
    "SwissRollSource",
    "circle",
    "data_source",
    "grid",
    "ring",
    "swiss_roll",
]
