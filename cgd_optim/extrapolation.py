r"""Extrapolation: extragradient (ExtraSGD, ExtraAdam) and optimism, its one-evaluation form
extrapolating from the past (OGDA, OptimisticAdam).

With a base update :math:`u(\cdot)` of each player (plain gradient descent-ascent, or Adam on the
descent direction :math:`(\nabla_x f, -\nabla_y f)`) and :math:`z = (x, y)`:

- extragradient (Korpelevich 1976; Gidel et al. 2019, "A variational inequality perspective on
  generative adversarial networks", ICLR, Sec. 3.2 and Alg. 4):
  :math:`z_{k+1/2} = z_k + u(z_k)`, :math:`z_{k+1} = z_k + u(z_{k+1/2})`, two closure
  evaluations per step (:class:`Extragradient`, one mechanism for both methods);
- optimism (Daskalakis et al. 2018, "Training GANs with optimism", ICLR): the update from the
  past, :math:`z_{k+1} = z_k + 2u_k - u_{k-1}`, one evaluation per step, with :math:`u_{k-1}` the
  previous step's base update recomputed at today's step size (the authors' codes: f-t-s/CGD
  ``optimizers_abstract.jl`` for OGDA, vsyrgkanis/optimistic_GAN_training ``optimizer.py`` for
  Optimistic Adam).
"""

from __future__ import annotations

import abc
import math
from collections.abc import Iterable
from typing import Any

import torch
from torch import Tensor

from ._base import _closure_doc, _players_doc, step_size
from .autodiff import unflatten
from .corrections import _rmsprop_doc
from .gradient_play import Field, GradientPlay, Move, check_betas_and_eps, check_rmsprop

_adam_doc = """betas: (keyword-only) :math:`(\\beta_1, \\beta_2)` in [0, 1), default (0.9, 0.999).
        eps: (keyword-only) :math:`\\epsilon` > 0 added to :math:`\\sqrt{v}`, default 1e-8.
        A param-group dict may set its own ``betas`` and ``eps``."""


def adam_moments(exp_avg: Tensor, exp_avg_sq: Tensor, direction: Tensor, betas) -> tuple[Tensor, Tensor]:
    r"""Adam's moments after one more direction :math:`d`: :math:`m = \beta_1 m + (1 - \beta_1) d`,
    :math:`v = \beta_2 v + (1 - \beta_2) d^2` (fresh tensors)."""
    beta1, beta2 = betas
    return (exp_avg * beta1).add_(direction, alpha=1.0 - beta1), (exp_avg_sq * beta2).addcmul_(
        direction, direction, value=1.0 - beta2
    )


def adam_factor(lr: float, betas, steps: list[int], params: list[Tensor], like: Tensor) -> Tensor | float:
    r""":math:`\mathrm{lr}_t = \mathrm{lr}\,\sqrt{1 - \beta_2^t} / (1 - \beta_1^t)` for each parameter's
    step number t: a number when they share t, else per coordinate."""
    beta1, beta2 = betas
    factor = lambda t: lr * math.sqrt(1.0 - beta2**t) / (1.0 - beta1**t)  # noqa: E731
    if len(set(steps)) == 1:
        return factor(steps[0])
    return torch.cat([like.new_full((p.numel(),), factor(t)) for p, t in zip(params, steps)])


def adam_displacement(exp_avg: Tensor, exp_avg_sq: Tensor, factor: Tensor | float, eps: float) -> Tensor:
    r"""Adam's update :math:`-\mathrm{lr}_t\, m / (\sqrt{v} + \epsilon)`, as Gidel et al.'s and
    cooper's ``ExtraAdam.update`` compute it."""
    return -factor * exp_avg / (exp_avg_sq.sqrt() + eps)


class _AdamPlayers(GradientPlay):
    """Adam's moments and updates per player and group (ExtraAdam and OptimisticAdam)."""

    hyperparameters = ("betas", "eps")
    group_options = ("betas", "eps")

    def __init__(
        self,
        min_params: Iterable[Tensor],
        max_params: Iterable[Tensor],
        lr: float = 1e-3,
        lr_min: float | None = None,
        lr_max: float | None = None,
        *,
        betas: tuple[float, float] = (0.9, 0.999),
        eps: float = 1e-8,
        process_group: Any = "auto",
        weight_decay: float = 0.0,
        keep_gradients: bool = False,
        loss_scaling: Any = False,
    ) -> None:
        options = dict(
            process_group=process_group,
            weight_decay=weight_decay,
            keep_gradients=keep_gradients,
            loss_scaling=loss_scaling,
        )
        check_betas_and_eps(betas, eps)
        defaults = dict(lr=lr, betas=tuple(betas), eps=eps)
        GradientPlay.__init__(self, min_params, max_params, defaults, lr_min, lr_max, **options)

    def check_group(self, group: dict[str, Any]) -> None:
        """A group's ``lr``, ``weight_decay``, and its own ``betas`` and ``eps`` where it sets them."""
        super().check_group(group)
        check_betas_and_eps(group.get("betas", (0.0, 0.0)), group.get("eps", 1.0))

    def moments(self, params: list[Tensor], like: Tensor) -> tuple[Tensor, Tensor]:
        """The stored (m, v) over ``params``, zeros before the first step."""
        m, v = self.stored(params, "exp_avg"), self.stored(params, "exp_avg_sq")
        return (torch.zeros_like(like) if m is None else m), (torch.zeros_like(like) if v is None else v)

    def adam(
        self, player: str, direction: Tensor, moments: tuple[Tensor, Tensor], steps_ahead: int, *, optimistic=False
    ):
        r"""``(u, m, v)``: the player's moments after ``direction`` and its Adam update at step
        :math:`t` = (the parameter's committed Adam steps) + ``steps_ahead``; ``optimistic``: the
        update :math:`2u(m, v) - u(\text{moments})`, the past term at the same :math:`\mathrm{lr}_t`."""
        segments = self.segments(player)
        sizes = [sum(p.numel() for p in params) for _, params in segments]
        pieces = zip(segments, direction.split(sizes), *(t.split(sizes) for t in moments))
        updates, new_m, new_v = [], [], []
        for (group, params), d, old_m, old_v in pieces:
            m, v = adam_moments(old_m, old_v, d, group["betas"])
            steps = [self.adam_steps(t) + steps_ahead for t in self.step_counts(params)]
            factor = adam_factor(step_size(group["lr"]), group["betas"], steps, params, d)
            u = adam_displacement(m, v, factor, group["eps"])
            if optimistic:
                u = u.mul_(2.0).sub_(adam_displacement(old_m, old_v, factor, group["eps"]))
            updates.append(u)
            new_m.append(m)
            new_v.append(v)
        return torch.cat(updates), torch.cat(new_m), torch.cat(new_v)

    @staticmethod
    def adam_steps(steps: int) -> int:
        """Adam steps behind ``steps`` optimizer steps (ExtraAdam takes two per step)."""
        return steps


class Extragradient(GradientPlay):
    r"""The extragradient step, once for ExtraSGD and ExtraAdam: the base update :meth:`half_step`
    at :math:`z_k` moves the players to :math:`z_{k+1/2}`; the closure is evaluated there; the
    players go back to :math:`z_k` (their saved values, bitwise) and the committed step is the base
    update at :math:`z_{k+1/2}` applied from :math:`z_k`. The base update's state advances on both
    half-steps (Gidel et al.'s Alg. 4; cooper's ``extrapolation()`` then ``step()``).

    The closure decides which batch the second evaluation sees: Gidel et al.'s experiments drew a
    fresh minibatch for each half-step (their ``train_extraadam.py``); returning the same batch twice
    is their "ReExtraSGD" (App. of the same paper), which keeps a seed's batch sequence shared with
    one-evaluation methods. ``step_stats["evaluations"]`` is 2."""

    evaluations = 2

    @abc.abstractmethod
    def half_step(self, point: Field, xs, ys, carried: Any, half: int) -> tuple[Tensor, Tensor, Any]:
        """``(u_x, u_y, carried)``: the base update at ``point``, half 1 or 2 of the step, and what
        the next half (or, after half 2, the commit as per-parameter state) takes from it."""

    def play(self, closure, start: Field, xs, ys) -> Move | None:
        u_x, u_y, carried = self.half_step(start, xs, ys, None, 1)
        if not self.finite(*start.objectives, u_x, u_y, where="the first evaluation (at z_k)"):
            return None
        saved = [p.clone() for p in (*xs, *ys)]
        try:
            torch._foreach_add_(xs, unflatten(u_x, xs))
            torch._foreach_add_(ys, unflatten(u_y, ys))
            _, f_min, f_max, zero_sum = self._evaluate(closure)
            middle = self.field(f_min, f_max, zero_sum, xs, ys, create_graph=False)
            dx, dy, state = self.half_step(middle, xs, ys, carried, 2)
            finite = self.finite(
                *middle.objectives,
                dx,
                dy,
                where="the second evaluation (at the extrapolated point z_{k+1/2}; the half-step was undone)",
            )
        finally:
            torch._foreach_copy_([*xs, *ys], saved)
        if not finite:
            return None
        return Move(dx, dy, state, {"evaluations": torch.tensor(2)}, start)


class ExtraSGD(Extragradient):
    __doc__ = r"""Extragradient with plain gradient descent-ascent steps (Korpelevich 1976; Gidel et
    al. 2019, "A variational inequality perspective on generative adversarial networks", ICLR,
    Sec. 3.2; cooper's ``ExtraSGD`` without momentum).

    .. math::
        z_{k+1/2} = z_k + \left(-\eta_x \nabla_x f_{min}, +\eta_y \nabla_y f_{max}\right)(z_k),\qquad
        z_{k+1} = z_k + \left(-\eta_x \nabla_x f_{min}, +\eta_y \nabla_y f_{max}\right)(z_{k+1/2}).

    Two closure evaluations per step (:class:`Extragradient`). A non-finite value at either one
    raises FloatingPointError naming it, the half-step undone.

    Args:
        {_players_doc}

    {_closure_doc}
    """

    def __init__(
        self,
        min_params: Iterable[Tensor],
        max_params: Iterable[Tensor],
        lr: float = 1e-3,
        lr_min: float | None = None,
        lr_max: float | None = None,
        *,
        process_group: Any = "auto",
        weight_decay: float = 0.0,
        keep_gradients: bool = False,
        loss_scaling: Any = False,
    ) -> None:
        options = dict(
            process_group=process_group,
            weight_decay=weight_decay,
            keep_gradients=keep_gradients,
            loss_scaling=loss_scaling,
        )
        super().__init__(min_params, max_params, dict(lr=lr), lr_min, lr_max, **options)

    def half_step(self, point, xs, ys, carried, half):
        u_x = (self.step_sizes("min", point.grad_x) * point.grad_x).neg_()
        return u_x, self.step_sizes("max", point.grad_y) * point.grad_y, {}


class ExtraAdam(Extragradient, _AdamPlayers):
    __doc__ = r"""Extragradient with Adam steps: Gidel et al. 2019 ("A variational inequality
    perspective on generative adversarial networks", ICLR), Alg. 4, as their
    ``optim/extragradient.py`` and cooper's ``ExtraAdam`` compute it.

    Each half-step takes Adam's update of the descent direction :math:`d` (:math:`\nabla_x f` for
    the min player, :math:`-\nabla_y f` for the max player),

    .. math::
        m \leftarrow \beta_1 m + (1 - \beta_1) d,\quad v \leftarrow \beta_2 v + (1 - \beta_2) d^2,\quad
        u = -\mathrm{lr}\,\frac{\sqrt{1 - \beta_2^t}}{1 - \beta_1^t}\,\frac{m}{\sqrt v + \epsilon},

    the moments and the step count :math:`t` advancing on both half-steps (:math:`t = 2k - 1`
    at :math:`z_k`, :math:`2k` at :math:`z_{k+1/2}`), and the second update is applied from
    :math:`z_k`. State: ``exp_avg``, ``exp_avg_sq``, ``step`` (optimizer steps) per parameter.

    Args:
        {_players_doc}
        {_adam_doc}

    {_closure_doc}
    """

    @staticmethod
    def adam_steps(steps: int) -> int:
        return 2 * steps

    def half_step(self, point, xs, ys, carried, half):
        if carried is None:
            carried = {"min": self.moments(xs, point.grad_x), "max": self.moments(ys, point.grad_y)}
        u_x, m_x, v_x = self.adam("min", point.grad_x, carried["min"], half)
        u_y, m_y, v_y = self.adam("max", -point.grad_y, carried["max"], half)
        if half == 1:
            return u_x, u_y, {"min": (m_x, v_x), "max": (m_y, v_y)}
        state = self.new_state({}, xs, exp_avg=m_x, exp_avg_sq=v_x)
        return u_x, u_y, self.new_state(state, ys, exp_avg=m_y, exp_avg_sq=v_y)


class OGDA(GradientPlay):
    __doc__ = r"""Optimistic gradient descent-ascent (Daskalakis et al. 2018, "Training GANs with
    optimism", ICLR; the CGD paper's comparison, Schäfer & Anandkumar 2019, Sec. 4, and its code
    ``optimizers_abstract.jl``):

    .. math::
        \Delta x = -\eta_x \left(2\nabla_x f_{min}(z_k) - \nabla_x f_{min}(z_{k-1})\right),\qquad
        \Delta y = +\eta_y \left(2\nabla_y f_{max}(z_k) - \nabla_y f_{max}(z_{k-1})\right),

    the previous gradient starting at zero (so the first step is :math:`2\eta\nabla f`) and
    kept in ``state[p]["previous_grad"]``; both gradients are scaled by today's step sizes (with
    ``rmsprop``, as the authors' code does). Unconstrained, this is extrapolation from the past
    (Gidel et al. 2019, Sec. 3.3). One closure evaluation per step.

    Args:
        {_players_doc}
        {_rmsprop_doc}

    {_closure_doc}
    """

    hyperparameters = ("rmsprop",)

    def __init__(
        self,
        min_params: Iterable[Tensor],
        max_params: Iterable[Tensor],
        lr: float = 1e-3,
        lr_min: float | None = None,
        lr_max: float | None = None,
        *,
        rmsprop: float | None = None,
        process_group: Any = "auto",
        weight_decay: float = 0.0,
        keep_gradients: bool = False,
        loss_scaling: Any = False,
    ) -> None:
        options = dict(
            process_group=process_group,
            weight_decay=weight_decay,
            keep_gradients=keep_gradients,
            loss_scaling=loss_scaling,
        )
        check_rmsprop(rmsprop)
        super().__init__(min_params, max_params, dict(lr=lr, rmsprop=rmsprop), lr_min, lr_max, **options)

    def play(self, closure, start: Field, xs, ys) -> Move | None:
        state: dict = {}
        moves = []
        for player, params, grad in (("min", xs, start.grad_x), ("max", ys, start.grad_y)):
            eta = self.scaled_step_sizes(player, grad, params, state)
            previous = self.stored(params, "previous_grad")
            optimistic = grad * 2.0 if previous is None else torch.sub(grad * 2.0, previous)
            moves.append(eta * optimistic)
            self.new_state(state, params, previous_grad=grad.clone())
        dx, dy = moves[0].neg_(), moves[1]
        if not self.finite(*start.objectives, dx, dy, where="the step"):
            return None
        return Move(dx, dy, state, {}, start)


class OptimisticAdam(_AdamPlayers):
    __doc__ = r"""Optimistic Adam (Daskalakis et al. 2018, "Training GANs with optimism", ICLR,
    Alg. 1; their code vsyrgkanis/optimistic_GAN_training, ``optimizer.py``, ``optimAdam``).

    With :math:`m_t, v_t` Adam's moments of the descent direction (:math:`\nabla_x f` for the min
    player, :math:`-\nabla_y f` for the max player) and
    :math:`\mathrm{lr}_t = \mathrm{lr}\sqrt{1 - \beta_2^t}/(1 - \beta_1^t)`,

    .. math::
        \theta_t = \theta_{t-1} - 2\,\mathrm{lr}_t \frac{m_t}{\sqrt{v_t} + \epsilon}
                   + \mathrm{lr}_t \frac{m_{t-1}}{\sqrt{v_{t-1}} + \epsilon},

    :math:`m_0 = v_0 = 0` (the second term vanishes at t = 1). One closure evaluation per step.
    State: ``exp_avg``, ``exp_avg_sq``, ``step`` per parameter.

    Args:
        {_players_doc}
        {_adam_doc}

    {_closure_doc}
    """

    def play(self, closure, start: Field, xs, ys) -> Move | None:
        state: dict = {}
        moves = []
        for player, params, direction in (("min", xs, start.grad_x), ("max", ys, -start.grad_y)):
            u, m, v = self.adam(player, direction, self.moments(params, direction), 1, optimistic=True)
            moves.append(u)
            self.new_state(state, params, exp_avg=m, exp_avg_sq=v)
        if not self.finite(*start.objectives, *moves, where="the step"):
            return None
        return Move(moves[0], moves[1], state, {}, start)


for _cls in (ExtraSGD, ExtraAdam, OGDA, OptimisticAdam):
    _cls.__doc__ = (
        _cls.__doc__.replace("{_players_doc}", _players_doc)
        .replace("{_rmsprop_doc}", _rmsprop_doc)
        .replace("{_adam_doc}", _adam_doc)
        .replace("{_closure_doc}", _closure_doc)
    )

__all__ = [
    "OGDA",
    "ExtraAdam",
    "ExtraSGD",
    "Extragradient",
    "OptimisticAdam",
    "adam_displacement",
    "adam_factor",
    "adam_moments",
]
