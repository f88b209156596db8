"""Stacked MNIST (Metz et al. 2017, Unrolled GAN; VEEGAN; PacGAN): three MNIST digits as the
red, green and blue channels of one image, so 10^3 = 1,000 modes (digit triples). None of the
four papers ran it; it is the standard mode-collapse benchmark beside them.
"""

from __future__ import annotations

import torch
from torch import Tensor


def stacked_mnist(
    images: Tensor, labels: Tensor, n: int, generator: torch.Generator | None = None
) -> tuple[Tensor, Tensor]:
    """``n`` stacked images (n, 3, H, W) built from single-channel ``images`` (N, 1, H, W), each
    channel an independently drawn digit, and their modes ``100 a + 10 b + c`` for the channel
    labels (a, b, c)."""
    if images.ndim != 4 or images.shape[1] != 1:
        raise ValueError(f"need single-channel images (N, 1, H, W), got {tuple(images.shape)}")
    index = torch.randint(0, images.shape[0], (n, 3), generator=generator)
    stacked = images[index.reshape(-1), 0].reshape(n, 3, *images.shape[2:])
    channel_labels = labels[index]
    return stacked, stacked_mode(channel_labels)


def stacked_mode(channel_labels: Tensor) -> Tensor:
    """Mode index 100 a + 10 b + c of (n, 3) channel labels (a, b, c)."""
    return channel_labels[:, 0] * 100 + channel_labels[:, 1] * 10 + channel_labels[:, 2]


def stacked_sampler(images: Tensor, labels: Tensor):
    """``sample(n, generator)``: n fresh Stacked MNIST images from the MNIST source ``images``."""

    def sample(n: int, generator: torch.Generator | None = None) -> Tensor:
        return stacked_mnist(images, labels, n, generator)[0]

    return sample
