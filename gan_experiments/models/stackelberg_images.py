"""The image networks of the Stackelberg GAN paper (Zhang et al. 2018, "Stackelberg GAN" App. E, Tables 3-5).

Tables 3 and 4 have typos that the official code does not share: their discriminators read a
2-dimensional input (it is the 784 pixels of a 28x28 image) and Table 4's generator a
2-dimensional noise (the official code uses 100). Our choices where the tables leave a cell
blank:

- MNIST (Table 3), per generator: Linear(100, 512), BatchNorm, ReLU -> Linear(512, 784), Tanh.
- Fashion-MNIST (Table 4), per generator: Linear(100, 128) -> 256 -> 512 -> 1024, each with
  BatchNorm and LeakyReLU(0.2), -> Linear(1024, 784), Tanh.
- Both: discriminator Linear(784, 512), LeakyReLU(0.2) -> Linear(512, 256), LeakyReLU(0.2) ->
  Linear(256, 1), a logit (the table's Sigmoid lives in the loss).
- Other image shapes (Stacked MNIST's 3 x 28 x 28): the MNIST networks with the input and
  output layers sized to the image (``shape``).
- CIFAR-10 (Table 5), per generator: z ~ U[-1, 1]^100 -> Linear to 8x8x128, ReLU -> ConvT 5x5/2
  to 16x16x64, ReLU -> ConvT 5x5/2 to 32x32x3, Tanh, without batch norm; discriminator Conv 5x5/2
  to 16x16x128, 8x8x256, 4x4x512, each with BatchNorm and LeakyReLU(0.2) -> Linear(4*4*512, 1);
  weights N(0, 0.01), biases 0 (the table's initialisation). The shared training loop draws
  Gaussian noise for every framework, so the generator maps it to the table's uniform noise
  first (:func:`gaussian_to_uniform`), which gives exactly U[-1, 1]^100.
"""

from __future__ import annotations

import math

import torch
from torch import Tensor, nn


class Reshape(nn.Module):
    def __init__(self, *shape: int) -> None:
        super().__init__()
        self.shape = shape

    def forward(self, x: Tensor) -> Tensor:
        return x.reshape(x.shape[0], *self.shape)


MNIST_SHAPE = (1, 28, 28)


def stackelberg_mnist_generator(latent_dim: int = 100, shape: tuple[int, ...] = MNIST_SHAPE) -> nn.Sequential:
    """Table 3's generator (images of ``shape``, 1 x 28 x 28 in the table, in [-1, 1])."""
    pixels = math.prod(shape)
    return nn.Sequential(
        nn.Linear(latent_dim, 512), nn.BatchNorm1d(512), nn.ReLU(), nn.Linear(512, pixels), nn.Tanh(), Reshape(*shape)
    )


def stackelberg_fashion_generator(latent_dim: int = 100, shape: tuple[int, ...] = MNIST_SHAPE) -> nn.Sequential:
    """Table 4's generator (images of ``shape``, 1 x 28 x 28 in the table, in [-1, 1])."""
    layers: list[nn.Module] = []
    for a, b in zip([latent_dim, 128, 256, 512], [128, 256, 512, 1024]):
        layers += [nn.Linear(a, b), nn.BatchNorm1d(b), nn.LeakyReLU(0.2)]
    return nn.Sequential(*layers, nn.Linear(1024, math.prod(shape)), nn.Tanh(), Reshape(*shape))


def stackelberg_mlp_discriminator(shape: tuple[int, ...] = MNIST_SHAPE) -> nn.Sequential:
    """Tables 3-4's discriminator on the image's pixels (784 in the tables), returning logits."""
    return nn.Sequential(
        nn.Flatten(),
        nn.Linear(math.prod(shape), 512),
        nn.LeakyReLU(0.2),
        nn.Linear(512, 256),
        nn.LeakyReLU(0.2),
        nn.Linear(256, 1),
        Reshape(),
    )


def gaussian_to_uniform(z: Tensor) -> Tensor:
    r""":math:`2\Phi(z) - 1`: standard normal coordinates to U[-1, 1] ones (Φ the normal CDF)."""
    return 2 * torch.special.ndtr(z) - 1


def _table5_init(module: nn.Module) -> nn.Module:
    for m in module.modules():
        if isinstance(m, (nn.Linear, nn.Conv2d, nn.ConvTranspose2d)):
            nn.init.normal_(m.weight, 0.0, 0.01)
            nn.init.zeros_(m.bias)
    return module


class StackelbergCIFARGenerator(nn.Module):
    """Table 5's generator; ``latent_dim`` 100; takes standard normal z and maps it to the table's
    U[-1, 1] noise (:func:`gaussian_to_uniform`)."""

    latent_dim = 100

    def __init__(self) -> None:
        super().__init__()
        self.net = _table5_init(
            nn.Sequential(
                nn.Linear(100, 8 * 8 * 128),
                nn.ReLU(),
                Reshape(128, 8, 8),
                nn.ConvTranspose2d(128, 64, 5, stride=2, padding=2, output_padding=1),
                nn.ReLU(),
                nn.ConvTranspose2d(64, 3, 5, stride=2, padding=2, output_padding=1),
                nn.Tanh(),
            )
        )

    def forward(self, z: Tensor) -> Tensor:
        return self.net(gaussian_to_uniform(z))


class StackelbergCIFARDiscriminator(nn.Module):
    """Table 5's discriminator, returning logits."""

    def __init__(self) -> None:
        super().__init__()
        layers: list[nn.Module] = []
        for a, b in zip([3, 128, 256], [128, 256, 512]):
            layers += [nn.Conv2d(a, b, 5, stride=2, padding=2), nn.BatchNorm2d(b), nn.LeakyReLU(0.2)]
        self.net = _table5_init(nn.Sequential(*layers, nn.Flatten(), nn.Linear(4 * 4 * 512, 1), Reshape()))

    def forward(self, images: Tensor) -> Tensor:
        return self.net(images)
