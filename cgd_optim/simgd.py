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
    ) -> None:
        super().__init__(
            min_params,
            max_params,
            dict(lr=lr, alternating=bool(alternating)),
            lr_min,
            lr_max,
            process_group=process_group,
        )

    @torch.no_grad()
    def step(self, closure):
        """Take one step; returns exactly what the (first) closure evaluation returned."""
        alternating = self.param_groups[0]["alternating"]
        if alternating and not callable(closure):
            raise ValueError("SimGD(alternating=True) evaluates the objective twice per step and needs a closure")
        returned, f_min, f_max, zero_sum = self._evaluate(closure)
        xs, ys = self._players()
        lr_x, lr_y = step_size(self.param_groups[0]["lr"]), step_size(self.param_groups[1]["lr"])
        communicator = self._communicator()
        if not alternating:
            grad_x, grad_y, _, _ = self._game_gradients(f_min, f_max, xs, ys, zero_sum, create_graph=False)
            both = average_tensors(grad_x + grad_y, communicator)  # one collective for both players
            grad_x, grad_y = both[: len(grad_x)], both[len(grad_x) :]
            self._check_finite(f_min.detach(), f_max.detach(), *grad_x, *grad_y, group=communicator)
            torch._foreach_add_(xs, grad_x, alpha=-lr_x)
            torch._foreach_add_(ys, grad_y, alpha=lr_y)
        else:
            with torch.enable_grad():
                raw_y = gradients(f_max, ys, create_graph=False, require_any=False)
                _require_influence(raw_y, "max", "f_max")
                grad_y = average_tensors(zeros_for_none(raw_y, ys), communicator)
            self._check_finite(f_max.detach(), *grad_y, group=communicator)
            saved_y = [y.clone() for y in ys]
            torch._foreach_add_(ys, grad_y, alpha=lr_y)
            try:
                _, f_min_after, _, _ = self._evaluate(closure)
                with torch.enable_grad():
                    raw_x = gradients(f_min_after, xs, create_graph=False, require_any=False)
                    _require_influence(raw_x, "min", "f_min")
                    grad_x = average_tensors(zeros_for_none(raw_x, xs), communicator)
                self._check_finite(f_min_after.detach(), *grad_x, group=communicator)
            except BaseException:
                torch._foreach_copy_(ys, saved_y)  # a failed step leaves the max player where it was
                raise
            torch._foreach_add_(xs, grad_x, alpha=-lr_x)
        for group in self.param_groups:
            for p in group["params"]:
                if p.requires_grad:
                    self.state[p]["step"] = self.state.get(p, {}).get("step", 0) + 1
        zero = torch.zeros((), dtype=torch.int64)
        self.step_stats = step_statistics(zero, torch.zeros(()), zero.clone(), torch.ones((), dtype=torch.bool))
        return returned
