"""The comparison of Schäfer & Anandkumar 2019, "Competitive gradient descent" (NeurIPS, Sec. 4-5
and the supplement): CGD against GDA, LCGD, SGA, ConOpt, OGDA (and extragradient) on the bilinear
game, separable quadratics, covariance estimation and a two-mode GAN, as the authors' Julia code
(f-t-s/CGD) runs them. :mod:`.methods` builds each method and counts its forward passes as the
paper does; :mod:`.verdict` says whether a run converged, oscillated or diverged; one module per
experiment writes its figure and ``results.json``."""

from .methods import METHODS, forward_passes, make_method
from .verdict import classify

__all__ = ["METHODS", "classify", "forward_passes", "make_method"]
