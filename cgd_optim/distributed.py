r"""Data-parallel steps with public ``torch.distributed`` collectives.

Each rank evaluates the objective on its own shard of the batch (a mean over the shard). Every
quantity a step of the package's optimizers uses is linear in the objective: the gradients and
every mixed Hessian-vector product. Averaging each of them over the ranks (one ``all_reduce`` of
a flat vector, summed and divided by the world size: gloo has no average) gives, when the shards
are of equal size, exactly the products of the full-batch objective (the mean of equal-size shard
means is the full mean), so every rank runs the same solve on the same numbers and takes the same
decisions. ``DistributedDataParallel`` does not help here: its hooks fire on ``backward()``
accumulating into ``.grad``, not on ``torch.autograd.grad`` nor on double backward.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import torch
from torch import Tensor

from .autodiff import flatten, unflatten


def _distributed():
    import torch.distributed as dist

    return dist if dist.is_available() else None


def check_process_group(option: Any) -> None:
    """``process_group`` must be ``"auto"``, ``None`` or a ``torch.distributed.ProcessGroup``."""
    if option is None or option == "auto":
        return
    dist = _distributed()
    if dist is None or not isinstance(option, dist.ProcessGroup):
        raise TypeError(
            f"Invalid process_group: expected 'auto', None or a torch.distributed.ProcessGroup, "
            f"got {type(option).__name__} {option!r}"
        )


def resolve_process_group(option: Any):
    """The group a step communicates over, or None for no communication.

    ``"auto"``: the default group when ``torch.distributed`` is available, initialized and its
    world size is above 1 (resolved at every step, so a group initialized after the optimizer was
    built is used); ``None``: never; a ``ProcessGroup``: that group (None if it has one rank)."""
    if option is None:
        return None
    dist = _distributed()
    if option == "auto":
        if dist is None or not dist.is_initialized() or dist.get_world_size() <= 1:
            return None
        return dist.group.WORLD
    return option if dist.get_world_size(option) > 1 else None


def average_(tensor: Tensor, group) -> Tensor:
    """``tensor`` averaged over ``group`` in place (sum, then divide by its size); unchanged for None."""
    if group is None:
        return tensor
    dist = _distributed()
    dist.all_reduce(tensor, op=dist.ReduceOp.SUM, group=group)
    return tensor.div_(dist.get_world_size(group))


def averaged(product: Callable[[Tensor], Tensor], group) -> Callable[[Tensor], Tensor]:
    """``v -> average_(product(v))``: a Hessian-vector product of the full-batch objective."""
    if group is None:
        return product
    return lambda v: average_(product(v), group)


def average_tensors(tensors: list[Tensor], group) -> list[Tensor]:
    """``tensors`` averaged over ``group`` with one collective: views of one fresh flat tensor
    (``tensors`` themselves, unchanged, for None)."""
    if group is None:
        return tensors
    return unflatten(average_(flatten(tensors), group), tensors)


def average_gradients_(params: list[Tensor], group) -> None:
    """Average the ``.grad`` of ``params`` over ``group`` with one collective (for torch optimizers
    that read ``.grad``); parameters without a gradient take part as zeros."""
    if group is None:
        return
    grads = [torch.zeros_like(p) if p.grad is None else p.grad for p in params]
    for p, averaged_grad in zip(params, average_tensors(grads, group)):
        p.grad = averaged_grad.clone()  # its own storage, as a backward pass would leave it


def reduce_finiteness_(flag: Tensor, group) -> Tensor:
    """A 0-dim finiteness flag (0 finite, NaN not) summed over ``group``: NaN on every rank when it
    is NaN on any, so all ranks raise in the same step."""
    return flag if group is None else average_(flag, group)


__all__ = [
    "average_",
    "average_gradients_",
    "average_tensors",
    "averaged",
    "check_process_group",
    "reduce_finiteness_",
    "resolve_process_group",
]
