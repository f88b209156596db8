"""The shape of the code: one place decides by framework or data-set name (the registries and the
entries' own files), the trainer knows no framework and no optimizer, no import circle in either
package, every registry entry and data source keeps its written contract, and every function is
short enough to read at once."""

import ast
import re
from pathlib import Path

import pytest

from gan_experiments import contracts
from gan_experiments.data import DATA_SOURCES
from gan_experiments.frameworks import FRAMEWORKS

ROOT = Path(__file__).resolve().parents[1]
PACKAGE = ROOT / "gan_experiments"
OWN_FILES = ("frameworks", "data")  # a framework's or a data source's own file may decide by its names
MODULES = sorted(PACKAGE.rglob("*.py"))
CLASSES = (
    "StandardGAN",
    "StackelbergGAN",
    "SGAN",
    "ProximalGAN",
    "ProjectionGame",
    "MessengerGame",
    "TwoPlayerGame",
    "ProximalMinimax",
    "AdamPair",
    "ACGD",
    "CGD",
    "SimGD",
    "GaussianMixture",
    "ImageSource",
    "StackedMNISTSource",
    "PlanarSource",
    "MixtureSource",
)


def source(path: Path) -> str:
    return path.read_text()


def branches(text: str) -> list[str]:
    """Comparisons with a framework or data-set name, tests of framework or data-set membership,
    and isinstance checks against the frameworks', optimizers' or data sources' classes."""
    names = "|".join(re.escape(n) for n in [*FRAMEWORKS, *DATA_SOURCES])
    patterns = [
        rf"(==|!=)\s*['\"]({names})['\"]",
        rf"['\"]({names})['\"]\s*(==|!=)",
        rf"\bin\s*[\(\[\{{]\s*['\"]({names})['\"]",
        r"(framework|data\.name)\s*(==|!=|\bin\b|\bnot in\b)",
        rf"isinstance\([^)]*\b({'|'.join(CLASSES)})\b",
        r"\bIMAGE_DATASETS\b",
    ]
    return [m.group(0) for pattern in patterns for m in re.finditer(pattern, text)]


def test_the_branch_detector_finds_what_it_looks_for():
    found = branches(
        'if config.run.framework == "sgan" or isinstance(framework, (SGAN, StackelbergGAN)):\n'
        '    x = name in ("ring", "grid") or data.name in IMAGE_DATASETS or "mnist" != d'
    )
    assert len(found) >= 6
    assert branches('FRAMEWORKS[config.run.framework].build(config)\nif method == "cgd":') == []


@pytest.mark.parametrize(
    "path", [p for p in MODULES if p.parent.name not in OWN_FILES], ids=lambda p: str(p.relative_to(PACKAGE))
)
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


def module_name(path: Path) -> str:
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def type_checking_nodes(tree: ast.AST) -> set[int]:
    """The nodes under ``if TYPE_CHECKING:``: imports there only name types and do not run."""
    inside = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(node.test):
            inside.update(id(child) for child in ast.walk(node))
    return inside


def imported(path: Path, modules: set[str]) -> set[str]:
    """The package's own modules that ``path`` imports, at module level or inside functions (each
    import resolved to the longest module of ``modules`` it names)."""
    name = module_name(path)
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    tree = ast.parse(source(path))
    skipped, found = type_checking_nodes(tree), set()
    for node in ast.walk(tree):
        if id(node) in skipped or not isinstance(node, (ast.Import, ast.ImportFrom)):
            continue
        if isinstance(node, ast.Import):
            targets = [alias.name for alias in node.names]
        else:
            base = package.split(".")[: len(package.split(".")) - node.level + 1] if node.level else []
            module = ".".join(base + ([node.module] if node.module else []))
            targets = [module] + [f"{module}.{alias.name}" for alias in node.names]
        for target in targets:
            parts = target.split(".")
            known = [".".join(parts[:k]) for k in range(len(parts), 0, -1) if ".".join(parts[:k]) in modules]
            if known:
                found.add(known[0])
    return found - {name}


def import_cycle(graph: dict[str, set[str]]) -> list[str]:
    """A list of modules that import each other in a circle, or [] (depth-first search)."""
    state, path = {}, []

    def visit(module: str) -> list[str]:
        state[module], _ = "open", path.append(module)
        for target in sorted(graph[module]):
            if state.get(target) == "open":
                return [*path[path.index(target) :], target]
            if target not in state and (cycle := visit(target)):
                return cycle
        state[module], _ = "done", path.pop()
        return []

    for module in sorted(graph):
        if module not in state and (cycle := visit(module)):
            return cycle
    return []


def test_the_cycle_finder_finds_a_circle():
    assert import_cycle({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == ["a", "b", "c", "a"]
    assert import_cycle({"a": {"b"}, "b": set(), "c": {"a", "b"}}) == []


@pytest.mark.parametrize("package", ["gan_experiments", "cgd_optim"])
def test_no_import_circle_module_level_and_function_level_imports_both(package):
    paths = sorted((ROOT / package).rglob("*.py"))
    modules = {module_name(p) for p in paths}
    graph = {module_name(p): imported(p, modules) for p in paths}
    assert import_cycle(graph) == []
    data_imports = {t for m, targets in graph.items() if m.startswith("gan_experiments.data") for t in targets}
    assert not [t for t in data_imports if t.startswith(("gan_experiments.frameworks", "gan_experiments.config"))]


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


@pytest.mark.parametrize("package", ["cgd_optim", "benchmarks"])
def test_every_function_of_the_optimizers_and_the_benchmarks_is_at_most_60_lines(package):
    long = [
        (str(p.relative_to(ROOT)), name, n)
        for p in sorted((ROOT / package).rglob("*.py"))
        for name, n in function_lengths(p)
        if n > 60
    ]
    assert long == []


def test_the_papers_are_cited_by_authors_and_title_not_by_file_names():
    paths = [
        *MODULES,
        *(PACKAGE / "configs").glob("*.toml"),
        *(PACKAGE.parent / "docs").glob("*.md"),
        PACKAGE.parent / "README.md",
        *(PACKAGE.parent / "cgd_optim").glob("*.py"),
    ]
    cited = [str(p) for p in paths if re.search(r"\b00\d_[0-9a-f]{16}\.txt", source(p))]
    assert cited == []


def members(protocol) -> set[str]:
    """What a Protocol of gan_experiments.contracts names: its methods and annotated attributes."""
    methods = {
        name
        for name, value in vars(protocol).items()
        if callable(value) or isinstance(value, (classmethod, staticmethod))
    }
    return {name for name in methods | set(protocol.__annotations__) if not name.startswith("_")}


def test_the_contracts_name_what_the_code_relies_on():
    assert {"restore", "train", "finish", "config"} <= members(contracts.Run)
    assert {"validate", "dry_run_overrides", "build", "trains_on_images", "records_critic"} == members(
        contracts.RunEntry
    )
    assert {"sample", "evaluate", "image_shape", "from_config"} <= members(contracts.DataSource)


def test_every_registry_entry_and_data_source_keeps_its_contract():
    for name, entry in FRAMEWORKS.items():
        missing = [
            m for m in members(contracts.RunEntry) | (members(contracts.Run) - {"config"}) if not hasattr(entry, m)
        ]
        assert missing == [], name
    for name, data in DATA_SOURCES.items():
        missing = [m for m in members(contracts.DataSource) if not hasattr(data, m)]
        assert missing == [], name


def test_listing_the_configs_imports_neither_torch_nor_a_framework():
    import subprocess
    import sys

    code = (
        "import sys, contextlib, io\n"
        "from gan_experiments.cli import main\n"
        "with contextlib.redirect_stdout(io.StringIO()) as out:\n"
        "    assert main(['list']) == 0\n"
        "assert 'stackelberg_fig1_ring8' in out.getvalue()\n"
        "print(sorted(m for m in sys.modules if m == 'torch' or m.startswith('gan_experiments.frameworks')))\n"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT)
    assert result.stdout.strip() == "[]", result.stderr


def test_one_version_for_the_distribution_and_both_packages():
    from importlib import metadata

    import cgd_optim
    import gan_experiments

    assert metadata.version("cgd_optim") == cgd_optim.__version__ == gan_experiments.__version__
    citation = (ROOT / "CITATION.cff").read_text()
    assert f'version: "{cgd_optim.__version__}"' in citation
    assert "## [Unreleased]" in (ROOT / "CHANGELOG.md").read_text()
    assert (
        "MIT License" in (ROOT / "LICENSE").read_text() and 'license = "MIT"' in (ROOT / "pyproject.toml").read_text()
    )
