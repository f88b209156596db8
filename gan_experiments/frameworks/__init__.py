"""Training schemes: each says how its players and losses are wired; ``trainer.py`` runs them all."""

from .standard import StandardGAN
from .stackelberg import StackelbergGAN

__all__ = ["StandardGAN", "StackelbergGAN"]
