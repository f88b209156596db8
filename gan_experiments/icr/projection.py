r"""Adversarial training as projection (Schäfer, Zheng & Anandkumar 2020, "Implicit competitive
regularization in GANs", Sec. 4, Fig. 7, App. A.2).

The generator maps its 28 weights (no input) to a point of

.. math::
    \mathcal S = \{(e^{s+t}, e^{s-t}) : s \in (-\tfrac12, \tfrac12), t \in \mathbb R\},

which does not contain the target :math:`P_{data} = (2, 2)` (the product of the coordinates is
:math:`e^{2s} < e < 4`): four weights pass through arctan, a 4x4 dense layer and arctan, a 2x4
dense layer gives (x, y), and :math:`(x, y) \mapsto (e^{\arctan(y)/\pi + x}, e^{\arctan(y)/\pi - x})`.
The discriminator :math:`\mathcal D_\eta` rescales its input by the diagonal :math:`\eta`, then
applies 2->4, 4->4 and 4->1 dense layers, each followed by arctan (28 weights; the appendix
lists no biases, and 4 + 16 + 8 = 8 + 16 + 4 = 28 leaves no room for any). The game is loss (4),

.. math::
    \min_{w_G} \max_{w_D}\ \mathcal D(\eta P_{data}; w_D) - \mathcal D(\eta\, \mathcal G(w_G); w_D).

With :math:`\eta = \mathrm{diag}(1, 10^{-2})` the paper sees long stays of the generator's first
coordinate at the target's first coordinate, 2: a projection of :math:`P_{data}` onto
:math:`\mathcal S` in the metric :math:`\|\eta\,\cdot\|`, in 13 of 20 runs with SimGD and 17 of
20 with CGD. :func:`projection_stays` makes "in the projection state" a stated rule.
"""

from __future__ import annotations

import math

import torch
from torch import Tensor, nn


class ProjectionGenerator(nn.Module):
    """The 28-weight generator of App. A.2; ``forward()`` returns its point of S, shape (2,)."""

    def __init__(self) -> None:
        super().__init__()
        self.inputs = nn.Parameter(torch.randn(4))
        self.hidden = nn.Linear(4, 4, bias=False)
        self.output = nn.Linear(4, 2, bias=False)

    def forward(self) -> Tensor:
        x, y = self.output(torch.atan(self.hidden(torch.atan(self.inputs))))
        s = torch.atan(y) / math.pi
        return torch.stack([torch.exp(s + x), torch.exp(s - x)])


class ProjectionDiscriminator(nn.Module):
    """The 28-weight discriminator of App. A.2, with the fixed input scaling ``eta`` (a buffer)."""

    def __init__(self, eta: tuple[float, float] = (1.0, 1.0)) -> None:
        super().__init__()
        self.register_buffer("eta", torch.tensor(eta, dtype=torch.float32))
        self.layers = nn.Sequential(
            nn.Linear(2, 4, bias=False), nn.Linear(4, 4, bias=False), nn.Linear(4, 1, bias=False)
        )

    def forward(self, point: Tensor) -> Tensor:
        h = point * self.eta
        for layer in self.layers:
            h = torch.atan(layer(h))
        return h.reshape(h.shape[:-1])


def in_output_set(points: Tensor) -> Tensor:
    r"""Whether each point (..., 2) lies in S: both coordinates positive and
    :math:`s = \frac12 \log(p_1 p_2) \in (-\frac12, \frac12)`."""
    positive = (points > 0).all(dim=-1)
    s = 0.5 * torch.log(points.clamp_min(1e-300).prod(dim=-1))
    return positive & (s.abs() < 0.5)


class ProjectionGame(nn.Module):
    """Loss (4) as a two-player game for cgd_optim: G's weights the min player, D's the max player."""

    latent_dim = 1  # the generator takes no input; the trainer's noise is ignored

    def __init__(self, eta: tuple[float, float] = (1.0, 1.0), target: tuple[float, float] = (2.0, 2.0)) -> None:
        super().__init__()
        self.generator, self.discriminator = ProjectionGenerator(), ProjectionDiscriminator(eta)
        self.register_buffer("target", torch.tensor(target, dtype=torch.float32))

    def min_parameters(self) -> list[Tensor]:
        return list(self.generator.parameters())

    def max_parameters(self) -> list[Tensor]:
        return list(self.discriminator.parameters())

    def objective(self, real: Tensor | None = None, z: Tensor | None = None, generator=None) -> Tensor:
        return self.discriminator(self.target) - self.discriminator(self.generator())

    def play(self, optimizer, real: Tensor | None = None, z: Tensor | None = None, noise=None) -> Tensor:
        """One optimizer step on loss (4) (the batch and the noise are not used)."""
        return optimizer.step(self.objective)

    @torch.no_grad()
    def sample(self, n: int = 1, generator=None) -> Tensor:
        return self.generator().expand(n, 2)


def projection_stays(
    first_coordinates: Tensor, target: float = 2.0, *, tolerance: float = 0.05, min_length: int = 200
) -> list[tuple[int, int]]:
    """The stays in the projection state: maximal runs of consecutive iterations with
    :math:`|\\mathcal G(w_G)_1 - 2| \\le` ``tolerance`` lasting at least ``min_length`` iterations,
    as (first index, length). A run "shows the projection behaviour" when this is non-empty."""
    inside = [*((first_coordinates - target).abs() <= tolerance).tolist(), False]
    stays, start = [], None
    for i, flag in enumerate(inside):
        if flag and start is None:
            start = i
        elif not flag and start is not None:
            if i - start >= min_length:
                stays.append((start, i - start))
            start = None
    return stays
