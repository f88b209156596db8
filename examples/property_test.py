"""A property test of an optimizer on random quadratic games (hypothesis), as a script:
CGD's step is the dense local-game Nash equilibrium, whatever the game and the step sizes.

Run: ``python examples/property_test.py [--steps N]`` (N steps per drawn game).
"""

from __future__ import annotations

import argparse

from hypothesis import given, settings

from cgd_optim import CGD
from cgd_optim.games import CGDReference
from cgd_optim.testing import assert_matches_reference, quadratic_games, step_sizes


def check(steps: int, examples: int = 20) -> None:
    @settings(max_examples=examples, deadline=None, derandomize=True)
    @given(game=quadratic_games(), rates=step_sizes())
    def cgd_is_the_local_nash_equilibrium(game, rates):
        lr_min, lr_max = rates
        assert_matches_reference(
            lambda xs, ys: CGD(xs, ys, lr_min=lr_min, lr_max=lr_max, tol=1e-12),
            game,
            steps=steps,
            reference=CGDReference(lr_min, lr_max),
        )

    cgd_is_the_local_nash_equilibrium()


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=3)
    args = parser.parse_args()
    check(args.steps)
    print(f"CGD matched the dense reference on 20 drawn games after {args.steps} steps each")
