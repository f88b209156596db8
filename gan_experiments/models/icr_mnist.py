"""The MNIST networks of the ICR paper (Schäfer, Zheng & Anandkumar 2020, "Implicit competitive regularization in
GANs" App. A.3, Tables 1 and 2).

Generator: z ~ N(0, I_96) -> Linear 1024, BN, ReLU -> Linear 128*7*7, BN, ReLU -> ConvT 4x4/2
64x14x14, BN, ReLU -> ConvT 4x4/2 1x28x28, Tanh. Discriminator: Conv 5x5 32x24x24, LeakyReLU ->
MaxPool 2 -> Conv 5x5 64x8x8, LeakyReLU -> MaxPool 2 -> Linear 1024, LeakyReLU -> Linear 1 (a
logit). The tables give no LeakyReLU slope: 0.2 here. The ConvT padding (1) is what gives the
tables' output shapes.

The same tables as the authors' code trains them (github.com/devzhk/Implicit-Competitive-Regularization,
commit 166809e: ``GANs/models.py`` ``dc_G`` / ``dc_D``, initialised by ``train_utils.weights_init_d`` /
``weights_init_g``) are the image network ``icr_mnist_conv`` with ``model.leaky_relu_slope = 0.01`` and
``model.conv_init_std = 0.01`` (:func:`normal_convolution_weights_`): every (transposed)
convolution's weight from N(0, 0.01^2), the other layers PyTorch's default. One difference
kept: their generator applies ReLU before BN, Table 1 (and ours) BN before ReLU.

``width`` (d) scales every convolution's channels and every hidden fully connected layer's units
by d / 64: the discriminator's convolutions have d / 2 and d channels and its hidden layer 16 d
units; the generator's hidden layers 16 d and 2 d x 7 x 7 units, its transposed convolution d
channels. The tables are d = 64, the default; d must be even.
"""

from __future__ import annotations

import torch
from torch import Tensor, nn

TABLE_WIDTH = 64  # App. A.3's networks


def check_width(width: int) -> None:
    """The width must be a positive even number (the first convolution has width / 2 channels)."""
    if width < 2 or width % 2:
        raise ValueError(f"network 'icr_mnist_conv' takes an even width of at least 2, got {width}")


class ICRMNISTGenerator(nn.Module):
    """Table 1 of App. A.3 (latent dimension 96 in the paper) at ``width`` (64: the table)."""

    latent_dim = 96

    def __init__(self, latent_dim: int = 96, width: int = TABLE_WIDTH) -> None:
        super().__init__()
        check_width(width)
        self.latent_dim, self.width = latent_dim, width
        self.dense = nn.Sequential(
            nn.Linear(latent_dim, 16 * width),
            nn.BatchNorm1d(16 * width),
            nn.ReLU(),
            nn.Linear(16 * width, 2 * width * 7 * 7),
            nn.BatchNorm1d(2 * width * 7 * 7),
            nn.ReLU(),
        )
        self.deconv = nn.Sequential(
            nn.ConvTranspose2d(2 * width, width, 4, stride=2, padding=1),
            nn.BatchNorm2d(width),
            nn.ReLU(),
            nn.ConvTranspose2d(width, 1, 4, stride=2, padding=1),
            nn.Tanh(),
        )

    def forward(self, z: Tensor) -> Tensor:
        return self.deconv(self.dense(z).reshape(-1, 2 * self.width, 7, 7))


class ICRMNISTDiscriminator(nn.Module):
    """Table 2 of App. A.3 at ``width`` (64: the table), returning logits."""

    def __init__(self, slope: float = 0.2, width: int = TABLE_WIDTH) -> None:
        super().__init__()
        check_width(width)
        self.features = nn.Sequential(
            nn.Conv2d(1, width // 2, 5),
            nn.LeakyReLU(slope),
            nn.MaxPool2d(2),
            nn.Conv2d(width // 2, width, 5),
            nn.LeakyReLU(slope),
            nn.MaxPool2d(2),
        )
        self.head = nn.Sequential(nn.Linear(width * 4 * 4, 16 * width), nn.LeakyReLU(slope), nn.Linear(16 * width, 1))

    def forward(self, images: Tensor) -> Tensor:
        return self.head(self.features(images).flatten(1)).squeeze(1)


@torch.no_grad()
def normal_convolution_weights_(module: nn.Module, std: float) -> nn.Module:
    """Every Conv2d / ConvTranspose2d weight of ``module`` drawn from N(0, std^2) in place (the
    authors' ``weights_init_*``: biases and other layers keep PyTorch's initialisation); nothing
    when ``std`` is 0. Returns ``module``."""
    if std > 0:
        for layer in module.modules():
            if isinstance(layer, (nn.Conv2d, nn.ConvTranspose2d)):
                layer.weight.normal_(0.0, std)
    return module
