"""The batch stream: real batches and noise drawn from seeded ``torch.Generator`` objects.

Every draw of real data and noise in gan_experiments goes through :class:`BatchStream`: the
frameworks' training steps (one stream per player pair), SGAN's global discriminator, the ICR
MNIST analyses and the equilibrium test. Its ``state_dict`` holds the generators' states, so a
run resumed from a checkpoint draws exactly the batches it would have drawn.
"""

from __future__ import annotations

from collections.abc import Callable

import torch
from torch import Tensor

from .parallel import place


class BatchStream:
    """``next()`` returns a real batch of ``sample_real(batch_size, data)`` and noise
    ``z ~ N(0, I)`` of shape (batch_size, latent_dim) from ``noise``, both moved to ``device``.

    ``noise`` also serves the draws a step makes besides z (WGAN-GP's interpolation weights).
    Without ``data_seed`` one generator serves both (real batch first, then z).
    """

    def __init__(
        self,
        sample_real: Callable[[int, torch.Generator], Tensor],
        batch_size: int,
        latent_dim: int,
        *,
        noise_seed: int,
        data_seed: int | None = None,
        device: str | torch.device = "cpu",
    ) -> None:
        self.sample_real, self.batch_size, self.latent_dim = sample_real, batch_size, latent_dim
        self.device = torch.device(device)
        self.noise = torch.Generator().manual_seed(noise_seed)
        self.data = self.noise if data_seed is None else torch.Generator().manual_seed(data_seed)

    @classmethod
    def for_run(cls, sample_real, batch_size: int, latent_dim: int, seed: int, device="cpu") -> BatchStream:
        """A training pair's stream of run ``seed``: noise from ``seed``, real batches from ``seed + 1``."""
        return cls(sample_real, batch_size, latent_dim, noise_seed=seed, data_seed=seed + 1, device=device)

    def next(self) -> tuple[Tensor, Tensor]:
        """This rank's rows of the global batch and noise (all of them in one process)."""
        shard = place().shard
        real = shard(self.sample_real(self.batch_size, self.data)).to(self.device)
        z = shard(torch.randn(self.batch_size, self.latent_dim, generator=self.noise)).to(self.device)
        return real, z

    def state_dict(self) -> dict:
        return {"noise": self.noise.get_state(), "data": self.data.get_state()}

    def load_state_dict(self, state: dict) -> None:
        self.noise.set_state(state["noise"])
        self.data.set_state(state["data"])
