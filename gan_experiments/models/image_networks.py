"""The image networks a config can name (``model.network``), for any framework on image data.

- ``stackelberg_mnist``: generator Table 3's MLP, discriminator Tables 3-4's MLP (Zhang et al. 2018,
  "Stackelberg GAN" App. E);
- ``stackelberg_fashion``: generator Table 4's MLP, discriminator Tables 3-4's MLP (ibid.);
- ``stackelberg_cifar10``: Table 5's deconvolutions and convolutions, 3 x 32 x 32 only (ibid.);
- ``sgan_mlp``: 4 layers of ``generator_hidden`` units, LeakyReLU(0.01), Tanh, against 4 layers of
  ``discriminator_hidden`` units (the SGAN supplement, Chavdarova & Fleuret 2018, Sec. 1: the toy MLPs
  with the image as input/output layer);
- ``icr_dcgan``: Table 4's DCGAN generator and Table 5's discriminator at ``width``, C x 32 x 32
  (Schäfer, Zheng & Anandkumar 2020, "Implicit competitive regularization in GANs" App. B);
- ``icr_mnist_conv``: the same paper's MNIST networks of App. A.3 Tables 1-2, 1 x 28 x 28 (what the
  authors' MNIST script trains), every channel and hidden unit count scaled by ``width`` / 64.

The two ICR networks also take ``slope`` (the discriminator's LeakyReLU; the papers give none, 0.2
by default, the authors' code 0.01) and ``conv_init_std`` (every convolution weight from
N(0, std^2) as the authors' code draws them; 0, the default: PyTorch's initialisation); the other
networks refuse values other than these defaults.

The MLP networks size their first/last layer to the image, so they also run on Stacked MNIST
(3 x 28 x 28); the convolutional ones need 32 x 32 images and say so otherwise.
"""

from __future__ import annotations

import math

from torch import nn

from .icr_dcgan import DCGANDiscriminator, DCGANGenerator
from .icr_mnist import ICRMNISTDiscriminator, ICRMNISTGenerator, normal_convolution_weights_
from .mlp2d import mlp
from .stackelberg_images import (
    Reshape,
    StackelbergCIFARDiscriminator,
    StackelbergCIFARGenerator,
    stackelberg_fashion_generator,
    stackelberg_mlp_discriminator,
    stackelberg_mnist_generator,
)

IMAGE_NETWORKS = (
    "stackelberg_mnist",
    "stackelberg_fashion",
    "stackelberg_cifar10",
    "sgan_mlp",
    "icr_dcgan",
    "icr_mnist_conv",
)
CONVOLUTIONAL = {"stackelberg_cifar10": (3, 32, 32), "icr_dcgan": (None, 32, 32), "icr_mnist_conv": (1, 28, 28)}
ICR_NETWORKS = ("icr_dcgan", "icr_mnist_conv")  # the ones that take slope and conv_init_std
DEFAULT_SLOPE = 0.2


def check_shape(name: str, shape: tuple[int, int, int]) -> None:
    """Fail with a sentence when network ``name`` cannot make or read images of ``shape``."""
    if name not in IMAGE_NETWORKS:
        raise ValueError(f"unknown image network {name!r}; expected one of {', '.join(IMAGE_NETWORKS)}")
    expected = CONVOLUTIONAL.get(name)
    if expected is not None and any(e is not None and e != s for e, s in zip(expected, shape)):
        wanted = "x".join("C" if e is None else str(e) for e in expected)
        raise ValueError(f"network {name!r} works on {wanted} images, the data are {'x'.join(map(str, shape))}")


def check_icr_options(name: str, slope: float, conv_init_std: float) -> None:
    """Only the ICR networks take a LeakyReLU slope and a convolution initialisation."""
    if name not in ICR_NETWORKS and (slope != DEFAULT_SLOPE or conv_init_std != 0):
        raise ValueError(
            f"network {name!r} takes neither leaky_relu_slope nor conv_init_std (only {', '.join(ICR_NETWORKS)} do)"
        )


def image_generator(
    name: str,
    shape: tuple[int, int, int],
    *,
    latent_dim: int = 100,
    hidden: int = 512,
    width: int = 64,
    conv_init_std: float = 0.0,
) -> nn.Module:
    """Generator ``name``: noise ``(n, latent_dim)`` -> images ``(n, *shape)`` in [-1, 1]."""
    check_shape(name, shape)
    check_icr_options(name, DEFAULT_SLOPE, conv_init_std)
    if name == "stackelberg_mnist":
        return stackelberg_mnist_generator(latent_dim, shape)
    if name == "stackelberg_fashion":
        return stackelberg_fashion_generator(latent_dim, shape)
    if name == "stackelberg_cifar10":
        if latent_dim != StackelbergCIFARGenerator.latent_dim:
            raise ValueError(f"network 'stackelberg_cifar10' takes latent_dim 100, got {latent_dim}")
        return StackelbergCIFARGenerator()
    if name == "sgan_mlp":
        return nn.Sequential(
            mlp([latent_dim, hidden, hidden, hidden, math.prod(shape)], 0.01, nn.Tanh()), Reshape(*shape)
        )
    if name == "icr_mnist_conv":
        return normal_convolution_weights_(ICRMNISTGenerator(latent_dim, width), conv_init_std)
    return normal_convolution_weights_(DCGANGenerator(width, latent_dim, channels=shape[0]), conv_init_std)


def image_discriminator(
    name: str,
    shape: tuple[int, int, int],
    *,
    hidden: int = 512,
    width: int = 64,
    slope: float = DEFAULT_SLOPE,
    conv_init_std: float = 0.0,
) -> nn.Module:
    """Discriminator ``name``: images ``(n, *shape)`` -> one logit or critic value each, shape ``(n,)``."""
    check_shape(name, shape)
    check_icr_options(name, slope, conv_init_std)
    if name in ("stackelberg_mnist", "stackelberg_fashion"):
        return stackelberg_mlp_discriminator(shape)
    if name == "stackelberg_cifar10":
        return StackelbergCIFARDiscriminator()
    if name == "sgan_mlp":
        return nn.Sequential(nn.Flatten(), mlp([math.prod(shape), hidden, hidden, hidden, 1], 0.01), Reshape())
    if name == "icr_mnist_conv":
        return normal_convolution_weights_(ICRMNISTDiscriminator(slope, width), conv_init_std)
    return normal_convolution_weights_(DCGANDiscriminator(width, channels=shape[0], slope=slope), conv_init_std)


def player_networks(model, image_shape: tuple[int, int, int] | None, planar):
    """(new generator, new discriminator) callables for a run: on images (``image_shape`` given, the
    data source's), the image network ``model.network`` sized to them; on 2D data (``image_shape``
    None), the framework's own 2D networks ``planar(model)``. The one place that chooses networks."""
    if image_shape is None:
        return planar(model)
    return (
        lambda: image_generator(
            model.network,
            image_shape,
            latent_dim=model.latent_dim,
            hidden=model.generator_hidden,
            width=model.width,
            conv_init_std=model.conv_init_std,
        ),
        lambda: image_discriminator(
            model.network,
            image_shape,
            hidden=model.discriminator_hidden,
            width=model.width,
            slope=model.leaky_relu_slope,
            conv_init_std=model.conv_init_std,
        ),
    )
