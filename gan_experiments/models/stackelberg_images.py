"""The image networks of the Stackelberg GAN paper (000_38182600a80f113d.txt App. E, Tables 3-5).

Tables 3 and 4 have typos that the official code does not share: their discriminators read a
2-dimensional input (it is the 784 pixels of a 28x28 image) and Table 4's generator a
2-dimensional noise (the official code uses 100). Our choices where the tables leave a cell
blank:

- MNIST (Table 3), per generator: Linear(100, 512), BatchNorm, ReLU -> Linear(512, 784), Tanh.
- Fashion-MNIST (Table 4), per generator: Linear(100, 128) -> 256 -> 512 -> 1024, each with
  BatchNorm and LeakyReLU(0.2), -> Linear(1024, 784), Tanh.
- Both: discriminator Linear(784, 512), LeakyReLU(0.2) -> Linear(512, 256), LeakyReLU(0.2) ->
  Linear(256, 1), a logit (the table's Sigmoid lives in the loss).
- CIFAR-10 (Table 5), per generator: z ~ U[-1, 1]^100 -> Linear to 8x8x128, ReLU -> ConvT 5x5/2
  to 16x16x64, ReLU -> ConvT 5x5/2 to 32x32x3, Tanh, without batch norm; discriminator Conv 5x5/2
  to 16x16x128, 8x8x256, 4x4x512, each with BatchNorm and LeakyReLU(0.2) -> Linear(4*4*512, 1);
  weights N(0, 0.01), biases 0 (the table's initialisation).
"""

from __future__ import annotations

import torch
from torch import Tensor, nn


class Reshape(nn.Module):
    def __init__(self, *shape: int) -> None:
        super().__init__()
        self.shape = shape

    def forward(self, x: Tensor) -> Tensor:
        return x.reshape(x.shape[0], *self.shape)


def stackelberg_mnist_generator(latent_dim: int = 100) -> nn.Sequential:
    """Table 3's generator (images 1 x 28 x 28 in [-1, 1])."""
    return nn.Sequential(nn.Linear(latent_dim, 512), nn.BatchNorm1d(512), nn.ReLU(), nn.Linear(512, 784), nn.Tanh(),
                         Reshape(1, 28, 28))


def stackelberg_fashion_generator(latent_dim: int = 100) -> nn.Sequential:
    """Table 4's generator (images 1 x 28 x 28 in [-1, 1])."""
    layers: list[nn.Module] = []
    for a, b in zip([latent_dim, 128, 256, 512], [128, 256, 512, 1024]):
        layers += [nn.Linear(a, b), nn.BatchNorm1d(b), nn.LeakyReLU(0.2)]
    return nn.Sequential(*layers, nn.Linear(1024, 784), nn.Tanh(), Reshape(1, 28, 28))


def stackelberg_mlp_discriminator() -> nn.Sequential:
    """Tables 3-4's discriminator on 784 pixels, returning logits."""
    return nn.Sequential(nn.Flatten(), nn.Linear(784, 512), nn.LeakyReLU(0.2), nn.Linear(512, 256), nn.LeakyReLU(0.2),
                         nn.Linear(256, 1), Reshape())


def _table5_init(module: nn.Module) -> nn.Module:
    for m in module.modules():
        if isinstance(m, (nn.Linear, nn.Conv2d, nn.ConvTranspose2d)):
            nn.init.normal_(m.weight, 0.0, 0.01)
            nn.init.zeros_(m.bias)
    return module


class StackelbergCIFARGenerator(nn.Module):
    """Table 5's generator; ``latent_dim`` 100, noise uniform on [-1, 1] (see :meth:`noise`)."""

    latent_dim = 100

    def __init__(self) -> None:
        super().__init__()
        self.net = _table5_init(nn.Sequential(
            nn.Linear(100, 8 * 8 * 128), nn.ReLU(), Reshape(128, 8, 8),
            nn.ConvTranspose2d(128, 64, 5, stride=2, padding=2, output_padding=1), nn.ReLU(),
            nn.ConvTranspose2d(64, 3, 5, stride=2, padding=2, output_padding=1), nn.Tanh()))

    @staticmethod
    def noise(n: int, generator: torch.Generator | None = None) -> Tensor:
        return torch.rand(n, 100, generator=generator) * 2 - 1

    def forward(self, z: Tensor) -> Tensor:
        return self.net(z)


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
