"""cgd_optim.compat against the ICR authors' cgds (the same iterates), and its own contracts:
set_lr's rescaling, get_info without device reads during the step, state round trips, the errors."""

import contextlib
import copy
import io
import math
import subprocess
import sys

import pytest
import torch
from dependencies import required

from benchmarks import problems
from benchmarks.acgd_vs_cgds import flat_params
from benchmarks.device_reads import DeviceReads
from cgd_optim import compat
from cgd_optim.games import QuadraticGame, cgd_step
from cgd_optim.testing import state_differences

CGDs = required("CGDs")
SCRIPTS = dict(tol=1e-10, atol=1e-14)  # the authors' training scripts' tolerances


@contextlib.contextmanager
def default_dtype(dtype):
    previous = torch.get_default_dtype()
    torch.set_default_dtype(dtype)  # cgds allocates its solver's vectors in the default dtype
    try:
        yield
    finally:
        torch.set_default_dtype(previous)


def side_by_side(make_ours, make_theirs, build, steps, general=False):
    """Largest, over steps and players, of |ours - theirs| / |distance ours moved|."""
    ours_game, theirs_game = build(), build()
    ours, theirs = make_ours(ours_game), make_theirs(theirs_game)
    n = sum(p.numel() for p in ours_game.min_params)
    start, worst = flat_params(ours_game), 0.0
    for step in range(steps):
        for game, optimizer in ((ours_game, ours), (theirs_game, theirs)):
            value = game.value(game.batch(step))
            with contextlib.redirect_stdout(io.StringIO()):  # cgds prints
                optimizer.step(value, -value) if general else optimizer.step(value)
        moved, gap = flat_params(ours_game) - start, flat_params(ours_game) - flat_params(theirs_game)
        worst = max(worst, *(float(gap[part].norm() / moved[part].norm()) for part in (slice(0, n), slice(n, None))))
    return worst


def mlp(hidden=16):
    return lambda: problems.mlp_gan(torch.float64, 0, hidden=hidden, batch_size=32)


def dcgan8():
    return problems.dcgan(torch.float32, 0, width=8, batch_size=16)


def test_acgd_and_bcgd_follow_cgds_to_round_off_in_float64():
    # lr 1e-2 (ACGD: 4 CG iterations a step) and 0.3 (BCGD: 2-3); both systems, alternating, warm-started
    with default_dtype(torch.float64):
        acgd = dict(lr_max=1e-2, lr_min=1e-2, **SCRIPTS)
        assert (
            side_by_side(
                lambda g: compat.ACGD(g.max_params, g.min_params, **acgd),
                lambda g: CGDs.ACGD(g.max_params, g.min_params, **acgd),
                mlp(),
                5,
            )
            < 1e-8
        )
        bcgd = dict(lr_max=0.3, lr_min=0.3, **SCRIPTS)
        assert (
            side_by_side(
                lambda g: compat.BCGD(g.max_params, g.min_params, **bcgd),
                lambda g: CGDs.BCGD(g.max_params, g.min_params, **bcgd),
                mlp(),
                5,
            )
            < 1e-8
        )


def test_gacgd_follows_cgds_to_round_off_in_float64():
    options = dict(lr_x=0.3, lr_y=0.3, **SCRIPTS)  # 15-28 GMRES iterations a step
    with default_dtype(torch.float64):
        assert (
            side_by_side(
                lambda g: compat.GACGD(g.min_params, g.max_params, **options),
                lambda g: CGDs.GACGD(g.min_params, g.max_params, **options),
                mlp(8),
                5,
                general=True,
            )
            < 1e-8
        )


@pytest.mark.parametrize("name", ["ACGD", "BCGD", "GACGD"])
def test_the_icr_dcgan_at_width_8_follows_cgds_in_float32(name):
    if name == "GACGD":
        options = dict(lr_x=1e-3, lr_y=1e-3, max_iter=30, **SCRIPTS)
        ours, theirs = (lambda g: cls(g.min_params, g.max_params, **options) for cls in (compat.GACGD, CGDs.GACGD))
    else:
        options = dict(lr_max=1e-3, lr_min=1e-3, **SCRIPTS)
        ours, theirs = (
            lambda g, cls=cls: cls(g.max_params, g.min_params, **options)
            for cls in (getattr(compat, name), getattr(CGDs, name))
        )
    assert side_by_side(ours, theirs, dcgan8, 4, general=name == "GACGD") < 1e-4


def quadratic_players(seed=0):
    game = QuadraticGame.random(3, 2, seed=seed)
    x = torch.randn(3, dtype=torch.float64).requires_grad_()
    y = torch.randn(2, dtype=torch.float64).requires_grad_()
    return game, x, y


def test_set_lr_rescales_stored_warm_starts_by_the_root_of_old_over_new_as_the_repository_does():
    game, x, y = quadratic_players()
    optimizer = compat.ACGD([y], [x], lr_max=0.1, lr_min=0.1, **SCRIPTS)
    optimizer.step(game.value(x, y))
    stored = {p: optimizer.state[p]["compat_solution"].clone() for p in (x, y)}
    optimizer.set_lr(lr_max=0.1 * (1 + 1e-4), lr_min=0.025)  # max ratio within 1e-3: kept as it is
    assert torch.equal(optimizer.state[y]["compat_solution"], stored[y])
    torch.testing.assert_close(optimizer.state[x]["compat_solution"], stored[x] * math.sqrt(0.1 / 0.025))  # x 2
    assert [g["lr"] for g in optimizer.param_groups] == [0.025, 0.1 * (1 + 1e-4)]
    bcgd = compat.BCGD([y], [x], lr_max=0.1, lr_min=0.1)
    bcgd.step(game.value(x, y))
    before = bcgd.state[x]["compat_solution"].clone()
    bcgd.set_lr(0.1, 0.025)  # the repository's BCGD only stores the rates
    assert torch.equal(bcgd.state[x]["compat_solution"], before)


def test_get_info_reports_their_keys_read_only_when_asked():
    game, x, y = quadratic_players()
    reads = []
    for collect_info in (False, True):
        x_run, y_run = x.detach().clone().requires_grad_(), y.detach().clone().requires_grad_()
        optimizer = compat.ACGD([y_run], [x_run], lr_max=0.1, lr_min=0.1, collect_info=collect_info, **SCRIPTS)
        gradient_x, gradient_y = (
            game.grad_x(x_run.detach(), y_run.detach()),
            game.grad_y(x_run.detach(), y_run.detach()),
        )
        start = torch.cat([x_run, y_run]).detach()
        with DeviceReads() as counter:
            optimizer.step(game.value(x_run, y_run))
        reads.append(counter.count)
    assert reads[0] == reads[1]  # collecting the info adds no read to the step
    info = optimizer.get_info()
    assert set(info) == set(compat.INFO_KEYS)
    assert info["grad_x"] == pytest.approx(float(gradient_y.norm()))  # their "x" is the max player
    assert info["grad_y"] == pytest.approx(float(gradient_x.norm()))
    assert info["cg_x"] == pytest.approx(float((y_run.detach() - start[3:]).norm()))
    assert info["iter_num"] == int(optimizer.step_stats["iterations"]) and isinstance(info["iter_num"], int)
    assert math.isnan(info["hvp_y"]) and info["hvp_x"] > 0  # the first step solves the max player's system
    assert compat.ACGD([y], [x]).get_info()["iter_num"] is None


def test_a_state_round_trip_continues_bit_identically_and_the_authors_states_are_refused():
    game, x, y = quadratic_players()
    optimizer = compat.ACGD([y], [x], lr_max=0.05, lr_min=0.05, **SCRIPTS)
    for _ in range(3):
        optimizer.step(game.value(x, y))
    saved, x2, y2 = (
        copy.deepcopy(optimizer.state_dict()),
        x.detach().clone().requires_grad_(),
        y.detach().clone().requires_grad_(),
    )
    resumed = compat.ACGD([y2], [x2], lr_max=0.05, lr_min=0.05, **SCRIPTS)
    with contextlib.redirect_stdout(io.StringIO()) as printed:
        resumed.load_state_dict(saved)
    assert printed.getvalue() == ""
    for _ in range(3):
        optimizer.step(game.value(x, y))
        resumed.step(game.value(x2, y2))
    assert torch.equal(x, x2) and torch.equal(y, y2)
    theirs = CGDs.ACGD([y.detach().clone().requires_grad_()], [x.detach().clone().requires_grad_()])
    with pytest.raises(ValueError, match="a state saved by the authors' ACGD"):
        resumed.load_state_dict(theirs.state_dict())


def test_bcgd_momentum_moves_by_the_bias_corrected_average_of_the_solved_updates():
    """m_t = mu m_(t-1) + (1 - mu) c_t with c_t the CGD update over eta at the current point (the
    dense step); the players move by eta m_t / (1 - mu^t) (optims.BCGD)."""
    game, x, y = quadratic_players(1)
    eta, mu = 0.1, 0.9
    optimizer = compat.BCGD([y], [x], lr_max=eta, lr_min=eta, momentum=mu, tol=1e-30, atol=0.0)
    average = torch.zeros(5, dtype=torch.float64)
    for t in range(1, 5):
        here = torch.cat([x, y]).detach()
        solved = torch.cat(cgd_step(game, here[:3], here[3:], eta, eta)) / eta
        average = mu * average + (1 - mu) * solved
        optimizer.step(game.value(x, y))
        torch.testing.assert_close(
            torch.cat([x, y]).detach() - here, eta * average / (1 - mu**t), rtol=1e-10, atol=1e-12
        )


def test_what_cannot_be_honoured_is_refused_by_name():
    _, x, y = quadratic_players()
    with pytest.raises(ValueError, match="solver='gd' is not supported: the supported value is 'cg'"):
        compat.ACGD([y], [x], solver="gd")
    with pytest.raises(ValueError, match=r"max_reducer is not supported.*process_group"):
        compat.ACGD([y], [x], max_reducer=object())
    with pytest.raises(ValueError, match="update_max"):
        compat.BCGD([y], [x], update_max=True)
    with pytest.raises(ValueError, match="track_cond is not supported"):
        compat.GACGD([x], [y], track_cond=lambda loss, step: True)
    with pytest.raises(TypeError, match="lr_maxx"):
        compat.ACGD([y], [x], lr_maxx=1e-3)  # a typo fails: no **kwargs
    compat.ACGD([y], [x], 1e-3, 1e-3, 1e-5, 0.99, 1e-12, 1e-20, torch.device("cuda"), False, True, "cg")  # their order


def test_compat_imports_neither_cgds_nor_optims():
    code = (
        "import sys; sys.modules.update({'CGDs': None, 'optims': None}); "
        "from cgd_optim.compat import ACGD, BCGD, GACGD; print('ok')"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert result.stdout.strip() == "ok", result.stderr


def test_a_non_finite_step_raises_and_changes_nothing_instead_of_writing_nan_weights():
    game, x, y = quadratic_players()
    optimizer = compat.ACGD([y], [x], lr_max=0.05, lr_min=0.05)
    optimizer.step(game.value(x, y))
    before, state = (x.detach().clone(), y.detach().clone()), copy.deepcopy(optimizer.state_dict())
    with pytest.raises(FloatingPointError):
        optimizer.step(game.value(x, y) * float("nan"))
    assert torch.equal(x, before[0]) and torch.equal(y, before[1])
    assert state_differences(state, optimizer.state_dict()) == []


def test_the_authors_classes_keep_one_group_per_player():
    _, x, y = quadratic_players()
    for optimizer in (compat.ACGD([y], [x]), compat.BCGD([y], [x]), compat.GACGD([x], [y])):
        with pytest.raises(ValueError, match="keeps the authors' two groups"):
            optimizer.add_param_group({"params": [torch.zeros(1, requires_grad=True)], "player": "min"})
        assert len(optimizer.param_groups) == 2
