r"""Matrix-free Krylov solvers on flat tensors.

Both solvers take the operator as a callable ``matvec(v) -> A v`` on a flat
tensor, never form a matrix, and run every arithmetic step on ``b``'s device.
They read the device (``bool(tensor)``) only at their convergence checks, once
every ``check_every`` iterations (GMRES also once per restart cycle), so a GPU
queue is never drained between iterations.  Iterations after convergence
inside a check window are masked to no-ops rather than detected one by one.

Convergence is declared when the residual norm satisfies

.. math::
    \|b - A x\|_2 \le \max(\mathrm{tol}\,\|b\|_2,\ \mathrm{atol}),

on the norm itself (the ICR authors' ``cgds`` squares both sides).

The first check can be placed by the caller (``first_check``, e.g. at the iteration count
that solved the previous, similar system), the following ones come every ``check_every``
iterations.  A ``matvec`` may also return a pair ``(A v, L v)`` for a second linear map L
(``side_output=True``); the solver then returns :math:`L x` in ``info["side_output"]``,
accumulated from the products it already made, at no extra application of L.

Neither solver warns or prints: they return ``(x, info)`` where ``info`` holds the
0-dim tensors ``iterations``, ``residual_norm``, ``relative_residual``, ``converged`` and
``initial_relative_residual`` (of the starting guess), plus the Python int ``matvecs``
(operator applications made, including masked ones); the caller decides what to report.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Callable
from typing import Any

import torch
from torch import Tensor

MatVec = Callable[[Tensor], Tensor]


def check_solver_arguments(
    tol: float, atol: float, max_iter: int, check_every: int = 1, first_check: int | None = None
) -> None:
    """ValueError naming the first invalid one of a solver's options: ``tol`` and ``atol`` >= 0,
    ``max_iter`` and ``check_every`` ints >= 1, ``first_check`` an int >= 0 (or None). The one
    definition of these rules: the solvers apply it to their arguments, the optimizers to their
    options when they are built."""
    if not tol >= 0.0:
        raise ValueError(f"Invalid tol value: {tol}")
    if not atol >= 0.0:
        raise ValueError(f"Invalid atol value: {atol}")
    if not (isinstance(max_iter, int) and max_iter >= 1):
        raise ValueError(f"Invalid max_iter value: {max_iter}")
    if not (isinstance(check_every, int) and check_every >= 1):
        raise ValueError(f"Invalid check_every value: {check_every}")
    if first_check is not None and not (isinstance(first_check, int) and first_check >= 0):
        raise ValueError(f"Invalid first_check value: {first_check}")


def _is_check(k: int, first_check: int, check_every: int) -> bool:
    """Whether the solver reads its convergence flag before iteration k (after k iterations)."""
    return k >= first_check and (k - first_check) % check_every == 0


def _apply(matvec: MatVec, v: Tensor, side_output: bool) -> tuple[Tensor, Tensor | None]:
    out = matvec(v)
    if side_output:
        if not (isinstance(out, tuple) and len(out) == 2):
            raise TypeError("with side_output=True, matvec must return a pair (A v, L v)")
        return out
    return out, None


def _relative(norm: Tensor, reference: Tensor | None) -> Tensor:
    """``norm / reference`` in the units of the normalised system, where ``reference`` is None for
    ``|b| = 1`` (or b = 0, whose residuals are exactly 0) and may be 0 for a Galerkin bound."""
    if reference is None:
        return norm
    return torch.where(reference > 0, norm / reference, 0.0)  # the unselected 0/0 is discarded


def _normalise(b: Tensor, x0: Tensor | None) -> tuple[Tensor, Tensor | None, Tensor, Tensor]:
    """(b / |b|, x0 / |b|, |b|, scale): Krylov iterations are scale-invariant, and solving for a unit
    right-hand side keeps their dot products away from underflow and overflow (tiny gradients)."""
    b_norm = torch.linalg.vector_norm(b)
    scale = torch.where(b_norm == 0, 1.0, b_norm)  # a NaN or infinite |b| passes on: x is then not finite
    return b / scale, (None if x0 is None else x0 / scale), b_norm, scale


def _rescaled(x, scale, iterations, residual_norm, reference, converged, matvecs, side, initial_norm, side_output):
    """Undo :func:`_normalise` on the solution, its residual norms and the side output (``None``
    when the solve made no product); ``residual_norm``, ``initial_norm`` and ``reference`` (what the
    tolerance was relative to, None for ``|b|``) are in the normalised units."""
    info = {
        "iterations": iterations,
        "residual_norm": residual_norm * scale,
        "relative_residual": _relative(residual_norm, reference),
        "initial_relative_residual": _relative(initial_norm, reference),
        "converged": converged,
        "matvecs": matvecs,
    }
    if side_output:
        info["side_output"] = None if side is None else side * scale
    return x * scale, info


def _initial_guess(matvec: MatVec, b: Tensor, x0: Tensor | None, b_nonzero: Tensor, side_output: bool):
    """x0 (zero when b = 0, whose solution is exactly zero), its residual b - A x0, L x0 (or None), matvecs."""
    if x0 is None:
        return torch.zeros_like(b), b.clone(), None, 0
    if x0.shape != b.shape:
        raise ValueError(f"x0 has shape {tuple(x0.shape)}, expected {tuple(b.shape)}")
    x = x0 * b_nonzero
    ax, side = _apply(matvec, x, side_output)
    return x, b - ax, side, 1


def conjugate_gradient(
    matvec: MatVec,
    b: Tensor,
    x0: Tensor | None = None,
    *,
    tol: float = 1e-6,
    atol: float = 0.0,
    max_iter: int = 50,
    check_every: int = 4,
    first_check: int | None = None,
    side_output: bool = False,
    galerkin_start: tuple[Tensor, Tensor] | None = None,
    preconditioner: MatVec | None = None,
    keep_directions: int = 0,
) -> tuple[Tensor, dict]:
    r"""Solve :math:`A x = b` for symmetric positive definite :math:`A` by conjugate gradient.

    The classical recurrence (Hestenes and Stiefel 1952), preconditioned by a symmetric positive
    definite :math:`H \approx A^{-1}` (:math:`z_k = H r_k`; :math:`H = I` without one):

    .. math::
        \alpha_k = \frac{r_k^\top z_k}{p_k^\top A p_k},\quad
        x_{k+1} = x_k + \alpha_k p_k,\quad
        r_{k+1} = r_k - \alpha_k A p_k,\quad
        p_{k+1} = z_{k+1} + \frac{r_{k+1}^\top z_{k+1}}{r_k^\top z_k} p_k .

    The convergence test is on the residual :math:`r_k` itself, with or without :math:`H`, so a
    preconditioned solve stops at the same accuracy.

    Args:
        matvec: callable returning :math:`A v` for a flat tensor ``v``.
        b: flat right-hand side.
        x0: warm start (flat, like ``b``); zero when omitted. Costs one extra ``matvec``.
        tol: relative tolerance on the residual norm.
        atol: absolute tolerance on the residual norm.
        max_iter: most iterations (each one ``matvec``).
        check_every: read the device to test convergence once every this many iterations.
        first_check: iteration of the first read (default ``check_every``); 0 reads before the
            first iteration, which saves it when the start already meets the tolerance.
        side_output: ``matvec`` returns ``(A v, L v)``; ``info["side_output"]`` is then :math:`L x`
            (``None`` when the solve made no product: then :math:`x = 0`).
        galerkin_start: ``(c, e)`` when ``b`` is the residual :math:`r_0 = b' - A x_0` of a start
            scaled so that :math:`x_0^\top r_0 = 0`, for a right-hand side :math:`b'` that was never
            formed, and :math:`A \succeq I`: :math:`c = |x_0^\top b'| / \|x_0\|`,
            :math:`e = (x_0^\top b')^2 / x_0^\top A x_0`. The solve then returns the correction
            :math:`x - x_0`, and ``tol`` is relative to
            :math:`\max\bigl(c, \sqrt{e + \sum_k \alpha_k \|r_k\|^2}\bigr) \le \|b'\|` instead of
            :math:`\|b\|`: the first bound is Cauchy-Schwarz, the second the :math:`A^{-1}`-norm of
            :math:`b'` as far as the iterations have measured it (:math:`\|b'\|^2_{A^{-1}} = e +
            r_0^\top A^{-1} r_0` by the Galerkin condition, :math:`r_0^\top A^{-1} r_0 \ge \sum_k
            \alpha_k \|r_k\|^2`, and :math:`\|b'\|_{A^{-1}} \le \|b'\|` for :math:`A \succeq I`), so
            the correction's solve stops no earlier than the full system's would. The relative
            residuals in ``info`` are then relative to that bound. (With a preconditioner the sum
            is :math:`\sum_k \alpha_k r_k^\top z_k`, which also rises to :math:`r_0^\top A^{-1} r_0`.)
        preconditioner: callable returning :math:`H r` for a symmetric positive definite
            :math:`H` (e.g. :func:`quasi_newton_preconditioner`); ``None``: plain CG.
        keep_directions: keep the first this many search directions :math:`p_k` and their
            products :math:`A p_k` (the tensors ``matvec`` returned, no copy) in
            ``info["directions"]`` and ``info["products"]`` (lists, in the normalised units
            :math:`b / \|b\|`; pairs made after an unread convergence repeat the last residual).

    Returns:
        ``(x, info)``; ``info["iterations"]`` counts the iterations until the
        residual first met the tolerance (or ``max_iter``), and ``info["converged"]``
        is a bool tensor, false also when the iterates became non-finite.
    """
    check_solver_arguments(tol, atol, max_iter, check_every, first_check)
    if not (isinstance(keep_directions, int) and keep_directions >= 0):
        raise ValueError(f"Invalid keep_directions value: {keep_directions}")
    first_check = check_every if first_check is None else first_check
    b, x0, b_norm, scale = _normalise(b, x0)
    solve = _ConjugateGradient(
        matvec,
        b,
        x0,
        b_norm,
        scale,
        tol=tol,
        atol=atol,
        side_output=side_output,
        galerkin_start=galerkin_start,
        preconditioner=preconditioner,
    )
    for k in range(max_iter):
        checked = _is_check(k, first_check, check_every)
        if checked and not bool(solve.active):
            break
        solve.iterate(checked, keep=k < keep_directions)
    return solve.result(scale, keep_directions > 0)


class _ConjugateGradient:
    """The state of one conjugate gradient solve in the normalised units of :func:`_normalise`,
    advanced by :meth:`iterate` (the recurrence of :func:`conjugate_gradient`)."""

    def __init__(
        self,
        matvec: MatVec,
        b: Tensor,
        x0: Tensor | None,
        b_norm: Tensor,
        scale: Tensor,
        *,
        tol: float,
        atol: float,
        side_output: bool,
        galerkin_start,
        preconditioner: MatVec | None,
    ) -> None:
        self.matvec, self.side_output, self.preconditioner, self.tol = matvec, side_output, preconditioner, tol
        if x0 is None:  # b is the solver's own normalised copy: it becomes r, and x starts as alpha_0 p_0
            self.x, self.r, self.side, self.matvecs = None, b, None, 0
        else:
            self.x, self.r, self.side, self.matvecs = _initial_guess(matvec, b, x0, b_norm > 0, side_output)
        self.rs = torch.dot(self.r, self.r)
        self.initial_norm = self.rs.sqrt()
        if galerkin_start is None:  # |b| = 1 in the normalised units (or b = 0: r = 0, solved at once)
            self.reference_sq, self.energy = None, None
            self.threshold_sq = _unit_threshold(tol, atol, scale) ** 2
        else:  # squared lower bounds of |b'| in the normalised units
            self.atol_sq = (atol / scale) ** 2
            self.bound_sq, self.energy = (galerkin_start[0] / scale) ** 2, galerkin_start[1] / (scale * scale)
            self.reference_sq, self.threshold_sq = _galerkin_threshold_sq(self.bound_sq, self.energy, tol, self.atol_sq)
        z, self.rz = (self.r, self.rs) if preconditioner is None else _preconditioned(preconditioner, self.r)
        self.p = z.clone()
        self.active = self.rs > self.threshold_sq  # false once solved, and for a NaN residual: stop, unconverged
        self.live_iterations, self.masked_iterations = 0, None
        self.directions, self.products = [], []

    def iterate(self, checked: bool, *, keep: bool) -> None:
        """One iteration; ``checked``: right after a convergence read that found the system unsolved."""
        ap, side_p = _apply(self.matvec, self.p, self.side_output)
        self.matvecs += 1
        if keep:
            self.directions.append(self.p)
            self.products.append(ap)
        alpha = self.rz / torch.dot(self.p, ap)
        if not checked:
            # Past an unread convergence, alpha and beta are masked to zero so further iterations
            # change nothing (and a 0/0 from an exactly solved system never reaches x). An iteration
            # right after a check that found the system unsolved needs no mask.
            alpha = torch.where(self.active, alpha, 0.0)
        self.x = self.p * alpha if self.x is None else self.x.addcmul_(self.p, alpha)
        if self.side_output:  # L x = L x0 + sum_k alpha_k L p_k
            self.side = side_p * alpha if self.side is None else self.side.addcmul_(side_p, alpha)
        self.r.addcmul_(ap, alpha, value=-1.0)
        if self.energy is not None:  # r_0' x_k = sum_k alpha_k r_k' z_k rises to r_0' A^-1 r_0
            self.energy = torch.addcmul(self.energy, alpha, self.rz)
            self.reference_sq, self.threshold_sq = _galerkin_threshold_sq(
                self.bound_sq, self.energy, self.tol, self.atol_sq
            )
        self._next_direction(checked)

    def _next_direction(self, checked: bool) -> None:
        """p_{k+1} = z_{k+1} + beta_k p_k, masked past an unread convergence."""
        rs_new = torch.dot(self.r, self.r)
        z, rz_new = (self.r, rs_new) if self.preconditioner is None else _preconditioned(self.preconditioner, self.r)
        if checked:
            self.p = torch.addcmul(z, self.p, rz_new / self.rz)
            self.live_iterations += 1
            self.rs, self.rz = rs_new, rz_new
            self.active = self.rs > self.threshold_sq
            return
        active = self.active
        self.p = torch.addcmul(z, self.p, torch.where(active, rz_new / self.rz, 0.0))
        self.masked_iterations = active.long() if self.masked_iterations is None else self.masked_iterations + active
        self.rs = torch.where(active, rs_new, self.rs)
        self.rz = self.rs if self.preconditioner is None else torch.where(active, rz_new, self.rz)
        self.active = active & (self.rs > self.threshold_sq)

    def result(self, scale: Tensor, keep_directions: bool) -> tuple[Tensor, dict]:
        """``(x, info)`` of :func:`conjugate_gradient`, back in the units of ``b``."""
        x = torch.zeros_like(self.r) if self.x is None else self.x  # no iteration: the zero start
        iterations = torch.full((), self.live_iterations, dtype=torch.int64, device=self.r.device)
        if self.masked_iterations is not None:
            iterations = iterations + self.masked_iterations
        converged = (self.rs <= self.threshold_sq) & (self.rs < math.inf)  # rs >= 0: finite exactly when below inf
        reference = None if self.reference_sq is None else self.reference_sq.sqrt()
        x, info = _rescaled(
            x,
            scale,
            iterations,
            self.rs.sqrt(),
            reference,
            converged,
            self.matvecs,
            self.side,
            self.initial_norm,
            self.side_output,
        )
        if keep_directions:
            info["directions"], info["products"] = self.directions, self.products
        return x, info


def _preconditioned(preconditioner: MatVec, r: Tensor) -> tuple[Tensor, Tensor]:
    """(z, r'z) with z = H r."""
    z = preconditioner(r)
    return z, torch.dot(r, z)


def quasi_newton_preconditioner(directions: Tensor, products: Tensor) -> MatVec:
    r"""The limited-memory BFGS approximation :math:`H \approx A^{-1}` from pairs :math:`(s_i, A_i s_i)`.

    Morales & Nocedal (2000), "Automatic preconditioning by limited memory quasi-Newton
    updating", SIAM J. Optim. 10(4): the search directions :math:`s_i` of earlier conjugate
    gradient solves and their products :math:`y_i = A_i s_i` (which those solves made anyway)
    precondition the next system of a slowly changing sequence. :math:`H` is the BFGS inverse
    update of :math:`H_0 = I` by the pairs in order (oldest first),

    .. math::
        H_i = (I - \rho_i s_i y_i^\top) H_{i-1} (I - \rho_i y_i s_i^\top) + \rho_i s_i s_i^\top,
        \qquad \rho_i = 1 / s_i^\top y_i,

    applied by the two-loop recursion (Nocedal 1980, "Updating quasi-Newton matrices with limited
    storage"): :math:`4k` dot products and :math:`4k` vector updates, no product with :math:`A`.
    :math:`H_i y_j = s_j` holds for the newest pair exactly and for the others as far as the pairs
    are conjugate; with :math:`H_0 = I` the unit eigenvalues of :math:`A = I + KK^\top` outside the
    pairs' span stay where they are. Every :math:`H_i` is symmetric positive definite when every
    :math:`s_i^\top y_i > 0` (true for positive definite :math:`A_i`), whatever the matrices
    :math:`A_i` were: stale pairs cost iterations, never correctness.

    Args:
        directions: ``(k, n)`` tensor of the :math:`s_i`, oldest first.
        products: ``(k, n)`` tensor of the :math:`y_i`.
    """
    if directions.shape != products.shape or directions.dim() != 2:
        raise ValueError(
            f"directions and products must be (k, n) tensors of one shape, got "
            f"{tuple(directions.shape)} and {tuple(products.shape)}"
        )
    curvature = (directions * products).sum(1)
    rho = torch.where(
        curvature > 0, 1.0 / torch.where(curvature > 0, curvature, 1.0), 0.0
    )  # a pair without curvature is skipped
    pairs = list(zip(directions, products, rho))

    def apply(r: Tensor) -> Tensor:
        q, weights = r.clone(), []
        for s, y, rho_i in reversed(pairs):
            weight = rho_i * torch.dot(s, q)
            q.addcmul_(y, weight, value=-1.0)
            weights.append(weight)
        for (s, y, rho_i), weight in zip(pairs, reversed(weights)):
            q.addcmul_(s, weight - rho_i * torch.dot(y, q))
        return q

    return apply


def lanczos(matvec: MatVec, start: Tensor, steps: int, top: int) -> tuple[Tensor, Tensor]:
    r"""``(values, top_vectors)``: the Ritz values of ``steps`` Lanczos steps on a symmetric positive
    semidefinite operator, descending, and the ``top`` leading Ritz vectors as rows.

    The Lanczos recurrence builds an orthonormal basis :math:`Q_k` of the Krylov space
    :math:`\mathrm{span}\{q, Aq, \dots, A^{k-1}q\}` from ``start`` and the tridiagonal
    :math:`T_k = Q_k^\top A Q_k`; its eigenvalues (the Ritz values) approach :math:`A`'s extreme
    eigenvalues, the largest first, and are never above :math:`\lambda_{max}(A)`. Full
    reorthogonalisation (twice, against every earlier vector) keeps the basis orthonormal in
    floating point, so no spurious copies of converged eigenvalues appear (Paige 1971; Parlett
    1998, "The symmetric eigenvalue problem", Sec. 13.1). The recurrence stops early when the new
    direction falls to the rounding level: the space is invariant, and the Ritz values are
    eigenvalues.

    Run it on :math:`KK^\top` rather than on :math:`I + KK^\top`: where most eigenvalues lie
    near 1, the offset drowns them in float32 and stalls the recurrence. Memory: ``steps`` vectors.

    Args:
        matvec: :math:`v \mapsto A v` on flat tensors of ``start``'s size and dtype.
        start: the first direction (normalised here), nonzero.
        steps: at most this many products with :math:`A`.
        top: how many leading Ritz vectors to return.
    """
    if steps < 1 or top < 0:
        raise ValueError(f"Invalid steps or top: {steps}, {top}; need steps >= 1 and top >= 0")
    basis = torch.empty(steps, start.numel(), dtype=start.dtype, device=start.device)
    q = start / start.norm()
    diagonal, off_diagonal = [], []
    for k in range(steps):
        basis[k] = q
        w = matvec(q)
        diagonal.append(torch.dot(q, w))
        for _ in range(2):  # removes alpha_k q_k and beta_(k-1) q_(k-1) too, and the rounding
            w -= basis[: k + 1].T @ (basis[: k + 1] @ w)
        beta = w.norm()
        if k == steps - 1 or beta <= 1e-6 * max(abs(float(a)) for a in diagonal):  # rounding level: stop
            basis = basis[: k + 1]
            break
        off_diagonal.append(beta)
        q = w / beta
    tridiagonal = torch.diag(torch.stack(diagonal).double())
    if off_diagonal:
        betas = torch.stack(off_diagonal).double()
        tridiagonal += torch.diag(betas, 1) + torch.diag(betas, -1)
    values, vectors = torch.linalg.eigh(tridiagonal.cpu())
    order = values.argsort(descending=True)
    values, vectors = values[order], vectors[:, order]
    return values, vectors[:, :top].T.to(basis) @ basis


def _unit_threshold(tol: float, atol: float, scale: Tensor) -> Tensor:
    """max(tol |b|, atol) in the units of the normalised system, where |b| is 1 (for b = 0 the
    residuals are exactly 0 and any threshold holds)."""
    return torch.clamp(atol / scale, min=tol)


def _galerkin_threshold_sq(bound_sq: Tensor, energy: Tensor, tol: float, atol_sq: Tensor) -> tuple[Tensor, Tensor]:
    """The squared lower bound max(c^2, e + sum_k alpha_k |r_k|^2) of |b'|^2 (``galerkin_start``)
    and the squared threshold max(tol^2 reference^2, atol^2) relative to it."""
    reference_sq = torch.maximum(bound_sq, energy)
    return reference_sq, torch.clamp(reference_sq * tol**2, min=atol_sq)


def gmres(
    matvec: MatVec,
    b: Tensor,
    x0: Tensor | None = None,
    *,
    restart: int = 20,
    tol: float = 1e-6,
    atol: float = 0.0,
    max_iter: int = 50,
    check_every: int = 4,
    first_check: int | None = None,
    side_output: bool = False,
) -> tuple[Tensor, dict]:
    r"""Solve :math:`A x = b` for a general square operator by restarted GMRES(m).

    Each cycle builds an orthonormal Krylov basis :math:`V` of
    :math:`\mathcal K_m(A, r_0)` by Arnoldi with classical Gram-Schmidt applied twice
    (one matrix product per pass), reduces the Hessenberg matrix :math:`H` to
    triangular form with Givens rotations accumulated in a small dense matrix
    :math:`Q`, and takes :math:`x = x_0 + V y` with
    :math:`y = \arg\min_y \|\beta e_1 - H y\|` (Saad and Schultz 1986). The
    residual estimate :math:`\beta |Q_{k+1, 0}|` is tested every ``check_every``
    iterations; a cycle that ends unconverged restarts from the true residual.
    Memory is :math:`O(m)` flat vectors.

    Args:
        matvec: callable returning :math:`A v` for a flat tensor ``v``.
        b: flat right-hand side.
        x0: warm start; zero when omitted.
        restart: Krylov dimension m of one cycle.
        tol, atol: residual-norm tolerances as in :func:`conjugate_gradient`.
        max_iter: most Arnoldi iterations in total, over all cycles.
        check_every: read the device once every this many iterations.
        first_check: iteration of the first read in the first cycle (default ``check_every``).
        side_output: ``matvec`` returns ``(A v, L v)``; ``info["side_output"]`` is then :math:`L x`
            (costs one stored L v per Krylov vector).

    Returns:
        ``(x, info)`` with the same keys as :func:`conjugate_gradient`.
    """
    check_solver_arguments(tol, atol, max_iter, check_every, first_check)
    if not (isinstance(restart, int) and restart >= 1):
        raise ValueError(f"Invalid gmres_restart value: {restart}")
    b, x0, b_norm, scale = _normalise(b, x0)
    threshold = _unit_threshold(tol, atol, scale)
    x, r, side, matvecs = _initial_guess(matvec, b, x0, b_norm > 0, side_output)
    initial_norm = torch.linalg.vector_norm(r)
    iterations = torch.zeros((), dtype=torch.int64, device=b.device)
    remaining = max_iter
    first = check_every if first_check is None else first_check
    while True:
        m = min(restart, remaining)
        x, side, residual_estimate, done, steps, counted = _gmres_cycle(
            matvec, x, r, side, threshold, m, first, check_every, side_output
        )
        matvecs += steps
        iterations += counted
        remaining -= steps
        if remaining == 0 or bool(done):
            break
        ax, side = _apply(matvec, x, side_output)
        r = b - ax
        matvecs += 1
        first = check_every
    converged = (residual_estimate <= threshold) & torch.isfinite(residual_estimate)
    return _rescaled(x, scale, iterations, residual_estimate, None, converged, matvecs, side, initial_norm, side_output)


def _gmres_cycle(
    matvec: MatVec,
    x: Tensor,
    r: Tensor,
    side: Tensor | None,
    threshold: Tensor,
    m: int,
    first_check: int,
    check_every: int,
    side_output: bool,
):
    """One GMRES(m) cycle from residual ``r``: (x, L x, residual estimate, done, steps, counted iterations)."""
    n = r.numel()
    beta = torch.linalg.vector_norm(r)
    basis = r.new_zeros(m + 1, n)
    basis[0] = r / torch.where(beta > 0, beta, 1.0)
    hessenberg_r = r.new_zeros(m, m)  # upper triangle after rotations
    rotations = torch.eye(m + 1, dtype=r.dtype, device=r.device)  # Q: product of Givens rotations
    done = ~(beta > threshold)
    counted = torch.zeros((), dtype=torch.int64, device=r.device)
    estimate = beta
    steps = 0
    side_basis = []  # L v_j, for L x = L x0 + sum_j y_j L v_j
    for j in range(m):
        if _is_check(j, first_check, check_every) and bool(done):
            break
        w, side_v = _apply(matvec, basis[j], side_output)
        side_basis.append(side_v)
        steps += 1
        active = basis[: j + 1]
        h = active @ w
        w = w - h @ active
        correction = active @ w  # second Gram-Schmidt pass restores orthogonality
        w = w - correction @ active
        h = h + correction
        h_next = torch.linalg.vector_norm(w)
        # a zero h_next is a lucky breakdown: the next basis vector is zero and adds nothing
        basis[j + 1] = w / torch.where(h_next > 0, h_next, 1.0)
        _givens_step(rotations, hessenberg_r, h, h_next, j)
        counted += (~done).to(counted.dtype)
        estimate = torch.where(done, estimate, beta * rotations[j + 1, 0].abs())
        done = done | (estimate <= threshold) | ~torch.isfinite(estimate)
    if steps == 0:  # converged at the check before the first iteration
        return x, side, estimate, done, steps, counted
    y = _least_squares_coefficients(hessenberg_r[:steps, :steps], beta * rotations[:steps, 0])
    if side_output:
        combined = y @ torch.stack(side_basis)
        side = combined if side is None else side + combined
    return x + y @ basis[:steps], side, estimate, done, steps, counted


def _givens_step(rotations: Tensor, hessenberg_r: Tensor, h: Tensor, h_next: Tensor, j: int) -> None:
    """Column j of the Hessenberg matrix, ``(h, h_next)``, rotated by the accumulated rotations
    ``Q`` into column j of the triangle, and ``Q`` updated by the new rotation (both in place)."""
    column = rotations[: j + 2, : j + 1] @ h
    below = rotations[: j + 2, j + 1] * h_next
    column = column + below
    a, c = column[j], column[j + 1]
    radius = torch.hypot(a, c)
    cos = torch.where(radius > 0, a / torch.where(radius > 0, radius, 1.0), 1.0)
    sin = torch.where(radius > 0, c / torch.where(radius > 0, radius, 1.0), 0.0)
    column[j] = radius
    hessenberg_r[: j + 1, j] = column[: j + 1]
    row_j = rotations[j].clone()
    rotations[j] = cos * row_j + sin * rotations[j + 1]
    rotations[j + 1] = -sin * row_j + cos * rotations[j + 1]


def _least_squares_coefficients(upper: Tensor, rotated_rhs: Tensor) -> Tensor:
    """y of the rotated least-squares problem ``upper y = rotated_rhs`` (columns after a breakdown
    are zero; a unit diagonal there gives y_j = 0)."""
    diagonal = torch.diagonal(upper)
    upper = upper + torch.diag(torch.where(diagonal == 0, 1.0, 0.0).to(upper.dtype))
    return torch.linalg.solve_triangular(upper, rotated_rhs.unsqueeze(1), upper=True).squeeze(1)


@dataclasses.dataclass(frozen=True)
class KrylovSolve:
    """A linear solver with its options bound: ``solve(matvec, b, x0=None, **more)`` runs
    :func:`conjugate_gradient` (``method="conjugate gradient"``) or :func:`gmres` (``"GMRES"``,
    with ``restart``) and returns ``(x, info)``; ``more`` are per-call options (``side_output``,
    ``galerkin_start``).

    What :meth:`cgd_optim.CGD.local_game_step` receives: a variant of it is
    ``dataclasses.replace(solve, max_iter=..., atol=...)``; ``options`` holds the further keyword
    arguments of the method (``preconditioner``, ``keep_directions`` of conjugate gradient).
    """

    method: str
    tol: float
    atol: float
    max_iter: int
    check_every: int = 1
    first_check: int | None = None
    restart: int = 20
    options: dict[str, Any] = dataclasses.field(default_factory=dict)

    def __call__(self, matvec: MatVec, b: Tensor, x0: Tensor | None = None, **more: Any) -> tuple[Tensor, dict]:
        common = dict(
            tol=self.tol,
            atol=self.atol,
            max_iter=self.max_iter,
            check_every=self.check_every,
            first_check=self.first_check,
            **self.options,
            **more,
        )
        if self.method == "GMRES":
            return gmres(matvec, b, x0, restart=self.restart, **common)
        return conjugate_gradient(matvec, b, x0, **common)
