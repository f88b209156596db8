"""The measuring tools of benchmarks/spectrum.py and benchmarks/time_to_quality.py, on systems
whose answers are known in closed form, and a smoke run of the time-to-quality benchmark."""

import math

import pytest
import torch

from benchmarks import spectrum, time_to_quality
from cgd_optim.linalg import lanczos
from gan_experiments.data.images import bundled_mnist
from gan_experiments.metrics.digit_classifier import train_classifier


def _system(n: int = 60, rank: int = 6, seed: int = 0):
    """M = I + K K^T with K of rank ``rank`` (eigenvalues 1 + singular values^2, the rest exactly 1)."""
    generator = torch.Generator().manual_seed(seed)
    k = torch.randn(n, rank, generator=generator, dtype=torch.float64) * torch.linspace(
        1.0, 0.2, rank, dtype=torch.float64
    )
    coupling = k @ k.T
    return (
        coupling,
        torch.eye(n, dtype=torch.float64) + coupling,
        torch.randn(n, generator=generator, dtype=torch.float64),
    )


def test_lanczos_recovers_the_exact_leading_eigenpairs_of_a_low_rank_coupling():
    coupling, _, _ = _system()
    values, vectors = lanczos(lambda v: coupling @ v, torch.ones(60, dtype=torch.float64), 20, 3)
    exact_values, exact_vectors = torch.linalg.eigh(coupling)
    assert torch.allclose(values[:6], exact_values.flip(0)[:6], rtol=1e-9, atol=1e-10)
    # rank 6: the recurrence stops at the rounding level instead of inventing eigenvalues
    assert values.numel() <= 7
    cosines = spectrum.principal_cosines(vectors, exact_vectors[:, -3:].T)
    assert min(cosines) > 1 - 1e-9


def test_ritz_pairs_of_a_full_cg_solve_are_eigenpairs_and_their_preconditioner_inverts_m_there():
    _, m, b = _system()
    iterations, info = spectrum.cg_iterations(lambda v: m @ v, b, keep=200)
    # 6 distinct eigenvalues above 1 plus the cluster at 1: CG ends within rank + 1 iterations
    assert iterations <= 7
    values, vectors = spectrum.ritz_pairs_from_cg(info["directions"][:iterations], info["products"][:iterations], 6)
    exact = torch.linalg.eigvalsh(m).flip(0)[:6]
    assert torch.allclose(values, exact, rtol=1e-8)
    assert torch.allclose(vectors @ m @ vectors.T, torch.diag(values).to(vectors.dtype), atol=1e-8)
    apply = spectrum.spectral_preconditioner(values, vectors)
    # H M = I: with all of M's non-unit eigenpairs the preconditioned solve takes one iteration
    assert torch.allclose(torch.stack([apply(column) for column in m.T]).T, torch.eye(60, dtype=m.dtype), atol=1e-8)
    assert spectrum.cg_iterations(lambda v: m @ v, b, apply)[0] == 1


def test_energy_fraction_and_principal_cosines_on_coordinate_vectors():
    basis = torch.eye(4, dtype=torch.float64)
    assert spectrum.energy_fraction(basis[:2], torch.tensor([3.0, 4.0, 0.0, 0.0])) == pytest.approx(1.0)
    assert spectrum.energy_fraction(basis[:1], torch.tensor([1.0, 1.0, 1.0, 1.0])) == pytest.approx(0.25)
    turned = torch.stack([basis[0], (basis[1] + basis[2]) / math.sqrt(2)])
    assert sorted(spectrum.principal_cosines(basis[:2], turned)) == pytest.approx([1 / math.sqrt(2), 1.0])


def test_cg_bound_iterations_is_the_chebyshev_bound():
    # 2 rho^k <= tol with rho = (sqrt(kappa) - 1) / (sqrt(kappa) + 1)
    rho = (math.sqrt(1.5) - 1) / (math.sqrt(1.5) + 1)
    assert spectrum.cg_bound_iterations(1.5, 1e-6) == math.ceil(math.log(1e-6 / 2) / math.log(rho))


def _curve(points):
    return [
        {"seconds": s, "steps": s, "inception_score": score, "frechet_distance": distance}
        for s, score, distance in points
    ]


def test_time_to_quality_reads_first_crossings_against_the_best_of_all_runs():
    runs = [
        {"optimizer": "a", "seed": 0, "curve": _curve([(0, 1.0, 900.0), (10, 5.0, 120.0), (20, 9.0, 100.0)])},
        {"optimizer": "b", "seed": 0, "curve": _curve([(0, 1.0, 900.0), (10, 8.2, 109.0), (20, 8.0, 111.0)])},
        {"optimizer": "b", "seed": 1, "curve": _curve([(0, 1.0, 900.0), (30, 2.0, 500.0)])},
    ]
    summary = time_to_quality.time_to_quality(runs)
    assert summary["best_inception_score"] == 9.0 and summary["best_frechet_distance"] == 100.0
    assert summary["optimizers"]["a"]["seconds_to_90pct_inception_score"] == [20]
    # 8.2 >= 0.9 * 9 at 10 s; 109 <= 110 at 10 s; seed 1 never gets there
    assert summary["optimizers"]["b"]["seconds_to_90pct_inception_score"] == [10, None]
    assert summary["optimizers"]["b"]["seconds_to_frechet_within_1.1x"] == [10, None]
    assert summary["optimizers"]["b"]["final_inception_score"] == [8.0, 2.0]
    # against its own family's bests (IS 8.2, FID 109): seed 0 there at 10 s, seed 1 still never
    assert summary["family_bests"]["b"] == {"inception_score": 8.2, "frechet_distance": 109.0}
    assert summary["optimizers"]["b"]["seconds_to_90pct_family_inception_score"] == [10, None]
    assert summary["optimizers"]["a"]["seconds_to_family_frechet_within_1.1x"] == [20]


def test_gradient_equivalents_count_products_at_their_measured_cost():
    costs = {"create_graph_gradient": 1.5, "product": 0.75}
    x, y = torch.zeros(2, requires_grad=True), torch.zeros(2, requires_grad=True)
    acgd = time_to_quality.OPTIMIZERS["acgd_tol1e-6"]([x], [y])
    acgd.step(lambda: (x * y).sum() + x.square().sum() - y.square().sum() + x.sum())
    products = int(acgd.step_stats["hvp_count"])
    assert products >= 2
    assert time_to_quality.gradient_equivalents(acgd, costs) == pytest.approx(1.5 + 0.75 * products)
    assert time_to_quality.gradient_equivalents(time_to_quality.OPTIMIZERS["adam"]([x], [y]), costs) == 2.0


@pytest.fixture(scope="module")
def small_classifier():
    images, labels = bundled_mnist("train")
    return train_classifier(images[:256], labels[:256], epochs=1)


def test_smoke_run_trains_evaluates_and_summarises_every_optimizer_kind(small_classifier):
    report = time_to_quality.run_benchmark(
        ["acgd_tol1e-2", "simgd", "adam"], [0], budget=60.0, eval_every=60.0, max_steps=2, classifier=small_classifier
    )
    assert [run["optimizer"] for run in report["runs"]] == ["acgd_tol1e-2", "simgd", "adam"]
    for run in report["runs"]:
        assert [point["steps"] for point in run["curve"]] == [0, 2]
        assert run["curve"][1]["gradient_equivalents"] > 0 and run["costs"]["product"] > 0
        assert all(math.isfinite(p["inception_score"]) and math.isfinite(p["frechet_distance"]) for p in run["curve"])
    # the same seed starts every optimizer from the same generator: equal first evaluations
    first = {run["curve"][0]["inception_score"] for run in report["runs"]}
    assert len(first) == 1
    assert set(report["summary"]["optimizers"]) == {"acgd_tol1e-2", "simgd", "adam"}


def test_the_wgan_game_runs_every_setting_on_the_first_seed_and_the_main_comparison_on_all():
    names = ["acgd_tol1e-3", "acgd_outside_tol1e-3", "adam", "adam_gp", "adam_sn"]
    plan = time_to_quality.plan_runs(names, [0, 1, 2], "wgan", "acgd_outside_tol1e-3")
    assert plan[:5] == [(0, name) for name in names]
    assert plan[5:] == [(seed, n) for seed in (1, 2) for n in ["acgd_outside_tol1e-3", "adam", "adam_gp", "adam_sn"]]
    assert time_to_quality.plan_runs(names, [0, 1], "ogan") == [(s, n) for s in (0, 1) for n in names]


def test_reaching_the_regularised_adam_arms_reads_the_first_crossing_of_their_best_on_the_same_seed():
    def run(name, seed, points):
        curve = [
            {"seconds": s, "gradient_equivalents": 10 * s, "inception_score": i, "frechet_distance": f}
            for s, i, f in points
        ]
        return {"optimizer": name, "seed": seed, "curve": curve}

    runs = [
        run("adam_gp", 0, [(0, 1.0, 900.0), (10, 4.0, 200.0)]),
        run("adam_sn", 0, [(0, 1.0, 900.0), (10, 4.5, 250.0), (20, 4.2, 260.0)]),
        run("adam", 0, [(0, 1.0, 900.0), (10, 6.0, 100.0)]),  # the control sets no target
        run("acgd_tol1e-3", 0, [(0, 1.0, 900.0), (15, 4.6, 210.0), (30, 4.4, 190.0)]),
        run("acgd_tol1e-3", 1, [(0, 1.0, 900.0)]),  # no regularised arm on seed 1: no entry
    ]
    reached = time_to_quality.reaching_regularised_adam(runs)
    assert reached == {
        "acgd_tol1e-3": [
            {
                "seed": 0,
                "target_inception_score": 4.5,
                "target_frechet_distance": 200.0,
                "inception_score": {"seconds": 15, "gradient_equivalents": 150},
                "frechet_distance": {"seconds": 30, "gradient_equivalents": 300},
            }
        ]
    }


def test_smoke_run_of_the_wgan_game_starts_every_arm_from_the_same_generator(small_classifier):
    names = ["adam_gp", "adam_sn"]
    report = time_to_quality.run_benchmark(
        names, [0], budget=60.0, eval_every=60.0, max_steps=2, classifier=small_classifier, game="wgan"
    )
    assert [run["optimizer"] for run in report["runs"]] == names
    assert len({run["curve"][0]["inception_score"] for run in report["runs"]}) == 1  # spectral norm draws apart
    gp = report["runs"][0]
    # two steps of 5 critic gradients and one generator gradient, each at its measured cost
    assert gp["curve"][-1]["gradient_equivalents"] == pytest.approx(
        2 * (5 * gp["costs"]["max_gradient"] + gp["costs"]["min_gradient"])
    )
    assert report["summary"]["reaching_regularised_adam"] == {}  # no ACGD setting ran
