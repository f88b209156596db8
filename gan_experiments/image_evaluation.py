"""Metrics and pictures of runs on image data (MNIST, Fashion-MNIST, CIFAR-10, Stacked MNIST).

Every evaluation scores ``run.samples`` generated images through the project's own classifier
of the data set (metrics/digit_classifier.py; Stacked MNIST: the MNIST classifier, channel by
channel) and puts the same scores of as many real held-out images beside them (prefix
``real_``): the ceiling each number has to be read against. For Stackelberg GAN it adds each
generator's class histogram and classes covered; for SGAN the scores of each local generator
(lists ``local_*s``) and their mean (``local_*``) beside G0's (SGAN paper Fig. 5; without the
global pair the unprefixed scores are the local ensemble's, as for 2D data). FID and the
ImageNet Inception Score come at the end of a run only (metrics/inception.py).
"""

from __future__ import annotations

import sys
from functools import lru_cache
from pathlib import Path

import torch
from torch import Tensor

from .build import image_data
from .config import Config
from .data.images import dataset_images
from .data.stacked import stacked_mnist, stacked_mode
from .frameworks import SGAN, StackelbergGAN, samples_of_each_generator
from .metrics.classifier import class_scores, frechet_feature_distance, stacked_mode_scores
from .metrics.digit_classifier import cached_classifier, default_cache_dir, predict
from .metrics.inception import inception_metrics, skip_reasons
from .models import evaluation_mode

CLASSIFIER_FOLDER = "gan_experiments_classifiers"  # under the data root; the user cache for the bundled subset


def classifier_for(config: Config):
    """(classifier, held-out accuracy) of ``data.name``'s source (MNIST for Stacked MNIST), trained
    on first use and cached under the data root (or the user cache for the bundled subset)."""
    source = "mnist" if config.data.name == "stacked_mnist" else config.data.name
    root = config.data.root
    folder = Path(root) / CLASSIFIER_FOLDER if root else default_cache_dir()
    return _classifier(source, root, str(folder))


@lru_cache(maxsize=4)
def _classifier(source: str, root: str, folder: str):
    train = dataset_images(source, root, train=True)
    test = dataset_images(source, root, train=False)
    return cached_classifier(source if root else f"{source}-bundled", train, test, cache_dir=folder)


def _features(config: Config, classifier, images: Tensor) -> tuple[dict, Tensor]:
    """(classifier scores, penultimate features) of ``images``; Stacked MNIST channel by channel."""
    if config.data.name == "stacked_mnist":
        outputs = [predict(classifier, images[:, c:c + 1]) for c in range(3)]
        labels = torch.stack([p.argmax(dim=1) for p, _ in outputs], dim=1)
        return stacked_mode_scores(stacked_mode(labels)), torch.cat([f for _, f in outputs], dim=1)
    probabilities, features = predict(classifier, images)
    return class_scores(probabilities), features


def _scores(config: Config, classifier, images: Tensor, reference_features: Tensor) -> dict:
    """The classifier scores of ``images`` and their Frechet distance to the reference features."""
    row, features = _features(config, classifier, images)
    row["frechet_classifier_distance"] = frechet_feature_distance(features, reference_features)
    return row


def real_images(config: Config, n: int, *, train: bool, seed: int) -> Tensor:
    """``n`` real images (drawn with replacement) of the training or held-out part."""
    images, labels = image_data(config, train=train)
    generator = torch.Generator().manual_seed(seed)
    if config.data.name == "stacked_mnist":
        return stacked_mnist(images, labels, n, generator)[0]
    return images[torch.randint(0, images.shape[0], (n,), generator=generator)]


def _real_reference(config: Config, classifier) -> tuple[Tensor, dict]:
    """(features of ``run.samples`` real training images, the real held-out images' scores against
    them), computed once per data set, sample size and seed: they do not change during a run."""
    key = (config.data.name, config.data.root, config.run.samples, config.run.seed)
    if key not in _REFERENCES:
        n, seed = config.run.samples, config.run.seed
        reference = _features(config, classifier, real_images(config, n, train=True, seed=seed + 4))[1]
        held_out = real_images(config, n, train=False, seed=seed + 5)
        _REFERENCES.clear()  # one entry: a sweep's runs come one after another
        _REFERENCES[key] = reference, _scores(config, classifier, held_out, reference)
    return _REFERENCES[key]


_REFERENCES: dict = {}


def evaluate_images(config: Config, framework, step: int) -> dict:
    """The classifier scores of the model's images with the real held-out images' beside them."""
    classifier, accuracy = classifier_for(config)
    reference, real_row = _real_reference(config, classifier)
    n = config.run.samples
    generator = torch.Generator().manual_seed(config.run.seed + 2)
    local_only = isinstance(framework, SGAN) and not config.sgan.global_pair  # scored as the locals' ensemble
    with evaluation_mode(framework):
        samples = None if local_only else framework.sample(n, generator).cpu()  # an untrained G0 is not sampled
        per_generator = samples_of_each_generator(framework, n, generator)
    if local_only:
        samples = torch.cat(per_generator)
    row = {"step": step, **_scores(config, classifier, samples, reference)}
    row.update({f"real_{k}": v for k, v in real_row.items()})
    row["classifier_accuracy"] = accuracy
    if isinstance(framework, StackelbergGAN) and config.data.name != "stacked_mnist":
        counts = [torch.bincount(predict(classifier, s)[0].argmax(dim=1), minlength=10) for s in per_generator]
        row["generator_classes"] = [c.tolist() for c in counts]  # predicted-class counts of each generator
        row["generator_classes_covered"] = [int((c > 0).sum()) for c in counts]
    if isinstance(framework, SGAN):
        local = [_scores(config, classifier, s, reference) for s in per_generator]
        for key in local[0]:
            row[f"local_{key}s"] = [scores[key] for scores in local]
            row[f"local_{key}"] = sum(scores[key] for scores in local) / len(local)
    return row


def final_image_metrics(config: Config, framework) -> dict:
    """FID and the ImageNet Inception Score of ``metrics.inception_samples`` images against as many
    real training images, or ``skipped`` with the reason for each (also printed)."""
    weights, n = config.metrics.inception_weights, config.metrics.inception_samples
    metrics, skipped = {}, skip_reasons(weights)
    if skipped is None:
        with evaluation_mode(framework):  # in chunks: a generator's activations for 50,000 images at once are large
            generated = torch.cat([framework.sample(min(500, n - i), torch.Generator().manual_seed(config.run.seed + 6 + i))
                                   .cpu() for i in range(0, n, 500)])
        real = real_images(config, n, train=True, seed=config.run.seed + 7)
        metrics, skipped = inception_metrics(generated, real, weights, cuda=torch.device(config.run.device).type == "cuda")
    for name, reason in skipped.items():
        print(f"{name} skipped: {reason}", file=sys.stderr)
    return {**metrics, "skipped": skipped} if skipped else metrics


@torch.no_grad()
def save_sample_grid(config: Config, framework, path: Path, *, columns: int = 10) -> None:
    """samples.png: a grid of generated images; one row per generator for Stackelberg GAN, one
    per local generator and a last row for G0 (when trained) for SGAN, otherwise ``columns`` rows."""
    from torchvision.utils import save_image

    generator = torch.Generator().manual_seed(config.run.seed + 3)
    with evaluation_mode(framework):
        if isinstance(framework, (StackelbergGAN, SGAN)):
            rows = framework.sample_by_generator(columns, generator)
            if isinstance(framework, SGAN) and config.sgan.global_pair:
                rows.append(framework.sample(columns, generator))
        else:
            rows = [framework.sample(columns * columns, generator)]
    save_image(torch.cat([r.cpu() for r in rows]), path, nrow=columns, normalize=True, value_range=(-1, 1))
