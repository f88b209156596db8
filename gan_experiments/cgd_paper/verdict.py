"""Whether a run converged, oscillated or diverged: the rule every table of the CGD-paper
experiments uses (docs/experiments.md states it).

With :math:`d_k` the distance to the equilibrium (or the residual) after iteration k, :math:`d_0`
the start's and :math:`d_K` the last:

- **diverged**: a value became non-finite, some :math:`d_k > 10^3 d_0`, or :math:`d_K \\ge 2 d_0`
  (the run ended at least twice as far away as it started);
- **converged**: not diverged, and :math:`d_K \\le d_0 / 2` (it ended at least twice as close);
- **oscillated**: neither: the run stayed near its starting distance without closing in (the
  paper's "oscillate widely"; on f = αxy with α = 3 ConOpt's and SGA's iteration maps are
  rotations, :math:`d_K = d_0` exactly).

The thresholds are relative to the run's own length (50 or 100 iterations on the scalar games, a
forward-pass budget elsewhere); the tables also give :math:`d_K` itself.
"""

from __future__ import annotations

import math

EXCURSION = 1e3  # a run that ever goes this much farther than its start has left the problem's scale
FACTOR = 2.0


def classify(distances: list[float]) -> str:
    """``"converged"``, ``"oscillated"`` or ``"diverged"`` for the distances d_0, d_1, ..."""
    start, last = distances[0], distances[-1]
    if any(not math.isfinite(d) or d > EXCURSION * start for d in distances) or last >= FACTOR * start:
        return "diverged"
    return "converged" if last <= start / FACTOR else "oscillated"
