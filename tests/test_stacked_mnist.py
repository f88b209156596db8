"""Stacked MNIST: construction from single digits, its 1,000 modes, and its mode scores."""

import math

import pytest
import torch

from gan_experiments.data.stacked import stacked_mnist, stacked_mode
from gan_experiments.metrics.classifier import stacked_mode_scores


def digits():
    """Ten hand-made 'digits': image k is filled with the value k / 10, labelled k."""
    images = (torch.arange(10, dtype=torch.float32) / 10).reshape(10, 1, 1, 1).expand(10, 1, 4, 4).clone()
    return images, torch.arange(10)


def test_each_channel_is_one_source_digit_and_the_mode_is_its_triple():
    images, labels = digits()
    stacked, modes = stacked_mnist(images, labels, 500, torch.Generator().manual_seed(0))
    assert stacked.shape == (500, 3, 4, 4)
    channel_labels = (stacked[:, :, 0, 0] * 10).round().long()  # read each channel's digit back
    assert (stacked == stacked[:, :, :1, :1]).all()  # a whole digit per channel
    assert torch.equal(modes, stacked_mode(channel_labels))
    assert torch.equal(stacked_mode(torch.tensor([[1, 2, 3], [9, 9, 9], [0, 0, 7]])), torch.tensor([123, 999, 7]))


def test_stacked_mnist_has_1000_modes_all_reachable():
    images, labels = digits()
    _, modes = stacked_mnist(images, labels, 20000, torch.Generator().manual_seed(1))
    assert modes.min() >= 0 and modes.max() <= 999
    assert stacked_mode_scores(modes)["modes_covered"] == 1000  # 20,000 draws leave no triple out (P < 1e-5)
    assert stacked_mode_scores(modes)["kl_to_uniform"] < 0.05


def test_stacked_mode_scores_on_hand_made_histograms():
    uniform = stacked_mode_scores(torch.arange(1000).repeat(3))
    assert uniform == {"modes_covered": 1000, "kl_to_uniform": pytest.approx(0.0, abs=1e-12)}
    collapsed = stacked_mode_scores(torch.full((100,), 42))
    assert collapsed["modes_covered"] == 1 and collapsed["kl_to_uniform"] == pytest.approx(math.log(1000))
    half = stacked_mode_scores(torch.arange(500))
    assert half["modes_covered"] == 500 and half["kl_to_uniform"] == pytest.approx(math.log(2))


def test_stacked_mnist_rejects_colour_input():
    with pytest.raises(ValueError, match="single-channel"):
        stacked_mnist(torch.zeros(5, 3, 4, 4), torch.zeros(5, dtype=torch.long), 2)


def test_real_held_out_stacks_score_close_to_1000_modes_through_the_mnist_classifier():
    """The ceiling every Stacked MNIST run reports: 5,000 real stacks of held-out digits cover
    nearly all 1,000 modes (a uniform draw covers 1000 (1 - e^-5) = 993 on average) and their KL
    to uniform is small, so a run's lower numbers are the generator's, not the classifier's."""
    from gan_experiments.config import resolve_config
    from gan_experiments.data import data_source

    config, _ = resolve_config("stackelberg_stackedmnist", ["run.samples=5000"])
    source = data_source(config.data.name).from_config(config)
    classifier, _ = source.classifier()
    scores, features = source.features(classifier, source.real_images(5000, train=False, seed=0))
    assert scores["modes_covered"] >= 950 and scores["kl_to_uniform"] < 0.35
    assert features.shape == (5000, 3 * 128)  # each channel's classifier features side by side
