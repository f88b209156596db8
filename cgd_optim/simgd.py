r"""Simultaneous and alternating gradient descent-ascent (SimGD), the ICR paper's baseline."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import torch
from torch import Tensor

from ._base import TwoPlayerOptimizer, _closure_doc, _players_doc, _require_influence, step_size, step_statistics
from .autodiff import gradients, zeros_for_none
from .distributed import average_tensors


class SimGD(TwoPlayerOptimizer):
    __doc__ = r"""Gradient descent-ascent with per-player step sizes (ICR paper Sec. 3-4, eq. (3)).

    Simultaneous (default):

    .. math::
        x_{k+1} = x_k - \eta_x \nabla_x f_{min}(x_k, y_k),\qquad
        y_{k+1} = y_k + \eta_y \nabla_y f_{max}(x_k, y_k).

    Alternating (``alternating=True``): the max player steps first,
    :math:`y_{k+1} = y_k + \eta_y \nabla_y f_{max}(x_k, y_k)`, then the closure is
    evaluated again and :math:`x_{k+1} = x_k - \eta_x \nabla_x f_{min}(x_k, y_{k+1})`.
    This needs a closure (a loss tensor is refused with ValueError).
    :math:`\eta_x` = ``lr_min``, :math:`\eta_y` = ``lr_max``.

    Args:
        {_players_doc}
        alternating: step the players one after the other (max player first).

    {_closure_doc}

    ``step_stats`` has the keys of CGD's (no linear solve: zero iterations and products).
    """.replace("{_players_doc}", _players_doc).replace("{_closure_doc}", _closure_doc)

    hyperparameters = ("alternating",)

    def __init__(
        self,
        min_params: Iterable[Tensor],
        max_params: Iterable[Tensor],
        lr: float = 1e-3,
        lr_min: float | None = None,
        lr_max: float | None = None,
        alternating: bool = False,
        *,
        process_group: Any = "auto",
        weight_decay: float = 0.0,
        keep_gradients: bool = False,
        loss_scaling: Any = False,
    ) -> None:
        super().__init__(
            min_params,
            max_params,
            dict(lr=lr, alternating=bool(alternating)),
            lr_min,
            lr_max,
            process_group=process_group,
            weight_decay=weight_decay,
            keep_gradients=keep_gradients,
            loss_scaling=loss_scaling,
        )

    @torch.no_grad()
    def step(self, closure):
        """Take one step; returns exactly what the (first) closure evaluation returned."""
        alternating = self.param_groups[0]["alternating"]
        if alternating and not callable(closure):
            raise ValueError("SimGD(alternating=True) evaluates the objective twice per step and needs a closure")
        returned, f_min, f_max, zero_sum = self._evaluate(closure)
        xs, ys = self._players()
        scale = self.loss_scale()
        moved = (
            self._alternating(closure, f_max, xs, ys, scale)
            if alternating
            else self._simultaneous(f_min, f_max, zero_sum, xs, ys, scale)
        )
        if moved is None:  # loss scaling met a non-finite value: skipped, nothing changed
            self.step_stats = {**self._no_solve(), **self._after_scaled_step(finite=False)}
            return returned
        grad_x, grad_y = moved
        for group in self.param_groups:
            for p in group["params"]:
                if p.requires_grad:
                    self.state[p]["step"] = self.state.get(p, {}).get("step", 0) + 1
        self._leave_gradients([*xs, *ys], [*grad_x, *grad_y])
        norms = {"grad_norm_min": _norm(grad_x), "grad_norm_max": _norm(grad_y)}
        self.step_stats = {**self._no_solve(), **norms, **self._after_scaled_step(finite=True)}
        return returned

    @staticmethod
    def _no_solve() -> dict[str, Tensor]:
        zero = torch.zeros((), dtype=torch.int64)
        return step_statistics(zero, torch.zeros(()), zero.clone(), torch.ones((), dtype=torch.bool))

    def _simultaneous(self, f_min, f_max, zero_sum, xs, ys, scale):
        """Both players move from the same point; (grad_x, grad_y), or None for a skipped step."""
        if scale is not None:
            with torch.enable_grad():  # S f, differentiated below
                f_min, f_max = f_min * scale, (f_min * scale if zero_sum else f_max * scale)
        grad_x, grad_y, _, _ = self._game_gradients(f_min, f_max, xs, ys, zero_sum, create_graph=False)
        communicator = self._communicator()
        both = _unscaled(average_tensors(grad_x + grad_y, communicator), scale)  # one collective for both players
        grad_x, grad_y = both[: len(grad_x)], both[len(grad_x) :]
        if not self._finite_unless_scaled(f_min.detach(), f_max.detach(), *grad_x, *grad_y, group=communicator):
            return None
        self._decay_weights()
        self._move("min", grad_x, -1.0)
        self._move("max", grad_y, 1.0)
        return grad_x, grad_y

    def _alternating(self, closure, f_max, xs, ys, scale):
        """The max player moves first, then the min player from the new point; (grad_x, grad_y),
        or None for a skipped step (the max player back where it was)."""
        communicator = self._communicator()
        grad_y = self._player_gradient(f_max, ys, "max", "f_max", scale)
        if not self._finite_unless_scaled(f_max.detach(), *grad_y, group=communicator):
            return None
        saved_y = [y.clone() for y in ys]  # only the max player moves before the second evaluation
        self._decay_weights("max")
        self._move("max", grad_y, 1.0)
        try:
            _, f_min_after, _, _ = self._evaluate(closure)
            grad_x = self._player_gradient(f_min_after, xs, "min", "f_min", scale)
            finite = self._finite_unless_scaled(f_min_after.detach(), *grad_x, group=communicator)
        except BaseException:
            torch._foreach_copy_(ys, saved_y)  # a failed step leaves the max player where it was
            raise
        if not finite:
            torch._foreach_copy_(ys, saved_y)
            return None
        self._decay_weights("min")
        self._move("min", grad_x, -1.0)
        return grad_x, grad_y

    def _player_gradient(self, objective: Tensor, params: list[Tensor], player: str, name: str, scale) -> list:
        """One player's gradient of its objective (of S times it with loss scaling, divided by S),
        averaged over the ranks."""
        with torch.enable_grad():
            raw = gradients(
                objective if scale is None else objective * scale, params, create_graph=False, require_any=False
            )
            _require_influence(raw, player, name)
            return _unscaled(average_tensors(zeros_for_none(raw, params), self._communicator()), scale)

    def _move(self, player: str, grads: list[Tensor], sign: float) -> None:
        """Each of the player's groups by sign * its lr * its gradients."""
        offset = 0
        for group, params in self.segments(player):
            torch._foreach_add_(params, grads[offset : offset + len(params)], alpha=sign * step_size(group["lr"]))
            offset += len(params)


def _unscaled(grads: list[Tensor], scale: float | None) -> list[Tensor]:
    return grads if scale is None else torch._foreach_mul(grads, 1.0 / scale)


def _norm(grads: list[Tensor]) -> Tensor:
    """The Euclidean norm of a player's whole gradient."""
    return torch.linalg.vector_norm(torch.stack(torch._foreach_norm(grads)))
