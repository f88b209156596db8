"""One game's players, its optimizer and its batch stream: the step every framework's training is made of.

The players (:class:`~gan_experiments.contracts.Players`) provide ``min_parameters()``,
``max_parameters()``, ``latent_dim``, ``objective(real, z, generator)`` returning f or
(f_min, f_max) in cgd_optim's convention, and ``play(optimizer, real, z, noise)``, one optimizer
step on a real batch and noise (the proximal GAN hands the real batch to ProximalMinimax;
WGAN-WC clips after the step). The optimizer is any
object with ``step``, ``state_dict`` and ``load_state_dict``; extra critic steps need its
``max_step`` (:class:`~gan_experiments.optimizers.AdamPair`).
"""

from __future__ import annotations

import time
from collections.abc import Callable

import torch

from cgd_optim.distributed import average_, resolve_process_group

from .costs import REPEATS, WorkCounter, operation_costs
from .losses import as_min_max
from .streams import BatchStream


def players_state(state: dict) -> dict:
    """The players' weights in a session's checkpoint (``"framework"`` in checkpoints written
    before the key was named ``"players"``)."""
    return state["players"] if "players" in state else state["framework"]


class GameSession:
    """``train_step()`` draws a batch and the noise from ``stream`` and lets the players play one step.

    ``critic_steps`` > 1: that many discriminator steps per generator step, each on a fresh batch
    and fresh noise, the last one inside the joint step (WGAN-GP's 5 critic iterations, Gulrajani
    et al. 2017, "Improved training of Wasserstein GANs", Algorithm 1)."""

    def __init__(
        self,
        players,
        optimizer,
        stream: BatchStream,
        *,
        critic_steps: int = 1,
        operations: Callable | None = None,
        cost_repeats: int = REPEATS,
    ) -> None:
        if critic_steps < 1:
            raise ValueError(f"Invalid critic_steps: {critic_steps}")
        if cost_repeats < 1:
            raise ValueError(f"Invalid cost_repeats: {cost_repeats}")
        if critic_steps > 1 and not hasattr(optimizer, "max_step"):
            raise ValueError(
                f"critic_steps = {critic_steps} needs an optimizer with a discriminator-only max_step "
                f"(the Adam pair): {type(optimizer).__name__} moves both players in every step"
            )
        self.players, self.optimizer, self.stream, self.critic_steps = players, optimizer, stream, critic_steps
        self.operations = operations  # () -> the last step's operations (optimizers.step_operations); None: not counted
        self.cost_repeats = cost_repeats  # timings per operation cost (costs.operation_costs)
        self.step_count = 0
        self.hvp_count = 0  # mixed Hessian-vector products so far (CGD / ACGD)
        self.work = WorkCounter()  # training seconds and gradient evaluations (ICR Fig. 9's x axes)

    def train_step(self) -> dict:
        """One update (after ``critic_steps - 1`` discriminator steps); returns the objective's values
        as floats, the products, training seconds and gradient evaluations so far (:mod:`~gan_experiments.costs`)."""
        start = time.perf_counter()
        noise = self.stream.noise
        for _ in range(self.critic_steps - 1):
            real, z = self.stream.next()
            self.optimizer.max_step(lambda: self.players.objective(real, z, generator=noise))
        real, z = self.stream.next()
        value = self.players.play(self.optimizer, real, z, noise)
        self.step_count += 1
        self.hvp_count += int(getattr(self.optimizer, "step_stats", {}).get("hvp_count", 0))
        # the global batch's values under torchrun (the mean of the ranks' slices), read once
        pair = torch.stack([v.detach().reshape(()).to(torch.float64) for v in as_min_max(value)])
        f_min, f_max = average_(pair, resolve_process_group("auto")).tolist()
        seconds = time.perf_counter() - start
        operations = self.operations() if self.operations is not None else None
        self.work.add(
            seconds,
            operations,
            lambda names: operation_costs(self.players, real, z, names, repeats=self.cost_repeats),
        )
        return {
            "step": self.step_count,
            "f_min": f_min,
            "f_max": f_max,
            "hvp_count": self.hvp_count,
            **self.work.values(),
        }

    def state_dict(self) -> dict:
        return {
            "players": self.players.state_dict(),
            "optimizer": self.optimizer.state_dict(),
            **self.stream.state_dict(),
            "step": self.step_count,
            "hvp_count": self.hvp_count,
            "work": self.work.state_dict(),
        }

    def load_state_dict(self, state: dict) -> None:
        self.players.load_state_dict(players_state(state))
        self.optimizer.load_state_dict(state["optimizer"])
        self.stream.load_state_dict(state)
        self.step_count = int(state["step"])
        self.hvp_count = int(state.get("hvp_count", 0))
        self.work.load_state_dict(state.get("work", {}))
