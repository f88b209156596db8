"""The DCGAN of the ICR paper (Schäfer, Zheng & Anandkumar 2020, "Implicit competitive regularization in GANs", App.
Tables 4-5), for 32x32 images.

At ``width = d`` the generator's channels are 4d -> 2d -> d -> image channels and the
discriminator's d -> 2d -> 4d; the paper's tables are ``width = 64`` (256 / 128 / 64).
Transposed and plain convolutions are 4x4 with stride 2 and padding 1, so each doubles or
halves the side: 4 -> 8 -> 16 -> 32.
"""

from __future__ import annotations

import torch
from torch import Tensor, nn


class DCGANGenerator(nn.Module):
    """Table 4: z -> Linear, BN, ReLU (4d x 4 x 4) -> 2 x [ConvT, BN, ReLU] -> ConvT, Tanh."""

    def __init__(self, width: int = 64, latent_dim: int = 128, channels: int = 3) -> None:
        super().__init__()
        self.width, self.latent_dim = width, latent_dim
        self.project = nn.Sequential(
            nn.Linear(latent_dim, 4 * width * 4 * 4), nn.BatchNorm1d(4 * width * 4 * 4), nn.ReLU()
        )
        self.upsample = nn.Sequential(
            nn.ConvTranspose2d(4 * width, 2 * width, 4, stride=2, padding=1),
            nn.BatchNorm2d(2 * width),
            nn.ReLU(),
            nn.ConvTranspose2d(2 * width, width, 4, stride=2, padding=1),
            nn.BatchNorm2d(width),
            nn.ReLU(),
            nn.ConvTranspose2d(width, channels, 4, stride=2, padding=1),
            nn.Tanh(),
        )

    def forward(self, z: Tensor) -> Tensor:
        return self.upsample(self.project(z).view(z.shape[0], 4 * self.width, 4, 4))


class DCGANDiscriminator(nn.Module):
    """Table 5: 3 x [Conv, LeakyReLU(slope)] (d, 2d, 4d channels) -> Linear to one logit/critic value
    (the paper gives no slope; 0.2 by default, the authors' code 0.01)."""

    def __init__(self, width: int = 64, channels: int = 3, slope: float = 0.2) -> None:
        super().__init__()
        self.features = nn.Sequential(
            nn.Conv2d(channels, width, 4, stride=2, padding=1),
            nn.LeakyReLU(slope),
            nn.Conv2d(width, 2 * width, 4, stride=2, padding=1),
            nn.LeakyReLU(slope),
            nn.Conv2d(2 * width, 4 * width, 4, stride=2, padding=1),
            nn.LeakyReLU(slope),
        )
        self.head = nn.Linear(4 * width * 4 * 4, 1)

    def forward(self, x: Tensor) -> Tensor:
        return self.head(torch.flatten(self.features(x), 1)).squeeze(1)
