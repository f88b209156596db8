"""Training schemes: each says how its players and losses are wired; ``trainer.py`` runs them all."""

from __future__ import annotations

import torch
from torch import Tensor

from .proximal import ProximalGAN
from .sgan import SGAN, MessengerGame, SGANTrainer, derived_seed
from .stackelberg import StackelbergGAN
from .standard import StandardGAN

__all__ = ["StandardGAN", "StackelbergGAN", "ProximalGAN", "SGAN", "MessengerGame", "SGANTrainer", "derived_seed",
           "samples_of_each_generator"]


def samples_of_each_generator(framework, total: int, generator: torch.Generator | None = None) -> list[Tensor] | None:
    """``total`` samples shared evenly (at least one each) among the generators of a Stackelberg GAN
    or the local generators of an SGAN, one CPU tensor per generator; None for other frameworks."""
    if isinstance(framework, SGAN):
        count = len(framework.local_pairs)
    elif isinstance(framework, StackelbergGAN):
        count = len(framework.generator.generators)
    else:
        return None
    return [s.cpu() for s in framework.sample_by_generator(max(total // count, 1), generator)]
