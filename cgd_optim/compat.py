r"""Drop-in classes for users of the ICR authors' optimizers: change the import line only.

``cgd_optim.compat.ACGD`` and ``BCGD`` take the parameters of ``optims.ACGD`` / ``optims.BCGD``
of the authors' repository (devzhk/Implicit-Competitive-Regularization, commit 71bda29) in its
order, plus the names ``cgds`` 0.4.5 added (keyword-only); ``GACGD`` follows ``cgds``'s
``CGDs.GACGD``.  They reproduce those codes' numerics, which differ from Algorithm 1 of
Schäfer, Zheng & Anandkumar 2020 ("Implicit competitive regularization in GANs", App. A.5) as
written and from our native :class:`cgd_optim.ACGD`:

* step sizes :math:`\eta_t = \alpha\sqrt{1-\beta^t} / (\sqrt{v_t} + \epsilon)` (``eps_placement="outside"``);
* ``tol`` and ``atol`` bound the *squared* residual norm (``tol_convention="squared"``; GACGD's
  GMRES bounds the norm, as theirs does);
* the system solved alternates between the players from step to step, starting with the max
  player's (``solve_x=False``), warm-started from the previous step's stored solution as it is
  (no rescaling to the new step sizes, no Galerkin scaling), with their iteration caps (the max
  player's system 1000, the min player's its size; BCGD both their sizes);
* BCGD's optional momentum: a bias-corrected exponential average of the solutions;
* GACGD: the joint system :math:`\begin{pmatrix} I & \eta_x D_{xy} f \\ \eta_y D_{yx} g & I \end{pmatrix}`
  solved by GMRES from a cold start.

What they do not repeat: the discarded second Hessian-vector product of the right-hand sides,
the solver's read of the device every iteration, the eight ``.item()`` reads of their info, and
NaN weights (a non-finite step raises FloatingPointError and changes nothing).  Their names:
"x" is the max player (``max_params``), "y" the min player, in ACGD and BCGD.
"""

from __future__ import annotations

import dataclasses
import math
import time
from collections.abc import Callable, Iterable
from typing import Any

import torch
from torch import Tensor

from . import competitive
from ._base import check_positive, step_size
from .autodiff import flat_or_concatenated, unflatten
from .competitive import LocalGame, LocalGameStep
from .linalg import KrylovSolve

CPU = torch.device("cpu")  # their default device argument (accepted and unused)
MAX_SIDE_CAP = 1000  # optims.ACGD: nsteps=1000 for the max player's system, its size for the min player's
INFO_KEYS = ("grad_x", "grad_y", "hvp_x", "hvp_y", "cg_x", "cg_y", "time", "iter_num")


def _refuse(**unsupported: Any) -> None:
    for name, value in unsupported.items():
        if value is not None:
            raise ValueError(
                f"{name} is not supported: cgd_optim does not drive DistributedDataParallel's private "
                f"reducer; for multi-process training use the native cgd_optim.ACGD / CGD, whose "
                f"process_group= averages gradients and products over the ranks "
                f"(docs/distributed.md). Pass {name}=None (the default)"
            )


def _refuse_authors_state(name: str, state_dict: dict[str, Any], their_keys: set[str]) -> None:
    """A state saved by the authors' class (a flat dict with ``their_keys``) cannot continue here."""
    if "param_groups" not in state_dict and their_keys <= set(state_dict):
        raise ValueError(
            f"{name}.load_state_dict: this is a state saved by the authors' {name} (keys "
            f"{sorted(state_dict)}), which cannot continue here: resume from the saved model weights "
            "with a fresh optimizer"
        )


def _refuse_recycle(recycle: int, alternating: bool) -> None:
    """``recycle`` (the native optimizers' reuse of CG pairs) has no meaning when the solved system changes player."""
    if recycle != 0:
        how = (
            "alternates the solved side (min player, max player) from step to step"
            if alternating
            else "solves one joint general-sum system by GMRES"
        )
        raise ValueError(
            f"recycle={recycle!r} is not supported here: this compatibility class {how}, so the previous "
            "step's CG pairs belong to another system; use cgd_optim.ACGD / cgd_optim.CGD(recycle=k), "
            "which always solves the min player's system"
        )


def _refuse_groups(optimizer: Any) -> None:
    """The authors' classes have one group per player, which ``set_lr`` and the solved side rely on."""
    if getattr(optimizer, "_sealed", False):
        raise ValueError(
            f"{type(optimizer).__name__} keeps the authors' two groups (one per player), as set_lr expects: build "
            "it with all of a player's parameters, or use cgd_optim.ACGD / CGD, whose players take param groups"
        )


def _check_solver(solver: str) -> None:
    if solver != "cg":
        raise ValueError(
            f"solver={solver!r} is not supported: the supported value is 'cg' (conjugate gradient); "
            "the repository's 'gd' (a fixed number of gradient steps) has no counterpart here"
        )


class _AlternatingSides:
    """What ACGD and BCGD of the authors' code share: the solved side alternates, warm starts are the
    stored solutions as they are, ``get_info`` and ``set_lr``.

    Each player's stored solution is ``-Δ / η^k`` (``state[p]["compat_solution"]``), k = 1/2 for
    ACGD (their ``old_max`` / ``old_min``, the systems' own unknowns) and k = 1 for BCGD (their
    ``cg_x`` / ``cg_y``); the warm start of the system in :math:`s = -\\eta^{-1/2}\\Delta` is
    :math:`\\eta^{k - 1/2}` times it.  ``state["solver"]["solve_x"]`` is their flag.
    """

    solution_power = 0.5
    rescale_on_set_lr = True
    constructor_attributes = (*competitive.CGD.constructor_attributes, "collect_info", "info", "_initial_solve_x")

    def _compat_setup(self, solve_x: bool, collect_info: bool) -> None:
        self.collect_info = bool(collect_info)
        self.info: dict[str, Any] = dict.fromkeys(INFO_KEYS)
        self._initial_solve_x = bool(solve_x)

    def _solves_min_side(self) -> bool:
        return self.solver_state().get("solve_x", self._initial_solve_x)

    def _cap(self, params: list[Tensor], max_side: bool) -> int:
        return MAX_SIDE_CAP if max_side else sum(p.numel() for p in params)

    def _stored_start(self, params: list[Tensor], eta: Tensor) -> Tensor | None:
        stored = [self.state.get(p, {}).get("compat_solution") for p in params]
        if all(u is None for u in stored):
            return None
        start = flat_or_concatenated(stored, params)
        return start if self.solution_power == 0.5 else start * eta.pow(self.solution_power - 0.5)

    def _side_solve(self, solve: KrylovSolve, params: list[Tensor], max_side: bool) -> KrylovSolve:
        return dataclasses.replace(solve, max_iter=self._cap(params, max_side))

    def local_game_step(self, game: LocalGame, solve: KrylovSolve) -> LocalGameStep:
        """The solved side alternates (their ``solve_x``), warm-started from the stored solution as
        it is; their info norms go into ``step_stats`` (read by :meth:`get_info`)."""
        solve_min = self._solves_min_side()
        g = game
        started = time.perf_counter()
        if solve_min:  # their solve_x=True: the min player's system, then the max player's step
            start = self._stored_start(g.xs, g.eta_x)
            dx, dy, _, info = competitive.competitive_update(
                g.hvp_xy, g.hvp_yx, g.grad_x, g.grad_y, g.eta_x, g.eta_y, self._side_solve(solve, g.xs, False), start
            )
        else:  # the max player's system: the local game relabelled (y minimizes -f)
            start = self._stored_start(g.ys, g.eta_y)
            dy, dx, _, info = competitive.competitive_update(
                lambda v: g.hvp_yx(v).neg(),
                lambda u: g.hvp_xy(u).neg(),
                -g.grad_y,
                -g.grad_x,
                g.eta_y,
                g.eta_x,
                self._side_solve(solve, g.ys, True),
                start,
            )
        seconds = time.perf_counter() - started
        entries = self._solution_entries(dx, dy, g)  # the warm start: before any momentum
        dx, dy, extra = self._after_local_solve(dx, dy, g.eta_x, g.eta_y, g.xs, g.ys)
        info["warm_started"], info["max_iter"] = (
            start is not None,
            self._cap(g.xs if solve_min else g.ys, not solve_min),
        )
        stats = self._step_info(info, g, dx, dy, solve_min, seconds)
        solver_entries = {**extra.pop("solver", {}), "solve_x": not solve_min}
        return LocalGameStep(dx, dy, info, {**entries, **extra, "solver": solver_entries}, stats)

    def _after_local_solve(self, dx, dy, eta_x, eta_y, xs, ys):
        """(dx, dy, extra state): BCGD's momentum acts here; the update as solved otherwise."""
        return dx, dy, {}

    def _solution_entries(self, dx: Tensor, dy: Tensor, game: LocalGame) -> dict:
        entries = {}
        for params, delta, eta in ((game.xs, dx, game.eta_x), (game.ys, dy, game.eta_y)):
            solution = (delta / eta.pow(self.solution_power)).neg_()
            entries.update({p: {"compat_solution": piece} for p, piece in zip(params, unflatten(solution, params))})
        return entries

    def _step_info(self, info: dict, game: LocalGame, dx: Tensor, dy: Tensor, solve_min: bool, seconds: float) -> dict:
        """The norms their ``get_info`` reports, as device tensors (read only by ``get_info``). "x" is
        the max player: hvp_x = |D_xy η_y ∇_y f| of the max player's right-hand side, hvp_y the min
        player's; only the solved side's is computed (no discarded product), the other is NaN."""
        if not self.collect_info:
            return {}
        grad_x, grad_y = game.grad_x, game.grad_y
        own_grad, root = (grad_x, game.eta_x.sqrt()) if solve_min else (-grad_y, game.eta_y.sqrt())
        cross = torch.linalg.vector_norm(info["rhs"] / root - own_grad) if "rhs" in info else float("nan")
        nan = torch.full((), float("nan"), dtype=grad_x.dtype, device=grad_x.device)
        norm = torch.linalg.vector_norm
        return {
            "grad_x": norm(grad_y),
            "grad_y": norm(grad_x),
            "hvp_x": nan if solve_min else cross,
            "hvp_y": cross if solve_min else nan,
            "cg_x": norm(dy),
            "cg_y": norm(dx),
            "time": torch.tensor(seconds, dtype=torch.float64),
            "iter_num": info["iterations"],
        }

    def add_param_group(self, param_group: dict) -> None:
        _refuse_groups(self)
        super().add_param_group(param_group)

    def step(self, loss, trigger: Any = 0.0):
        """One step on the loss tensor (their ``step(loss)``); a closure works too. ``trigger`` (their
        DistributedDataParallel dummy loss) is accepted and unused: it only adds 0 to the objective."""
        return super().step(loss)

    def get_info(self) -> dict[str, Any]:
        """Their info keys as Python numbers (``grad_x``, ``grad_y``, ``hvp_x``, ``hvp_y``, ``cg_x``,
        ``cg_y``, ``time``, ``iter_num``), read from the device here (from ``step_stats``), once, not
        during the step; None before the first step or with ``collect_info=False``. ``time`` is the
        host time of the solve (on an accelerator, without synchronisation)."""
        tensors = {k: self.step_stats[k] for k in INFO_KEYS if k in self.step_stats}
        values = (
            dict(zip(tensors, torch.stack([v.to(torch.float64) for v in tensors.values()]).tolist())) if tensors else {}
        )
        info = {**self.info, **values}
        if isinstance(info.get("iter_num"), float):
            info["iter_num"] = int(info["iter_num"])
        return info

    def set_lr(self, lr_max: float, lr_min: float) -> None:
        """New step sizes (their ``set_lr``). As the repository's ACGD does, a stored warm start is
        multiplied by sqrt(old / new) when that ratio differs from 1 by more than 1e-3 (BCGD and
        ``cgds`` only store the rates); prints nothing."""
        check_positive("lr_max", lr_max)
        check_positive("lr_min", lr_min)
        for group, new in ((self.param_groups[1], lr_max), (self.param_groups[0], lr_min)):
            ratio = math.sqrt(step_size(group["lr"]) / step_size(new))
            if self.rescale_on_set_lr and abs(ratio - 1) > 1e-3:
                for p in group["params"]:
                    if "compat_solution" in self.state.get(p, {}):
                        self.state[p]["compat_solution"] = self.state[p]["compat_solution"] * ratio
            group["lr"] = new

    def load_state_dict(self, state_dict: dict[str, Any]) -> None:
        """Loads a state saved by this class (``state_dict()``); prints nothing. A state saved by the
        authors' classes (a dict with ``lr_max``, ``old_max``, ...) is refused with ValueError."""
        _refuse_authors_state(type(self).__name__, state_dict, {"lr_max", "lr_min", "step"})
        super().load_state_dict(state_dict)


class ACGD(_AlternatingSides, competitive.ACGD):
    r"""The authors' ACGD (``optims.ACGD`` of their repository; ``CGDs.ACGD`` of ``cgds``).

    ``max_params`` ascend and ``min_params`` descend the loss given to :meth:`step`; the step is
    the ACGD local-game step (module docstring for their numerics).  Errors: ``solver`` other than
    ``'cg'``, a reducer (DistributedDataParallel's private API is not used); ``device`` is
    accepted and unused (the parameters say where they live).
    """

    def __init__(
        self,
        max_params: Iterable[Tensor],
        min_params: Iterable[Tensor],
        lr_max: float = 1e-3,
        lr_min: float = 1e-3,
        eps: float = 1e-5,
        beta: float = 0.99,
        tol: float = 1e-12,
        atol: float = 1e-20,
        device: Any = CPU,
        solve_x: bool = False,
        collect_info: bool = True,
        solver: str = "cg",
        *,
        max_reducer: Any = None,
        min_reducer: Any = None,
        recycle: int = 0,
        loss_scaling: Any = False,
    ) -> None:
        _refuse(max_reducer=max_reducer, min_reducer=min_reducer)
        _refuse_recycle(recycle, alternating=True)
        _check_solver(solver)
        super().__init__(
            min_params,
            max_params,
            lr_min=lr_min,
            lr_max=lr_max,
            beta=beta,
            eps=eps,
            tol=tol,
            atol=atol,
            max_iter=MAX_SIDE_CAP,
            warm_start=True,
            tol_convention="squared",
            eps_placement="outside",
            loss_scaling=loss_scaling,
        )
        self._compat_setup(solve_x, collect_info)


class BCGD(_AlternatingSides, competitive.CGD):
    r"""The authors' BCGD (``optims.BCGD``; ``CGDs.BCGD``): CGD with constant step sizes.

    ``momentum`` > 0 (the repository's; ``cgds`` fails with it) moves the players by
    :math:`\eta\, m_t / (1 - \mu^t)` with :math:`m_t = \mu m_{t-1} + (1 - \mu) c_t` and :math:`c_t`
    the solved update divided by :math:`\eta`.  ``update_max`` (``cgds``, keyword-only): None
    (both players move, default), True or False (one player only) -- the one-player modes are not
    reproduced and raise ValueError.
    """

    solution_power = 1.0
    rescale_on_set_lr = False
    constructor_attributes = (*_AlternatingSides.constructor_attributes, "momentum")

    def __init__(
        self,
        max_params: Iterable[Tensor],
        min_params: Iterable[Tensor],
        lr_max: float = 1e-3,
        lr_min: float = 1e-3,
        tol: float = 1e-12,
        atol: float = 1e-20,
        momentum: float = 0.0,
        device: Any = CPU,
        solve_x: bool = False,
        collect_info: bool = True,
        *,
        update_max: bool | None = None,
        recycle: int = 0,
        loss_scaling: Any = False,
    ) -> None:
        _refuse_recycle(recycle, alternating=True)
        if update_max is not None:
            raise ValueError(
                "update_max=True/False (moving one player only) is not supported: use update_max=None "
                "(both players), or freeze a player with requires_grad_(False)"
            )
        if not (isinstance(momentum, (int, float)) and 0.0 <= momentum < 1.0):
            raise ValueError(f"Invalid momentum value: {momentum}")
        super().__init__(
            min_params,
            max_params,
            lr_min=lr_min,
            lr_max=lr_max,
            tol=tol,
            atol=atol,
            max_iter=MAX_SIDE_CAP,
            warm_start=True,
            tol_convention="squared",
            loss_scaling=loss_scaling,
        )
        self.momentum = float(momentum)
        self._compat_setup(solve_x, collect_info)

    def _cap(self, params, max_side):
        return sum(p.numel() for p in params)  # optims.BCGD: nsteps = the solved player's size

    def _side_solve(self, solve, params, max_side):
        # their CG runs in c = Δ/η, ours in s = sqrt(η) c: the absolute tolerance scales by sqrt(η)
        atol = solve.atol * math.sqrt(step_size(self.param_groups[1 if max_side else 0]["lr"]))
        return dataclasses.replace(solve, max_iter=self._cap(params, max_side), atol=atol)

    def _after_local_solve(self, dx, dy, eta_x, eta_y, xs, ys):
        momentum = self.momentum
        if momentum == 0.0:
            return dx, dy, {}
        t = self.solver_state().get("momentum_steps", 0) + 1
        extra, moved = {"solver": {"momentum_steps": t}}, []
        for params, delta, eta in ((xs, dx, eta_x), (ys, dy, eta_y)):
            previous = flat_or_concatenated([self.state.get(p, {}).get("momentum_average") for p in params], params)
            average = previous * momentum + (delta / eta) * (1.0 - momentum)
            moved.append(average * eta / (1.0 - momentum**t))
            extra.update({p: {"momentum_average": piece} for p, piece in zip(params, unflatten(average, params))})
        return moved[0], moved[1], extra


class GACGD(competitive.ACGD):
    r"""``CGDs.GACGD`` of ``cgds``: ACGD for general-sum games, where x minimizes ``loss_x`` and y
    minimizes ``loss_y`` (in our convention :math:`f_{min}` = ``loss_x``, :math:`f_{max}` = ``-loss_y``).

    With :math:`f` = ``loss_x``, :math:`g` = ``loss_y`` and their ACGD step sizes, one step solves

    .. math::
        \begin{pmatrix} I & \eta_x D_{xy} f \\ \eta_y D_{yx} g & I \end{pmatrix} u
        = \begin{pmatrix} \eta_x \nabla_x f \\ \eta_y \nabla_y g \end{pmatrix}

    by GMRES without restarts from a cold start, ``tol`` / ``atol`` bounding the residual norm,
    at most ``max_iter`` iterations (default: the size of the system), and moves both players by
    :math:`-u` (with :math:`u` = the right-hand side when its norm is below 1e-8, as theirs does).
    ``track_cond`` and the reducers are refused with ValueError.
    """

    constructor_attributes = (*competitive.ACGD.constructor_attributes, "_joint_max_iter")

    def __init__(
        self,
        x_params: Iterable[Tensor],
        y_params: Iterable[Tensor],
        x_reducer: Any = None,
        y_reducer: Any = None,
        lr_x: float = 1e-3,
        lr_y: float = 1e-3,
        eps: float = 1e-6,
        beta: float = 0.99,
        tol: float = 1e-5,
        atol: float = 1e-6,
        max_iter: int | None = None,
        track_cond: Callable | None = None,
        *,
        recycle: int = 0,
        loss_scaling: Any = False,
    ) -> None:
        _refuse(x_reducer=x_reducer, y_reducer=y_reducer)
        _refuse_recycle(recycle, alternating=False)
        if track_cond is not None:
            raise ValueError(
                "track_cond is not supported: step_stats['relative_residual'] and ['iterations'] give "
                "every step's GMRES residual and iterations, and get_info() returns them"
            )
        if max_iter is not None and not (isinstance(max_iter, int) and max_iter >= 1):
            raise ValueError(f"Invalid max_iter value: {max_iter}")
        super().__init__(
            x_params,
            y_params,
            lr_min=lr_x,
            lr_max=lr_y,
            beta=beta,
            eps=eps,
            tol=tol,
            atol=atol,
            warm_start=False,
            eps_placement="outside",
            loss_scaling=loss_scaling,
        )
        self._joint_max_iter = max_iter

    def add_param_group(self, param_group: dict) -> None:
        _refuse_groups(self)
        super().add_param_group(param_group)

    def step(self, loss_x: Tensor, loss_y: Tensor, trigger: Any = None):
        """One step: x descends ``loss_x``, y descends ``loss_y``; returns ``(loss_x, loss_y)``.
        ``trigger`` (their DistributedDataParallel dummy loss) is accepted and unused."""
        super().step(lambda: (loss_x, -loss_y))
        return loss_x, loss_y

    def local_game_step(self, game: LocalGame, solve: KrylovSolve) -> LocalGameStep:
        """The joint system of the class docstring by GMRES from a cold start; ``iter_num``,
        ``num_iter`` and ``time`` go into ``step_stats`` (read by :meth:`get_info`)."""
        g, n = game, game.grad_x.numel()
        cap = self._joint_max_iter or n + g.grad_y.numel()

        def matvec(u: Tensor) -> Tensor:  # D_yx g = -D_yx f_max
            return torch.cat([u[:n] + g.eta_x * g.hvp_xy(u[n:]), u[n:] - g.eta_y * g.hvp_yx(u[:n])])

        rhs = torch.cat([g.eta_x * g.grad_x, -g.eta_y * g.grad_y])  # grad_y is grad_y f_max = -grad_y g
        started = time.perf_counter()
        solution, info = dataclasses.replace(solve, method="GMRES", restart=cap, max_iter=cap)(matvec, rhs)
        small = torch.linalg.vector_norm(rhs) < 1e-8
        solution = torch.where(small, rhs, solution)
        info.update(warm_started=False, max_iter=cap, hvp_count=2 * info["matvecs"])
        stats = {
            "iter_num": info["iterations"],
            "num_iter": info["iterations"],
            "time": torch.tensor(time.perf_counter() - started, dtype=torch.float64),
        }
        return LocalGameStep(-solution[:n], -solution[n:], info, {}, stats)

    def get_info(self) -> dict[str, Any]:
        """``iter_num`` (and cgds's ``num_iter``), ``relative_residual`` and ``time`` of the last step,
        read from the device here (from ``step_stats``); an empty dict before the first step."""
        if "iter_num" not in self.step_stats:
            return {}
        return {key: self.step_stats[key].item() for key in ("iter_num", "num_iter", "relative_residual", "time")}

    def set_lr(self, lr_x: float, lr_y: float) -> None:
        """New step sizes (``cgds`` only stores them); prints nothing."""
        check_positive("lr_x", lr_x)
        check_positive("lr_y", lr_y)
        self.param_groups[0]["lr"], self.param_groups[1]["lr"] = lr_x, lr_y

    def load_state_dict(self, state_dict: dict[str, Any], rank: Any = None) -> None:
        """Loads a state saved by this class; ``rank`` (their target device) is unused: the state
        follows the parameters' device. A state of ``cgds``'s GACGD is refused with ValueError."""
        _refuse_authors_state("GACGD", state_dict, {"lr_x", "lr_y", "step"})
        super().load_state_dict(state_dict)


__all__ = ["ACGD", "BCGD", "GACGD"]
