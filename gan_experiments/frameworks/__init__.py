"""Training schemes: each says how its players and losses are wired; ``trainer.py`` runs them all."""

from .proximal import ProximalGAN
from .sgan import SGAN, MessengerGame, SGANTrainer, derived_seed
from .stackelberg import StackelbergGAN
from .standard import StandardGAN

__all__ = ["StandardGAN", "StackelbergGAN", "ProximalGAN", "SGAN", "MessengerGame", "SGANTrainer", "derived_seed"]
