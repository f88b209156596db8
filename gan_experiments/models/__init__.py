"""The networks of the papers' tables."""

from .icr_dcgan import DCGANDiscriminator, DCGANGenerator

__all__ = ["DCGANGenerator", "DCGANDiscriminator"]
