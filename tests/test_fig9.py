"""ICR Fig. 9 at our scale (Schäfer, Zheng & Anandkumar 2020, "Implicit competitive regularization in GANs",
Sec. 6): the authors' MNIST networks, the work counted per step, the verdict rule, the summarising
command, and Figs. 4 / 8 from a given checkpoint."""

import itertools
import json
import math

import pytest
import torch
from image_files import mnist_like

from gan_experiments.cli import main
from gan_experiments.config import ConfigError, resolve_config
from gan_experiments.costs import median_seconds, operation_costs
from gan_experiments.experiment import as_run, build
from gan_experiments.icr import fig9
from gan_experiments.models.image_networks import image_discriminator, image_generator
from gan_experiments.optimizers import step_operations
from gan_experiments.records import write_rows
from gan_experiments.trainer import Trainer

ARM_CONFIGS = [f"icr_fig9{arm}_mnist" for arm in fig9.ARMS if arm not in fig9.RIVALS]  # the rivals: the long grid only


@pytest.fixture(scope="module")
def data_root(tmp_path_factory):
    root = tmp_path_factory.mktemp("tiny-mnist")
    mnist_like(root, "MNIST", n=40)
    return root


def test_the_authors_mnist_networks_draw_their_convolutions_from_n_0_001():
    torch.manual_seed(0)
    generator = image_generator("icr_mnist_conv", (1, 28, 28), latent_dim=96, conv_init_std=0.01)
    discriminator = image_discriminator("icr_mnist_conv", (1, 28, 28), slope=0.01, conv_init_std=0.01)
    assert generator(torch.randn(3, 96)).shape == (3, 1, 28, 28)
    assert discriminator(torch.randn(3, 1, 28, 28)).shape == (3,)
    conv = discriminator.features[3].weight  # 64 x 32 x 5 x 5: 51,200 draws
    assert abs(conv.std().item() - 0.01) < 0.0005 and abs(conv.mean().item()) < 0.0002
    assert abs(generator.deconv[0].weight.std().item() - 0.01) < 0.0005
    assert {m.negative_slope for m in discriminator.modules() if isinstance(m, torch.nn.LeakyReLU)} == {0.01}
    with pytest.raises(ValueError, match="takes neither leaky_relu_slope nor conv_init_std"):
        image_discriminator("stackelberg_mnist", (1, 28, 28), slope=0.01)


def test_every_arm_of_a_seed_starts_from_the_same_weights(data_root):
    weights = {}
    for name in ("icr_fig9wgan_mnist", "icr_fig9sn_mnist"):
        config, _ = resolve_config(name, [f'data.root="{data_root}"', "run.samples=8"])
        state = build(config).players.state_dict().items()
        weights[name] = {k.replace(".parametrizations.weight.original", ".weight"): v for k, v in state}
    for key, value in weights["icr_fig9wgan_mnist"].items():
        assert torch.equal(weights["icr_fig9sn_mnist"][key], value), key


def test_the_arms_are_the_table_3_rows_their_keys_name():
    configs = {name: resolve_config(name, [])[0] for name in ARM_CONFIGS}
    arms = {
        n: (c.run.optimizer, c.run.loss, c.loss.spectral_norm, c.optimizer.critic_steps) for n, c in configs.items()
    }
    assert arms["icr_fig9wganoutside_mnist"] == arms["icr_fig9wgan_mnist"] == ("acgd", "wgan", False, 1)
    assert arms["icr_fig9baseline_mnist"] == ("adam", "wgan-gp", False, 5)
    assert arms["icr_fig9sn_mnist"] == ("adam", "wgan", True, 1)
    assert arms["icr_fig9oganadam_mnist"] == ("adam", "nsgan", False, 1)
    placements = {n: c.optimizer.eps_placement for n, c in configs.items() if c.run.optimizer == "acgd"}
    assert placements == {
        "icr_fig9wganoutside_mnist": "outside",
        "icr_fig9wgan_mnist": "inside",
        "icr_fig9ogan_mnist": "outside",
    }
    assert {c.optimizer.lr for c in configs.values()} == {1e-4}


def test_a_step_counts_each_operation_it_computed():
    run = build(resolve_config("standard_ring8_critic5", [])[0])
    assert step_operations("adam", run.session.optimizer, 5) == {"max_gradient": 5, "min_gradient": 1}
    run = build(resolve_config("standard_ring8", ['run.optimizer="acgd"'])[0])
    run.session.train_step()
    products = int(run.session.optimizer.step_stats["hvp_count"])
    assert products >= 2
    assert step_operations("acgd", run.session.optimizer, 1) == {"gradient_with_graph": 1, "mixed_product": products}


def test_measuring_the_costs_leaves_the_run_untouched():
    run = build(resolve_config("standard_ring8", [])[0])  # spectral normalisation: vectors updated by a forward pass
    before = {k: v.clone() for k, v in run.players.state_dict().items()}
    real, z = run.session.stream.next()
    costs = operation_costs(run.players, real, z, ["max_gradient", "min_gradient", "mixed_product"])
    after = run.players.state_dict()
    assert all(torch.equal(before[k], after[k]) for k in before)
    assert costs["gradient_seconds"] > 0
    assert all(costs[k] > 0 for k in ("max_gradient", "min_gradient", "mixed_product"))


def test_each_cost_is_the_median_of_run_cost_repeats_timings_and_a_dry_run_times_once():
    calls = []
    assert median_seconds(lambda: calls.append(1), 3) >= 0 and len(calls) == 4  # one untimed call, three timed
    config = resolve_config("standard_ring8", [])[0]
    assert config.run.cost_repeats == 5 and build(config).session.cost_repeats == 5
    dry, steps = as_run(config, dry_run=True)
    assert (steps, dry.run.cost_repeats, build(dry).session.cost_repeats) == (3, 1, 1)
    with pytest.raises(ConfigError, match=r"run\.cost_repeats must be at least 1"):
        resolve_config("standard_ring8", ["run.cost_repeats=0"])


def test_metrics_csv_counts_seconds_and_gradient_evaluations_across_a_resume(tmp_path):
    out = tmp_path / "run"
    every_step = ["--set", "run.eval_every=1", "--set", "run.checkpoint_every=1000"]
    assert main(["run", "standard_ring8_critic5", *every_step, "--set", "run.steps=2", "--out", str(out)]) == 0
    assert main(["run", "--resume", "--out", str(out), "--set", "run.steps=4"]) == 0
    rows = list(csv_rows(out / "metrics.csv"))
    assert [int(r["step"]) for r in rows] == [1, 2, 3, 4]
    seconds = [float(r["seconds"]) for r in rows]
    work = [float(r["gradient_evaluations"]) for r in rows]
    assert all(b > a for a, b in itertools.pairwise(seconds))
    # the Adam pair's step is 5 critic gradients and one generator gradient at costs measured once
    costs = torch.load(out / "checkpoint.pt", weights_only=False)["work"]["costs"]
    assert work[0] == pytest.approx(5 * costs["max_gradient"] + costs["min_gradient"])
    assert work[3] == pytest.approx(4 * work[0])


def csv_rows(path):
    import csv

    with open(path, newline="") as handle:
        yield from csv.DictReader(handle)


def _readouts(values: dict[int, tuple[float, float]]) -> dict:
    return {seed: {fig9.SCORE: score, fig9.DISTANCE: distance} for seed, (score, distance) in values.items()}


def test_the_verdict_rule_of_docs_experiments():
    acgd = _readouts({0: (5.0, 100.0), 1: (5.2, 98.0), 2: (5.1, 99.0)})  # spreads 0.2 and 2
    gp = _readouts({0: (4.5, 120.0), 1: (4.6, 121.0), 2: (4.55, 119.0)})
    sn = _readouts({0: (4.0, 130.0), 1: (4.1, 131.0), 2: (4.2, 129.0)})
    control = _readouts({0: (3.0, 200.0), 1: (3.1, 210.0), 2: (3.2, 190.0)})
    assert fig9.verdict(acgd, gp, sn, control)[0] == "reproduced"
    # GP ahead by more than the margin (0.2, both spreads) in two seeds (0.45, 0.3; the third 0.2): refuted
    ahead = _readouts({0: (5.45, 90.0), 1: (5.5, 90.0), 2: (5.3, 90.0)})
    assert fig9.verdict(acgd, ahead, sn, control) == (
        "refuted",
        "a regularised Adam arm scores above the unregularised WGAN trained by ACGD by more than the spread: "
        "WGAN-GP in 2 of 3 seeds",
    )
    # within the spread either way: inconclusive
    close = _readouts({0: (4.95, 101.0), 1: (5.15, 99.0), 2: (5.05, 100.0)})
    assert fig9.verdict(acgd, close, sn, control)[0] == "inconclusive"
    arms = {"wganoutside": acgd, "baseline": gp, "sn": sn, "wganadam": control}
    two_seeds = {arm: {seed: values[seed] for seed in (0, 1)} for arm, values in arms.items()}
    assert fig9._placement_verdict("wganoutside", two_seeds)["why"] == "2 seeds in every arm, 3 needed"
    # the control not below by more than the spread: not reproduced
    assert fig9.verdict(acgd, gp, sn, _readouts({0: (4.9, 100.0), 1: (5.0, 99.0), 2: (5.1, 98.0)}))[0] == "inconclusive"


def _write_grid(folder, scores: dict[str, float]) -> None:
    for arm, level in scores.items():
        for seed in range(3):
            rows = [
                {
                    "step": 50 * k,
                    fig9.SCORE: level * k / 8 + 0.01 * seed,
                    fig9.DISTANCE: 1000 / (level * k) - seed,
                    "seconds": 2.0 * k,
                    "gradient_evaluations": 7.0 * k,
                }
                for k in range(1, 9)
            ]
            run = folder / f"icr_fig9{arm}_mnist" / "default" / f"seed{seed}"
            run.mkdir(parents=True)
            write_rows(rows, run / "metrics.csv")


def test_the_summarising_command_prints_the_table_verdicts_and_draws_the_panels(tmp_path, capsys):
    _write_grid(tmp_path, {"wganoutside": 6.0, "wgan": 5.0, "wganadam": 3.0, "baseline": 4.0, "sn": 4.5, "ogan": 2.0})
    assert main(["fig9", str(tmp_path)]) == 0
    printed = capsys.readouterr().out
    assert "the authors' eps placement: reproduced" in printed and "Algorithm 1's eps placement: reproduced" in printed
    summary = json.loads((tmp_path / "fig9.json").read_text())
    # the readout: the mean of the last five of eight evaluations (k = 4..8), seed 0
    assert summary["arms"]["baseline"]["readout"]["0"][fig9.SCORE] == pytest.approx(4.0 * 6 / 8)
    assert summary["arms"]["sn"]["spread"][fig9.SCORE] == pytest.approx(0.02)
    assert summary["arms"]["wgan"]["gradient_evaluations"] == 56.0 and math.isclose(
        summary["arms"]["wgan"]["seconds"], 16
    )
    assert (tmp_path / "fig9.png").stat().st_size > 0 and (tmp_path / "fig9_samples.png").stat().st_size > 0
    assert main(["fig9", str(tmp_path / "nothing-here")]) == 2


def test_fig4_starts_from_a_given_checkpoint_without_training_its_own(data_root, tmp_path):
    checkpoint = tmp_path / "checkpoint"
    small = ["--data-root", str(data_root), "--set", "run.batch_size=4", "--set", "run.samples=16"]
    short = ["--set", "run.steps=2", "--set", "run.eval_every=1000"]
    assert main(["run", "icr_checkpoint_mnist", *small, *short, "--out", str(checkpoint)]) == 0
    given = f'icr.checkpoint="{checkpoint}"'
    config, _ = resolve_config("icr_fig4_mnist", [f'data.root="{data_root}"', given])
    run = build(config)
    run.train(lambda session, evaluate: Trainer(session).fit(1))  # loads, trains nothing
    saved = torch.load(checkpoint / "checkpoint.pt", weights_only=False)["players"]
    assert run.session.step_count == 2
    assert all(torch.equal(value, saved[key]) for key, value in run.players.state_dict().items())
    fig4 = tmp_path / "fig4"
    tiny = ["--data-root", str(data_root), "--set", given]
    assert main(["run", "icr_fig4_mnist", "--dry-run", *tiny, "--out", str(fig4)]) == 0
    assert json.loads((fig4 / "metrics.json").read_text())["step"] == 2  # the analysis starts at the given one
    missing = ["--set", 'icr.checkpoint="no/such/file.pt"']
    assert main(["run", "icr_fig4_mnist", *missing, "--out", str(tmp_path / "x")]) == 2
