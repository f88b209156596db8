r"""The shared step of the game-aware first-order optimizers (LCGD, SGA, ConOpt, OGDA, ExtraSGD,
ExtraAdam, OptimisticAdam).

Each of them moves the players along a *field* computed from the game's gradients at one or two
points: :math:`\Delta x = -\eta_x \odot d_x`, :math:`\Delta y = +\eta_y \odot d_y`, with
:math:`d_x, d_y` the method's descent and ascent directions.  What they share lives here, once:

- :meth:`GradientPlay.field`: a point's flat gradients :math:`\nabla_x f_{min}, \nabla_y f_{max}`
  (averaged over the ranks with one collective, divided by the loss scale), and, when the method
  needs Hessian-vector products, the graphs of those gradients;
- the transaction: a subclass's :meth:`GradientPlay.play` returns a :class:`Move` (the flat
  displacements, the per-parameter state they commit, statistics) without touching parameters or
  state; ``step`` then checks it is finite (one host read), applies decoupled weight decay and the
  move, and writes the state.  A method that evaluates the closure at a second point (the
  extragradient methods) moves the parameters there inside ``play`` and puts them back before it
  returns, whatever happens;
- per-group step sizes, per-parameter state kept as views of one flat tensor per player, and the
  RMSProp-type scaling of the CGD paper's GAN experiment (:func:`rmsprop_average`).
"""

from __future__ import annotations

import abc
from typing import Any, ClassVar, NamedTuple

import torch
from torch import Tensor

from ._base import TwoPlayerOptimizer, step_size, step_statistics
from .autodiff import double_backward_of_compiled_modules_refused, flat_or_concatenated, flatten, unflatten
from .distributed import average_
from .groups import per_coordinate


class Field(NamedTuple):
    r"""The game's gradients at one point, flat over each player's trainable parameters.

    ``grad_x`` is :math:`\nabla_x f_{min}`, ``grad_y`` :math:`\nabla_y f_{max}` (detached, averaged
    over the ranks, unscaled). ``graph_x`` is :math:`\nabla_x f_{max}` and ``graph_y``
    :math:`\nabla_y f_{min}` still in autograd's graph (of the loss-scaled objective; None unless
    ``create_graph``): differentiating them gives :math:`D_{yx} f_{max}` and :math:`D_{xy} f_{min}`
    products, and in a zero-sum game (where they are the gradients themselves) :math:`D_{xx} f`
    and :math:`D_{yy} f` products too.  ``objectives`` are the closure's values, for the finiteness check."""

    grad_x: Tensor
    grad_y: Tensor
    graph_x: Tensor | None
    graph_y: Tensor | None
    objectives: tuple[Tensor, ...]


class Move(NamedTuple):
    """What a step commits: the flat displacements ``dx``, ``dy`` (before weight decay), the
    per-parameter state ``{parameter: {key: value}}``, this step's extra statistics, and the
    gradients at the step's start (``keep_gradients=True`` leaves them in ``.grad``)."""

    dx: Tensor
    dy: Tensor
    state: dict
    stats: dict
    start: Field


def check_rmsprop(rmsprop: Any) -> None:
    """``rmsprop`` is None (off) or a decay in (0, 1)."""
    if rmsprop is None:
        return
    if isinstance(rmsprop, bool) or not isinstance(rmsprop, (int, float)) or not 0.0 < rmsprop < 1.0:
        raise ValueError(f"Invalid rmsprop value: {rmsprop!r}; expected None (off) or a decay rho in (0, 1)")


def check_betas_and_eps(betas: Any, eps: Any) -> None:
    """Adam's ``betas`` (a pair in [0, 1)) and ``eps`` (> 0), as torch.optim.Adam words it."""
    if not (isinstance(betas, (tuple, list)) and len(betas) == 2):
        raise ValueError(f"Invalid betas value: {betas!r}; expected a pair (beta1, beta2)")
    for index, beta in enumerate(betas):
        if isinstance(beta, bool) or not isinstance(beta, (int, float)) or not 0.0 <= beta < 1.0:
            raise ValueError(f"Invalid beta parameter at index {index}: {beta!r}; expected in [0, 1)")
    if isinstance(eps, bool) or not isinstance(eps, (int, float)) or not eps > 0.0:
        raise ValueError(f"Invalid eps value: {eps!r}; expected > 0")


def rmsprop_average(previous: Tensor | None, gradient: Tensor, rho: float) -> Tensor:
    r"""The accumulator :math:`s` of the CGD paper's RMSProp-type scaling (Schäfer & Anandkumar 2019,
    "Competitive gradient descent", Sec. 5 and the authors' ``two_modes_gan.jl``): it starts at 1
    and, once a step has been taken, each step folds in its gradient before it moves,
    :math:`s \leftarrow \rho s + (1 - \rho) g^2`; the step size is then :math:`\eta / \sqrt{s}`,
    no :math:`\epsilon`.

    The authors' loop folds in the gradient at the point a step reached, after the step; on a
    deterministic game that is the next step's own gradient, which is what is used here (no extra
    evaluation), and the first step sees :math:`s = 1`. ``previous`` is None before the first step."""
    if previous is None:
        return torch.ones_like(gradient)
    return (previous * rho).addcmul_(gradient, gradient, value=1.0 - rho)


class GradientPlay(TwoPlayerOptimizer, abc.ABC):
    """Base of the game-aware first-order optimizers (module docstring): a subclass says how a
    step plays in :meth:`play`; the step's transaction, statistics and state layout are here.

    Class attributes a subclass sets: ``evaluations`` (closure evaluations per step; 2 needs a
    callable closure), ``zero_sum_only`` (a pair ``(f_min, f_max)`` is refused) and
    ``uses_hessian_products`` (the first evaluation keeps its gradients' graphs)."""

    evaluations: ClassVar[int] = 1
    zero_sum_only: ClassVar[bool] = False
    uses_hessian_products: ClassVar[bool] = False

    @abc.abstractmethod
    def play(self, closure, start: Field, xs: list[Tensor], ys: list[Tensor]) -> Move | None:
        """This step's :class:`Move` from the closure's first evaluation ``start``; None when loss
        scaling met a non-finite value (the step is then skipped). Must leave the parameters as it
        found them and must not write ``self.state``."""

    @torch.no_grad()
    def step(self, closure):
        """Take one step; returns exactly what the closure's first evaluation returned."""
        name = type(self).__name__
        if self.evaluations > 1 and not callable(closure):
            raise ValueError(
                f"{name} evaluates the objective twice per step (at z_k and at the extrapolated point) and "
                "needs a closure, not the loss tensor"
            )
        returned, f_min, f_max, zero_sum = self._evaluate(closure)
        if self.zero_sum_only and not zero_sum:
            raise ValueError(
                f"{name}'s rule is defined for zero-sum games (one objective f that x minimizes and y maximizes); "
                "the closure returned a pair (f_min, f_max): return f, or use LCGD, OGDA or an extragradient "
                "method. Parameters and optimizer state are unchanged"
            )
        xs, ys = self._players()
        with double_backward_of_compiled_modules_refused(name):
            start = self.field(f_min, f_max, zero_sum, xs, ys, create_graph=self.uses_hessian_products)
            move = self.play(closure, start, xs, ys)
        if move is None:
            self.step_stats = {**_no_solve(), **self._after_scaled_step(finite=False)}
            return returned
        self._commit(move, xs, ys)
        return returned

    def field(
        self, f_min: Tensor, f_max: Tensor, zero_sum: bool, xs: list[Tensor], ys: list[Tensor], *, create_graph: bool
    ) -> Field:
        """The :class:`Field` of the closure's values ``f_min``, ``f_max`` at the current point."""
        scale = self.loss_scale()
        if scale is not None:
            with torch.enable_grad():  # S f, differentiated below
                f_min, f_max = f_min * scale, (f_min * scale if zero_sum else f_max * scale)
        grad_x, grad_y, cross_x, cross_y = self._game_gradients(
            f_min, f_max, xs, ys, zero_sum, create_graph=create_graph
        )
        with torch.enable_grad():  # in the graph: Hessian-vector products differentiate these
            graph_x, graph_y = (flatten(cross_x), flatten(cross_y)) if create_graph else (None, None)
        if create_graph and zero_sum:  # the graphs are the gradients: concatenate once
            flat = torch.cat([graph_x.detach(), graph_y.detach()])
        else:
            flat = flatten([*grad_x, *grad_y]).detach()
        communicator = self._communicator()
        if communicator is not None:  # the full batch's gradients, with one collective
            flat = average_(flat, communicator)
        if scale is not None:
            flat = flat / scale
        flat_x, flat_y = flat.split([sum(p.numel() for p in xs), sum(p.numel() for p in ys)])
        objectives = (f_min.detach(),) if zero_sum else (f_min.detach(), f_max.detach())
        return Field(flat_x, flat_y, graph_x, graph_y, objectives)

    def finite(self, *tensors: Tensor, where: str) -> bool:
        """Whether every element is finite on every rank (one host read). Without loss scaling a
        non-finite value raises FloatingPointError naming ``where`` it was met; with it, False."""
        return self._finite_unless_scaled(*tensors, group=self._communicator(), where=where)

    def step_sizes(self, player: str, like: Tensor) -> Tensor:
        """Each of the player's groups' ``lr`` over its coordinates (0-dim when they share one)."""
        segments = self.segments(player)
        return per_coordinate([step_size(group["lr"]) for group, _ in segments], [p for _, p in segments], like)

    def stored(self, params: list[Tensor], key: str, fill: float = 0.0) -> Tensor | None:
        """The flat state ``key`` over ``params``, read-only (:func:`~cgd_optim.autodiff.flat_or_concatenated`:
        the one tensor the last commit's views share, as :meth:`new_state` writes them); None when no
        parameter has it yet, ``fill`` for a parameter added since (a param group added later)."""
        pieces = [self.state.get(p, {}).get(key) for p in params]
        if all(piece is None for piece in pieces):
            return None
        if fill:
            pieces = [torch.full_like(p, fill) if piece is None else piece for piece, p in zip(pieces, params)]
        return flat_or_concatenated(pieces, params)

    @staticmethod
    def new_state(state: dict, params: list[Tensor], **flat_entries: Tensor) -> dict:
        """Add each flat entry to ``state`` as per-parameter views (the tensors are fresh: no copy)."""
        for key, flat in flat_entries.items():
            for p, piece in zip(params, unflatten(flat, params)):
                state.setdefault(p, {})[key] = piece
        return state

    def step_counts(self, params: list[Tensor]) -> list[int]:
        """Steps each parameter has taken (0 before its first)."""
        return [self.state.get(p, {}).get("step", 0) for p in params]

    def scaled_step_sizes(self, player: str, gradient: Tensor, params: list[Tensor], state: dict) -> Tensor:
        r"""The player's step sizes, divided by :math:`\sqrt{s}` when ``rmsprop`` is on
        (:func:`rmsprop_average`; the new accumulator goes into ``state`` under ``"square_avg"``)."""
        eta = self.step_sizes(player, gradient)
        rho = self.param_groups[0].get("rmsprop")
        if rho is None:
            return eta
        square_avg = rmsprop_average(self.stored(params, "square_avg", 1.0), gradient, rho)
        self.new_state(state, params, square_avg=square_avg)
        return eta / square_avg.sqrt()

    def _commit(self, move: Move, xs: list[Tensor], ys: list[Tensor]) -> None:
        """Decoupled weight decay, the move, the state: nothing before this changed any of them."""
        self._decay_weights()
        torch._foreach_add_(xs, unflatten(move.dx, xs))
        torch._foreach_add_(ys, unflatten(move.dy, ys))
        for p in (*xs, *ys):
            entries = move.state.get(p, {})
            self.state[p].update(entries)
            self.state[p]["step"] = self.state[p].get("step", 0) + 1
        start = move.start
        self._leave_gradients([*xs, *ys], [*unflatten(start.grad_x, xs), *unflatten(start.grad_y, ys)])
        norms = {
            "grad_norm_min": torch.linalg.vector_norm(start.grad_x),
            "grad_norm_max": torch.linalg.vector_norm(start.grad_y),
        }
        self.step_stats = {**_no_solve(), **norms, **move.stats, **self._after_scaled_step(finite=True)}


def _no_solve() -> dict[str, Tensor]:
    """``step_stats`` entries of a step without a linear solve."""
    zero = torch.zeros((), dtype=torch.int64)
    return step_statistics(zero, torch.zeros(()), zero.clone(), torch.ones((), dtype=torch.bool))
