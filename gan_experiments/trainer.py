"""The one training loop every framework shares, and the Adam pair it can use instead of a
competitive optimizer.

A framework provides ``min_parameters()``, ``max_parameters()`` and ``objective(real, z)``
returning f or (f_min, f_max) in cgd_optim's convention; the optimizer is any object with
``step(closure)``, ``state_dict()`` and ``load_state_dict()``: cgd_optim's ACGD, CGD, SimGD,
:class:`AdamPair`, or cgd_optim's ProximalMinimax (whose step also takes the real batch). Noise and real batches come from two ``torch.Generator``s seeded from the run
seed, whose states are part of the checkpoint, so a resumed run is bit-identical.
"""

from __future__ import annotations

from typing import Callable

import torch
from torch import Tensor

from cgd_optim import ProximalMinimax


def _pair(value) -> tuple[Tensor, Tensor]:
    return (value, value) if isinstance(value, Tensor) else (value[0], value[1])


def set_gradients(params: list[Tensor], value: Tensor) -> None:
    """``p.grad`` = d value / d p for a torch optimizer's step (zeros where value does not depend on p)."""
    grads = torch.autograd.grad(value, params, allow_unused=True)
    for p, g in zip(params, grads):
        p.grad = torch.zeros_like(p) if g is None else g


class AdamPair:
    """Each player its own ``torch.optim.Adam``; per step the discriminator ascends f_max, then the
    generator descends f_min against the updated discriminator (the official Stackelberg code's
    order; the closure is evaluated once for each)."""

    def __init__(self, min_params, max_params, lr: float = 2e-4, betas: tuple[float, float] = (0.5, 0.999), *,
                 max_projection: Callable[[], None] | None = None) -> None:
        self.min_params, self.max_params = list(min_params), list(max_params)
        self.max_projection = max_projection  # e.g. weight clipping, before G plays against the new D
        self.min_optimizer = torch.optim.Adam(self.min_params, lr=lr, betas=betas)
        self.max_optimizer = torch.optim.Adam(self.max_params, lr=lr, betas=betas, maximize=True)
        self.step_stats: dict = {}

    def max_step(self, closure: Callable[[], object]):
        """The discriminator's ascent step alone (a WGAN critic iteration); returns the closure's value."""
        returned = closure()
        set_gradients(self.max_params, _pair(returned)[1])
        self.max_optimizer.step()
        if self.max_projection is not None:
            self.max_projection()
        return returned

    def step(self, closure: Callable[[], object]):
        returned = self.max_step(closure)
        set_gradients(self.min_params, _pair(closure())[0])
        self.min_optimizer.step()
        return returned

    def state_dict(self) -> dict:
        return {"min": self.min_optimizer.state_dict(), "max": self.max_optimizer.state_dict()}

    def load_state_dict(self, state: dict) -> None:
        self.min_optimizer.load_state_dict(state["min"])
        self.max_optimizer.load_state_dict(state["max"])


class Trainer:
    """Draws a real batch and the noise, and lets the optimizer play one step of the framework's game.

    ``critic_steps`` > 1 (an :class:`AdamPair` only): that many discriminator steps per generator
    step, each on a fresh batch and fresh noise, the last one inside the joint step (WGAN-GP's
    5 critic iterations, Gulrajani et al. 2017)."""

    def __init__(self, framework, optimizer, sample_real: Callable[[int, torch.Generator], Tensor], *,
                 batch_size: int, seed: int, device: str | torch.device = "cpu", critic_steps: int = 1) -> None:
        if critic_steps < 1:
            raise ValueError(f"Invalid critic_steps: {critic_steps}")
        if critic_steps > 1 and not isinstance(optimizer, AdamPair):
            raise ValueError(f"critic_steps = {critic_steps} needs an AdamPair: {type(optimizer).__name__} moves both "
                             "players in every step")
        self.critic_steps = critic_steps
        self.framework, self.optimizer, self.sample_real = framework, optimizer, sample_real
        self.batch_size, self.device = batch_size, torch.device(device)
        self.noise = torch.Generator().manual_seed(seed)
        self.data = torch.Generator().manual_seed(seed + 1)
        self.step_count = 0
        self.hvp_count = 0  # mixed Hessian-vector products so far (CGD / ACGD; ICR Fig. 9's second axis)

    def _closure(self):
        real = self.sample_real(self.batch_size, self.data).to(self.device)
        z = torch.randn(self.batch_size, self.framework.latent_dim, generator=self.noise).to(self.device)
        return real, lambda: self.framework.objective(real, z, generator=self.noise)

    def train_step(self) -> dict:
        """One update (after ``critic_steps - 1`` discriminator steps); returns the objective's values as floats."""
        for _ in range(self.critic_steps - 1):
            self.optimizer.max_step(self._closure()[1])
        real, closure = self._closure()
        if isinstance(self.optimizer, ProximalMinimax):  # its inner ascent penalises D's input gradients on `real`
            value = self.optimizer.step(closure, real)
        else:
            value = self.optimizer.step(closure)
        project = getattr(self.framework, "project_discriminator", None)
        if project is not None:  # WGAN-WC after a joint step; idempotent after AdamPair's own
            project()
        self.step_count += 1
        self.hvp_count += int(getattr(self.optimizer, "step_stats", {}).get("hvp_count", 0))
        f_min, f_max = _pair(value)
        return {"step": self.step_count, "f_min": float(f_min.detach()), "f_max": float(f_max.detach()),
                "hvp_count": self.hvp_count}

    def run(self, steps: int) -> list[dict]:
        return [self.train_step() for _ in range(steps)]

    def state_dict(self) -> dict:
        return {
            "framework": self.framework.state_dict(),
            "optimizer": self.optimizer.state_dict(),
            "noise": self.noise.get_state(),
            "data": self.data.get_state(),
            "step": self.step_count,
            "hvp_count": self.hvp_count,
        }

    def load_state_dict(self, state: dict) -> None:
        self.framework.load_state_dict(state["framework"])
        self.optimizer.load_state_dict(state["optimizer"])
        self.noise.set_state(state["noise"])
        self.data.set_state(state["data"])
        self.step_count = int(state["step"])
        self.hvp_count = int(state.get("hvp_count", 0))
