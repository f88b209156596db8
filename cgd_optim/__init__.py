"""cgd_optim: competitive optimizers for two-player games, as torch.optim optimizers.

``ACGD`` and ``CGD`` (competitive gradient descent, adaptive and plain), ``SimGD``
(simultaneous / alternating gradient descent-ascent) and ``ProximalMinimax``
(proximal training around two ordinary torch optimizers); the game-aware first-order methods
users compare them with, in the same API: ``LCGD``, ``SGA`` and ``ConOpt`` (gradient
corrections, :mod:`cgd_optim.corrections`), ``OGDA``, ``ExtraSGD``, ``ExtraAdam`` and
``OptimisticAdam`` (extrapolation, :mod:`cgd_optim.extrapolation`).  The linear algebra
they stand on is public too: :mod:`cgd_optim.linalg` (conjugate gradient, GMRES)
and :mod:`cgd_optim.autodiff` (flat views, mixed Hessian-vector products).
:mod:`cgd_optim.games` has quadratic games with dense references of every update, and
:mod:`cgd_optim.testing` (needs hypothesis) strategies and assertion helpers to property-test
optimizers on them. Mixed precision: bfloat16 autocast inside the closure as it is, float16
with ``loss_scaling=True`` (:mod:`cgd_optim.scaling`).
"""

from ._base import TwoPlayerOptimizer
from .competitive import ACGD, CGD, LocalGame, LocalGameStep, SolverOptions, competitive_update, coupling_operator
from .corrections import LCGD, SGA, ConOpt
from .extrapolation import OGDA, ExtraAdam, ExtraSGD, OptimisticAdam
from .linalg import KrylovSolve, conjugate_gradient, gmres
from .proximal import ProximalMinimax
from .scaling import LossScaling
from .simgd import SimGD

__all__ = [
    "ACGD",
    "CGD",
    "LCGD",
    "OGDA",
    "SGA",
    "ConOpt",
    "ExtraAdam",
    "ExtraSGD",
    "KrylovSolve",
    "LocalGame",
    "LocalGameStep",
    "LossScaling",
    "OptimisticAdam",
    "ProximalMinimax",
    "SimGD",
    "SolverOptions",
    "TwoPlayerOptimizer",
    "competitive_update",
    "conjugate_gradient",
    "coupling_operator",
    "gmres",
]
__version__ = "0.1.0"
