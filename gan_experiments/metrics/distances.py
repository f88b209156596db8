r"""Sample-based distances between generated and real point clouds, for data without modes (the
Swiss roll) and as a second view of the mixtures.

With generated samples :math:`g_1..g_n` and real samples :math:`x_1..x_m`,

.. math::
    d_{g \to x} = \frac1n \sum_i \min_j \|g_i - x_j\|_2 ,\qquad
    d_{x \to g} = \frac1m \sum_j \min_i \|x_j - g_i\|_2 .

:math:`d_{g \to x}` is small when every generated sample lies near the data (quality);
:math:`d_{x \to g}` is small when every part of the data has a generated sample near it
(coverage): a generator that collapses onto one real point has :math:`d_{g \to x} \approx 0` and
a large :math:`d_{x \to g}`. Their sum is the Chamfer distance of the two clouds.
"""

from __future__ import annotations

import torch
from torch import Tensor


def nearest_neighbour_distances(generated: Tensor, real: Tensor) -> dict:
    """``mean_distance_to_real`` (:math:`d_{g \\to x}`) and ``mean_distance_to_generated`` (:math:`d_{x \\to g}`)."""
    if generated.ndim != 2 or real.ndim != 2 or generated.shape[1] != real.shape[1]:
        raise ValueError(f"need two (n, d) point clouds, got {tuple(generated.shape)} and {tuple(real.shape)}")
    distances = torch.cdist(generated.double(), real.double())
    return {
        "mean_distance_to_real": float(distances.min(dim=1).values.mean()),
        "mean_distance_to_generated": float(distances.min(dim=0).values.mean()),
    }
