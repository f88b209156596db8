r"""Proximal training (Farnia & Ozdaglar 2020, "Do GANs always have Nash equilibria?", Sec. 5,
Algorithm 1) of a standard GAN; its registry entry ``proximal``.

The players are those of :class:`StandardGAN`; what changes is the game the generator plays: it
minimizes the proximal objective (11),
:math:`V^{prox}_\lambda(G, D_{w_k}) = \max_w V(G, D_w) - \lambda \|D_w - D_{w_k}\|^2`, whose
gradient is :math:`\nabla_\theta V(G_\theta, D_{w^*})` at the inner maximizer (Proposition 4).
cgd_optim's :class:`~cgd_optim.ProximalMinimax` runs the inner ascent (T torch-optimizer steps;
the paper's Sec. 6.2 uses 20 Adam steps) with the Sobolev distance (15) on the real batch.
The paper applies it to WGAN-WC and SN-GAN; both are zero-sum games V, as Algorithm 1 needs.
"""

from __future__ import annotations

import torch
from torch import Tensor, nn

from cgd_optim import ProximalMinimax

from ..errors import ConfigError
from ..losses import ZERO_SUM_LOSSES
from .standard import StandardGAN, StandardRun


class ProximalGAN(StandardGAN):
    """A :class:`StandardGAN` on a zero-sum loss, trained by :meth:`optimizer`'s ProximalMinimax."""

    def __init__(
        self,
        generator: nn.Module,
        discriminator: nn.Module,
        latent_dim: int,
        *,
        loss: str = "wgan",
        l2: float = 0.0,
        weight_clip: float = 0.0,
    ) -> None:
        if loss not in ZERO_SUM_LOSSES:
            raise ValueError(f"proximal training needs a zero-sum loss V, one of {ZERO_SUM_LOSSES}; got {loss!r}")
        super().__init__(generator, discriminator, latent_dim, loss=loss, l2=l2, weight_clip=weight_clip)

    def optimizer(
        self,
        *,
        lr: float,
        betas: tuple[float, float],
        lam: float = 0.1,
        inner_steps: int = 20,
        penalty: str = "sobolev",
    ) -> ProximalMinimax:
        """Adam for each player (the paper's inner and outer optimizer) inside ProximalMinimax;
        weight clipping, when set, after every inner ascent step."""
        return ProximalMinimax(
            self.discriminator,
            min_optimizer=torch.optim.Adam(self.min_parameters(), lr=lr, betas=betas),
            max_optimizer=torch.optim.Adam(self.max_parameters(), lr=lr, betas=betas),
            lam=lam,
            inner_steps=inner_steps,
            penalty=penalty,
            max_projection=(lambda _: self.project_discriminator()) if self.weight_clip > 0 else None,
        )

    def play(self, optimizer: ProximalMinimax, real: Tensor, z: Tensor, noise: torch.Generator | None = None):
        """One proximal step: the inner ascent penalises D's input gradients on ``real`` (Sobolev (15))."""
        value = optimizer.step(lambda: self.objective(real, z, generator=noise), real)
        self.project_discriminator()
        return value


class ProximalRun(StandardRun):
    """``proximal``: a :class:`ProximalGAN` with Adam inside ProximalMinimax (``[proximal]``)."""

    critic_steps_allowed = False

    @classmethod
    def validate(cls, config) -> None:
        super().validate(config)
        if config.run.optimizer != "adam":
            raise ConfigError(
                f"run.optimizer = {config.run.optimizer!r}: proximal training uses Adam inner "
                f'optimizers (ProximalMinimax takes torch optimizers); set it to "adam"'
            )
        if config.run.loss not in ZERO_SUM_LOSSES:
            raise ConfigError(
                f"run.loss = {config.run.loss!r}: proximal training needs a zero-sum loss, "
                f"{' or '.join(ZERO_SUM_LOSSES)}"
            )

    @classmethod
    def dry_run_overrides(cls, config) -> list[str]:
        return [f"proximal.inner_steps={min(config.proximal.inner_steps, 2)}", *super().dry_run_overrides(config)]

    @classmethod
    def build_players(cls, config, data) -> ProximalGAN:
        make_generator, make_discriminator = cls.player_factories(config, data)
        discriminator = make_discriminator()
        options = cls.loss_options(config)
        options.pop("gp_weight")
        return ProximalGAN(make_generator(), discriminator, config.model.latent_dim, **options)

    @classmethod
    def operation_counter(cls, config, optimizer) -> None:
        """None: ProximalMinimax's inner steps are not counted in gradient evaluations."""
        return None

    @classmethod
    def build_optimizer(cls, config, players: ProximalGAN) -> ProximalMinimax:
        p = config.proximal
        return players.optimizer(
            lr=config.optimizer.lr,
            betas=tuple(config.optimizer.betas),
            lam=p.lam,
            inner_steps=p.inner_steps,
            penalty=p.penalty,
        )
