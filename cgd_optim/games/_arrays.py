"""NumPy arrays or torch tensors in, the same kind out, without importing NumPy."""

from __future__ import annotations

from typing import Any

import torch
from torch import Tensor


def as_float64(value: Any, name: str):
    """``value`` as float64 of its own kind: a tensor stays a tensor, a NumPy array an array;
    lists and numbers become tensors."""
    if isinstance(value, Tensor):
        return value.detach().to(torch.float64)
    if _is_numpy(value):
        return value.astype("float64")
    try:
        return torch.as_tensor(value, dtype=torch.float64)
    except (TypeError, ValueError, RuntimeError) as error:
        raise TypeError(f"{name} must be an array or a tensor, got {type(value).__name__}") from error


def as_torch(value: Any, like: Tensor | None = None) -> Tensor:
    """A float64 CPU tensor of ``value`` (or one in ``like``'s dtype and device); a tensor given is
    used as it is, NumPy arrays share memory."""
    tensor = value if isinstance(value, Tensor) else torch.as_tensor(value, dtype=torch.float64)
    if like is not None:
        return tensor.to(dtype=like.dtype, device=like.device)
    return tensor.to(torch.float64)


def like(result: Tensor, reference: Any):
    """``result`` as the kind of ``reference``: a NumPy array when it is one, else a tensor."""
    return result.numpy() if _is_numpy(reference) else result


def _is_numpy(value: Any) -> bool:
    return type(value).__module__ == "numpy" and hasattr(value, "astype")
