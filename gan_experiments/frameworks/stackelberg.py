r"""Stackelberg GAN (Zhang et al., 000_38182600a80f113d.txt Sec. 2): I generators, one discriminator.

The objective is :math:`\frac1I \sum_i \phi(\gamma_i; \theta)`: in training every generator gets
the full batch of one shared z and the losses are averaged over generators, as the official code
does; for metrics and pictures each sample comes from a generator picked uniformly at random.
"""

from __future__ import annotations

import torch
from torch import Tensor

from ..models import GeneratorMixture
from .standard import StandardGAN


class StackelbergGAN(StandardGAN):
    """A :class:`StandardGAN` whose generator is a :class:`GeneratorMixture`."""

    def __init__(self, generators: GeneratorMixture, discriminator, *, loss: str = "ogan",
                 gp_weight: float = 10.0, l2: float = 0.0, weight_clip: float = 0.0) -> None:
        super().__init__(generators, discriminator, generators.latent_dim, loss=loss, gp_weight=gp_weight, l2=l2,
                         weight_clip=weight_clip)

    def fakes(self, z: Tensor) -> list[Tensor]:
        return list(self.generator(z))  # one batch per generator, all on the shared z

    @torch.no_grad()
    def sample(self, n: int, generator: torch.Generator | None = None) -> Tensor:
        return self.generator.sample(n, generator)[0]

    @torch.no_grad()
    def sample_by_generator(self, n: int, generator: torch.Generator | None = None) -> list[Tensor]:
        """``n`` samples from each generator (for per-generator mode assignment and pictures)."""
        z = torch.randn(n, self.latent_dim, generator=generator)
        return list(self.generator(z.to(next(self.generator.parameters()).device)))
