"""A module in eval mode for a block of code, restored afterwards."""

from __future__ import annotations

import contextlib

from torch import nn


@contextlib.contextmanager
def evaluation_mode(module: nn.Module):
    """``module`` in eval mode for the block (batch norm's running statistics; spectral norm's
    power iteration does not advance), then back in the mode it was in."""
    was_training = module.training
    module.eval()
    try:
        yield module
    finally:
        module.train(was_training)
