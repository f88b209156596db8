"""torch.optim conventions and bad-input handling, written once for every two-player optimizer."""

import copy
import math
import warnings

import pytest
import torch
from torch import nn

from benchmarks.device_reads import DeviceReads
from cgd_optim import ACGD, CGD, LCGD, OGDA, SGA, ConOpt, ExtraAdam, ExtraSGD, OptimisticAdam, SimGD

OPTIMIZERS = {
    "SimGD": lambda mins, maxs, **kw: SimGD(mins, maxs, lr=0.05, **kw),
    "SimGD-alternating": lambda mins, maxs, **kw: SimGD(mins, maxs, lr=0.05, alternating=True, **kw),
    "CGD": lambda mins, maxs, **kw: CGD(mins, maxs, lr=0.05, **kw),
    "ACGD": lambda mins, maxs, **kw: ACGD(mins, maxs, lr=0.01, **kw),
    # the game-aware first-order methods (cgd_optim.corrections, cgd_optim.extrapolation)
    "LCGD": lambda mins, maxs, **kw: LCGD(mins, maxs, lr=0.05, rmsprop=0.9, **kw),
    "SGA": lambda mins, maxs, **kw: SGA(mins, maxs, lr=0.05, **kw),
    "ConOpt": lambda mins, maxs, **kw: ConOpt(mins, maxs, lr=0.05, **kw),
    "OGDA": lambda mins, maxs, **kw: OGDA(mins, maxs, lr=0.05, **kw),
    "ExtraSGD": lambda mins, maxs, **kw: ExtraSGD(mins, maxs, lr=0.05, **kw),
    "ExtraAdam": lambda mins, maxs, **kw: ExtraAdam(mins, maxs, lr=0.01, **kw),
    "OptimisticAdam": lambda mins, maxs, **kw: OptimisticAdam(mins, maxs, lr=0.01, **kw),
}
TWO_EVALUATIONS = {"SimGD-alternating", "ExtraSGD", "ExtraAdam"}  # these need a callable closure
ZERO_SUM_ONLY = {"SGA", "ConOpt"}  # these refuse a pair (f_min, f_max)
names = pytest.mark.parametrize("name", list(OPTIMIZERS))
# recycle=k keeps CG pairs as state: the state tests run with it too
RECYCLING = {
    "CGD-recycle": lambda mins, maxs, **kw: CGD(mins, maxs, lr=0.05, recycle=3, **kw),
    "ACGD-recycle": lambda mins, maxs, **kw: ACGD(mins, maxs, lr=0.01, recycle=3, **kw),
}


class Game(nn.Module):
    """A small GAN-shaped game: generator and discriminator MLPs on fixed data, OGAN loss."""

    def __init__(self, dtype=torch.float64, seed=0):
        super().__init__()
        torch.manual_seed(seed)
        self.G = nn.Sequential(nn.Linear(2, 8), nn.Tanh(), nn.Linear(8, 2)).to(dtype)
        self.D = nn.Sequential(nn.Linear(2, 8), nn.Tanh(), nn.Linear(8, 1)).to(dtype)
        self.z = torch.randn(16, 2, dtype=torch.float64).to(dtype)
        self.real = torch.randn(16, 2, dtype=torch.float64).to(dtype) + 1.0

    def loss(self):
        fake = self.G(self.z)
        return nn.functional.softplus(-self.D(self.real)).mean() + nn.functional.softplus(self.D(fake)).mean() * -1.0


def make(name, game, **kw):
    return {**OPTIMIZERS, **RECYCLING}[name](list(game.G.parameters()), list(game.D.parameters()), **kw)


def params_of(game):
    return [p.detach().clone() for p in game.parameters()]


@names
def test_two_param_groups_with_their_own_lr(name):
    game = Game()
    optimizer = make(name, game)
    assert [g["player"] for g in optimizer.param_groups] == ["min", "max"]
    assert optimizer.param_groups[0]["params"] == list(game.G.parameters())
    cls = type(optimizer)
    overridden = cls(game.G.parameters(), game.D.parameters(), lr=0.1, lr_min=0.2)
    assert [g["lr"] for g in overridden.param_groups] == [0.2, 0.1]
    with pytest.raises(ValueError, match=r"add_param_group needs the group.s player"):
        optimizer.add_param_group({"params": [torch.zeros(1, requires_grad=True)]})


@names
def test_step_returns_the_closure_value_and_calls_it_as_documented(name):
    game = Game()
    optimizer = make(name, game)
    calls = []

    def closure():
        calls.append(1)
        return game.loss()

    before = params_of(game)
    returned = optimizer.step(closure)
    assert isinstance(returned, torch.Tensor) and returned.requires_grad
    assert len(calls) == (2 if name in TWO_EVALUATIONS else 1)
    assert any(not torch.equal(a, b) for a, b in zip(before, params_of(game)))
    pair = (game.loss(), game.loss())
    if name not in TWO_EVALUATIONS | ZERO_SUM_ONLY:
        assert optimizer.step(pair) is pair


@names
def test_result_ignores_grad_attributes_and_leaves_them_alone(name):
    reference, other = Game(), Game()
    make(name, reference).step(reference.loss)
    for p in other.parameters():
        p.grad = torch.full_like(p, 123.0)
    make(name, other).step(other.loss)
    for a, b in zip(reference.parameters(), other.parameters()):
        assert torch.equal(a, b)
        assert torch.equal(b.grad, torch.full_like(b, 123.0))


@pytest.mark.parametrize("name", [*OPTIMIZERS, *RECYCLING])
def test_state_dict_round_trip_continues_bit_identically(name):
    game = Game()
    optimizer = make(name, game)
    for _ in range(3):
        optimizer.step(game.loss)
    saved_state, saved_params = copy.deepcopy(optimizer.state_dict()), params_of(game)
    for _ in range(3):
        optimizer.step(game.loss)
    resumed = Game()
    with torch.no_grad():
        for p, v in zip(resumed.parameters(), saved_params):
            p.copy_(v)
    other = make(name, resumed)
    other.load_state_dict(saved_state)
    for _ in range(3):
        other.step(resumed.loss)
    for a, b in zip(game.parameters(), resumed.parameters()):
        assert torch.equal(a, b)


@names
def test_scheduler_scales_both_players(name):
    game = Game()
    optimizer = make(name, game)
    scheduler = torch.optim.lr_scheduler.StepLR(optimizer, step_size=1, gamma=0.5)
    lrs = [g["lr"] for g in optimizer.param_groups]
    optimizer.step(game.loss)
    scheduler.step()
    assert [g["lr"] for g in optimizer.param_groups] == [lr * 0.5 for lr in lrs]


def test_scheduled_lr_is_the_lr_used():
    # SimGD's update is -lr * grad: after halving lr the step is exactly half the gradient step
    x = torch.tensor([1.0], dtype=torch.float64, requires_grad=True)
    y = torch.tensor([2.0], dtype=torch.float64, requires_grad=True)
    optimizer = SimGD([x], [y], lr=0.1)
    scheduler = torch.optim.lr_scheduler.ExponentialLR(optimizer, gamma=0.5)
    optimizer.step(lambda: (x * y).sum())  # x = 1 - 0.2 = 0.8, y = 2 + 0.1 = 2.1
    scheduler.step()
    optimizer.step(lambda: (x * y).sum())
    assert x.item() == pytest.approx(0.8 - 0.05 * 2.1) and y.item() == pytest.approx(2.1 + 0.05 * 0.8)


@pytest.mark.parametrize("name", ["CGD", "ACGD"])
def test_warm_start_is_the_stored_solution_rescaled_to_the_new_step_sizes(name):
    game = Game()
    optimizer = make(name, game, tol=1e-10)
    optimizer.step(game.loss)
    generator = list(game.G.parameters())
    stored = torch.cat([optimizer.state[p]["cg_solution"].reshape(-1) for p in generator])
    root_eta = torch.rand(stored.numel(), dtype=torch.float64) + 0.5
    torch.testing.assert_close(optimizer._warm_start(generator, root_eta), stored * root_eta)


def test_warm_start_at_the_same_point_needs_no_iteration():
    game = Game()
    point = params_of(game)
    cold, warm = make("CGD", game, tol=1e-9, warm_start=False), make("CGD", game, tol=1e-9)
    for optimizer in (cold, warm, warm):  # warm solves the same system twice
        with torch.no_grad():
            for p, v in zip(game.parameters(), point):
                p.copy_(v)
        optimizer.step(game.loss)
    assert int(cold.step_stats["iterations"]) > 0
    assert int(warm.step_stats["iterations"]) == 0


@names
@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
def test_float32_and_float64_move_towards_lower_min_player_loss(name, dtype):
    """The min player's move lowers its loss to first order: for gradient descent-ascent,
    dx' grad_x f < 0 at the point where it moves (after the max player's move when alternating);
    for CGD and ACGD, its local game's objective, dx' (grad_x f + D_xy f dy) = -dx' eta_x^-1 dx < 0
    (the first-order condition of the local game, ICR paper Sec. 5); for SGA, whose correction may
    point against one player's gradient, the joint move: dx' grad_x f - dy' grad_y f = -lr |xi|^2."""
    game = Game(dtype=dtype)
    optimizer = make(name, game)
    xs, ys = list(game.G.parameters()), list(game.D.parameters())
    x0, y0 = [p.detach().clone() for p in xs], [p.detach().clone() for p in ys]
    optimizer.step(game.loss)
    assert all(p.dtype == dtype and bool(torch.isfinite(p).all()) for p in game.parameters())
    assert set(optimizer.step_stats) - {"sga_lambda", "evaluations"} == {
        "iterations",
        "relative_residual",
        "hvp_count",
        "converged",
        "grad_norm_min",
        "grad_norm_max",
    }
    assert all(v.dim() == 0 for v in optimizer.step_stats.values())
    dx = torch.cat([(p.detach() - a).reshape(-1) for p, a in zip(xs, x0)])
    dy = [p.detach() - b for p, b in zip(ys, y0)]
    moved = [p.detach().clone() for p in ys]
    with torch.no_grad():  # back to the start (or, alternating, the point where the min player moved)
        for p, a in zip(xs, x0):
            p.copy_(a)
        for p, b in zip(ys, y0 if name != "SimGD-alternating" else moved):
            p.copy_(b)
    grad_x = torch.autograd.grad(game.loss(), xs, create_graph=True)
    first_order = sum((g.reshape(-1) * d).sum() for g, d in zip(grad_x, dx.split([p.numel() for p in xs])))
    if name.startswith(("CGD", "ACGD")):  # + dx' D_xy f dy = d/dy (dx' grad_x f) . dy
        first_order = first_order + sum((g * d).sum() for g, d in zip(torch.autograd.grad(first_order, ys), dy))
    if name == "SGA":  # the joint move along xi = (grad_x f, -grad_y f): -lr |xi|^2, as A' xi is orthogonal to xi
        first_order = first_order - sum((g * d).sum() for g, d in zip(torch.autograd.grad(game.loss(), ys), dy))
    assert float(first_order.detach()) < 0.0


@pytest.mark.parametrize("name", [*OPTIMIZERS, *RECYCLING])
def test_a_nan_closure_leaves_parameters_and_state_untouched(name):
    game = Game()
    optimizer = make(name, game)
    optimizer.step(game.loss)
    state, params = copy.deepcopy(optimizer.state_dict()), params_of(game)
    with pytest.raises(FloatingPointError, match="not finite"):
        optimizer.step(lambda: game.loss() * float("nan"))
    assert all(torch.equal(a, b) for a, b in zip(params, params_of(game)))
    after = optimizer.state_dict()
    for key, entries in state["state"].items():
        for field, value in entries.items():
            assert torch.equal(torch.as_tensor(after["state"][key][field]), torch.as_tensor(value))


@names
@pytest.mark.parametrize("player", ["min", "max"])
@pytest.mark.parametrize("general_sum", [False, True])
@pytest.mark.parametrize("kind", ["inf", "nan"])
def test_one_non_finite_gradient_coordinate_under_a_finite_objective_fails_the_step(name, player, general_sum, kind):
    if general_sum and name in ZERO_SUM_ONLY:
        pytest.skip("SGA and ConOpt refuse general-sum closures (tests/test_game_optimizers.py)")
    x = torch.tensor([0.5, 1.0, -0.3], dtype=torch.float64, requires_grad=True)
    y = torch.tensor([0.2, -0.7], dtype=torch.float64, requires_grad=True)
    coupling = torch.tensor([[1.0, 0.5], [-0.3, 0.8], [0.2, 0.1]], dtype=torch.float64)
    optimizer = OPTIMIZERS[name]([x], [y])
    optimizer.step(lambda: x @ coupling @ y)  # a good first step: there is state to keep intact
    spoiled = x if player == "min" else y
    with torch.no_grad():
        spoiled[0] = 0.0  # sqrt is finite there, its derivative is not
    state, before = copy.deepcopy(optimizer.state_dict()), (x.detach().clone(), y.detach().clone())

    def closure():
        # d sqrt(v) / dv = inf at v = 0, and d (0 sqrt(v)) / dv = 0 * inf = NaN; f itself is finite
        kink = torch.sqrt(spoiled[0]) * (1.0 if kind == "inf" else 0.0)
        f = x @ coupling @ y + kink
        return (f, f + 0.1 * (x * x).sum()) if general_sum else f

    assert math.isfinite(float(closure()[0] if general_sum else closure()))
    with pytest.raises(FloatingPointError, match="not finite"):
        optimizer.step(closure)
    assert torch.equal(x.detach(), before[0]) and torch.equal(y.detach(), before[1])
    after = optimizer.state_dict()
    for key, entries in state["state"].items():
        for field, value in entries.items():
            assert torch.equal(torch.as_tensor(after["state"][key][field]), torch.as_tensor(value))


@names
def test_a_failed_first_step_leaves_no_state(name):
    game = Game()
    optimizer = make(name, game)
    with pytest.raises(FloatingPointError):
        optimizer.step(lambda: game.loss() * float("inf"))
    assert len(optimizer.state) == 0 and optimizer.step_stats == {}


def test_a_nan_in_the_second_alternating_evaluation_restores_the_max_player():
    game = Game()
    optimizer = make("SimGD-alternating", game)
    params, calls = params_of(game), []

    def closure():
        calls.append(1)
        return game.loss() * (float("nan") if len(calls) == 2 else 1.0)

    with pytest.raises(FloatingPointError):
        optimizer.step(closure)
    assert all(torch.equal(a, b) for a, b in zip(params, params_of(game)))


def test_alternating_simgd_steps_the_max_player_first():
    x = torch.tensor([1.0], dtype=torch.float64, requires_grad=True)
    y = torch.tensor([2.0], dtype=torch.float64, requires_grad=True)
    SimGD([x], [y], lr=0.1, alternating=True).step(lambda: (x * y).sum())
    # y <- 2 + 0.1 * 1 = 2.1, then x <- 1 - 0.1 * 2.1 = 0.79
    assert y.item() == pytest.approx(2.1) and x.item() == pytest.approx(0.79)
    with pytest.raises(ValueError, match="needs a closure"):
        SimGD([x], [y], alternating=True).step((x * y).sum())


@pytest.mark.parametrize("name", ["CGD", "ACGD"])
def test_max_iter_warns_once_and_reports_it(name):
    game = Game()
    optimizer = make(name, game, tol=1e-14, max_iter=1)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        for _ in range(3):
            optimizer.step(game.loss)
    assert len([w for w in caught if "max_iter" in str(w.message)]) == 1
    assert not bool(optimizer.step_stats["converged"])
    assert all(bool(torch.isfinite(p).all()) for p in game.parameters())


@pytest.mark.parametrize("name", ["CGD", "ACGD"])
def test_one_fused_read_per_step_besides_solver_checks(name):
    game = Game()
    optimizer = make(name, game, tol=1e-8, check_every=4)
    optimizer.step(game.loss)
    with DeviceReads() as reads:
        optimizer.step(game.loss)
    iterations = int(optimizer.step_stats["iterations"])
    assert reads.count <= 1 + -(-iterations // 4)


@names
def test_unused_frozen_and_zero_dim_parameters(name):
    x = torch.tensor(0.5, dtype=torch.float64, requires_grad=True)  # a player of one 0-dim tensor
    unused = torch.ones(3, dtype=torch.float64, requires_grad=True)
    frozen = torch.ones(2, dtype=torch.float64, requires_grad=False)
    y = torch.tensor(-0.3, dtype=torch.float64, requires_grad=True)
    optimizer = OPTIMIZERS[name]([x, unused], [y, frozen])
    optimizer.step(lambda: x * y + x**2 - y**2 + frozen.sum())
    assert x.item() != 0.5 and y.item() != -0.3
    assert torch.equal(unused, torch.ones(3, dtype=torch.float64)) and torch.equal(
        frozen, torch.ones(2, dtype=torch.float64)
    )
    assert frozen not in optimizer.state


def test_acgd_gives_a_parameter_unfrozen_later_its_own_bias_correction():
    # uncoupled game: D_xy f = 0, so each ACGD step is dx = -eta_x grad_x f exactly, with
    # eta = lr / (sqrt(v_t / (1 - beta^t)) + eps) and t counted per parameter (Algorithm 1)
    lr, beta, eps = 0.1, 0.9, 1e-3
    a = torch.tensor([0.8, -0.4], dtype=torch.float64, requires_grad=True)
    b = torch.tensor([0.3], dtype=torch.float64, requires_grad=False)  # frozen for the first step
    y = torch.tensor([0.5], dtype=torch.float64, requires_grad=True)
    optimizer = ACGD([a, b], [y], lr=lr, beta=beta, eps=eps)

    def f():
        return 0.5 * (a * a).sum() + 0.5 * (b * b).sum() - 0.5 * (y * y).sum()

    def expected(value, v_previous, t):
        v = beta * v_previous + (1 - beta) * value**2  # gradient of v^2 / 2 is v
        return value - lr / ((v / (1 - beta**t)).sqrt() + eps) * value, v

    a1, v_a = expected(a.detach().clone(), torch.zeros(2, dtype=torch.float64), 1)
    optimizer.step(f)
    torch.testing.assert_close(a.detach(), a1, rtol=1e-12, atol=0.0)
    b.requires_grad_(True)
    a2, _ = expected(a1, v_a, 2)
    b1, _ = expected(b.detach().clone(), torch.zeros(1, dtype=torch.float64), 1)
    optimizer.step(f)
    torch.testing.assert_close(a.detach(), a2, rtol=1e-12, atol=0.0)
    torch.testing.assert_close(b.detach(), b1, rtol=1e-12, atol=0.0)
    assert optimizer.state[a]["step"] == 2 and optimizer.state[b]["step"] == 1


@names
def test_zero_gradient_is_a_no_op(name):
    x = torch.zeros(2, dtype=torch.float64, requires_grad=True)
    y = torch.zeros(2, dtype=torch.float64, requires_grad=True)
    optimizer = OPTIMIZERS[name]([x], [y])
    for _ in range(2):
        optimizer.step(lambda: (x * y).sum() + (x**2).sum() - (y**2).sum())
    assert torch.count_nonzero(x) == 0 and torch.count_nonzero(y) == 0


CLASSES = {"SimGD": SimGD, "CGD": CGD, "ACGD": ACGD}


@pytest.mark.parametrize("cls", list(CLASSES.values()), ids=list(CLASSES))
@pytest.mark.parametrize(
    "kwargs, message",
    [
        (dict(lr=0.0), "Invalid lr value"),
        (dict(lr=-1.0), "Invalid lr value"),
        (dict(lr_min=0.0), "Invalid lr_min value"),
        (dict(lr_max=-0.1), "Invalid lr_max value"),
    ],
)
def test_invalid_step_sizes(cls, kwargs, message):
    with pytest.raises(ValueError, match=message):
        cls([torch.zeros(1, requires_grad=True)], [torch.zeros(1, requires_grad=True)], **kwargs)


@pytest.mark.parametrize(
    "kwargs, message",
    [
        (dict(eps=0.0), "Invalid eps value"),
        (dict(eps=-1e-8), "Invalid eps value"),
        (dict(beta=1.0), "Invalid beta value"),
        (dict(beta=-0.1), "Invalid beta value"),
        (dict(tol=-1.0), "Invalid tol value"),
        (dict(atol=-1.0), "Invalid atol value"),
        (dict(max_iter=0), "Invalid max_iter value"),
        (dict(gmres_restart=0), "Invalid gmres_restart value"),
    ],
)
def test_invalid_acgd_hyperparameters(kwargs, message):
    with pytest.raises(ValueError, match=message):
        ACGD([torch.zeros(1, requires_grad=True)], [torch.zeros(1, requires_grad=True)], **kwargs)


@pytest.mark.parametrize("cls", list(CLASSES.values()), ids=list(CLASSES))
def test_invalid_players(cls):
    a = torch.zeros(2, requires_grad=True)
    b = torch.zeros(2, requires_grad=True)
    with pytest.raises(ValueError, match="same tensor is in both players"):
        cls([a], [b, a])
    with pytest.raises(ValueError, match="min_params is empty"):
        cls([], [b])
    with pytest.raises(ValueError, match="max_params is empty"):
        cls([a], iter([]))
    with pytest.raises(ValueError, match="one dtype"):
        cls([a], [torch.zeros(2, dtype=torch.float64, requires_grad=True)])
    with pytest.raises(ValueError, match="one device"):
        cls([a], [torch.zeros(2, device="meta", requires_grad=True)])
    with pytest.raises(TypeError, match="single tensor"):
        cls(a, [b])


@names
def test_invalid_closures_raise_before_anything_changes(name):
    game = Game()
    optimizer = make(name, game)
    params = params_of(game)
    with pytest.raises(ValueError, match="must be a scalar"):
        optimizer.step(lambda: game.G(game.z).sum(dim=0))
    with pytest.raises(ValueError, match="no autograd graph"):
        optimizer.step(lambda: game.loss().detach())
    with pytest.raises(ValueError, match="no autograd graph"):
        optimizer.step(lambda: torch.ones((), dtype=torch.float64, requires_grad=True) * 2.0)
    with pytest.raises(TypeError, match="scalar tensor f or a pair"):
        optimizer.step(lambda: 1.0)
    assert all(torch.equal(a, b) for a, b in zip(params, params_of(game)))
    assert len(optimizer.state) == 0


@pytest.mark.parametrize("name", list(OPTIMIZERS))
def test_devices_agree_with_the_float64_cpu_reference(name, device):
    reference = Game()
    make(name, reference).step(reference.loss)
    game = Game(dtype=torch.float32).to(device)
    game.z, game.real = game.z.to(device), game.real.to(device)
    optimizer = make(name, game)
    returned = optimizer.step(game.loss)
    assert returned.device.type == device.type
    assert all(
        v.device.type == device.type
        for p in game.G.parameters()
        for v in optimizer.state[p].values()
        if isinstance(v, torch.Tensor)
    )
    for a, b in zip(reference.parameters(), game.parameters()):
        torch.testing.assert_close(b.double().cpu(), a.detach(), rtol=1e-4, atol=1e-5)


@names
def test_step_accepts_the_loss_tensor_itself(name):
    if name in TWO_EVALUATIONS:
        pytest.skip("two evaluations per step need a closure (tested above and in test_game_optimizers)")
    game, twin = Game(), Game()
    make(name, game).step(game.loss)
    loss = twin.loss()
    assert make(name, twin).step(loss) is loss
    assert all(torch.equal(a, b) for a, b in zip(game.parameters(), twin.parameters()))


@names
def test_pickled_optimizer_keeps_working(name):
    import pickle

    game = Game()
    optimizer = make(name, game)
    optimizer.step(game.loss)
    twin = copy.deepcopy(game)  # the same weights, for the unpickled optimizer to step
    clone = pickle.loads(pickle.dumps(optimizer))
    assert len(clone.param_groups) == 2 and clone.step_stats == {}
    with pytest.raises(ValueError, match=r"add_param_group needs the group.s player"):
        clone.add_param_group({"params": [torch.zeros(1, requires_grad=True)]})
    # pickled parameters are copies: the clone gets the twin's, and its state (loaded by position), and then
    # moves them exactly as the original moves the game's
    clone.param_groups[0]["params"], clone.param_groups[1]["params"] = (
        list(twin.G.parameters()),
        list(twin.D.parameters()),
    )
    clone.load_state_dict(copy.deepcopy(optimizer.state_dict()))  # a state_dict holds references, as torch.optim's do
    optimizer.step(game.loss)
    clone.step(twin.loss)
    assert all(torch.equal(a, b) for a, b in zip(game.parameters(), twin.parameters()))
    assert int(clone.step_stats["hvp_count"]) == int(optimizer.step_stats["hvp_count"])


def test_auto_warm_start_uses_the_cheaper_start_and_re_measures_the_other():
    game = Game()
    optimizer = make("CGD", game, tol=1e-8)
    generator = list(game.G.parameters())
    root_eta = torch.ones((), dtype=torch.float64)
    optimizer.step(game.loss)  # first step: nothing stored, cold start, not a cost sample
    solver = optimizer.state["solver"]
    assert "cold_hvps" not in solver and "warm_hvps" not in solver
    assert optimizer._warm_start(generator, root_eta) is not None  # a warm start is measured first
    optimizer._after_solve(True, 5, 12)  # costs are counted in Hessian-vector products
    assert solver["warm_hvps"] == 12.0
    assert optimizer._warm_start(generator, root_eta) is None  # then a cold one
    optimizer._after_solve(False, 3, 7)
    assert solver["cold_hvps"] == 7.0
    for _ in range(10):  # cold is cheaper: used for 10 steps, then warm is re-measured
        assert optimizer._warm_start(generator, root_eta) is None
        optimizer._after_solve(False, 3, 7)
    assert optimizer._warm_start(generator, root_eta) is not None
    optimizer._after_solve(True, 0, 4)  # a warm start that solved at once: 0.5 * 12 + 0.5 * 4 = 8
    assert solver["warm_hvps"] == pytest.approx(8.0) and solver["since_probe"] == 0
    assert optimizer._warm_start(generator, root_eta) is None  # still dearer than cold's 7
    optimizer._after_solve(False, 5, 11)  # cold got dearer: 0.5 * 7 + 0.5 * 11 = 9 > 8
    assert optimizer._warm_start(generator, root_eta) is not None
    always = make("CGD", game, tol=1e-8, warm_start=True)
    always.step(game.loss)
    always._after_solve(True, 50, 103)
    assert always._warm_start(generator, root_eta) is not None
    never = make("CGD", game, tol=1e-8, warm_start=False)
    never.step(game.loss)
    assert never._warm_start(generator, root_eta) is None
    with pytest.raises(ValueError, match="Invalid warm_start"):
        make("ACGD", game, warm_start="sometimes")


@pytest.mark.parametrize("check_every", [None, 4])
def test_a_zero_sum_warm_start_costs_one_hvp(check_every):
    # cold: b takes one D_xy product; warm: L s0 and one D_xy product of a combined vector give
    # the residual (competitive._symmetric_warm_start), so a warm start costs one product more
    game = Game()
    point = params_of(game)
    optimizer = make("CGD", game, tol=1e-9, warm_start=True, check_every=check_every)
    counts = []
    for _ in range(2):
        with torch.no_grad():
            for p, v in zip(game.parameters(), point):
                p.copy_(v)
        optimizer.step(game.loss)
        counts.append((int(optimizer.step_stats["hvp_count"]), int(optimizer.step_stats["iterations"])))
    (cold_hvps, cold_iterations), (warm_hvps, warm_iterations) = counts
    assert warm_iterations == 0
    if check_every is None:  # CPU default: a check after every iteration, nothing masked
        assert cold_hvps == 2 * cold_iterations + 1  # right-hand side + 2 per iteration; Delta y is free
        assert warm_hvps == 2  # the residual; the check before the first iteration finds it converged
    else:  # the accelerator schedule: first check after 4, then where the last solve converged
        assert cold_hvps == 2 * max(cold_iterations, 4) + 1
        assert warm_hvps == 2 + 2 * cold_iterations


@pytest.mark.parametrize("alternating", [False, True])
def test_simgd_general_sum_with_shared_nodes(alternating):
    """f_min and f_max built on one intermediate (as a GAN's losses share D's output): the second
    gradient pass must still find the graph. Each player takes its plain gradient step; alternating
    SimGD moves the max player first and the min player answers the new y."""
    x = torch.tensor([0.5, -1.0], dtype=torch.float64, requires_grad=True)
    y = torch.tensor([2.0, 0.3], dtype=torch.float64, requires_grad=True)

    def objectives(a, b):
        shared = torch.tanh(a * b)
        return shared.sum() ** 2, -(shared - 0.1).pow(2).sum()

    x0, y0 = x.detach().clone(), y.detach().clone()
    y_leaf = y0.clone().requires_grad_(True)
    y1 = y0 + 0.1 * torch.autograd.grad(objectives(x0, y_leaf)[1], y_leaf)[0]
    x_leaf = x0.clone().requires_grad_(True)
    x1 = x0 - 0.1 * torch.autograd.grad(objectives(x_leaf, y1 if alternating else y0)[0], x_leaf)[0]
    SimGD([x], [y], lr=0.1, alternating=alternating).step(lambda: objectives(x, y))
    torch.testing.assert_close(y.detach(), y1)
    torch.testing.assert_close(x.detach(), x1)


@pytest.mark.parametrize("bad", [float("nan"), float("inf"), -float("inf")])
def test_the_finiteness_check_sees_one_bad_element_and_no_overflow(bad):
    from cgd_optim._base import TwoPlayerOptimizer

    large = torch.full((1000,), 3e38, dtype=torch.float32)  # its sum would overflow float32
    assert float(TwoPlayerOptimizer._finiteness(large, -large, torch.empty(0), torch.tensor(1.0))) == 0.0
    assert float(TwoPlayerOptimizer._finiteness(torch.empty(0))) == 0.0
    spoiled = large.clone().reshape(10, 100)
    spoiled[5, 17] = bad
    assert math.isnan(float(TwoPlayerOptimizer._finiteness(torch.ones(3), spoiled)))
    assert math.isnan(float(TwoPlayerOptimizer._finiteness(torch.tensor(bad), torch.ones(3))))
