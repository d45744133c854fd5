"""The import contracts of pyproject.toml hold, `lint-imports` on the checkout really sees
flows/ and transforms/ as newsetl.flows and newsetl.transforms (a contract over a tree
without them would pass for nothing), and each contract catches its violation."""

from __future__ import annotations

import shutil
import subprocess
import sys
import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
LINT = Path(sys.executable).with_name("lint-imports")


def _lint(tree: Path) -> subprocess.CompletedProcess:
    # lint-imports puts its working directory first on sys.path: `newsetl` is tree/newsetl.
    return subprocess.run([str(LINT), "--no-cache"], cwd=tree, capture_output=True, text=True, timeout=120)


def test_symlinks_follow_the_package_dir_mapping():
    setuptools = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["tool"]["setuptools"]
    mapping = setuptools["package-dir"]
    assert set(mapping) == {"newsetl.flows", "newsetl.transforms", "newsetl.sql"}
    for pkg, folder in mapping.items():
        link = ROOT.joinpath(*pkg.split("."))
        assert link.is_symlink(), link
        assert link.resolve() == (ROOT / folder).resolve()


def test_contracts_hold_and_cover_flows_and_transforms():
    r = _lint(ROOT)
    assert r.returncode == 0, r.stdout + r.stderr
    assert "3 kept, 0 broken" in r.stdout
    files = int(r.stdout.split("Analyzed ")[1].split(" files")[0])
    own = sum(1 for d in ("newsetl", "flows", "transforms", "sql") for _ in (ROOT / d).rglob("*.py"))
    assert files == own  # rglob does not follow the symlinks: each file counted once


def test_each_contract_catches_its_violation(tmp_path):
    shutil.copytree(ROOT / "newsetl", tmp_path / "newsetl", symlinks=False,
                    ignore=shutil.ignore_patterns("models", "__pycache__", "*.sql", "*.md"))
    shutil.copy2(ROOT / "pyproject.toml", tmp_path / "pyproject.toml")
    pkg = tmp_path / "newsetl"
    assert (pkg / "flows" / "pipeline.py").exists() and (pkg / "transforms" / "urls.py").exists()
    with open(pkg / "transforms" / "text.py", "a") as f:
        f.write("\nfrom newsetl.settings import Settings  # noqa\n")
    with open(pkg / "sources" / "files.py", "a") as f:
        f.write("\nimport newsetl.flows.pipeline  # noqa\n")
    (pkg / "unplaced.py").write_text("import os\n")
    r = _lint(tmp_path)
    assert r.returncode == 1
    assert "newsetl.transforms.text -> newsetl.settings" in r.stdout
    assert "newsetl.sources.files -> newsetl.flows.pipeline" in r.stdout
    assert "newsetl.unplaced" in r.stdout  # exhaustive layers: a new module must be placed
    assert "0 kept, 3 broken" in r.stdout
