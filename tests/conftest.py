"""Shared test setup: Prefect offline and quiet, one Prefect test server per session,
and a small warehouse built by the real flow from tests/fixtures."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest

os.environ.setdefault("NEWSETL_STATE_HOME", str(Path(__file__).resolve().parents[1] / ".state" / "test"))
from newsetl import env  # noqa: E402

env.configure(quiet=True)

FIXTURES = Path(__file__).parent / "fixtures"
SHARED = Path(__file__).resolve().parents[2] / "shared" / "data"


@pytest.fixture(scope="session")
def prefect_server():
    """One Prefect API for the whole test session (a flow run otherwise starts its own)."""
    from prefect.testing.utilities import prefect_test_harness

    with prefect_test_harness(server_startup_timeout=120):
        yield


@pytest.fixture
def settings(tmp_path):
    from newsetl.settings import Settings

    return Settings(warehouse=tmp_path / "wh", workers=1, batch_size=50, progress=False)


def run_cli(*argv: str) -> int:
    from newsetl.cli import main

    return main(list(argv))


@pytest.fixture(scope="session")
def sample_warehouse(tmp_path_factory, prefect_server):
    """The bundled sample data landed once by the real CLI into a temporary warehouse."""
    wh = tmp_path_factory.mktemp("sample") / "wh"
    root = Path(__file__).resolve().parents[1]
    src = tmp_path_factory.mktemp("src")
    shutil.copytree(root / "data" / "sample", src / "sample")
    shutil.copy(FIXTURES / "articles" / "seedlike.txt", src / "sample" / "seedlike.txt") if (FIXTURES / "articles" / "seedlike.txt").exists() else None
    old = os.environ.get("NEWSETL_WORKERS")
    os.environ["NEWSETL_WORKERS"] = "1"
    try:
        assert run_cli("run", str(src / "sample"), "--warehouse", str(wh)) == 0
    finally:
        if old is None:
            os.environ.pop("NEWSETL_WORKERS", None)
        else:
            os.environ["NEWSETL_WORKERS"] = old
    return wh
