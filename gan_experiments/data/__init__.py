"""Data sets: the 2D benchmarks (mixtures.py), image data from torchvision's folders or the
bundled MNIST subset (images.py), and Stacked MNIST built from either (stacked.py)."""

from .mixtures import GaussianMixture, circle, grid, ring, swiss_roll

__all__ = ["GaussianMixture", "ring", "grid", "circle", "swiss_roll"]
