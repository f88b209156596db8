r"""Stackelberg GAN (Zhang, Jiao, Tian et al. 2018, "Stackelberg GAN: towards provable minimax
equilibrium via multi-generator architectures", Sec. 2): I generators, one discriminator; its
registry entries ``stackelberg`` and ``multibranch`` (the paper's single-generator baseline of
as many parameters, Sec. 4).

The objective is :math:`\frac1I \sum_i \phi(\gamma_i; \theta)`: in training every generator gets
the full batch of one shared z and the losses are averaged over generators, as the official code
does; for metrics and pictures each sample comes from a generator picked uniformly at random.
"""

from __future__ import annotations

import torch
from torch import Tensor

from ..models import GeneratorMixture, MultiBranchGenerator
from .standard import StandardGAN, StandardRun


class StackelbergGAN(StandardGAN):
    """A :class:`StandardGAN` whose generator is a :class:`GeneratorMixture`."""

    def __init__(
        self,
        generators: GeneratorMixture,
        discriminator,
        *,
        loss: str = "ogan",
        gp_weight: float = 10.0,
        l2: float = 0.0,
        weight_clip: float = 0.0,
    ) -> None:
        super().__init__(
            generators,
            discriminator,
            generators.latent_dim,
            loss=loss,
            gp_weight=gp_weight,
            l2=l2,
            weight_clip=weight_clip,
        )

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

    def samples_of_each_generator(self, total: int, generator: torch.Generator | None = None) -> list[Tensor]:
        """``total`` samples shared evenly (at least one each) among the I generators, on one z."""
        count = len(self.generator.generators)
        return [s.cpu() for s in self.sample_by_generator(max(total // count, 1), generator)]

    def panels(self, generator: torch.Generator) -> list[dict]:
        groups = [(f"G{i + 1}", s) for i, s in enumerate(self.sample_by_generator(200, generator))]
        return [{"title": "one colour per generator", "groups": groups, "discriminator": self.discriminator}]

    def image_rows(self, columns: int, generator: torch.Generator) -> list[Tensor]:
        """One row per generator."""
        return self.sample_by_generator(columns, generator)


class StackelbergRun(StandardRun):
    """``stackelberg``: ``model.generators`` generators of ``model``'s networks against one discriminator."""

    @classmethod
    def build_players(cls, config, data) -> StackelbergGAN:
        make_generator, make_discriminator = cls.player_factories(config, data)
        discriminator = make_discriminator()
        generators = [make_generator() for _ in range(config.model.generators)]
        return StackelbergGAN(
            GeneratorMixture(generators, config.model.latent_dim), discriminator, **cls.loss_options(config)
        )


class MultiBranchRun(StandardRun):
    """``multibranch``: one generator of ``model.generators`` branches (2D data only)."""

    trains_on_images = False

    @classmethod
    def build_players(cls, config, data) -> StandardGAN:
        m = config.model
        discriminator = cls.player_factories(config, data)[1]()
        generator = MultiBranchGenerator(m.generators, m.latent_dim, output_scale=m.output_scale)
        return StandardGAN(generator, discriminator, m.latent_dim, **cls.loss_options(config))
