"""The ICR quadratic game (Schäfer, Zheng & Anandkumar 2020, "Implicit competitive regularization
in GANs", Sec. 3-4, eq. (3), Figs. 3 and 6) as the registry entry ``quadratic``: every
``quadratic.optimizers`` x ``quadratic.step_sizes`` trajectory at once, deterministic and seconds
long, so the run has no players to checkpoint (``--resume`` recomputes it) and nothing for the
training loop: its trajectories are its finishing step."""

from __future__ import annotations

from ..icr.runs import run_quadratic
from .base import validate_without_networks


class QuadraticRun:
    """``quadratic``: trajectories.csv, trajectories.png and metrics.json of :func:`run_quadratic`.

    A :class:`~gan_experiments.contracts.Run` that differs from a GAN's in two documented ways:
    :meth:`restore` restores nothing and :meth:`train` trains nothing (:meth:`finish` computes
    every trajectory)."""

    trains_on_images = False
    records_critic = False

    def __init__(self, config) -> None:
        self.config = config

    @classmethod
    def validate(cls, config) -> None:
        validate_without_networks(config)

    @classmethod
    def dry_run_overrides(cls, config) -> list[str]:
        return []

    @classmethod
    def build(cls, config) -> QuadraticRun:
        return cls(config)

    def restore(self, folder) -> None:
        """Nothing to restore: a resumed run recomputes its trajectories."""
        return None

    def train(self, fit) -> None:
        """Nothing for the shared loop: :meth:`finish` computes the trajectories."""

    def finish(self, folder, steps: int) -> dict:
        return run_quadratic(self.config.quadratic, steps, folder.path)
