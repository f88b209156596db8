"""The 2D benchmarks: Gaussian mixtures on a ring, a grid and a circle, and the Swiss roll.

Defaults follow published code (docs/experiments.md, "Data settings and metric definitions"): the
8-Gaussian ring of radius 1 and std 0.01
(PacGAN's `2DRing` config reproducing VEEGAN; the Stackelberg GAN official code), the
25-Gaussian grid {-4, -2, 0, 2, 4}^2 with std 0.05 (PacGAN's `2DGrid`), 10 Gaussians on a
circle of radius 1 with std 0.01, and scikit-learn's Swiss roll with coordinates (x, z) / 7.5
and noise 0.25. Modes are equally weighted. Centres are at angles 2 pi k / K (k = 0..K-1), so
no two coincide (the Unrolled GAN notebook's linspace(0, 2 pi, 8) puts two on one spot).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch
from torch import Tensor


@dataclass(frozen=True)
class GaussianMixture:
    """Equally weighted isotropic Gaussians in the plane: ``centres`` (K x 2) and one ``std``."""

    centres: Tensor
    std: float

    @property
    def modes(self) -> int:
        return self.centres.shape[0]

    def sample(self, n: int, generator: torch.Generator | None = None) -> Tensor:
        """``n`` points: a uniformly drawn mode plus ``std`` times standard normal noise."""
        which = torch.randint(0, self.modes, (n,), generator=generator)
        return self.centres[which] + self.std * torch.randn(n, 2, generator=generator, dtype=self.centres.dtype)


def ring(modes: int = 8, radius: float = 1.0, std: float = 0.01) -> GaussianMixture:
    """``modes`` Gaussians at angles 2 pi k / modes on a circle of ``radius``."""
    angles = torch.arange(modes, dtype=torch.float64) * (2 * math.pi / modes)
    return GaussianMixture(radius * torch.stack([angles.cos(), angles.sin()], dim=1).float(), std)


def circle(modes: int = 10, radius: float = 1.0, std: float = 0.01) -> GaussianMixture:
    """The 10-Gaussian circle of the SGAN toy experiments (a ring with 10 modes)."""
    return ring(modes, radius, std)


def grid(values: tuple[float, ...] = (-4.0, -2.0, 0.0, 2.0, 4.0), std: float = 0.05) -> GaussianMixture:
    """Gaussians on the grid ``values`` x ``values`` (25 by default)."""
    axis = torch.tensor(values, dtype=torch.float32)
    xs, ys = torch.meshgrid(axis, axis, indexing="ij")
    return GaussianMixture(torch.stack([xs.reshape(-1), ys.reshape(-1)], dim=1), std)


def swiss_roll(n: int, noise: float = 0.25, scale: float = 7.5, seed: int = 0) -> Tensor:
    """scikit-learn's ``make_swiss_roll``: the (x, z) coordinates divided by ``scale``."""
    from sklearn.datasets import make_swiss_roll

    points, _ = make_swiss_roll(n_samples=n, noise=noise, random_state=seed)
    return torch.from_numpy(points[:, [0, 2]] / scale).float()
