#!/usr/bin/env bash
# The package as a user installs it: build the sdist and the wheel, check what the wheel holds,
# install the wheel (not editable) into a fresh environment that cannot see the checkout, and
# run a smoke check there from outside the checkout. Then build the documentation site strictly.
# Called by .ci/run with the project's environment active; $1 is a scratch folder.
set -euo pipefail
scratch="$1"
root="$(pwd)"
python -m pip install --quiet build
python -m build --outdir "$scratch/dist" . > "$scratch/build.log" 2>&1 || { tail -40 "$scratch/build.log"; exit 1; }
wheel="$(ls "$scratch"/dist/*.whl)"
python - "$wheel" <<'PY'
import sys, zipfile
names = zipfile.ZipFile(sys.argv[1]).namelist()
tops = sorted({n.split("/")[0] for n in names})
assert all(t in ("cgd_optim", "gan_experiments") or t.endswith(".dist-info") for t in tops), tops
assert not [n for n in names if n.startswith(("tests/", "benchmarks/", "runs/", "docs/", "examples/"))]
assert any(n.startswith("gan_experiments/configs/") and n.endswith(".toml") for n in names), "configs missing"
assert any(n.endswith("licenses/LICENSE") or n.endswith("/LICENSE") for n in names), "LICENSE missing"
print(f"wheel: {len(names)} files, top level {tops}")
PY
python3 -m venv "$scratch/user"
"$scratch/user/bin/python" -m pip install --quiet --upgrade pip
"$scratch/user/bin/python" -m pip install --quiet "torch==2.14.1"
"$scratch/user/bin/python" -m pip install --quiet "$wheel"  # its torch requirement: met
cd "$scratch"  # outside the checkout: only the installed package is importable
"$scratch/user/bin/python" - "$root" <<'PY'
import sys
from importlib import metadata
import torch
import cgd_optim
assert not cgd_optim.__file__.startswith(sys.argv[1]), cgd_optim.__file__  # the installed copy
x, y = torch.nn.Parameter(torch.ones(3)), torch.nn.Parameter(torch.ones(3))
optimizer = cgd_optim.ACGD([x], [y], lr=0.1)
optimizer.step(lambda: (x * y).sum() + (x**2).sum())
assert metadata.version("cgd_optim") == cgd_optim.__version__
print(f"cgd_optim {cgd_optim.__version__} from {cgd_optim.__file__}: one ACGD step, "
      f"{int(optimizer.step_stats['iterations'])} CG iterations")
PY
"$scratch/user/bin/python" -m gan_experiments list > "$scratch/list.txt"
grep -q "^stackelberg_fig1_ring8 " "$scratch/list.txt"  # the bundled configs are in the wheel
"$scratch/user/bin/python" -m cgd_optim.demo --steps 50 > /dev/null
echo "installed wheel: import, ACGD step, gan_experiments list and cgd_optim.demo passed"
# The site, built in that fresh environment with only the docs extra added (so a dependency the
# extra misses fails here), then checked to load nothing from another host.
"$scratch/user/bin/python" -m pip install --quiet "$wheel[docs]"
cd "$root"
"$scratch/user/bin/python" -m sphinx -W -q -b html docs "$scratch/site"
python .ci/offline_site.py "$scratch/site"
echo "documentation site built with -W: $(find "$scratch/site" -name '*.html' | wc -l) pages"
