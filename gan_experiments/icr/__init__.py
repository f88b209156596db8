"""The ICR paper's small experiments (Schäfer, Zheng & Anandkumar 2020, "Implicit competitive regularization in GANs"
Sec. 3-4 and App. A.2)."""

from .projection import ProjectionDiscriminator, ProjectionGame, ProjectionGenerator, in_output_set, projection_stays
from .quadratic import quadratic_game, quadratic_trajectory, simgd_spectral_radius

__all__ = [
    "ProjectionDiscriminator",
    "ProjectionGame",
    "ProjectionGenerator",
    "in_output_set",
    "projection_stays",
    "quadratic_game",
    "quadratic_trajectory",
    "simgd_spectral_radius",
]
