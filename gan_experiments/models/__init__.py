"""The networks of the papers' tables."""

from .evaluation import evaluation_mode
from .icr_dcgan import DCGANDiscriminator, DCGANGenerator
from .image_networks import player_networks
from .mlp2d import (
    GeneratorMixture,
    MultiBranchGenerator,
    sgan_discriminator,
    sgan_generator,
    stackelberg_discriminator,
    stackelberg_generator,
    with_spectral_norm,
)

__all__ = [
    "DCGANGenerator",
    "DCGANDiscriminator",
    "GeneratorMixture",
    "MultiBranchGenerator",
    "stackelberg_generator",
    "stackelberg_discriminator",
    "sgan_generator",
    "sgan_discriminator",
    "with_spectral_norm",
    "evaluation_mode",
    "player_networks",
]
