"""The equilibrium-test command (Farnia & Ozdaglar 2020, "Do GANs always have Nash equilibria?" Sec. 2, 6.1) on a tiny
checkpoint."""

import json

from gan_experiments.cli import main
from gan_experiments.records import read_rows


def test_equilibrium_test_on_a_tiny_stackelberg_checkpoint(tmp_path, capsys):
    run = tmp_path / "run"
    assert (
        main(
            [
                "run",
                "stackelberg_fig1_ring8",
                "--dry-run",
                "--set",
                "run.samples=100",
                "--set",
                "model.generators=3",
                "--out",
                str(run),
            ]
        )
        == 0
    )
    before = (run / "checkpoint.pt").read_bytes()
    assert main(["equilibrium-test", str(run / "checkpoint.pt"), "--steps", "3", "--inner-steps", "2"]) == 0
    out = run / "equilibrium_test"
    rows = read_rows(out / "equilibrium.csv")
    values = {name: [float(r["value"]) for r in rows if r["objective"] == name] for name in ("V", "proximal")}
    assert len(values["V"]) == len(values["proximal"]) == 4
    assert values["V"][0] == values["proximal"][0]  # the same generator and frozen discriminator at the start
    assert values["V"][1:] != values["proximal"][1:]  # two different objectives for the generator
    assert values["V"][-1] < values["V"][0]  # G alone lowers V against the frozen D (Sec. 2: not a Nash equilibrium)
    assert all(r["proximal_value"] for r in rows if r["objective"] == "proximal" and r["step"] != "3")
    summary = json.loads((out / "equilibrium.json").read_text())
    assert summary["V"]["value_start"] == values["V"][0] and summary["inner_steps"] == 2
    assert (out / "equilibrium.png").stat().st_size > 0
    assert (run / "checkpoint.pt").read_bytes() == before  # the checkpoint is only read


def test_equilibrium_test_explains_what_it_cannot_use(tmp_path, capsys):
    assert main(["equilibrium-test", str(tmp_path / "nothing")]) == 2
    assert "not found" in capsys.readouterr().err
    quadratic = tmp_path / "quadratic"
    assert main(["run", "icr_fig3_quadratic", "--dry-run", "--out", str(quadratic)]) == 0
    assert main(["equilibrium-test", str(quadratic)]) == 2  # no checkpoint: a quadratic run has no players to save
