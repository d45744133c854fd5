"""The import contracts of pyproject.toml hold, and scripts/lint_imports.py really checks
the installed layout (a contract over a tree without flows/ and transforms/ would pass
for nothing)."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

from tests.conftest import load_script

LINT = Path(sys.executable).with_name("lint-imports")


def _lint(tree: Path) -> subprocess.CompletedProcess:
    return subprocess.run([str(LINT), "--no-cache"], cwd=tree, capture_output=True, text=True, timeout=120)


def _layout(tmp_path: Path) -> Path:
    li = load_script("lint_imports")
    li.lay_out(tmp_path, li.package_folders(li.ROOT / "pyproject.toml"))
    shutil.copy2(li.ROOT / "pyproject.toml", tmp_path / "pyproject.toml")
    return tmp_path


def test_layout_has_flows_and_transforms_inside_newsetl(tmp_path):
    tree = _layout(tmp_path)
    assert (tree / "newsetl" / "flows" / "pipeline.py").exists()
    assert (tree / "newsetl" / "transforms" / "urls.py").exists()
    assert (tree / "newsetl" / "sources" / "files.py").exists()


def test_contracts_hold():
    assert load_script("lint_imports").main([]) == 0


def test_each_contract_catches_its_violation(tmp_path):
    tree = _layout(tmp_path)
    pkg = tree / "newsetl"
    with open(pkg / "transforms" / "text.py", "a") as f:
        f.write("\nfrom newsetl.settings import Settings  # noqa\n")
    with open(pkg / "sources" / "files.py", "a") as f:
        f.write("\nimport newsetl.flows.pipeline  # noqa\n")
    (pkg / "unplaced.py").write_text("import os\n")
    r = _lint(tree)
    assert r.returncode == 1
    assert "newsetl.transforms.text -> newsetl.settings" in r.stdout
    assert "newsetl.sources.files -> newsetl.flows.pipeline" in r.stdout
    assert "newsetl.unplaced" in r.stdout  # exhaustive layers: a new module must be placed
    assert "0 kept, 3 broken" in r.stdout
