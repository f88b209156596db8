"""From a config to the objects of a run: data sampler, players (a framework), optimizer(s),
trainer. Nothing here trains or writes files (experiment.py does)."""

from __future__ import annotations

import torch

from cgd_optim import ACGD, CGD, SimGD

from . import data as datasets
from .config import IMAGE_DATASETS, Config
from .data.images import IMAGE_SHAPES, dataset_images, image_sampler
from .data.stacked import stacked_sampler
from .frameworks import SGAN, ProximalGAN, SGANTrainer, StackelbergGAN, StandardGAN, derived_seed
from .icr import ProjectionGame
from .models import (GeneratorMixture, MultiBranchGenerator, sgan_discriminator, sgan_generator,
                     stackelberg_discriminator, stackelberg_generator, with_spectral_norm)
from .models.icr_mnist import ICRMNISTDiscriminator, ICRMNISTGenerator
from .models.image_networks import image_discriminator, image_generator
from .trainer import AdamPair, Trainer


def build_mixture(config: Config):
    """The data set: a Gaussian mixture (with centres for the mode metrics) or the Swiss roll (None)."""
    d = config.data
    if d.name in ("ring", "circle"):
        return datasets.ring(d.modes, d.radius, d.std)
    if d.name == "grid":
        return datasets.grid(tuple(float(v) for v in d.grid_values), std=d.std)
    return None


def build_sampler(config: Config):
    if config.run.framework == "projection":  # a point mass at P_data (the game reads its own target)
        target = torch.tensor(config.projection.target, dtype=torch.float32)
        return lambda n, generator: target.expand(n, 2)
    if config.data.name == "stacked_mnist":
        return stacked_sampler(*image_data(config))
    if config.data.name in IMAGE_DATASETS:
        return image_sampler(image_data(config)[0])
    mixture = build_mixture(config)
    if mixture is not None:
        return mixture.sample
    d = config.data

    def swiss(n: int, generator: torch.Generator) -> torch.Tensor:
        return datasets.swiss_roll(n, d.noise, d.scale, seed=int(torch.randint(0, 2**31 - 1, (1,), generator=generator)))

    return swiss


def image_data(config: Config, *, train: bool = True) -> tuple[torch.Tensor, torch.Tensor]:
    """(images, labels) of the training (or held-out) part of ``data.name`` (Stacked MNIST: its
    MNIST source) from ``data.root`` when given, else MNIST's bundled 5,000-digit subset (4,000 /
    1,000); raises DataNotFoundError, naming the folder and the command, before training."""
    d = config.data
    return dataset_images(d.name, d.root, train=train, download=d.download and train)


def _loss_options(config: Config) -> dict:
    return dict(loss=config.run.loss, gp_weight=config.loss.gp_weight, l2=config.loss.l2,
                weight_clip=config.loss.weight_clip)


def _player_factories(config: Config):
    """(new generator, new discriminator) callables: ``model.network``'s image networks, else the
    2D networks of the framework's paper (SGAN's 4-layer MLPs, the Stackelberg code's others);
    spectral normalisation on the discriminator when ``loss.spectral_norm``."""
    m = config.model
    if m.network:
        shape = IMAGE_SHAPES[config.data.name]
        generator = lambda: image_generator(m.network, shape, latent_dim=m.latent_dim,  # noqa: E731
                                            hidden=m.generator_hidden, width=m.width)
        discriminator = lambda: image_discriminator(m.network, shape, hidden=m.discriminator_hidden,  # noqa: E731
                                                    width=m.width)
    elif config.run.framework == "sgan":
        generator = lambda: sgan_generator(m.latent_dim, m.generator_hidden)  # noqa: E731
        discriminator = lambda: sgan_discriminator(m.discriminator_hidden)  # noqa: E731
    else:
        generator = lambda: stackelberg_generator(m.latent_dim, m.generator_hidden, m.output_scale)  # noqa: E731
        discriminator = stackelberg_discriminator
    if config.loss.spectral_norm:
        return generator, lambda: with_spectral_norm(discriminator())
    return generator, discriminator


def build_framework(config: Config):
    """The players of ``run.framework``, initialised from ``run.seed``."""
    m, loss = config.model, _loss_options(config)
    if config.run.framework == "sgan":
        return build_sgan(config)
    torch.manual_seed(config.run.seed)
    if config.run.framework == "projection":
        return ProjectionGame(tuple(config.projection.eta), tuple(config.projection.target))
    if config.run.framework == "icr_mnist":
        return StandardGAN(ICRMNISTGenerator(), ICRMNISTDiscriminator(), ICRMNISTGenerator.latent_dim, **loss)
    make_generator, make_discriminator = _player_factories(config)
    discriminator = make_discriminator()
    if config.run.framework == "stackelberg":
        generators = [make_generator() for _ in range(m.generators)]
        return StackelbergGAN(GeneratorMixture(generators, m.latent_dim), discriminator, **loss)
    if config.run.framework == "multibranch":
        return StandardGAN(MultiBranchGenerator(m.generators, m.latent_dim, output_scale=m.output_scale),
                           discriminator, m.latent_dim, **loss)
    generator = make_generator()
    if config.run.framework == "proximal":
        loss.pop("gp_weight")
        return ProximalGAN(generator, discriminator, m.latent_dim, **loss)
    return StandardGAN(generator, discriminator, m.latent_dim, **loss)


def build_sgan(config: Config) -> SGAN:
    """N local pairs and the global pair (SGAN's 4-layer MLPs, or ``model.network``'s), each
    initialised from its own seed stream, so a local pair's weights do not depend on N or on the
    global pair."""
    m, seed = config.model, config.run.seed
    make_generator, make_discriminator = _player_factories(config)

    def pair(*stream) -> StandardGAN:
        with torch.random.fork_rng(devices=[]):
            torch.manual_seed(derived_seed(seed, "init", *stream))
            generator, discriminator = make_generator(), make_discriminator()
        return StandardGAN(generator, discriminator, m.latent_dim, **_loss_options(config))

    return SGAN([pair("pair", n) for n in range(config.sgan.pairs)], pair("global"))


def build_optimizer(config: Config, framework, name: str | None = None):
    """The optimizer ``name`` (default ``run.optimizer``) over the framework's two players."""
    o, mins, maxs = config.optimizer, framework.min_parameters(), framework.max_parameters()
    name = name or config.run.optimizer
    if isinstance(framework, ProximalGAN):
        p = config.proximal
        return framework.optimizer(lr=o.lr, betas=tuple(o.betas), lam=p.lam, inner_steps=p.inner_steps, penalty=p.penalty)
    if name == "adam":
        return AdamPair(mins, maxs, lr=o.lr, betas=tuple(o.betas), max_projection=framework.project_discriminator)
    if name == "acgd":
        return ACGD(mins, maxs, lr=o.lr, beta=o.beta, eps=o.eps, tol=o.tol, max_iter=o.max_iter)
    if name == "cgd":
        return CGD(mins, maxs, lr=o.lr, tol=o.tol, max_iter=o.max_iter)
    return SimGD(mins, maxs, lr=o.lr, alternating=o.alternating)


def build_trainer(config: Config) -> Trainer | SGANTrainer:
    """The framework on its device, its optimizer(s) and the data sampler, in one trainer."""
    framework = build_framework(config).to(config.run.device)
    common = dict(batch_size=config.run.batch_size, seed=config.run.seed, device=config.run.device)
    if isinstance(framework, SGAN):
        o = config.optimizer
        return SGANTrainer(
            framework, [build_optimizer(config, pair) for pair in framework.local_pairs],
            build_optimizer(config, framework.messenger_game, config.sgan.global_optimizer),
            torch.optim.Adam(framework.global_pair.discriminator.parameters(), lr=o.lr, betas=tuple(o.betas)),
            build_sampler(config), train_global=config.sgan.global_pair, **common)
    return Trainer(framework, build_optimizer(config, framework), build_sampler(config),
                   critic_steps=config.optimizer.critic_steps, **common)
