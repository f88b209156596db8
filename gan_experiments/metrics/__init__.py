"""Metrics: mode coverage for 2D mixtures, nearest-neighbour distances for any 2D data."""

from .distances import nearest_neighbour_distances
from .modes import generator_mode_histograms, mode_statistics

__all__ = ["mode_statistics", "generator_mode_histograms", "nearest_neighbour_distances"]
