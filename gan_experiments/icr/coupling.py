r"""How strongly ACGD's competitive term acts in a trained run: its coupling at a checkpoint.

ACGD (Schäfer, Zheng & Anandkumar 2020, "Implicit competitive regularization in GANs",
Algorithm 1, App. A.5) takes the step

.. math::
    \Delta x = -A_x^{1/2} (I + K K^\top)^{-1} A_x^{1/2} (\nabla_x f + D_{xy} f\, A_y \nabla_y f),
    \qquad \Delta y = A_y (\nabla_y f + D_{yx} f\, \Delta x),
    \qquad K = A_x^{1/2} D_{xy} f\, A_y^{1/2},

with :math:`A_x, A_y` the diagonal RMSProp step sizes. Without the mixed derivatives
(:math:`D_{xy} f = 0`) this is simultaneous RMSProp descent-ascent, :math:`\Delta x = -A_x
\nabla_x f`, :math:`\Delta y = A_y \nabla_y f`; every effect the paper credits to competition (its
Sec. 4-5, the implicit competitive regularisation) comes through :math:`K`. Where
:math:`\lVert K \rVert_2^2 = \lambda_{max}(K K^\top) \ll 1`, the inverse is the identity to that
order and ACGD moves as RMSProp descent-ascent does (CGD paper, Schäfer & Anandkumar 2019, Sec. 3:
CGD reduces to gradient descent-ascent as :math:`\eta \lVert D_{xy} f \rVert \to 0`).

:func:`coupling` measures that at a run's checkpoint, on the run's fixed diagnostic batch
(:meth:`~gan_experiments.frameworks.base.GANRun.diagnostic_batch`, the batch of
``run.critic_diagnostics``), with the step sizes the optimizer's next step would use, in
training mode, every buffer put back, nothing in the run or its folder changed:

- ``coupling``: :math:`\lambda_{max}(K K^\top)` from :func:`cgd_optim.linalg.lanczos` (a Ritz
  value: never above the true value, and within rounding of it once the recurrence has resolved it);
- ``min_step_change``: :math:`\lVert \Delta x - \Delta x_{GDA} \rVert / \lVert \Delta x_{GDA} \rVert`
  and ``max_step_change`` the same for :math:`\Delta y`: how far the competitive step is from the
  RMSProp descent-ascent step of the same step sizes.

Command line (one line per run folder; ``--json`` for the numbers)::

    python -m gan_experiments.icr.coupling RUN_FOLDER [RUN_FOLDER ...] [--lanczos 30] [--json FILE]
"""

from __future__ import annotations

import argparse
import functools
import json
import sys
from pathlib import Path

import torch

from cgd_optim.competitive import competitive_update, coupling_operator
from cgd_optim.linalg import conjugate_gradient, lanczos

from ..config import ConfigError, load
from ..experiment import build
from ..models import buffers_kept
from ..records import RunFolder

SOLVE = dict(tol=1e-8, atol=0.0, max_iter=500, check_every=1, first_check=0)  # the steps compared, solved tightly


def coupling(players, optimizer, real, z, noise=None, *, lanczos_steps: int = 30, seed: int = 0) -> dict:
    """``{"coupling", "min_step_change", "max_step_change", "lanczos_steps"}`` (module docstring) of
    ``optimizer`` (CGD or ACGD) on the zero-sum ``players.objective(real, z, noise)``."""
    if not hasattr(optimizer, "local_game"):  # the optimizers that solve CGD's local game
        raise TypeError(f"coupling needs a competitive optimizer (CGD, ACGD), got {type(optimizer).__name__}")
    with buffers_kept(players), torch.enable_grad():
        game = optimizer.local_game(lambda: players.objective(real, z, noise))
        if not game.zero_sum:
            raise ValueError("coupling measures zero-sum games: the objective returned (f_min, f_max)")
        start = torch.randn(game.grad_x.numel(), generator=torch.Generator().manual_seed(seed), dtype=game.grad_x.dtype)
        values, _ = lanczos(coupling_operator(game), start.to(game.grad_x.device), lanczos_steps, 0)
        solve = functools.partial(conjugate_gradient, **SOLVE)
        dx, dy, _, _ = competitive_update(*game[:6], solve)  # LocalGame begins with its arguments, in order
    plain_x, plain_y = -game.eta_x * game.grad_x, game.eta_y * game.grad_y
    return {
        "coupling": float(values[0]),
        "min_step_change": float((dx - plain_x).norm() / plain_x.norm()),
        "max_step_change": float((dy - plain_y).norm() / plain_y.norm()),
        "lanczos_steps": int(values.numel()),
    }


def measure(folder: str | Path, *, lanczos_steps: int = 30) -> dict:
    """:func:`coupling` at the checkpoint of the run folder ``folder`` (an ACGD or CGD run of a
    two-player framework), with the run's ``step``."""
    run_folder = RunFolder(folder)
    if not run_folder.checkpoint.exists():
        raise ConfigError(f"{folder}: no checkpoint.pt to measure")
    run = build(load(run_folder.path / "config.toml"))
    if not hasattr(run, "diagnostic_batch"):  # before restoring: nothing read for a run it cannot measure
        raise ConfigError(f"{folder}: framework {run.config.run.framework!r} has no diagnostic batch")
    step = run.restore(run_folder)
    real, z, noise = run.diagnostic_batch()
    return {"step": step, **coupling(run.players, run.session.optimizer, real, z, noise, lanczos_steps=lanczos_steps)}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m gan_experiments.icr.coupling", description=__doc__.split("\n")[0])
    parser.add_argument("folders", nargs="+", type=Path, help="run folders holding an ACGD or CGD checkpoint")
    parser.add_argument("--lanczos", type=int, default=30, help="Lanczos steps for the coupling (default 30)")
    parser.add_argument("--json", type=Path, default=None, help="also write the numbers here")
    args = parser.parse_args(argv)
    results = {}
    for folder in args.folders:
        result = results[str(folder)] = measure(folder, lanczos_steps=args.lanczos)
        print(
            f"{folder}: step {result['step']}, coupling |K|^2 {result['coupling']:.3g}, step change "
            f"min {result['min_step_change']:.3g} / max {result['max_step_change']:.3g}",
            flush=True,
        )
    if args.json:
        args.json.write_text(json.dumps(results, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
