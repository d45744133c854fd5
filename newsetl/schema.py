"""The single source of truth for table and column names and types.

DuckDB DDL, pyarrow schemas and Polars dtypes are all derived from `TABLES`, so the
contract in ../shared/CONTRACT.md is written down once. Columns are (name, duckdb type).
"""

from __future__ import annotations

import polars as pl
import pyarrow as pa

Column = tuple[str, str]

TABLES: dict[str, list[Column]] = {
    "articles": [
        ("article_id", "VARCHAR"),
        ("source", "VARCHAR"),
        ("url", "VARCHAR"),
        ("canonical_url", "VARCHAR"),
        ("title", "VARCHAR"),
        ("published_at", "TIMESTAMPTZ"),
        ("published_date", "DATE"),
        ("language", "VARCHAR"),
        ("authors", "VARCHAR[]"),
        ("site_name", "VARCHAR"),
        ("text", "VARCHAR"),
        ("word_count", "INTEGER"),
        ("content_hash", "VARCHAR"),
        ("tone", "DOUBLE"),
        ("positive", "DOUBLE"),
        ("negative", "DOUBLE"),
        ("polarity", "DOUBLE"),
        ("sentiment", "DOUBLE"),
        ("duplicate_of", "VARCHAR"),
        ("cluster_id", "VARCHAR"),
        ("input_ref", "VARCHAR"),
        ("fetched_at", "TIMESTAMPTZ"),
        ("raw_meta", "VARCHAR"),
        ("pipeline_version", "VARCHAR"),
        ("run_id", "VARCHAR"),
    ],
    "paragraphs": [
        ("article_id", "VARCHAR"),
        ("paragraph_index", "INTEGER"),
        ("text", "VARCHAR"),
        ("kind", "VARCHAR"),
        ("kind_reason", "VARCHAR"),
        ("sentiment", "DOUBLE"),
        ("published_date", "DATE"),
    ],
    "sentences": [
        ("article_id", "VARCHAR"),
        ("paragraph_index", "INTEGER"),
        ("sentence_index", "INTEGER"),
        ("start_char", "INTEGER"),
        ("end_char", "INTEGER"),
        ("text", "VARCHAR"),
        ("sentiment", "DOUBLE"),
        ("published_date", "DATE"),
    ],
    "entity_mentions": [
        ("article_id", "VARCHAR"),
        ("paragraph_index", "INTEGER"),
        ("sentence_index", "INTEGER"),
        ("start_char", "INTEGER"),
        ("end_char", "INTEGER"),
        ("text", "VARCHAR"),
        ("label", "VARCHAR"),
        ("entity_id", "VARCHAR"),
        ("entity_name", "VARCHAR"),
        ("sentiment", "DOUBLE"),
        ("sentiment_label", "VARCHAR"),
        ("published_date", "DATE"),
    ],
    "entities": [
        ("entity_id", "VARCHAR"),
        ("name", "VARCHAR"),
        ("label", "VARCHAR"),
        ("aliases", "VARCHAR[]"),
        ("article_count", "BIGINT"),
        ("mention_count", "BIGINT"),
        # ISO 3166-1 alpha-2 of a country, or of the country whose people a demonym
        # names ("American" -> "US"); null for every other entity.
        ("country_code", "VARCHAR"),
    ],
    "quotes": [
        ("article_id", "VARCHAR"),
        ("paragraph_index", "INTEGER"),
        ("quote_index", "INTEGER"),
        ("quote", "VARCHAR"),
        ("speaker", "VARCHAR"),
        ("speaker_entity_id", "VARCHAR"),
        ("attribution", "VARCHAR"),
        ("scare_quote", "BOOLEAN"),
        ("start_char", "INTEGER"),
        ("end_char", "INTEGER"),
        ("published_date", "DATE"),
    ],
    "rejects": [
        ("source", "VARCHAR"),
        ("input_ref", "VARCHAR"),
        ("reason", "VARCHAR"),
        ("run_id", "VARCHAR"),
        ("rejected_at", "TIMESTAMPTZ"),
    ],
    # Members of duplicate clusters (exact and near copies, transforms/dedup.py); an article
    # with no row here is its own cluster. The `articles` view joins it in.
    "article_clusters": [
        ("article_id", "VARCHAR"),
        ("cluster_id", "VARCHAR"),
        ("duplicate_of", "VARCHAR"),
    ],
    "runs": [
        ("run_id", "VARCHAR"),
        ("started_at", "TIMESTAMPTZ"),
        ("finished_at", "TIMESTAMPTZ"),
        ("status", "VARCHAR"),
        ("sources", "VARCHAR[]"),
        ("articles", "BIGINT"),
        ("articles_new", "BIGINT"),
        ("articles_changed", "BIGINT"),
        ("articles_unchanged", "BIGINT"),
        ("paragraphs", "BIGINT"),
        ("sentences", "BIGINT"),
        ("entity_mentions", "BIGINT"),
        ("entities", "BIGINT"),
        ("quotes", "BIGINT"),
        ("rejects", "BIGINT"),
        ("seconds", "DOUBLE"),
        ("pipeline_version", "VARCHAR"),
        ("message", "VARCHAR"),
    ],
}

# Primary keys: what "the same row" means when a batch is re-landed.
KEYS: dict[str, tuple[str, ...]] = {
    "articles": ("article_id",),
    "paragraphs": ("article_id", "paragraph_index"),
    "sentences": ("article_id", "paragraph_index", "sentence_index"),
    "entity_mentions": ("article_id", "paragraph_index", "start_char"),
    "entities": ("entity_id",),
    "quotes": ("article_id", "paragraph_index", "quote_index"),
    "runs": ("run_id",),
    "article_clusters": ("article_id",),
}

# Columns a frame may lack when it is conformed because a later step fills them (landing
# sets run_id; duplicate clusters are computed when a run publishes; language and the tone
# fields stay null for articles that are not English or have no body). Any other missing
# column is a bug (e.g. a renamed column) and `conform` refuses it.
FILLED_LATER: dict[str, frozenset[str]] = {
    "articles": frozenset({"run_id", "duplicate_of", "cluster_id", "canonical_url", "authors", "site_name",
                           "fetched_at", "raw_meta", "input_ref", "language", "tone", "positive",
                           "negative", "polarity", "sentiment", "published_at", "published_date"}),
    "paragraphs": frozenset({"sentiment", "published_date", "kind_reason"}),
    "sentences": frozenset({"sentiment", "published_date"}),
    "entity_mentions": frozenset({"sentiment", "sentiment_label", "published_date", "entity_name",
                                  "sentence_index"}),
    "quotes": frozenset({"speaker", "speaker_entity_id", "attribution", "published_date", "quote_index"}),
    "rejects": frozenset({"run_id", "rejected_at"}),
    "runs": frozenset(c for c, _ in TABLES["runs"]) - {"run_id"},
    "entities": frozenset(),
    "article_clusters": frozenset({"duplicate_of"}),
}

# Tables owned by an article: replaced together when the article changes.
ARTICLE_CHILD_TABLES = ("paragraphs", "sentences", "entity_mentions", "quotes")
# Tables stored as Parquet files partitioned by published_date (the source of truth; the
# DuckDB catalog holds views over them, see newsetl/warehouse.py).
PARTITIONED_TABLES = ("articles", "paragraphs", "sentences", "entity_mentions", "quotes")
# Tables kept inside the DuckDB catalog file itself: small, updated in place each run.
CATALOG_TABLES = ("entities", "article_clusters", "rejects", "runs")
# Columns of `articles` that come from article_clusters (joined by the view), not from its files.
CLUSTER_COLUMNS = ("duplicate_of", "cluster_id")


def stored_columns(table: str) -> list[str]:
    """Columns written to a partitioned table's Parquet files: the partition column lives
    in the directory name, cluster columns in the catalog."""
    drop = {"published_date", *(CLUSTER_COLUMNS if table == "articles" else ())}
    return [c for c in columns(table) if c not in drop]

_PA = {
    "VARCHAR": pa.string(),
    "INTEGER": pa.int32(),
    "BIGINT": pa.int64(),
    "DOUBLE": pa.float64(),
    "DATE": pa.date32(),
    "TIMESTAMPTZ": pa.timestamp("us", tz="UTC"),
    "VARCHAR[]": pa.list_(pa.string()),
    "BOOLEAN": pa.bool_(),
}
_PL = {
    "VARCHAR": pl.String,
    "INTEGER": pl.Int32,
    "BIGINT": pl.Int64,
    "DOUBLE": pl.Float64,
    "DATE": pl.Date,
    "TIMESTAMPTZ": pl.Datetime("us", "UTC"),
    "VARCHAR[]": pl.List(pl.String),
    "BOOLEAN": pl.Boolean,
}


def columns(table: str) -> list[str]:
    return [name for name, _ in TABLES[table]]


def ddl(table: str) -> str:
    cols = ",\n  ".join(f"{name} {typ}" for name, typ in TABLES[table])
    # No PRIMARY KEY constraints: landing deletes then inserts whole articles in one
    # transaction, which is how uniqueness of KEYS is kept (and tested), and DuckDB's
    # ART indexes would only slow bulk inserts and grow the file.
    return f"CREATE TABLE IF NOT EXISTS {table} (\n  {cols}\n);"


def arrow_type(typ: str) -> pa.DataType:
    """The Arrow type of a column of SQL type `typ` in the landed Parquet files."""
    return _PA[typ]


def arrow_schema(table: str) -> pa.Schema:
    return pa.schema([(name, _PA[typ]) for name, typ in TABLES[table]])


def polars_schema(table: str) -> dict[str, pl.DataType]:
    return {name: _PL[typ] for name, typ in TABLES[table]}


class SchemaError(ValueError):
    """A frame lacks a column its table needs (a renamed or dropped column)."""


def conform(df: pl.DataFrame, table: str) -> pl.DataFrame:
    """Select the table's columns in order and cast to its dtypes. A missing column is an
    error unless FILLED_LATER marks it (then it comes back as nulls)."""
    schema = polars_schema(table)
    missing = [c for c in schema if c not in df.columns and c not in FILLED_LATER.get(table, ())]
    if missing:
        raise SchemaError(f"{table}: frame lacks column(s) {', '.join(missing)} (has {', '.join(df.columns)})")
    return df.select(
        [
            (pl.col(name) if name in df.columns else pl.lit(None)).cast(dtype).alias(name)
            for name, dtype in schema.items()
        ]
    )


def empty(table: str) -> pl.DataFrame:
    return pl.DataFrame(schema=polars_schema(table))
