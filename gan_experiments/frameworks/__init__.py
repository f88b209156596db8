"""Training schemes, one registry entry each (:data:`FRAMEWORKS`, keyed by ``run.framework``).

Each framework's file says how its players and losses are wired and holds its entry: the config
rules it needs, its dry run, how it is built, evaluated and finished (see ``base.GANRun``).
Adding a framework is one file and one line here.
"""

from __future__ import annotations

from .cgd_paper import CGDPaperRun
from .icr_mnist import ICRMNISTRun
from .projection import ProjectionRun
from .proximal import ProximalGAN, ProximalRun
from .quadratic import QuadraticRun
from .sgan import SGAN, MessengerGame, SGANRun, SGANSession, derived_seed, mean_share_modes_missed
from .stackelberg import MultiBranchRun, StackelbergGAN, StackelbergRun
from .standard import StandardGAN, StandardRun, TwoPlayerGame

FRAMEWORKS = {
    "standard": StandardRun,
    "stackelberg": StackelbergRun,
    "multibranch": MultiBranchRun,
    "sgan": SGANRun,
    "proximal": ProximalRun,
    "projection": ProjectionRun,
    "quadratic": QuadraticRun,
    "icr_mnist": ICRMNISTRun,
    "cgd_paper": CGDPaperRun,
}

__all__ = [
    "FRAMEWORKS",
    "SGAN",
    "CGDPaperRun",
    "ICRMNISTRun",
    "MessengerGame",
    "MultiBranchRun",
    "ProjectionRun",
    "ProximalGAN",
    "ProximalRun",
    "QuadraticRun",
    "SGANRun",
    "SGANSession",
    "StackelbergGAN",
    "StackelbergRun",
    "StandardGAN",
    "StandardRun",
    "TwoPlayerGame",
    "derived_seed",
    "mean_share_modes_missed",
]
