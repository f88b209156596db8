"""Run folders never lose work: --resume continues under the folder's own config, an existing run
is not overwritten without --overwrite, bad folders and devices get a clean error before anything
is written, a dry run records what ran, and the last step is always logged."""

import csv
import json

import pytest
import torch

from gan_experiments.cli import main
from gan_experiments.session import GameSession

SMALL = [
    "--set",
    "run.samples=100",
    "--set",
    "model.generators=2",
    "--set",
    "run.eval_every=2",
    "--set",
    "run.checkpoint_every=2",
    "--set",
    "optimizer.lr=0.001",
]


def steps_logged(folder) -> list[int]:
    with open(folder / "metrics.csv", newline="") as handle:
        return [int(row["step"]) for row in csv.DictReader(handle)]


def interrupt_at(monkeypatch, step: int) -> None:
    original = GameSession.train_step

    def interrupted(self):
        if self.step_count == step:
            raise KeyboardInterrupt
        return original(self)

    monkeypatch.setattr(GameSession, "train_step", interrupted)


def test_resume_continues_under_the_folders_config_and_refuses_other_settings(tmp_path, monkeypatch, capsys):
    """Before: the bundled config (the Adam pair) was rebuilt and failed with KeyError: 'min'."""
    out = tmp_path / "run"
    interrupt_at(monkeypatch, 2)
    args = ["run", "stackelberg_fig1_ring8", "--set", 'run.optimizer="acgd"', "--set", "run.steps=6", *SMALL]
    assert main([*args, "--out", str(out)]) == 130
    hint = capsys.readouterr().err
    assert f"python -m gan_experiments run --resume --out {out}" in hint
    monkeypatch.undo()
    assert main(["run", "stackelberg_fig1_ring8", "--resume", "--out", str(out), "--set", "run.steps=4"]) == 0
    checkpoint = torch.load(out / "checkpoint.pt", weights_only=False)
    assert checkpoint["step"] == 4 and "min" not in checkpoint["optimizer"]  # still ACGD's state
    assert "acgd" in (out / "config.toml").read_text() and steps_logged(out) == [2, 4]
    assert main(["run", "--resume", "--out", str(out), "--set", "run.steps=6"]) == 0  # CONFIG may be omitted
    assert torch.load(out / "checkpoint.pt", weights_only=False)["step"] == 6 and steps_logged(out) == [2, 4, 6]
    capsys.readouterr()
    assert main(["run", "standard_ring8", "--resume", "--out", str(out)]) == 2
    assert "holds a run of 'stackelberg_fig1_ring8', not 'standard_ring8'" in capsys.readouterr().err
    assert main(["run", "--resume", "--out", str(out), "--set", "model.generators=3"]) == 2
    assert "--resume: model.generators would change the run" in capsys.readouterr().err
    assert torch.load(out / "checkpoint.pt", weights_only=False)["step"] == 6  # nothing changed by the refusals


def test_an_existing_run_is_not_overwritten_without_overwrite(tmp_path, capsys):
    """Before: a dry run into a finished run's folder replaced its checkpoint and appended to its metrics."""
    out = tmp_path / "run"
    assert main(["run", "stackelberg_fig1_ring8", "--dry-run", *SMALL, "--out", str(out)]) == 0
    before = (out / "checkpoint.pt").read_bytes()
    capsys.readouterr()
    assert main(["run", "stackelberg_fig1_ring8", "--dry-run", *SMALL, "--out", str(out)]) == 2
    error = capsys.readouterr().err
    assert f"{out} already holds a run" in error and "--resume" in error and "--overwrite" in error
    assert (out / "checkpoint.pt").read_bytes() == before and steps_logged(out) == [1, 2, 3]
    assert main(["run", "stackelberg_fig1_ring8", "--dry-run", *SMALL, "--overwrite", "--out", str(out)]) == 0
    assert steps_logged(out) == [1, 2, 3]  # replaced, not appended to
    sweep = ["sweep", "stackelberg_fig1_ring8", "--seeds", "0", "--dry-run", *SMALL, "--out", str(tmp_path / "s")]
    assert main(sweep) == 0
    summary = (tmp_path / "s" / "summary.json").read_bytes()
    assert main(sweep) == 2 and "already holds a run" in capsys.readouterr().err
    assert (tmp_path / "s" / "summary.json").read_bytes() == summary
    assert main([*sweep, "--overwrite"]) == 0 and steps_logged(tmp_path / "s" / "default" / "seed0") == [1, 2, 3]


def test_a_missing_run_and_a_missing_gpu_get_a_clean_error_and_create_nothing(tmp_path, capsys):
    """Before: raw tracebacks, and --resume left an empty folder behind."""
    empty = tmp_path / "empty"
    assert main(["run", "--resume", "--out", str(empty)]) == 2
    assert capsys.readouterr().err.startswith(f"error: --resume: {empty} holds no run") and not empty.exists()
    if not torch.cuda.is_available():
        out = tmp_path / "gpu"
        assert main(["run", "stackelberg_fig1_ring8", "--device", "cuda", "--dry-run", "--out", str(out)]) == 2
        assert "this machine has no CUDA device" in capsys.readouterr().err and not out.exists()


def test_a_dry_run_folder_records_what_ran(tmp_path):
    """Before: its config.toml said steps = 5000 after 3 steps."""
    out = tmp_path / "run"
    assert main(["run", "proximal_ring8", "--dry-run", "--set", "run.samples=100", "--out", str(out)]) == 0
    text = (out / "config.toml").read_text()
    assert "steps = 3\n" in text and "inner_steps = 2\n" in text
    assert json.loads((out / "run.json").read_text()) == {"config": "proximal_ring8", "dry_run": True, "steps": 3}


def test_a_run_shorter_than_eval_every_still_logs_its_final_evaluation(tmp_path, capsys):
    """Before: no metrics.csv and no curves.png, silently."""
    out = tmp_path / "run"
    assert (
        main(
            [
                "run",
                "stackelberg_fig1_ring8",
                "--set",
                "run.steps=3",
                "--set",
                "run.samples=100",
                "--set",
                "model.generators=2",
                "--out",
                str(out),
            ]
        )
        == 0
    )
    assert steps_logged(out) == [3] and (out / "curves.png").stat().st_size > 0
    assert "its evaluation is logged as the last row of metrics.csv" in capsys.readouterr().err
    metrics = json.loads((out / "metrics.json").read_text())
    with open(out / "metrics.csv", newline="") as handle:
        row = next(csv.DictReader(handle))
    assert float(row["modes_covered"]) == metrics["modes_covered"]  # the same evaluation


def test_ctrl_c_in_a_sweep_keeps_the_summary_and_sweep_resume_finishes_it(tmp_path, monkeypatch, capsys):
    """Before: a raw traceback and no summary. Now the finished run is summarised, the interrupted
    one keeps its checkpoint, and --resume skips the first and continues the second."""
    out = tmp_path / "sweep"
    sweep = ["sweep", "stackelberg_fig1_ring8", "--seeds", "0", "1", "--dry-run", *SMALL, "--out", str(out)]
    original, calls = GameSession.train_step, []

    def interrupted(self):
        calls.append(1)
        if len(calls) == 6:  # the second run's third step
            raise KeyboardInterrupt
        return original(self)

    monkeypatch.setattr(GameSession, "train_step", interrupted)
    assert main(sweep) == 130
    assert "--resume" in capsys.readouterr().err
    assert json.loads((out / "summary.json").read_text())["default"]["runs"] == 1
    assert torch.load(out / "default" / "seed1" / "checkpoint.pt", weights_only=False)["step"] == 2
    finished = (out / "default" / "seed0" / "metrics.json").read_bytes()
    monkeypatch.undo()
    assert main([*sweep, "--resume"]) == 0
    assert json.loads((out / "summary.json").read_text())["default"]["runs"] == 2
    assert (out / "default" / "seed0" / "metrics.json").read_bytes() == finished  # skipped, not rerun
    assert steps_logged(out / "default" / "seed1") == [1, 2, 3]  # continued from its checkpoint
    assert main([*sweep[:-2], "--set", "model.generators=3", "--out", str(out), "--resume"]) == 2
    assert "holds a run of another config" in capsys.readouterr().err


def test_sweep_resume_starts_again_a_run_stopped_before_its_first_checkpoint(tmp_path, monkeypatch):
    """Before: --resume refused the whole sweep ("no checkpoint ... stopped before its first"), so one
    run killed at its start (a SIGTERM, the machine going down: no Ctrl-C handler saves a checkpoint)
    kept it and every later run of the sweep from running."""
    out = tmp_path / "sweep"
    sweep = ["sweep", "stackelberg_fig1_ring8", "--seeds", "0", "--dry-run", *SMALL, "--out", str(out)]
    original, calls = GameSession.train_step, []

    class Killed(BaseException):
        """A kill: nothing in the run handles it."""

    def killed(self):
        calls.append(1)
        if len(calls) == 1:  # the run's first step: its folder holds no checkpoint yet
            raise Killed
        return original(self)

    monkeypatch.setattr(GameSession, "train_step", killed)
    with pytest.raises(Killed):
        main(sweep)
    assert (out / "default" / "seed0" / "config.toml").is_file()
    assert not (out / "default" / "seed0" / "checkpoint.pt").exists()
    monkeypatch.undo()
    assert main([*sweep, "--resume"]) == 0
    assert json.loads((out / "summary.json").read_text())["default"]["runs"] == 1
    assert steps_logged(out / "default" / "seed0") == [1, 2, 3]


def test_pictures_keep_groups_off_the_real_datas_grey_and_curves_say_what_they_show():
    """Before: the 8th generator was drawn in the real data's grey, Stackelberg legends said
    'model (SGAN: G0)', f_min / f_max were never drawn and tiny runs had fractional step ticks."""
    import matplotlib.colors

    from gan_experiments.plots import REAL_COLOUR, group_colours, metric_curves_figure

    for n in (2, 8, 9, 10, 18, 25):
        colours = [matplotlib.colors.to_rgb(c) for c in group_colours(n)]
        assert len(set(colours)) == n and all(not (r == g == b) for r, g, b in colours)
        assert matplotlib.colors.to_rgb(REAL_COLOUR) not in colours
    rows = [
        {"step": s, "modes_covered": m, "f_min": 0.7 - 0.1 * s, "f_max": -1.3 + 0.1 * s}
        for s, m in ((1, 3), (2, 5), (3, 8))
    ]
    figure = metric_curves_figure(rows)
    labels = [t.get_text() for axes in figure.axes if axes.get_legend() for t in axes.get_legend().get_texts()]
    assert "model" in labels and not any("SGAN" in label for label in labels)
    assert {"f_min (generator)", "f_max (discriminator)"} <= set(labels)
    assert all(float(t).is_integer() for t in figure.axes[0].get_xticks())
    sgan = [{**row, "local_modes_covered": 2} for row in rows]
    assert "G0" in [t.get_text() for t in metric_curves_figure(sgan).axes[0].get_legend().get_texts()]


def test_a_misspelt_key_is_answered_with_the_key_meant_and_a_bad_grid_value_blames_grid(tmp_path, capsys):
    assert main(["run", "stackelberg_fig1_ring8", "--set", "run.stpes=3", "--out", str(tmp_path / "a")]) == 2
    assert "unknown key run.stpes (did you mean run.steps?)" in capsys.readouterr().err
    assert main(["run", "stackelberg_fig1_ring8", "--set", "optimiser.lr=0.1", "--out", str(tmp_path / "b")]) == 2
    assert "unknown section [optimiser] (did you mean optimizer?)" in capsys.readouterr().err
    assert (
        main(["sweep", "stackelberg_fig1_ring8", "--grid", "run.optimizer=acgd,adam", "--out", str(tmp_path / "c")])
        == 2
    )
    error = capsys.readouterr().err
    assert "--grid run.optimizer: 'acgd' is not a TOML literal" in error and "--set" not in error
    assert not (tmp_path / "a").exists() and not (tmp_path / "c").exists()


def test_sweep_progress_names_the_grid_point_and_run_k_of_n_and_sweep_takes_device(tmp_path, monkeypatch):
    """Before: progress bars said only 'seed0', and sweep had no --device."""
    from gan_experiments.trainer import Trainer

    labels, fit = [], Trainer.fit

    def recording(self, steps, **options):
        labels.append(options.get("label"))
        return fit(self, steps, **options)

    monkeypatch.setattr(Trainer, "fit", recording)
    assert (
        main(
            [
                "sweep",
                "stackelberg_fig1_ring8",
                "--seeds",
                "0",
                "1",
                "--grid",
                "model.generators=2",
                "--dry-run",
                "--device",
                "cpu",
                "--set",
                "run.samples=100",
                "--out",
                str(tmp_path),
            ]
        )
        == 0
    )
    assert labels == ["model.generators=2, seed 0 (run 1 of 2)", "model.generators=2, seed 1 (run 2 of 2)"]
    assert 'device = "cpu"' in (tmp_path / "model.generators=2" / "seed0" / "config.toml").read_text()


def test_a_damaged_checkpoint_resumes_from_the_one_before_and_ends_where_an_unbroken_run_ends(tmp_path, capsys):
    args = ["run", "stackelberg_fig1_ring8", "--set", 'run.optimizer="acgd"', *SMALL]
    assert main([*args, "--set", "run.steps=6", "--out", str(tmp_path / "straight")]) == 0
    out = tmp_path / "damaged"
    assert main([*args, "--set", "run.steps=4", "--out", str(out)]) == 0
    assert torch.load(out / "checkpoint.previous.pt", weights_only=False)["step"] == 2  # the one before step 4's
    (out / "checkpoint.pt").write_bytes((out / "checkpoint.pt").read_bytes()[:100])  # cut short on disk
    with pytest.warns(RuntimeWarning, match=r"checkpoint\.pt is damaged .* resuming from the checkpoint before it"):
        assert main(["run", "--resume", "--set", "run.steps=6", "--out", str(out)]) == 0
    assert steps_logged(out) == [2, 4, 6]  # the rows after step 2 were logged again, once
    straight = torch.load(tmp_path / "straight" / "checkpoint.pt", weights_only=False)
    resumed = torch.load(out / "checkpoint.pt", weights_only=False)
    assert all(torch.equal(a, resumed["players"][k]) for k, a in straight["players"].items())


def test_a_damaged_checkpoint_without_one_before_is_an_error_naming_the_file(tmp_path, capsys):
    out = tmp_path / "run"
    assert main(["run", "stackelberg_fig1_ring8", *SMALL, "--set", "run.steps=2", "--out", str(out)]) == 0
    (out / "checkpoint.pt").write_bytes(b"not a checkpoint")
    assert main(["run", "--resume", "--set", "run.steps=4", "--out", str(out)]) == 2
    error = capsys.readouterr().err
    assert f"the checkpoint {out / 'checkpoint.pt'} is damaged" in error and "--overwrite" in error


def test_a_sweep_resumes_runs_written_before_a_config_key_existed(tmp_path):
    """A key added to the config since a run was written takes its default there: the run is the
    same config, read back as finished rather than refused as another config's."""
    out = tmp_path / "sweep"
    sweep = ["sweep", "stackelberg_fig1_ring8", "--seeds", "0", "--dry-run", *SMALL, "--out", str(out)]
    assert main(sweep) == 0
    recorded = out / "default" / "seed0" / "config.toml"
    older = recorded.read_text().replace('checkpoint = ""\n', "")  # icr.checkpoint did not exist yet
    assert older != recorded.read_text()
    recorded.write_text(older)
    finished = (out / "default" / "seed0" / "metrics.json").read_bytes()
    assert main([*sweep, "--resume"]) == 0
    assert (out / "default" / "seed0" / "metrics.json").read_bytes() == finished
