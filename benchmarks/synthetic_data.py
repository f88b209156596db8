"""Image files of random pixels in the exact on-disk formats torchvision reads, for runs and tests
that need a data set's shape but may not download it: CIFAR-10's pickled batches."""

from __future__ import annotations

import pickle
from pathlib import Path

import torch


def write_cifar10(root: str | Path, per_batch: int = 4, seed: int = 0) -> dict[str, torch.Tensor]:
    """CIFAR-10's five training batches, its test batch and ``batches.meta`` under
    ``root/cifar-10-batches-py`` (what ``torchvision.datasets.CIFAR10(root)`` reads): ``per_batch``
    random 32 x 32 RGB images each, labels 0..9 repeating. Returns the pixel rows of each batch."""
    folder = Path(root) / "cifar-10-batches-py"
    folder.mkdir(parents=True)
    generator = torch.Generator().manual_seed(seed)
    batches = {}
    for name in [f"data_batch_{i}" for i in range(1, 6)] + ["test_batch"]:
        data = torch.randint(0, 256, (per_batch, 3 * 32 * 32), generator=generator, dtype=torch.uint8)
        batches[name] = data
        with open(folder / name, "wb") as handle:
            pickle.dump({"data": data.numpy(), "labels": [i % 10 for i in range(per_batch)]}, handle)
    with open(folder / "batches.meta", "wb") as handle:
        pickle.dump({"label_names": [f"class{i}" for i in range(10)]}, handle)
    return batches
