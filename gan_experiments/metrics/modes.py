r"""Mode coverage of samples from a Gaussian mixture (VEEGAN Sec. 5.1; PacGAN's MetricLogger).

A sample is *high quality* when it lies within ``3 std`` of its nearest mode centre. A mode is
*covered* when at least ``threshold`` high-quality samples are nearest to it: VEEGAN and PacGAN
use a threshold of one sample; the stricter count uses 2 % of the samples. The KL divergence of
the high-quality samples' mode histogram :math:`p` to the uniform distribution over the K modes is

.. math::
    \mathrm{KL}(p \,\|\, U_K) = \sum_k p_k \log (K p_k) = \log K - H(p),

undefined (``None``) when there is no high-quality sample. The papers draw 2,500 samples.
"""

from __future__ import annotations

import math

import torch
from torch import Tensor


def nearest_modes(samples: Tensor, centres: Tensor) -> tuple[Tensor, Tensor]:
    """(index of the nearest centre, distance to it) for each sample."""
    distances = torch.cdist(samples.to(centres.dtype), centres)
    nearest, index = distances.min(dim=1)
    return index, nearest


def mode_statistics(samples: Tensor, centres: Tensor, std: float, *, strict_share: float = 0.02) -> dict:
    """Modes covered (threshold 1 and ``strict_share`` of the samples), % high quality, KL to uniform.

    Returns a dict with ``modes`` (K), ``modes_covered``, ``modes_covered_strict``,
    ``percent_high_quality``, ``kl_to_uniform`` (float or None) and ``histogram`` (high-quality
    samples per mode, a list of ints).
    """
    if samples.ndim != 2 or samples.shape[1] != centres.shape[1]:
        raise ValueError(f"samples must be (n, {centres.shape[1]}), got {tuple(samples.shape)}")
    n, modes = samples.shape[0], centres.shape[0]
    index, distance = nearest_modes(samples, centres)
    high_quality = distance <= 3 * std
    histogram = torch.bincount(index[high_quality], minlength=modes)
    total = int(histogram.sum())
    kl = None
    if total > 0:
        p = histogram.double() / total
        nonzero = p[p > 0]
        kl = float(math.log(modes) + (nonzero * nonzero.log()).sum())
    return {
        "modes": modes,
        "modes_covered": int((histogram >= 1).sum()),
        "modes_covered_strict": int((histogram >= strict_share * n).sum()),
        "percent_high_quality": 100.0 * total / n if n else 0.0,
        "kl_to_uniform": kl,
        "histogram": histogram.tolist(),
    }


def generator_mode_histograms(samples_per_generator: list[Tensor], centres: Tensor, std: float) -> list[list[int]]:
    """For each generator (Stackelberg GAN), its high-quality samples per mode."""
    return [mode_statistics(samples, centres, std)["histogram"] for samples in samples_per_generator]
