"""What one run keeps track of while the flow runs: the summary it prints and publishes,
the progress line on a terminal, and the corpus evidence for boilerplate detection."""

from __future__ import annotations

import sys
import time
from dataclasses import dataclass, field

import polars as pl

from newsetl import process, schema
from newsetl.records import Reject
from newsetl.settings import Settings
from newsetl.warehouse import StagingWriter
from newsetl.transforms.boilerplate import REPEAT_MAX_WORDS, corpus_evidence


@dataclass
class RunSummary:
    run_id: str
    status: str = "running"
    articles_seen: int = 0
    articles_new: int = 0
    articles_changed: int = 0
    articles_unchanged: int = 0
    duplicates_in_batch: int = 0
    rejects: int = 0
    landed: dict = field(default_factory=lambda: {t: 0 for t in ("articles",) + schema.ARTICLE_CHILD_TABLES})
    totals: dict = field(default_factory=dict)
    timings: dict = field(default_factory=dict)
    reject_samples: list = field(default_factory=list)
    seconds: float = 0.0
    message: str = ""

    def add_time(self, step: str, seconds: float) -> None:
        self.timings[step] = self.timings.get(step, 0.0) + seconds

    def markdown(self, settings: Settings) -> str:
        lines = [f"# newsetl run `{self.run_id}`: {self.status}", "",
                 f"{self.articles_seen} articles read: {self.articles_new} new, {self.articles_changed} changed, "
                 f"{self.articles_unchanged} unchanged (skipped), {self.rejects} rejected; "
                 f"{self.seconds:.1f} s.", "",
                 "| table | landed this run | rows in warehouse |", "| --- | ---: | ---: |"]
        for t in schema.TABLES:
            lines.append(f"| {t} | {self.landed.get(t, '')} | {self.totals.get(t, '')} |")
        lines += ["", "| step | seconds |", "| --- | ---: |"]
        lines += [f"| {k} | {v:.2f} |" for k, v in self.timings.items()]
        if self.reject_samples:
            lines += ["", "Rejects (first 10):", ""]
            lines += [f"- `{r.input_ref}`: {r.reason}" for r in self.reject_samples[:10]]
        lines += ["", f"Outputs: DuckDB `{settings.db_path}`, Parquet `{settings.parquet_dir}`"]
        return "\n".join(lines)


def count_prepared(summary: RunSummary, prep: process.Prepared, rejects: list[Reject]) -> None:
    summary.articles_seen += prep.articles.height + prep.unchanged + prep.duplicates_in_batch
    summary.articles_new += len(prep.new_ids)
    summary.articles_changed += len(prep.changed_ids)
    summary.articles_unchanged += prep.unchanged
    summary.duplicates_in_batch += prep.duplicates_in_batch
    all_rejects = rejects + prep.rejects
    summary.rejects += len(all_rejects)
    summary.reject_samples.extend(all_rejects[: max(0, 10 - len(summary.reject_samples))])


class Progress:
    """Articles done, rate and time left on a terminal; silent in logs and CI."""

    def __init__(self, enabled: bool, total: int | None = None):
        self.enabled = enabled
        self.total = total
        self.start = time.monotonic()
        self.done = 0

    def update(self, n: int) -> None:
        self.done += n
        if not self.enabled:
            return
        el = time.monotonic() - self.start
        rate = self.done / el if el > 0 else 0.0
        line = f"{self.done} articles, {rate:.0f}/s, {el:.0f} s elapsed"
        if self.total and rate > 0 and self.total > self.done:
            line = (f"{self.done}/{self.total} articles, {rate:.0f}/s, "
                    f"about {(self.total - self.done) / rate:.0f} s left")
        sys.stderr.write(f"\r{line}   ")
        sys.stderr.flush()

    def close(self) -> None:
        if self.enabled and self.done:
            sys.stderr.write("\n")


class EvidenceCache:
    """Corpus evidence for boilerplate: the warehouse's paragraphs of each source seen
    (loaded once per run) plus the batches landed in this run. Articles being re-landed
    are left out, so no article is counted twice."""

    def __init__(self, writer: StagingWriter):
        self.writer = writer
        self.loaded: set[str] = set()
        self.paras: list[pl.DataFrame] = []
        self.arts: list[pl.DataFrame] = []

    def for_docs(self, docs):
        new_sources = sorted({d.source for d in docs} - self.loaded)
        if new_sources:
            paras, arts = self.writer.paragraphs_for_sources(new_sources)
            self._keep(paras, arts)
            self.loaded.update(new_sources)
        return self.excluding

    def excluding(self, article_ids: list[str]) -> pl.DataFrame | None:
        if not self.arts:
            return None
        drop = pl.col("article_id").is_in(article_ids)
        return corpus_evidence(pl.concat(self.paras).filter(~drop), pl.concat(self.arts).filter(~drop))

    def add(self, prep: process.Prepared) -> None:
        self._keep(prep.paragraphs, prep.articles)

    def _keep(self, paras: pl.DataFrame, arts: pl.DataFrame) -> None:
        # Only paragraphs short enough to be template text count as evidence (see
        # transforms.boilerplate.REPEAT_MAX_WORDS): keeping just those keeps memory small.
        short = pl.col("text").str.count_matches(r"\S+") <= REPEAT_MAX_WORDS
        paras = paras.filter(short)
        self.paras.append(paras.select(pl.col("article_id").cast(pl.String), pl.col("text").cast(pl.String)))
        self.arts.append(arts.select(*(pl.col(c).cast(pl.String) for c in ("article_id", "source", "title"))))
