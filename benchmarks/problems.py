"""The games the benchmark times: the ICR DCGAN, an MLP GAN on 2D data, a large quadratic game.

Each ``build(dtype, seed)`` returns an :class:`Instance`; two instances built with the same
arguments hold identical weights, and ``batch(step)`` is a pure function of the step, so two
optimizers can be stepped side by side from identical weights on identical batches.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import torch
from torch import Tensor, nn

from gan_experiments import losses
from gan_experiments.models import DCGANDiscriminator, DCGANGenerator


@dataclass
class Instance:
    """One copy of a game: the players' modules (or raw tensors) and its value f(batch)."""

    generator: nn.Module
    discriminator: nn.Module
    value_fn: Callable[[nn.Module, nn.Module, Any], Tensor]
    batch_fn: Callable[[int], Any]
    extra: dict = field(default_factory=dict)

    @property
    def min_params(self) -> list[Tensor]:
        return list(self.generator.parameters())

    @property
    def max_params(self) -> list[Tensor]:
        return list(self.discriminator.parameters())

    def batch(self, step: int):
        return self.batch_fn(step)

    def value(self, batch) -> Tensor:
        return self.value_fn(self.generator, self.discriminator, batch)


def _generator(step: int, salt: int) -> torch.Generator:
    return torch.Generator().manual_seed(1_000_003 * salt + step)


def wgan_value(G: nn.Module, D: nn.Module, batch) -> Tensor:
    """WGAN objective E D(x) - E D(G(z)) (:func:`gan_experiments.losses.wgan_value`): G minimizes, D maximizes."""
    real, z = batch
    return losses.wgan_value(D(real), D(G(z)))


def ogan_value(G: nn.Module, D: nn.Module, batch) -> Tensor:
    """OGAN objective E log sigmoid D(x) + E log(1 - sigmoid D(G(z))) (:func:`gan_experiments.losses.ogan_value`)."""
    real, z = batch
    return losses.ogan_value(D(real), D(G(z)))


def dcgan(
    dtype: torch.dtype = torch.float32,
    seed: int = 0,
    width: int = 32,
    batch_size: int = 64,
    device: str | torch.device = "cpu",
) -> Instance:
    """ICR DCGAN (Tables 4-5) at ``width``, CIFAR-10 shapes, WGAN loss, random batches in [-1, 1]."""
    torch.manual_seed(seed)
    G = DCGANGenerator(width).to(device, dtype)
    D = DCGANDiscriminator(width).to(device, dtype)

    def batch(step: int):
        g = _generator(step, seed)
        real = torch.rand(batch_size, 3, 32, 32, generator=g, dtype=torch.float64) * 2 - 1
        z = torch.randn(batch_size, 128, generator=g, dtype=torch.float64)
        return real.to(device, dtype), z.to(device, dtype)

    return Instance(G, D, wgan_value, batch)


def mlp_gan(
    dtype: torch.dtype = torch.float32,
    seed: int = 0,
    hidden: int = 256,
    batch_size: int = 256,
    device: str | torch.device = "cpu",
) -> Instance:
    """A 3-layer MLP generator and discriminator on 8 Gaussians on a ring (radius 1, std 0.01), OGAN loss."""
    torch.manual_seed(seed)
    # LeakyReLU in both players: no exactly-zero gradients, whose eps-sized step sizes differ between
    # Algorithm 1 and cgds (docs/migrating.md), so the float64 equal-iterates check is meaningful
    G = nn.Sequential(
        nn.Linear(8, hidden), nn.LeakyReLU(0.2), nn.Linear(hidden, hidden), nn.LeakyReLU(0.2), nn.Linear(hidden, 2)
    )
    D = nn.Sequential(
        nn.Linear(2, hidden), nn.LeakyReLU(0.2), nn.Linear(hidden, hidden), nn.LeakyReLU(0.2), nn.Linear(hidden, 1)
    )
    G, D = G.to(device, dtype), D.to(device, dtype)

    def batch(step: int):
        g = _generator(step, seed)
        angle = torch.randint(0, 8, (batch_size,), generator=g) * (2 * math.pi / 8)
        real = torch.stack([angle.cos(), angle.sin()], 1) + 0.01 * torch.randn(batch_size, 2, generator=g)
        z = torch.randn(batch_size, 8, generator=g)
        return real.to(device, dtype), z.to(device, dtype)

    return Instance(G, D, ogan_value, batch)


class _Vector(nn.Module):
    def __init__(self, values: Tensor) -> None:
        super().__init__()
        self.weight = nn.Parameter(values)


def quadratic(
    dtype: torch.dtype = torch.float32,
    seed: int = 0,
    n: int = 10_000,
    rank: int = 32,
    device: str | torch.device = "cpu",
) -> Instance:
    """f = 1/2 x'diag(a)x + (U'x)'(V'y) - 1/2 y'diag(c)y + p'x + q'y: 10^4 parameters per player.

    a, c > 0 (each player's own term is convex for it), B = U V' of rank ``rank`` with entries of
    scale 1/sqrt(n); no batch (``batch(step)`` is None).
    """
    g = torch.Generator().manual_seed(seed)
    spec = dict(dtype=torch.float64, generator=g)
    a, c = 0.5 + torch.rand(n, **spec), 0.5 + torch.rand(n, **spec)
    U, V = torch.randn(n, rank, **spec) / n**0.25, torch.randn(n, rank, **spec) / n**0.25
    p, q = torch.randn(n, **spec), torch.randn(n, **spec)
    x0, y0 = torch.randn(n, **spec), torch.randn(n, **spec)
    a, c, U, V, p, q = (t.to(device, dtype) for t in (a, c, U, V, p, q))
    G, D = _Vector(x0.to(device, dtype)), _Vector(y0.to(device, dtype))

    def value(G, D, batch):
        x, y = G.weight, D.weight
        return 0.5 * (a * x * x).sum() + (U.T @ x) @ (V.T @ y) - 0.5 * (c * y * y).sum() + p @ x + q @ y

    return Instance(G, D, value, lambda step: None)


def bilinear(
    dtype: torch.dtype = torch.float64, seed: int = 0, n: int = 50, device: str | torch.device = "cpu"
) -> Instance:
    """f = x'By with a random 50 x 50 B: the device-read count's game."""
    g = torch.Generator().manual_seed(seed)
    B = torch.randn(n, n, dtype=torch.float64, generator=g).to(device, dtype)
    G = _Vector(torch.randn(n, dtype=torch.float64, generator=g).to(device, dtype))
    D = _Vector(torch.randn(n, dtype=torch.float64, generator=g).to(device, dtype))
    return Instance(G, D, lambda G, D, batch: G.weight @ B @ D.weight, lambda step: None)


PROBLEMS = {"dcgan32": dcgan, "mlp_gan": mlp_gan, "quadratic_1e4": quadratic}
