r"""GAN objectives as pure functions of discriminator outputs, and the regularisers.

Sign convention: every ``*_value`` is the quantity the discriminator **maximizes**; a
``*_generator_loss`` is what the generator **minimizes** where it differs from the value (then
the game is general-sum and the pair ``(generator_loss, value)`` is what cgd_optim's optimizers
take as ``(f_min, f_max)``). D outputs are logits (OGAN, NS-GAN) or critic values (WGAN, hinge).

- OGAN (Goodfellow et al. 2014; the ICR paper's :math:`L_o`, used with ACGD):
  :math:`E \log \sigma(D(x)) + E \log(1 - \sigma(D(G(z))))`, zero-sum.
- NS-GAN: the generator minimizes :math:`-E \log \sigma(D(G(z)))` instead.
- WGAN (the ICR paper's :math:`L_w`): :math:`E D(x) - E D(G(z))`, zero-sum.
- WGAN-GP (Gulrajani et al. 2017): the critic also pays
  :math:`\lambda E (\|\nabla_{\hat x} D(\hat x)\|_2 - 1)^2` on random interpolates :math:`\hat x`.
- hinge (Miyato et al. 2018): the critic maximizes :math:`E \min(0, D(x) - 1) + E \min(0, -D(G(z)) - 1)`,
  the generator minimizes :math:`-E D(G(z))`.
- L2 penalty on D (ICR Table 3, "L2 penalty"): :math:`\frac{c}{2}\|w\|^2`, paid by the critic.
"""

from __future__ import annotations

from collections.abc import Iterable

import torch
from torch import Tensor, nn
from torch.nn.functional import softplus


def ogan_value(real_logits: Tensor, fake_logits: Tensor) -> Tensor:
    r""":math:`E \log \sigma(D(x)) + E \log(1 - \sigma(D(G(z))))`, with log σ(a) = −softplus(−a)."""
    return -(softplus(-real_logits).mean() + softplus(fake_logits).mean())


def nsgan_generator_loss(fake_logits: Tensor) -> Tensor:
    r""":math:`-E \log \sigma(D(G(z)))` (the -log D trick)."""
    return softplus(-fake_logits).mean()


def wgan_value(real_scores: Tensor, fake_scores: Tensor) -> Tensor:
    r""":math:`E D(x) - E D(G(z))`."""
    return real_scores.mean() - fake_scores.mean()


def hinge_value(real_scores: Tensor, fake_scores: Tensor) -> Tensor:
    r""":math:`E \min(0, D(x) - 1) + E \min(0, -D(G(z)) - 1)`."""
    return torch.clamp(real_scores - 1, max=0).mean() + torch.clamp(-fake_scores - 1, max=0).mean()


def hinge_generator_loss(fake_scores: Tensor) -> Tensor:
    r""":math:`-E D(G(z))`."""
    return -fake_scores.mean()


def gradient_penalty(
    critic: nn.Module,
    real: Tensor,
    fake: Tensor,
    *,
    generator: torch.Generator | None = None,
    shard: tuple[int, int] = (0, 1),
) -> Tensor:
    r""":math:`E (\|\nabla_{\hat x} D(\hat x)\|_2 - 1)^2` at :math:`\hat x = u x + (1 - u) G(z)`, u ~ U[0, 1] per
    sample.

    Differentiable in the critic's parameters (create_graph) and, through ``fake``, in the generator's.
    ``shard = (rank, world)``: ``real`` is rank's equal slice of a global batch of ``world`` slices;
    the weights u are drawn for the global batch and this slice's kept, so that any number of
    processes draws what one process would.
    """
    rank, world = shard
    rows = real.shape[0]
    shape = (rows * world,) + (1,) * (real.ndim - 1)
    mix = torch.rand(shape, generator=generator, dtype=real.dtype)[rank * rows : (rank + 1) * rows].to(real.device)
    interpolates = (mix * real + (1 - mix) * fake).requires_grad_(True)
    (grads,) = torch.autograd.grad(critic(interpolates).sum(), interpolates, create_graph=True)
    return (grads.reshape(grads.shape[0], -1).norm(dim=1) - 1).pow(2).mean()


def l2_penalty(parameters: Iterable[Tensor], coefficient: float) -> Tensor:
    r""":math:`\frac{c}{2} \sum \|w\|^2` over ``parameters``."""
    return 0.5 * coefficient * sum(p.pow(2).sum() for p in parameters)


LOSSES = ("ogan", "nsgan", "wgan", "wgan-gp", "hinge")  # the names ``run.loss`` takes
ZERO_SUM_LOSSES = ("ogan", "wgan")  # one value V for both players (what proximal training needs)


def as_min_max(value: Tensor | tuple[Tensor, Tensor]) -> tuple[Tensor, Tensor]:
    """(f_min, f_max) of an objective: a zero-sum game's single f serves both players; a
    general-sum pair is returned as it is."""
    return (value, value) if isinstance(value, Tensor) else (value[0], value[1])


def game_objective(
    loss: str,
    discriminator: nn.Module,
    real: Tensor,
    fakes: list[Tensor],
    *,
    gp_weight: float = 10.0,
    l2: float = 0.0,
    generator: torch.Generator | None = None,
    shard: tuple[int, int] = (0, 1),
) -> Tensor | tuple[Tensor, Tensor]:
    r"""The game cgd_optim's optimizers play: f (zero-sum) or (f_min, f_max) (general-sum).

    ``fakes`` holds one batch per generator; the objective is their average
    :math:`\frac1I \sum_i \phi(\gamma_i; \theta)` (Zhang et al. 2018, "Stackelberg GAN", Sec. 2,
    averaged as the official code does; I = 1 for a standard GAN). The gradient penalty is taken
    on detached fakes: a regulariser of the critic that the generator does not share. An L2
    penalty keeps a zero-sum game zero-sum: it does not depend on the generator, so subtracting it
    from the shared value changes the critic's gradient only, exactly as a general-sum pair would.
    ``shard``: this process's slice of the global batch (:func:`gradient_penalty`).
    """
    if loss not in LOSSES:
        raise ValueError(f"unknown loss {loss!r}; expected one of {LOSSES}")
    real_out = discriminator(real)
    fake_outs = [discriminator(fake) for fake in fakes]

    def average(fn) -> Tensor:
        return sum(fn(real_out, out) for out in fake_outs) / len(fake_outs)

    penalty = l2_penalty(discriminator.parameters(), l2) if l2 else 0.0
    if loss == "ogan":
        return average(ogan_value) - penalty
    if loss == "wgan":
        return average(wgan_value) - penalty
    if loss == "nsgan":
        return sum(nsgan_generator_loss(out) for out in fake_outs) / len(fake_outs), average(ogan_value) - penalty
    if loss == "hinge":
        return sum(hinge_generator_loss(out) for out in fake_outs) / len(fake_outs), average(hinge_value) - penalty
    gp = sum(
        gradient_penalty(discriminator, real, fake.detach(), generator=generator, shard=shard) for fake in fakes
    ) / len(fakes)
    value = average(wgan_value)
    return value, value - gp_weight * gp - penalty
