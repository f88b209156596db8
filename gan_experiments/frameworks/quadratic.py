"""The ICR quadratic game (Schäfer, Zheng & Anandkumar 2020, "Implicit competitive regularization
in GANs", Sec. 3-4, eq. (3), Figs. 3 and 6) as the registry entry ``quadratic``: every
``quadratic.optimizers`` x ``quadratic.step_sizes`` trajectory at once, deterministic and seconds
long, so the run has no players to checkpoint (``--resume`` recomputes it) and nothing for the
training loop: its trajectories are its finishing step."""

from __future__ import annotations

from ..data import data_source
from ..icr.runs import run_quadratic
from .base import refuse_critic_steps


class QuadraticRun:
    """``quadratic``: trajectories.csv, trajectories.png and metrics.json of :func:`run_quadratic`."""

    trains_on_images = False
    session = None  # nothing to train or checkpoint

    def __init__(self, config) -> None:
        self.config = config

    @classmethod
    def validate(cls, config) -> None:
        refuse_critic_steps(config, allowed=False)
        data_source(config.data.name).validate(config, trains_on_images=False)

    @classmethod
    def dry_run_overrides(cls, config) -> list[str]:
        return []

    @classmethod
    def build(cls, config) -> "QuadraticRun":
        return cls(config)

    def finish(self, folder, steps: int) -> dict:
        return run_quadratic(self.config.quadratic, steps, folder.path)
