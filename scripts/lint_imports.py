"""`make lint-imports`: check the import contracts of pyproject.toml ([tool.importlinter])
on the package as it installs.

import-linter (grimp) finds a package's modules by walking its folder on disk, but
flows/ and transforms/ live beside newsetl/ and only become newsetl.flows and
newsetl.transforms through pyproject's package-dir mapping. So this lays the .py files
out as installed in a scratch folder (following that mapping) and runs `lint-imports`
there. Extra arguments go to lint-imports (e.g. --verbose, --show-timings)."""

from __future__ import annotations

import shutil
import subprocess
import sys
import tempfile
import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def package_folders(pyproject: Path) -> dict[str, Path]:
    """{"newsetl.flows": ROOT/"flows", ...}: every package setuptools installs and its source folder."""
    setuptools = tomllib.loads(pyproject.read_text(encoding="utf-8"))["tool"]["setuptools"]
    mapping = setuptools.get("package-dir", {})
    return {pkg: ROOT / mapping.get(pkg, pkg.replace(".", "/")) for pkg in setuptools["packages"]}


def lay_out(dest: Path, folders: dict[str, Path]) -> None:
    for pkg, src in folders.items():
        target = dest.joinpath(*pkg.split("."))
        target.mkdir(parents=True, exist_ok=True)
        # Recursive, so a new subpackage is checked even before it is listed in `packages`.
        for f in src.rglob("*.py"):
            (target / f.relative_to(src)).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(f, target / f.relative_to(src))


def main(argv: list[str]) -> int:
    pyproject = ROOT / "pyproject.toml"
    lint = Path(sys.executable).with_name("lint-imports")
    with tempfile.TemporaryDirectory(prefix="newsetl-importlint-") as tmp:
        lay_out(Path(tmp), package_folders(pyproject))
        shutil.copy2(pyproject, Path(tmp) / "pyproject.toml")  # where lint-imports looks for its config
        # cwd = the scratch tree: lint-imports puts the working directory first on sys.path,
        # so `newsetl` resolves to the laid-out copy, not the editable install.
        return subprocess.call([str(lint), "--no-cache", *argv], cwd=tmp)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
