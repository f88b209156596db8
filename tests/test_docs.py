"""The documentation's examples run, and its signatures are the code's."""

import importlib.util
import inspect
import re
import subprocess
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


def test_no_file_of_the_repository_points_outside_it():
    """Users have only the repository: no tracked file may send them to the developers' shared notes."""
    outside = "../" + "shared"  # spelt in two pieces, so that this file does not name it
    tracked = subprocess.run(["git", "ls-files"], cwd=ROOT, capture_output=True, text=True, check=True).stdout.split()
    naming = [
        name for name in tracked if (ROOT / name).is_file() and outside in (ROOT / name).read_text(errors="ignore")
    ]
    assert naming == []


def test_the_site_check_finds_remote_scripts_stylesheets_and_fonts_and_ignores_links():
    """.ci/offline_site.py, which .ci/package_check.sh runs on the built site."""
    spec = importlib.util.spec_from_file_location("offline_site", ROOT / ".ci" / "offline_site.py")
    offline_site = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(offline_site)
    remote = [
        '<script src="https://cdn.jsdelivr.net/npm/mathjax@3/es5/tex-chtml.js"></script>',
        '<link rel="stylesheet" href="//fonts.example.org/x.css">',
        '<link href="http://example.org/a.css" rel="preload" as="style">',
    ]
    local = [
        '<script src="_static/mathjax/tex-chtml.js"></script>',
        '<a href="https://github.com/devzhk/cgds-package">cgds</a>',
        '<link rel="canonical" href="https://example.org/page.html">',
    ]
    for tag in remote:
        (hit,) = offline_site.remote_loads(tag)
        assert tag.startswith(hit)
    assert all(offline_site.remote_loads(tag) == [] for tag in local)
