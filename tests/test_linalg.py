"""conjugate_gradient and gmres alone, against torch.linalg.solve."""

import math

import pytest
import torch
from hypothesis import given
from hypothesis import strategies as st

from benchmarks.device_reads import DeviceReads
from cgd_optim.linalg import conjugate_gradient, gmres, lanczos, quasi_newton_preconditioner


def spd_matrix(seed: int, n: int, spread: float) -> torch.Tensor:
    g = torch.Generator().manual_seed(seed)
    q, _ = torch.linalg.qr(torch.randn(n, n, generator=g, dtype=torch.float64))
    eigenvalues = torch.logspace(0, math.log10(spread), n, dtype=torch.float64)
    return q @ torch.diag(eigenvalues) @ q.T


def rhs(seed: int, n: int) -> torch.Tensor:
    return torch.randn(n, generator=torch.Generator().manual_seed(seed + 1), dtype=torch.float64)


@given(seed=st.integers(0, 10_000), n=st.integers(1, 30), spread=st.floats(1.0, 100.0))
def test_cg_matches_dense_solve(seed, n, spread):
    a, b = spd_matrix(seed, n, spread), rhs(seed, n)
    x, info = conjugate_gradient(lambda v: a @ v, b, tol=1e-12, max_iter=10 * n + 10)
    assert bool(info["converged"])
    torch.testing.assert_close(x, torch.linalg.solve(a, b), rtol=1e-8, atol=1e-9)
    assert float(torch.linalg.vector_norm(b - a @ x)) <= 1e-12 * float(b.norm()) * 10


@given(seed=st.integers(0, 10_000), n=st.integers(2, 20), tol=st.floats(1e-8, 1e-2))
def test_cg_stops_on_residual_norm_not_its_square(seed, n, tol):
    a, b = spd_matrix(seed, n, 50.0), rhs(seed, n)
    x, info = conjugate_gradient(lambda v: a @ v, b, tol=tol, max_iter=200, check_every=1)
    residual = torch.linalg.vector_norm(b - a @ x)
    assert float(residual) <= tol * float(b.norm()) * (1 + 1e-6)
    torch.testing.assert_close(info["relative_residual"], residual / b.norm(), rtol=1e-6, atol=1e-12)


def test_cg_warm_start_at_solution_takes_no_iteration():
    a, b = spd_matrix(0, 10, 10.0), rhs(0, 10)
    exact = torch.linalg.solve(a, b)
    x, info = conjugate_gradient(lambda v: a @ v, b, x0=exact, tol=1e-8)
    assert int(info["iterations"]) == 0 and info["matvecs"] == 1 + 4  # masked until the first check
    torch.testing.assert_close(x, exact)
    x, info = conjugate_gradient(lambda v: a @ v, b, x0=exact, tol=1e-8, check_every=1, first_check=0)
    assert int(info["iterations"]) == 0 and info["matvecs"] == 1  # checked before the first iteration
    torch.testing.assert_close(x, exact)


def test_cg_zero_rhs_gives_zero_even_from_a_warm_start():
    a = spd_matrix(1, 5, 10.0)
    x, info = conjugate_gradient(
        lambda v: a @ v, torch.zeros(5, dtype=torch.float64), x0=torch.ones(5, dtype=torch.float64)
    )
    assert torch.count_nonzero(x) == 0 and bool(info["converged"])


def test_cg_reports_non_convergence_without_nan():
    a, b = spd_matrix(2, 40, 1e4), rhs(2, 40)
    x, info = conjugate_gradient(lambda v: a @ v, b, tol=1e-12, max_iter=3)
    assert not bool(info["converged"]) and int(info["iterations"]) == 3
    assert bool(torch.isfinite(x).all()) and info["matvecs"] == 3


@pytest.mark.parametrize("check_every", [1, 3, 4, 7])
def test_cg_reads_the_device_once_per_check(check_every):
    a, b = spd_matrix(3, 30, 1e3), rhs(3, 30)
    with DeviceReads() as reads:
        _, info = conjugate_gradient(lambda v: a @ v, b, tol=1e-10, max_iter=60, check_every=check_every)
    iterations = int(info["iterations"])
    assert reads.count <= math.ceil(iterations / check_every) + 1
    assert info["matvecs"] < iterations + check_every + 1  # masked iterations stay within one window


@given(
    seed=st.integers(0, 10_000),
    n=st.integers(2, 25),
    check_every=st.integers(1, 7),
    first_check=st.integers(0, 9),
    galerkin=st.booleans(),
)
def test_cg_iterates_do_not_depend_on_the_check_schedule(seed, n, check_every, first_check, galerkin):
    # checked iterations run unmasked, the others masked: both must be the same recurrence, and
    # iterations past an unread convergence must leave x, L x and the counts exactly as they were
    a, b = spd_matrix(seed, n, 50.0), rhs(seed + 1, n)
    options = dict(tol=1e-9, max_iter=200, side_output=True)
    if galerkin:
        options["galerkin_start"] = (b.norm() / 2, b.norm() ** 2 / 8)

    def matvec(v):
        return a @ v, 3 * v

    x_every, every = conjugate_gradient(matvec, b, check_every=1, first_check=0, **options)
    x, info = conjugate_gradient(matvec, b, check_every=check_every, first_check=first_check, **options)
    assert torch.equal(x, x_every) and torch.equal(info["side_output"], every["side_output"])
    for key in ("iterations", "residual_norm", "relative_residual", "converged"):
        assert torch.equal(info[key], every[key]), key
    assert bool(info["converged"])


def test_cg_masked_iterations_do_not_move_the_solution():
    a, b = spd_matrix(4, 3, 2.0), rhs(4, 3)
    x_tight, info = conjugate_gradient(lambda v: a @ v, b, tol=1e-10, check_every=50, max_iter=50)
    assert int(info["iterations"]) <= 4 and info["matvecs"] == 50
    torch.testing.assert_close(x_tight, torch.linalg.solve(a, b), rtol=1e-9, atol=1e-10)


@pytest.mark.parametrize("bad", [dict(tol=-1.0), dict(atol=-1e-3), dict(max_iter=0), dict(check_every=0)])
def test_solver_arguments_are_checked(bad):
    options = dict(tol=1e-6, atol=0.0, max_iter=10, check_every=4) | bad
    with pytest.raises(ValueError, match="Invalid"):
        conjugate_gradient(lambda v: v, torch.ones(3), **options)
    with pytest.raises(ValueError, match="Invalid"):
        gmres(lambda v: v, torch.ones(3), **options)


@given(seed=st.integers(0, 10_000), n=st.integers(1, 25), restart=st.integers(1, 30), skew=st.floats(0.0, 3.0))
def test_gmres_matches_dense_solve_for_nonsymmetric_systems(seed, n, restart, skew):
    g = torch.Generator().manual_seed(seed)
    s = torch.randn(n, n, generator=g, dtype=torch.float64)
    a = spd_matrix(seed, n, 10.0) + skew * (s - s.T) / math.sqrt(n)  # positive real part: restarts converge
    b = rhs(seed, n)
    x, info = gmres(lambda v: a @ v, b, restart=restart, tol=1e-11, max_iter=2000)
    assert bool(info["converged"])
    torch.testing.assert_close(x, torch.linalg.solve(a, b), rtol=1e-7, atol=1e-8)


def test_gmres_lucky_breakdown_is_exact():
    b = rhs(5, 8)
    x, info = gmres(lambda v: 3.0 * v, b, tol=1e-14, restart=20, max_iter=20)
    torch.testing.assert_close(x, b / 3.0)
    assert int(info["iterations"]) == 1 and bool(info["converged"])


def test_gmres_warm_start_and_zero_rhs():
    a, b = spd_matrix(6, 6, 5.0), rhs(6, 6)
    exact = torch.linalg.solve(a, b)
    _, info = gmres(lambda v: a @ v, b, x0=exact, tol=1e-8)
    assert int(info["iterations"]) == 0
    x, _ = gmres(lambda v: a @ v, torch.zeros(6, dtype=torch.float64), x0=torch.ones(6, dtype=torch.float64))
    assert torch.count_nonzero(x) == 0


def test_gmres_max_iter_counts_inner_iterations_over_restarts():
    a, b = spd_matrix(7, 50, 1e4), rhs(7, 50)
    _, info = gmres(lambda v: a @ v, b, restart=5, tol=1e-14, max_iter=12)
    assert not bool(info["converged"]) and int(info["iterations"]) == 12
    assert info["matvecs"] == 12 + 2  # plus the true residuals at two restarts


@pytest.mark.parametrize("solver", ["cg", "gmres"])
@given(seed=st.integers(0, 10_000), n=st.integers(1, 20), m=st.integers(1, 7), warm=st.booleans())
def test_side_output_is_the_second_map_applied_to_the_solution(solver, seed, n, m, warm):
    a, b = spd_matrix(seed, n, 20.0), rhs(seed, n)
    second = torch.randn(m, n, generator=torch.Generator().manual_seed(seed + 2), dtype=torch.float64)
    x0 = rhs(seed + 3, n) if warm else None
    options = dict(tol=1e-11, max_iter=300, side_output=True)
    if solver == "cg":
        x, info = conjugate_gradient(lambda v: (a @ v, second @ v), b, x0, **options)
    else:
        x, info = gmres(lambda v: (a @ v, second @ v), b, x0, restart=max(1, n // 3), **options)
    torch.testing.assert_close(info["side_output"], second @ x, rtol=1e-9, atol=1e-9)


def test_first_check_reads_once_where_the_solve_converges():
    a, b = spd_matrix(8, 30, 1e3), rhs(8, 30)
    _, reference = conjugate_gradient(lambda v: a @ v, b, tol=1e-8, max_iter=100, check_every=1)
    needed = int(reference["iterations"])
    with DeviceReads() as reads:
        _, info = conjugate_gradient(lambda v: a @ v, b, tol=1e-8, max_iter=100, check_every=4, first_check=needed)
    assert reads.count == 1 and info["matvecs"] == needed == int(info["iterations"])
    with pytest.raises(ValueError, match="Invalid first_check"):
        conjugate_gradient(lambda v: a @ v, b, first_check=-1)


@pytest.mark.parametrize("solver", [conjugate_gradient, gmres])
def test_solvers_are_scale_invariant_down_to_tiny_right_hand_sides(solver):
    # dot products of vectors of size 1e-160 underflow in float64; the solvers work on b / |b|
    a, b = spd_matrix(9, 12, 30.0), rhs(9, 12)
    x, info = solver(lambda v: a @ v, b, tol=1e-10, max_iter=200)
    tiny, tiny_info = solver(lambda v: a @ v, b * 1e-160, tol=1e-10, max_iter=200)
    torch.testing.assert_close(tiny * 1e160, x, rtol=1e-8, atol=0.0)
    assert bool(tiny_info["converged"]) and int(tiny_info["iterations"]) == int(info["iterations"])


@given(
    seed=st.integers(0, 10_000),
    n=st.integers(2, 20),
    m=st.integers(1, 20),
    coupling=st.floats(0.1, 3.0),
    noise=st.floats(0.0, 2.0),
    tol=st.floats(1e-9, 1e-3),
)
def test_cg_galerkin_start_stops_no_earlier_than_the_full_solve(seed, n, m, coupling, noise, tol):
    # M = I + K K' >= I; the start is the exact solution plus noise, scaled by the Galerkin condition;
    # only its residual is handed to the solver, the right-hand side b' never is
    g = torch.Generator().manual_seed(seed)
    k = coupling * torch.randn(n, m, generator=g, dtype=torch.float64) / math.sqrt(m)
    matrix = torch.eye(n, dtype=torch.float64) + k @ k.T
    b_full = torch.randn(n, generator=g, dtype=torch.float64)
    guess = torch.linalg.solve(matrix, b_full) + noise * torch.randn(n, generator=g, dtype=torch.float64)
    along_b, energy = guess @ b_full, guess @ matrix @ guess
    gamma = along_b / energy
    start = gamma * guess
    residual = b_full - matrix @ start
    assert abs(float(start @ residual)) < 1e-9 * float(b_full.norm() * start.norm()) + 1e-12
    bounds = (along_b.abs() / guess.norm(), gamma * along_b)
    correction, info = conjugate_gradient(
        lambda v: matrix @ v, residual, tol=tol, max_iter=500, check_every=1, galerkin_start=bounds
    )
    true_residual = torch.linalg.vector_norm(b_full - matrix @ (start + correction))
    assert bool(info["converged"])
    assert float(true_residual) <= tol * float(b_full.norm()) * (1 + 1e-6) + 1e-14
    if float(info["residual_norm"]) > 0:  # an exact start leaves nothing to divide
        reference = info["residual_norm"] / info["relative_residual"]  # what the tolerance was relative to
        assert float(reference) <= float(b_full.norm()) * (1 + 1e-9)
        # and it is no smaller than the A^-1-norm of b' as far as the solve got to measure it
        a_inverse_norm = torch.sqrt(b_full @ torch.linalg.solve(matrix, b_full))
        assert float(reference) >= float(a_inverse_norm) * (1 - 2 * tol) or float(reference) >= float(bounds[0])


@pytest.mark.parametrize("solver", [conjugate_gradient, gmres])
def test_a_check_before_the_first_iteration_makes_no_product_for_a_zero_rhs(solver):
    a = spd_matrix(0, 6, 10.0)
    calls = []

    def matvec(v):
        calls.append(1)
        return a @ v, 2 * v

    x, info = solver(matvec, torch.zeros(6, dtype=torch.float64), check_every=1, first_check=0, side_output=True)
    assert not calls and info["matvecs"] == 0 and bool(info["converged"])
    assert bool((x == 0).all()) and info["side_output"] is None  # L x = 0, shape unknown without a product


@pytest.mark.parametrize("solver", [conjugate_gradient, gmres])
@pytest.mark.parametrize("bad", [float("nan"), float("inf")])
def test_a_non_finite_right_hand_side_gives_a_non_finite_solution(solver, bad):
    # the optimizers rely on it: a bad gradient coordinate must not turn into a finite (zero) step
    a, b = spd_matrix(5, 8, 10.0), rhs(5, 8)
    b[3] = bad
    x, info = solver(lambda v: a @ v, b, tol=1e-8, max_iter=20)
    assert not bool(torch.isfinite(x).all()) and not bool(info["converged"])


def _outlier_system(seed: int, n: int = 60):
    """M = I + K K' with four outlying eigenvalues, the shape of the competitive system."""
    g = torch.Generator().manual_seed(seed)
    K = torch.randn(n, 4, dtype=torch.float64, generator=g) * torch.tensor([20.0, 8.0, 3.0, 1.0], dtype=torch.float64)
    return torch.eye(n, dtype=torch.float64) + K @ K.T, torch.randn(n, dtype=torch.float64, generator=g)


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_pcg_with_pairs_of_a_solve_of_the_same_matrix_converges_at_once(seed):
    M, b = _outlier_system(seed)
    options = dict(tol=1e-10, max_iter=100, check_every=1, first_check=0)
    _, first = conjugate_gradient(lambda v: M @ v, b, keep_directions=10, **options)
    assert len(first["directions"]) == int(first["iterations"]) >= 4
    H = quasi_newton_preconditioner(torch.stack(first["directions"]), torch.stack(first["products"]))
    other = torch.randn(b.numel(), dtype=torch.float64, generator=torch.Generator().manual_seed(seed + 10))
    x, info = conjugate_gradient(lambda v: M @ v, other, preconditioner=H, **options)
    # the pairs span M's invariant subspace of its outliers: H M = I up to rounding
    assert int(info["iterations"]) <= 2
    assert float(torch.linalg.vector_norm(other - M @ x) / torch.linalg.vector_norm(other)) <= 1e-10


def test_quasi_newton_preconditioner_is_spd_and_meets_the_newest_secant_equation():
    g = torch.Generator().manual_seed(3)
    S = torch.randn(5, 30, dtype=torch.float64, generator=g)
    A = torch.eye(30, dtype=torch.float64) + torch.diag(torch.rand(30, dtype=torch.float64, generator=g) * 10)
    H_apply = quasi_newton_preconditioner(S, S @ A)  # rows y_i = A s_i (A symmetric)
    H = torch.stack([H_apply(e) for e in torch.eye(30, dtype=torch.float64)], 1)
    torch.testing.assert_close(H, H.T, rtol=0, atol=1e-12)
    assert float(torch.linalg.eigvalsh(H).min()) > 0
    torch.testing.assert_close(H_apply(A @ S[-1]), S[-1], rtol=1e-10, atol=1e-10)
    with pytest.raises(ValueError, match="directions and products"):
        quasi_newton_preconditioner(S, S[:4])
    with pytest.raises(ValueError, match="keep_directions"):
        conjugate_gradient(lambda v: v, torch.ones(3), keep_directions=-1)


@given(seed=st.integers(0, 2**16), steps=st.integers(2, 12))
def test_lanczos_ritz_values_interlace_below_the_top_eigenvalue_and_reach_it_on_the_whole_space(seed, steps):
    """Ritz values of a PSD matrix lie in [λ_min, λ_max] and the largest rises towards λ_max
    (Cauchy interlacing); with as many steps as the dimension they are the eigenvalues."""
    generator = torch.Generator().manual_seed(seed)
    n = 12
    factor = torch.randn(n, n, generator=generator, dtype=torch.float64)
    matrix = factor @ factor.T
    start = torch.randn(n, generator=generator, dtype=torch.float64)
    exact = torch.linalg.eigvalsh(matrix).flip(0)
    values, vectors = lanczos(lambda v: matrix @ v, start, steps, 1)
    assert values.numel() <= steps and vectors.shape == (1, n)
    assert float(values[0]) <= float(exact[0]) * (1 + 1e-10) and float(values[-1]) >= float(exact[-1]) - 1e-8
    fewer = lanczos(lambda v: matrix @ v, start, steps - 1, 0)[0]
    assert float(fewer[0]) <= float(values[0]) * (1 + 1e-12)
    full, top = lanczos(lambda v: matrix @ v, start, n, 2)
    assert torch.allclose(full, exact, rtol=1e-8, atol=1e-8)
    assert torch.allclose(matrix @ top[0], exact[0] * top[0], rtol=1e-6, atol=1e-6 * float(exact[0]))
