"""Data sets: the 2D benchmarks (image data sets come with the images issue)."""

from .mixtures import GaussianMixture, circle, grid, ring, swiss_roll

__all__ = ["GaussianMixture", "ring", "grid", "circle", "swiss_roll"]
