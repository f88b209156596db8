r"""Dynamic loss scaling for float16 training, as ``torch.amp.GradScaler`` does it, for closures.

A float16 forward pass (``torch.autocast(..., dtype=torch.float16)`` inside the closure) has
gradients, and mixed Hessian-vector products, that underflow to zero where float32's would not.
Loss scaling differentiates :math:`S f` instead of :math:`f`: every gradient and every mixed
product is then :math:`S` times the true one, far from float16's underflow, and is divided by
:math:`S` before the optimizer uses it. When a step meets an infinite or NaN value (the scale was
too large), the step is skipped, parameters and optimizer state exactly as before, and
:math:`S` is multiplied by ``backoff_factor``; after ``growth_interval`` steps in a row without
one, :math:`S` is multiplied by ``growth_factor`` (Micikevicius et al. 2018, "Mixed precision
training", Sec. 3.2; the defaults are ``GradScaler``'s).

torch's ``GradScaler`` cannot serve here: it refuses closures (``scaler.step(opt, closure)``) and
unscales ``.grad``, which these optimizers do not use. Each optimizer therefore holds its own
scale, in its ``state_dict`` (``state["loss_scaling"]``), so that a resumed run continues bitwise.
"""

from __future__ import annotations

import dataclasses
from typing import Any

import torch


@dataclasses.dataclass(frozen=True)
class LossScaling:
    """Options of dynamic loss scaling (``loss_scaling=LossScaling(...)``; ``loss_scaling=True``
    takes these defaults, ``torch.amp.GradScaler``'s).

    Args:
        init_scale: the first scale :math:`S`.
        growth_factor: :math:`S` is multiplied by it after ``growth_interval`` good steps, > 1.
        backoff_factor: :math:`S` is multiplied by it after a skipped step, in (0, 1).
        growth_interval: good steps in a row before the scale grows, >= 1.
    """

    init_scale: float = 2.0**16
    growth_factor: float = 2.0
    backoff_factor: float = 0.5
    growth_interval: int = 2000

    def __post_init__(self) -> None:
        if not self.init_scale > 0:
            raise ValueError(f"Invalid init_scale value: {self.init_scale}")
        if not self.growth_factor > 1:
            raise ValueError(f"Invalid growth_factor value: {self.growth_factor}; expected > 1")
        if not 0 < self.backoff_factor < 1:
            raise ValueError(f"Invalid backoff_factor value: {self.backoff_factor}; expected in (0, 1)")
        if not (isinstance(self.growth_interval, int) and self.growth_interval >= 1):
            raise ValueError(f"Invalid growth_interval value: {self.growth_interval}")


def loss_scaling_options(value: Any) -> LossScaling | None:
    """The ``loss_scaling`` argument as options: False or None (off), True (the defaults) or a
    :class:`LossScaling`; anything else is a TypeError naming what it takes."""
    if value is None or value is False:
        return None
    if value is True:
        return LossScaling()
    if isinstance(value, LossScaling):
        return value
    raise TypeError(
        f"Invalid loss_scaling: {value!r}; expected False, True or cgd_optim.LossScaling(...) (torch.amp.GradScaler "
        "refuses closures; the optimizer scales the closure's value itself)"
    )


def initial_state(options: LossScaling) -> dict[str, Any]:
    """The scaler's state before the first step: the initial scale, no good steps, none skipped."""
    return {"scale": float(options.init_scale), "growth_tracker": 0, "skipped_steps": 0}


def after_step(state: dict[str, Any], options: LossScaling, *, finite: bool) -> dict[str, Any]:
    """The scaler's state after a step (a new dict): backed off and counted as skipped when the
    step met a non-finite value, grown after ``growth_interval`` finite steps in a row."""
    if not finite:
        return {
            "scale": state["scale"] * options.backoff_factor,
            "growth_tracker": 0,
            "skipped_steps": state["skipped_steps"] + 1,
        }
    tracker = state["growth_tracker"] + 1
    if tracker == options.growth_interval:
        return {**state, "scale": state["scale"] * options.growth_factor, "growth_tracker": 0}
    return {**state, "growth_tracker": tracker}


def statistics(used: dict[str, Any], after: dict[str, Any]) -> dict[str, torch.Tensor]:
    """The ``step_stats`` entries of a scaled step: ``loss_scale``, the scale the step used (from
    the state ``used`` before it), and ``skipped_steps`` so far (from the state ``after`` it)."""
    return {"loss_scale": torch.tensor(used["scale"]), "skipped_steps": torch.tensor(after["skipped_steps"])}
