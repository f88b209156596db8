"""The image data sources (registry entries ``mnist``, ``fashion_mnist``, ``cifar10``,
``stacked_mnist``): their sampler, metrics and sample grid.

Every evaluation scores ``run.samples`` generated images through the project's own classifier
of the data set (metrics/digit_classifier.py; Stacked MNIST: the MNIST classifier, channel by
channel) and puts the same scores of as many real held-out images beside them (prefix
``real_``): the ceiling each number has to be read against. Where the model has parts (a
Stackelberg GAN's generators) it adds each generator's class histogram and classes covered;
where its parts are local pairs (SGAN) the scores of each local generator (lists ``local_*s``)
and their mean (``local_*``) beside the model's (SGAN paper Fig. 5; without the global pair the
unprefixed scores are the local ensemble's, as for 2D data). FID and the ImageNet Inception Score
come at the end of a run only (metrics/inception.py). The classifier (trained on first use,
cached on disk) and the real reference are computed once per run, on first use.
"""

from __future__ import annotations

import sys
from functools import lru_cache
from pathlib import Path

import torch
from torch import Tensor

from ..errors import ConfigError
from ..metrics.classifier import class_scores, frechet_feature_distance, stacked_mode_scores
from ..metrics.digit_classifier import cached_classifier, default_cache_dir, predict
from ..metrics.inception import inception_metrics, skip_reasons
from ..models.evaluation import evaluation_mode
from ..models.image_networks import IMAGE_NETWORKS, check_icr_options, check_shape
from .images import IMAGE_SHAPES, dataset_images, image_sampler
from .stacked import stacked_mnist, stacked_mode, stacked_sampler

CLASSIFIER_FOLDER = "gan_experiments_classifiers"  # under the data root; the user cache for the bundled subset


@lru_cache(maxsize=4)
def _classifier(source: str, root: str, folder: str):
    train = dataset_images(source, root, train=True)
    test = dataset_images(source, root, train=False)
    return cached_classifier(source if root else f"{source}-bundled", train, test, cache_dir=folder)


class ImageSource:
    """MNIST, Fashion-MNIST or CIFAR-10 from ``data.root`` (MNIST: the bundled subset without one)."""

    images = True
    mode_count = None
    equilibrium_samples = 16
    classifier_source = None  # the data set the classifier learns (default: this one)

    def __init__(self, data, *, samples: int, seed: int, metrics, device: str) -> None:
        self.data, self.samples, self.seed, self.metrics, self.device = data, samples, seed, metrics, device
        self.name = data.name
        self.train = self.image_data(train=True)  # missing files fail here, before the run folder exists
        self._draw = self.sampler(*self.train)
        self._classifier, self._reference = None, None

    @classmethod
    def from_config(cls, config) -> ImageSource:
        return cls(
            config.data,
            samples=config.run.samples,
            seed=config.run.seed,
            metrics=config.metrics,
            device=config.run.device,
        )

    @staticmethod
    def validate(config) -> None:
        """``model.network`` names an image network that fits this data set's images."""
        name, network = config.data.name, config.model.network
        if network not in IMAGE_NETWORKS:
            raise ConfigError(
                f"model.network = {network!r}: image data ({name}) needs one of {', '.join(IMAGE_NETWORKS)}"
            )
        try:
            check_shape(network, IMAGE_SHAPES[name])
            check_icr_options(network, config.model.leaky_relu_slope, config.model.conv_init_std)
        except ValueError as error:
            raise ConfigError(f"model.network: {error}") from None

    @staticmethod
    def dry_run_overrides(config) -> list[str]:
        return [
            f"run.batch_size={min(config.run.batch_size, 8)}",
            f"run.samples={min(config.run.samples, 200)}",
            f"metrics.inception_samples={min(config.metrics.inception_samples, 64)}",
        ]

    def image_data(self, *, train: bool) -> tuple[Tensor, Tensor]:
        """(images, labels) of the training (or held-out) part from ``data.root`` when given, else
        MNIST's bundled 5,000-digit subset (4,000 / 1,000); DataNotFoundError names the fix."""
        d = self.data
        return dataset_images(d.name, d.root, train=train, download=d.download and train)

    def sample(self, n: int, generator: torch.Generator | None = None) -> Tensor:
        """``n`` training images drawn with replacement."""
        return self._draw(n, generator)

    @staticmethod
    def sampler(images: Tensor, labels: Tensor):
        return image_sampler(images)

    @property
    def image_shape(self) -> tuple[int, int, int]:
        """(channels, height, width) of this data set's images: the image networks are sized to it."""
        return IMAGE_SHAPES[self.name]

    def classifier(self):
        """(classifier, held-out accuracy) of the data set (Stacked MNIST: MNIST), trained on first
        use and cached under the data root (or the user cache for the bundled subset)."""
        if self._classifier is None:
            root = self.data.root
            folder = Path(root) / CLASSIFIER_FOLDER if root else default_cache_dir()
            self._classifier = _classifier(self.classifier_source or self.name, root, str(folder))
        return self._classifier

    def features(self, classifier, images: Tensor) -> tuple[dict, Tensor]:
        """(classifier scores, penultimate features) of ``images``."""
        probabilities, features = predict(classifier, images)
        return class_scores(probabilities), features

    def scores(self, classifier, images: Tensor, reference_features: Tensor) -> dict:
        """The classifier scores of ``images`` and their Frechet distance to the reference features."""
        row, features = self.features(classifier, images)
        row["frechet_classifier_distance"] = frechet_feature_distance(features, reference_features)
        return row

    def real_images(self, n: int, *, train: bool, seed: int) -> Tensor:
        """``n`` real images (drawn with replacement) of the training or held-out part."""
        images, _labels = self.image_data(train=train)
        return images[torch.randint(0, images.shape[0], (n,), generator=torch.Generator().manual_seed(seed))]

    def real_reference(self, classifier) -> tuple[Tensor, dict]:
        """(features of ``run.samples`` real training images, the real held-out images' scores
        against them), computed once per run: they do not change during it."""
        if self._reference is None:
            n = self.samples
            reference = self.features(classifier, self.real_images(n, train=True, seed=self.seed + 4))[1]
            held_out = self.real_images(n, train=False, seed=self.seed + 5)
            self._reference = reference, self.scores(classifier, held_out, reference)
        return self._reference

    def evaluate(self, players, step: int) -> dict:
        """The classifier scores of the model's images with the real held-out images' beside them."""
        classifier, accuracy = self.classifier()
        reference, real_row = self.real_reference(classifier)
        generator = torch.Generator().manual_seed(self.seed + 2)
        with evaluation_mode(players):
            model = players.model_samples(self.samples, generator)  # None: the local ensemble (G0 not sampled)
            parts = players.samples_of_each_generator(self.samples, generator)
        row = {"step": step, **self.scores(classifier, torch.cat(parts) if model is None else model, reference)}
        row.update({f"real_{k}": v for k, v in real_row.items()})
        row["classifier_accuracy"] = accuracy
        if parts is not None:
            row.update(
                self.local_scores(classifier, parts, reference)
                if players.parts_are_local_pairs
                else self.generator_classes(classifier, parts)
            )
        return row

    def generator_classes(self, classifier, parts: list[Tensor]) -> dict:
        """Each generator's predicted-class counts and classes covered."""
        counts = [torch.bincount(predict(classifier, s)[0].argmax(dim=1), minlength=10) for s in parts]
        return {
            "generator_classes": [c.tolist() for c in counts],
            "generator_classes_covered": [int((c > 0).sum()) for c in counts],
        }

    def local_scores(self, classifier, parts: list[Tensor], reference: Tensor) -> dict:
        """Each local generator's scores (``local_*s``) and their mean (``local_*``)."""
        local = [self.scores(classifier, s, reference) for s in parts]
        row = {}
        for key in local[0]:
            row[f"local_{key}s"] = [scores[key] for scores in local]
            row[f"local_{key}"] = sum(scores[key] for scores in local) / len(local)
        return row

    def final_metrics(self, players) -> dict:
        """FID and the ImageNet Inception Score of ``metrics.inception_samples`` images against as many
        real training images, or ``skipped`` with the reason for each (also printed)."""
        weights, n = self.metrics.inception_weights, self.metrics.inception_samples
        metrics, skipped = {}, skip_reasons(weights)
        if skipped is None:
            with evaluation_mode(players):  # in chunks: a generator's activations for 50,000 images are large
                generated = torch.cat(
                    [
                        players.sample(min(500, n - i), torch.Generator().manual_seed(self.seed + 6 + i)).cpu()
                        for i in range(0, n, 500)
                    ]
                )
            real = self.real_images(n, train=True, seed=self.seed + 7)
            metrics, skipped = inception_metrics(
                generated, real, weights, cuda=torch.device(self.device).type == "cuda"
            )
        for name, reason in skipped.items():
            print(f"{name} skipped: {reason}", file=sys.stderr)
        return {**metrics, "skipped": skipped} if skipped else metrics

    @torch.no_grad()
    def save_picture(self, players, path, title: str = "", *, columns: int = 10) -> None:
        """samples.png: a grid of generated images, the players' rows (one per generator where
        they have several)."""
        from torchvision.utils import save_image

        generator = torch.Generator().manual_seed(self.seed + 3)
        with evaluation_mode(players):
            rows = players.image_rows(columns, generator)
        save_image(torch.cat([r.cpu() for r in rows]), path, nrow=columns, normalize=True, value_range=(-1, 1))

    @staticmethod
    def show_samples(axes, before: Tensor, after: Tensor) -> None:
        """Images before (first rows) and after, as one grid."""
        from torchvision.utils import make_grid

        grid = make_grid(torch.cat([before, after]), nrow=8, normalize=True, value_range=(-1, 1))
        axes.imshow(grid.permute(1, 2, 0).numpy())
        axes.axis("off")


class StackedMNISTSource(ImageSource):
    """Stacked MNIST (1,000 modes) built from MNIST: the MNIST classifier channel by channel."""

    classifier_source = "mnist"

    @staticmethod
    def sampler(images: Tensor, labels: Tensor):
        return stacked_sampler(images, labels)

    def features(self, classifier, images: Tensor) -> tuple[dict, Tensor]:
        """Mode scores of the digit triples, and the three channels' features side by side."""
        outputs = [predict(classifier, images[:, c : c + 1]) for c in range(3)]
        labels = torch.stack([p.argmax(dim=1) for p, _ in outputs], dim=1)
        return stacked_mode_scores(stacked_mode(labels)), torch.cat([f for _, f in outputs], dim=1)

    def real_images(self, n: int, *, train: bool, seed: int) -> Tensor:
        images, labels = self.image_data(train=train)
        return stacked_mnist(images, labels, n, torch.Generator().manual_seed(seed))[0]

    def generator_classes(self, classifier, parts: list[Tensor]) -> dict:
        """None: a class of one channel says little of a triple."""
        return {}
