"""Metrics: mode coverage for 2D mixtures, nearest-neighbour distances for any 2D data, and
classifier scores (inception score, class histogram entropy / total variation, Frechet distance)."""

from .classifier import class_scores, frechet_distance, frechet_feature_distance, inception_score
from .distances import nearest_neighbour_distances
from .modes import generator_mode_histograms, mode_statistics

__all__ = [
    "class_scores",
    "frechet_distance",
    "frechet_feature_distance",
    "generator_mode_histograms",
    "inception_score",
    "mode_statistics",
    "nearest_neighbour_distances",
]
