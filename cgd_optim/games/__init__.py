r"""Quadratic games, dense references of the package's updates and their local dynamics.

For users property-testing optimizers (theirs or ours) on games with closed forms; needs torch
only (NumPy arrays are accepted and returned where given). :mod:`cgd_optim.testing` adds
hypothesis strategies and assertion helpers on top.

* :class:`QuadraticGame`, :class:`GeneralSumQuadraticGame`: the games, their values, closures,
  gradients and Hessian blocks (:mod:`cgd_optim.games.quadratic`).
* :func:`cgd_step`, :func:`simgd_step`, :class:`ACGDReference` (and :class:`CGDReference`,
  :class:`SimGDReference`), and the game-aware first-order methods' :class:`LCGDReference`,
  :class:`SGAReference`, :class:`ConOptReference`, :class:`OGDAReference`,
  :class:`ExtraSGDReference`, :class:`ExtraAdamReference`, :class:`OptimisticAdamReference`:
  dense float64 updates (:mod:`cgd_optim.games.reference`).
* :func:`cgd_jacobian`, :func:`simgd_jacobian`, :func:`spectral_radius`,
  :func:`stationary_point`, :func:`solve_nash`, :func:`is_local_nash`
  (:mod:`cgd_optim.games.dynamics`).
"""

from .dynamics import (
    cgd_jacobian,
    is_local_nash,
    joint_hessian,
    simgd_jacobian,
    solve_nash,
    spectral_radius,
    stationary_point,
)
from .quadratic import GeneralSumQuadraticGame, QuadraticGame
from .reference import (
    ACGDReference,
    CGDReference,
    ConOptReference,
    ExtraAdamReference,
    ExtraSGDReference,
    LCGDReference,
    OGDAReference,
    OptimisticAdamReference,
    SGAReference,
    SimGDReference,
    cgd_step,
    local_game_matrix,
    simgd_step,
)

__all__ = [
    "ACGDReference",
    "CGDReference",
    "ConOptReference",
    "ExtraAdamReference",
    "ExtraSGDReference",
    "GeneralSumQuadraticGame",
    "LCGDReference",
    "OGDAReference",
    "OptimisticAdamReference",
    "QuadraticGame",
    "SGAReference",
    "SimGDReference",
    "cgd_jacobian",
    "cgd_step",
    "is_local_nash",
    "joint_hessian",
    "local_game_matrix",
    "simgd_jacobian",
    "simgd_step",
    "solve_nash",
    "spectral_radius",
    "stationary_point",
]
