"""Metrics: mode coverage for 2D mixtures (image metrics come with the images issue)."""

from .modes import generator_mode_histograms, mode_statistics

__all__ = ["mode_statistics", "generator_mode_histograms"]
