r"""The equilibrium tests of Farnia & Ozdaglar (003_e197ed17a5d76a27.txt Sec. 2 and 6.1) on a
checkpoint this project wrote.

With the trained discriminator :math:`D_{w_{final}}` frozen, the generator alone is optimized

- on the minimax objective itself, eq. (5): :math:`\min_\theta V(G_\theta, D_{w_{final}})` with
  Adam; at a Nash equilibrium this could not lower V (Sec. 2: it does, and samples degrade);
- on the proximal objective, eq. (19): :math:`\min_\theta V^{prox}_{\lambda=0.1}(G_\theta, D_{w_{final}})`,
  each gradient from ``inner_steps`` (50) steps of a fresh Adam on the discriminator started at
  :math:`w_{final}` (Sec. 6.1), through cgd_optim's ProximalMinimax with
  ``keep_proximal_solution=False``, so D returns to :math:`w_{final}` after every step.

V is the game's value (the discriminator's side of a general-sum loss, without its penalties,
which do not depend on G); for several generators it is their average, the mixture's objective.
Both runs start from the same generator and see the same batches; V is also recorded on one
fixed evaluation batch.
"""

from __future__ import annotations

import copy
import json
from pathlib import Path

import torch

from cgd_optim import ProximalMinimax

from .build import build_sampler, build_trainer
from .config import IMAGE_DATASETS, load
from .plots import pyplot
from .records import write_rows
from .trainer import _pair


def locate(checkpoint: str | Path) -> tuple[Path, Path]:
    """(config.toml, checkpoint.pt) of a run folder, or of a checkpoint file inside one."""
    path = Path(checkpoint)
    folder = path if path.is_dir() else path.parent
    weights = folder / "checkpoint.pt" if path.is_dir() else path
    config = folder / "config.toml"
    for needed in (weights, config):
        if not needed.is_file():
            raise FileNotFoundError(f"equilibrium-test: {needed} not found (give a run folder this project wrote, "
                                    "or its checkpoint.pt)")
    return config, weights


def equilibrium_test(checkpoint: str | Path, *, steps: int = 200, lam: float = 0.1, inner_steps: int = 50,
                     out: str | Path | None = None) -> dict:
    """Run both tests from ``checkpoint``; write equilibrium.csv, equilibrium.png and
    equilibrium.json into ``out`` (default: ``<run folder>/equilibrium_test``)."""
    config_path, weights = locate(checkpoint)
    config = load(config_path)
    trainer = build_trainer(config)
    trainer.load_state_dict(torch.load(weights, weights_only=False))
    framework, o = trainer.framework, config.optimizer
    if not hasattr(framework, "discriminator") or not hasattr(framework, "objective"):
        raise ValueError(f"equilibrium-test needs a generator-discriminator run; {config.run.framework!r} has none")
    out = Path(out) if out is not None else config_path.parent / "equilibrium_test"
    out.mkdir(parents=True, exist_ok=True)
    sample_real, device = build_sampler(config), torch.device(config.run.device)
    evaluation = torch.Generator().manual_seed(config.run.seed + 30)
    real_eval = sample_real(config.run.batch_size, evaluation).to(device)
    z_eval = torch.randn(config.run.batch_size, framework.latent_dim, generator=evaluation).to(device)

    def value(game, real, z):
        return _pair(game.objective(real, z))[1]

    rows, pictures = [], {}
    for objective in ("V", "proximal"):
        game = copy.deepcopy(framework)
        for p in game.discriminator.parameters():
            p.requires_grad_(objective == "proximal")  # frozen; the proximal inner ascent moves a copy and returns
        generator_params = [p for p in game.min_parameters() if p.requires_grad]
        adam = torch.optim.Adam(generator_params, lr=o.lr, betas=tuple(o.betas))
        if objective == "proximal":
            inner = torch.optim.Adam(list(game.discriminator.parameters()), lr=o.lr, betas=tuple(o.betas))
            proximal = ProximalMinimax(game.discriminator, min_optimizer=adam, max_optimizer=inner, lam=lam,
                                       inner_steps=inner_steps, keep_proximal_solution=False)
        batches = torch.Generator().manual_seed(config.run.seed + 31)
        pictures[objective] = [_samples(game, config)]
        for t in range(steps + 1):
            with torch.no_grad():
                rows.append({"objective": objective, "step": t, "value": float(value(game, real_eval, z_eval))})
            if t == steps:
                break
            real = sample_real(config.run.batch_size, batches).to(device)
            z = torch.randn(config.run.batch_size, framework.latent_dim, generator=batches).to(device)
            if objective == "V":
                adam.zero_grad()
                value(game, real, z).backward()
                adam.step()
            else:
                inner.state.clear()  # a fresh Adam for every proximal solve (Sec. 6.1)
                rows[-1]["proximal_value"] = float(proximal.step(lambda: value(game, real, z), real).detach())
        pictures[objective].append(_samples(game, config))
    write_rows(rows, out / "equilibrium.csv", ["objective", "step", "value", "proximal_value"])
    summary = {objective: {"value_start": [r for r in rows if r["objective"] == objective][0]["value"],
                           "value_end": [r for r in rows if r["objective"] == objective][-1]["value"]}
               for objective in ("V", "proximal")}
    summary.update({"steps": steps, "lam": lam, "inner_steps": inner_steps, "checkpoint": str(weights)})
    (out / "equilibrium.json").write_text(json.dumps(summary, indent=1))
    _plot(rows, pictures, config, out / "equilibrium.png")
    return summary


@torch.no_grad()
def _samples(game, config):
    """500 samples of the generator (or its mixture), on the CPU."""
    generator = torch.Generator().manual_seed(config.run.seed + 32)
    if hasattr(game, "sample"):
        return game.sample(16 if config.data.name in IMAGE_DATASETS else 500, generator).cpu()
    return None


def _plot(rows: list[dict], pictures: dict, config, path: Path) -> None:
    plt = pyplot()
    images = config.data.name in IMAGE_DATASETS
    figure, axes = plt.subplots(1, 3, figsize=(14, 4), layout="constrained")
    for objective, label in (("V", "G on V, eq. (5)"), ("proximal", "G on V_prox, eq. (19)")):
        mine = [r for r in rows if r["objective"] == objective]
        axes[0].plot([r["step"] for r in mine], [r["value"] for r in mine], label=f"V(G_t, D_final): {label}")
    proximal = [r for r in rows if "proximal_value" in r]
    axes[0].plot([r["step"] for r in proximal], [r["proximal_value"] for r in proximal], ":",
                 label="V at the proximal solution")
    axes[0].set_xlabel("generator steps with D frozen")
    axes[0].legend(fontsize=7)
    axes[0].grid(alpha=0.3)
    for ax, objective in zip(axes[1:], ("V", "proximal")):
        start, end = pictures[objective]
        if images:
            from torchvision.utils import make_grid

            grid = make_grid(torch.cat([start, end]), nrow=8, normalize=True, value_range=(-1, 1))
            ax.imshow(grid.permute(1, 2, 0).numpy())
            ax.axis("off")
        else:
            ax.scatter(start[:, 0], start[:, 1], s=3, label="start")
            ax.scatter(end[:, 0], end[:, 1], s=3, label="end")
            ax.set_aspect("equal")
            ax.legend(fontsize=7)
        ax.set_title(f"samples before and after: {objective}", fontsize=9)
    figure.savefig(path, dpi=110)
    plt.close(figure)
