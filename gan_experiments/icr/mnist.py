r"""ICR on MNIST (Schäfer, Zheng & Anandkumar 2020, "Implicit competitive regularization in GANs",
Sec. 3 Fig. 4, Sec. 5 Fig. 8, App. A.3).

From a checkpoint (G_c, D_c) reached by stochastic SimGD (lr 0.01, batch 128; the paper trains
9,000 iterations, our configs fewer, stated there):

- Fig. 4: train D alone against the fixed G_c, and D and G jointly, for the same number of
  iterations at the same learning rate; record the discriminator's loss and the distances (5)

  .. math::
      d_{set}(D_t, D_c) = \sqrt{\textstyle\sum_{x \in X_{set}} (D_t(x) - D_c(x))^2},
      \quad set \in \{real, fake\},

  on 500 real training images and 500 images of G_c.
- Fig. 8: over-train D against the fixed G_c with SimGD (Fig. 4's over-trained discriminator)
  and with CGD (D's part of each CGD step, G_c restored after it, so D anticipates a generator
  that never moves), then train a copy of G_c against each fixed discriminator and against D_c
  for a few iterations and record the discriminator's loss. The caption of Fig. 8 says the
  over-training it replaces used Adam; App. A.3 and Fig. 4 use SimGD, which we follow.

The discriminator's loss is the cross-entropy
:math:`-E\log\sigma(D(x)) - E\log(1 - \sigma(D(G(z))))`, the negative of the OGAN value; the
generator minimizes V (``ogan``) or :math:`-E\log\sigma(D(G(z)))` (``nsgan``).
"""

from __future__ import annotations

import copy
import json
from pathlib import Path

import torch
from torch import Tensor, nn

from cgd_optim import CGD, SimGD

from ..losses import as_min_max, game_objective, ogan_value
from ..models import evaluation_mode
from ..plots import saved_figure
from ..records import grouped, write_rows
from ..streams import BatchStream


def discriminator_distance(outputs: Tensor, checkpoint_outputs: Tensor) -> float:
    r"""Eq. (5): :math:`\sqrt{\sum_x (D_t(x) - D_c(x))^2}` over one fixed set of images."""
    return float((outputs.double() - checkpoint_outputs.double()).pow(2).sum().sqrt())


def discriminator_loss(discriminator: nn.Module, real: Tensor, fake: Tensor) -> Tensor:
    """The OGAN cross-entropy D minimizes (the negative of V)."""
    return -ogan_value(discriminator(real), discriminator(fake))


def analysis_stream(sample_real, batch_size: int, latent_dim: int, seed: int, device) -> BatchStream:
    """Real batches from ``seed`` and noise from ``seed + 1``, identical for every branch."""
    return BatchStream(sample_real, batch_size, latent_dim, data_seed=seed, noise_seed=seed + 1, device=device)


def _sgd_step(params: list[Tensor], loss: Tensor, lr: float) -> None:
    grads = torch.autograd.grad(loss, params)
    with torch.no_grad():
        torch._foreach_add_(params, grads, alpha=-lr)


def overtrain_discriminator(
    generator: nn.Module,
    discriminator: nn.Module,
    streams: BatchStream,
    steps: int,
    lr: float,
    method: str = "simgd",
    on_step=None,
    loss: str = "ogan",
) -> nn.Module:
    """A copy of ``discriminator`` trained ``steps`` iterations against the fixed ``generator``:
    gradient descent on its loss (``simgd``), or D's part of a CGD step on the joint game with the
    generator restored after every step (``cgd``). ``on_step(t, D, loss)`` observes each step."""
    discriminator = copy.deepcopy(discriminator)
    params = list(discriminator.parameters())
    if method == "cgd":
        generator = copy.deepcopy(generator)
        frozen = copy.deepcopy(generator.state_dict())
        optimizer = CGD(list(generator.parameters()), params, lr=lr)
    for t in range(1, steps + 1):
        real, z = streams.next()
        if method == "cgd":
            value = optimizer.step(lambda: game_objective(loss, discriminator, real, [generator(z)]))
            step_loss = -as_min_max(value)[1].detach()
            generator.load_state_dict(frozen)  # the generator never moves; only D's update is kept
        else:
            with torch.no_grad():
                fake = generator(z)
            step_loss = discriminator_loss(discriminator, real, fake)
            _sgd_step(params, step_loss, lr)
        if on_step is not None:
            on_step(t, discriminator, float(step_loss.detach()))
    return discriminator


def fig4(game, sample_real, icr, *, seed: int, batch_size: int, lr: float, out: Path) -> dict:
    """D alone against D and G jointly from the checkpoint: losses and eq. (5) distances."""
    device = next(game.parameters()).device
    rows = []
    record = _fig4_recorder(rows, game, sample_real, icr, seed, device)
    seed = seed + 20
    overtrain_discriminator(
        game.generator,
        game.discriminator,
        analysis_stream(sample_real, batch_size, game.latent_dim, seed, device),
        icr.steps_after,
        lr,
        on_step=lambda t, d, loss: record("discriminator alone", t, d, loss),
    )
    joint = copy.deepcopy(game)
    optimizer = SimGD(joint.min_parameters(), joint.max_parameters(), lr=lr)  # stochastic SimGD
    streams = analysis_stream(sample_real, batch_size, game.latent_dim, seed, device)
    for t in range(1, icr.steps_after + 1):
        real, z = streams.next()
        value = as_min_max(optimizer.step(lambda: joint.objective(real, z)))[1]  # V, or D's side of a general-sum pair
        record("joint", t, joint.discriminator, -float(value.detach()))
    write_rows(rows, out / "fig4.csv")
    final = {
        branch: {k: v for k, v in grouped(rows, "branch")[branch][-1].items() if k != "branch"}
        for branch in ("discriminator alone", "joint")
    }
    _plot_fig4(rows, out / "fig4.png")
    return final


def _fig4_recorder(rows: list[dict], game, sample_real, icr, seed: int, device):
    """``record(branch, t, discriminator, loss)``: a row of ``rows`` every ``icr.record_every``
    iterations (and the first): the loss and the eq. (5) distances of the discriminator's outputs
    on fixed real and fake test sets to the checkpoint discriminator's."""
    sets = torch.Generator().manual_seed(seed + 10)
    real_set = sample_real(icr.test_images, sets).to(device)
    with torch.no_grad():
        with evaluation_mode(game.generator):
            fake_set = game.generator(torch.randn(icr.test_images, game.latent_dim, generator=sets).to(device))
        reference = game.discriminator(real_set), game.discriminator(fake_set)

    def record(branch: str, t: int, discriminator: nn.Module, loss: float) -> None:
        if t == 1 or t % icr.record_every == 0:
            with torch.no_grad():
                rows.append(
                    {
                        "branch": branch,
                        "iteration": t,
                        "discriminator_loss": loss,
                        "d_real": discriminator_distance(discriminator(real_set), reference[0]),
                        "d_fake": discriminator_distance(discriminator(fake_set), reference[1]),
                    }
                )

    return record


def fig8(game, sample_real, icr, *, seed: int, batch_size: int, lr: float, out: Path) -> dict:
    """The generator's counterattack on the checkpoint, SimGD-over-trained and CGD-over-trained Ds."""
    device = next(game.parameters()).device
    seed = seed + 20

    def streams():
        return analysis_stream(sample_real, batch_size, game.latent_dim, seed, device)

    discriminators = {
        "checkpoint D": game.discriminator,
        "over-trained D (SimGD)": overtrain_discriminator(
            game.generator, game.discriminator, streams(), icr.steps_after, lr, "simgd"
        ),
        "over-trained D (CGD)": overtrain_discriminator(
            game.generator, game.discriminator, streams(), icr.steps_after, lr, "cgd", loss=game.loss
        ),
    }
    rows = []
    for label, discriminator in discriminators.items():
        attack = analysis_stream(sample_real, batch_size, game.latent_dim, seed + 5, device)
        rows += _counterattack(game, label, discriminator, attack, icr.attack_steps, lr)
    write_rows(rows, out / "fig8.csv")
    _plot_fig8(rows, out / "fig8.png")
    return {
        label: {"loss_before": mine[0]["discriminator_loss"], "loss_after": mine[-1]["discriminator_loss"]}
        for label, mine in grouped(rows, "discriminator").items()
    }


def _counterattack(game, label: str, discriminator: nn.Module, attack, steps: int, lr: float) -> list[dict]:
    """A copy of the generator trained ``steps`` SGD steps on its own loss (V, or -log D for nsgan)
    against the fixed ``discriminator``; the discriminator's loss before each step and after the last."""
    generator = copy.deepcopy(game.generator)
    params, rows = list(generator.parameters()), []
    for t in range(steps + 1):
        real, z = attack.next()
        fake = generator(z)
        loss = float(discriminator_loss(discriminator, real, fake).detach())
        rows.append({"discriminator": label, "iteration": t, "discriminator_loss": loss})
        if t < steps:
            _sgd_step(params, as_min_max(game_objective(game.loss, discriminator, real, [fake]))[0], lr)
    return rows


ANALYSES = {"fig4": fig4, "fig8": fig8}  # the names icr.experiment takes


def run_analysis(game, sample_real, icr, *, seed: int, batch_size: int, lr: float, out: Path, step: int) -> dict:
    """The analysis ``icr.experiment`` names (``icr``: the ``[icr]`` section), from the checkpoint
    ``game`` of iteration ``step``, with the run's seed, batch size and learning rate; metrics.json."""
    analysis = ANALYSES[icr.experiment]
    final = {
        "step": step,
        icr.experiment: analysis(game, sample_real, icr, seed=seed, batch_size=batch_size, lr=lr, out=out),
    }
    (out / "metrics.json").write_text(json.dumps(final, indent=1))
    return final


def _plot_fig4(rows: list[dict], path: Path) -> None:
    with saved_figure(path, 1, 2, figsize=(10, 3.4), layout="constrained") as (_figure, axes):
        for branch, style in (("discriminator alone", "-"), ("joint", "--")):
            mine = grouped(rows, "branch")[branch]
            steps = [r["iteration"] for r in mine]
            axes[0].plot(steps, [r["discriminator_loss"] for r in mine], style, label=branch)
            axes[1].plot(steps, [r["d_real"] for r in mine], style, label=f"d_real, {branch}")
            axes[1].plot(steps, [r["d_fake"] for r in mine], style, label=f"d_fake, {branch}")
        axes[0].set_title("discriminator loss", fontsize=9)
        axes[1].set_title("distance (5) to the checkpoint discriminator", fontsize=9)
        for ax in axes:
            ax.set_xlabel("iterations after the checkpoint")
            ax.grid(alpha=0.3)
            ax.legend(fontsize=7)


def _plot_fig8(rows: list[dict], path: Path) -> None:
    with saved_figure(path, figsize=(6, 3.4), layout="constrained") as (_figure, ax):
        for label, mine in grouped(rows, "discriminator").items():
            ax.plot([r["iteration"] for r in mine], [r["discriminator_loss"] for r in mine], label=label)
        ax.set_xlabel("generator iterations against the fixed discriminator")
        ax.set_ylabel("discriminator loss")
        ax.grid(alpha=0.3)
        ax.legend(fontsize=7)
