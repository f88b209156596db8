"""The benchmark's pre-check: cgd_optim.ACGD and the ICR authors' cgds produce the same iterates.

float64, tol 1e-10 (cgds's squared tolerance 1e-20), on a small MLP GAN. They differ only in
where eps enters the step size (Algorithm 1: lr / (sqrt(v_hat) + eps); cgds:
sqrt(1 - beta^t) lr / (sqrt(v) + eps)), an effect of relative size ~eps / |g|.
"""

import pytest
from dependencies import required

required("CGDs")

from benchmarks.acgd_vs_cgds import equal_iterates


@pytest.mark.parametrize("eps, bound", [(1e-14, 1e-4), (1e-20, 1e-9)])
def test_same_iterates_as_cgds_over_three_steps(eps, bound):
    check = equal_iterates("mlp_gan", eps=eps, hidden=32, batch_size=64)
    assert check["max_relative_difference"] < bound
    assert all(ours == theirs for ours, theirs in check["cg_iterations_ours_cgds"][:1])


def test_device_reads_on_the_bilinear_game_stay_under_ten():
    from benchmarks.acgd_vs_cgds import device_reads_bilinear

    reads = device_reads_bilinear(steps=2)
    ours = reads["cgd_optim.ACGD"]
    assert ours["cg_iterations"] == [30, 30] and max(ours["reads_per_step"]) <= 10
    assert min(reads["cgds.ACGD"]["reads_per_step"]) > 30  # its CG tests the residual every iteration


def test_the_bootstrap_interval_of_a_ratio_of_medians():
    """Constant samples leave nothing to resample: the interval is the ratio itself. Otherwise it
    holds the point estimate and narrows as the samples grow."""
    from benchmarks.measure import median, ratio_of_medians_interval

    assert ratio_of_medians_interval([3.0] * 10, [2.0] * 10) == (1.5, 1.5)
    a = [1.0 + 0.1 * ((7 * i) % 10) for i in range(10)]
    b = [2.0 + 0.2 * ((3 * i) % 10) for i in range(10)]
    low, high = ratio_of_medians_interval(a, b)
    assert low <= median(a) / median(b) <= high and low < high
    wide = high - low
    low, high = ratio_of_medians_interval(a * 10, b * 10)
    assert low <= median(a) / median(b) <= high and high - low < wide
