"""Standard GAN: one generator G (the min player), one discriminator D (the max player)."""

from __future__ import annotations

import torch
from torch import Tensor, nn

from ..losses import game_objective


@torch.no_grad()
def clip_weights(module: nn.Module, bound: float) -> None:
    """WGAN-WC (Arjovsky et al. 2017): clamp every weight of ``module`` to [-bound, bound]; nothing
    when ``bound`` is 0."""
    if bound > 0:
        for p in module.parameters():
            p.clamp_(-bound, bound)


class StandardGAN(nn.Module):
    """min_G max_D of the chosen loss (gan_experiments.losses); also the multi-branch baseline
    when G is a :class:`~gan_experiments.models.MultiBranchGenerator`.

    Regularisers of D: ``gp_weight`` (WGAN-GP), ``l2`` (L2 penalty), ``weight_clip`` (WGAN-WC,
    applied by :meth:`project_discriminator` after every discriminator update); spectral
    normalisation is a property of the discriminator module (see models.with_spectral_norm).
    """

    def __init__(self, generator: nn.Module, discriminator: nn.Module, latent_dim: int, *,
                 loss: str = "ogan", gp_weight: float = 10.0, l2: float = 0.0, weight_clip: float = 0.0) -> None:
        super().__init__()
        self.generator, self.discriminator = generator, discriminator
        self.latent_dim, self.loss, self.gp_weight, self.l2 = latent_dim, loss, gp_weight, l2
        self.weight_clip = weight_clip

    def min_parameters(self) -> list[Tensor]:
        return list(self.generator.parameters())

    def max_parameters(self) -> list[Tensor]:
        return list(self.discriminator.parameters())

    def project_discriminator(self) -> None:
        """WGAN-WC after every discriminator update (:func:`clip_weights`)."""
        clip_weights(self.discriminator, self.weight_clip)

    def fakes(self, z: Tensor) -> list[Tensor]:
        return [self.generator(z)]

    def objective(self, real: Tensor, z: Tensor, generator: torch.Generator | None = None):
        """f or (f_min, f_max) on a real batch and the noise z (see losses.game_objective)."""
        return game_objective(self.loss, self.discriminator, real, self.fakes(z),
                              gp_weight=self.gp_weight, l2=self.l2, generator=generator)

    @torch.no_grad()
    def sample(self, n: int, generator: torch.Generator | None = None) -> Tensor:
        z = torch.randn(n, self.latent_dim, generator=generator)
        return self.generator(z.to(next(self.generator.parameters()).device))
