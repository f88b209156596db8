r"""What a training step costs, in plain gradients: the x axis of ICR Fig. 9's second panel.

Schäfer, Zheng & Anandkumar (2020), "Implicit competitive regularization in GANs", Sec. 6, Fig. 9
plot the inception score against "gradient or Hessian-vector product computations". Counting each
product as one gradient flatters or penalises an optimizer by how expensive its products are, so
here every operation of a step is counted at its **measured** cost relative to one plain gradient:

- the unit: one gradient of :math:`f_{\min}` (the generator's objective, no regulariser) with
  respect to both players, its forward pass included;
- ``max_gradient``: the discriminator's gradient of :math:`f_{\max}` (the gradient penalty's
  double backward and spectral normalisation's power iteration included where the run has them);
- ``min_gradient``: the generator's gradient of :math:`f_{\min}`;
- ``gradient_with_graph``: CGD's and ACGD's create_graph gradients of both players;
- ``mixed_product``: one mixed Hessian-vector product :math:`D_{xy}^2 f\, v` or :math:`D_{yx}^2 f\, u`
  (the mean of the two), on an existing graph.

The costs are medians of a few timings on a copy of the players at a run's first batch (so the
run's own weights, batch-norm statistics and random draws are untouched); how many of each
operation a step computed is the optimizer's to say (:func:`gan_experiments.optimizers.step_operations`).
"""

from __future__ import annotations

import copy
import statistics
import time
from collections.abc import Callable

import torch

from cgd_optim.autodiff import gradients, mixed_hvp_operator

from .losses import as_min_max

REPEATS = 5


def median_seconds(work: Callable[[], object], repeats: int = REPEATS) -> float:
    """The median wall-clock seconds of ``repeats`` calls of ``work`` (after one untimed call)."""
    work()
    samples = []
    for _ in range(repeats):
        start = time.perf_counter()
        work()
        samples.append(time.perf_counter() - start)
    return statistics.median(samples)


def operation_costs(players, real, z, operations, *, repeats: int = REPEATS) -> dict[str, float]:
    """The measured cost of each of ``operations`` relative to the unit (module docstring), on a
    copy of ``players`` at the batch (``real``, ``z``), each the median of ``repeats`` timings
    (:func:`median_seconds`); ``"gradient_seconds"``: the unit itself."""
    players = copy.deepcopy(players)
    xs, ys = players.min_parameters(), players.max_parameters()

    def objective():
        return as_min_max(players.objective(real, z, generator=torch.Generator().manual_seed(0)))

    unit = median_seconds(lambda: torch.autograd.grad(objective()[0], xs + ys, allow_unused=True), repeats)
    timed = {
        "max_gradient": lambda: torch.autograd.grad(objective()[1], ys, allow_unused=True),
        "min_gradient": lambda: torch.autograd.grad(objective()[0], xs, allow_unused=True),
        "gradient_with_graph": lambda: _gradients_with_graph(objective, xs, ys),
    }
    costs = {"gradient_seconds": unit}
    for name in operations:
        if name == "mixed_product":
            costs[name] = _mixed_product_seconds(objective, xs, ys, repeats) / unit
        else:
            costs[name] = median_seconds(timed[name], repeats) / unit
    return costs


def _gradients_with_graph(objective, xs, ys):
    """Both players' create_graph gradients, as CGD takes them: one backward pass of a zero-sum f."""
    f_min, f_max = objective()
    if f_min is f_max:
        both = gradients(f_min, xs + ys, create_graph=True)
        return both[: len(xs)], both[len(xs) :]
    return gradients(f_min, xs, create_graph=True), gradients(f_max, ys, create_graph=True)


def _mixed_product_seconds(objective, xs, ys, repeats: int) -> float:
    grad_x, grad_y = _gradients_with_graph(objective, xs, ys)
    hvp_xy, hvp_yx = mixed_hvp_operator(grad_y, xs), mixed_hvp_operator(grad_x, ys)
    u = torch.randn(sum(p.numel() for p in xs), dtype=xs[0].dtype, device=xs[0].device)
    v = torch.randn(sum(p.numel() for p in ys), dtype=ys[0].dtype, device=ys[0].device)
    return median_seconds(lambda: (hvp_xy(v), hvp_yx(u)), repeats) / 2


class WorkCounter:
    """Training seconds and gradient evaluations of a session, carried across a resume."""

    def __init__(self) -> None:
        self.seconds, self.gradient_evaluations, self.costs = 0.0, 0.0, None

    def add(self, seconds: float, operations: dict[str, int] | None, measure: Callable[[list], dict]) -> None:
        """One step's ``seconds`` and, where its ``operations`` (name -> count) are known, its
        gradient evaluations at the costs ``measure(operation names)`` returns on the first step."""
        self.seconds += seconds
        if operations is None:
            return
        if self.costs is None:
            self.costs = measure(sorted(operations))
        self.gradient_evaluations += sum(count * self.costs[name] for name, count in operations.items())

    def values(self) -> dict:
        counted = {"gradient_evaluations": self.gradient_evaluations} if self.costs is not None else {}
        return {"seconds": self.seconds, **counted}

    def state_dict(self) -> dict:
        return {"seconds": self.seconds, "gradient_evaluations": self.gradient_evaluations, "costs": self.costs}

    def load_state_dict(self, state: dict) -> None:
        self.seconds = float(state.get("seconds", 0.0))
        self.gradient_evaluations = float(state.get("gradient_evaluations", 0.0))
        self.costs = state.get("costs")
