"""The ICR paper's small experiments (Schäfer, Zheng & Anandkumar 2020, "Implicit competitive regularization in GANs"
Sec. 3-4, App. A.2) as configs."""

import json
import math

import pytest
import torch

from gan_experiments.cli import main
from gan_experiments.icr import (
    ProjectionDiscriminator,
    ProjectionGame,
    ProjectionGenerator,
    in_output_set,
    projection_stays,
    quadratic_trajectory,
    simgd_spectral_radius,
)
from gan_experiments.sweep import summarize


def test_the_projection_networks_have_28_weights_each():
    assert sum(p.numel() for p in ProjectionGenerator().parameters()) == 28
    assert sum(p.numel() for p in ProjectionDiscriminator().parameters()) == 28


@pytest.mark.parametrize("seed", range(5))
def test_the_generator_output_lies_in_s_and_never_reaches_the_target(seed):
    torch.manual_seed(seed)
    points = []
    for _ in range(50):
        generator = ProjectionGenerator()
        with torch.no_grad():
            for p in generator.parameters():
                p.mul_(5.0)  # far beyond the initial scale: the output layer still confines it
        points.append(generator())
    points = torch.stack(points).double()
    assert in_output_set(points).all()
    assert (points.prod(dim=1) < math.e).all()  # p1 p2 = e^{2s} < e < 4 = the target's product
    assert not in_output_set(torch.tensor([[2.0, 2.0]], dtype=torch.float64)).any()
    assert in_output_set(torch.tensor([[2.0, 0.5], [1.0, 1.0]], dtype=torch.float64)).all()


def test_the_discriminator_sees_its_input_through_eta():
    torch.manual_seed(0)
    d = ProjectionDiscriminator(eta=(1.0, 0.0))
    a, b = torch.tensor([0.3, 5.0]), torch.tensor([0.3, -7.0])
    assert torch.equal(d(a), d(b))  # the second coordinate is scaled to nothing
    game = ProjectionGame(eta=(1.0, 0.01))
    expected = game.discriminator(torch.tensor([2.0, 2.0])) - game.discriminator(game.generator())
    torch.testing.assert_close(game.objective(), expected)


def test_projection_stays_on_hand_made_trajectories():
    inside, outside = [2.0] * 300, [3.0] * 10
    trajectory = torch.tensor(outside + inside + outside + [2.01] * 50 + outside + [1.97] * 250)
    assert projection_stays(trajectory, tolerance=0.05, min_length=200) == [(10, 300), (380, 250)]
    assert projection_stays(trajectory, tolerance=0.005, min_length=200) == [(10, 300)]
    assert projection_stays(torch.tensor(inside), min_length=301) == []


@pytest.mark.parametrize("lr_min, lr_max", [(0.09, 0.01), (0.03, 0.03), (0.01, 0.09)])
def test_simgd_on_the_quadratic_game_follows_its_spectral_radius(lr_min, lr_max):
    """Sec. 4: the iterates shrink by the spectral radius of Id - M per step, asymptotically."""
    radius = simgd_spectral_radius(lr_min, lr_max)
    path = quadratic_trajectory("simgd", lr_min, lr_max, (1.0, 1.0), 400)
    growth = (path[400].norm() / path[200].norm()) ** (1 / 200)
    assert float(growth) == pytest.approx(radius, rel=2e-3)
    assert (radius < 1) == ((lr_min, lr_max) == (0.09, 0.01))  # only the first pair converges


def test_quadratic_config_reports_paper_behaviour(tmp_path, capsys):
    assert main(["run", "icr_fig3_quadratic", "--out", str(tmp_path)]) == 0
    runs = {
        (r["optimizer"], r["eta_x"], r["eta_y"]): r for r in json.loads((tmp_path / "metrics.json").read_text())["runs"]
    }
    assert runs[("simgd", 0.09, 0.01)]["converged"]
    assert runs[("simgd", 0.03, 0.03)]["diverged"] and runs[("simgd", 0.01, 0.09)]["diverged"]
    assert runs[("cgd", 0.03, 0.03)]["converged"]  # CGD stabilises what SimGD cannot
    lines = (tmp_path / "trajectories.csv").read_text().splitlines()
    assert lines[0] == "optimizer,eta_x,eta_y,iteration,x,y" and len(lines) == 1 + 9 * 301


def test_projection_sweep_counts_runs_in_the_projection_state(tmp_path, capsys):
    code = main(
        [
            "sweep",
            "icr_fig7_projection",
            "--seeds",
            "0",
            "1",
            "--grid",
            'run.optimizer="simgd","cgd"',
            "--set",
            "run.steps=400",
            "--set",
            "projection.min_stay=100",
            "--out",
            str(tmp_path),
        ]
    )
    assert code == 0
    summary = json.loads((tmp_path / "summary.json").read_text())
    for entry in summary.values():
        folder_runs = entry["runs"]
        assert folder_runs == 2 and entry["projection"]["sum"] == entry["projection"]["mean"] * 2
        assert 0 <= entry["iterations_in_projection"]["mean"] <= 400
    assert (
        summarize({"a": [{"projection": True, "x": 1.0}, {"projection": False, "x": 3.0}]})["a"]["projection"]["sum"]
        == 1.0
    )


def test_eq5_distance_on_hand_made_predictions():
    from gan_experiments.icr.mnist import discriminator_distance

    assert discriminator_distance(torch.tensor([1.0, 2.0, 3.0]), torch.tensor([1.0, 0.0, 3.0])) == 2.0
    assert discriminator_distance(torch.tensor([3.0, 4.0]), torch.zeros(2)) == 5.0
    assert discriminator_distance(torch.ones(500), torch.ones(500)) == 0.0


def test_the_icr_mnist_networks_have_the_tables_shapes():
    from gan_experiments.models.icr_mnist import ICRMNISTDiscriminator, ICRMNISTGenerator

    torch.manual_seed(0)
    generator, discriminator = ICRMNISTGenerator(), ICRMNISTDiscriminator()
    images = generator(torch.randn(4, 96))
    assert images.shape == (4, 1, 28, 28) and float(images.detach().abs().max()) <= 1.0
    assert discriminator(images).shape == (4,)
    assert discriminator.head[0].in_features == 64 * 4 * 4  # 64 x 4 x 4 after the second max-pool (Table 2)


def test_the_bundled_mnist_subset_splits_4000_and_1000_disjoint_images():
    from gan_experiments.data.images import bundled_mnist

    train, train_labels = bundled_mnist("train")
    test, test_labels = bundled_mnist("test")
    assert train.shape == (4000, 1, 28, 28) and test.shape == (1000, 1, 28, 28)
    assert float(train.min()) == -1.0 and float(train.max()) == 1.0
    assert torch.bincount(torch.cat([train_labels, test_labels])).tolist() == [500] * 10
    train_keys = {bytes(row.numpy()) for row in train.flatten(1).to(torch.uint8)}
    assert not any(bytes(row.numpy()) in train_keys for row in test.flatten(1).to(torch.uint8)[:200])
    assert torch.equal(bundled_mnist("train")[0], train)  # the split is fixed
