"""torch.optim conventions: several param groups per player with their own options, decoupled
weight decay, gradients left in ``.grad`` on request, groups added later, schedulers per group."""

import copy

import pytest
import torch
from torch import nn

from cgd_optim import ACGD, CGD, SimGD
from cgd_optim.games import QuadraticGame, cgd_step, simgd_step
from cgd_optim.testing import state_differences


def split_player(n: int, m: int, seed: int = 0):
    """A random zero-sum quadratic game with the min player in two tensors (3 and n - 3 coordinates)."""
    game = QuadraticGame.random(n, m, seed=seed)
    generator = torch.Generator().manual_seed(seed + 1)
    x = torch.randn(n, dtype=torch.float64, generator=generator)
    y = torch.randn(m, dtype=torch.float64, generator=generator)
    head, body = x[:3].clone().requires_grad_(True), x[3:].clone().requires_grad_(True)
    return game, head, body, y.clone().requires_grad_(True)


def closure(game, head, body, y):
    return lambda: game.value(torch.cat([head, body]), y)


def test_a_cgd_step_with_two_groups_is_the_local_game_step_with_their_per_coordinate_step_sizes():
    game, head, body, y = split_player(7, 4)
    x0, y0 = torch.cat([head, body]).detach(), y.detach().clone()
    optimizer = CGD([{"params": [head], "lr": 0.05}, {"params": [body]}], [y], lr=0.2, lr_max=0.1, tol=1e-12)
    optimizer.step(closure(game, head, body, y))
    eta_x = torch.tensor([0.05] * 3 + [0.2] * 4, dtype=torch.float64)  # the body takes the player's lr
    dx, dy = cgd_step(game, x0, y0, eta_x, 0.1)
    assert torch.allclose(torch.cat([head, body]).detach() - x0, dx, rtol=1e-9, atol=1e-12)
    assert torch.allclose(y.detach() - y0, dy, rtol=1e-9, atol=1e-12)
    assert [(g["player"], g["lr"]) for g in optimizer.param_groups] == [("min", 0.05), ("min", 0.2), ("max", 0.1)]


@pytest.mark.parametrize(
    "make",
    [
        lambda xs, y, **kw: ACGD(xs, y, lr=0.01, **kw),
        lambda xs, y, **kw: CGD(xs, y, lr=0.05, **kw),
        lambda xs, y, **kw: SimGD(xs, y, lr=0.05, **kw),
    ],
    ids=["ACGD", "CGD", "SimGD"],
)
def test_groups_with_the_players_own_options_step_bitwise_as_one_group(make):
    game, head, body, y = split_player(7, 4)
    twin = [t.detach().clone().requires_grad_(True) for t in (head, body, y)]
    grouped = make([{"params": [head]}, {"params": [body]}], [y])
    plain = make([twin[0], twin[1]], [twin[2]])
    for _ in range(3):
        grouped.step(closure(game, head, body, y))
        plain.step(closure(game, *twin))
    assert all(torch.equal(a, b) for a, b in zip((head, body, y), twin))


def test_acgd_groups_take_their_own_beta_and_eps_and_refuse_unknown_options():
    game, head, body, y = split_player(7, 4)
    optimizer = ACGD([{"params": [head], "beta": 0.9, "eps": 1e-3}, {"params": [body]}], [y], lr=0.01)
    optimizer.step(closure(game, head, body, y))
    g = torch.autograd.grad(game.value(torch.cat([head, body]), y), [head])[0]  # after the step: not the one used
    assert optimizer.param_groups[0]["beta"] == 0.9 and optimizer.param_groups[1]["beta"] == 0.99
    v = optimizer.state[head]["sq_avg"]
    assert v.shape == head.shape and g.shape == head.shape
    with pytest.raises(ValueError, match=r"min_params\[0\] has the keys \['momentum'\]"):
        ACGD([{"params": [head], "momentum": 0.9}], [y])
    with pytest.raises(ValueError, match=r"Invalid beta value: 1\.5"):
        ACGD([{"params": [head], "beta": 1.5}], [y])
    with pytest.raises(ValueError, match=r"min_params\[0\] has the keys \['beta'\]"):
        CGD([{"params": [head], "beta": 0.9}], [y])  # CGD has no beta


@pytest.mark.parametrize("name", ["CGD", "SimGD"])
def test_decoupled_weight_decay_moves_each_parameter_by_minus_lr_decay_p_from_the_undecayed_step(name):
    game, head, body, y = split_player(7, 4)
    x0, y0 = torch.cat([head, body]).detach(), y.detach().clone()
    cls = {"CGD": CGD, "SimGD": SimGD}[name]
    options = {"tol": 1e-12} if name == "CGD" else {}
    optimizer = cls(
        [{"params": [head], "weight_decay": 0.5}, {"params": [body]}], [y], lr=0.1, weight_decay=0.1, **options
    )
    optimizer.step(closure(game, head, body, y))
    dx, dy = (cgd_step if name == "CGD" else simgd_step)(game, x0, y0, 0.1, 0.1)
    decay = torch.tensor([0.5] * 3 + [0.1] * 4, dtype=torch.float64)
    assert torch.allclose(torch.cat([head, body]).detach(), x0 * (1 - 0.1 * decay) + dx, rtol=1e-9, atol=1e-12)
    assert torch.allclose(y.detach(), y0 * (1 - 0.1 * 0.1) + dy, rtol=1e-9, atol=1e-12)


def test_without_weight_decay_the_state_layout_is_what_it_was():
    _, head, body, y = split_player(7, 4)
    optimizer = ACGD([head, body], [y], lr=0.01)
    assert [sorted(g) for g in optimizer.state_dict()["param_groups"]] == [
        ["beta", "eps", "eps_placement", "lr", "params", "player"]
    ] * 2
    with pytest.raises(ValueError, match="Invalid weight_decay value: -1"):
        CGD([head], [y], weight_decay=-1)


@pytest.mark.parametrize("cls", [ACGD, SimGD])
def test_keep_gradients_leaves_the_steps_gradients_for_clip_grad_norm_and_loggers(cls):
    game, head, body, y = split_player(7, 4)
    start = [t.detach().clone().requires_grad_(True) for t in (head, body, y)]
    expected = torch.autograd.grad(game.value(torch.cat(start[:2]), start[2]), start)
    plain = cls([head.detach().clone().requires_grad_(True)], [y.detach().clone().requires_grad_(True)], lr=0.01)
    plain.step(
        lambda: game.value(
            torch.cat([plain.param_groups[0]["params"][0], body.detach()]), plain.param_groups[1]["params"][0]
        )
    )
    assert plain.param_groups[0]["params"][0].grad is None  # the default: .grad untouched
    optimizer = cls([head, body], [y], lr=0.01, keep_gradients=True)
    optimizer.step(closure(game, head, body, y))
    assert all(torch.allclose(p.grad, g, rtol=1e-12) for p, g in zip((head, body, y), expected))
    norm = torch.linalg.vector_norm(torch.cat([expected[0], expected[1]]))
    assert torch.allclose(optimizer.step_stats["grad_norm_min"], norm)
    assert torch.allclose(nn.utils.clip_grad_norm_([head, body], 1e9), norm)


def test_a_group_added_later_joins_its_player_and_a_group_without_a_player_is_refused():
    game, head, body, y = split_player(7, 4)
    body.requires_grad_(True)
    optimizer = ACGD([head], [y], lr=0.01)
    optimizer.step(lambda: game.value(torch.cat([head, body.detach()]), y))
    with pytest.raises(ValueError, match="add 'player': 'min'"):
        optimizer.add_param_group({"params": [body]})
    with pytest.raises(ValueError, match="the same tensor is in both players"):
        optimizer.add_param_group({"params": [y], "player": "min"})
    optimizer.add_param_group({"params": [body], "player": "min", "lr": 0.02})
    assert [(g["player"], g["lr"], g["beta"]) for g in optimizer.param_groups] == [
        ("min", 0.01, 0.99),
        ("max", 0.01, 0.99),
        ("min", 0.02, 0.99),
    ]
    before = body.detach().clone()
    optimizer.step(closure(game, head, body, y))
    assert not torch.equal(before, body) and optimizer.state[body]["step"] == 1 and optimizer.state[head]["step"] == 2


def test_a_state_of_other_groups_is_refused_and_changes_nothing():
    game, head, body, y = split_player(7, 4)
    two = ACGD([{"params": [head]}, {"params": [body]}], [y], lr=0.01)
    two.step(closure(game, head, body, y))
    one = ACGD([head, body], [y], lr=0.01)
    before = copy.deepcopy(one.state_dict())
    with pytest.raises(ValueError, match=r"\['min', 'min', 'max'\], this optimizer's to \['min', 'max'\]"):
        one.load_state_dict(two.state_dict())
    assert state_differences(before, one.state_dict()) == []


def test_schedulers_scale_each_group():
    game, head, body, y = split_player(7, 4)
    optimizer = CGD([{"params": [head], "lr": 0.1}, {"params": [body], "lr": 0.01}], [y], lr=0.05)
    scheduler = torch.optim.lr_scheduler.StepLR(optimizer, step_size=1, gamma=0.5)
    optimizer.step(closure(game, head, body, y))
    scheduler.step()
    assert [g["lr"] for g in optimizer.param_groups] == [0.05, 0.005, 0.025]
