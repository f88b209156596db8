r"""Flat views of parameter lists, players' gradients and mixed Hessian-vector products.

Notation (ICR paper Schäfer, Zheng & Anandkumar 2020, "Implicit competitive regularization in GANs", Sec. 5):
:math:`x` are the min
player's parameters, :math:`y` the max player's, :math:`D_{xy} f` the mixed
Hessian :math:`\partial^2 f / \partial x \partial y` (rows indexed by x) and
:math:`D_{yx} f = (D_{xy} f)^\top`.

Mixed products come from reverse-over-reverse autograd: with :math:`g_y = \nabla_y f`
built with ``create_graph=True``,

.. math::
    D_{xy} f\, v = \nabla_x \left( g_y^\top v \right),

which ``torch.autograd.grad(g_y, x, grad_outputs=v)`` computes without forming
the dot product.  A parameter with no path to ``f`` contributes a zero block.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Sequence

import torch
from torch import Tensor


def flatten(tensors: Sequence[Tensor]) -> Tensor:
    """Concatenate tensors into one flat vector (a copy)."""
    return torch.cat([t.reshape(-1) for t in tensors])


def unflatten(flat: Tensor, like: Sequence[Tensor]) -> list[Tensor]:
    """Views of ``flat`` shaped like each tensor of ``like``, in order (no copy)."""
    pieces = torch.split(flat, [t.numel() for t in like])
    return [piece.view_as(t) for piece, t in zip(pieces, like)]


def flat_or_concatenated(pieces: Sequence[Tensor | None], like: Sequence[Tensor]) -> Tensor:
    """The flat vector of per-parameter pieces (zeros where a piece is None), read-only.

    When the pieces are, in order, the views of one flat tensor that :func:`unflatten` made (as
    the optimizers store their state), that tensor is returned without a copy; otherwise the
    pieces are concatenated. Callers must not write into the result.
    """
    base = pieces[0]._base if pieces and pieces[0] is not None else None
    if base is not None and base.dim() == 1 and base.is_contiguous():
        offset = base.storage_offset()
        for piece, t in zip(pieces, like):
            if (
                piece is None
                or piece._base is not base
                or piece.storage_offset() != offset
                or piece.shape != t.shape
                or not piece.is_contiguous()
            ):
                break
            offset += piece.numel()
        else:
            if offset == base.storage_offset() + base.numel():
                return base
    return flatten([torch.zeros_like(t) if piece is None else piece for piece, t in zip(pieces, like)])


def zeros_for_none(grads: Sequence[Tensor | None], params: Sequence[Tensor]) -> list[Tensor]:
    """Replace the ``None`` gradients of parameters that do not influence f by zeros."""
    return [torch.zeros_like(p) if g is None else g for g, p in zip(grads, params)]


def refuse_sparse(grads: Sequence[Tensor | None], params: Sequence[Tensor]) -> None:
    """ValueError for a sparse gradient (``nn.Embedding(..., sparse=True)``, ``nn.EmbeddingBag``):
    the optimizers work on dense flat vectors (and CGD's products differentiate the gradients
    again, which sparse layouts do not support). Raised before anything changes."""
    for g, p in zip(grads, params):
        if g is not None and g.layout != torch.strided:
            raise ValueError(
                f"a parameter of shape {tuple(p.shape)} has a sparse gradient ({g.layout}), e.g. from "
                "nn.Embedding(..., sparse=True): the two-player optimizers need dense gradients; build that layer "
                "with sparse=False (the default). Parameters and optimizer state are unchanged"
            )


def gradients(
    f: Tensor,
    params: Sequence[Tensor],
    *,
    create_graph: bool,
    retain_graph: bool | None = None,
    require_any: bool = True,
) -> list[Tensor | None]:
    """:math:`\\nabla_{params} f` in one backward pass; ``None`` where f does not depend on a parameter.

    ``retain_graph`` (default: ``create_graph``) keeps the graph for a second pass over shared
    nodes, as a general-sum game's second objective needs. ``require_any=False``: all ``None`` is
    returned rather than refused (the caller names the player).

    Raises:
        ValueError: when ``f`` is not a one-element tensor or has no graph to any parameter, or a
            gradient is sparse (:func:`refuse_sparse`).
    """
    if not isinstance(f, Tensor):
        raise TypeError(f"the closure must return a tensor (or a pair of tensors), got {type(f).__name__}")
    if f.numel() != 1:
        raise ValueError(f"the objective must be a scalar, got a tensor of shape {tuple(f.shape)}")
    if not f.requires_grad:
        raise ValueError("the objective has no autograd graph to the parameters (does the closure run under no_grad?)")
    grads = torch.autograd.grad(
        f.reshape(()), list(params), create_graph=create_graph, retain_graph=retain_graph, allow_unused=True
    )
    refuse_sparse(grads, params)
    if require_any and all(g is None for g in grads):
        raise ValueError("the objective has no autograd graph to the parameters of either player")
    return list(grads)


def mixed_hvp_operator(grads_other: Sequence[Tensor] | Tensor, wrt: Sequence[Tensor]) -> Callable[[Tensor], Tensor]:
    r"""The map :math:`v \mapsto D_{ab} f\, v` of :func:`mixed_hvp`, with its bookkeeping done once.

    The solver applies the same mixed Hessian many times per step. The gradient pieces are
    concatenated once, inside the graph, into the flat :math:`\nabla_b f`, so that each product
    is one ``torch.autograd.grad`` call with the flat vector itself as the seed (autograd's
    concatenation backward splits it, instead of per-piece Python views and shape checks) and one
    concatenation of the result. ``grads_other`` may also be that flat gradient itself, built
    by the caller with :func:`flatten` under ``torch.enable_grad()`` (whose detached value is
    then the flat gradient the caller needs anyway).
    """
    wrt = list(wrt)
    if isinstance(grads_other, Tensor):
        flat_gradient = grads_other
    else:
        with torch.enable_grad():  # the concatenation is in the graph exactly when some piece is
            flat_gradient = flatten(grads_other)
    if not flat_gradient.requires_grad:
        total = sum(p.numel() for p in wrt)
        return lambda vector: vector.new_zeros(total)

    def product(vector: Tensor) -> Tensor:
        products = torch.autograd.grad(flat_gradient, wrt, grad_outputs=vector, retain_graph=True, allow_unused=True)
        return torch.cat([p.new_zeros(p.numel()) if g is None else g.reshape(-1) for g, p in zip(products, wrt)])

    return product


def mixed_hvp(grads_other: Sequence[Tensor], wrt: Sequence[Tensor], vector: Tensor) -> Tensor:
    r"""Mixed Hessian-vector product :math:`D_{ab} f\, v = \nabla_a (\nabla_b f^\top v)`, flat.

    Args:
        grads_other: :math:`\nabla_b f`, one tensor per parameter of player b, built
            with ``create_graph=True`` (zeros where f does not depend on a parameter).
        wrt: the parameters :math:`a` to differentiate with respect to.
        vector: flat :math:`v` in player b's space.

    Returns:
        The flat product in player a's space; zero blocks where there is no path.
    """
    return mixed_hvp_operator(grads_other, wrt)(vector)


@contextlib.contextmanager
def double_backward_of_compiled_modules_refused(optimizer: str):
    """Turn torch's failure to differentiate a ``torch.compile``-d module twice into an error that
    says what happened and what works. CGD and ACGD differentiate the closure's gradients again
    (the mixed Hessian-vector products); torch.compile's aot_autograd cannot. It fails while the
    products are formed, before anything is committed: parameters and state are unchanged."""
    try:
        yield
    except RuntimeError as error:
        if "double backward" not in str(error):
            raise
        raise RuntimeError(
            f"{optimizer}: the closure reaches a torch.compile-d module, and torch.compile (aot_autograd) cannot "
            "differentiate twice (double backward), which the mixed Hessian-vector products of CGD and ACGD "
            "need. What works: leave the players uncompiled (compile only what does not train, e.g. a sampling "
            "path used for evaluation), or train that game with SimGD (first derivatives only). Parameters and "
            "optimizer state are unchanged"
        ) from error
