r"""Gradient descent-ascent with second-order correction terms: LCGD, SGA and ConOpt.

With :math:`g_x = \nabla_x f`, :math:`g_y = \nabla_y f` (x the min player, y the max player) each
method moves along

.. math::
    \Delta x = -\eta_x \odot \left(g_x + D_{xy} f\,(w_y g_y) + c\, D_{xx} f\, g_x\right),\qquad
    \Delta y = +\eta_y \odot \left(g_y - D_{yx} f\,(w_x g_x) - c\, D_{yy} f\, g_y\right),

the *competitive* term weighted by :math:`w` and the *consensus* term by :math:`c` (the CGD paper's
"ingredients", Schäfer & Anandkumar 2019, "Competitive gradient descent", NeurIPS, Sec. 3 and
Fig. 1; the authors' ``optimizers_abstract.jl`` in f-t-s/CGD):

- LCGD (CGD truncated at first order; first-order LOLA): :math:`w = \eta` (the opponent's step
  size, per coordinate), :math:`c = 0`;
- SGA (Balduzzi et al. 2018, "The mechanics of n-player differentiable games", ICML):
  :math:`w = \lambda`, :math:`c = 0`, :math:`\lambda = \gamma` or sign-aligned (:func:`sga_alignment`);
- ConOpt (Mescheder, Nowozin & Geiger 2017, "The numerics of GANs", NeurIPS, Alg. 1):
  :math:`w = c = \gamma`, the descent step on :math:`\tfrac12\|\xi\|^2`'s gradient added to the field.

The terms are Hessian-vector products of the gradients' graphs (:mod:`cgd_optim.autodiff`), one
double-backward pass each; :func:`competitive_terms` and :func:`consensus_terms` take them as
callables, so they are tested alone on dense matrices.
"""

from __future__ import annotations

import abc
from collections.abc import Callable, Iterable
from typing import Any

import torch
from torch import Tensor

from ._base import _closure_doc, _players_doc
from .autodiff import mixed_hvp_operator
from .distributed import averaged
from .gradient_play import Field, GradientPlay, Move, check_rmsprop

HVP = Callable[[Tensor], Tensor]
SGA_ALIGNMENT_EPSILON = 0.1  # Balduzzi et al.'s colab: sign(<xi, J'xi><A'xi, J'xi> / n + 0.1)

_rmsprop_doc = """rmsprop: (keyword-only) ``None`` (default: constant step sizes) or a decay
            :math:`\\rho` in (0, 1): the RMSProp-type scaling of the CGD paper's GAN experiment,
            :math:`\\eta \\to \\eta / \\sqrt{s}` per coordinate, :math:`s` starting at 1 with no
            :math:`\\epsilon` (:func:`~cgd_optim.gradient_play.rmsprop_average`), kept in
            ``state[p]["square_avg"]``; LCGD's inner step sizes are then the scaled ones."""


def competitive_terms(
    grad_x: Tensor, grad_y: Tensor, hvp_xy: HVP, hvp_yx: HVP, weight_x: Tensor | float, weight_y: Tensor | float
) -> tuple[Tensor, Tensor]:
    r"""The directions :math:`d_x = g_x + D_{xy} f\,(w_y g_y)`, :math:`d_y = g_y - D_{yx} f\,(w_x g_x)`
    (the step is :math:`\Delta x = -\eta_x d_x`, :math:`\Delta y = +\eta_y d_y`): two mixed products.

    Args:
        grad_x, grad_y: :math:`\nabla_x f_{min}`, :math:`\nabla_y f_{max}`, flat.
        hvp_xy: :math:`v \mapsto D_{xy} f_{min}\, v`; hvp_yx: :math:`u \mapsto D_{yx} f_{max}\, u`.
        weight_x, weight_y: :math:`w_x, w_y`, numbers, 0-dim tensors or per-coordinate vectors.
    """
    return grad_x + hvp_xy(weight_y * grad_y), grad_y - hvp_yx(weight_x * grad_x)


def consensus_terms(grad_x: Tensor, grad_y: Tensor, hessian: HVP, gamma: float) -> tuple[Tensor, Tensor]:
    r"""ConOpt's directions :math:`d = (g_x, g_y) + \gamma\,(H g)\odot(1, -1)`, with :math:`H` the
    joint Hessian of f and :math:`H g = (D_{xx} f g_x + D_{xy} f g_y,\ D_{yx} f g_x + D_{yy} f g_y)`
    :math:`= J^\top \xi`, the gradient of :math:`\tfrac12 \|\xi\|^2` for the field
    :math:`\xi = (g_x, -g_y)`: one double-backward pass. ``hessian`` maps the flat ``(u, v)`` to
    the flat :math:`H (u, v)`."""
    product = hessian(torch.cat([grad_x, grad_y]))
    hx, hy = product.split([grad_x.numel(), grad_y.numel()])
    return grad_x + gamma * hx, grad_y - gamma * hy


def sga_alignment(
    grad_x: Tensor, grad_y: Tensor, column_x: HVP, column_y: HVP, gamma: float, tensors: int
) -> tuple[Tensor, Tensor, Tensor]:
    r"""Symplectic gradient adjustment with sign alignment (Balduzzi et al. 2018, Sec. 3.4, as
    their colab ``Symplectic_Gradient_Adjustment.ipynb`` computes it): ``(d_x, d_y, lambda)``.

    With :math:`\xi = (g_x, -g_y)` the players' descent field, :math:`J` its Jacobian and
    :math:`A = (J - J^\top)/2`, the adjusted field is :math:`\xi + \lambda A^\top \xi` with

    .. math::
        \lambda = \gamma\,\mathrm{sign}\!\left(\tfrac1n \langle \xi, J^\top\xi\rangle
                  \langle A^\top\xi, J^\top\xi\rangle + 0.1\right),

    n the number of parameter tensors. In a zero-sum game
    :math:`A^\top\xi = (D_{xy} f g_y, D_{yx} f g_x)` and
    :math:`J^\top\xi = (D_{xx} f g_x + D_{xy} f g_y, D_{yx} f g_x + D_{yy} f g_y)`, which the two
    Hessian columns give: ``column_x(u)`` :math:`= (D_{xx} f u, D_{yx} f u)` and
    ``column_y(v)`` :math:`= (D_{xy} f v, D_{yy} f v)`, flat. No host read: :math:`\lambda` stays a tensor.
    """
    n_x = grad_x.numel()
    pure_x, mixed_yx = column_x(grad_x).split([n_x, grad_y.numel()])
    mixed_xy, pure_y = column_y(grad_y).split([n_x, grad_y.numel()])
    jt_xi_x, jt_xi_y = pure_x + mixed_xy, mixed_yx + pure_y
    xi_dot = torch.dot(grad_x, jt_xi_x) - torch.dot(grad_y, jt_xi_y)
    antisymmetric_dot = torch.dot(mixed_xy, jt_xi_x) + torch.dot(mixed_yx, jt_xi_y)
    lam = torch.sign(xi_dot * antisymmetric_dot / tensors + SGA_ALIGNMENT_EPSILON) * gamma
    return grad_x + lam * mixed_xy, grad_y - lam * mixed_yx, lam


class _Corrected(GradientPlay):
    """The step of LCGD, SGA and ConOpt: one evaluation with graphs, a class's :meth:`directions`,
    then :math:`\\Delta x = -\\eta_x d_x`, :math:`\\Delta y = \\eta_y d_y` (RMSProp-scaled with ``rmsprop``)."""

    uses_hessian_products = True

    @abc.abstractmethod
    def directions(self, start: Field, xs, ys, eta_x: Tensor, eta_y: Tensor) -> tuple[Tensor, Tensor, dict, int]:
        """``(d_x, d_y, extra statistics, double-backward passes made)``."""

    def product(self, graph: Tensor, wrt: list[Tensor]) -> HVP:
        """:math:`v \\mapsto \\nabla_{wrt}(graph^\\top v)` of f (unscaled), averaged over the ranks."""
        operator = averaged(mixed_hvp_operator(graph, wrt), self._communicator())
        scale = self.loss_scale()
        if scale is None:
            return operator
        return lambda v: operator(v) / scale

    def play(self, closure, start: Field, xs, ys) -> Move | None:
        state: dict = {}
        eta_x = self.scaled_step_sizes("min", start.grad_x, xs, state)
        eta_y = self.scaled_step_sizes("max", start.grad_y, ys, state)
        with torch.enable_grad():
            d_x, d_y, stats, passes = self.directions(start, xs, ys, eta_x, eta_y)
        dx, dy = (eta_x * d_x).neg_(), eta_y * d_y
        if not self.finite(*start.objectives, dx, dy, where="the step"):
            return None
        return Move(dx, dy, state, {**stats, "hvp_count": torch.tensor(passes)}, start)


def _check_gamma(gamma: Any) -> None:
    if isinstance(gamma, bool) or not isinstance(gamma, (int, float)) or not gamma >= 0.0:
        raise ValueError(f"Invalid gamma value: {gamma!r}; expected >= 0")


def _init(self, min_params, max_params, defaults, lr_min, lr_max, options) -> None:
    check_rmsprop(defaults["rmsprop"])
    GradientPlay.__init__(self, min_params, max_params, defaults, lr_min, lr_max, **options)


class LCGD(_Corrected):
    __doc__ = r"""Linearized competitive gradient descent: CGD's update truncated at first order
    (Schäfer & Anandkumar 2019, "Competitive gradient descent", NeurIPS, Sec. 3; = first-order LOLA).

    .. math::
        \Delta x = -\eta_x \left(\nabla_x f_{min} + D_{xy} f_{min}\, \eta_y \nabla_y f_{max}\right),\qquad
        \Delta y = +\eta_y \left(\nabla_y f_{max} - D_{yx} f_{max}\, \eta_x \nabla_x f_{min}\right),

    the inner step size the opponent's, as :class:`~cgd_optim.CGD`'s local game has it (per
    coordinate: per-group ``lr``, RMSProp-scaled with ``rmsprop``). Two mixed Hessian-vector
    products per step (``step_stats["hvp_count"]``). Zero-sum (f) and general-sum
    (``(f_min, f_max)``) closures.

    Args:
        {_players_doc}
        {_rmsprop_doc}

    {_closure_doc}
    """

    hyperparameters = ("rmsprop",)

    def __init__(
        self,
        min_params: Iterable[Tensor],
        max_params: Iterable[Tensor],
        lr: float = 1e-3,
        lr_min: float | None = None,
        lr_max: float | None = None,
        *,
        rmsprop: float | None = None,
        process_group: Any = "auto",
        weight_decay: float = 0.0,
        keep_gradients: bool = False,
        loss_scaling: Any = False,
    ) -> None:
        options = dict(
            process_group=process_group,
            weight_decay=weight_decay,
            keep_gradients=keep_gradients,
            loss_scaling=loss_scaling,
        )
        _init(self, min_params, max_params, dict(lr=lr, rmsprop=rmsprop), lr_min, lr_max, options)

    def directions(self, start, xs, ys, eta_x, eta_y):
        hvp_xy, hvp_yx = self.product(start.graph_y, xs), self.product(start.graph_x, ys)
        d_x, d_y = competitive_terms(start.grad_x, start.grad_y, hvp_xy, hvp_yx, eta_x, eta_y)
        return d_x, d_y, {}, 2


class SGA(_Corrected):
    __doc__ = r"""Symplectic gradient adjustment (Balduzzi et al. 2018, "The mechanics of n-player
    differentiable games", ICML, Sec. 3), for zero-sum games.

    .. math::
        \Delta x = -\eta_x \left(\nabla_x f + \lambda D_{xy} f\, \nabla_y f\right),\qquad
        \Delta y = +\eta_y \left(\nabla_y f - \lambda D_{yx} f\, \nabla_x f\right),

    with :math:`\lambda = \gamma` when ``align=False`` (the form the CGD paper compares, Schäfer &
    Anandkumar 2019, Sec. 4) and, with ``align=True`` (default), Balduzzi et al.'s sign alignment
    :math:`\lambda = \gamma\,\mathrm{sign}(\langle\xi, J^\top\xi\rangle\langle A^\top\xi,
    J^\top\xi\rangle / n + 0.1)` (:func:`sga_alignment`; ``step_stats["sga_lambda"]``). Two
    double-backward passes per step either way.

    Args:
        {_players_doc}
        gamma: (keyword-only) :math:`\gamma` >= 0, default 1 (the colab's ``reg_params``).
        align: (keyword-only) sign alignment, default True.
        {_rmsprop_doc}

    {_closure_doc} A pair ``(f_min, f_max)`` is refused: the rule is zero-sum's.
    """

    hyperparameters = ("gamma", "align", "rmsprop")
    zero_sum_only = True

    def __init__(
        self,
        min_params: Iterable[Tensor],
        max_params: Iterable[Tensor],
        lr: float = 1e-3,
        lr_min: float | None = None,
        lr_max: float | None = None,
        *,
        gamma: float = 1.0,
        align: bool = True,
        rmsprop: float | None = None,
        process_group: Any = "auto",
        weight_decay: float = 0.0,
        keep_gradients: bool = False,
        loss_scaling: Any = False,
    ) -> None:
        options = dict(
            process_group=process_group,
            weight_decay=weight_decay,
            keep_gradients=keep_gradients,
            loss_scaling=loss_scaling,
        )
        _check_gamma(gamma)
        defaults = dict(lr=lr, gamma=float(gamma), align=bool(align), rmsprop=rmsprop)
        _init(self, min_params, max_params, defaults, lr_min, lr_max, options)

    def directions(self, start, xs, ys, eta_x, eta_y):
        gamma = self.param_groups[0]["gamma"]
        if not self.param_groups[0]["align"]:
            hvp_xy, hvp_yx = self.product(start.graph_y, xs), self.product(start.graph_x, ys)
            d_x, d_y = competitive_terms(start.grad_x, start.grad_y, hvp_xy, hvp_yx, gamma, gamma)
            return d_x, d_y, {"sga_lambda": torch.tensor(gamma)}, 2
        both = xs + ys
        column_x, column_y = self.product(start.graph_x, both), self.product(start.graph_y, both)
        d_x, d_y, lam = sga_alignment(start.grad_x, start.grad_y, column_x, column_y, gamma, len(both))
        return d_x, d_y, {"sga_lambda": lam}, 2


class ConOpt(_Corrected):
    __doc__ = r"""Consensus optimization (Mescheder, Nowozin & Geiger 2017, "The numerics of GANs",
    NeurIPS, Sec. 4, Alg. 1), for zero-sum games.

    .. math::
        \Delta x = -\eta_x \left(\nabla_x f + \gamma D_{xy} f\, \nabla_y f + \gamma D_{xx} f\, \nabla_x f\right),\qquad
        \Delta y = +\eta_y \left(\nabla_y f - \gamma D_{yx} f\, \nabla_x f - \gamma D_{yy} f\, \nabla_y f\right):

    each player follows its field plus :math:`\gamma` times the descent direction of
    :math:`\tfrac12\|\xi\|^2`, :math:`\xi = (\nabla_x f, -\nabla_y f)` (:func:`consensus_terms`):
    one double-backward pass per step.

    Args:
        {_players_doc}
        gamma: (keyword-only) :math:`\gamma` >= 0, default 1 (the CGD paper's; Mescheder et al.
            used 10 on CIFAR-10 with RMSProp).
        {_rmsprop_doc}

    {_closure_doc} A pair ``(f_min, f_max)`` is refused: the rule is zero-sum's.
    """

    hyperparameters = ("gamma", "rmsprop")
    zero_sum_only = True

    def __init__(
        self,
        min_params: Iterable[Tensor],
        max_params: Iterable[Tensor],
        lr: float = 1e-3,
        lr_min: float | None = None,
        lr_max: float | None = None,
        *,
        gamma: float = 1.0,
        rmsprop: float | None = None,
        process_group: Any = "auto",
        weight_decay: float = 0.0,
        keep_gradients: bool = False,
        loss_scaling: Any = False,
    ) -> None:
        options = dict(
            process_group=process_group,
            weight_decay=weight_decay,
            keep_gradients=keep_gradients,
            loss_scaling=loss_scaling,
        )
        _check_gamma(gamma)
        _init(self, min_params, max_params, dict(lr=lr, gamma=float(gamma), rmsprop=rmsprop), lr_min, lr_max, options)

    def directions(self, start, xs, ys, eta_x, eta_y):
        with torch.enable_grad():
            joint = torch.cat([start.graph_x, start.graph_y])
        hessian = self.product(joint, xs + ys)
        d_x, d_y = consensus_terms(start.grad_x, start.grad_y, hessian, self.param_groups[0]["gamma"])
        return d_x, d_y, {}, 1


for _cls in (LCGD, SGA, ConOpt):
    _cls.__doc__ = (
        _cls.__doc__.replace("{_players_doc}", _players_doc)
        .replace("{_rmsprop_doc}", _rmsprop_doc)
        .replace("{_closure_doc}", _closure_doc)
    )

__all__ = ["LCGD", "SGA", "ConOpt", "competitive_terms", "consensus_terms", "sga_alignment"]
