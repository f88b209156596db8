"""The CGD paper's comparison (Schäfer & Anandkumar 2019, "Competitive gradient descent",
NeurIPS, Sec. 4-5) as the registry entry ``cgd_paper``: ``cgd_paper.experiment`` picks the
bilinear game, the separable quadratics, covariance estimation or the two-mode GAN
(:mod:`gan_experiments.cgd_paper`). Like ``quadratic``, the run has no players of its own for the
shared loop: its finishing step runs the grid, saving each unit of the long grids as it ends, so
``--resume`` continues an interrupted folder where it stopped."""

from __future__ import annotations

import json

from ..cgd_paper.covariance import run_covariance
from ..cgd_paper.scalar_games import run_scalar_games
from ..cgd_paper.two_modes import run_two_modes
from .base import validate_without_networks

RUNNERS = {
    "bilinear": run_scalar_games,
    "quadratic": run_scalar_games,
    "covariance": run_covariance,
    "two_modes": run_two_modes,
}
DRY_RUN = {  # a second each: the same code paths on small grids (run.steps, the budget, is at most 3)
    "bilinear": ["cgd_paper.alphas=[3.0]"],
    "quadratic": ["cgd_paper.alphas=[1.0]"],
    "covariance": [
        "cgd_paper.dims=[4]",
        "cgd_paper.stochastic_dim=4",
        "cgd_paper.sample_counts=[10]",
        "cgd_paper.stochastic_budget=3",
        "cgd_paper.step_sizes=[0.025, 0.1]",
    ],
    "two_modes": [
        "cgd_paper.hidden=8",
        "cgd_paper.noise_dim=8",
        "cgd_paper.batch_size=16",
        "cgd_paper.seeds=[0]",
        "cgd_paper.step_sizes=[0.1]",
        "cgd_paper.eval_samples=100",
        'cgd_paper.methods=["sga", "ogda", "cgd"]',
    ],
}


class CGDPaperRun:
    """``cgd_paper``: results.json, its figure and metrics.json (the verdicts' numbers) of one of the
    paper's experiments. A :class:`~gan_experiments.contracts.Run` whose :meth:`restore` and
    :meth:`train` do nothing: :meth:`finish` runs (or, resumed, completes) the grid."""

    trains_on_images = False
    records_critic = False

    def __init__(self, config) -> None:
        self.config = config

    @classmethod
    def validate(cls, config) -> None:
        validate_without_networks(config)

    @classmethod
    def dry_run_overrides(cls, config) -> list[str]:
        return DRY_RUN[config.cgd_paper.experiment]

    @classmethod
    def build(cls, config) -> CGDPaperRun:
        return cls(config)

    def restore(self, folder) -> None:
        """Nothing to restore here: :meth:`finish` skips the units the folder already holds."""
        return None

    def train(self, fit) -> None:
        """Nothing for the shared loop: :meth:`finish` runs the grid."""

    def finish(self, folder, steps: int) -> dict:
        section = self.config.cgd_paper
        results = RUNNERS[section.experiment](section, steps, folder.path)
        final = {"step": steps, "experiment": section.experiment, "runs": len(results["runs"])}
        final["verdicts"] = {}
        for run in results["runs"]:
            key = "/".join(
                str(run[k]) for k in ("game", "case", "d", "samples", "method", "alpha", "eta", "seed") if k in run
            )
            final["verdicts"][key] = run.get("verdict", run.get("modes"))
        (folder.path / "metrics.json").write_text(json.dumps(final, indent=1))
        return final
