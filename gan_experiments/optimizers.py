"""The optimizers a run can use (``run.optimizer``): cgd_optim's ACGD, CGD and SimGD, its
game-aware first-order methods (LCGD, SGA, ConOpt, OGDA, ExtraSGD, ExtraAdam, OptimisticAdam),
and :class:`AdamPair`, each player its own ``torch.optim.Adam``."""

from __future__ import annotations

from collections.abc import Callable

import torch
from torch import Tensor

from cgd_optim import ACGD, CGD, LCGD, OGDA, SGA, ConOpt, ExtraAdam, ExtraSGD, OptimisticAdam, SimGD
from cgd_optim.distributed import average_gradients_, resolve_process_group

from .losses import as_min_max

# the names run.optimizer and sgan.global_optimizer take
OPTIMIZERS = (
    "adam",
    "acgd",
    "cgd",
    "simgd",
    "lcgd",
    "sga",
    "conopt",
    "ogda",
    "extra_sgd",
    "extra_adam",
    "optimistic_adam",
)
ZERO_SUM_OPTIMIZERS = ("sga", "conopt")  # their rules need one value f (a zero-sum loss)
CORRECTED = {"lcgd": LCGD, "sga": SGA, "conopt": ConOpt}  # one create_graph gradient and Hessian-vector products
EXTRAPOLATING = {"ogda": OGDA, "extra_sgd": ExtraSGD, "extra_adam": ExtraAdam, "optimistic_adam": OptimisticAdam}


def set_gradients(params: list[Tensor], value: Tensor) -> None:
    """``p.grad`` = d value / d p for a torch optimizer's step (zeros where value does not depend on p),
    averaged over the ranks under torchrun (each rank's value is its slice's)."""
    grads = torch.autograd.grad(value, params, allow_unused=True)
    for p, g in zip(params, grads):
        p.grad = torch.zeros_like(p) if g is None else g
    average_gradients_(params, resolve_process_group("auto"))


class AdamPair:
    """Each player its own ``torch.optim.Adam``; per step the discriminator ascends f_max, then the
    generator descends f_min against the updated discriminator (the official Stackelberg code's
    order; the closure is evaluated once for each)."""

    def __init__(
        self,
        min_params,
        max_params,
        lr: float = 2e-4,
        betas: tuple[float, float] = (0.5, 0.999),
        *,
        max_projection: Callable[[], None] | None = None,
    ) -> None:
        self.min_params, self.max_params = list(min_params), list(max_params)
        self.max_projection = max_projection  # e.g. weight clipping, before G plays against the new D
        self.min_optimizer = torch.optim.Adam(self.min_params, lr=lr, betas=betas)
        self.max_optimizer = torch.optim.Adam(self.max_params, lr=lr, betas=betas, maximize=True)
        self.step_stats: dict = {}

    def max_step(self, closure: Callable[[], object]):
        """The discriminator's ascent step alone (a WGAN critic iteration); returns the closure's value."""
        returned = closure()
        set_gradients(self.max_params, as_min_max(returned)[1])
        self.max_optimizer.step()
        if self.max_projection is not None:
            self.max_projection()
        return returned

    def step(self, closure: Callable[[], object]):
        returned = self.max_step(closure)
        set_gradients(self.min_params, as_min_max(closure())[0])
        self.min_optimizer.step()
        return returned

    def state_dict(self) -> dict:
        return {"min": self.min_optimizer.state_dict(), "max": self.max_optimizer.state_dict()}

    def load_state_dict(self, state: dict) -> None:
        self.min_optimizer.load_state_dict(state["min"])
        self.max_optimizer.load_state_dict(state["max"])


def build_optimizer(name: str, options, min_params, max_params, *, max_projection: Callable[[], None] | None = None):
    """The optimizer ``name`` (one of :data:`OPTIMIZERS`) over two players, with the ``[optimizer]``
    section's ``options``; ``max_projection`` (WGAN-WC) runs after each of the Adam pair's
    discriminator steps."""
    o = options
    solver = dict(tol=o.tol, atol=o.atol, max_iter=o.max_iter, tol_convention=o.tol_convention)
    if name == "adam":
        return AdamPair(min_params, max_params, lr=o.lr, betas=tuple(o.betas), max_projection=max_projection)
    if name == "acgd":
        return ACGD(min_params, max_params, lr=o.lr, beta=o.beta, eps=o.eps, eps_placement=o.eps_placement, **solver)
    if name == "cgd":
        return CGD(min_params, max_params, lr=o.lr, **solver)
    if name == "simgd":
        return SimGD(min_params, max_params, lr=o.lr, alternating=o.alternating)
    if name in CORRECTED or name in EXTRAPOLATING:
        return _first_order(name, o, min_params, max_params)
    raise ValueError(f"unknown optimizer {name!r}; expected one of {', '.join(OPTIMIZERS)}")


def _first_order(name: str, o, min_params, max_params):
    """A game-aware first-order optimizer with the ``[optimizer]`` keys its constructor takes."""
    rmsprop = o.rmsprop or None  # 0 in a config: off
    options = {
        "lcgd": dict(rmsprop=rmsprop),
        "sga": dict(gamma=o.gamma, align=o.align, rmsprop=rmsprop),
        "conopt": dict(gamma=o.gamma, rmsprop=rmsprop),
        "ogda": dict(rmsprop=rmsprop),
        "extra_sgd": {},
        "extra_adam": dict(betas=tuple(o.betas), eps=o.eps),
        "optimistic_adam": dict(betas=tuple(o.betas), eps=o.eps),
    }[name]
    return {**CORRECTED, **EXTRAPOLATING}[name](min_params, max_params, lr=o.lr, **options)


def step_operations(name: str, optimizer, critic_steps: int) -> dict[str, int]:
    """What the last step of the optimizer ``name`` computed, in :mod:`gan_experiments.costs`'
    operations: the Adam pair one discriminator gradient per critic step and one generator
    gradient; ACGD / CGD one create_graph gradient and ``step_stats["hvp_count"]`` mixed products
    (LCGD, SGA, ConOpt: their double-backward passes); SimGD, OGDA and OptimisticAdam both players'
    gradients (alternating SimGD: the discriminator's again, after the generator moved), the
    extragradient methods both players' gradients twice."""
    if name == "adam":
        return {"max_gradient": critic_steps, "min_gradient": 1}
    if name in ("acgd", "cgd"):
        return {"gradient_with_graph": 1, "mixed_product": int(optimizer.step_stats["hvp_count"])}
    if name == "simgd":
        return {"min_gradient": 1, "max_gradient": 2 if optimizer.defaults["alternating"] else 1}
    if name in CORRECTED:  # each double-backward pass counted as one mixed product
        return {"gradient_with_graph": 1, "mixed_product": int(optimizer.step_stats["hvp_count"])}
    if name in EXTRAPOLATING:
        evaluations = optimizer.evaluations
        return {"min_gradient": evaluations, "max_gradient": evaluations}
    raise ValueError(f"unknown optimizer {name!r}; expected one of {', '.join(OPTIMIZERS)}")
