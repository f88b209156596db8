"""Standard GAN: one generator G (the min player), one discriminator D (the max player); its
registry entry ``standard``."""

from __future__ import annotations

import torch
from torch import Tensor, nn

from ..losses import as_min_max, game_objective
from ..models import buffers_kept
from .base import GANRun


@torch.no_grad()
def clip_weights(module: nn.Module, bound: float) -> None:
    """WGAN-WC (Arjovsky et al. 2017, "Wasserstein GAN", Algorithm 1): clamp every weight of
    ``module`` to [-bound, bound]; nothing when ``bound`` is 0."""
    if bound > 0:
        for p in module.parameters():
            p.clamp_(-bound, bound)


class TwoPlayerGame(nn.Module):
    """What a :class:`~gan_experiments.session.GameSession` plays: ``generator`` (the min player)
    against ``max_module`` (the max player), one optimizer step per :meth:`play`."""

    weight_clip = 0.0
    shard = (0, 1)  # (rank, world): this process's slice of the global batch (set by the registry entry's build)

    @property
    def max_module(self) -> nn.Module:
        return self.discriminator

    def min_parameters(self) -> list[Tensor]:
        return list(self.generator.parameters())

    def max_parameters(self) -> list[Tensor]:
        return list(self.max_module.parameters())

    def project_discriminator(self) -> None:
        """WGAN-WC after every discriminator update (:func:`clip_weights`)."""
        clip_weights(self.max_module, self.weight_clip)

    def play(self, optimizer, real: Tensor, z: Tensor, noise: torch.Generator | None = None):
        """One step of ``optimizer`` on the objective at (real, z), then the WGAN-WC projection
        (idempotent after the Adam pair's own); returns the step's value."""
        value = optimizer.step(lambda: self.objective(real, z, generator=noise))
        self.project_discriminator()
        return value


class StandardGAN(TwoPlayerGame):
    """min_G max_D of the chosen loss (gan_experiments.losses); also the multi-branch baseline
    when G is a :class:`~gan_experiments.models.MultiBranchGenerator`.

    Regularisers of D: ``gp_weight`` (WGAN-GP), ``l2`` (L2 penalty), ``weight_clip`` (WGAN-WC,
    applied by :meth:`project_discriminator` after every discriminator update); spectral
    normalisation is a property of the discriminator module (see models.with_spectral_norm).
    """

    parts_are_local_pairs = False  # SGAN's parts are independent GANs; a Stackelberg GAN's, its generators

    def __init__(
        self,
        generator: nn.Module,
        discriminator: nn.Module,
        latent_dim: int,
        *,
        loss: str = "ogan",
        gp_weight: float = 10.0,
        l2: float = 0.0,
        weight_clip: float = 0.0,
    ) -> None:
        super().__init__()
        self.generator, self.discriminator = generator, discriminator
        self.latent_dim, self.loss, self.gp_weight, self.l2 = latent_dim, loss, gp_weight, l2
        self.weight_clip = weight_clip

    def fakes(self, z: Tensor) -> list[Tensor]:
        return [self.generator(z)]

    def objective(self, real: Tensor, z: Tensor, generator: torch.Generator | None = None):
        """f or (f_min, f_max) on a real batch and the noise z (see losses.game_objective)."""
        return game_objective(
            self.loss,
            self.discriminator,
            real,
            self.fakes(z),
            gp_weight=self.gp_weight,
            l2=self.l2,
            generator=generator,
            shard=self.shard,
        )

    def critic_diagnostics(self, real: Tensor, z: Tensor, generator: torch.Generator | None = None) -> dict:
        r"""Whether the critic runs away: its mean output on ``real`` and on the generated batch of
        ``z`` (``critic_real``, ``critic_fake``; averaged over the generators), and
        :math:`\lVert \nabla_\theta f_{min} \rVert_2` over the generator side's parameters at that
        batch (``generator_gradient_norm``), computed as a training step sees them (training mode)
        with every buffer put back afterwards, so the run continues as if nothing had been computed."""
        with buffers_kept(self), torch.no_grad():
            critic_real, fakes = self.discriminator(real).mean(), self.fakes(z)
            critic_fake = sum(self.discriminator(fake).mean() for fake in fakes) / len(fakes)
        with buffers_kept(self):  # from the same buffers: the outputs and the gradient of one state
            f_min = as_min_max(self.objective(real, z, generator))[0]
            parameters = [p for p in self.min_parameters() if p.requires_grad]
            gradients = torch.autograd.grad(f_min, parameters, allow_unused=True)
        norm = torch.linalg.vector_norm(torch.stack([torch.linalg.vector_norm(g) for g in gradients if g is not None]))
        return {
            "critic_real": float(critic_real),
            "critic_fake": float(critic_fake),
            "generator_gradient_norm": float(norm),
        }

    @torch.no_grad()
    def sample(self, n: int, generator: torch.Generator | None = None) -> Tensor:
        z = torch.randn(n, self.latent_dim, generator=generator)
        return self.generator(z.to(next(self.generator.parameters()).device))

    def model_samples(self, n: int, generator: torch.Generator | None = None) -> Tensor | None:
        """``n`` samples of the model being evaluated, on the CPU (None: the parts' ensemble is the model)."""
        return self.sample(n, generator).cpu()

    def samples_of_each_generator(self, total: int, generator: torch.Generator | None = None) -> list[Tensor] | None:
        """``total`` samples shared evenly among the model's parts, one CPU tensor each; None: one generator."""
        return None

    def panels(self, generator: torch.Generator) -> list[dict]:
        """The 2D picture's panels (see plots.plot_panels): samples and D's contours."""
        return [
            {
                "title": "generated",
                "groups": [("generated", self.sample(1000, generator))],
                "discriminator": self.discriminator,
            }
        ]

    def image_rows(self, columns: int, generator: torch.Generator) -> list[Tensor]:
        """The image grid's rows of ``columns`` images: here ``columns`` rows of one generator."""
        return [self.sample(columns * columns, generator)]


class StandardRun(GANRun):
    """``standard``: one generator and one discriminator of ``model``'s networks."""

    critic_steps_allowed = True
    records_critic = True  # run.critic_diagnostics (StandardGAN.critic_diagnostics)

    @classmethod
    def build_players(cls, config, data) -> StandardGAN:
        make_generator, make_discriminator = cls.player_factories(config, data)
        discriminator = make_discriminator()
        return StandardGAN(make_generator(), discriminator, config.model.latent_dim, **cls.loss_options(config))
