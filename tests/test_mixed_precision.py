"""Mixed precision: bfloat16 autocast inside the closure, and float16 with the optimizers' own
dynamic loss scaling (skip a non-finite step, halve the scale, grow it after a run of good steps,
resume bitwise). On the CPU, as CI runs them; the same on CUDA where a GPU is lent."""

import copy

import pytest
import torch
from torch import nn

from cgd_optim import ACGD, CGD, SGA, ExtraAdam, LossScaling, ProximalMinimax, SimGD, compat
from cgd_optim.testing import state_differences

DEVICES = ["cpu", *(["cuda"] if torch.cuda.is_available() else [])]


def players(device="cpu"):
    torch.manual_seed(0)
    G = nn.Sequential(nn.Linear(2, 16), nn.Tanh(), nn.Linear(16, 2)).to(device)
    D = nn.Sequential(nn.Linear(2, 16), nn.Tanh(), nn.Linear(16, 1)).to(device)
    return G, D


def batch(step: int, device="cpu"):
    generator = torch.Generator().manual_seed(step)
    return (torch.randn(32, 2, generator=generator) + 1).to(device), torch.randn(32, 2, generator=generator).to(device)


def value(G, D, real, z, dtype=None, device="cpu"):
    """OGAN value, under autocast to ``dtype`` when given; the returned scalar in float32."""
    with torch.autocast(device, dtype=dtype, enabled=dtype is not None):
        out = -(nn.functional.softplus(-D(real)).mean() + nn.functional.softplus(D(G(z))).mean())
    return out.float()


MAKERS = {
    "ACGD": lambda G, D, **kw: ACGD(G.parameters(), D.parameters(), lr=1e-2, **kw),
    "CGD": lambda G, D, **kw: CGD(G.parameters(), D.parameters(), lr=1e-2, **kw),
    "SimGD": lambda G, D, **kw: SimGD(G.parameters(), D.parameters(), lr=1e-2, **kw),
    "SimGD-alternating": lambda G, D, **kw: SimGD(G.parameters(), D.parameters(), lr=1e-2, alternating=True, **kw),
    "SGA": lambda G, D, **kw: SGA(G.parameters(), D.parameters(), lr=1e-2, rmsprop=0.9, **kw),
    "ExtraAdam": lambda G, D, **kw: ExtraAdam(G.parameters(), D.parameters(), lr=1e-2, **kw),
    "compat.ACGD": lambda G, D, **kw: compat.ACGD(D.parameters(), G.parameters(), lr_max=1e-2, lr_min=1e-2, **kw),
    "compat.BCGD": lambda G, D, **kw: compat.BCGD(D.parameters(), G.parameters(), lr_max=1e-2, lr_min=1e-2, **kw),
}


def train(optimizer, G, D, steps, *, dtype=None, poison=(), start=0, device="cpu"):
    """``steps`` steps on fresh batches; at the steps in ``poison`` the value is multiplied by inf."""
    for t in range(start, start + steps):
        real, z = batch(t, device)
        factor = float("inf") if t in poison else 1.0
        optimizer.step(lambda real=real, z=z, factor=factor: value(G, D, real, z, dtype, device) * factor)


@pytest.mark.parametrize("device", DEVICES)
@pytest.mark.parametrize("name", ["CGD", "SimGD"])
def test_a_bfloat16_closure_steps_within_bfloat16s_precision_of_float32_and_keeps_float32_state(name, device):
    """CGD and SimGD: steps linear in the gradients, so the step's error is the gradients' (ACGD's
    first step divides each gradient by its own magnitude: below the eps floor, bfloat16's error
    in a tiny gradient is the step's, which the next test bounds only in dtype and finiteness)."""
    G, D = players(device)
    G32, D32 = copy.deepcopy(G), copy.deepcopy(D)
    optimizer, reference = MAKERS[name](G, D), MAKERS[name](G32, D32)
    start = [p.detach().clone() for p in [*G.parameters(), *D.parameters()]]
    train(optimizer, G, D, 1, dtype=torch.bfloat16, device=device)
    train(reference, G32, D32, 1, device=device)
    moved = torch.cat([(p.detach() - s).reshape(-1) for p, s in zip([*G.parameters(), *D.parameters()], start)])
    moved32 = torch.cat([(p.detach() - s).reshape(-1) for p, s in zip([*G32.parameters(), *D32.parameters()], start)])
    assert float((moved - moved32).norm()) <= 3e-2 * float(moved32.norm())  # bfloat16: 8 bits of mantissa
    assert all(p.dtype == torch.float32 for p in G.parameters())
    assert all(
        v.dtype == torch.float32
        for s in optimizer.state.values()
        if isinstance(s, dict)
        for v in s.values()
        if isinstance(v, torch.Tensor) and v.is_floating_point()
    )


@pytest.mark.parametrize("device", DEVICES)
@pytest.mark.parametrize("name", list(MAKERS))
def test_float16_with_loss_scaling_skips_exactly_the_overflowing_step_and_halves_the_scale(name, device):
    G, D = players(device)
    optimizer = MAKERS[name](G, D, loss_scaling=LossScaling(init_scale=2.0**10, growth_interval=1000))
    train(optimizer, G, D, 3, dtype=torch.float16, device=device)
    assert optimizer.state["loss_scaling"] == {"scale": 2.0**10, "growth_tracker": 3, "skipped_steps": 0}
    before = ([p.detach().clone() for p in [*G.parameters(), *D.parameters()]], copy.deepcopy(optimizer.state_dict()))
    train(optimizer, G, D, 1, dtype=torch.float16, poison={3}, start=3, device=device)
    assert all(torch.equal(a, p) for a, p in zip(before[0], [*G.parameters(), *D.parameters()]))
    scaler = optimizer.state_dict()["state"].pop("loss_scaling")
    saved = before[1]["state"].pop("loss_scaling")
    assert (
        state_differences(
            before[1],
            optimizer.state_dict()
            | {"state": {k: v for k, v in optimizer.state_dict()["state"].items() if k != "loss_scaling"}},
        )
        == []
    )
    assert scaler == {"scale": saved["scale"] / 2, "growth_tracker": 0, "skipped_steps": 1}
    assert (float(optimizer.step_stats["loss_scale"]), int(optimizer.step_stats["skipped_steps"])) == (2.0**10, 1)
    train(optimizer, G, D, 2, dtype=torch.float16, start=4, device=device)  # and it trains on
    assert optimizer.state["loss_scaling"]["skipped_steps"] == 1
    assert all(torch.isfinite(p).all() for p in G.parameters())


@pytest.mark.parametrize("device", DEVICES)
def test_acgd_under_bfloat16_autocast_keeps_its_solve_and_state_in_float32(device):
    G, D = players(device)
    optimizer = MAKERS["ACGD"](G, D)
    train(optimizer, G, D, 3, dtype=torch.bfloat16, device=device)
    assert all(p.dtype == torch.float32 and bool(torch.isfinite(p).all()) for p in G.parameters())
    assert {
        v.dtype
        for s in optimizer.state.values()
        if isinstance(s, dict)
        for v in s.values()
        if isinstance(v, torch.Tensor) and v.is_floating_point()
    } == {torch.float32}
    assert optimizer.step_stats["relative_residual"].dtype == torch.float32


def test_the_general_sum_gacgd_skips_a_step_whose_losses_overflow():
    G, D = players()
    optimizer = compat.GACGD(
        G.parameters(), D.parameters(), lr_x=1e-2, lr_y=1e-2, loss_scaling=LossScaling(init_scale=2.0**10)
    )
    real, z = batch(0)

    def losses(factor=1.0):  # x (G) minimizes the non-saturating loss, y (D) its own: a general-sum pair
        with torch.autocast("cpu", dtype=torch.float16):
            fake, real_out = D(G(z)), D(real)
            loss_g = nn.functional.softplus(-fake).mean().float() * factor
            loss_d = (nn.functional.softplus(-real_out).mean() + nn.functional.softplus(fake).mean()).float()
        return loss_g, loss_d

    optimizer.step(*losses())
    start = [p.detach().clone() for p in [*G.parameters(), *D.parameters()]]
    optimizer.step(*losses(float("inf")))
    assert all(torch.equal(a, p) for a, p in zip(start, [*G.parameters(), *D.parameters()]))
    assert optimizer.state["loss_scaling"] == {"scale": 2.0**9, "growth_tracker": 0, "skipped_steps": 1}


def test_the_scale_grows_after_growth_interval_good_steps():
    G, D = players()
    optimizer = ACGD(
        G.parameters(), D.parameters(), lr=1e-2, loss_scaling=LossScaling(init_scale=8.0, growth_interval=2)
    )
    train(optimizer, G, D, 5, dtype=torch.float16)
    assert optimizer.state["loss_scaling"] == {"scale": 32.0, "growth_tracker": 1, "skipped_steps": 0}


@pytest.mark.parametrize("name", ["ACGD", "SimGD", "SGA", "ExtraAdam"])
def test_a_resumed_loss_scaled_run_continues_bitwise(name):
    G, D = players()
    optimizer = MAKERS[name](G, D, loss_scaling=LossScaling(init_scale=2.0**12, growth_interval=2))
    train(optimizer, G, D, 3, dtype=torch.float16, poison={1})
    saved = copy.deepcopy((G.state_dict(), D.state_dict(), optimizer.state_dict()))
    train(optimizer, G, D, 3, dtype=torch.float16, start=3)
    G2, D2 = players()
    G2.load_state_dict(saved[0])
    D2.load_state_dict(saved[1])
    resumed = MAKERS[name](G2, D2, loss_scaling=LossScaling(init_scale=2.0**12, growth_interval=2))
    resumed.load_state_dict(saved[2])
    train(resumed, G2, D2, 3, dtype=torch.float16, start=3)
    assert all(
        torch.equal(a, b) for a, b in zip([*G.parameters(), *D.parameters()], [*G2.parameters(), *D2.parameters()])
    )
    assert resumed.state["loss_scaling"] == optimizer.state["loss_scaling"]


def test_proximal_training_with_loss_scaling_skips_and_restores():
    G, D = players()
    proximal = ProximalMinimax(
        D,
        min_optimizer=torch.optim.Adam(G.parameters(), lr=1e-3),
        max_optimizer=torch.optim.Adam(D.parameters(), lr=1e-3),
        inner_steps=2,
        penalty="parameter",
        loss_scaling=LossScaling(init_scale=2.0**10),
    )
    real, z = batch(0)
    proximal.step(lambda: value(G, D, real, z, torch.float16), real)
    before = ([p.detach().clone() for p in [*G.parameters(), *D.parameters()]], copy.deepcopy(proximal.state_dict()))
    proximal.step(lambda: value(G, D, real, z, torch.float16) * float("inf"), real)
    assert all(torch.equal(a, p) for a, p in zip(before[0], [*G.parameters(), *D.parameters()]))
    state = proximal.state_dict()
    assert state["loss_scaling"] == {"scale": 2.0**9, "growth_tracker": 0, "skipped_steps": 1}
    assert state_differences(before[1]["max_optimizer"], state["max_optimizer"]) == []
    assert proximal.step_count == 1


def test_without_loss_scaling_a_non_finite_step_still_raises_and_loss_scaling_is_checked():
    G, D = players()
    optimizer = ACGD(G.parameters(), D.parameters(), lr=1e-2)
    with pytest.raises(FloatingPointError):
        train(optimizer, G, D, 1, poison={0})
    with pytest.raises(TypeError, match=r"loss_scaling.*GradScaler refuses closures"):
        ACGD(G.parameters(), D.parameters(), loss_scaling=torch.amp.GradScaler("cpu"))
    with pytest.raises(ValueError, match="Invalid backoff_factor value: 2"):
        LossScaling(backoff_factor=2)
