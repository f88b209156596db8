"""A small digit classifier trained on the data set itself, cached on disk, for the classifier
scores of metrics/classifier.py (the SGAN paper's MNIST metrics, Chavdarova & Fleuret 2018, Sec. 4;
facebookresearch/GAN-optimization-landscape, ``gan_eval_metrics.py``, and TF-GAN's ``mnist_score``
do the same with a small LeNet).

The cache key is a hash of the training and held-out images and labels and of this module's
architecture version, so a different data set or split never reuses a stale network; the
held-out accuracy is stored beside the weights (``<name>-<key>.json``). The cache folder is
``$GAN_EXPERIMENTS_CACHE`` or ``~/.cache/gan_experiments``.
"""

from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path

import torch
from torch import Tensor, nn

ARCHITECTURE_VERSION = 1


class DigitClassifier(nn.Module):
    """Conv 3x3 32, ReLU, max-pool 2 -> Conv 3x3 64, ReLU, max-pool 2 -> Linear 128 (the features
    of the Frechet distance), ReLU -> Linear 10; input ``channels`` x ``size`` x ``size`` in [-1, 1]
    (1 x 28 x 28 for the MNIST family; CIFAR-10's 3 x 32 x 32 gets the same small network, whose
    lower held-out accuracy is recorded beside it)."""

    def __init__(self, classes: int = 10, channels: int = 1, size: int = 28) -> None:
        super().__init__()
        side = ((size - 2) // 2 - 2) // 2
        self.body = nn.Sequential(
            nn.Conv2d(channels, 32, 3),
            nn.ReLU(),
            nn.MaxPool2d(2),
            nn.Conv2d(32, 64, 3),
            nn.ReLU(),
            nn.MaxPool2d(2),
            nn.Flatten(),
            nn.Linear(64 * side * side, 128),
        )
        self.head = nn.Sequential(nn.ReLU(), nn.Dropout(0.25), nn.Linear(128, classes))

    def features(self, images: Tensor) -> Tensor:
        return self.body(images)

    def forward(self, images: Tensor) -> Tensor:
        return self.head(self.body(images))


def train_classifier(
    images: Tensor, labels: Tensor, *, epochs: int = 6, batch_size: int = 64, seed: int = 0
) -> DigitClassifier:
    """Adam (1e-3) on cross-entropy, with random shifts of up to 2 pixels as augmentation."""
    generator = torch.Generator().manual_seed(seed)
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        model = DigitClassifier(int(labels.max()) + 1, images.shape[1], images.shape[-1])
        optimizer = torch.optim.Adam(model.parameters(), lr=1e-3)
        model.train()
        for _ in range(epochs):
            order = torch.randperm(images.shape[0], generator=generator)
            for start in range(0, images.shape[0], batch_size):
                index = order[start : start + batch_size]
                shifts = torch.randint(-2, 3, (2,), generator=generator).tolist()
                batch = torch.roll(images[index], shifts=shifts, dims=(2, 3))
                loss = nn.functional.cross_entropy(model(batch), labels[index])
                optimizer.zero_grad()
                loss.backward()
                optimizer.step()
    return model.eval()


@torch.no_grad()
def predict(model: DigitClassifier, images: Tensor, batch_size: int = 500) -> tuple[Tensor, Tensor]:
    """(class probabilities (n, K), penultimate features (n, 128))."""
    model.eval()
    probabilities, features = [], []
    for start in range(0, images.shape[0], batch_size):
        batch = images[start : start + batch_size]
        feature = model.features(batch)
        features.append(feature)
        probabilities.append(torch.softmax(model.head(feature), dim=1))
    return torch.cat(probabilities), torch.cat(features)


def data_key(*tensors: Tensor) -> str:
    """A hash of the tensors' bytes and the architecture version."""
    digest = hashlib.sha256(f"v{ARCHITECTURE_VERSION}".encode())
    for tensor in tensors:
        digest.update(tensor.detach().cpu().contiguous().numpy().tobytes())
    return digest.hexdigest()[:16]


def default_cache_dir() -> Path:
    return Path(os.environ.get("GAN_EXPERIMENTS_CACHE", Path.home() / ".cache" / "gan_experiments"))


def cached_classifier(
    name: str, train: tuple[Tensor, Tensor], test: tuple[Tensor, Tensor], *, cache_dir: str | Path | None = None
) -> tuple[DigitClassifier, float]:
    """The classifier of data set ``name`` and its held-out accuracy, trained on first use."""
    folder = Path(cache_dir) if cache_dir is not None else default_cache_dir()
    key = data_key(*train, *test)
    weights, record = folder / f"{name}-{key}.pt", folder / f"{name}-{key}.json"
    model = DigitClassifier(int(train[1].max()) + 1, train[0].shape[1], train[0].shape[-1])
    if weights.exists() and record.exists():
        model.load_state_dict(torch.load(weights, weights_only=True))
        return model.eval(), float(json.loads(record.read_text())["held_out_accuracy"])
    model = train_classifier(*train)
    probabilities, _ = predict(model, test[0])
    accuracy = float((probabilities.argmax(dim=1) == test[1]).double().mean())
    folder.mkdir(parents=True, exist_ok=True)
    partial = weights.with_suffix(".partial")
    torch.save(model.state_dict(), partial)
    os.replace(partial, weights)
    record.write_text(
        json.dumps(
            {
                "data_set": name,
                "key": key,
                "held_out_accuracy": accuracy,
                "train_images": int(train[0].shape[0]),
                "test_images": int(test[0].shape[0]),
            }
        )
    )
    return model, accuracy
