"""Count host reads of tensor values (device synchronisations) with a TorchFunctionMode."""

from __future__ import annotations

import torch
from torch.overrides import TorchFunctionMode

READS = {"item", "__bool__", "__float__", "__int__", "__index__", "tolist", "numpy", "equal", "allclose"}


class DeviceReads(TorchFunctionMode):
    """Counts calls that copy a tensor's value to the host, as listed in the issue."""

    def __init__(self) -> None:
        super().__init__()
        self.count = 0

    def __torch_function__(self, func, types, args=(), kwargs=None):
        name = getattr(func, "__name__", "")
        if name in READS:
            self.count += 1
        elif name == "__getitem__" and any(isinstance(a, torch.Tensor) for a in _flat(args[1:])):
            self.count += 1  # a tensor used as an index
        return func(*args, **(kwargs or {}))


def _flat(items):
    for item in items:
        if isinstance(item, (tuple, list)):
            yield from _flat(item)
        else:
            yield item
