"""The command line: list, run (dry runs of every bundled config), bad configs, resume, Ctrl-C."""

import json
import re
from pathlib import Path

import pytest
import torch
from recorded.record import close

from gan_experiments import experiment
from gan_experiments.cli import main
from gan_experiments.config import bundled_configs, resolve_config
from gan_experiments.records import RunLog
from gan_experiments.session import GameSession

RECORDED = Path(__file__).resolve().parent / "recorded" / "dry"


def test_list_prints_name_and_description_only(capsys):
    assert main(["list"]) == 0
    captured = capsys.readouterr()
    lines = captured.out.splitlines()
    assert captured.err == "" and len(lines) == len(bundled_configs()) >= 2
    for line in lines:
        name, description = line.split(" ", 1)
        assert re.fullmatch(r"[a-z0-9]+(_[a-z0-9]+)+", name) and description.strip()


IMAGE_RUNS = {name for name in bundled_configs() if resolve_config(name, [])[0].model.network}


@pytest.mark.parametrize("name", sorted(set(bundled_configs()) - IMAGE_RUNS))  # image configs: test_image_experiments
def test_dry_run_of_every_bundled_config(name, tmp_path, capsys):
    assert main(["run", name, "--dry-run", "--out", str(tmp_path)]) == 0
    framework = resolve_config(name, [])[0].run.framework
    files = {
        "quadratic": ("config.toml", "metrics.json", "trajectories.csv", "trajectories.png"),
        "projection": ("config.toml", "metrics.csv", "metrics.json", "checkpoint.pt", "trajectory.png"),
        "icr_mnist": ("config.toml", "metrics.csv", "metrics.json", "checkpoint.pt", "samples.png"),
        "cgd_paper": ("config.toml", "metrics.json", "results.json"),
    }
    for file in files.get(
        framework, ("config.toml", "metrics.csv", "metrics.json", "checkpoint.pt", "samples.png", "curves.png")
    ):
        assert (tmp_path / file).stat().st_size > 0
    assert '"step": 3' in capsys.readouterr().out
    # the numbers recorded in tests/recorded (tests/recorded/record.py regenerates them)
    recorded = json.loads((RECORDED / name / "metrics.json").read_text())
    # float32 convolutions take other kernels on other processors: Fig. 4's d_real after 3 SimGD steps of
    # App. A.3's MNIST networks differs by 4.4e-6 (relative) between an AVX-512 and an AVX2 machine
    rtol = 1e-5 if framework == "icr_mnist" else 1e-6
    assert close(recorded, json.loads((tmp_path / "metrics.json").read_text()), rtol=rtol) == []


def test_bad_configs_fail_before_training_naming_the_key(tmp_path, capsys):
    out = tmp_path / "run"
    assert main(["run", "stackelberg_fig1_ring8", "--set", "run.stepz=3", "--out", str(out)]) == 2
    assert "run.stepz" in capsys.readouterr().err and not out.exists()
    assert main(["run", "stackelberg_fig1_ring8", "--set", 'run.optimizer="lbfgs"', "--out", str(out)]) == 2
    assert "run.optimizer" in capsys.readouterr().err
    assert main(["run", "stackelberg_fig1_ring8", "--set", 'run.optimizer="sga"', "--out", str(out)]) == 2  # nsgan
    assert "defined for zero-sum games: run.loss must be one of ogan, wgan" in capsys.readouterr().err
    assert main(["run", "no_such_config"]) == 2
    assert "no bundled config" in capsys.readouterr().err


def small(optimizer: str, steps: int):
    config, _ = resolve_config(
        "stackelberg_fig1_ring8",
        [
            f"run.steps={steps}",
            f'run.optimizer="{optimizer}"',
            "run.eval_every=2",
            "run.checkpoint_every=2",
            "run.samples=200",
            "model.generators=3",
            "optimizer.lr=0.001",
        ],
    )
    return config


def proximal(steps: int):
    """An SN-GAN with proximal training: spectral norm's power-iteration buffers and both inner
    Adams must come back too."""
    config, _ = resolve_config(
        "proximal_ring8",
        [
            f"run.steps={steps}",
            "run.eval_every=2",
            "run.checkpoint_every=2",
            "run.samples=200",
            "proximal.inner_steps=2",
            "model.generator_hidden=16",
        ],
    )
    return config


@pytest.mark.parametrize("optimizer", ["acgd", "adam", "proximal", "extra_adam"])
def test_resume_continues_exactly(optimizer, tmp_path):
    make = proximal if optimizer == "proximal" else (lambda steps: small(optimizer, steps))
    experiment.run(make(6), tmp_path / "straight")
    experiment.run(make(3), tmp_path / "resumed")
    experiment.run(make(6), tmp_path / "resumed", resume=True)
    straight = torch.load(tmp_path / "straight" / "checkpoint.pt", weights_only=False)
    resumed = torch.load(tmp_path / "resumed" / "checkpoint.pt", weights_only=False)
    assert straight["step"] == resumed["step"] == 6
    for key, value in straight["players"].items():
        assert torch.equal(value, resumed["players"][key]), key


def test_ctrl_c_leaves_a_checkpoint_to_resume_from(tmp_path, monkeypatch):
    original = GameSession.train_step

    def interrupted(self):
        if self.step_count == 2:
            raise KeyboardInterrupt
        return original(self)

    monkeypatch.setattr(GameSession, "train_step", interrupted)
    with pytest.raises(KeyboardInterrupt):
        experiment.run(small("adam", 6), tmp_path)
    assert torch.load(tmp_path / "checkpoint.pt", weights_only=False)["step"] == 2


def test_sweep_runs_every_seed_and_grid_point_and_summarizes(tmp_path, capsys):
    code = main(
        [
            "sweep",
            "stackelberg_fig1_ring8",
            "--seeds",
            "0",
            "1",
            "--grid",
            "model.generators=2,3",
            "--set",
            "run.samples=100",
            "--dry-run",
            "--out",
            str(tmp_path),
        ]
    )
    assert code == 0
    summary = json.loads((tmp_path / "summary.json").read_text())
    assert sorted(summary) == ["model.generators=2", "model.generators=3"]
    for label, entry in summary.items():
        assert entry["runs"] == 2
        folder = tmp_path / label
        runs = [json.loads((folder / f"seed{seed}" / "metrics.json").read_text()) for seed in (0, 1)]
        values = torch.tensor([r["percent_high_quality"] for r in runs], dtype=torch.float64)
        assert entry["percent_high_quality"]["mean"] == pytest.approx(float(values.mean()))
        assert entry["percent_high_quality"]["std"] == pytest.approx(float(values.std(unbiased=False)))
    assert "model.generators=3" in capsys.readouterr().out
    assert main(["sweep", "stackelberg_fig1_ring8", "--grid", "model.generators", "--out", str(tmp_path / "x")]) == 2


def test_tensorboard_events_are_written_when_tensorboard_is_installed(tmp_path):
    pytest.importorskip("tensorboard")
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

    experiment.run(small("adam", 4), tmp_path)
    events = EventAccumulator(str(tmp_path / "tensorboard"))
    events.Reload()
    modes = events.Scalars("modes_covered")
    assert [e.step for e in modes] == [2, 4]
    rows = RunLog(tmp_path).rows()
    assert [float(e.value) for e in modes] == [float(row["modes_covered"]) for row in rows]
