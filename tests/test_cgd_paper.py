"""gan_experiments.cgd_paper: the verdict rule, the paper's cost accounting, closed forms of the
scalar games, the covariance game's equilibrium and the two-mode GAN's networks and CGD scaling.
(The four configs' dry runs are in test_cli.py; their full results in benchmarks/results/cgd_paper.)"""

import math

import pytest
import torch

from cgd_optim import CGD
from gan_experiments.cgd_paper import classify, forward_passes, make_method
from gan_experiments.cgd_paper.covariance import problem, residual
from gan_experiments.cgd_paper.scalar_games import GAMES, PAPER, agreement, trajectory
from gan_experiments.cgd_paper.two_modes import RMSPropCGD, dense_net


@pytest.mark.parametrize(
    "distances, verdict",
    [
        ([1.0, 0.8, 0.5], "converged"),
        ([1.0, 1.3, 0.9], "oscillated"),
        ([1.0, 0.9, 1.99], "oscillated"),
        ([1.0, 1.5, 2.0], "diverged"),
        ([1.0, 1e4, 0.1], "diverged"),  # an excursion past 1e3 times the start
        ([1.0, float("inf")], "diverged"),
    ],
)
def test_the_verdict_rule(distances, verdict):
    assert classify(distances) == verdict


def test_conopt_and_sga_rotate_on_the_bilinear_game_at_alpha_3_and_lcgd_equals_extragradient():
    """On f = 3xy with eta = 0.2, gamma = 1, ConOpt's (= SGA's) map is [[1 - 1.8, -0.6], [0.6, 1 - 1.8]],
    of modulus sqrt(0.64 + 0.36) = 1: the distance never changes ("oscillate widely"). LCGD and
    extragradient both iterate [[1 - eta^2 a^2, -eta a], [eta a, 1 - eta^2 a^2]]: the same path."""
    game = GAMES["bilinear"](3.0)
    for method in ("conopt", "sga"):
        path = trajectory(method, game, (0.5, 0.5), 0.2, 1.0, 50)
        assert torch.allclose(path.norm(dim=1), torch.full((51,), math.sqrt(0.5), dtype=torch.float64), rtol=1e-12)
        assert classify(path.norm(dim=1).tolist()) == "oscillated"
    lcgd, extra = (trajectory(m, game, (0.5, 0.5), 0.2, 1.0, 50) for m in ("lcgd", "extra_sgd"))
    torch.testing.assert_close(lcgd, extra, rtol=1e-12, atol=1e-15)


def test_cgd_and_gda_trace_one_path_on_the_separable_quadratic():
    """No mixed Hessian: CGD's step is GDA's (the paper's Fig. 3 shows one curve for both)."""
    game = GAMES["convex_concave"](3.0)
    torch.testing.assert_close(
        trajectory("cgd", game, (0.5, 0.5), 0.2, 1.0, 20), trajectory("gda", game, (0.5, 0.5), 0.2, 1.0, 20)
    )


def test_forward_passes_are_counted_as_the_paper_counts_them():
    x = torch.tensor([0.5], dtype=torch.float64, requires_grad=True)
    y = torch.tensor([0.5], dtype=torch.float64, requires_grad=True)
    for method, cost in (("gda", 2), ("ogda", 2), ("lcgd", 4), ("sga", 4), ("conopt", 6), ("extra_sgd", 4)):
        assert forward_passes(method, make_method(method, [x], [y], 0.1)) == cost
    cgd = make_method("cgd", [x], [y], 0.1, tol=1e-12)
    cgd.step(lambda: (3 * x * y).sum())
    assert forward_passes("cgd", cgd) == 4 + 2 * int(cgd.step_stats["iterations"])


def test_agreement_reads_not_converged_as_anything_but_converged():
    runs = [
        {"game": "bilinear", "alpha": 1, "method": "gda", "verdict": "oscillated"},
        {"game": "bilinear", "alpha": 3, "method": "ogda", "verdict": "oscillated"},
    ]
    table = agreement(runs)
    assert [row["agrees"] for row in table["statements"]] == [True, False]
    assert (table["agreeing"], table["total"]) == (1, 2)
    assert PAPER[("bilinear", 6, "cgd")] == "converged"


def test_the_covariance_game_has_zero_residual_and_zero_gradients_at_its_equilibrium():
    game = problem(5, seed=0)
    W = torch.zeros(5, 5, dtype=torch.float64, requires_grad=True)
    V = game["U"].clone().requires_grad_(True)
    assert residual(W.detach(), V.detach(), game["sigma"]) < 1e-12
    value = (W * (V @ V.T - game["sigma"])).sum()
    grad_w, grad_v = torch.autograd.grad(value, [W, V])
    assert float(grad_w.abs().max()) < 1e-12 and float(grad_v.abs().max()) == 0.0
    assert residual(game["W0"], game["V0"], game["sigma"]) > 0  # the start: W0 = dW dW', V0 = U + dV


def test_the_two_mode_networks_have_no_biases_and_scaled_orthonormal_layers():
    net = dense_net(512, 2, 128, 4, torch.Generator().manual_seed(0))
    linears = [m for m in net if isinstance(m, torch.nn.Linear)]
    assert len(linears) == 5 and all(m.bias is None for m in linears)  # four hidden layers
    for layer in linears:
        w = layer.weight.detach()
        gram = w @ w.T if w.shape[0] <= w.shape[1] else w.T @ w
        torch.testing.assert_close(gram, 0.64 * torch.eye(gram.shape[0]), rtol=1e-5, atol=1e-5)


def test_rmsprop_cgd_takes_the_codes_step_sizes():
    """Step 1 sees s = 1 (CGD with lr itself); step 2 folds in its gradient: eta / sqrt(0.9 + 0.1 g^2)."""
    x = torch.tensor([0.3, -0.2], dtype=torch.float64, requires_grad=True)
    y = torch.tensor([0.4], dtype=torch.float64, requires_grad=True)
    x2, y2 = (t.detach().clone().requires_grad_(True) for t in (x, y))
    value = lambda x, y: (x * x).sum() * y.sum() + x.sum() * y.sum()  # noqa: E731
    ours = RMSPropCGD([x], [y], lr=0.1, tol=1e-14)
    ours.step(lambda: value(x, y))
    CGD([x2], [y2], lr=0.1, tol=1e-14).step(lambda: value(x2, y2))
    torch.testing.assert_close(x, x2, rtol=1e-12, atol=1e-14)
    g_x = torch.autograd.grad(value(x, y), x)[0].detach()
    eta_x, _, _ = ours.step_sizes(g_x, torch.zeros(1, dtype=torch.float64), [x], [y])
    torch.testing.assert_close(eta_x, 0.1 / (0.9 + 0.1 * g_x**2).sqrt())


def test_the_two_mode_verdict():
    """Diverged on a failed step, non-finite samples or samples ten times wider than the data (std
    about 0.39 per coordinate); otherwise both modes or a collapse, by the modes covered."""
    from gan_experiments.cgd_paper.two_modes import verdict

    good = {"failed": None, "finite": True, "sample_spread": 0.4, "modes": 2}
    assert verdict(good) == "both modes"
    assert verdict({**good, "modes": 1}) == "mode collapse"
    assert verdict({**good, "sample_spread": 5.0}) == "diverged"
    assert verdict({**good, "failed": "SGA: the step is not finite"}) == "diverged"
    assert verdict({**good, "finite": False, "sample_spread": None}) == "diverged"
