"""A module in eval mode, or with its buffers kept, for a block of code, restored afterwards."""

from __future__ import annotations

import contextlib

import torch
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


@contextlib.contextmanager
def buffers_kept(module: nn.Module):
    """``module`` for a block whose forward passes run in its own mode (training: batch norm on the
    batch's statistics, as a training step sees it) but whose buffers (batch norm's running
    statistics and counters, spectral norm's power-iteration vectors) are put back afterwards."""
    saved = [buffer.clone() for buffer in module.buffers()]
    try:
        yield module
    finally:
        with torch.no_grad():
            for buffer, value in zip(module.buffers(), saved):
                buffer.copy_(value)
