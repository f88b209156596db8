"""The networks of the papers' tables."""

from .evaluation import buffers_kept, evaluation_mode
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
    "DCGANDiscriminator",
    "DCGANGenerator",
    "GeneratorMixture",
    "MultiBranchGenerator",
    "buffers_kept",
    "evaluation_mode",
    "player_networks",
    "sgan_discriminator",
    "sgan_generator",
    "stackelberg_discriminator",
    "stackelberg_generator",
    "with_spectral_norm",
]
