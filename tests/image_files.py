"""Small image data sets written in the exact on-disk formats torchvision reads: MNIST and
Fashion-MNIST IDX files, CIFAR-10 pickle batches (benchmarks/synthetic_data.py, which the GPU
check uses too)."""

import struct

import torch

from benchmarks.synthetic_data import write_cifar10


def write_idx(folder, prefix: str, images: torch.Tensor, labels: torch.Tensor) -> None:
    """MNIST's IDX files: big-endian magic 2051 / 2049, counts and sizes, then unsigned bytes."""
    folder.mkdir(parents=True, exist_ok=True)
    n, rows, cols = images.shape
    (folder / f"{prefix}-images-idx3-ubyte").write_bytes(
        struct.pack(">IIII", 2051, n, rows, cols) + images.to(torch.uint8).numpy().tobytes()
    )
    (folder / f"{prefix}-labels-idx1-ubyte").write_bytes(
        struct.pack(">II", 2049, n) + labels.to(torch.uint8).numpy().tobytes()
    )


def mnist_like(root, folder: str, n: int = 12):
    """``n`` random 28x28 images with labels 0..9 repeating, as ``root/folder/raw`` train and t10k files."""
    generator = torch.Generator().manual_seed(0)
    images = torch.randint(0, 256, (n, 28, 28), generator=generator)
    labels = torch.arange(n) % 10
    for prefix in ("train", "t10k"):
        write_idx(root / folder / "raw", prefix, images, labels)
    return images, labels


def cifar_like(root, per_batch: int = 4) -> dict:
    """CIFAR-10's five training batches, test batch and meta file (``per_batch`` images each,
    labels 0..9 repeating), as ``root/cifar-10-batches-py``; returns the pixel rows per batch."""
    return write_cifar10(root, per_batch)
