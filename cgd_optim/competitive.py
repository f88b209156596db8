r"""Competitive gradient descent (CGD) and its adaptive variant ACGD.

The update of both is the Nash equilibrium of the local game of the ICR paper
(Schäfer, Zheng & Anandkumar 2020, "Implicit competitive regularization in GANs", Sec. 5 and App. A.5), with diagonal
step sizes
:math:`\eta_x, \eta_y` (constants for CGD, RMSProp-type for ACGD):

.. math::
    \min_{\Delta x}\ \Delta x^\top \nabla_x f_{min} + \Delta x^\top D_{xy} f_{min}\, \Delta y
        + \tfrac12 \Delta x^\top \eta_x^{-1} \Delta x,\qquad
    \max_{\Delta y}\ \Delta y^\top \nabla_y f_{max} + \Delta y^\top D_{yx} f_{max}\, \Delta x
        - \tfrac12 \Delta y^\top \eta_y^{-1} \Delta y,

whose first-order conditions give, with :math:`A = \eta_x^{1/2}` (Algorithm 1's
symmetric rearrangement),

.. math::
    \Delta x &= -A \left(I + A D_{xy} f_{min}\, \eta_y\, D_{yx} f_{max} A\right)^{-1}
                A \left(\nabla_x f_{min} + D_{xy} f_{min}\, \eta_y \nabla_y f_{max}\right), \\
    \Delta y &= \eta_y \left(\nabla_y f_{max} + D_{yx} f_{max}\, \Delta x\right).

In a zero-sum game (:math:`f_{min} = f_{max} = f`) the matrix is
:math:`I + K K^\top` with :math:`K = A D_{xy} f\, \eta_y^{1/2}`: symmetric positive
definite, solved by conjugate gradient.  Otherwise it is solved by restarted GMRES.
Algorithm 1 solves a second system for :math:`\Delta y`; its solution equals the
expression above, which costs one Hessian-vector product instead of a solve.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Callable, Iterable, Mapping
from types import MappingProxyType
from typing import Any, ClassVar, NamedTuple

import torch
from torch import Tensor

from ._base import TwoPlayerOptimizer, _closure_doc, _players_doc, step_size, step_statistics
from .autodiff import (
    double_backward_of_compiled_modules_refused,
    flat_or_concatenated,
    flatten,
    mixed_hvp_operator,
    unflatten,
)
from .distributed import average_, averaged, reduce_finiteness_
from .groups import per_coordinate
from .linalg import KrylovSolve, check_solver_arguments, quasi_newton_preconditioner

HVP = Callable[[Tensor], Tensor]

_solver_doc = """tol: relative tolerance: the linear solve stops once
            :math:`\\|r\\|_2 \\le \\max(\\mathrm{tol}\\,\\|b\\|_2, \\mathrm{atol})` (norm, not squared norm).
        atol: absolute tolerance on the residual norm.
        max_iter: most Krylov iterations per step (each costs two mixed Hessian-vector products).
        gmres_restart: (keyword-only) Krylov dimension of a GMRES cycle, used for general-sum games.
        check_every: (keyword-only) the solver reads its convergence flag once every this many
            iterations; the first read comes where the last 3 solves converged (with 1: before
            every iteration, the first included). Default ``None``: 1 on the CPU (a read costs no
            synchronisation there), 4 on accelerators.
        warm_start: (keyword-only) start the solver from the previous step's solution, rescaled to
            the current step sizes: ``True`` always, ``False`` never, ``"auto"`` (default) whichever
            of warm and cold starts has cost fewer Hessian-vector products on recent steps (a warm
            start costs one more for its initial residual in a zero-sum game, two in a general-sum
            one), re-measuring the other every 10 steps.
        tol_convention: (keyword-only) ``"norm"`` (default): ``tol`` and ``atol`` bound the residual
            norm as above; ``"squared"``: they bound its square,
            :math:`\\|r\\|_2^2 \\le \\max(\\mathrm{tol}\\,\\|b\\|_2^2, \\mathrm{atol})`, as the authors'
            ``cgds`` / ``optims`` do (their tol=1e-12 is our 1e-6).
        recycle: (keyword-only) ``k`` > 0 preconditions each step's conjugate gradient solve by
            the limited-memory BFGS inverse of the newest ``k`` CG pairs :math:`(p_i, M p_i)` of
            the earlier steps' solves (Morales & Nocedal 2000), which those solves made anyway: no
            extra Hessian-vector product, no extra host read; memory ``2k`` vectors of the min
            player's size, kept in the parameters' coordinates in
            ``state[p]["recycled_directions"]`` / ``["recycled_products"]`` (``(k, p.numel())``).
            Zero-sum games only. Default ``0``: off (docs/performance.md measures when it pays)."""


def competitive_update(
    hvp_xy: HVP,
    hvp_yx: HVP,
    grad_x: Tensor,
    grad_y: Tensor,
    eta_x: Tensor,
    eta_y: Tensor,
    solve: Callable[..., tuple[Tensor, dict]],
    x0: Tensor | None = None,
    *,
    symmetric: bool = False,
    root_eta_x: Tensor | None = None,
) -> tuple[Tensor, Tensor, Tensor, dict]:
    r"""The local-game Nash equilibrium :math:`(\Delta x, \Delta y)` of the module docstring.

    Args:
        hvp_xy: :math:`v \mapsto D_{xy} f_{min}\, v` (y-space to x-space).
        hvp_yx: :math:`u \mapsto D_{yx} f_{max}\, u` (x-space to y-space).
        grad_x: :math:`\nabla_x f_{min}`, flat.
        grad_y: :math:`\nabla_y f_{max}`, flat.
        eta_x, eta_y: positive step sizes, flat vectors or 0-dim tensors (broadcast).
        solve: ``solve(matvec, b, x0, side_output=True) -> (s, info)`` for the system in
            :math:`s = -A^{-1}\Delta x` (:func:`~cgd_optim.linalg.conjugate_gradient` or
            :func:`~cgd_optim.linalg.gmres` with their options bound); the side output
            :math:`L s = D_{yx} f_{max} A s` it accumulates from the products of the solve gives
            :math:`\Delta y` without another Hessian-vector product.
        x0: warm start for ``s``.
        symmetric: the game is zero-sum (:math:`D_{xy} f = (D_{yx} f)^\top`) and ``solve`` is
            conjugate gradient; a warm start then costs one product instead of two
            (:func:`_symmetric_warm_start`).
        root_eta_x: :math:`\eta_x^{1/2}`, when the caller has computed it already.

    Returns:
        ``(dx, dy, s, info)``; ``info["hvp_count"]`` counts the mixed products made.
    """
    if root_eta_x is None:
        root_eta_x = eta_x.sqrt()

    def matvec(v: Tensor) -> tuple[Tensor, Tensor]:
        cross = hvp_yx(root_eta_x * v)  # L v = D_yx f_max A v, kept: L s gives Delta y for free
        return torch.addcmul(v, root_eta_x, hvp_xy(eta_y * cross)), cross

    if x0 is not None and symmetric:
        start, cross_start, residual, bounds = _symmetric_warm_start(
            hvp_xy, hvp_yx, grad_x, grad_y, root_eta_x, eta_y, x0
        )
        correction, info = solve(matvec, residual, None, side_output=True, galerkin_start=bounds)
        side = info["side_output"]
        s, side = start + correction, (cross_start if side is None else cross_start + side)
        info["hvp_count"] = 2 * info["matvecs"] + 2
    else:
        rhs = root_eta_x * (grad_x + hvp_xy(eta_y * grad_y))
        s, info = solve(matvec, rhs, x0, side_output=True)
        info["rhs"] = rhs
        side = info["side_output"]  # None when the solve made no product: s = 0, L s = 0
        info["hvp_count"] = 2 * info["matvecs"] + 1
    dx = (root_eta_x * s).neg_()
    dy = eta_y * (grad_y if side is None else grad_y - side)  # D_yx f_max dx = -L s
    return dx, dy, s, info


def _symmetric_warm_start(
    hvp_xy: HVP, hvp_yx: HVP, grad_x: Tensor, grad_y: Tensor, root_eta_x: Tensor, eta_y: Tensor, x0: Tensor
):
    r"""A warm start of the zero-sum system :math:`M s = b` for two products instead of three.

    With :math:`K = A D_{xy} f\, \eta_y^{1/2}`, :math:`M = I + K K^\top` and
    :math:`b = A \nabla_x f + K \eta_y^{1/2} \nabla_y f`. The usual warm start forms
    :math:`b` (one :math:`D_{xy}` product) and :math:`M s_0` (one of each kind). Here, from
    :math:`L s_0 = D_{yx} f A s_0` alone and the symmetry :math:`D_{xy} f = (D_{yx} f)^\top`,

    .. math::
        s_0^\top b = (A s_0)^\top \nabla_x f + (L s_0)^\top \eta_y \nabla_y f,\qquad
        s_0^\top M s_0 = \|s_0\|^2 + (L s_0)^\top \eta_y L s_0,

    which give the Galerkin scaling :math:`\gamma = s_0^\top b / s_0^\top M s_0` (the best
    multiple of :math:`s_0` in the energy norm, so never worse than a cold start), and one
    :math:`D_{xy}` product of a combined vector gives the residual without forming :math:`b`:

    .. math::
        r_0 = b - \gamma M s_0 = A\bigl(\nabla_x f + D_{xy} f\, \eta_y (\nabla_y f - \gamma L s_0)\bigr) - \gamma s_0 .

    :math:`\|b\|` stays unknown; the solver's tolerance is taken relative to lower bounds of it
    (``galerkin_start`` of :func:`~cgd_optim.linalg.conjugate_gradient`), so the solve stops no
    earlier than a solve of :math:`M s = b` would.

    Returns:
        ``(gamma s0, gamma L s0, r0, (|s0' b| / |s0|, (s0' b)^2 / s0' M s0))``.
    """
    scaled_x0 = root_eta_x * x0
    cross = hvp_yx(scaled_x0)
    scaled_grad_y, scaled_cross = eta_y * grad_y, eta_y * cross
    along_b = torch.dot(scaled_x0, grad_x) + torch.dot(cross, scaled_grad_y)
    squared_length = torch.dot(x0, x0)
    energy = squared_length + torch.dot(cross, scaled_cross)
    gamma = torch.where(energy > 0, along_b / energy, 0.0)  # the unselected 0/0 is discarded
    start, cross_start = gamma * x0, gamma * cross
    combined = torch.addcmul(scaled_grad_y, scaled_cross, gamma, value=-1.0)  # eta_y (grad_y - gamma L s0)
    residual = (grad_x + hvp_xy(combined)).mul_(root_eta_x).sub_(start)
    bound = torch.where(squared_length > 0, along_b.abs() / squared_length.sqrt(), 0.0)
    return start, cross_start, residual, (bound, gamma * along_b)


SOLVER_OPTION_NAMES = (
    "tol",
    "atol",
    "max_iter",
    "gmres_restart",
    "check_every",
    "warm_start",
    "tol_convention",
    "recycle",
)  # the keys of SolverOptions, which states saved before it kept in both param groups


@dataclasses.dataclass(frozen=True)
class SolverOptions:
    """How CGD and ACGD solve the local game's linear system: options of the optimizer, not of a
    player (``optimizer.solver_options``), validated once, when the optimizer is built. The
    fields are the keyword arguments of the same names (the class docstrings of :class:`CGD` and
    :class:`ACGD` say what each does)."""

    tol: float = 1e-6
    atol: float = 0.0
    max_iter: int = 50
    gmres_restart: int = 20
    check_every: int | None = None
    warm_start: bool | str = "auto"
    tol_convention: str = "norm"
    recycle: int = 0

    def __post_init__(self) -> None:
        check_solver_arguments(self.tol, self.atol, self.max_iter, 1 if self.check_every is None else self.check_every)
        if not (isinstance(self.gmres_restart, int) and self.gmres_restart >= 1):
            raise ValueError(f"Invalid gmres_restart value: {self.gmres_restart}")
        if self.warm_start not in WARM_START_MODES:
            raise ValueError(f"Invalid warm_start value: {self.warm_start!r}; expected True, False or 'auto'")
        recycle = self.recycle
        if not (isinstance(recycle, int) and not isinstance(recycle, bool) and recycle >= 0):
            raise ValueError(f"Invalid recycle value: {recycle!r}; expected an int >= 0 (0: off)")
        if self.tol_convention not in TOL_CONVENTIONS:
            raise ValueError(f"Invalid tol_convention value: {self.tol_convention!r}; expected 'norm' or 'squared'")

    def norm_tolerances(self) -> tuple[float, float]:
        """(tol, atol) as bounds on the residual norm (``tol_convention="squared"``: their roots)."""
        if self.tol_convention == "squared":
            return math.sqrt(self.tol), math.sqrt(self.atol)
        return self.tol, self.atol


class LocalGame(NamedTuple):
    r"""One step's local game, what :meth:`CGD.local_game_step` solves: the mixed products
    ``hvp_xy`` (:math:`v \mapsto D_{xy} f_{min} v`) and ``hvp_yx`` (:math:`u \mapsto D_{yx} f_{max} u`),
    the flat gradients ``grad_x`` (:math:`\nabla_x f_{min}`) and ``grad_y`` (:math:`\nabla_y f_{max}`),
    the step sizes ``eta_x``, ``eta_y``, whether the game is ``zero_sum``, and the players'
    parameters ``xs``, ``ys`` that take part in the step."""

    hvp_xy: HVP
    hvp_yx: HVP
    grad_x: Tensor
    grad_y: Tensor
    eta_x: Tensor
    eta_y: Tensor
    zero_sum: bool
    xs: list[Tensor]
    ys: list[Tensor]


class LocalGameStep(NamedTuple):
    """What :meth:`CGD.local_game_step` returns: the players' moves ``dx``, ``dy`` (flat), the
    solver's ``info`` (its 0-dim tensors ``iterations``, ``relative_residual``, ``converged``, the
    int ``hvp_count``, the bool ``warm_started``, and ``max_iter`` where a variant changed it),
    ``state``: ``{parameter or "solver": {key: value}}`` entries written into ``self.state`` at
    the commit, and ``stats``: further 0-dim tensors for ``step_stats``."""

    dx: Tensor
    dy: Tensor
    info: dict
    state: dict
    stats: Mapping[str, Tensor] = MappingProxyType({})


def coupling_operator(game: LocalGame) -> HVP:
    r"""The coupling term of the min player's system :math:`(I + A C A) s = b` (module docstring):
    :math:`v \mapsto A\, D_{xy} f_{min}\, \eta_y D_{yx} f_{max}\, A v`, :math:`A = \eta_x^{1/2}`.

    In a zero-sum game it is :math:`K K^\top` with :math:`K = \eta_x^{1/2} D_{xy} f\, \eta_y^{1/2}`,
    symmetric positive semidefinite: its largest eigenvalue :math:`\lVert K \rVert_2^2` says how far
    the step is from simultaneous gradient descent-ascent of the same step sizes (the system is the
    identity where it is small; Schäfer & Anandkumar 2019, "Competitive gradient descent", Sec. 3).
    ``game`` is what :meth:`CGD.local_game` returns; call the map under ``torch.enable_grad()``
    only where the products need it (they differentiate the game's gradient graphs)."""
    root = game.eta_x.sqrt()
    return lambda v: root * game.hvp_xy(game.eta_y * game.hvp_yx(root * v))


class _CompetitiveOptimizer(TwoPlayerOptimizer):
    """Shared step of CGD and ACGD; subclasses say their step sizes in :meth:`step_sizes`, and a
    variant may solve the local game its own way in :meth:`local_game_step`."""

    row_state_keys = ("recycled_directions", "recycled_products")  # recycle=k's CG pairs, k rows each
    constructor_attributes = (*TwoPlayerOptimizer.constructor_attributes, "solver_options")

    def __init__(
        self,
        min_params,
        max_params,
        defaults,
        lr_min,
        lr_max,
        solver_options: SolverOptions,
        process_group="auto",
        **group_and_gradient_options,
    ):
        self.solver_options = solver_options
        super().__init__(
            min_params, max_params, defaults, lr_min, lr_max, process_group=process_group, **group_and_gradient_options
        )

    def upgrade_state_dict(self, state_dict: dict[str, Any]) -> dict[str, Any]:
        """States saved when the solver options were kept in both param groups load without them
        (the optimizer's own ``solver_options`` apply, as for every option given to a constructor)."""
        state_dict = super().upgrade_state_dict(state_dict)
        groups = state_dict.get("param_groups", [])
        if not all(isinstance(group, dict) for group in groups):
            return state_dict
        moved = [{k: v for k, v in group.items() if k not in SOLVER_OPTION_NAMES} for group in groups]
        return {**state_dict, "param_groups": moved}

    def solver_state(self) -> dict:
        """The optimizer's global solver state (where recent solves converged, what warm and cold
        starts cost; a variant's own entries, e.g. compat's ``solve_x``), to read: it lives under the
        key ``"solver"`` of ``self.state``, so that ``state_dict`` holds it, and a step changes it
        only when it commits (through :class:`LocalGameStep`'s ``state["solver"]``)."""
        return self.state.get("solver", {})

    def _warm_start(self, xs: list[Tensor], root_eta_x: Tensor) -> Tensor | None:
        """Previous solution rescaled to today's step sizes: s0 = sqrt(eta_x) * (s_prev / sqrt(eta_x_prev))."""
        if not self._use_warm_start():
            return None
        stored = [self.state.get(p, {}).get("cg_solution") for p in xs]
        if all(u is None for u in stored):
            return None
        return root_eta_x * flat_or_concatenated(stored, xs)

    def _use_warm_start(self) -> bool:
        """``warm_start="auto"``: the cheaper of warm and cold starts as measured on recent solves.

        Each kind's cost is a running average of the Hessian-vector products its steps made (a
        warm start pays one or two for its initial residual); the other kind is re-measured every
        ``WARM_START_PROBE_EVERY`` steps, so the choice follows the problem as training moves.
        """
        mode = self.solver_options.warm_start
        if mode != "auto":
            return mode
        solver = self.solver_state()
        warm, cold = solver.get("warm_hvps"), solver.get("cold_hvps")
        if warm is None or cold is None:
            return warm is None  # after the first step, measure a warm start, then a cold one
        preferred = warm <= cold
        return (not preferred) if solver.get("since_probe", 0) >= WARM_START_PROBE_EVERY else preferred

    def _check_schedule(self, device: torch.device) -> tuple[int, int]:
        """(check_every, first_check) for this step's solve.

        Reading a flag from CPU memory costs no synchronisation, so on the CPU the default
        checks before every iteration, the first included (a warm start that already meets the
        tolerance then costs no iteration), and no iteration is wasted.  On an accelerator the
        default is every 4, and the first check goes where the recent, similar systems converged:
        a check that comes too early costs up to check_every - 1 masked iterations, one too late fewer.
        """
        check_every = self.solver_options.check_every
        if check_every is None:
            check_every = 1 if device.type == "cpu" else ACCELERATOR_CHECK_EVERY
        if check_every == 1:
            return 1, 0
        recent = self.solver_state().get("recent_iterations")
        return check_every, (max(recent) if recent else check_every)

    def _after_solve(self, warm_started: bool, iterations: int, hvp_count: int) -> None:
        """Remember where the solve converged (the next first check) and what the step's products cost."""
        solver = self.state.setdefault("solver", {})
        first_solve = "recent_iterations" not in solver
        solver["recent_iterations"] = ([*solver.get("recent_iterations", []), iterations])[-RECENT_SOLVES:]
        if first_solve:  # v_hat = g^2 exactly at t = 1: an atypical system, not a cost sample
            return
        key = "warm_hvps" if warm_started else "cold_hvps"
        previous = solver.get(key)
        solver[key] = (
            float(hvp_count) if previous is None else (1 - COST_AVERAGING) * previous + COST_AVERAGING * hvp_count
        )
        preferred_warm = solver.get("warm_hvps", float("inf")) <= solver.get("cold_hvps", float("inf"))
        measured = previous is None or warm_started != preferred_warm  # a first sample or a probe
        solver["since_probe"] = 0 if measured else solver.get("since_probe", 0) + 1

    def solver(self, device: torch.device, zero_sum: bool) -> KrylovSolve:
        """This step's solver: conjugate gradient for zero-sum games, GMRES otherwise, with the
        optimizer's :class:`SolverOptions` (tolerances as bounds on the residual norm) and this
        step's check schedule."""
        options = self.solver_options
        check_every, first_check = self._check_schedule(device)
        tol, atol = options.norm_tolerances()
        return KrylovSolve(
            "conjugate gradient" if zero_sum else "GMRES",
            tol,
            atol,
            options.max_iter,
            check_every,
            first_check,
            restart=options.gmres_restart,
        )

    def local_game_step(self, game: LocalGame, solve: KrylovSolve) -> LocalGameStep:
        """The hook that solves this step's :class:`LocalGame`; override it to solve the local game
        another way (:mod:`cgd_optim.compat` solves the players' systems alternately).

        Here: :func:`competitive_update` of the min player's system, warm-started from the stored
        solution (``state[p]["cg_solution"]``, rescaled to today's step sizes) and, with
        ``recycle=k``, preconditioned by the stored CG pairs. The hook must not change
        parameters or ``self.state``: ``step`` commits what it returns once the update is known
        to be finite, so a failed step changes nothing.
        """
        root_eta_x = game.eta_x.sqrt()
        warm = self._warm_start(game.xs, root_eta_x)
        solve, pairs = self._recycling(solve, game.xs, root_eta_x)
        dx, dy, s, info = competitive_update(
            game.hvp_xy,
            game.hvp_yx,
            game.grad_x,
            game.grad_y,
            game.eta_x,
            game.eta_y,
            solve,
            warm,
            symmetric=game.zero_sum,
            root_eta_x=root_eta_x,
        )
        info["warm_started"] = warm is not None
        # views of a fresh tensor: no copy needed
        state = {p: {"cg_solution": piece} for p, piece in zip(game.xs, unflatten(s / root_eta_x, game.xs))}
        if info.get("directions"):  # a solve without iterations keeps the pairs it had
            directions, products = torch.stack(info["directions"]), torch.stack(info["products"])
            new = (directions * root_eta_x, (products - directions) / root_eta_x)  # u = A p, C u = A^-1 (M p - p)
            if pairs is not None:  # the newest k of the earlier pairs and this solve's, oldest first
                new = [torch.cat([old, fresh])[-self.solver_options.recycle :] for old, fresh in zip(pairs, new)]
            _add_recycled_pairs(state, *new, game.xs, self.row_state_keys)
        return LocalGameStep(dx, dy, info, state)

    def _recycling(self, solve, xs: list[Tensor], root_eta_x: Tensor):
        r"""``(solve, pairs)``: ``solve`` with ``recycle=k``'s options bound, and the stored pairs.

        The solve keeps its first k CG pairs :math:`(p_i, M p_i)`. They are stored in the
        parameters' coordinates, :math:`u_i = A p_i` and :math:`C u_i = A^{-1}(M p_i - p_i)` with
        :math:`M = I + A C A`, :math:`C = D_{xy} f\, \eta_y D_{yx} f`, which do not depend on
        :math:`A = \eta_x^{1/2}`; today's step sizes turn them into pairs of today's system,
        :math:`(A^{-1} u_i,\ A^{-1} u_i + A\, C u_i)`, exact where the game's coupling and
        :math:`\eta_y` have not changed (CGD on a fixed game, with any learning-rate schedule).
        The solve is preconditioned by their L-BFGS inverse
        (:func:`~cgd_optim.linalg.quasi_newton_preconditioner`; Morales & Nocedal 2000), the newest
        k pairs of the earlier solves. The pairs cost no product: CG made them."""
        keep = self.solver_options.recycle
        if not keep:
            return solve, None
        pairs = self._recycled_pairs(xs)
        if pairs is None:
            return dataclasses.replace(solve, options={**solve.options, "keep_directions": keep}), None
        directions = pairs[0] / root_eta_x
        preconditioner = quasi_newton_preconditioner(directions, torch.addcmul(directions, pairs[1], root_eta_x))
        options = {**solve.options, "keep_directions": keep, "preconditioner": preconditioner}
        return dataclasses.replace(solve, options=options), pairs

    def _recycled_pairs(self, xs: list[Tensor]) -> tuple[Tensor, Tensor] | None:
        """The stored ``(directions, products)`` as ``(k, n)`` tensors over the min player's
        trainable parameters ``xs``; None when some parameter has none (first step, or a parameter
        unfrozen since)."""
        entries, keys = [self.state.get(p, {}) for p in xs], self.row_state_keys
        if any(keys[0] not in entry for entry in entries):
            return None
        if len({entry[keys[0]].shape[0] for entry in entries}) != 1:
            return None
        return tuple(torch.cat([entry[key] for entry in entries], dim=1) for key in keys)

    @torch.no_grad()
    def step(self, closure):
        """Take one competitive step; returns exactly what the closure returned."""
        returned, f_min, f_max, zero_sum = self._evaluate(closure)
        xs, ys = self._players()
        if not zero_sum and self.solver_options.recycle:
            raise ValueError(
                "recycle applies to conjugate gradient, which solves zero-sum games; this closure "
                "returned a pair (f_min, f_max), solved by GMRES: use recycle=0"
            )
        communicator, scale = self._communicator(), self.loss_scale()
        with double_backward_of_compiled_modules_refused(type(self).__name__):
            game, step_state = self._local_game(f_min, f_max, xs, ys, zero_sum, communicator, scale)
            solve = self.solver(game.grad_x.device, zero_sum)
            with torch.enable_grad():
                result = self.local_game_step(game, solve)
        # The gradients need no check of their own: a non-finite grad_x f makes the right-hand side
        # (or the warm start's projections) non-finite, which the solvers carry into s (a NaN or
        # infinite |b| stays their scale), and a non-finite grad_y f reaches dy = eta_y (grad_y f - L s).
        objectives = (f_min,) if zero_sum else (f_min, f_max)
        finiteness = reduce_finiteness_(
            self._finiteness(*(f.detach() for f in objectives), result.dx, result.dy), communicator
        )
        info = result.info
        finiteness, converged, iterations = self._read_values(finiteness, info["converged"], info["iterations"])
        if not math.isfinite(finiteness):
            if scale is None:
                self._raise_non_finite()
            self.step_stats = self._statistics(game, result, self._after_scaled_step(finite=False))
            return returned  # skipped: parameters and state as they were, the scale lowered
        self._commit(game, step_state, result, int(iterations))
        if not converged:
            self._warn_max_iter(solve.method, info.get("max_iter", solve.max_iter))
        return returned

    def _local_game(
        self,
        f_min: Tensor,
        f_max: Tensor,
        xs: list[Tensor],
        ys: list[Tensor],
        zero_sum: bool,
        communicator,
        scale: float | None = None,
    ) -> tuple[LocalGame, dict]:
        """(the step's :class:`LocalGame`, the state its step sizes commit): gradients (averaged over
        the ranks), step sizes and the mixed products of the gradients' graphs. With loss scaling,
        of S f, each gradient and product divided by S before anything uses it."""
        if scale is not None:
            with torch.enable_grad():  # S f, differentiated below
                f_min = f_min * scale
                f_max = f_min if zero_sum else f_max * scale
        _, _, cross_x, cross_y = grads = self._game_gradients(f_min, f_max, xs, ys, zero_sum, create_graph=True)
        with torch.enable_grad():  # in the graph: the mixed products differentiate these
            flat_cross_x, flat_cross_y = flatten(cross_x), flatten(cross_y)
        if zero_sum:  # one concatenation per player serves the products and the update
            flat_gx, flat_gy = flat_cross_x.detach(), flat_cross_y.detach()
        else:
            flat_gx, flat_gy = flatten(grads[0]).detach(), flatten(grads[1]).detach()
        if communicator is not None:  # the full batch's gradients: every decision below is then the same on all ranks
            flat_gx, flat_gy = average_(torch.cat([flat_gx, flat_gy]), communicator).split(
                [flat_gx.numel(), flat_gy.numel()]
            )
        hvp_xy = averaged(mixed_hvp_operator(flat_cross_y, xs), communicator)
        hvp_yx = averaged(mixed_hvp_operator(flat_cross_x, ys), communicator)
        if scale is not None:
            flat_gx, flat_gy = flat_gx / scale, flat_gy / scale
            hvp_xy, hvp_yx = _unscaled(hvp_xy, scale), _unscaled(hvp_yx, scale)
        eta_x, eta_y, step_state = self.step_sizes(flat_gx, flat_gy, xs, ys)
        # D_xy f_min v: differentiate grad_y f_min by x; D_yx f_max u: grad_x f_max by y (averaged over ranks)
        game = LocalGame(hvp_xy, hvp_yx, flat_gx, flat_gy, eta_x, eta_y, zero_sum, xs, ys)
        return game, step_state

    def local_game(self, closure) -> LocalGame:
        """The :class:`LocalGame` that :meth:`step` would solve next for ``closure`` (as ``step``
        takes it: a callable returning the objective, or the objective itself), at the current
        parameters and with the step sizes the next step would use; nothing is changed (the step
        sizes' state is computed, not written). To inspect a step: its coupling
        (:func:`coupling_operator`), its spectrum, how far it is from descent-ascent."""
        _, f_min, f_max, zero_sum = self._evaluate(closure)
        xs, ys = self._players()
        game, _ = self._local_game(f_min, f_max, xs, ys, zero_sum, self._communicator())
        return game

    def _commit(self, game: LocalGame, step_state: dict, result: LocalGameStep, iterations: int) -> None:
        """Move the players (after decoupled weight decay, where a group has it) and write the
        state: nothing before this changed a parameter or the state."""
        self._decay_weights()
        torch._foreach_add_(game.xs, unflatten(result.dx, game.xs))
        torch._foreach_add_(game.ys, unflatten(result.dy, game.ys))
        for key, entries in (*step_state.items(), *result.state.items()):
            self.state[key].update(entries)
        info = result.info
        self._after_solve(info["warm_started"], iterations, info["hvp_count"])
        self._leave_gradients(
            [*game.xs, *game.ys], [*unflatten(game.grad_x, game.xs), *unflatten(game.grad_y, game.ys)]
        )
        self.step_stats = self._statistics(game, result, self._after_scaled_step(finite=True))

    @staticmethod
    def _statistics(game: LocalGame, result: LocalGameStep, scaling: dict) -> dict[str, Tensor]:
        info = result.info
        norms = {
            "grad_norm_min": torch.linalg.vector_norm(game.grad_x),
            "grad_norm_max": torch.linalg.vector_norm(game.grad_y),
        }
        return step_statistics(
            info["iterations"],
            info["relative_residual"],
            info["hvp_count"],
            info["converged"],
            **norms,
            **scaling,
            **result.stats,
        )


def _unscaled(product: HVP, scale: float) -> HVP:
    """A mixed product of the scaled objective S f, divided by S: the product of f."""
    inverse = 1.0 / scale

    def apply(v: Tensor) -> Tensor:
        return product(v) * inverse

    return apply


def _add_recycled_pairs(state: dict, directions: Tensor, products: Tensor, xs: list[Tensor], keys: tuple) -> None:
    """Per parameter of ``xs``, its columns of the ``(k, n)`` pairs (views: no copy), into ``state``
    under ``keys`` (the directions' key, the products')."""
    sizes = [p.numel() for p in xs]
    for key, pairs in zip(keys, (directions, products)):
        for p, piece in zip(xs, pairs.split(sizes, dim=1)):
            state[p][key] = piece


WARM_START_MODES = (True, False, "auto")
TOL_CONVENTIONS = ("norm", "squared")  # tol, atol bound |r| (ours) or |r|^2 (the authors' cgds / optims)
EPS_PLACEMENTS = ("inside", "outside")  # eps added to sqrt(v_hat) (Algorithm 1) or to sqrt(v) (cgds / optims)
WARM_START_PROBE_EVERY = 10  # warm_start="auto": steps between re-measurements of the kind not in use
COST_AVERAGING = 0.5  # weight of the newest solve in the running cost of its kind of start
ACCELERATOR_CHECK_EVERY = 4  # default check_every off the CPU
RECENT_SOLVES = 3  # the first convergence check of a solve comes at the most iterations of the last 3


def _check_beta_and_eps(beta: Any, eps: Any) -> None:
    if not (isinstance(beta, (int, float)) and 0.0 <= beta < 1.0):
        raise ValueError(f"Invalid beta value: {beta}")
    if not (isinstance(eps, (int, float)) and eps > 0.0):
        raise ValueError(f"Invalid eps value: {eps}")


class CGD(_CompetitiveOptimizer):
    __doc__ = r"""Competitive gradient descent (Schaefer & Anandkumar 2019; ICR paper Sec. 5).

    Each step plays the Nash equilibrium of the local bilinear-quadratic game

    .. math::
        \Delta x = -\eta_x \left(I + \eta_x \eta_y D_{xy} f\, D_{yx} f\right)^{-1}
                    \left(\nabla_x f + \eta_y D_{xy} f \nabla_y f\right),\qquad
        \Delta y = \eta_y \left(\nabla_y f + D_{yx} f\, \Delta x\right),

    with constant step sizes :math:`\eta_x` = ``lr_min``, :math:`\eta_y` = ``lr_max``,
    solved in the symmetric form of :mod:`cgd_optim.competitive` by conjugate gradient
    on autograd mixed Hessian-vector products (GMRES for general-sum games).

    Args:
        {_players_doc}
        {_solver_doc}

    {_closure_doc}

    ``step_stats`` after each step: ``iterations``, ``relative_residual``, ``hvp_count``,
    ``converged`` (0-dim tensors).

    Raises:
        ValueError: invalid hyperparameters, overlapping or empty players, mixed devices
            or dtypes, a closure returning a non-scalar or a tensor without graph.
        FloatingPointError: non-finite objective, gradient or update; nothing is changed.
    """

    def __init__(
        self,
        min_params: Iterable[Tensor],
        max_params: Iterable[Tensor],
        lr: float = 1e-3,
        lr_min: float | None = None,
        lr_max: float | None = None,
        tol: float = 1e-6,
        atol: float = 0.0,
        max_iter: int = 50,
        *,
        gmres_restart: int = 20,
        check_every: int | None = None,
        warm_start: bool | str = "auto",
        tol_convention: str = "norm",
        recycle: int = 0,
        process_group: Any = "auto",
        weight_decay: float = 0.0,
        keep_gradients: bool = False,
        loss_scaling: Any = False,
    ) -> None:
        options = SolverOptions(tol, atol, max_iter, gmres_restart, check_every, warm_start, tol_convention, recycle)
        super().__init__(
            min_params,
            max_params,
            dict(lr=lr),
            lr_min,
            lr_max,
            options,
            process_group,
            weight_decay=weight_decay,
            keep_gradients=keep_gradients,
            loss_scaling=loss_scaling,
        )

    def step_sizes(
        self, grad_x: Tensor, grad_y: Tensor, xs: list[Tensor], ys: list[Tensor]
    ) -> tuple[Tensor, Tensor, dict]:
        r"""The hook that sets this step's diagonal step sizes :math:`\eta_x, \eta_y`; override it
        to make a CGD variant (docs/guide.md has one, property-tested with :mod:`cgd_optim.testing`).

        Args:
            grad_x: :math:`\nabla_x f_{min}` of this step, flat (the min player's parameters
                ``xs`` concatenated in order).
            grad_y: :math:`\nabla_y f_{max}`, flat, over ``ys``.
            xs, ys: the players' parameters that take part in this step.

        Returns:
            ``(eta_x, eta_y, new_state)``: positive step sizes, flat tensors of the players' sizes
            or 0-dim tensors (broadcast), in the gradients' dtype and device; and a dict
            ``{parameter: {key: value}}`` of state entries, which ``step`` writes into
            ``self.state`` only once the update is known to be finite.  The hook must not
            modify ``self.state`` itself (a failed step then changes nothing).  CGD: the constant
            ``lr`` of each group, no state.
        """
        return self._constant_step_sizes("min", grad_x), self._constant_step_sizes("max", grad_y), {}

    def _constant_step_sizes(self, player: str, like: Tensor) -> Tensor:
        """Each group's ``lr`` over its coordinates (0-dim when the player's groups share one)."""
        segments = self.segments(player)
        return per_coordinate([step_size(group["lr"]) for group, _ in segments], [p for _, p in segments], like)


class ACGD(_CompetitiveOptimizer):
    __doc__ = r"""Adaptive competitive gradient descent: Algorithm 1 of the ICR paper (App. A.5).

    CGD whose diagonal step sizes follow RMSProp. With :math:`g_t` a player's gradient,

    .. math::
        v_t = \beta v_{t-1} + (1 - \beta) g_t^2,\qquad
        \hat v_t = \frac{v_t}{1 - \beta^t},\qquad
        \eta_t = \frac{\alpha}{\sqrt{\hat v_t} + \epsilon},

    elementwise for each player (:math:`\alpha` = ``lr_min`` or ``lr_max``,
    :math:`\beta` = ``beta`` (the paper's :math:`\beta_2`), :math:`\epsilon` = ``eps``),
    then :math:`A_{x} = \mathrm{diag}(\eta_{x,t})`, :math:`A_{y} = \mathrm{diag}(\eta_{y,t})` and

    .. math::
        \Delta x_t = -A_x^{1/2} \left(I + A_x^{1/2} D_{xy} f A_y D_{yx} f A_x^{1/2}\right)^{-1}
                     A_x^{1/2} \left(\nabla_x f + D_{xy} f A_y \nabla_y f\right),\qquad
        \Delta y_t = A_y \left(\nabla_y f + D_{yx} f\, \Delta x_t\right).

    The stored state is :math:`v_t` (``state[p]["sq_avg"]``); :math:`\hat v_t` is a
    temporary (Algorithm 1 overwrites the symbol v with it, but storing it would
    compound the correction).  :math:`\Delta y_t` is Algorithm 1's second solve written
    as one Hessian-vector product (the two are equal).  For a general-sum closure
    ``(f_min, f_max)`` the second moments come from :math:`\nabla_x f_{min}` and
    :math:`\nabla_y f_{max}`.  With ``beta = 0`` the step sizes are ``lr / (|g| + eps)``.
    The paper's experiments use ``lr = 1e-4``; ``1e-3`` is the ``cgds`` default.

    Args:
        {_players_doc}
        beta: decay of the second-moment average, in [0, 1).
        eps: added to :math:`\sqrt{\hat v}` for stability, > 0.
        {_solver_doc}
        eps_placement: (keyword-only) ``"inside"`` (default): Algorithm 1,
            :math:`\eta_t = \alpha / (\sqrt{\hat v_t} + \epsilon)`; ``"outside"``: the authors'
            ``cgds`` / ``optims`` code, :math:`\eta_t = \alpha \sqrt{1 - \beta^t} / (\sqrt{v_t} + \epsilon)`,
            i.e. an effective :math:`\epsilon / \sqrt{1 - \beta^t}`, 10x larger at t = 1 with
            :math:`\beta = 0.99` (docs/migrating.md).

    {_closure_doc}

    Raises:
        ValueError: invalid hyperparameters, overlapping or empty players, mixed devices
            or dtypes, a closure returning a non-scalar or a tensor without graph.
        FloatingPointError: non-finite objective, gradient or update; nothing is changed.
    """

    hyperparameters = ("beta", "eps", "eps_placement")  # per player's group: its RMSProp step sizes
    group_options = ("beta", "eps")  # a group dict may set its own
    later_options: ClassVar[dict[str, Any]] = {
        "eps_placement": "inside"
    }  # states saved before eps_placement existed ran Algorithm 1's

    def __init__(
        self,
        min_params: Iterable[Tensor],
        max_params: Iterable[Tensor],
        lr: float = 1e-3,
        lr_min: float | None = None,
        lr_max: float | None = None,
        beta: float = 0.99,
        eps: float = 1e-5,
        tol: float = 1e-6,
        atol: float = 0.0,
        max_iter: int = 50,
        *,
        gmres_restart: int = 20,
        check_every: int | None = None,
        warm_start: bool | str = "auto",
        tol_convention: str = "norm",
        eps_placement: str = "inside",
        recycle: int = 0,
        process_group: Any = "auto",
        weight_decay: float = 0.0,
        keep_gradients: bool = False,
        loss_scaling: Any = False,
    ) -> None:
        _check_beta_and_eps(beta, eps)
        if eps_placement not in EPS_PLACEMENTS:
            raise ValueError(
                f"Invalid eps_placement value: {eps_placement!r}; expected 'inside' (Algorithm 1) or "
                "'outside' (the authors' code)"
            )
        options = SolverOptions(tol, atol, max_iter, gmres_restart, check_every, warm_start, tol_convention, recycle)
        defaults = dict(lr=lr, beta=beta, eps=eps, eps_placement=eps_placement)
        super().__init__(
            min_params,
            max_params,
            defaults,
            lr_min,
            lr_max,
            options,
            process_group,
            weight_decay=weight_decay,
            keep_gradients=keep_gradients,
            loss_scaling=loss_scaling,
        )

    def check_group(self, group: dict[str, Any]) -> None:
        """A group's ``lr`` and ``weight_decay``, and its own ``beta`` and ``eps`` where it sets them."""
        super().check_group(group)
        _check_beta_and_eps(group.get("beta", 0.0), group.get("eps", 1.0))

    def _player_step_sizes(self, group: dict, params: list[Tensor], grad: Tensor, new_state: dict) -> Tensor:
        beta, eps = group["beta"], group["eps"]
        previous = flat_or_concatenated([self.state.get(p, {}).get("sq_avg") for p in params], params)
        sq_avg = (previous * beta).addcmul_(
            grad, grad, value=1.0 - beta
        )  # v_t, a new tensor: the state waits for the commit
        steps = [self.state.get(p, {}).get("step", 0) + 1 for p in params]
        if len(set(steps)) == 1:
            root_correction = math.sqrt(1.0 - beta ** steps[0])
        else:  # parameters unfrozen at different times have their own t
            root_correction = torch.cat(
                [p.new_full((p.numel(),), math.sqrt(1.0 - beta**t)) for p, t in zip(params, steps)]
            )
        # lr / (sqrt(v_t / c) + eps) = lr sqrt(c) / (sqrt(v_t) + eps sqrt(c)), c = 1 - beta^t: three passes, not five;
        # eps_placement="outside" (the authors' code): lr sqrt(c) / (sqrt(v_t) + eps)
        eps_term = eps * root_correction if group.get("eps_placement", "inside") == "inside" else eps
        eta = torch.div(step_size(group["lr"]) * root_correction, sq_avg.sqrt().add_(eps_term))
        for p, piece, t in zip(params, unflatten(sq_avg, params), steps):
            new_state[p] = {"sq_avg": piece, "step": t}
        return eta

    def step_sizes(self, grad_x, grad_y, xs, ys):
        """Algorithm 1's RMSProp step sizes, lines 3-6, each group with its own ``lr``, ``beta`` and
        ``eps`` (see :meth:`CGD.step_sizes` for the hook's contract)."""
        new_state: dict = {}
        eta_x = self._grouped_step_sizes("min", grad_x, new_state)
        eta_y = self._grouped_step_sizes("max", grad_y, new_state)
        return eta_x, eta_y, new_state

    def _grouped_step_sizes(self, player: str, grad: Tensor, new_state: dict) -> Tensor:
        segments = self.segments(player)
        if len(segments) == 1:
            return self._player_step_sizes(*segments[0], grad, new_state)
        pieces = grad.split([sum(p.numel() for p in params) for _, params in segments])
        return torch.cat(
            [
                self._player_step_sizes(group, params, piece, new_state)
                for (group, params), piece in zip(segments, pieces)
            ]
        )


for _cls in (CGD, ACGD):
    _cls.__doc__ = (
        _cls.__doc__.replace("{_players_doc}", _players_doc)
        .replace("{_solver_doc}", _solver_doc)
        .replace("{_closure_doc}", _closure_doc)
    )
