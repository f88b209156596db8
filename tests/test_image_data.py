"""Image loading on small files written in torchvision's real on-disk formats, and the missing-data error."""

import pickle
import struct

import pytest
import torch

from gan_experiments.cli import main
from gan_experiments.data.images import DataNotFoundError, load_image_data


def write_idx(folder, prefix: str, images: torch.Tensor, labels: torch.Tensor) -> None:
    """MNIST's IDX files: big-endian magic 2051 / 2049, counts and sizes, then unsigned bytes."""
    folder.mkdir(parents=True, exist_ok=True)
    n, rows, cols = images.shape
    (folder / f"{prefix}-images-idx3-ubyte").write_bytes(struct.pack(">IIII", 2051, n, rows, cols)
                                                         + images.to(torch.uint8).numpy().tobytes())
    (folder / f"{prefix}-labels-idx1-ubyte").write_bytes(struct.pack(">II", 2049, n)
                                                         + labels.to(torch.uint8).numpy().tobytes())


def mnist_like(root, folder: str, n: int = 12):
    generator = torch.Generator().manual_seed(0)
    images = torch.randint(0, 256, (n, 28, 28), generator=generator)
    labels = torch.arange(n) % 10
    for prefix in ("train", "t10k"):
        write_idx(root / folder / "raw", prefix, images, labels)
    return images, labels


@pytest.mark.parametrize("name, folder", [("mnist", "MNIST"), ("fashion_mnist", "FashionMNIST")])
def test_mnist_family_idx_files_load_scaled_to_plus_minus_one(tmp_path, name, folder):
    images, labels = mnist_like(tmp_path, folder)
    loaded, loaded_labels = load_image_data(name, tmp_path)
    assert loaded.shape == (12, 1, 28, 28) and torch.equal(loaded_labels, labels)
    torch.testing.assert_close(loaded[:, 0], images.float() / 127.5 - 1.0)


def test_cifar10_pickle_batches_load_without_the_official_md5(tmp_path):
    folder = tmp_path / "cifar-10-batches-py"
    folder.mkdir()
    generator = torch.Generator().manual_seed(0)
    batches = {}
    for name in [f"data_batch_{i}" for i in range(1, 6)] + ["test_batch"]:
        data = torch.randint(0, 256, (4, 3 * 32 * 32), generator=generator, dtype=torch.uint8)
        batches[name] = data
        with open(folder / name, "wb") as handle:
            pickle.dump({"data": data.numpy(), "labels": [1, 2, 3, 4]}, handle)
    with open(folder / "batches.meta", "wb") as handle:
        pickle.dump({"label_names": [f"class{i}" for i in range(10)]}, handle)
    images, labels = load_image_data("cifar10", tmp_path)
    assert images.shape == (20, 3, 32, 32) and labels.tolist() == [1, 2, 3, 4] * 5
    first = batches["data_batch_1"][0].reshape(3, 32, 32).float() / 127.5 - 1.0  # channel-first rows, as stored
    torch.testing.assert_close(images[0], first)
    test_images, _ = load_image_data("cifar10", tmp_path, train=False)
    torch.testing.assert_close(test_images[3], batches["test_batch"][3].reshape(3, 32, 32).float() / 127.5 - 1.0)


def test_missing_data_names_the_set_the_folder_and_the_command(tmp_path, capsys):
    with pytest.raises(DataNotFoundError, match="Fashion-MNIST not found in .*FashionMNIST/raw.*--download"):
        load_image_data("fashion_mnist", tmp_path)
    out = tmp_path / "run"
    assert main(["run", "icr_fig4_mnist", "--data-root", str(tmp_path / "nowhere"), "--out", str(out)]) == 2
    error = capsys.readouterr().err
    assert "MNIST not found in" in error and "nowhere" in error and "--download" in error and not out.exists()


def test_an_explicit_data_root_wins_over_the_bundled_subset(tmp_path):
    from gan_experiments.cli import resolve_config
    from gan_experiments.build import training_images

    images, _ = mnist_like(tmp_path, "MNIST", n=7)
    config, _ = resolve_config("icr_fig4_mnist", [f'data.root="{tmp_path}"'])
    assert training_images(config).shape == (7, 1, 28, 28)
    assert training_images(resolve_config("icr_fig4_mnist", [])[0]).shape == (4000, 1, 28, 28)
