"""The image experiments: a dry run of every image config on tiny files in torchvision's formats,
the metrics they write, the sample grids, and the rules of image configs."""

import json

import pytest
import torch
from image_files import cifar_like, mnist_like
from PIL import Image

from gan_experiments.cli import main
from gan_experiments.config import ConfigError, bundled_configs, load, resolve_config
from gan_experiments.data import IMAGE_DATASETS
from gan_experiments.data.images import IMAGE_SHAPES
from gan_experiments.registry import check

IMAGE_CONFIGS = sorted(
    name
    for name in bundled_configs()
    if resolve_config(name, [])[0].data.name in IMAGE_DATASETS
    and resolve_config(name, [])[0].run.framework != "icr_mnist"
)


@pytest.fixture(scope="module")
def data_root(tmp_path_factory):
    """40 training and 40 held-out images of each set (labels 0-9): the classifiers train in a second."""
    root = tmp_path_factory.mktemp("tiny-data")
    mnist_like(root, "MNIST", n=40)
    mnist_like(root, "FashionMNIST", n=40)
    cifar_like(root, per_batch=8)
    return root


def test_the_image_configs_cover_every_experiment_of_the_issue():
    assert {
        "stackelberg_fig6_mnist",
        "stackelberg_fig1_fashion",
        "stackelberg_table1_cifar10",
        "icr_fig9wgan_cifar10",
        "icr_fig9ogan_cifar10",
        "icr_fig9baseline_cifar10",
        "sgan_fig5_mnist",
        "proximal_table1wc_cifar10",
        "proximal_table1sn_cifar10",
        "standard_stackedmnist",
        "stackelberg_stackedmnist",
        "sgan_stackedmnist",
        "proximal_stackedmnist",
    } <= set(IMAGE_CONFIGS)


@pytest.mark.parametrize("name", IMAGE_CONFIGS)
def test_dry_run_of_every_image_config_on_tiny_files(name, data_root, tmp_path, capsys):
    out = tmp_path / "run"
    assert main(["run", name, "--dry-run", "--data-root", str(data_root), "--out", str(out)]) == 0
    config = load(out / "config.toml")  # what ran: the dry run's shrunk config (e.g. at most 3 SGAN pairs)
    metrics = json.loads((out / "metrics.json").read_text())
    assert metrics["step"] == 3 and 0 <= metrics["classifier_accuracy"] <= 1
    if config.data.name == "stacked_mnist":
        assert 1 <= metrics["modes_covered"] <= 1000 and metrics["real_modes_covered"] >= 1
    else:  # every score has the real held-out images' beside it
        for key in (
            "inception_score",
            "class_entropy",
            "total_variation",
            "classes_covered",
            "frechet_classifier_distance",
        ):
            assert key in metrics and f"real_{key}" in metrics
        assert 1 - 1e-9 <= metrics["inception_score"] <= 10 + 1e-9
    assert set(metrics["skipped"]) == {"fid", "inception_score_imagenet"}  # no weights given: said, not failed
    assert "fid skipped: no Inception weights" in capsys.readouterr().err
    rows = {"stackelberg": config.model.generators, "sgan": config.sgan.pairs + 1}.get(config.run.framework, 10)
    height = Image.open(out / "samples.png").size[1]
    assert (
        height == rows * (IMAGE_SHAPES[config.data.name][1] + 2) + 2
    )  # one row per generator (torchvision's padding 2)
    if config.run.framework == "stackelberg" and config.data.name != "stacked_mnist":
        assert len(metrics["generator_classes_covered"]) == config.model.generators
        assert all(sum(counts) == 200 // config.model.generators for counts in metrics["generator_classes"])
    if config.run.framework == "sgan":
        assert len(metrics["local_frechet_classifier_distances"]) == config.sgan.pairs
    for file in ("config.toml", "metrics.csv", "checkpoint.pt", "curves.png"):
        assert (out / file).stat().st_size > 0


def test_fashion_and_cifar_without_a_data_root_fail_before_the_run_folder_naming_the_fix(tmp_path, capsys):
    for name, title in (("stackelberg_fig1_fashion", "Fashion-MNIST"), ("icr_fig9wgan_cifar10", "CIFAR-10")):
        out = tmp_path / name
        assert main(["run", name, "--dry-run", "--out", str(out)]) == 2
        error = capsys.readouterr().err
        assert f"{title} has no bundled offline copy" in error and "--data-root DIR --download" in error
        assert not out.exists()


@pytest.mark.parametrize(
    "overrides, message",
    [
        (['data.name="mnist"', 'run.framework="stackelberg"'], "model.network = '': image data"),
        (['model.network="stackelberg_mnist"'], "is for image data"),
        (['data.name="mnist"', 'model.network="icr_dcgan"'], "works on Cx32x32 images, the data are 1x28x28"),
        (['data.name="stacked_mnist"', 'model.network="stackelberg_cifar10"'], "works on 3x32x32 images"),
        (['data.name="mnist"', 'model.network="sgan_mlp"', 'run.framework="multibranch"'], "on image data"),
        (["optimizer.critic_steps=5", 'run.optimizer="acgd"'], "critic_steps = 5 needs run.optimizer"),
    ],
)
def test_image_config_rules_name_the_key(overrides, message):
    with pytest.raises(ConfigError, match=message):
        check(resolve_config("stackelberg_fig1_ring8", overrides)[0])


def test_critic_steps_give_the_discriminator_that_many_steps_on_fresh_batches():
    from gan_experiments.experiment import build

    config, _ = resolve_config("stackelberg_fig1baseline_ring8", ["optimizer.critic_steps=3", 'run.loss="wgan-gp"'])
    session = build(config).session
    seen = []
    sample = session.stream.sample_real
    session.stream.sample_real = lambda n, generator: seen.append(sample(n, generator)) or seen[-1]
    for _ in range(2):
        session.train_step()
    optimizer = session.optimizer
    steps = lambda opt: {int(state["step"]) for state in opt.state.values()}  # noqa: E731
    assert steps(optimizer.max_optimizer) == {6} and steps(optimizer.min_optimizer) == {2}
    assert len(seen) == 6 and not any(torch.equal(seen[i], seen[j]) for i in range(6) for j in range(i))


def test_the_fig2d_share_averages_the_missed_modes_over_evaluations():
    from gan_experiments.frameworks import mean_share_modes_missed

    rows = [{"modes_covered": "8"}, {"modes_covered": "6"}, {"modes_covered": "4"}, {"modes_covered": "0"}]
    assert mean_share_modes_missed(rows, 8) == pytest.approx((0 + 2 / 8 + 4 / 8 + 1) / 4)


def test_unusable_inception_weights_are_reported_and_the_run_still_succeeds(data_root, tmp_path, capsys):
    broken = tmp_path / "broken.pth"
    broken.write_bytes(b"not a checkpoint")
    out = tmp_path / "run"
    assert (
        main(
            [
                "run",
                "stackelberg_fig6_mnist",
                "--dry-run",
                "--data-root",
                str(data_root),
                "--inception-weights",
                str(broken),
                "--out",
                str(out),
            ]
        )
        == 0
    )
    skipped = json.loads((out / "metrics.json").read_text())["skipped"]
    assert set(skipped) == {"fid", "inception_score_imagenet"} and all("broken.pth" in r for r in skipped.values())
    assert "broken.pth" in capsys.readouterr().err


def test_equilibrium_test_runs_on_an_image_checkpoint_of_several_generators(data_root, tmp_path):
    out = tmp_path / "run"
    assert main(["run", "stackelberg_fig6_mnist", "--dry-run", "--data-root", str(data_root), "--out", str(out)]) == 0
    assert main(["equilibrium-test", str(out), "--steps", "2", "--inner-steps", "2"]) == 0
    summary = json.loads((out / "equilibrium_test" / "equilibrium.json").read_text())
    assert all(torch.isfinite(torch.tensor(summary[k]["value_end"])) for k in ("V", "proximal"))
    assert (out / "equilibrium_test" / "equilibrium.png").stat().st_size > 0


def test_sgan_without_its_global_pair_shows_and_scores_the_local_pairs_only(data_root, tmp_path):
    out = tmp_path / "run"
    assert (
        main(
            [
                "run",
                "sgan_fig5_mnist",
                "--dry-run",
                "--data-root",
                str(data_root),
                "--set",
                "sgan.pairs=2",
                "--set",
                "sgan.global_pair=false",
                "--out",
                str(out),
            ]
        )
        == 0
    )
    metrics = json.loads((out / "metrics.json").read_text())
    assert len(metrics["local_inception_scores"]) == 2
    assert Image.open(out / "samples.png").size[1] == 2 * 30 + 2  # the two local rows, no untrained G0
