r"""Property testing of two-player optimizers on quadratic games: hypothesis strategies and
assertion helpers with readable failure messages.

Needs hypothesis (``pip install hypothesis``); the games and dense references themselves are in
:mod:`cgd_optim.games`, which needs torch only.  Helpers receive an optimizer *factory*,
``make_optimizer(min_params, max_params) -> optimizer``, called with fresh float64 leaf tensors
(one per player), so the same helper checks ours and a user's optimizer alike::

    @given(game=quadratic_games(), rates=step_sizes())
    def test_my_cgd(game, rates):
        lr_min, lr_max = rates
        assert_matches_reference(lambda xs, ys: MyCGD(xs, ys, lr_min=lr_min, lr_max=lr_max),
                                 game, steps=3, reference=CGDReference(lr_min, lr_max))
"""

from __future__ import annotations

import warnings
from collections.abc import Callable
from typing import Any

import torch
from torch import Tensor

try:
    from hypothesis import assume
    from hypothesis import strategies as st
except ImportError as error:  # pragma: no cover - exercised in a process without hypothesis
    raise ImportError(
        "cgd_optim.testing needs hypothesis: pip install hypothesis (cgd_optim.games works without it)"
    ) from error

from .games import GeneralSumQuadraticGame, QuadraticGame, joint_hessian, stationary_point
from .games.quadratic import Game

MakeOptimizer = Callable[[list[Tensor], list[Tensor]], Any]
Reference = Callable[[Game, Tensor, Tensor], tuple[Tensor, Tensor]]


def _sizes(value) -> st.SearchStrategy[int]:
    return value if isinstance(value, st.SearchStrategy) else st.just(int(value))


PLAYER_SIZES = st.integers(1, 5)  # default number of coordinates of each player


@st.composite
def quadratic_games(
    draw,
    n=PLAYER_SIZES,
    m=PLAYER_SIZES,
    *,
    zero_sum: bool = True,
    well_conditioned: bool = True,
    scale: float = 1.0,
    max_condition: float = 1e6,
) -> Game:
    r"""Random quadratic games: ``QuadraticGame.random(n, m, seed=s, scale=scale)`` (or
    ``GeneralSumQuadraticGame.random`` when ``zero_sum=False``) for a drawn seed s.

    Args:
        n, m: the players' sizes, ints or strategies of ints (default 1 to 5 each).
        zero_sum: a :class:`~cgd_optim.games.QuadraticGame`; False: a
            :class:`~cgd_optim.games.GeneralSumQuadraticGame`.
        well_conditioned: reject (``hypothesis.assume``) games whose joint Hessian has a condition
            number above ``max_condition``, so that the stationary point and the dense
            references are accurate to float64 round-off.
        scale: scale of the quadratic and mixed blocks (the linear terms stay standard normal).

    Shrinking: sizes shrink towards their lower bounds and the seed towards 0; a failing example
    prints as ``QuadraticGame.random(n, m, seed=s, scale=...)``, which rebuilds the same game
    on any machine (the blocks come from a seeded ``torch.Generator``).
    """
    sizes = draw(_sizes(n)), draw(_sizes(m))
    seed = draw(st.integers(0, 2**31 - 1))
    kind = QuadraticGame if zero_sum else GeneralSumQuadraticGame
    game = kind.random(*sizes, seed=seed, scale=scale)
    if well_conditioned:
        assume(float(torch.linalg.cond(joint_hessian(game))) <= max_condition)
    return game


def step_sizes(low: float = 0.01, high: float = 0.5, *, equal: bool = False) -> st.SearchStrategy[tuple[float, float]]:
    """Pairs ``(lr_min, lr_max)`` of bounded floats in [low, high] (shrinking towards ``low``);
    ``equal=True``: one step size for both players."""
    rate = st.floats(low, high, allow_nan=False, allow_infinity=False)
    return rate.map(lambda lr: (lr, lr)) if equal else st.tuples(rate, rate)


def points(game: Game, *, bound: float = 2.0) -> st.SearchStrategy[tuple[Tensor, Tensor]]:
    """Points ``(x, y)`` of ``game`` as float64 tensors with entries in [-bound, bound]
    (shrinking towards the origin)."""
    entry = st.floats(-bound, bound, allow_nan=False, allow_infinity=False)
    vector = lambda size: st.lists(entry, min_size=size, max_size=size).map(  # noqa: E731
        lambda values: torch.tensor(values, dtype=torch.float64)
    )
    return st.tuples(vector(game.n), vector(game.m))


def default_start(game: Game) -> tuple[Tensor, Tensor]:
    """The start the helpers use when given none: standard normal entries from ``torch.Generator`` seed 0."""
    generator = torch.Generator().manual_seed(0)
    return (
        torch.randn(game.n, dtype=torch.float64, generator=generator),
        torch.randn(game.m, dtype=torch.float64, generator=generator),
    )


def leaves(x, y) -> tuple[Tensor, Tensor]:
    """Fresh float64 leaf tensors (requires_grad) at ``(x, y)``: the players' parameters."""
    as_leaf = lambda v: torch.as_tensor(v, dtype=torch.float64).detach().clone().requires_grad_()  # noqa: E731
    return as_leaf(x), as_leaf(y)


def assert_matches_reference(
    make_optimizer: MakeOptimizer,
    game: Game,
    steps: int,
    *,
    reference: Reference | Any,
    rtol: float = 1e-8,
    atol: float | None = None,
    start: tuple[Tensor, Tensor] | None = None,
) -> None:
    """The optimizer's iterates equal the reference's after each of ``steps`` steps.

    ``reference`` is ``reference(game, x, y) -> (x_new, y_new)`` or an object with such a
    ``step`` (:class:`~cgd_optim.games.ACGDReference`, :class:`~cgd_optim.games.CGDReference`, ...),
    kept across steps.  Entries must satisfy ``|ours - reference| <= atol + rtol |reference|``
    (``atol`` defaults to ``rtol``).  The message names the step, the player, both vectors and the
    relative error."""
    advance = getattr(reference, "step", reference)
    x_ref, y_ref = (torch.as_tensor(v, dtype=torch.float64) for v in (start or default_start(game)))
    x, y = leaves(x_ref, y_ref)
    optimizer = make_optimizer([x], [y])
    for step in range(1, steps + 1):
        optimizer.step(game.closure(x, y))
        x_ref, y_ref = advance(game, x_ref, y_ref)
        for player, ours, theirs in (("min player x", x, x_ref), ("max player y", y, y_ref)):
            _assert_close(
                f"step {step}, {player}",
                ours.detach(),
                torch.as_tensor(theirs),
                rtol,
                rtol if atol is None else atol,
                ("optimizer", "reference"),
            )


def assert_relabelling_invariant(
    make_optimizer: MakeOptimizer,
    game: Game,
    steps: int = 1,
    *,
    make_relabelled: MakeOptimizer | None = None,
    rtol: float = 1e-9,
    start: tuple[Tensor, Tensor] | None = None,
) -> None:
    r"""Swapping the players' roles and negating the objective (:meth:`QuadraticGame.relabelled`)
    leaves every iterate unchanged.

    The factory is called for the game with ``([x], [y])`` and for its relabelling with
    ``([y], [x])``, so it must treat both players alike (one ``lr``); give ``make_relabelled``
    for the second call when the step sizes differ (swap ``lr_min`` and ``lr_max`` there)."""
    x0, y0 = start or default_start(game)
    swapped = game.relabelled()
    x, y = leaves(x0, y0)
    x2, y2 = leaves(x0, y0)
    original = make_optimizer([x], [y])
    relabelled = (make_relabelled or make_optimizer)([y2], [x2])
    for step in range(1, steps + 1):
        original.step(game.closure(x, y))
        relabelled.step(swapped.closure(y2, x2))
        for player, ours, theirs in (("x", x, x2), ("y", y, y2)):
            _assert_close(
                f"step {step}, player {player}",
                theirs.detach(),
                ours.detach(),
                rtol,
                rtol,
                ("relabelled game", "original game"),
            )


def assert_converges(
    make_optimizer: MakeOptimizer,
    game: Game,
    steps: int,
    *,
    tol: float = 1e-6,
    start: tuple[Tensor, Tensor] | None = None,
) -> None:
    """After ``steps`` steps the iterate is within ``tol`` times its starting distance of the
    game's stationary point (:func:`~cgd_optim.games.stationary_point`)."""
    start_distance, distances, failure = _distances(make_optimizer, game, steps, start)
    if failure is not None:
        raise AssertionError(f"expected convergence, but {failure}")
    if not distances[-1] <= tol * start_distance:
        raise AssertionError(
            f"expected convergence to the stationary point within {tol:g} of the starting distance "
            f"{start_distance:.6g}; after {steps} steps the distance is {distances[-1]:.6g} "
            f"(ratio {distances[-1] / start_distance:.3g})"
        )


def assert_diverges(
    make_optimizer: MakeOptimizer,
    game: Game,
    steps: int,
    *,
    factor: float = 1e3,
    start: tuple[Tensor, Tensor] | None = None,
) -> None:
    """Within ``steps`` steps the distance to the stationary point grows past ``factor`` times the
    starting distance, or a step raises FloatingPointError (the iterates left float64's range)."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        start_distance, distances, failure = _distances(make_optimizer, game, steps, start)
    if failure is None and not max(distances) > factor * start_distance:
        raise AssertionError(
            f"expected divergence past {factor:g} times the starting distance {start_distance:.6g}; "
            f"after {steps} steps the distance is {distances[-1]:.6g} (largest {max(distances):.6g})"
        )


def _distances(make_optimizer, game, steps, start):
    """(starting distance, distance after each step, a failure sentence or None)."""
    target = torch.cat([torch.as_tensor(v, dtype=torch.float64) for v in stationary_point(game)])
    x, y = leaves(*(start or default_start(game)))
    optimizer = make_optimizer([x], [y])
    distance = lambda: float((torch.cat([x.detach(), y.detach()]) - target).norm())  # noqa: E731
    start_distance, distances = distance(), []
    for step in range(1, steps + 1):
        try:
            optimizer.step(game.closure(x, y))
        except FloatingPointError as error:
            return start_distance, distances or [start_distance], f"step {step} raised FloatingPointError: {error}"
        distances.append(distance())
    return start_distance, distances, None


def _assert_close(where: str, actual: Tensor, expected: Tensor, rtol: float, atol: float, names) -> None:
    expected = expected.to(actual.dtype)
    gap = (actual - expected).abs()
    if bool((gap <= atol + rtol * expected.abs()).all()):
        return
    relative = float(gap.max() / expected.abs().max().clamp_min(torch.finfo(expected.dtype).tiny))
    raise AssertionError(
        f"{where}: largest difference {float(gap.max()):.3g} (relative {relative:.3g}; "
        f"rtol {rtol:g}, atol {atol:g})\n  {names[0]}: {actual.tolist()}\n  {names[1]}: {expected.tolist()}"
    )


def state_differences(saved: Any, current: Any, where: str = "state") -> list[str]:
    """Where two optimizer states (``state_dict()`` results, or any nesting of dicts, lists and
    tuples) differ: tensors by ``torch.equal`` (dtype included), everything else by ``==``;
    ``[]`` when they are bitwise the same. For "a failed step changed nothing" checks."""
    if isinstance(saved, Tensor):
        same = isinstance(current, Tensor) and saved.dtype == current.dtype and torch.equal(saved, current)
        return [] if same else [where]
    if isinstance(saved, dict):
        if not isinstance(current, dict) or saved.keys() != current.keys():
            return [f"{where}: keys"]
        return [d for key in saved for d in state_differences(saved[key], current[key], f"{where}/{key}")]
    if isinstance(saved, (list, tuple)):
        if type(saved) is not type(current) or len(saved) != len(current):
            return [f"{where}: length"]
        return [d for k, (a, b) in enumerate(zip(saved, current)) for d in state_differences(a, b, f"{where}/{k}")]
    return [] if saved == current else [where]


__all__ = [
    "assert_converges",
    "assert_diverges",
    "assert_matches_reference",
    "assert_relabelling_invariant",
    "default_start",
    "leaves",
    "points",
    "quadratic_games",
    "state_differences",
    "step_sizes",
]
