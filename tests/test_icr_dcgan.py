"""The ICR DCGAN of Tables 4-5 (Schäfer, Zheng & Anandkumar 2020, "Implicit competitive regularization in GANs",
App.): shapes and sizes."""

import pytest
import torch

from gan_experiments.models import DCGANDiscriminator, DCGANGenerator


def expected_parameters(width: int, latent: int = 128) -> tuple[int, int]:
    d = width
    generator = (latent * 16 * 4 * d + 16 * 4 * d) + 2 * 16 * 4 * d  # Linear + BatchNorm1d
    generator += (4 * d * 2 * d * 16 + 2 * d) + 2 * 2 * d  # ConvT 4x4 + BatchNorm2d
    generator += (2 * d * d * 16 + d) + 2 * d
    generator += d * 3 * 16 + 3
    discriminator = (3 * d * 16 + d) + (d * 2 * d * 16 + 2 * d) + (2 * d * 4 * d * 16 + 4 * d) + (4 * d * 16 + 1)
    return generator, discriminator


@pytest.mark.parametrize("width", [8, 64])
def test_tables_4_and_5_shapes_and_parameter_counts(width):
    torch.manual_seed(0)
    G, D = DCGANGenerator(width), DCGANDiscriminator(width)
    images = G(torch.randn(5, 128))
    assert images.shape == (5, 3, 32, 32) and float(images.detach().abs().max()) <= 1.0  # Tanh output
    assert D(images).shape == (5,)
    counts = (sum(p.numel() for p in G.parameters()), sum(p.numel() for p in D.parameters()))
    assert counts == expected_parameters(width)
    # Table 4's intermediate shapes at width 64: 256x4x4 -> 128x8x8 -> 64x16x16
    if width == 64:
        shapes, x = [], G.project(torch.randn(2, 128)).view(2, 256, 4, 4)
        for layer in G.upsample:
            x = layer(x)
            if isinstance(layer, torch.nn.ReLU):
                shapes.append(tuple(x.shape[1:]))
        assert shapes == [(128, 8, 8), (64, 16, 16)]
