"""The contracts between the parts of gan_experiments, written as ``typing.Protocol`` classes.

A run goes one way: a config names a registry entry (:class:`RunEntry`, one per
``run.framework``, in ``frameworks.FRAMEWORKS``) and a data source (:class:`DataSource`, one
per ``data.name``, in ``data.DATA_SOURCES``); the entry builds a :class:`Run`: the data source,
the **players** (:class:`Players`: the networks of one framework and how they play one step,
called ``players`` everywhere, checkpoints included), the optimizer(s) and the
:class:`Session` that the shared loop (``trainer.Trainer``) steps. Nothing here is imported at
run time by the modules it describes: the protocols only name what each side may rely on, and
``tests/test_structure.py`` checks every registered entry and data source against them.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar, Protocol

if TYPE_CHECKING:
    import torch
    from torch import Tensor

    from .config import Config
    from .records import RunFolder


class Players(Protocol):
    """The players of one framework: an ``nn.Module`` (its ``state_dict`` is the checkpoint's
    ``players``) whose min player is the generator side and max player the discriminator side."""

    latent_dim: int
    parts_are_local_pairs: bool  # SGAN: the parts are independent GANs; Stackelberg: the generators of one model

    def min_parameters(self) -> list[Tensor]: ...

    def max_parameters(self) -> list[Tensor]: ...

    def objective(self, real: Tensor, z: Tensor, generator: torch.Generator | None = None) -> Any:
        """f, or (f_min, f_max), in cgd_optim's convention (the min player descends f_min)."""

    def play(self, optimizer: Any, real: Tensor, z: Tensor, noise: torch.Generator | None = None) -> Any:
        """One optimizer step on the objective at (real, z); returns the step's value."""

    def sample(self, n: int, generator: torch.Generator | None = None) -> Tensor: ...

    def model_samples(self, n: int, generator: torch.Generator | None = None) -> Tensor | None:
        """``n`` CPU samples of the model being evaluated (None: the parts' ensemble is the model)."""

    def samples_of_each_generator(self, total: int, generator: torch.Generator | None = None) -> list[Tensor] | None:
        """``total`` samples shared among the model's parts (None: one generator)."""

    def panels(self, generator: torch.Generator) -> list[dict]:
        """The 2D picture's panels (``plots.plot_panels``)."""

    def image_rows(self, columns: int, generator: torch.Generator) -> list[Tensor]:
        """The image grid's rows of ``columns`` images."""

    def state_dict(self) -> dict: ...

    def load_state_dict(self, state: dict) -> Any: ...


class Session(Protocol):
    """What the shared loop steps: one training iteration per ``train_step``."""

    step_count: int

    def train_step(self) -> dict:
        """One iteration; returns its logged values (``step``, ``f_min``, ``f_max``, ...)."""

    def state_dict(self) -> dict: ...

    def load_state_dict(self, state: dict) -> None: ...


class DataSource(Protocol):
    """A data set of a run: its sampler, its evaluation and its pictures (one per ``data.name``)."""

    images: ClassVar[bool]  # image data (the image networks, classifier scores) or 2D samples
    image_shape: tuple[int, int, int] | None  # (channels, height, width); None for 2D samples
    mode_count: int | None  # modes of a Gaussian mixture; None without modes
    equilibrium_samples: ClassVar[int]  # samples the equilibrium test shows before and after

    @classmethod
    def from_config(cls, config: Config) -> DataSource: ...

    @staticmethod
    def validate(config: Config) -> None:
        """The config rules this data source needs (ConfigError names the key)."""

    @staticmethod
    def dry_run_overrides(config: Config) -> list[str]:
        """``section.key=VALUE`` assignments that shrink a dry run on this data."""

    def sample(self, n: int, generator: torch.Generator | None = None) -> Tensor: ...

    def evaluate(self, players: Players, step: int) -> dict:
        """The metrics row of an evaluation at ``step``."""

    def final_metrics(self, players: Players) -> dict:
        """Metrics computed once, at the end of a run (FID / IS for images)."""

    def save_picture(self, players: Players, path: Path, title: str) -> None: ...

    @staticmethod
    def show_samples(axes: Any, before: Tensor, after: Tensor) -> None:
        """Samples before and after, on one matplotlib ``axes``."""


class Run(Protocol):
    """One built run of a registry entry.

    ``restore`` and ``train`` are how a run differs from another without the caller asking which
    it is: a generator-discriminator run (``frameworks.base.GANRun``) resumes its session from the
    checkpoint and hands it to the shared loop; the quadratic game's run (``frameworks.quadratic``)
    has nothing to resume or train, since its finishing step computes every trajectory.
    """

    config: Config

    def restore(self, folder: RunFolder) -> int | None:
        """Continue from the folder's checkpoint; the step it continues at (None: nothing restored)."""

    def train(self, fit: Callable[[Session, Callable[[int], dict]], None]) -> None:
        """Hand what the run trains, and the evaluation of a step (its metrics row), to ``fit``: the
        shared loop, set up by the caller."""

    def finish(self, folder: RunFolder, steps: int) -> dict:
        """The final evaluation and what the run leaves in its folder; returns the final metrics."""


class RunEntry(Protocol):
    """A registry entry (``frameworks.FRAMEWORKS[run.framework]``): a class whose class methods
    check and build one kind of run."""

    trains_on_images: ClassVar[bool]  # may train on image data (with model.network's networks)
    records_critic: ClassVar[bool]  # run.critic_diagnostics: its players have critic_diagnostics

    @classmethod
    def validate(cls, config: Config) -> None:
        """The rules that span sections and concern this framework (ConfigError names the key)."""

    @classmethod
    def dry_run_overrides(cls, config: Config) -> list[str]:
        """``section.key=VALUE`` assignments that shrink a dry run."""

    @classmethod
    def build(cls, config: Config) -> Run:
        """The run: data source, players, optimizer(s), session; trains nothing."""
