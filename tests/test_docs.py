"""The documentation's examples run, and its signatures are the code's."""

import inspect
import re
from pathlib import Path

import pytest

import cgd_optim
from cgd_optim import demo

ROOT = Path(__file__).resolve().parents[1]
PAGES = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]


def python_blocks(path: Path) -> list[str]:
    return re.findall(r"```python\n(.*?)```", path.read_text(), re.S)


@pytest.mark.parametrize("page", [p for p in PAGES if python_blocks(p)], ids=lambda p: p.name)
def test_examples_run(page, capsys):
    namespace: dict = {"__name__": "__doc_example__"}
    for block in python_blocks(page):
        exec(compile(block, str(page), "exec"), namespace)


def plain_signature(obj) -> str:
    parts, star_done = [], False
    for parameter in inspect.signature(obj).parameters.values():
        if parameter.name == "self":
            continue
        if parameter.kind is parameter.KEYWORD_ONLY and not star_done:
            parts.append("*")
            star_done = True
        default = "" if parameter.default is parameter.empty else f"={parameter.default!r}"
        parts.append(parameter.name + default)
    return ", ".join(parts)


def test_api_reference_signatures_match_the_code():
    text = (ROOT / "docs" / "api.md").read_text()
    documented = dict(re.findall(r"^### `(\w+)\((.*)\)`$", text, re.M))
    names = ["ACGD", "CGD", "SimGD", "ProximalMinimax", "conjugate_gradient", "gmres", "competitive_update"]
    names += ["LCGD", "SGA", "ConOpt", "OGDA", "ExtraSGD", "ExtraAdam", "OptimisticAdam"]
    assert set(names) <= set(documented)
    for name in names:
        assert documented[name] == plain_signature(getattr(cgd_optim, name)), name


def test_demo_ends_where_the_theory_says(capsys):
    rows = demo.main(["--steps", "400"])
    ends = {(row["game"], row["optimizer"].split()[0], row["optimizer"].split("=")[1]): row["distance"] for row in rows}
    assert ends["quadratic", "SimGD", "(0.09, 0.01)"] < 1e-5  # ICR Fig. 3: converges
    assert ends["quadratic", "SimGD", "(0.03, 0.03)"] > 1e3  # ICR Fig. 6: diverges
    assert ends["quadratic", "CGD", "(0.03, 0.03)"] < 1e-5  # spectral radius 0.956
    assert ends["bilinear", "SimGD", "(0.3, 0.3)"] > 1e6  # radius sqrt(1 + 0.09)
    assert ends["bilinear", "CGD", "(0.3, 0.3)"] < 1e-5  # radius 1 / sqrt(1 + 0.09)
    assert "Where each optimizer ends" in capsys.readouterr().out
