"""``recycle=k`` on CGD and ACGD: the previous solve's CG pairs precondition the next solve.

Facts checked: with the option off nothing changes (bitwise, and no state); on a system that does
not change from step to step the pairs cut the next solve's iterations while the step stays the
dense reference's to the solver's tolerance; the pairs are state like any other (committed after
the finiteness check, bit-identical resume, size-checked loads); no extra host read on the
accelerator schedule; misuse is refused before anything changes. (The bit-identical resume and
the NaN closure run with recycle in tests/test_optimizer_api.py.)
"""

import copy
import warnings

import pytest
import torch
from torch import nn

from benchmarks.device_reads import DeviceReads
from cgd_optim import ACGD, CGD, compat
from cgd_optim.games import QuadraticGame, cgd_step

RECYCLED = ("recycled_directions", "recycled_products")


class Game(nn.Module):
    """A small GAN-shaped zero-sum game (OGAN value) on fixed data, float64."""

    def __init__(self, seed: int = 0):
        super().__init__()
        torch.manual_seed(seed)
        self.G = nn.Sequential(nn.Linear(2, 8), nn.Tanh(), nn.Linear(8, 2)).double()
        self.D = nn.Sequential(nn.Linear(2, 8), nn.Tanh(), nn.Linear(8, 1)).double()
        self.z = torch.randn(16, 2, dtype=torch.float64)
        self.real = torch.randn(16, 2, dtype=torch.float64) + 1.0

    def loss(self):
        return (
            -nn.functional.softplus(-self.D(self.real)).mean() - nn.functional.softplus(self.D(self.G(self.z))).mean()
        )


def coupled_game(n: int = 60, rank: int = 6) -> QuadraticGame:
    """A zero-sum quadratic game whose coupling has ``rank`` large singular values: M has that many outliers."""
    generator = torch.Generator().manual_seed(3)
    coupling = torch.randn(n, rank, generator=generator, dtype=torch.float64) @ torch.randn(
        rank, n, generator=generator, dtype=torch.float64
    )
    eye = torch.eye(n, dtype=torch.float64)
    return QuadraticGame(
        0.5 * eye,
        coupling,
        -0.5 * eye,
        torch.randn(n, generator=generator, dtype=torch.float64),
        torch.randn(n, generator=generator, dtype=torch.float64),
    )


def test_off_by_default_bitwise_and_without_state():
    games, optimizers = [Game(), Game()], []
    for game, options in zip(games, ({}, {"recycle": 0})):
        optimizers.append(ACGD(game.G.parameters(), game.D.parameters(), lr=0.01, **options))
        for _ in range(3):
            optimizers[-1].step(game.loss)
    assert all(torch.equal(a, b) for a, b in zip(games[0].parameters(), games[1].parameters()))
    assert optimizers[0].solver_options.recycle == 0
    assert not any(key in entry for entry in optimizers[0].state.values() for key in RECYCLED)


def test_pairs_of_an_unchanging_system_cut_the_next_solve_and_keep_the_reference_step():
    game = coupled_game()
    iterations = {}
    for k in (0, 6):
        x = torch.zeros(game.n, dtype=torch.float64, requires_grad=True)
        y = torch.zeros(game.m, dtype=torch.float64, requires_grad=True)
        # CGD: constant step sizes, so every step of a quadratic game solves the same matrix M
        optimizer = CGD([x], [y], lr=0.1, tol=1e-10, max_iter=200, warm_start=False, recycle=k)
        counts = []
        for _ in range(2):
            start_x, start_y = x.detach().clone(), y.detach().clone()
            optimizer.step(game.closure(x, y))
            counts.append(int(optimizer.step_stats["iterations"]))
        dx, dy = cgd_step(game, start_x, start_y, 0.1, 0.1)
        assert torch.allclose(x.detach() - start_x, dx, rtol=1e-7, atol=1e-12)
        assert torch.allclose(y.detach() - start_y, dy, rtol=1e-7, atol=1e-12)
        iterations[k] = counts
    # the first solve has no pairs yet; then the 6 pairs of the rank-6 coupling leave 2 iterations of 7
    # (the figure docs/performance.md cites)
    assert iterations == {0: [7, 7], 6: [7, 2]}


def test_pairs_are_rows_per_parameter_and_a_failed_step_leaves_them():
    game = Game()
    optimizer = ACGD(game.G.parameters(), game.D.parameters(), lr=0.01, recycle=2)
    optimizer.step(game.loss)
    for p in game.G.parameters():
        for key in RECYCLED:
            assert optimizer.state[p][key].shape == (2, p.numel())
    for p in game.D.parameters():  # only the solved (min) player's system has pairs
        assert not any(key in optimizer.state[p] for key in RECYCLED)
    saved = copy.deepcopy(optimizer.state_dict())
    with pytest.raises(FloatingPointError):
        optimizer.step(lambda: game.loss() * float("nan"))
    after = optimizer.state_dict()["state"]
    for index, entry in saved["state"].items():
        for key, value in entry.items():
            assert torch.equal(torch.as_tensor(after[index][key]), torch.as_tensor(value)), key


def test_load_refuses_pairs_of_another_size():
    game = Game()
    optimizer = ACGD(game.G.parameters(), game.D.parameters(), lr=0.01, recycle=2)
    optimizer.step(game.loss)
    state = copy.deepcopy(optimizer.state_dict())
    state["state"][0]["recycled_directions"] = torch.zeros(2, 5, dtype=torch.float64)
    fresh = ACGD(Game().G.parameters(), Game().D.parameters(), lr=0.01, recycle=2)
    with pytest.raises(ValueError, match="'recycled_directions' 5"):
        fresh.load_state_dict(state)
    assert fresh.state_dict()["state"] == {}


def test_no_extra_host_read_on_the_accelerator_schedule():
    generator = torch.Generator().manual_seed(0)
    coupling = torch.randn(50, 50, generator=generator, dtype=torch.float64)
    x = torch.randn(50, generator=generator, dtype=torch.float64, requires_grad=True)
    y = torch.randn(50, generator=generator, dtype=torch.float64, requires_grad=True)
    counts = {}
    for k in (0, 4):
        optimizer = ACGD([x], [y], lr=0.05, tol=0.0, max_iter=30, check_every=4, recycle=k)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # max_iter is reached on purpose
            optimizer.step(lambda: x @ coupling @ y)
            with DeviceReads() as reads:
                optimizer.step(lambda: x @ coupling @ y)
        counts[k] = reads.count
    assert counts[4] == counts[0] <= 2


def test_misuse_is_refused_before_anything_changes():
    game = Game()
    for bad in (-1, 1.5, True, "4"):
        with pytest.raises(ValueError, match="Invalid recycle value"):
            ACGD(game.G.parameters(), game.D.parameters(), recycle=bad)
    optimizer = CGD(game.G.parameters(), game.D.parameters(), lr=0.01, recycle=2)
    weights = [p.detach().clone() for p in game.parameters()]
    with pytest.raises(ValueError, match=r"recycle applies to conjugate gradient.*zero-sum"):
        optimizer.step(lambda: (game.loss(), 2 * game.loss()))
    assert all(torch.equal(a, b) for a, b in zip(weights, game.parameters())) and not optimizer.state
    for cls, players in (
        (compat.ACGD, (game.D.parameters(), game.G.parameters())),
        (compat.BCGD, (game.D.parameters(), game.G.parameters())),
    ):
        with pytest.raises(ValueError, match="alternates the solved side"):
            cls(*players, recycle=2)
    with pytest.raises(ValueError, match="joint general-sum system"):
        compat.GACGD(game.G.parameters(), game.D.parameters(), recycle=2)
