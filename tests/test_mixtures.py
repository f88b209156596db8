"""2D benchmark data and the mode-coverage metrics on hand-made sample sets."""

import math

import pytest
import torch

from gan_experiments.data import circle, grid, ring, swiss_roll
from gan_experiments.metrics import generator_mode_histograms, mode_statistics


def test_ring_grid_and_circle_centres():
    centres = ring().centres
    assert centres.shape == (8, 2)
    torch.testing.assert_close(centres.norm(dim=1), torch.ones(8))
    assert torch.cdist(centres, centres).add(torch.eye(8) * 10).min() > 0.76  # 2 sin(pi / 8) apart
    assert grid().centres.shape == (25, 2) and set(grid().centres[:, 0].tolist()) == {-4.0, -2.0, 0.0, 2.0, 4.0}
    assert circle().modes == 10 and circle().std == 0.01


def test_samples_have_the_mixture_spread():
    mixture = ring()
    samples = mixture.sample(20_000, torch.Generator().manual_seed(0))
    stats = mode_statistics(samples, mixture.centres, mixture.std)
    # within 3 std of a 2D Gaussian: 1 - exp(-9/2) = 98.9 % of the mass
    assert stats["percent_high_quality"] == pytest.approx(100 * (1 - math.exp(-4.5)), abs=0.3)
    assert stats["modes_covered"] == 8 and stats["kl_to_uniform"] < 1e-3


def test_swiss_roll_is_scikit_learns_scaled():
    from sklearn.datasets import make_swiss_roll

    points, _ = make_swiss_roll(n_samples=100, noise=0.25, random_state=3)
    torch.testing.assert_close(swiss_roll(100, seed=3), torch.from_numpy(points[:, [0, 2]] / 7.5).float())


def hand_made(counts, centres, off_mode=0):
    rows = [centres[k].repeat(c, 1) for k, c in enumerate(counts)]
    rows.append(torch.full((off_mode, 2), 10.0))
    return torch.cat(rows)


def test_all_modes_covered_uniformly():
    centres = ring().centres
    stats = mode_statistics(hand_made([10] * 8, centres), centres, 0.01)
    assert stats["modes_covered"] == stats["modes_covered_strict"] == 8
    assert stats["percent_high_quality"] == 100.0 and stats["kl_to_uniform"] == pytest.approx(0.0, abs=1e-12)


def test_one_mode_dropped_and_a_thin_mode():
    centres = ring().centres
    # 7 modes with 20 samples, one with 1 sample, 20 samples off-mode: n = 161
    stats = mode_statistics(hand_made([20] * 6 + [1, 0], centres, off_mode=20), centres, 0.01)
    assert stats["modes_covered"] == 7  # threshold 1 sample
    assert stats["modes_covered_strict"] == 6  # 2 % of 141 samples = 2.8
    assert stats["percent_high_quality"] == pytest.approx(100 * 121 / 141)
    p = torch.tensor([20.0] * 6 + [1.0]) / 121
    assert stats["kl_to_uniform"] == pytest.approx(math.log(8) + float((p * p.log()).sum()))


def test_all_samples_off_mode_give_no_kl():
    centres = grid().centres
    stats = mode_statistics(torch.full((50, 2), 1.0), centres, 0.05)  # halfway between modes
    assert stats["modes_covered"] == 0 and stats["percent_high_quality"] == 0.0 and stats["kl_to_uniform"] is None


def test_per_generator_histograms():
    centres = ring().centres
    histograms = generator_mode_histograms(
        [hand_made([5, 0, 0, 0, 0, 0, 0, 0], centres), hand_made([0, 0, 3, 3, 0, 0, 0, 0], centres)], centres, 0.01
    )
    assert histograms == [[5, 0, 0, 0, 0, 0, 0, 0], [0, 0, 3, 3, 0, 0, 0, 0]]
    with pytest.raises(ValueError, match="samples must be"):
        mode_statistics(torch.zeros(3, 3), centres, 0.01)


def test_nearest_neighbour_distances_on_hand_made_clouds():
    from gan_experiments.metrics import nearest_neighbour_distances

    real = torch.tensor([[0.0, 0.0], [10.0, 0.0]])
    collapsed = torch.tensor([[0.0, 0.0], [0.0, 1.0]])  # both near the first real point
    d = nearest_neighbour_distances(collapsed, real)
    assert d["mean_distance_to_real"] == pytest.approx(0.5)  # (0 + 1) / 2
    assert d["mean_distance_to_generated"] == pytest.approx(5.0)  # (0 + 10) / 2: the dropped point shows
    same = nearest_neighbour_distances(real, real)
    assert same == {"mean_distance_to_real": 0.0, "mean_distance_to_generated": 0.0}
    with pytest.raises(ValueError, match="point clouds"):
        nearest_neighbour_distances(torch.zeros(3, 3), real)
