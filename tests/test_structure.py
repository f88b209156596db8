"""The shape of gan_experiments: one place decides by framework or data-set name (the registries
and the entries' own files), the trainer knows no framework and no optimizer, and every function
is short enough to read at once."""

import ast
import re
from pathlib import Path

import pytest

from gan_experiments.data import DATA_SOURCES
from gan_experiments.frameworks import FRAMEWORKS

PACKAGE = Path(__file__).resolve().parents[1] / "gan_experiments"
OWN_FILES = ("frameworks", "data")  # a framework's or a data source's own file may decide by its names
MODULES = sorted(PACKAGE.rglob("*.py"))
CLASSES = ("StandardGAN", "StackelbergGAN", "SGAN", "ProximalGAN", "ProjectionGame", "MessengerGame", "TwoPlayerGame",
           "ProximalMinimax", "AdamPair", "ACGD", "CGD", "SimGD", "GaussianMixture", "ImageSource",
           "StackedMNISTSource", "PlanarSource", "MixtureSource")


def source(path: Path) -> str:
    return path.read_text()


def branches(text: str) -> list[str]:
    """Comparisons with a framework or data-set name, tests of framework or data-set membership,
    and isinstance checks against the frameworks', optimizers' or data sources' classes."""
    names = "|".join(re.escape(n) for n in [*FRAMEWORKS, *DATA_SOURCES])
    patterns = [rf"(==|!=)\s*['\"]({names})['\"]", rf"['\"]({names})['\"]\s*(==|!=)",
                rf"\bin\s*[\(\[\{{]\s*['\"]({names})['\"]", r"(framework|data\.name)\s*(==|!=|\bin\b|\bnot in\b)",
                rf"isinstance\([^)]*\b({'|'.join(CLASSES)})\b", r"\bIMAGE_DATASETS\b"]
    return [m.group(0) for pattern in patterns for m in re.finditer(pattern, text)]


def test_the_branch_detector_finds_what_it_looks_for():
    found = branches('if config.run.framework == "sgan" or isinstance(framework, (SGAN, StackelbergGAN)):\n'
                     '    x = name in ("ring", "grid") or data.name in IMAGE_DATASETS or "mnist" != d')
    assert len(found) >= 6
    assert branches('FRAMEWORKS[config.run.framework].build(config)\nif method == "cgd":') == []


@pytest.mark.parametrize("path", [p for p in MODULES if p.parent.name not in OWN_FILES],
                         ids=lambda p: str(p.relative_to(PACKAGE)))
def test_nothing_outside_the_frameworks_and_data_sources_branches_on_their_names_or_types(path):
    assert branches(source(path)) == []


def imported_modules(path: Path) -> set[str]:
    """Every module an import statement of ``path`` names (relative ones as written, dots and all)."""
    names = set()
    for node in ast.walk(ast.parse(source(path))):
        if isinstance(node, ast.ImportFrom):
            names.add("." * node.level + (node.module or ""))
            names.update(f"{'.' * node.level}{node.module or ''}.{a.name}".replace("..", ".") for a in node.names)
        elif isinstance(node, ast.Import):
            names.update(a.name for a in node.names)
    return names


def test_the_trainer_imports_no_framework_and_no_optimizer_and_frameworks_import_no_trainer():
    trainer = imported_modules(PACKAGE / "trainer.py")
    assert not [m for m in trainer if re.search(r"frameworks|optimizers|cgd_optim|session|icr", m)], trainer
    for path in (PACKAGE / "frameworks").glob("*.py"):
        assert not [m for m in imported_modules(path) if re.search(r"\btrainer\b", m)], path


def function_lengths(path: Path):
    """(name, lines from ``def`` to its last line, docstring excluded) of every function."""
    for node in ast.walk(ast.parse(source(path))):
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
            lines = node.end_lineno - node.lineno + 1
            if ast.get_docstring(node, clean=False) is not None:
                lines -= node.body[0].end_lineno - node.body[0].lineno + 1
            yield node.name, lines


def test_every_function_is_under_40_lines():
    long = [(str(p.relative_to(PACKAGE)), name, n) for p in MODULES for name, n in function_lengths(p) if n >= 40]
    assert long == []


def test_the_papers_are_cited_by_authors_and_title_not_by_file_names():
    paths = [*MODULES, *(PACKAGE / "configs").glob("*.toml"), *(PACKAGE.parent / "docs").glob("*.md"),
             PACKAGE.parent / "README.md", *(PACKAGE.parent / "cgd_optim").glob("*.py")]
    cited = [str(p) for p in paths if re.search(r"\b00\d_[0-9a-f]{16}\.txt", source(p))]
    assert cited == []


def test_every_registered_framework_validates_dry_runs_builds_evaluates_and_finishes():
    for name, entry in FRAMEWORKS.items():
        for method in ("validate", "dry_run_overrides", "build", "finish"):
            assert callable(getattr(entry, method, None)), (name, method)
    for name, data in DATA_SOURCES.items():
        for method in ("from_config", "validate", "dry_run_overrides", "networks", "evaluate", "save_picture",
                       "final_metrics", "show_samples"):
            assert callable(getattr(data, method, None)), (name, method)
