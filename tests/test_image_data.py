"""Image loading on small files written in torchvision's real on-disk formats, and the missing-data error."""

import pytest
import torch
from image_files import cifar_like, mnist_like

from gan_experiments.cli import main
from gan_experiments.data.images import DataNotFoundError, load_image_data


@pytest.mark.parametrize("name, folder", [("mnist", "MNIST"), ("fashion_mnist", "FashionMNIST")])
def test_mnist_family_idx_files_load_scaled_to_plus_minus_one(tmp_path, name, folder):
    images, labels = mnist_like(tmp_path, folder)
    loaded, loaded_labels = load_image_data(name, tmp_path)
    assert loaded.shape == (12, 1, 28, 28) and torch.equal(loaded_labels, labels)
    torch.testing.assert_close(loaded[:, 0], images.float() / 127.5 - 1.0)


def test_cifar10_pickle_batches_load_without_the_official_md5(tmp_path):
    batches = cifar_like(tmp_path)
    images, labels = load_image_data("cifar10", tmp_path)
    assert images.shape == (20, 3, 32, 32) and labels.tolist() == [0, 1, 2, 3] * 5
    first = batches["data_batch_1"][0].reshape(3, 32, 32).float() / 127.5 - 1.0  # channel-first rows, as stored
    torch.testing.assert_close(images[0], first)
    test_images, _ = load_image_data("cifar10", tmp_path, train=False)
    torch.testing.assert_close(test_images[3], batches["test_batch"][3].reshape(3, 32, 32).float() / 127.5 - 1.0)


def test_missing_data_names_the_set_the_folder_and_the_command(tmp_path, capsys):
    with pytest.raises(DataNotFoundError, match=r"Fashion-MNIST not found in .*FashionMNIST/raw.*--download"):
        load_image_data("fashion_mnist", tmp_path)
    out = tmp_path / "run"
    assert main(["run", "icr_fig4_mnist", "--data-root", str(tmp_path / "nowhere"), "--out", str(out)]) == 2
    error = capsys.readouterr().err
    assert "MNIST not found in" in error and "nowhere" in error and "--download" in error and not out.exists()


def test_an_explicit_data_root_wins_over_the_bundled_subset(tmp_path):
    from gan_experiments.config import resolve_config
    from gan_experiments.data import ImageSource

    def training_images(config):
        return ImageSource.from_config(config).train[0]

    _images, _ = mnist_like(tmp_path, "MNIST", n=7)
    config, _ = resolve_config("icr_fig4_mnist", [f'data.root="{tmp_path}"'])
    assert training_images(config).shape == (7, 1, 28, 28)
    assert training_images(resolve_config("icr_fig4_mnist", [])[0]).shape == (4000, 1, 28, 28)
