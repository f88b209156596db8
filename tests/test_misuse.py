"""Misuse gets a message that names the fix (issue 20): a step size of the wrong type, and a
0-dim tensor step size accepted as torch.optim accepts it, schedulers included."""

import copy

import pytest
import torch
from torch import nn

from cgd_optim import (
    ACGD,
    CGD,
    LCGD,
    OGDA,
    SGA,
    ConOpt,
    ExtraAdam,
    ExtraSGD,
    OptimisticAdam,
    ProximalMinimax,
    SimGD,
    compat,
)
from cgd_optim.games import QuadraticGame
from cgd_optim.testing import leaves, state_differences

OPTIMIZERS = [ACGD, CGD, SimGD]


def game(seed: int = 0):
    """1/2 |x|^2 + x'By - 1/2 |y|^2 with a random B, from a random start."""
    generator = torch.Generator().manual_seed(seed)
    x, y = leaves(
        torch.randn(3, dtype=torch.float64, generator=generator),
        torch.randn(2, dtype=torch.float64, generator=generator),
    )
    b = torch.randn(3, 2, dtype=torch.float64, generator=generator)
    quadratic = QuadraticGame(torch.eye(3), b, -torch.eye(2), torch.zeros(3), torch.zeros(2))
    return x, y, quadratic.closure(x, y)


@pytest.mark.parametrize("make", OPTIMIZERS)
def test_a_step_size_of_the_wrong_type_is_named_as_a_type_error(make):
    x, y, _ = game()
    with pytest.raises(TypeError, match=r"Invalid lr: expected a positive number .* got str '1e-3'"):
        make([x], [y], lr="1e-3")
    with pytest.raises(ValueError, match="must be a 0-dim floating point tensor"):
        make([x], [y], lr=torch.tensor([1e-3]))
    with pytest.raises(ValueError, match="Invalid lr value"):
        make([x], [y], lr=torch.tensor(-1e-3))


@pytest.mark.parametrize("make", OPTIMIZERS)
def test_a_0_dim_tensor_step_size_steps_exactly_as_the_number_and_schedulers_scale_it(make):
    runs = []
    for lr in (0.05, torch.tensor(0.05, dtype=torch.float64)):
        x, y, closure = game()
        optimizer = make([x], [y], lr=lr)
        scheduler = torch.optim.lr_scheduler.StepLR(optimizer, step_size=2, gamma=0.5)
        for _ in range(5):
            optimizer.step(closure)
            scheduler.step()
        runs.append((x.detach().clone(), y.detach().clone(), float(optimizer.param_groups[0]["lr"])))
    (x0, y0, lr0), (x1, y1, lr1) = runs
    assert torch.equal(x0, x1) and torch.equal(y0, y1) and lr0 == lr1 == 0.05 * 0.5**2


def test_the_demo_reports_tiny_distances_without_underflow_and_a_verdict_per_run():
    """Before: |(x, y)|=0 printed beside non-zero coordinates (the squares underflow), and no verdict."""
    from cgd_optim import demo

    assert demo.distance(torch.tensor([3e-170, 4e-170], dtype=torch.float64)) == pytest.approx(5e-170, rel=1e-12)
    assert demo.distance(
        torch.tensor([3e170], dtype=torch.float64), torch.tensor([4e170], dtype=torch.float64)
    ) == pytest.approx(5e170, rel=1e-12)
    assert demo.verdict(1.0, 0.5, 1e-9, False) == "converged" and demo.verdict(1.0, 1.0, 1.0, True) == "diverged"
    assert demo.verdict(1.0, 1.2, 0.9, False) == "cycling" and demo.verdict(1.0, 1e3, 1e7, False) == "diverged"
    rows = {(r["game"], r["optimizer"]): r for r in demo.results(400)}
    assert rows["quadratic", "SimGD lr=(0.09, 0.01)"]["verdict"] == "converged"  # ICR Fig. 3
    assert rows["quadratic", "SimGD lr=(0.03, 0.03)"]["verdict"] in ("diverged", "diverging slowly")  # ICR Fig. 6
    assert rows["bilinear", "CGD   lr=(0.3, 0.3)".strip()]["verdict"] == "converged"
    assert all(r["distance"] > 0 for r in rows.values() if torch.cat([r["x"], r["y"]]).abs().max() > 0)


@pytest.mark.parametrize("make", [ACGD, CGD, SimGD, lambda *a, **k: SimGD(*a, alternating=True, **k)])
@pytest.mark.parametrize("general_sum", [False, True])
def test_a_player_detached_from_its_objective_is_named_before_anything_changes(make, general_sum):
    """Before: D(G(z).detach()) trained D alone, silently (G's 'iterations 0')."""
    torch.manual_seed(0)
    G, D = torch.nn.Linear(2, 2).double(), torch.nn.Linear(2, 1).double()
    real, z = torch.randn(8, 2, dtype=torch.float64), torch.randn(8, 2, dtype=torch.float64)

    def closure():
        value = D(real).mean() - D(G(z).detach()).mean()
        return (-D(G(z).detach()).mean(), value) if general_sum else value

    optimizer = make(list(G.parameters()), list(D.parameters()), lr=0.01)
    before = [p.detach().clone() for p in [*G.parameters(), *D.parameters()]]
    with pytest.raises(ValueError, match=r"no parameter of the min player \(min_params\) influences its objective"):
        optimizer.step(closure)
    assert all(torch.equal(a, b) for a, b in zip(before, [*G.parameters(), *D.parameters()]))
    assert not optimizer.state
    swapped = make(list(D.parameters()), list(G.parameters()), lr=0.01)  # the wrong way round: D as min player
    with pytest.raises(ValueError, match="max player"):
        swapped.step(lambda: D(real).mean() - D(G(z).detach()).mean())


@pytest.mark.parametrize("make", OPTIMIZERS)
@pytest.mark.parametrize("retain_graph", [False, True])
def test_a_closure_that_calls_backward_is_told_to_return_the_value_instead(make, retain_graph):
    """Before: torch's 'backward through the graph a second time ... retain_graph=True' (which sends
    the user the wrong way), and backward(retain_graph=True) was accepted silently."""
    x, y, objective = game()
    optimizer = make([x], [y], lr=0.05)

    def closure():
        value = objective()
        value.backward(retain_graph=retain_graph)
        return value

    with pytest.raises(ValueError, match=r"the closure called backward\(\).*remove backward\(\)"):
        optimizer.step(closure)
    assert x.grad is None and y.grad is None and not optimizer.state  # its .grad writes undone, nothing stepped


def test_load_state_dict_refuses_another_optimizers_another_models_and_swapped_players_states():
    """Before: accepted, and the next step failed (KeyError: 'beta', a size mismatch)."""
    x, y, objective = game()
    cgd, acgd = CGD([x], [y], lr=0.05), ACGD([x], [y], lr=0.05)
    cgd.step(objective)
    acgd.step(objective)
    fresh = ACGD([x], [y], lr=0.05)
    before = fresh.state_dict()
    with pytest.raises(ValueError, match=r"another optimizer \(it lacks \['beta', 'eps'\]"):
        fresh.load_state_dict(cgd.state_dict())
    with pytest.raises(ValueError, match=r"it lacks \[\] and has \['beta', 'eps', 'eps_placement'\]"):
        CGD([x], [y], lr=0.05).load_state_dict(acgd.state_dict())
    bigger = torch.zeros(4, dtype=torch.float64, requires_grad=True)
    with pytest.raises(
        ValueError, match=r"parameter 0 of the min player has 4 elements, its saved '(cg_solution|sq_avg)' 3"
    ):
        ACGD([bigger], [y], lr=0.05).load_state_dict(acgd.state_dict())
    with pytest.raises(ValueError, match="players swapped"):
        ACGD([y], [x], lr=0.05).load_state_dict(acgd.state_dict())
    with pytest.raises(ValueError, match="has 2 parameters here and 1 in the state"):
        ACGD([x, bigger], [y], lr=0.05).load_state_dict(acgd.state_dict())
    assert fresh.state_dict() == before  # nothing changed by the refusals
    fresh.load_state_dict(acgd.state_dict())  # its own kind of state still loads
    assert torch.equal(fresh.state[x]["sq_avg"], acgd.state[x]["sq_avg"])


def test_a_state_saved_before_eps_placement_existed_and_with_solver_options_in_its_groups_loads():
    x, y, objective = game()
    acgd = ACGD([x], [y], lr=0.05)
    acgd.step(objective)
    old = acgd.state_dict()
    for group in old["param_groups"]:  # the earlier layout: solver options copied into each group, no eps_placement
        del group["eps_placement"]
        group.update(tol=1e-6, atol=0.0, max_iter=50, gmres_restart=20, check_every=None, warm_start="auto")
    fresh = ACGD([x], [y], lr=0.05, eps_placement="outside", tol=1e-8, max_iter=7)
    fresh.load_state_dict(old)
    assert [g["eps_placement"] for g in fresh.param_groups] == ["inside"] * 2  # what the old state ran
    assert not {"tol", "atol", "max_iter", "gmres_restart", "check_every", "warm_start"} & set(fresh.param_groups[0])
    assert (fresh.solver_options.tol, fresh.solver_options.max_iter) == (1e-8, 7)  # the optimizer's own options
    assert torch.equal(fresh.state[x]["sq_avg"], acgd.state[x]["sq_avg"])


SPARSE_MAKERS = {
    "ACGD": lambda G, D: ACGD(G.parameters(), D.parameters(), lr=0.01),
    "CGD": lambda G, D: CGD(G.parameters(), D.parameters(), lr=0.01),
    "SimGD": lambda G, D: SimGD(G.parameters(), D.parameters(), lr=0.01),
    "SimGD-alternating": lambda G, D: SimGD(G.parameters(), D.parameters(), lr=0.01, alternating=True),
    "LCGD": lambda G, D: LCGD(G.parameters(), D.parameters(), lr=0.01),
    "SGA": lambda G, D: SGA(G.parameters(), D.parameters(), lr=0.01),
    "ConOpt": lambda G, D: ConOpt(G.parameters(), D.parameters(), lr=0.01),
    "OGDA": lambda G, D: OGDA(G.parameters(), D.parameters(), lr=0.01),
    "ExtraSGD": lambda G, D: ExtraSGD(G.parameters(), D.parameters(), lr=0.01),
    "ExtraAdam": lambda G, D: ExtraAdam(G.parameters(), D.parameters(), lr=0.01),
    "OptimisticAdam": lambda G, D: OptimisticAdam(G.parameters(), D.parameters(), lr=0.01),
    "compat.ACGD": lambda G, D: compat.ACGD(D.parameters(), G.parameters(), lr_max=0.01, lr_min=0.01),
    "compat.BCGD": lambda G, D: compat.BCGD(D.parameters(), G.parameters(), lr_max=0.01, lr_min=0.01),
    # the Sobolev penalty does not reach an embedding added to D's input, so its gradient stays sparse
    # (the parameter penalty would add a dense gradient to it: dense, and accepted)
    "ProximalMinimax": lambda G, D: ProximalMinimax(
        D,
        min_optimizer=torch.optim.Adam(G.parameters(), lr=0.01),
        max_optimizer=torch.optim.Adam(D.parameters(), lr=0.01),
        inner_steps=2,
    ),
}


class Embedded(nn.Module):
    """``layer(x + E[tokens])`` with E an nn.Embedding(10, 2, sparse=True): a sparse gradient for E."""

    def __init__(self, layer: nn.Module) -> None:
        super().__init__()
        self.embed, self.layer = nn.Embedding(10, 2, sparse=True), layer

    def forward(self, x):
        return self.layer(x + self.embed(torch.tensor([1, 4, 4, 7])))


@pytest.mark.parametrize("name", list(SPARSE_MAKERS))
@pytest.mark.parametrize("sparse_player", ["generator", "discriminator"])
def test_a_sparse_gradient_is_refused_naming_the_shape_and_the_fix_before_anything_changes(name, sparse_player):
    """An nn.Embedding(10, 2, sparse=True) in either player: ValueError with 'sparse', the
    parameter's shape (10, 2) and 'sparse=False'; parameters and state as they were."""
    torch.manual_seed(0)
    G, D = nn.Linear(2, 2), nn.Linear(2, 1)
    G, D = (Embedded(G), D) if sparse_player == "generator" else (G, Embedded(D))
    real, z = torch.randn(4, 2), torch.randn(4, 2)

    def value():
        return D(real).mean() - D(G(z)).mean()

    optimizer = SPARSE_MAKERS[name](G, D)
    before = [p.detach().clone() for p in [*G.parameters(), *D.parameters()]]
    state = copy.deepcopy(optimizer.state_dict())
    with pytest.raises(ValueError, match=r"sparse.*\(10, 2\)|\(10, 2\).*sparse") as raised:
        if name == "ProximalMinimax":
            optimizer.step(value, real)
        else:
            optimizer.step(value)
    assert "sparse=False" in str(raised.value)
    assert all(torch.equal(a, b) for a, b in zip(before, [*G.parameters(), *D.parameters()]))
    assert state_differences(state, optimizer.state_dict()) == []
