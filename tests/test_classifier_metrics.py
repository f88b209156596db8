"""Classifier scores on hand-made label distributions and the Frechet distance's closed form."""

import math

import pytest
import torch
from hypothesis import given
from hypothesis import strategies as st

from gan_experiments.metrics.classifier import (
    class_histogram,
    class_scores,
    classes_covered,
    frechet_distance,
    frechet_feature_distance,
    histogram_entropy,
    inception_score,
    total_variation_to_uniform,
)


def test_uniform_predictions_have_entropy_log10_and_no_total_variation():
    histogram = class_histogram(torch.arange(1000) % 10, 10)
    assert histogram_entropy(histogram) == pytest.approx(math.log(10))
    assert total_variation_to_uniform(histogram) == pytest.approx(0.0, abs=1e-12)
    assert classes_covered(histogram) == 10


def test_a_single_class_has_entropy_0_and_total_variation_0_9():
    histogram = class_histogram(torch.full((500,), 3), 10)
    assert histogram_entropy(histogram) == 0.0
    assert total_variation_to_uniform(histogram) == pytest.approx(0.9)
    assert classes_covered(histogram) == 1


def test_inception_score_between_its_bounds():
    confident = torch.eye(10).repeat(50, 1)  # one-hot, every class equally often: IS = K
    assert inception_score(confident) == pytest.approx(10.0)
    assert inception_score(torch.full((100, 10), 0.1)) == pytest.approx(1.0)  # uninformative: IS = 1
    assert inception_score(torch.eye(10)[[2] * 100]) == pytest.approx(1.0)  # confident, one class: IS = 1
    scores = class_scores(confident)
    assert scores["classes_covered"] == 10 and scores["class_entropy"] == pytest.approx(math.log(10))


@given(
    st.lists(st.floats(-3.0, 3.0), min_size=3, max_size=3),
    st.lists(st.floats(0.1, 4.0), min_size=3, max_size=3),
    st.lists(st.floats(-3.0, 3.0), min_size=3, max_size=3),
    st.lists(st.floats(0.1, 4.0), min_size=3, max_size=3),
)
def test_frechet_distance_of_diagonal_gaussians_is_the_closed_form(m1, v1, m2, v2):
    """Diagonal covariances commute: FD = |m1 - m2|^2 + sum (sqrt(v1) - sqrt(v2))^2."""
    m1, v1, m2, v2 = (torch.tensor(x, dtype=torch.float64) for x in (m1, v1, m2, v2))
    expected = float((m1 - m2).pow(2).sum() + (v1.sqrt() - v2.sqrt()).pow(2).sum())
    assert frechet_distance(m1, torch.diag(v1), m2, torch.diag(v2)) == pytest.approx(expected, rel=1e-9, abs=1e-9)


def test_frechet_distance_is_invariant_to_a_common_rotation_and_zero_for_equal_gaussians():
    torch.manual_seed(0)
    a = torch.randn(5, 5, dtype=torch.float64)
    cov1, cov2 = a @ a.T + torch.eye(5, dtype=torch.float64), torch.diag(torch.arange(1.0, 6.0, dtype=torch.float64))
    mean1, mean2 = torch.randn(5, dtype=torch.float64), torch.randn(5, dtype=torch.float64)
    rotation, _ = torch.linalg.qr(torch.randn(5, 5, dtype=torch.float64))
    rotated = frechet_distance(
        rotation @ mean1, rotation @ cov1 @ rotation.T, rotation @ mean2, rotation @ cov2 @ rotation.T
    )
    assert rotated == pytest.approx(frechet_distance(mean1, cov1, mean2, cov2), rel=1e-9)
    assert frechet_distance(mean1, cov1, mean1, cov1) == pytest.approx(0.0, abs=1e-9)
    samples = torch.randn(20000, 2, dtype=torch.float64)
    assert frechet_feature_distance(samples, samples + torch.tensor([3.0, 4.0], dtype=torch.float64)) == pytest.approx(
        25.0
    )
