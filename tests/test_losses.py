"""GAN objectives and regularisers against their closed forms."""

import math

import pytest
import torch
from torch import nn

from gan_experiments.losses import (
    gradient_penalty,
    hinge_generator_loss,
    hinge_value,
    l2_penalty,
    nsgan_generator_loss,
    ogan_value,
    wgan_value,
)


def test_ogan_value_is_the_log_likelihood_of_the_classifier():
    real, fake = torch.tensor([0.0, 2.0]), torch.tensor([-1.0, 0.5])
    sigmoid = torch.sigmoid
    expected = sigmoid(real).log().mean() + (1 - sigmoid(fake)).log().mean()
    torch.testing.assert_close(ogan_value(real, fake), expected)
    # an undecided discriminator (logit 0) scores 2 log(1/2)
    assert ogan_value(torch.zeros(3), torch.zeros(3)).item() == pytest.approx(-2 * math.log(2))


def test_nsgan_and_hinge_and_wgan():
    fake = torch.tensor([-1.0, 3.0])
    torch.testing.assert_close(nsgan_generator_loss(fake), -torch.sigmoid(fake).log().mean())
    # hinge: real 2 (beyond the margin: 0) and 0.5 (-0.5); fake -2 (0) and 0 (-1)
    assert hinge_value(torch.tensor([2.0, 0.5]), torch.tensor([-2.0, 0.0])).item() == pytest.approx(-0.25 - 0.5)
    assert hinge_generator_loss(fake).item() == pytest.approx(-1.0)
    assert wgan_value(torch.tensor([1.0, 3.0]), fake).item() == pytest.approx(2.0 - 1.0)


@pytest.mark.parametrize("scale", [1.0, 3.0])
def test_gradient_penalty_of_a_linear_critic(scale):
    # D(x) = w'x has gradient w everywhere: the penalty is (|w| - 1)^2 whatever the interpolates
    critic = nn.Linear(2, 1, bias=False)
    with torch.no_grad():
        critic.weight.copy_(torch.tensor([[0.6, 0.8]]) * scale)
    penalty = gradient_penalty(
        critic, torch.randn(16, 2), torch.randn(16, 2), generator=torch.Generator().manual_seed(0)
    )
    assert penalty.item() == pytest.approx((scale - 1.0) ** 2, abs=1e-6)
    (grad,) = torch.autograd.grad(penalty, critic.weight)  # d/dw (|w| - 1)^2 = 2 (|w| - 1) w / |w|
    torch.testing.assert_close(grad, 2 * (scale - 1.0) * torch.tensor([[0.6, 0.8]]), atol=1e-5, rtol=1e-5)


def test_l2_penalty():
    assert l2_penalty([torch.tensor([3.0, 4.0]), torch.tensor(1.0)], 0.1).item() == pytest.approx(0.05 * 26)


def test_game_objective_averages_over_generators_and_pairs_general_sum_losses():
    from gan_experiments.losses import game_objective

    torch.manual_seed(0)
    critic = nn.Linear(2, 1)
    real, fakes = torch.randn(8, 2), [torch.randn(8, 2), torch.randn(8, 2)]
    D = nn.Sequential(critic, nn.Flatten(0))
    d = D.forward
    expected = (ogan_value(d(real), d(fakes[0])) + ogan_value(d(real), d(fakes[1]))) / 2
    torch.testing.assert_close(game_objective("ogan", D, real, fakes), expected)
    f_min, f_max = game_objective("nsgan", D, real, fakes)
    torch.testing.assert_close(f_min, (nsgan_generator_loss(d(fakes[0])) + nsgan_generator_loss(d(fakes[1]))) / 2)
    torch.testing.assert_close(f_max, expected)
    with_l2 = game_objective("wgan", D, real, fakes[:1], l2=0.1)
    torch.testing.assert_close(with_l2, wgan_value(d(real), d(fakes[0])) - l2_penalty(critic.parameters(), 0.1))
    g_value, critic_value = game_objective(
        "wgan-gp", D, real, fakes[:1], gp_weight=10.0, generator=torch.Generator().manual_seed(0)
    )
    gp = (critic.weight.norm() - 1) ** 2  # linear critic: the same at every interpolate
    torch.testing.assert_close(critic_value, g_value - 10.0 * gp)
    with pytest.raises(ValueError, match="unknown loss"):
        game_objective("lsgan", D, real, fakes)
