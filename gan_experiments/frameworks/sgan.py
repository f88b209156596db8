r"""SGAN (Chavdarova & Fleuret, 001_3a80826152659ddc.txt Sec. 3, Algorithm 1).

N independent local pairs :math:`(G_n, D_n)` train a global pair :math:`(G_0, D_0)`; per iteration:

1. every local pair plays one step of its own GAN (lines 4-13), with its own optimizer, noise
   ``torch.Generator`` and real-batch sampler;
2. the messenger discriminators :math:`D^{msg}_n` are re-cloned from the :math:`D_n` (line 14);
3. :math:`G_0` and the messengers play one step of the game
   :math:`\min_{G_0} \max_{D^{msg}_1..D^{msg}_N} \sum_n V(G_0, D^{msg}_n)` (lines 15-26 with
   :math:`I_D = 1`; the sum is what Algorithm 1's accumulated ``backprop`` calls compute): G0 is
   the min player, the N messengers together the max player, played by any optimizer. An
   :class:`~gan_experiments.trainer.AdamPair` steps the messengers first and then G0 against
   them, Algorithm 1's order; CGD, ACGD and SimGD move both at once;
4. :math:`D_0` takes one torch-optimizer step on V against all local generators, which it
   cannot influence (lines 27-31).

The global pair reads the local pairs' weights and writes nothing of theirs, and every stream of
random numbers belongs to one pair (:func:`derived_seed`), so the local pairs' trajectories are
bit-for-bit the same with and without the global pair. The supplement's toy networks are
4-layer MLPs with 512 units and noise dimension 100 (004_89f0dcf34a0d068d.txt Sec. 1.1).
"""

from __future__ import annotations

import copy
import hashlib
from typing import Callable

import torch
from torch import Tensor, nn

from ..losses import game_objective
from ..trainer import Trainer, _pair, set_gradients
from .standard import StandardGAN, clip_weights


def derived_seed(seed: int, *stream) -> int:
    """A 63-bit seed for the random stream named ``stream`` of run ``seed``.

    Hash-derived, so a stream's numbers do not depend on which other streams exist (the
    isolation of the local pairs) and nearby run seeds give unrelated streams.
    """
    digest = hashlib.sha256(repr((int(seed), *stream)).encode()).digest()
    return int.from_bytes(digest[:8], "little") >> 1


def _sum(values: list) -> Tensor | tuple[Tensor, Tensor]:
    if isinstance(values[0], Tensor):
        return sum(values)
    return sum(v[0] for v in values), sum(v[1] for v in values)


class MessengerGame(nn.Module):
    r"""G0 (min player) against the messengers (together the max player): f = Σ_n V(G0, D^msg_n)."""

    def __init__(self, generator: nn.Module, messengers: list[nn.Module], latent_dim: int, *, loss: str,
                 gp_weight: float = 10.0, l2: float = 0.0, weight_clip: float = 0.0) -> None:
        super().__init__()
        self.generator, self.messengers = generator, nn.ModuleList(messengers)
        self.latent_dim, self.loss, self.gp_weight, self.l2 = latent_dim, loss, gp_weight, l2
        self.weight_clip = weight_clip

    def min_parameters(self) -> list[Tensor]:
        return list(self.generator.parameters())

    def max_parameters(self) -> list[Tensor]:
        return list(self.messengers.parameters())

    def objective(self, real: Tensor, z: Tensor, generator: torch.Generator | None = None):
        fake = self.generator(z)
        return _sum([game_objective(self.loss, messenger, real, [fake], gp_weight=self.gp_weight, l2=self.l2,
                                    generator=generator) for messenger in self.messengers])

    @torch.no_grad()
    def refresh(self, discriminators: list[nn.Module]) -> None:
        """Line 14: every messenger becomes a copy of its local discriminator (weights and buffers).

        The copy is in place, so the optimizer keeps holding the same tensors; its running
        statistics for the messengers carry over between iterations (as the N messenger
        optimizers of a parallel implementation would) and are not reset.
        """
        for messenger, source in zip(self.messengers, discriminators):
            for mine, theirs in zip(messenger.state_dict().values(), source.state_dict().values()):
                mine.copy_(theirs)

    def project_discriminator(self) -> None:
        """WGAN-WC on the messengers (:func:`clip_weights`)."""
        clip_weights(self.messengers, self.weight_clip)


class SGAN(nn.Module):
    """The N local pairs, the global pair and the messengers (cloned from the local D_n)."""

    def __init__(self, local_pairs: list[StandardGAN], global_pair: StandardGAN) -> None:
        super().__init__()
        self.local_pairs, self.global_pair = nn.ModuleList(local_pairs), global_pair
        self.latent_dim = global_pair.latent_dim
        messengers = [copy.deepcopy(pair.discriminator) for pair in local_pairs]
        self.messenger_game = MessengerGame(global_pair.generator, messengers, global_pair.latent_dim,
                                            loss=global_pair.loss, gp_weight=global_pair.gp_weight,
                                            l2=global_pair.l2, weight_clip=global_pair.weight_clip)

    def global_discriminator_value(self, real: Tensor, z: Tensor, generator: torch.Generator | None = None) -> Tensor:
        """What D0 maximizes: V (its critic side, with penalties) averaged over the local generators'
        fakes on one z; Algorithm 1 sums them, a scale that Adam-type optimizers do not see."""
        with torch.no_grad():
            fakes = [pair.generator(z) for pair in self.local_pairs]
        pair = self.global_pair
        value = game_objective(pair.loss, pair.discriminator, real, fakes, gp_weight=pair.gp_weight, l2=pair.l2,
                               generator=generator)
        return _pair(value)[1]

    @torch.no_grad()
    def sample(self, n: int, generator: torch.Generator | None = None) -> Tensor:
        """Samples of G0, SGAN's output."""
        return self.global_pair.sample(n, generator)

    @torch.no_grad()
    def sample_by_generator(self, n: int, generator: torch.Generator | None = None) -> list[Tensor]:
        """``n`` samples of each local generator."""
        return [pair.sample(n, generator) for pair in self.local_pairs]


class SGANTrainer:
    """One SGAN iteration per :meth:`train_step`, built from one :class:`Trainer` per local pair and
    one for the messenger game; ``train_global=False`` trains the local pairs alone (the N
    independent GANs the isolation property compares with)."""

    def __init__(self, sgan: SGAN, local_optimizers: list, messenger_optimizer, global_discriminator_optimizer,
                 sample_real: Callable[[int, torch.Generator], Tensor], *, batch_size: int, seed: int,
                 device: str | torch.device = "cpu", train_global: bool = True) -> None:
        self.framework, self.sample_real, self.batch_size = sgan, sample_real, batch_size
        self.device, self.train_global = torch.device(device), train_global
        self.local = [Trainer(pair, optimizer, sample_real, batch_size=batch_size, seed=derived_seed(seed, "pair", n),
                              device=device) for n, (pair, optimizer) in enumerate(zip(sgan.local_pairs, local_optimizers))]
        self.messengers = Trainer(sgan.messenger_game, messenger_optimizer, sample_real, batch_size=batch_size,
                                  seed=derived_seed(seed, "messengers"), device=device)
        self.global_discriminator_optimizer = global_discriminator_optimizer
        self.noise = torch.Generator().manual_seed(derived_seed(seed, "global discriminator"))
        self.data = torch.Generator().manual_seed(derived_seed(seed, "global discriminator", "data"))
        self.step_count = 0

    def train_step(self) -> dict:
        """Algorithm 1, one iteration; returns the local, messenger-game and D0 values."""
        local = [trainer.train_step() for trainer in self.local]
        row = {"step": self.step_count + 1, "local": local}
        if self.train_global:
            self.framework.messenger_game.refresh([pair.discriminator for pair in self.framework.local_pairs])
            row["messengers"] = self.messengers.train_step()
            row["global_discriminator"] = self._global_discriminator_step()
        self.step_count += 1
        row["f_min"], row["f_max"] = (row["messengers"]["f_min"], row["messengers"]["f_max"]) if self.train_global else (
            local[0]["f_min"], local[0]["f_max"])
        return row

    def _global_discriminator_step(self) -> float:
        real = self.sample_real(self.batch_size, self.data).to(self.device)
        z = torch.randn(self.batch_size, self.framework.latent_dim, generator=self.noise).to(self.device)
        value = self.framework.global_discriminator_value(real, z, generator=self.noise)
        set_gradients(list(self.framework.global_pair.discriminator.parameters()), -value)  # ascend V
        self.global_discriminator_optimizer.step()
        self.framework.global_pair.project_discriminator()
        return float(value.detach())

    def run(self, steps: int) -> list[dict]:
        return [self.train_step() for _ in range(steps)]

    def state_dict(self) -> dict:
        return {
            "framework": self.framework.state_dict(),
            "local": [trainer.state_dict() for trainer in self.local],
            "messengers": self.messengers.state_dict(),
            "global_discriminator_optimizer": self.global_discriminator_optimizer.state_dict(),
            "noise": self.noise.get_state(),
            "data": self.data.get_state(),
            "step": self.step_count,
        }

    def load_state_dict(self, state: dict) -> None:
        for trainer, saved in zip(self.local, state["local"]):
            trainer.load_state_dict(saved)
        self.messengers.load_state_dict(state["messengers"])
        self.framework.load_state_dict(state["framework"])
        self.global_discriminator_optimizer.load_state_dict(state["global_discriminator_optimizer"])
        self.noise.set_state(state["noise"])
        self.data.set_state(state["data"])
        self.step_count = int(state["step"])
