"""The methods of the CGD paper's comparison, built from cgd_optim, and their cost as the paper
counts it (Schäfer & Anandkumar 2019, supplement "Details regarding the experiments"; the
authors' ``optimizers_abstract.jl`` returns the same numbers): forward passes per iteration,
GDA and OGDA 2, LCGD and SGA 4, ConOpt 6, CGD 4 + 2 per conjugate-gradient iteration; extragradient
(not in the paper) 4, its two gradient evaluations."""

from __future__ import annotations

from collections.abc import Callable

from cgd_optim import CGD, LCGD, OGDA, SGA, ConOpt, ExtraSGD, SimGD

# name -> (class, keyword options it takes from the experiment: gamma, rmsprop, tol)
METHODS: dict[str, Callable] = {
    "gda": lambda xs, ys, lr, gamma, rmsprop, tol: SimGD(xs, ys, lr=lr),
    "lcgd": lambda xs, ys, lr, gamma, rmsprop, tol: LCGD(xs, ys, lr=lr, rmsprop=rmsprop),
    # the paper's SGA: the competitive term weighted by gamma, no sign alignment
    "sga": lambda xs, ys, lr, gamma, rmsprop, tol: SGA(xs, ys, lr=lr, gamma=gamma, align=False, rmsprop=rmsprop),
    "conopt": lambda xs, ys, lr, gamma, rmsprop, tol: ConOpt(xs, ys, lr=lr, gamma=gamma, rmsprop=rmsprop),
    "ogda": lambda xs, ys, lr, gamma, rmsprop, tol: OGDA(xs, ys, lr=lr, rmsprop=rmsprop),
    "cgd": lambda xs, ys, lr, gamma, rmsprop, tol: CGD(xs, ys, lr=lr, tol=tol, max_iter=1000),
    "extra_sgd": lambda xs, ys, lr, gamma, rmsprop, tol: ExtraSGD(xs, ys, lr=lr),
}
FIXED_COST = {"gda": 2, "ogda": 2, "lcgd": 4, "sga": 4, "conopt": 6, "extra_sgd": 4}
LABELS = {
    "gda": "GDA",
    "lcgd": "LCGD",
    "sga": "SGA",
    "conopt": "ConOpt",
    "ogda": "OGDA",
    "cgd": "CGD",
    "extra_sgd": "ExtraSGD",
}


def make_method(name: str, xs, ys, lr: float, *, gamma: float = 1.0, rmsprop: float | None = None, tol: float = 1e-6):
    """The optimizer of method ``name`` over the players ``xs`` (min) and ``ys`` (max)."""
    if name not in METHODS:
        raise ValueError(f"unknown method {name!r}; expected one of {', '.join(METHODS)}")
    return METHODS[name](xs, ys, lr, gamma, rmsprop, tol)


def forward_passes(name: str, optimizer) -> int:
    """The forward passes the last step cost, as the paper counts them."""
    if name == "cgd":
        return 4 + 2 * int(optimizer.step_stats["iterations"])
    return FIXED_COST[name]
