r"""Proximal training of GANs: Algorithm 1 "GAN Proximal Training" of Farnia & Ozdaglar
(Farnia & Ozdaglar 2020, "Do GANs always have Nash equilibria?", Sec. 4-5).

The generator minimizes the proximal objective (11)

.. math::
    V^{prox}_\lambda(G, D_{w_k}) = \max_w\ V(G, D_w) - \lambda \|D_w - D_{w_k}\|^2,

with the Sobolev semi-norm (15) estimated on the real batch :math:`x_1..x_n`,

.. math::
    \|D_w - D_{w_k}\|^2_{\dot H^1} \approx \frac1n \sum_i \|\nabla_x D_w(x_i) - \nabla_x D_{w_k}(x_i)\|_2^2 ,

and, by Proposition 4 (eq. (14)), its gradient is :math:`\nabla_\theta V(G_\theta, D_{w^*})`
at the maximizer :math:`w^*`.  Algorithm 1 writes the penalty as
:math:`\frac{\lambda}{2n}\sum_i`, so its :math:`\lambda` is twice ours; ours matches (11) and (19).
"""

from __future__ import annotations

import copy
from collections.abc import Callable
from typing import Any

import torch
from torch import Tensor, nn
from torch.optim import Optimizer

from .autodiff import refuse_sparse, zeros_for_none
from .distributed import average_tensors, check_process_group, reduce_finiteness_, resolve_process_group
from .scaling import after_step, initial_state, loss_scaling_options
from .scaling import statistics as scaling_statistics

PENALTIES = ("sobolev", "parameter")


def input_gradients(discriminator: nn.Module, real: Tensor, *, create_graph: bool) -> Tensor:
    r"""Per-sample :math:`\nabla_x D(x_i)`, shape of ``real``.

    Differentiates :math:`\sum_i D(x_i)`, which gives per-sample gradients for a
    discriminator without interaction between samples (no batch norm in train mode).
    """
    with torch.enable_grad():
        inputs = real.detach().requires_grad_(True)
        (grad,) = torch.autograd.grad(discriminator(inputs).sum(), inputs, create_graph=create_graph)
    return grad


def sobolev_distance(discriminator: nn.Module, real: Tensor, anchor_gradients: Tensor) -> Tensor:
    r""":math:`\frac1n \sum_i \|\nabla_x D_w(x_i) - \nabla_x D_{w_k}(x_i)\|^2`, differentiable in w (eq. (15))."""
    difference = input_gradients(discriminator, real, create_graph=True) - anchor_gradients
    return difference.pow(2).reshape(difference.shape[0], -1).sum(dim=1).mean()


def parameter_distance(params: list[Tensor], anchor: list[Tensor]) -> Tensor:
    r""":math:`\|w - w_k\|_2^2` over all discriminator parameters."""
    return sum((p - a).pow(2).sum() for p, a in zip(params, anchor))


class ProximalMinimax:
    r"""Proximal training (Algorithm 1 of Farnia & Ozdaglar 2020) around two torch.optim optimizers.

    Each ``step(closure, real)``, from the current discriminator :math:`w_k`:

    1. ``inner_steps`` (T) ascent steps of ``max_optimizer`` on
       :math:`V(G_\theta, D_w) - \lambda\, \mathrm{dist}(D_w, D_{w_k})`, where dist is the
       Sobolev distance of :func:`sobolev_distance` on ``real`` (``penalty="sobolev"``) or
       :math:`\|w - w_k\|^2` (``penalty="parameter"``); each followed by
       ``max_projection(discriminator)`` when given (e.g. weight clipping);
    2. one ``min_optimizer`` step with :math:`\nabla_\theta V(G_\theta, D_{w^*})`
       at the proximal solution (Proposition 4);
    3. the discriminator keeps :math:`w_{k+1} = w^*` (Algorithm 1), or returns to
       :math:`w_k` with ``keep_proximal_solution=False`` (the fixed-discriminator test of Sec. 6.1).

    The inner optimizers minimize, so the ascent is fed to ``max_optimizer`` as
    ``p.grad = -grad``; their own state (e.g. Adam moments) is never reset here.
    The closure returns :math:`V(G, D)` as a scalar tensor and must not call ``backward``.

    Args:
        discriminator: the module :math:`D_w`.
        min_optimizer: torch optimizer over the generator's parameters.
        max_optimizer: torch optimizer over exactly the discriminator's trainable parameters.
        lam: :math:`\lambda \ge 0` of (11); Algorithm 1 writes the Sobolev penalty with
            :math:`\lambda / 2`, so ``lam = 0.1`` is its :math:`\lambda = 0.2`.
        inner_steps: T, ascent steps per step (Sec. 6.2 uses 20).
        penalty: ``"sobolev"`` or ``"parameter"``.
        keep_proximal_solution: keep :math:`w^*` after the generator step.
        max_projection: callable applied to the discriminator after every ascent step.
        process_group: ``"auto"`` (default), None or a ``ProcessGroup``, as for ACGD: the inner
            and outer gradients are averaged over the group before each inner optimizer's step
            (each rank's ``real`` and closure are its shard; the Sobolev penalty's batch too).
        loss_scaling: ``True`` or a :class:`~cgd_optim.scaling.LossScaling` for float16 closures:
            every gradient is taken of S times the objective and divided by S before it is set; a
            step that meets a non-finite value is skipped (parameters and both optimizers' states
            restored) and S lowered instead of raising (:mod:`cgd_optim.scaling`); ``step_stats``
            then holds ``loss_scale`` and ``skipped_steps``. Default ``False``.

    Raises:
        ValueError: invalid hyperparameters, or optimizers that do not hold the right parameters.
        FloatingPointError: a non-finite objective or gradient during the step; parameters and
            both optimizers' states are restored to what they were before it.
    """

    def __init__(
        self,
        discriminator: nn.Module,
        *,
        min_optimizer: Optimizer,
        max_optimizer: Optimizer,
        lam: float = 0.1,
        inner_steps: int = 20,
        penalty: str = "sobolev",
        keep_proximal_solution: bool = True,
        max_projection: Callable[[nn.Module], None] | None = None,
        process_group: Any = "auto",
        loss_scaling: Any = False,
    ) -> None:
        check_process_group(process_group)
        self.loss_scaling = loss_scaling_options(loss_scaling)
        self.scaler_state = None if self.loss_scaling is None else initial_state(self.loss_scaling)
        self.step_stats: dict[str, Tensor] = {}
        if not isinstance(discriminator, nn.Module):
            raise TypeError(f"discriminator must be an nn.Module, got {type(discriminator).__name__}")
        for name, optimizer in (("min_optimizer", min_optimizer), ("max_optimizer", max_optimizer)):
            if not isinstance(optimizer, Optimizer):
                raise TypeError(f"{name} must be a torch.optim.Optimizer, got {type(optimizer).__name__}")
        if not (isinstance(lam, (int, float)) and lam >= 0.0):
            raise ValueError(f"Invalid lam value: {lam}")
        if not (isinstance(inner_steps, int) and inner_steps >= 1):
            raise ValueError(f"Invalid inner_steps value: {inner_steps}")
        if penalty not in PENALTIES:
            raise ValueError(f"Invalid penalty: {penalty!r}; expected one of {PENALTIES}")
        if max_projection is not None and not callable(max_projection):
            raise TypeError("max_projection must be callable (it receives the discriminator)")
        self.discriminator_params = [p for p in discriminator.parameters() if p.requires_grad]
        held = [p for group in max_optimizer.param_groups for p in group["params"]]
        if len(held) != len(self.discriminator_params) or {id(p) for p in held} != {
            id(p) for p in self.discriminator_params
        }:
            raise ValueError("max_optimizer must hold exactly the discriminator's trainable parameters")
        self.generator_params = [p for group in min_optimizer.param_groups for p in group["params"]]
        if {id(p) for p in self.generator_params} & {id(p) for p in self.discriminator_params}:
            raise ValueError("min_optimizer holds discriminator parameters; it must hold the generator's only")
        self.discriminator = discriminator
        self.min_optimizer, self.max_optimizer = min_optimizer, max_optimizer
        self.lam, self.inner_steps, self.penalty = float(lam), inner_steps, penalty
        self.keep_proximal_solution = keep_proximal_solution
        self.max_projection = max_projection
        self.process_group = process_group
        self.step_count = 0

    def _distance(self, real: Tensor, anchor: list[Tensor], anchor_gradients: Tensor | None) -> Tensor:
        if self.penalty == "sobolev":
            return sobolev_distance(self.discriminator, real, anchor_gradients)
        return parameter_distance(self.discriminator_params, anchor)

    def _snapshot(self) -> tuple:
        params = self.generator_params + self.discriminator_params
        return (
            [p.detach().clone() for p in params],
            copy.deepcopy(self.min_optimizer.state_dict()),
            copy.deepcopy(self.max_optimizer.state_dict()),
        )

    def _restore(self, snapshot: tuple) -> None:
        values, min_state, max_state = snapshot
        with torch.no_grad():
            for p, v in zip(self.generator_params + self.discriminator_params, values):
                p.copy_(v)
        self.min_optimizer.load_state_dict(min_state)
        self.max_optimizer.load_state_dict(max_state)

    @staticmethod
    def _set_grads(params: list[Tensor], grads: list[Tensor], sign: float) -> Tensor:
        """Write ``sign * grad`` into ``p.grad``; return whether all are finite (a tensor)."""
        for p, g in zip(params, grads):
            p.grad = g.detach() * sign if sign != 1.0 else g.detach()
        return torch.stack([torch.isfinite(g).all() for g in grads]).all()

    def step(self, closure: Callable[[], Tensor], real: Tensor) -> Tensor:
        """One outer iteration of Algorithm 1; returns V at the proximal solution (the generator's objective)."""
        if not callable(closure):
            raise TypeError("ProximalMinimax.step needs a closure returning V(G, D)")
        snapshot = self._snapshot()
        anchor = snapshot[0][len(self.generator_params) :]
        anchor_gradients = (
            input_gradients(self.discriminator, real, create_graph=False).detach()
            if self.penalty == "sobolev"
            else None
        )
        scale = None if self.scaler_state is None else self.scaler_state["scale"]
        try:
            communicator = resolve_process_group(self.process_group)
            value, finite = self._proximal_solution_and_generator_gradient(
                closure, real, anchor, anchor_gradients, communicator, scale
            )
            finite = bool(_all_ranks(finite, communicator))  # the step's one device read
            if not finite and scale is None:
                raise FloatingPointError(
                    "ProximalMinimax: non-finite objective or gradient; parameters and optimizer states restored"
                )
        except BaseException:
            self._restore(snapshot)
            raise
        if scale is not None:
            self._after_scaled_step(finite=finite)
            if not finite:  # skipped: everything as it was, the scale lowered
                self._restore(snapshot)
                return value
        self.min_optimizer.step()  # Proposition 4: grad_theta V(G_theta, D_{w*})
        if not self.keep_proximal_solution:
            with torch.no_grad():
                torch._foreach_copy_(self.discriminator_params, anchor)
        self.step_count += 1
        return value

    def _after_scaled_step(self, *, finite: bool) -> None:
        used, self.scaler_state = self.scaler_state, after_step(self.scaler_state, self.loss_scaling, finite=finite)
        self.step_stats = scaling_statistics(used, self.scaler_state)

    def _proximal_solution_and_generator_gradient(
        self, closure, real, anchor, anchor_gradients, communicator=None, scale: float | None = None
    ):
        """Steps 1-2 of Algorithm 1 up to the generator's gradient; (V at w*, all-finite flag).
        Gradients are averaged over ``communicator`` (one collective each) before they are set;
        with loss scaling they are of S times the objective, divided by S when set."""
        unit = 1.0 if scale is None else 1.0 / scale
        finite = torch.ones((), dtype=torch.bool, device=real.device)
        for _ in range(self.inner_steps):
            with torch.enable_grad():
                value = self._checked(closure())
                objective = value - self.lam * self._distance(real, anchor, anchor_gradients)
                scaled = objective if scale is None else objective * scale
                grads = torch.autograd.grad(scaled, self.discriminator_params, allow_unused=True)
            refuse_sparse(grads, self.discriminator_params)
            grads = average_tensors(zeros_for_none(grads, self.discriminator_params), communicator)
            finite = finite & torch.isfinite(scaled.detach()) & self._set_grads(self.discriminator_params, grads, -unit)
            self.max_optimizer.step()  # minimizing -objective is ascending the proximal objective
            if self.max_projection is not None:
                with torch.no_grad():
                    self.max_projection(self.discriminator)
        with torch.enable_grad():
            value = self._checked(closure())
            scaled = value if scale is None else value * scale
            grads = torch.autograd.grad(scaled, self.generator_params, allow_unused=True)
        refuse_sparse(grads, self.generator_params)
        grads = average_tensors(zeros_for_none(grads, self.generator_params), communicator)
        finite = finite & torch.isfinite(scaled.detach()) & self._set_grads(self.generator_params, grads, unit)
        return value, finite

    @staticmethod
    def _checked(value) -> Tensor:
        if not isinstance(value, Tensor) or value.numel() != 1:
            raise ValueError("the closure must return V(G, D) as a scalar tensor")
        if not value.requires_grad:
            raise ValueError("the closure's value has no autograd graph to the parameters")
        return value.reshape(())

    def state_dict(self) -> dict:
        """Both inner optimizers' states and the step count (and the loss scale, when scaling)."""
        state = {
            "min_optimizer": self.min_optimizer.state_dict(),
            "max_optimizer": self.max_optimizer.state_dict(),
            "step_count": self.step_count,
        }
        return state if self.scaler_state is None else {**state, "loss_scaling": dict(self.scaler_state)}

    def load_state_dict(self, state_dict: dict) -> None:
        """Restore what :meth:`state_dict` returned."""
        self.min_optimizer.load_state_dict(state_dict["min_optimizer"])
        self.max_optimizer.load_state_dict(state_dict["max_optimizer"])
        self.step_count = int(state_dict["step_count"])
        if self.loss_scaling is not None:
            self.scaler_state = dict(state_dict.get("loss_scaling", initial_state(self.loss_scaling)))


def _all_ranks(finite: Tensor, communicator) -> Tensor:
    """``finite`` on every rank: a rank's non-finite objective makes all of them restore and raise."""
    if communicator is None:
        return finite
    flag = torch.where(finite, 0.0, float("nan")).to(torch.float32)
    return torch.isfinite(reduce_finiteness_(flag, communicator))
