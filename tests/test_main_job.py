"""The main job's table and its models' budgets."""

import json

import pytest

from gan_experiments.cli import main
from gan_experiments.config import resolve_config
from gan_experiments.experiment import build
from gan_experiments.main_job import COLUMNS, MAIN_JOB_CONFIGS, format_table, main_job


def test_main_job_configs_have_matching_generator_budgets():
    counts = [
        sum(p.numel() for p in build(resolve_config(name, [])[0]).players.min_parameters())
        for name in MAIN_JOB_CONFIGS.values()
    ]
    assert counts == [8 * 162, 1297]


def test_short_main_job_prints_the_metrics_table_and_writes_both_runs(tmp_path, capsys):
    rows = main_job(steps=20, samples=500, out=tmp_path)
    for name in MAIN_JOB_CONFIGS.values():  # issue 20: before, the main job wrote nothing
        assert (
            json.loads((tmp_path / name / "metrics.json").read_text())["modes_covered"]
            == next(row for row in rows if row["model"] == next(k for k, v in MAIN_JOB_CONFIGS.items() if v == name))[
                "modes_covered"
            ]
        )
    assert (tmp_path / "samples.png").stat().st_size > 0  # both models side by side
    assert main_job(steps=20, samples=500, out=tmp_path) == rows  # its own folder: replaced, same numbers
    table = format_table(rows, 0)
    assert "20 steps" in table.splitlines()[0]
    header = table.splitlines()[1]
    assert all(column in header for column in COLUMNS)
    assert "modes covered (of 8)" in header and "% high quality" in header and "KL to uniform" in header
    assert [row["model"] for row in rows] == ["Stackelberg GAN (8 generators)", "standard GAN"]
    assert all(0 <= row["modes_covered"] <= 8 and 0.0 <= row["percent_high_quality"] <= 100.0 for row in rows)
    with pytest.raises(SystemExit) as exit_info:  # argparse refuses an unknown command
        main(["sweep"])
    assert exit_info.value.code == 2
