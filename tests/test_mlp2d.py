"""The papers' networks: 2D sizes from the official code and the supplement, mixture sampling, the image tables."""

import pytest
import torch

from gan_experiments.models import (
    GeneratorMixture,
    MultiBranchGenerator,
    sgan_discriminator,
    sgan_generator,
    stackelberg_discriminator,
    stackelberg_generator,
)


def count(module):
    return sum(p.numel() for p in module.parameters())


def test_official_stackelberg_sizes_and_output_range():
    g = stackelberg_generator()
    assert count(g) == (2 * 32 + 32) + (32 * 2 + 2)  # 162
    assert count(stackelberg_discriminator()) == (2 * 512 + 512) + (512 * 256 + 256) + (256 + 1)
    out = g(torch.randn(100, 2) * 50)
    assert out.abs().max() <= 1.0
    assert stackelberg_generator(output_scale=4.0)(torch.randn(100, 2) * 50).abs().max() > 1.0


def test_sgan_networks_have_four_layers_of_512():
    g, d = sgan_generator(), sgan_discriminator()
    linears = [m for m in g if isinstance(m, torch.nn.Linear)]
    assert [m.in_features for m in linears] == [100, 512, 512, 512] and linears[-1].out_features == 2
    assert [m.out_features for m in d if isinstance(m, torch.nn.Linear)] == [512, 512, 512, 1]
    assert all(m.negative_slope == 0.01 for m in g if isinstance(m, torch.nn.LeakyReLU))


def test_multi_branch_averages_its_branches():
    torch.manual_seed(0)
    model = MultiBranchGenerator(branches=3)
    z = torch.randn(5, 2)
    torch.testing.assert_close(model(z), sum(b(z) for b in model.branches) / 3)


def test_mixture_sampling_picks_generators_uniformly_and_uses_their_outputs():
    torch.manual_seed(0)
    mixture = GeneratorMixture([stackelberg_generator() for _ in range(8)], latent_dim=2)
    assert mixture(torch.randn(7, 2)).shape == (8, 7, 2)
    samples, which = mixture.sample(8000, torch.Generator().manual_seed(1))
    counts = torch.bincount(which, minlength=8).double()
    chi_square = float(((counts - 1000) ** 2 / 1000).sum())
    assert chi_square < 24.3  # 99.9 % quantile of chi-square with 7 degrees of freedom
    generator = torch.Generator().manual_seed(1)
    which_again = torch.randint(0, 8, (8000,), generator=generator)
    z = torch.randn(8000, 2, generator=generator)
    expected = torch.stack([g(z) for g in mixture.generators])[which_again, torch.arange(8000)]
    torch.testing.assert_close(samples, expected)


def test_stackelberg_image_networks_have_the_tables_shapes_with_the_typos_fixed():
    from gan_experiments.models.stackelberg_images import (
        StackelbergCIFARDiscriminator,
        StackelbergCIFARGenerator,
        gaussian_to_uniform,
        stackelberg_fashion_generator,
        stackelberg_mlp_discriminator,
        stackelberg_mnist_generator,
    )

    torch.manual_seed(0)
    z = torch.randn(4, 100)  # latent size 100, as the official code (Table 4 says 2)
    for generator in (stackelberg_mnist_generator(), stackelberg_fashion_generator()):
        images = generator(z)
        assert images.shape == (4, 1, 28, 28) and float(images.detach().abs().max()) <= 1.0
    discriminator = stackelberg_mlp_discriminator()
    assert discriminator[1].in_features == 784 and discriminator(images).shape == (4,)  # Tables 3-4 say 2
    widths = [m.out_features for m in stackelberg_fashion_generator() if isinstance(m, torch.nn.Linear)]
    assert widths == [128, 256, 512, 1024, 784]
    cifar_g, cifar_d = StackelbergCIFARGenerator(), StackelbergCIFARDiscriminator()
    uniform = gaussian_to_uniform(torch.randn(200_000, generator=torch.Generator().manual_seed(0)))
    assert uniform.min() >= -1 and uniform.max() <= 1  # U[-1, 1]: mean 0, variance 1/3, flat histogram
    assert float(uniform.mean()) == pytest.approx(0, abs=0.01) and float(uniform.var()) == pytest.approx(
        1 / 3, rel=0.01
    )
    assert torch.histc(uniform, 10, -1, 1).div(20_000).sub(1).abs().max() < 0.03
    fakes = cifar_g(torch.randn(4, 100))
    assert fakes.shape == (4, 3, 32, 32) and cifar_d(fakes).shape == (4,)
    convs = [m for m in cifar_d.modules() if isinstance(m, torch.nn.Conv2d)]
    assert [c.out_channels for c in convs] == [128, 256, 512]
    weights = torch.cat([m.weight.detach().reshape(-1) for m in cifar_g.modules() if hasattr(m, "weight")])
    assert float(weights.std()) == pytest.approx(0.01, rel=0.05)  # Table 5: N(0, 0.01) initialisation
