"""What the examples share, without any training framework: the 8-Gaussian ring as seeded
batches, the two small players and the OGAN value they play."""

from __future__ import annotations

import torch
from torch import nn
from torch.utils.data import Dataset


class RingBatches(Dataset):
    """Batch ``k``: 64 samples of 8 Gaussians on the unit circle and 64 noise vectors (seeded by k)."""

    def __init__(self, steps: int) -> None:
        self.steps = steps

    def __len__(self) -> int:
        return self.steps

    def __getitem__(self, k: int):
        generator = torch.Generator().manual_seed(k)
        angles = torch.randint(0, 8, (64,), generator=generator) * (2 * torch.pi / 8)
        real = torch.stack([angles.cos(), angles.sin()], dim=1) + 0.02 * torch.randn(64, 2, generator=generator)
        return real, torch.randn(64, 2, generator=generator)


def players(seed: int = 0) -> tuple[nn.Module, nn.Module]:
    torch.manual_seed(seed)
    return (
        nn.Sequential(nn.Linear(2, 32), nn.Tanh(), nn.Linear(32, 2)),
        nn.Sequential(nn.Linear(2, 32), nn.Tanh(), nn.Linear(32, 1)),
    )


def ogan_value(G: nn.Module, D: nn.Module, real: torch.Tensor, z: torch.Tensor) -> torch.Tensor:
    """E log sigmoid D(x) + E log(1 - sigmoid D(G(z))): G descends it, D ascends it."""
    out = -(nn.functional.softplus(-D(real)).mean() + nn.functional.softplus(D(G(z))).mean())
    return out.float()
