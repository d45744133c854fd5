"""What one run keeps track of while the flow runs: the summary it prints and publishes."""

from __future__ import annotations

import re
import time
from contextlib import contextmanager
from dataclasses import dataclass, field

from newsetl import process, schema
from newsetl.records import Reject
from newsetl.settings import Settings


@dataclass
class RunSummary:
    run_id: str
    status: str = "running"
    articles_seen: int = 0
    articles_new: int = 0
    articles_changed: int = 0
    articles_unchanged: int = 0
    articles_reprocessed: int = 0  # of articles_changed: unchanged, re-enriched by --force / backfill
    duplicates_in_batch: int = 0  # inputs that repeat another of this run (in its batch or an earlier one)
    enrich_rejects: int = 0  # prepared articles a worker could not enrich (rejects, not landed)
    command: str = "run"  # the heading's word: "backfill" for a backfill
    copied: int = 0  # articles whose exact text this run had enriched already (process.CopyMemo)
    rejects: int = 0
    landed: dict = field(default_factory=lambda: {t: 0 for t in ("articles",) + schema.ARTICLE_CHILD_TABLES})
    totals: dict = field(default_factory=dict)
    timings: dict = field(default_factory=dict)
    reject_samples: list = field(default_factory=list)
    refused_private: int = 0  # rejects of a loopback, private or other non-public address
    seconds: float = 0.0
    message: str = ""

    @contextmanager
    def timed(self, step: str):
        """Adds the wall time of the block to `timings[step]` (summed over batches)."""
        t = time.monotonic()
        try:
            yield
        finally:
            self.timings[step] = self.timings.get(step, 0.0) + time.monotonic() - t

    def markdown(self, settings: Settings) -> str:
        repeats = (f", {self.duplicates_in_batch} repeated within this run (same URL or same text; "
                   "landed once)" if self.duplicates_in_batch else "")
        forced = min(self.articles_reprocessed, self.articles_changed)  # a worker may have rejected some
        forced_text = f"{forced} unchanged but re-enriched (forced), " if forced else ""
        lines = [f"# newsetl {self.command} `{self.run_id}`: {self.status}", "",
                 f"{self.articles_seen} {'article' if self.articles_seen == 1 else 'articles'} read: "
                 f"{self.articles_new} new, {self.articles_changed - forced} changed, {forced_text}"
                 f"{self.articles_unchanged} unchanged (skipped){repeats}, {self.rejects} rejected; "
                 f"{self.seconds:.1f} s.", ""]
        if self.copied:
            lines += [f"{self.copied} of them repeat a text enriched earlier in this run (syndicated copies): "
                      "their rows were copied, not computed again.", ""]
        lines += ["| table | landed this run | rows in warehouse |", "| --- | ---: | ---: |"]
        for t in schema.TABLES:
            lines.append(f"| {t} | {self.landed.get(t, '')} | {self.totals.get(t, '')} |")
        lines += ["", "| step | seconds |", "| --- | ---: |"]
        lines += [f"| {k} | {v:.2f} |" for k, v in self.timings.items()]
        if self.reject_samples:
            lines += ["", "Rejects (first 10):", ""]
            lines += [f"- `{r.input_ref}`: {r.reason}" for r in self.reject_samples[:10]]
        if self.refused_private:
            lines += ["", f"{self.refused_private} of the rejects are addresses on this machine or a private "
                          "network, refused by default; NEWSETL_BLOCK_PRIVATE_ADDRESSES=false fetches them "
                          "(a server of your own on 127.0.0.1, an intranet)."]
        lines += ["", f"Outputs: DuckDB `{settings.db_path}`, Parquet `{settings.parquet_dir}`"]
        return "\n".join(lines)


def count_prepared(summary: RunSummary, prep: process.Prepared, rejects: list[Reject]) -> None:
    summary.articles_seen += prep.articles.height + prep.unchanged + prep.duplicates_in_batch
    summary.articles_new += len(prep.new_ids)
    summary.articles_changed += len(prep.changed_ids)
    summary.articles_unchanged += prep.unchanged
    summary.duplicates_in_batch += prep.duplicates_in_batch
    summary.articles_reprocessed += prep.reprocessed
    count_rejects(summary, rejects + prep.rejects)


# The reasons `newsetl.urls.address_refusal` gives ("loopback address 127.0.0.1 refused").
_PRIVATE_REFUSAL = re.compile(r"\baddress \S+ refused\b")


def count_rejects(summary: RunSummary, rejects: list[Reject]) -> None:
    summary.rejects += len(rejects)
    summary.refused_private += sum(1 for r in rejects if _PRIVATE_REFUSAL.search(r.reason or ""))
    summary.reject_samples.extend(rejects[: max(0, 10 - len(summary.reject_samples))])
