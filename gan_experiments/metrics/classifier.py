r"""Scores of generated images through a classifier trained on the data set itself, as pure
functions of its outputs (Chavdarova & Fleuret 2018, "SGAN: an alternative training of generative
adversarial networks", CVPR, Sec. 4; TF-GAN's ``mnist_score`` / ``mnist_frechet_distance``).

With class probabilities :math:`p(y \mid x_i)` for n samples and the marginal
:math:`p(y) = \frac1n \sum_i p(y \mid x_i)`:

- inception score :math:`\exp\big(\frac1n \sum_i \mathrm{KL}(p(y \mid x_i) \,\|\, p(y))\big)`
  (Salimans et al. 2016), between 1 and the number of classes K;
- the predicted-class histogram :math:`h` (argmax counts, normalised), its entropy
  :math:`-\sum_k h_k \log h_k` (log K when uniform), its total variation to uniform
  :math:`\frac12 \sum_k |h_k - \frac1K|` (0 when uniform, :math:`1 - \frac1K` for one class), and
  the classes covered (how many have at least one sample);
- the Frechet distance between Gaussians fitted to two sets of features,
  :math:`\|\mu_1 - \mu_2\|^2 + \mathrm{tr}(\Sigma_1 + \Sigma_2 - 2 (\Sigma_1 \Sigma_2)^{1/2})`
  (Heusel et al. 2017), computed on the classifier's penultimate features.
"""

from __future__ import annotations

import math

import torch
from torch import Tensor


def inception_score(probabilities: Tensor) -> float:
    """exp of the mean KL divergence of p(y|x) to the marginal p(y); ``probabilities`` is (n, K)."""
    p = probabilities.double()
    marginal = p.mean(dim=0, keepdim=True)
    kl = (p * (torch.log(p.clamp_min(1e-300)) - torch.log(marginal.clamp_min(1e-300)))).sum(dim=1)
    return float(torch.exp(kl.mean()))


def class_histogram(predicted: Tensor, classes: int) -> Tensor:
    """Share of the samples predicted as each class (sums to 1)."""
    counts = torch.bincount(predicted.reshape(-1).long(), minlength=classes).double()
    return counts / counts.sum()


def histogram_entropy(histogram: Tensor) -> float:
    """:math:`-\\sum_k h_k \\log h_k` (natural log; empty classes contribute 0)."""
    nonzero = histogram[histogram > 0].double()
    return float(-(nonzero * nonzero.log()).sum())


def total_variation_to_uniform(histogram: Tensor) -> float:
    """:math:`\\frac12 \\sum_k |h_k - 1/K|`."""
    return float(0.5 * (histogram.double() - 1.0 / histogram.numel()).abs().sum())


def classes_covered(histogram: Tensor) -> int:
    """Classes with at least one sample."""
    return int((histogram > 0).sum())


def _sqrtm_psd(matrix: Tensor) -> Tensor:
    values, vectors = torch.linalg.eigh((matrix + matrix.T) / 2)
    return (vectors * values.clamp_min(0).sqrt()) @ vectors.T


def frechet_distance(mean1: Tensor, cov1: Tensor, mean2: Tensor, cov2: Tensor) -> float:
    r""":math:`\|\mu_1 - \mu_2\|^2 + \mathrm{tr}(\Sigma_1 + \Sigma_2 - 2(\Sigma_1\Sigma_2)^{1/2})`.

    The trace of :math:`(\Sigma_1 \Sigma_2)^{1/2}` is taken as that of the symmetric
    :math:`(\Sigma_1^{1/2} \Sigma_2 \Sigma_1^{1/2})^{1/2}`, which has the same eigenvalues.
    """
    mean1, mean2, cov1, cov2 = (t.double() for t in (mean1, mean2, cov1, cov2))
    root1 = _sqrtm_psd(cov1)
    cross = _sqrtm_psd(root1 @ cov2 @ root1)
    return float((mean1 - mean2).pow(2).sum() + torch.trace(cov1) + torch.trace(cov2) - 2 * torch.trace(cross))


def feature_statistics(features: Tensor) -> tuple[Tensor, Tensor]:
    """Mean and (unbiased) covariance of (n, d) features, in float64."""
    features = features.double()
    return features.mean(dim=0), torch.cov(features.T)


def frechet_feature_distance(features1: Tensor, features2: Tensor) -> float:
    """Frechet distance between Gaussians fitted to two (n, d) feature sets."""
    return frechet_distance(*feature_statistics(features1), *feature_statistics(features2))


def class_scores(probabilities: Tensor) -> dict:
    """Inception score, entropy and total variation of the predicted-class histogram, classes covered."""
    histogram = class_histogram(probabilities.argmax(dim=1), probabilities.shape[1])
    return {
        "inception_score": inception_score(probabilities),
        "class_entropy": histogram_entropy(histogram),
        "total_variation": total_variation_to_uniform(histogram),
        "classes_covered": classes_covered(histogram),
        "max_entropy": math.log(probabilities.shape[1]),
    }


def stacked_mode_scores(modes: Tensor, total_modes: int = 1000) -> dict:
    r"""Stacked MNIST's scores from each sample's predicted mode (digit triple, channel by
    channel): modes covered (of 1,000) and :math:`\mathrm{KL}(h \,\|\, U_{1000})` of the mode
    histogram h, :math:`\log 1000 - H(h)` (VEEGAN, PacGAN)."""
    histogram = class_histogram(modes, total_modes)
    return {
        "modes_covered": classes_covered(histogram),
        "kl_to_uniform": math.log(total_modes) - histogram_entropy(histogram),
    }
