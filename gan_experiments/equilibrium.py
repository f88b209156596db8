r"""The equilibrium tests of Farnia & Ozdaglar (2020, "Do GANs always have Nash equilibria?",
Sec. 2 and 6.1) on a checkpoint this project wrote.

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

from .config import load
from .experiment import build
from .losses import as_min_max
from .plots import saved_figure
from .records import grouped, write_rows
from .streams import BatchStream


def locate(checkpoint: str | Path) -> tuple[Path, Path]:
    """(config.toml, checkpoint.pt) of a run folder, or of a checkpoint file inside one."""
    path = Path(checkpoint)
    folder = path if path.is_dir() else path.parent
    weights = folder / "checkpoint.pt" if path.is_dir() else path
    config = folder / "config.toml"
    for needed in (weights, config):
        if not needed.is_file():
            raise FileNotFoundError(
                f"equilibrium-test: {needed} not found (give a run folder this project wrote, or its checkpoint.pt)"
            )
    return config, weights


def _value(players, real, z):
    """V: the discriminator's side of the game's value."""
    return as_min_max(players.objective(real, z))[1]


def _on_value(players, optimizer_options, *, lam: float, inner_steps: int):
    """``step(real, z)`` of G alone by Adam on V, eq. (5); returns nothing to record."""
    adam = torch.optim.Adam(
        [p for p in players.min_parameters() if p.requires_grad],
        lr=optimizer_options.lr,
        betas=tuple(optimizer_options.betas),
    )

    def step(real, z):
        adam.zero_grad()
        _value(players, real, z).backward()
        adam.step()

    return step


def _on_proximal_objective(players, optimizer_options, *, lam: float, inner_steps: int):
    """``step(real, z)`` of G alone on the proximal objective (19) through ProximalMinimax, a fresh
    inner Adam per solve (Sec. 6.1); returns V at the proximal solution."""
    betas, lr = tuple(optimizer_options.betas), optimizer_options.lr
    adam = torch.optim.Adam([p for p in players.min_parameters() if p.requires_grad], lr=lr, betas=betas)
    inner = torch.optim.Adam(list(players.discriminator.parameters()), lr=lr, betas=betas)
    proximal = ProximalMinimax(
        players.discriminator,
        min_optimizer=adam,
        max_optimizer=inner,
        lam=lam,
        inner_steps=inner_steps,
        keep_proximal_solution=False,
    )

    def step(real, z):
        inner.state.clear()
        return float(proximal.step(lambda: _value(players, real, z), real).detach())

    return step


OBJECTIVES = {"V": _on_value, "proximal": _on_proximal_objective}  # what G alone optimizes, in this order


def _generator_alone(
    trained, objective: str, data, config, evaluation: tuple, *, steps: int, lam: float, inner_steps: int
) -> tuple[list[dict], list]:
    """A copy of the players, D frozen, G optimized ``steps`` times; one row per step with V on the
    evaluation batch, and the copy's samples before and after."""
    players, r = copy.deepcopy(trained), config.run
    for p in players.discriminator.parameters():
        p.requires_grad_(objective != "V")  # frozen; the proximal inner ascent moves a copy and returns
    step = OBJECTIVES[objective](players, config.optimizer, lam=lam, inner_steps=inner_steps)
    batches = BatchStream(data.sample, r.batch_size, players.latent_dim, noise_seed=r.seed + 31, device=r.device)
    rows, pictures = [], [_samples(players, data, r.seed)]
    for t in range(steps + 1):
        with torch.no_grad():
            rows.append({"objective": objective, "step": t, "value": float(_value(players, *evaluation))})
        if t == steps:
            break
        proximal_value = step(*batches.next())
        if proximal_value is not None:
            rows[-1]["proximal_value"] = proximal_value
    return rows, [*pictures, _samples(players, data, r.seed)]


def equilibrium_test(
    checkpoint: str | Path, *, steps: int = 200, lam: float = 0.1, inner_steps: int = 50, out: str | Path | None = None
) -> dict:
    """Run both tests from ``checkpoint``; write equilibrium.csv, equilibrium.png and
    equilibrium.json into ``out`` (default: ``<run folder>/equilibrium_test``)."""
    config_path, weights = locate(checkpoint)
    config = load(config_path)
    run = build(config)
    run.session.load_state_dict(torch.load(weights, weights_only=False))
    players, data, r = run.players, run.data, config.run
    if not hasattr(players, "discriminator") or not hasattr(players, "objective"):
        raise ValueError(f"equilibrium-test needs a generator-discriminator run; {r.framework!r} has none")
    out = Path(out) if out is not None else config_path.parent / "equilibrium_test"
    out.mkdir(parents=True, exist_ok=True)
    evaluation = BatchStream(data.sample, r.batch_size, players.latent_dim, noise_seed=r.seed + 30, device=r.device)
    real_and_noise = evaluation.next()
    rows, pictures = [], {}
    for objective in OBJECTIVES:
        mine, pictures[objective] = _generator_alone(
            players, objective, data, config, real_and_noise, steps=steps, lam=lam, inner_steps=inner_steps
        )
        rows += mine
    write_rows(rows, out / "equilibrium.csv", ["objective", "step", "value", "proximal_value"])
    summary = {
        objective: {"value_start": mine[0]["value"], "value_end": mine[-1]["value"]}
        for objective, mine in grouped(rows, "objective").items()
    }
    summary.update({"steps": steps, "lam": lam, "inner_steps": inner_steps, "checkpoint": str(weights)})
    (out / "equilibrium.json").write_text(json.dumps(summary, indent=1))
    _plot(rows, pictures, data, out / "equilibrium.png")
    return summary


@torch.no_grad()
def _samples(players, data, seed: int):
    """The data source's number of samples of the generator (or its mixture), on the CPU."""
    return players.sample(data.equilibrium_samples, torch.Generator().manual_seed(seed + 32)).cpu()


def _plot(rows: list[dict], pictures: dict, data, path: Path) -> None:
    with saved_figure(path, 1, 3, figsize=(14, 4), layout="constrained") as (_figure, axes):
        for objective, label in (("V", "G on V, eq. (5)"), ("proximal", "G on V_prox, eq. (19)")):
            mine = grouped(rows, "objective")[objective]
            axes[0].plot([r["step"] for r in mine], [r["value"] for r in mine], label=f"V(G_t, D_final): {label}")
        proximal = [r for r in rows if "proximal_value" in r]
        axes[0].plot(
            [r["step"] for r in proximal],
            [r["proximal_value"] for r in proximal],
            ":",
            label="V at the proximal solution",
        )
        axes[0].set_xlabel("generator steps with D frozen")
        axes[0].legend(fontsize=7)
        axes[0].grid(alpha=0.3)
        for ax, objective in zip(axes[1:], ("V", "proximal")):
            data.show_samples(ax, *pictures[objective])
            ax.set_title(f"samples before and after: {objective}", fontsize=9)
