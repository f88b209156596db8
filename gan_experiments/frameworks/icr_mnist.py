"""The ICR MNIST over-training runs (Schäfer, Zheng & Anandkumar 2020, "Implicit competitive
regularization in GANs", Sec. 3 Fig. 4, Sec. 5 Fig. 8, App. A.3) as the registry entry
``icr_mnist``: the networks of App. A.3 trained to a checkpoint by the shared loop with stochastic
SimGD, then the analysis ``icr.experiment`` names (:mod:`gan_experiments.icr.mnist`). With
``icr.checkpoint`` the analysis starts from the players of a given checkpoint instead (any run of
these networks: this entry's own, or a standard run of ``model.network = "icr_mnist_conv"`` at the
default LeakyReLU slope), and nothing is trained before it."""

from __future__ import annotations

from pathlib import Path

import torch

from ..errors import ConfigError, RunFolderError
from ..icr.mnist import run_analysis
from ..models import evaluation_mode
from ..models.icr_mnist import ICRMNISTDiscriminator, ICRMNISTGenerator
from ..records import read_checkpoint
from ..session import players_state
from .base import GANRun, refuse_critic_steps
from .standard import StandardGAN


@torch.no_grad()
def save_image_grid(players: StandardGAN, path, seed: int, n: int = 64) -> None:
    """An 8 x 8 grid of generated images (the generator in eval mode: batch-norm running statistics)."""
    from torchvision.utils import save_image

    generator = players.generator
    z = torch.randn(n, players.latent_dim, generator=torch.Generator().manual_seed(seed + 3))
    with evaluation_mode(generator):
        images = generator(z.to(next(generator.parameters()).device)).cpu()
    save_image(images, path, nrow=8, normalize=True, value_range=(-1, 1))


def checkpoint_file(path: str) -> Path:
    """``path`` itself, or the ``checkpoint.pt`` in the run folder ``path``."""
    given = Path(path)
    return given / "checkpoint.pt" if given.is_dir() else given


class ICRMNISTRun(GANRun):
    """``icr_mnist``: App. A.3's networks on MNIST, SimGD on the OGAN or NS-GAN loss, then Fig. 4 or 8."""

    @classmethod
    def validate(cls, config) -> None:
        refuse_critic_steps(config, allowed=False)
        if config.data.name != "mnist" or config.model.network:
            raise ConfigError(
                f"data.name = {config.data.name!r}, model.network = {config.model.network!r}: the "
                "icr_mnist framework trains its own networks (ICR App. A.3) on mnist; set data.name = "
                '"mnist" and no network'
            )
        if config.run.optimizer != "simgd" or config.run.loss not in ("ogan", "nsgan"):
            raise ConfigError(
                "run.optimizer and run.loss: the ICR MNIST checkpoint is trained with stochastic "
                'SimGD (App. A.3) on the OGAN or NS-GAN loss; set run.optimizer = "simgd"'
            )
        if config.icr.checkpoint and not checkpoint_file(config.icr.checkpoint).exists():
            raise ConfigError(
                f"icr.checkpoint = {config.icr.checkpoint!r}: no such checkpoint file "
                "(give a run's checkpoint.pt or its folder)"
            )

    @classmethod
    def dry_run_overrides(cls, config) -> list[str]:
        return ["run.batch_size=8", "icr.steps_after=2", "icr.attack_steps=2", "icr.test_images=16"]

    @classmethod
    def build_players(cls, config, data) -> StandardGAN:
        return StandardGAN(
            ICRMNISTGenerator(), ICRMNISTDiscriminator(), ICRMNISTGenerator.latent_dim, **cls.loss_options(config)
        )

    def train(self, fit) -> None:
        """Train the checkpoint with the shared loop, or load the players of ``icr.checkpoint``."""
        if not self.config.icr.checkpoint:
            return super().train(fit)
        path = checkpoint_file(self.config.icr.checkpoint)
        try:
            state = read_checkpoint(path)
            self.players.load_state_dict(players_state(state))
        except (RunFolderError, KeyError, RuntimeError) as error:
            raise ConfigError(
                f"icr.checkpoint = {str(path)!r} holds no players of the ICR MNIST networks: {error}"
            ) from None
        self.session.step_count = int(state["step"])
        return None

    def evaluate(self, step: int) -> dict:
        """Nothing during training: the analysis comes after the checkpoint."""
        return {"step": step}

    def finish(self, folder, steps: int) -> dict:
        """samples.png of the checkpoint, then the analysis (its csv, picture and metrics.json)."""
        save_image_grid(self.players, folder.path / "samples.png", self.config.run.seed)
        c = self.config
        return run_analysis(
            self.players,
            self.data.sample,
            c.icr,
            seed=c.run.seed,
            batch_size=c.run.batch_size,
            lr=c.optimizer.lr,
            out=folder.path,
            step=self.session.step_count,
        )
