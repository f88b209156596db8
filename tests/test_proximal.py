"""ProximalMinimax (Farnia & Ozdaglar 2020, Algorithm 1) on problems with closed forms."""

import copy

import pytest
import torch
from torch import nn

from cgd_optim import ProximalMinimax
from cgd_optim.games import QuadraticGame
from cgd_optim.proximal import parameter_distance, sobolev_distance


class LinearCritic(nn.Module):
    """D_w(x) = w'x: grad_x D_w = w, so the Sobolev distance (15) equals ||w - w_k||^2."""

    def __init__(self, w):
        super().__init__()
        self.w = nn.Parameter(torch.tensor(w, dtype=torch.float64))

    def forward(self, x):
        return x @ self.w


# V(theta, w) = theta'w - 1/2 ||w||^2 (concave in w): A = 0, B = I, C = -I
CONCAVE_IN_W = QuadraticGame(torch.zeros(2, 2), torch.eye(2), -torch.eye(2), torch.zeros(2), torch.zeros(2))


def quadratic_game(theta, critic):
    """V(theta, w) of CONCAVE_IN_W at the critic's weights."""
    return CONCAVE_IN_W.value(theta, critic.w)


@pytest.mark.parametrize("penalty", ["parameter", "sobolev"])
@pytest.mark.parametrize("lam", [0.0, 0.1, 1.0])
def test_generator_gradient_is_grad_v_at_the_closed_form_proximal_solution(penalty, lam):
    # max_w w'theta - 1/2|w|^2 - lam |w - w_k|^2  =>  w* = (theta + 2 lam w_k) / (1 + 2 lam);
    # Proposition 4: grad_theta V_prox = grad_theta V(theta, w*) = w*.
    theta = torch.tensor([1.0, -2.0], dtype=torch.float64, requires_grad=True)
    critic = LinearCritic([0.5, 0.5])
    w_k = critic.w.detach().clone()
    prox = ProximalMinimax(
        critic,
        min_optimizer=torch.optim.SGD([theta], lr=0.0),  # lr 0: inspect the gradient only
        max_optimizer=torch.optim.SGD(critic.parameters(), lr=0.2),
        lam=lam,
        inner_steps=200,
        penalty=penalty,
    )
    prox.step(lambda: quadratic_game(theta, critic), torch.randn(8, 2, dtype=torch.float64))
    w_star = (theta.detach() + 2 * lam * w_k) / (1 + 2 * lam)
    torch.testing.assert_close(critic.w.detach(), w_star, rtol=1e-10, atol=1e-10)
    torch.testing.assert_close(theta.grad, w_star, rtol=1e-10, atol=1e-10)


def test_lam_zero_one_inner_step_is_alternating_gradient_descent_ascent():
    torch.manual_seed(0)
    G = nn.Linear(3, 2).double()
    D = nn.Sequential(nn.Linear(2, 4), nn.Tanh(), nn.Linear(4, 1)).double()
    G2, D2 = copy.deepcopy(G), copy.deepcopy(D)
    z, real = torch.randn(16, 3, dtype=torch.float64), torch.randn(16, 2, dtype=torch.float64)
    value = lambda G, D: D(real).mean() - D(G(z)).mean()  # noqa: E731  (WGAN objective V)
    opt_g, opt_d = torch.optim.Adam(G.parameters(), lr=1e-2), torch.optim.Adam(D.parameters(), lr=1e-2)
    prox = ProximalMinimax(D, min_optimizer=opt_g, max_optimizer=opt_d, lam=0.0, inner_steps=1)
    ref_g, ref_d = torch.optim.Adam(G2.parameters(), lr=1e-2), torch.optim.Adam(D2.parameters(), lr=1e-2)
    for _ in range(5):
        prox.step(lambda: value(G, D), real)
        ref_d.zero_grad()
        (-value(G2, D2)).backward()  # ascent for D first
        ref_d.step()
        ref_g.zero_grad()
        value(G2, D2).backward()  # then descent for G against the updated D
        ref_g.step()
    for a, b in zip(list(G.parameters()) + list(D.parameters()), list(G2.parameters()) + list(D2.parameters())):
        torch.testing.assert_close(a, b, rtol=1e-12, atol=1e-12)


def test_sobolev_distance_on_hand_made_critics():
    critic = LinearCritic([1.0, 2.0])
    anchor_gradients = torch.tensor([[1.0, 0.0], [0.0, 0.0]], dtype=torch.float64)
    real = torch.zeros(2, 2, dtype=torch.float64)
    # per sample: |(1,2) - (1,0)|^2 = 4 and |(1,2) - (0,0)|^2 = 5; mean 4.5
    assert sobolev_distance(critic, real, anchor_gradients).item() == pytest.approx(4.5)
    assert parameter_distance([critic.w], [torch.zeros(2, dtype=torch.float64)]).item() == pytest.approx(5.0)


def test_keep_proximal_solution_false_restores_the_discriminator_and_projection_runs():
    theta = torch.tensor([3.0, -3.0], dtype=torch.float64, requires_grad=True)
    critic = LinearCritic([0.0, 0.0])
    clips = []

    def clip(module):
        clips.append(1)
        module.w.clamp_(-0.5, 0.5)

    prox = ProximalMinimax(
        critic,
        min_optimizer=torch.optim.SGD([theta], lr=0.1),
        max_optimizer=torch.optim.SGD(critic.parameters(), lr=0.5),
        lam=0.1,
        inner_steps=5,
        penalty="parameter",
        keep_proximal_solution=False,
        max_projection=clip,
    )
    prox.step(lambda: quadratic_game(theta, critic), torch.zeros(1, 2, dtype=torch.float64))
    assert len(clips) == 5
    assert torch.equal(critic.w.detach(), torch.zeros(2, dtype=torch.float64))
    # the generator stepped against the clipped proximal critic w* = (0.5, -0.5)
    torch.testing.assert_close(theta.detach(), torch.tensor([2.95, -2.95], dtype=torch.float64))


def test_non_finite_step_restores_parameters_and_both_optimizer_states():
    theta = torch.tensor([1.0, 1.0], dtype=torch.float64, requires_grad=True)
    critic = LinearCritic([0.1, 0.2])
    prox = ProximalMinimax(
        critic,
        min_optimizer=torch.optim.Adam([theta], lr=0.1),
        max_optimizer=torch.optim.Adam(critic.parameters(), lr=0.1),
        inner_steps=3,
    )
    real = torch.randn(4, 2, dtype=torch.float64)
    prox.step(lambda: quadratic_game(theta, critic), real)
    saved, values = copy.deepcopy(prox.state_dict()), [theta.detach().clone(), critic.w.detach().clone()]
    calls = []

    def sometimes_nan():
        calls.append(1)
        return quadratic_game(theta, critic) * (float("nan") if len(calls) == 2 else 1.0)

    with pytest.raises(FloatingPointError, match="restored"):
        prox.step(sometimes_nan, real)
    assert torch.equal(theta.detach(), values[0]) and torch.equal(critic.w.detach(), values[1])
    now = prox.state_dict()
    for key in ("min_optimizer", "max_optimizer"):
        for index, entries in saved[key]["state"].items():
            for field, value in entries.items():
                assert torch.equal(now[key]["state"][index][field], value)


def test_state_dict_round_trip_continues_identically():
    def build():
        theta = torch.tensor([1.0, -1.0], dtype=torch.float64, requires_grad=True)
        critic = LinearCritic([0.3, 0.1])
        prox = ProximalMinimax(
            critic,
            min_optimizer=torch.optim.Adam([theta], lr=0.05),
            max_optimizer=torch.optim.Adam(critic.parameters(), lr=0.05),
            inner_steps=4,
        )
        return theta, critic, prox

    real = torch.randn(4, 2, dtype=torch.float64)
    theta, critic, prox = build()
    for _ in range(2):
        prox.step(lambda: quadratic_game(theta, critic), real)
    saved = copy.deepcopy((prox.state_dict(), theta.detach().clone(), critic.w.detach().clone()))
    for _ in range(2):
        prox.step(lambda: quadratic_game(theta, critic), real)
    theta2, critic2, prox2 = build()
    prox2.load_state_dict(saved[0])
    with torch.no_grad():
        theta2.copy_(saved[1])
        critic2.w.copy_(saved[2])
    for _ in range(2):
        prox2.step(lambda: quadratic_game(theta2, critic2), real)
    assert torch.equal(theta, theta2) and torch.equal(critic.w, critic2.w) and prox2.step_count == 4


def test_invalid_arguments():
    theta = torch.zeros(2, dtype=torch.float64, requires_grad=True)
    critic = LinearCritic([0.0, 0.0])
    good = dict(
        min_optimizer=torch.optim.SGD([theta], lr=0.1), max_optimizer=torch.optim.SGD(critic.parameters(), lr=0.1)
    )
    with pytest.raises(ValueError, match="exactly the discriminator's trainable parameters"):
        ProximalMinimax(critic, min_optimizer=good["min_optimizer"], max_optimizer=torch.optim.SGD([theta], lr=0.1))
    with pytest.raises(ValueError, match="holds discriminator parameters"):
        ProximalMinimax(
            critic, min_optimizer=torch.optim.SGD(critic.parameters(), lr=0.1), max_optimizer=good["max_optimizer"]
        )
    for bad, message in [
        (dict(lam=-1.0), "Invalid lam"),
        (dict(inner_steps=0), "Invalid inner_steps"),
        (dict(penalty="l1"), "Invalid penalty"),
    ]:
        with pytest.raises(ValueError, match=message):
            ProximalMinimax(critic, **good, **bad)
    prox = ProximalMinimax(critic, **good)
    with pytest.raises(ValueError, match="scalar"):
        prox.step(lambda: critic.w * theta, torch.zeros(1, 2, dtype=torch.float64))
    assert torch.count_nonzero(critic.w) == 0 and torch.count_nonzero(theta) == 0
