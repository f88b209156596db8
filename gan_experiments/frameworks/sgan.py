r"""SGAN (Chavdarova & Fleuret 2018, "SGAN: an alternative training of generative adversarial
networks", CVPR, Sec. 3, Algorithm 1); its registry entry ``sgan``.

N independent local pairs :math:`(G_n, D_n)` train a global pair :math:`(G_0, D_0)`; per iteration:

1. every local pair plays one step of its own GAN (lines 4-13), with its own optimizer, noise
   ``torch.Generator`` and real-batch sampler; with the Adam pair, ``optimizer.critic_steps`` is
   Algorithm 1's :math:`I_D` there (that many discriminator steps per generator step, each on a
   fresh batch and noise);
2. the messenger discriminators :math:`D^{msg}_n` are re-cloned from the :math:`D_n` (line 14);
3. :math:`G_0` and the messengers play one step of the game
   :math:`\min_{G_0} \max_{D^{msg}_1..D^{msg}_N} \sum_n V(G_0, D^{msg}_n)` (lines 15-26; the
   sum is what Algorithm 1's accumulated ``backprop`` calls compute): G0 is the min player, the
   N messengers together the max player, played by any optimizer. An
   :class:`~gan_experiments.optimizers.AdamPair` steps the messengers first, ``sgan.messenger_steps``
   times (:math:`I_D` of line 16, fresh batch and noise each), and then G0 against them,
   Algorithm 1's order; CGD, ACGD and SimGD move both at once, so for them :math:`I_D` is 1
   (larger values are refused);
4. :math:`D_0` takes one torch-optimizer step on V against all local generators, which it
   cannot influence (lines 27-31).

The global pair reads the local pairs' weights and writes nothing of theirs, and every stream of
random numbers belongs to one pair (:func:`derived_seed`), so the local pairs' trajectories are
bit-for-bit the same with and without the global pair. The supplement's toy networks are
4-layer MLPs with 512 units and noise dimension 100 (supplementary material, Sec. 1.1).
"""

from __future__ import annotations

import copy
import hashlib

import torch
from torch import Tensor, nn

from ..errors import ConfigError
from ..losses import as_min_max, game_objective
from ..models import sgan_discriminator, sgan_generator
from ..optimizers import build_optimizer, set_gradients
from ..session import GameSession, players_state
from ..streams import BatchStream
from .base import GANRun
from .standard import StandardGAN, TwoPlayerGame

DRY_RUN_PAIRS = 3  # local pairs in a dry run


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


class MessengerGame(TwoPlayerGame):
    r"""G0 (min player) against the messengers (together the max player): f = Σ_n V(G0, D^msg_n)."""

    def __init__(
        self,
        generator: nn.Module,
        messengers: list[nn.Module],
        latent_dim: int,
        *,
        loss: str,
        gp_weight: float = 10.0,
        l2: float = 0.0,
        weight_clip: float = 0.0,
    ) -> None:
        super().__init__()
        self.generator, self.messengers = generator, nn.ModuleList(messengers)
        self.latent_dim, self.loss, self.gp_weight, self.l2 = latent_dim, loss, gp_weight, l2
        self.weight_clip = weight_clip

    @property
    def max_module(self) -> nn.Module:
        return self.messengers

    def objective(self, real: Tensor, z: Tensor, generator: torch.Generator | None = None):
        fake = self.generator(z)
        return _sum(
            [
                game_objective(
                    self.loss,
                    messenger,
                    real,
                    [fake],
                    gp_weight=self.gp_weight,
                    l2=self.l2,
                    generator=generator,
                    shard=self.shard,
                )
                for messenger in self.messengers
            ]
        )

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


class SGAN(nn.Module):
    """The N local pairs, the global pair and the messengers (cloned from the local D_n);
    ``train_global=False``: the N local pairs alone (the independent GANs the isolation compares with)."""

    parts_are_local_pairs = True

    def __init__(self, local_pairs: list[StandardGAN], global_pair: StandardGAN, *, train_global: bool = True) -> None:
        super().__init__()
        self.local_pairs, self.global_pair = nn.ModuleList(local_pairs), global_pair
        self.latent_dim, self.train_global = global_pair.latent_dim, train_global
        messengers = [copy.deepcopy(pair.discriminator) for pair in local_pairs]
        self.messenger_game = MessengerGame(
            global_pair.generator,
            messengers,
            global_pair.latent_dim,
            loss=global_pair.loss,
            gp_weight=global_pair.gp_weight,
            l2=global_pair.l2,
            weight_clip=global_pair.weight_clip,
        )

    def global_discriminator_value(self, real: Tensor, z: Tensor, generator: torch.Generator | None = None) -> Tensor:
        """What D0 maximizes: V (its critic side, with penalties) averaged over the local generators'
        fakes on one z; Algorithm 1 sums them, a scale that Adam-type optimizers do not see."""
        with torch.no_grad():
            fakes = [pair.generator(z) for pair in self.local_pairs]
        pair = self.global_pair
        value = game_objective(
            pair.loss,
            pair.discriminator,
            real,
            fakes,
            gp_weight=pair.gp_weight,
            l2=pair.l2,
            generator=generator,
            shard=pair.shard,
        )
        return as_min_max(value)[1]

    @torch.no_grad()
    def sample(self, n: int, generator: torch.Generator | None = None) -> Tensor:
        """Samples of G0, SGAN's output."""
        return self.global_pair.sample(n, generator)

    @torch.no_grad()
    def sample_by_generator(self, n: int, generator: torch.Generator | None = None) -> list[Tensor]:
        """``n`` samples of each local generator."""
        return [pair.sample(n, generator) for pair in self.local_pairs]

    def model_samples(self, n: int, generator: torch.Generator | None = None) -> Tensor | None:
        """G0's samples; None without the global pair (the local ensemble is the model; G0 is not sampled)."""
        return self.sample(n, generator).cpu() if self.train_global else None

    def samples_of_each_generator(self, total: int, generator: torch.Generator | None = None) -> list[Tensor]:
        """``total`` samples shared evenly (at least one each) among the local generators."""
        return [s.cpu() for s in self.sample_by_generator(max(total // len(self.local_pairs), 1), generator)]

    def panels(self, generator: torch.Generator) -> list[dict]:
        local = [(f"G{n + 1}", s) for n, s in enumerate(self.sample_by_generator(200, generator))]
        return [
            {
                "title": f"{len(local)} local generators (D1's contours)",
                "groups": local,
                "discriminator": self.local_pairs[0].discriminator,
            },
            {
                "title": "global generator G0 (D0's contours)",
                "groups": [("G0", self.sample(1000, generator))],
                "discriminator": self.global_pair.discriminator,
            },
        ]

    def image_rows(self, columns: int, generator: torch.Generator) -> list[Tensor]:
        """One row per local generator and a last row for G0 when it is trained."""
        rows = self.sample_by_generator(columns, generator)
        return [*rows, self.sample(columns, generator)] if self.train_global else rows


class SGANSession:
    """One SGAN iteration per :meth:`train_step`: a :class:`GameSession` per local pair, one for
    the messenger game, then D0's step on its own stream."""

    def __init__(
        self,
        sgan: SGAN,
        local_optimizers: list,
        messenger_optimizer,
        global_discriminator_optimizer,
        sample_real,
        *,
        batch_size: int,
        seed: int,
        device: str | torch.device = "cpu",
        critic_steps: int = 1,
        messenger_steps: int = 1,
    ) -> None:
        self.players = sgan

        def stream(*name) -> BatchStream:
            return BatchStream.for_run(sample_real, batch_size, sgan.latent_dim, derived_seed(seed, *name), device)

        self.local = [
            GameSession(pair, optimizer, stream("pair", n), critic_steps=critic_steps)
            for n, (pair, optimizer) in enumerate(zip(sgan.local_pairs, local_optimizers))
        ]
        self.messengers = GameSession(
            sgan.messenger_game, messenger_optimizer, stream("messengers"), critic_steps=messenger_steps
        )
        self.global_discriminator_optimizer = global_discriminator_optimizer
        self.stream = BatchStream(
            sample_real,
            batch_size,
            sgan.latent_dim,
            device=device,
            noise_seed=derived_seed(seed, "global discriminator"),
            data_seed=derived_seed(seed, "global discriminator", "data"),
        )
        self.step_count = 0

    def train_step(self) -> dict:
        """Algorithm 1, one iteration; returns the local, messenger-game and D0 values."""
        local = [session.train_step() for session in self.local]
        row = {"step": self.step_count + 1, "local": local}
        if self.players.train_global:
            self.players.messenger_game.refresh([pair.discriminator for pair in self.players.local_pairs])
            row["messengers"] = self.messengers.train_step()
            row["global_discriminator"] = self._global_discriminator_step()
        self.step_count += 1
        values = row["messengers"] if self.players.train_global else local[0]
        row["f_min"], row["f_max"] = values["f_min"], values["f_max"]
        return row

    def _global_discriminator_step(self) -> float:
        real, z = self.stream.next()
        value = self.players.global_discriminator_value(real, z, generator=self.stream.noise)
        set_gradients(list(self.players.global_pair.discriminator.parameters()), -value)  # ascend V
        self.global_discriminator_optimizer.step()
        self.players.global_pair.project_discriminator()
        return float(value.detach())

    def state_dict(self) -> dict:
        return {
            "players": self.players.state_dict(),
            "local": [session.state_dict() for session in self.local],
            "messengers": self.messengers.state_dict(),
            "global_discriminator_optimizer": self.global_discriminator_optimizer.state_dict(),
            **self.stream.state_dict(),
            "step": self.step_count,
        }

    def load_state_dict(self, state: dict) -> None:
        for session, saved in zip(self.local, state["local"]):
            session.load_state_dict(saved)
        self.messengers.load_state_dict(state["messengers"])
        self.players.load_state_dict(players_state(state))
        self.global_discriminator_optimizer.load_state_dict(state["global_discriminator_optimizer"])
        self.stream.load_state_dict(state)
        self.step_count = int(state["step"])


def sgan_networks(model):
    """(new generator, new discriminator) callables: the supplement's 4-layer MLPs."""
    return (
        lambda: sgan_generator(model.latent_dim, model.generator_hidden),
        lambda: sgan_discriminator(model.discriminator_hidden),
    )


def mean_share_modes_missed(rows: list[dict], modes: int) -> float:
    """SGAN Fig. 2(d): the share of modes not covered, (K - modes covered) / K, averaged over the
    evaluations of a run (the probability that a mode is missed at a random iteration)."""
    return sum((modes - float(row["modes_covered"])) / modes for row in rows) / len(rows)


class SGANRun(GANRun):
    """``sgan``: ``sgan.pairs`` local pairs and the global pair, each initialised from its own seed
    stream, so a local pair's weights do not depend on N or on the global pair."""

    critic_steps_allowed = True  # Algorithm 1's I_D for the local pairs (with the Adam pair)

    @classmethod
    def planar_networks(cls, model):
        """(new generator, new discriminator) on 2D data: the SGAN supplement's networks."""
        return sgan_networks(model)

    @classmethod
    def validate(cls, config) -> None:
        super().validate(config)
        steps, optimizer = config.sgan.messenger_steps, config.sgan.global_optimizer
        if steps > 1 and optimizer != "adam":
            raise ConfigError(
                f'sgan.messenger_steps = {steps} needs sgan.global_optimizer = "adam": {optimizer} moves '
                "G0 and the messengers together in every step, so its I_D is 1"
            )

    @classmethod
    def dry_run_overrides(cls, config) -> list[str]:
        """The data source's, and at most 3 local pairs (the paper's 10 pairs of 512 units with I_D = 5
        cost 2 s an iteration on a CPU)."""
        return [*super().dry_run_overrides(config), f"sgan.pairs={min(config.sgan.pairs, DRY_RUN_PAIRS)}"]

    @classmethod
    def seed_players(cls, seed: int) -> None:
        """Nothing global: each pair is initialised from its own :func:`derived_seed`."""

    @classmethod
    def build_players(cls, config, data) -> SGAN:
        make_generator, make_discriminator = cls.player_factories(config, data)

        def pair(*stream) -> StandardGAN:
            with torch.random.fork_rng(devices=[]):
                torch.manual_seed(derived_seed(config.run.seed, "init", *stream))
                generator, discriminator = make_generator(), make_discriminator()
            return StandardGAN(generator, discriminator, config.model.latent_dim, **cls.loss_options(config))

        return SGAN(
            [pair("pair", n) for n in range(config.sgan.pairs)], pair("global"), train_global=config.sgan.global_pair
        )

    @classmethod
    def build_session(cls, config, data, players: SGAN) -> SGANSession:
        o, r = config.optimizer, config.run
        local = [cls.build_optimizer(config, pair) for pair in players.local_pairs]
        game = players.messenger_game
        messenger_optimizer = build_optimizer(
            config.sgan.global_optimizer,
            o,
            game.min_parameters(),
            game.max_parameters(),
            max_projection=game.project_discriminator,
        )
        d0 = torch.optim.Adam(players.global_pair.discriminator.parameters(), lr=o.lr, betas=tuple(o.betas))
        return SGANSession(
            players,
            local,
            messenger_optimizer,
            d0,
            data.sample,
            batch_size=r.batch_size,
            seed=r.seed,
            device=r.device,
            critic_steps=o.critic_steps,
            messenger_steps=config.sgan.messenger_steps,
        )

    def extra_final_metrics(self, rows: list[dict]) -> dict:
        """Fig. 2(d)'s share of modes missed, for the local pairs alone on a mixture."""
        if self.players.train_global or self.data.mode_count is None:
            return {}
        return {"mean_share_modes_missed": mean_share_modes_missed(rows, self.data.mode_count)}
