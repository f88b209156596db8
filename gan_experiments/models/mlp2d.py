"""The 2D networks of the papers and their official code.

- Stackelberg GAN (Zhang et al. 2018; official code hongyanz/Stackelberg-GAN,
  ``Gaussian mixture/gan_stackelberg_mG.py``):
  each of the 8 generators is Linear(2, 32) -> LeakyReLU(0.2) -> Linear(32, 2) -> Tanh with
  latent dimension 2; the discriminator is Linear(2, 512) -> LeakyReLU(0.2) -> Linear(512, 256)
  -> LeakyReLU(0.2) -> Linear(256, 1). The official code ends it with a Sigmoid and uses BCE; here
  it outputs the logit and the sigmoid lives in the loss (gan_experiments.losses), which is the
  same function, computed stably.
- The multi-branch baseline (``gan_branch_mG.py``, Zhang et al. 2018, "Stackelberg GAN" Sec. 4): one MLP
  2 -> 128 -> 256 -> 512 -> 1024 -> 2 per branch, the branches' outputs averaged,
  phi((1/I) sum_i gamma_i; theta).
- SGAN (the SGAN supplement, Chavdarova & Fleuret 2018): every network an MLP of 4 fully connected layers
  with 512 hidden units and LeakyReLU(0.01), noise dimension 100.

``output_scale`` multiplies a Tanh output so that it can reach data beyond [-1, 1] (the 25-mode
grid spans [-4, 4]); configs state it.
"""

from __future__ import annotations

import itertools

import torch
from torch import Tensor, nn


def mlp(widths: list[int], slope: float, output: nn.Module | None = None) -> nn.Sequential:
    """Linear layers of the given widths with LeakyReLU(slope) between them, then ``output``."""
    layers: list[nn.Module] = []
    for i, (a, b) in enumerate(itertools.pairwise(widths)):
        layers.append(nn.Linear(a, b))
        if i < len(widths) - 2:
            layers.append(nn.LeakyReLU(slope))
    if output is not None:
        layers.append(output)
    return nn.Sequential(*layers)


class ScaledTanh(nn.Module):
    """``scale * tanh(x)``."""

    def __init__(self, scale: float = 1.0) -> None:
        super().__init__()
        self.scale = scale

    def forward(self, x: Tensor) -> Tensor:
        return self.scale * torch.tanh(x)


def stackelberg_generator(latent_dim: int = 2, hidden: int = 32, output_scale: float = 1.0) -> nn.Sequential:
    """One generator of the official Stackelberg 2D code."""
    return mlp([latent_dim, hidden, 2], 0.2, ScaledTanh(output_scale))


def stackelberg_discriminator() -> nn.Sequential:
    """The official Stackelberg 2D discriminator, returning logits."""
    return mlp([2, 512, 256, 1], 0.2)


def sgan_generator(latent_dim: int = 100, hidden: int = 512) -> nn.Sequential:
    """SGAN supplement: 4 fully connected layers, 512 units, LeakyReLU(0.01), linear output."""
    return mlp([latent_dim, hidden, hidden, hidden, 2], 0.01)


def sgan_discriminator(hidden: int = 512) -> nn.Sequential:
    """SGAN supplement: 4 fully connected layers, 512 units, LeakyReLU(0.01), a logit out."""
    return mlp([2, hidden, hidden, hidden, 1], 0.01)


def with_spectral_norm(module: nn.Module, *, seed: int | None = None) -> nn.Module:
    r"""Spectral normalisation (Miyato et al. 2018) of every Linear and Conv layer, in place:
    :math:`W / \sigma(W)` with :math:`\sigma` estimated by one power iteration per forward pass
    (``torch.nn.utils.parametrizations.spectral_norm``). Returns ``module``. ``seed``: the power
    iteration's first vectors come from the global generator seeded with it and restored after,
    so they move no other draw of a run (default: drawn from the global generator as it stands)."""
    if seed is not None:
        with torch.random.fork_rng(devices=[]):
            torch.manual_seed(seed)
            return with_spectral_norm(module)
    from torch.nn.utils.parametrizations import spectral_norm

    for name, child in list(module.named_children()):
        if isinstance(child, (nn.Linear, nn.Conv2d, nn.ConvTranspose2d)):
            setattr(module, name, spectral_norm(child))
        else:
            with_spectral_norm(child)
    return module


class MultiBranchGenerator(nn.Module):
    """The Sec. 4 baseline: I branch MLPs on the same z, their outputs averaged."""

    def __init__(
        self,
        branches: int = 8,
        latent_dim: int = 2,
        widths: tuple[int, ...] = (128, 256, 512, 1024),
        output_scale: float = 1.0,
    ) -> None:
        super().__init__()
        self.branches = nn.ModuleList(
            mlp([latent_dim, *widths, 2], 0.2, ScaledTanh(output_scale)) for _ in range(branches)
        )

    def forward(self, z: Tensor) -> Tensor:
        return torch.stack([branch(z) for branch in self.branches]).mean(dim=0)


class GeneratorMixture(nn.Module):
    """I generators with free parameters (Stackelberg GAN, Zhang et al. 2018, "Stackelberg GAN" Sec. 2).

    ``forward(z)`` returns every generator's output on the shared z, shape (I, n, 2): training
    averages the losses over generators, as the official code does. ``sample(n)`` draws from the
    mixture, picking a generator uniformly at random for each sample.
    """

    def __init__(self, generators: list[nn.Module], latent_dim: int) -> None:
        super().__init__()
        self.generators = nn.ModuleList(generators)
        self.latent_dim = latent_dim

    def forward(self, z: Tensor) -> Tensor:
        return torch.stack([g(z) for g in self.generators])

    @torch.no_grad()
    def sample(self, n: int, generator: torch.Generator | None = None) -> tuple[Tensor, Tensor]:
        """(samples (n, 2), index of the generator that made each)."""
        which = torch.randint(0, len(self.generators), (n,), generator=generator)
        z = torch.randn(n, self.latent_dim, generator=generator)
        outputs = self.forward(z.to(next(self.parameters()).device))
        return outputs[which.to(outputs.device), torch.arange(n, device=outputs.device)], which
