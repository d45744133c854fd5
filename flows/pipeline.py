"""The main flow: one batch run of `newsetl run SOURCE...`.

It says what happens, in order; the work lives in newsetl.process (pure), the
transforms, and newsetl.warehouse (landing). Tasks are batch-sized, never per article.
"""

from __future__ import annotations

import itertools
import sys
import time
import uuid
from collections import deque
from contextlib import ExitStack, contextmanager
from datetime import datetime, timezone

import polars as pl
from prefect import flow, get_run_logger, task
from prefect.cache_policies import NO_CACHE
from prefect.utilities.annotations import quote

from newsetl import process, schema
from newsetl import fanout, pagecrash
from newsetl.env import interrupts_as_such
from newsetl.memory import freeze_startup_objects, release_free_memory
from newsetl.records import Reject
from newsetl.progress import Progress
from newsetl.runstate import RunSummary, count_prepared, count_rejects
from newsetl.settings import PIPELINE_VERSION, Settings
from newsetl.sources.dispatch import iter_sources, run_batches
from newsetl.sources.files import estimate_articles
from newsetl.sources.http import Fetcher
from newsetl.transforms.entities import known_surnames
from newsetl.warehouse import WarehouseBusy, Writer, writer_lock


@task(name="extract-pages", cache_policy=NO_CACHE)
def extract_pages(pages: bytes) -> list:
    """One chunk of a batch's HTML pages on a worker: pickled (html, url) in, extractions out."""
    return process.extract_packed(pages)


# The reject of a page whose extraction killed its worker process (`fanout.run_alone`).
CRASHED_PAGE = "HTML extraction killed its worker process (a crash or out of memory): page set aside"


def extract_on_workers(runner, docs, chunks: list[list[int]], in_flight: int) -> dict[int, object]:
    """A batch's HTML pages extracted on the workers, chunk by chunk
    (`process.extraction_chunks`), by document index: the costly part of `process.prepare`,
    whose main process then builds the rows. At most `in_flight` chunks are submitted at a
    time (each submit holds copies of its pages), the first behind the shards already
    queued. The chunks that were on the pool when a worker died run again alone, halved
    down to the page that kills its worker (`fanout.run_alone`), which is rejected."""
    out: dict[int, object] = {}
    pending: deque = deque()
    todo = iter(chunks)
    suspects: list[list[int]] = []

    def submit(chunk: list[int]) -> None:
        pending.append((chunk, runner.submit(extract_pages, {"pages": process.pack_pages(docs, chunk)})))

    for chunk in itertools.islice(todo, in_flight):
        submit(chunk)
    while pending:
        chunk, future = pending.popleft()
        try:
            out.update(zip(chunk, fanout.result(runner, future), strict=True))
        except Exception as exc:
            if not fanout.recover(runner, exc):
                raise
            suspects.append(chunk)
        # Dask keeps a result on its worker while its future lives, and computes it again
        # each time that worker dies (as it does below, under `run_alone`).
        del future
        if (nxt := next(todo, None)) is not None:
            submit(nxt)
    if suspects:
        alone = fanout.run_alone(runner, extract_pages, suspects,
                                 lambda part: {"pages": process.pack_pages(docs, part)}, CRASHED_PAGE)
        for i in (i for i, ex in alone.items() if ex == CRASHED_PAGE):
            get_run_logger().warning("page %s killed its extraction worker process: rejected", docs[i].input_ref)
        out.update(alone)
    return out


@task(name="prepare-batch", cache_policy=NO_CACHE)
def prepare_batch(docs, writer: Writer, force: bool, extracted: dict[int, object] | None = None,
                  page_keys: list[int | None] | None = None) -> process.Prepared:
    # The warehouse answers for just this batch: its ids' hashes and its evidence entries.
    prep = process.prepare(docs, writer.known_for, writer.evidence_for, force=force, extracted=extracted,
                           page_keys=page_keys)
    writer.remember_pages(prep.pages)
    return prep


@task(name="enrich-shard", cache_policy=NO_CACHE)
def enrich_shard(articles_ipc: bytes, paragraphs_ipc: bytes, models: tuple[str, str],
                 ner_cache_ipc: bytes | None, people: tuple[str, ...] = ()) -> dict[str, bytes]:
    """One shard of whole articles on a worker: Arrow IPC bytes in and out."""
    return process.enrich_packed(articles_ipc, paragraphs_ipc, models, ner_cache_ipc, people)


def submit_shards(runner, writer: Writer, prep: process.Prepared, n_shards: int, models,
                  copies: process.CopyMemo | None) -> tuple[list, list[dict], process.CopyPlan | None]:
    """A batch's shards, each with the raw NER output already known for its texts
    (syndicated copies are enriched once: in this run or in the warehouse). With `copies`,
    an article whose exact text this run already enriched skips the workers: its rows are
    copied at `gather_shards`, following the returned plan."""
    plan = copies.plan(prep) if copies is not None else None
    todo = plan.todo if plan is not None else prep
    known = writer.ner_cache_for(process.text_hashes(process.ner_texts(todo.articles, todo.paragraphs).to_list()))
    # The people the warehouse (as the run found it) knows in the batch's sources and window,
    # by the surnames it has seen written alone for them: the NER tags those where they
    # stand alone as a name (linking then decides which person).
    people = tuple(known_surnames(writer.known_entities(todo.articles, process.LINK_WINDOW_DAYS, staged=False))
                   if writer.settings.known_people and todo.articles.height else ())
    params = []
    for a, p in process.shard(todo, n_shards, writer.settings.min_shard_words, known["h"]):
        hashes = pl.Series(process.text_hashes(process.ner_texts(a, p).to_list()), dtype=pl.Int64)
        cache = known.filter(pl.col("h").is_in(hashes.implode()))
        params.append({"articles_ipc": process.pack(a), "paragraphs_ipc": process.pack(p), "models": models,
                       "ner_cache_ipc": process.pack(cache) if cache.height else None, "people": people})
    return [runner.submit(enrich_shard, p) for p in params], params, plan


# The reject of an article whose enrichment killed its worker process (`enrich_alone`).
CRASHED_ARTICLE = "enrichment (NER, quotes, sentiment) killed its worker process (a crash or out of memory): article set aside"


def enrich_alone(runner, shards: list[dict]) -> tuple[list[dict[str, bytes]], list[Reject]]:
    """Shards whose worker died under them past their retries, run again one at a time and
    halved down to the article that kills its worker (`fanout.run_alone`), which becomes a
    reject. -> the results of the parts that came back, the rejects."""
    frames = [(process.unpack(p["articles_ipc"]), process.unpack(p["paragraphs_ipc"])) for p in shards]
    shard_of = {aid: k for k, (a, _) in enumerate(frames) for aid in a["article_id"].to_list()}

    def params_of(part: list[str]) -> dict:  # a part never mixes shards: it is a shard or a half of one
        k = shard_of[part[0]]
        keep = pl.col("article_id").is_in(pl.Series(part, dtype=pl.String).implode())
        a, p = (df.filter(keep) for df in frames[k])
        return {**shards[k], "articles_ipc": process.pack(a), "paragraphs_ipc": process.pack(p)}

    def split(part: list[str], result: dict) -> list:  # one result for the part: its first article holds it
        return [(part[0], result)] + [(aid, None) for aid in part[1:]]

    alone = fanout.run_alone(runner, enrich_shard, [a["article_id"].to_list() for a, _ in frames], params_of,
                             CRASHED_ARTICLE, split)
    crashed = pl.Series([aid for aid, r in alone.items() if r == CRASHED_ARTICLE], dtype=pl.String)
    rejects = [r for a, _ in frames for r in crashed_rejects(a.filter(pl.col("article_id").is_in(crashed.implode())))]
    return [r for r in alone.values() if isinstance(r, dict)], rejects


def crashed_rejects(articles: pl.DataFrame, copies: bool = False) -> list[Reject]:
    """A reject for each of these articles, whose enrichment killed its worker (or, with
    `copies`, whose text is that of one that did)."""
    out = []
    for source, ref in articles.select("source", "input_ref").iter_rows():
        get_run_logger().warning("article %s %s its enrichment worker process: rejected", ref,
                                 "has the text of an article that killed" if copies else "killed")
        out.append(Reject(source, ref, CRASHED_ARTICLE))
    return out


def gather_shards(runner, writer: Writer, futures: list, params: list[dict], copies: process.CopyMemo | None,
                  plan: process.CopyPlan | None) -> tuple[dict[str, pl.DataFrame], list[Reject]]:
    """Every shard's rows, per table, and the copies', and the rejects of articles that
    killed their worker (`enrich_alone`). Any other failed shard fails the batch: nothing
    of it lands."""
    parts: dict[str, list[pl.DataFrame]] = {}
    results, died = fanout.shard_results(runner, enrich_shard, futures, params)
    rejects: list[Reject] = []
    if died:
        alone, rejects = enrich_alone(runner, [params[i] for i in died])
        results = [r for r in results if r is not None] + alone
    for result in results:
        if process.MODEL_ERROR in result:
            raise process.ModelUnusable(result[process.MODEL_ERROR].decode())
        for name, data in result.items():
            parts.setdefault(name, []).append(process.unpack(data))
    for fresh in parts.pop("_ner_cache", []):
        writer.remember_ner(fresh)
    out = {t: schema.empty(t) for t in ("articles",) + schema.ARTICLE_CHILD_TABLES}
    out.update({name: pl.concat(dfs, how="vertical_relaxed") for name, dfs in parts.items()})
    if copies is not None and plan is not None:
        copies.remember(out, plan)
        for name, df in copies.fill(plan).items():
            out[name] = pl.concat([out[name], df], how="vertical_relaxed")
        rejects += crashed_rejects(copies.set_aside(plan), copies=True)
    return out, rejects


# Retried: staging a batch again is safe (the later staging of an article wins, rejects are upserts).
@task(name="land-batch", cache_policy=NO_CACHE, retries=2, retry_delay_seconds=[1, 5])
def land_batch(writer: Writer, frames, rejects: list[Reject], run_id: str,
               whole_file_refs: list[str]) -> dict[str, int]:
    return writer.land(frames, rejects, run_id, whole_file_refs)


@task(name="link-entities", cache_policy=NO_CACHE)
def link_entities(writer: Writer) -> None:
    """Bare surnames join the one known full name of their source and time window (and
    acronyms, short forms and teams their one known entity: process.link_known), once
    every batch of the run is staged: each batch against the warehouse's entities and
    those of all the run's batches of its window (itself among them, as one set), so where
    batches split changes no link."""
    for batch, frames in writer.staged_batches():
        known = writer.known_entities(frames["articles"], process.LINK_WINDOW_DAYS)
        writer.stage_linked(batch, process.link_known(frames, known, own=False))


@task(name="write-run-files", cache_policy=NO_CACHE)
def write_run_files(writer: Writer, run_id: str) -> None:
    writer.write_files(run_id)


@task(name="update-duplicates", cache_policy=NO_CACHE)
def update_duplicates(writer: Writer) -> None:
    writer.update_duplicates()


@task(name="update-entities", cache_policy=NO_CACHE)
def update_entities(writer: Writer) -> None:
    writer.update_entities()


@task(name="compact", cache_policy=NO_CACHE)
def compact(writer: Writer) -> None:
    writer.compact()


@task(name="commit", cache_policy=NO_CACHE)
def commit(writer: Writer, run_row: dict) -> dict[str, int]:
    """The catalog swap (see newsetl/warehouse.py): a failure before it lands nothing, a
    crash after its journal is finished by the next run. Totals per table."""
    return writer.commit(run_row)


def publish(writer: Writer, run_row: dict) -> dict[str, int]:
    """The end of a run, step by step: cross-article links, its files, duplicate
    clusters, entities, compaction and evidence, then the commit."""
    w = quote(writer)
    link_entities(w)
    write_run_files(w, run_row["run_id"])
    update_duplicates(w)
    update_entities(w)
    compact(w)
    return commit(w, run_row)


@flow(name="newsetl-run", log_prints=False, validate_parameters=False)
def run_flow(sources: list[str], warehouse: str | None = None, force: bool = False,
             wait_seconds: float = 0.0, settings: Settings | None = None,
             late_after_seconds: float | None = None) -> RunSummary:
    """`late_after_seconds` (a scheduled deployment's): a run that starts more than this
    after its scheduled time ends at once, before it touches anything, in a Completed state
    named "Skipped"."""
    if late_after_seconds is not None:
        late = _late_start(late_after_seconds)
        if late is not None:
            return late
    settings = settings or Settings.from_env(warehouse=warehouse)
    try:
        from prefect.runtime import flow_run

        run_id = str(flow_run.id or uuid.uuid4())
    except Exception:
        run_id = str(uuid.uuid4())
    summary = RunSummary(run_id=run_id)
    freeze_startup_objects()  # per-batch collections then walk only this run's objects
    started_at, t0 = process.now_utc(), time.monotonic()
    show = settings.progress if settings.progress is not None else sys.stderr.isatty()
    progress = Progress(show, estimate_articles(sources) if show else None)
    unusable = None
    with interrupts_as_such(), _writer_lock_said(settings, wait_seconds), \
            Fetcher(settings, conditional=not force) as fetcher, pagecrash.CrashJournal(settings.state_dir) as journal:
        writer = Writer(settings)
        try:
            in_flight: list = []
            with fanout.shard_runner(settings) as runner:
                n_workers = fanout.n_workers(runner, settings)
                n_shards = n_workers * fanout.SHARDS_PER_WORKER
                copies = process.CopyMemo() if settings.enrich_cache else None
                stream = run_batches(iter_sources(sources, settings, fetcher), settings.batch_size,
                                     settings.batch_chars or None)
                while True:
                    with summary.timed("read"):
                        nxt = next(stream, None)
                    ended = nxt is None
                    if not ended:
                        docs, rejects = nxt
                        with summary.timed("prepare"):  # pages extracted before, into articles still landed so
                            docs, page_keys, same = process.drop_unchanged_pages(docs, writer.pages_seen,
                                                                                 writer.known_for, force)
                        chunks = process.extraction_chunks(docs, settings.extract_chunk_chars)
                        extracted = None
                        if n_workers > 1 and len(chunks) > 1:  # else the pages are extracted here
                            with summary.timed("extract (wait)"):
                                extracted = extract_on_workers(runner, docs, chunks, n_workers + 1)
                        with summary.timed("prepare"):
                            extracted = pagecrash.extract_here(journal, docs, page_keys, extracted,
                                                               process.extract_page)
                            prep = prepare_batch(quote(docs), quote(writer), force, quote(extracted), quote(page_keys))
                        prep.unchanged += same
                        count_prepared(summary, prep, rejects)
                        futures, params, plan = submit_shards(runner, writer, prep, n_shards, settings.model_paths,
                                                              copies)
                        summary.copied += plan.copies.height if plan else 0
                        in_flight.append((futures, params, plan, prep, rejects + prep.rejects, len(docs)))
                        # The batch's raw documents (HTML pages: ~180 KB each) and extractions are
                        # done with: let them go before the next batch is read, not after (peak
                        # RSS of the bench's 968 web pages: 1.87-1.90 GB with this, 1.97-1.98 GB
                        # without; the largest process 580-591 MB against 679-690 MB).
                        nxt = docs = extracted = None
                    # Keep one batch enriching while the next is read and prepared.
                    while in_flight and (ended or len(in_flight) > 1):
                        futures, params, plan, prep, rej, n_docs = in_flight.pop(0)
                        with summary.timed("enrich (wait)"):
                            frames, crashed = gather_shards(runner, writer, futures, params, copies, plan)
                        rej = rej + crashed
                        count_rejects(summary, crashed)
                        summary.enrich_rejects += len(crashed)
                        with summary.timed("land"):
                            land_batch(quote(writer), quote(frames), quote(rej), run_id,
                                       quote(prep.whole_file_refs))
                        del frames
                        release_free_memory()  # the batch's frames and results are gone now
                        progress.update(n_docs)
                    if ended:
                        break
            # Pages that answered 304 are unchanged articles too, though no batch saw them.
            summary.articles_seen += fetcher.stats["not_modified"]
            summary.articles_unchanged += fetcher.stats["not_modified"]
            # Feed items whose page an earlier item of this run had asked for: repeats.
            summary.articles_seen += fetcher.stats["repeated_links"]
            summary.duplicates_in_batch += fetcher.stats["repeated_links"]
            landed_any = bool(writer.latest_batch) or summary.articles_unchanged > 0
            summary.status = "completed" if landed_any or summary.rejects == 0 else "failed"
            if not landed_any and summary.rejects:
                summary.message = "nothing could land: every input was rejected"
            summary.seconds = time.monotonic() - t0
            with summary.timed("publish"):
                summary.totals = publish(writer, {
                    "run_id": summary.run_id, "started_at": started_at, "finished_at": process.now_utc(),
                    "status": summary.status, "sources": list(sources), "articles": summary.articles_seen,
                    "articles_new": summary.articles_new, "articles_changed": summary.articles_changed,
                    "articles_unchanged": summary.articles_unchanged, "seconds": summary.seconds,
                    "pipeline_version": PIPELINE_VERSION, "message": summary.message,
                })
            # What really landed: each article once, whatever batch (or batches) it came in.
            summary.landed.update({t: writer.landed.get(t, 0) for t in summary.landed})
            prepared = summary.articles_new + summary.articles_changed
            summary.articles_new, summary.articles_changed = writer.new_count, writer.changed_count
            # An input that repeats one of an earlier batch of this run landed once: a repeat too.
            summary.duplicates_in_batch += max(0, prepared - summary.enrich_rejects
                                               - writer.new_count - writer.changed_count)
            fetcher.commit_validators()  # only now may a later run get 304 for these pages
        except process.ModelUnusable as exc:
            writer.abort()
            unusable = exc
        except BaseException:
            writer.abort()
            raise
    summary.seconds = time.monotonic() - t0
    progress.close()
    if unusable is not None:
        # A Failed state, not the exception: Prefect logs a flow's exception with its
        # traceback; a state is one line, and the caller (`newsetl run`) prints the message.
        from prefect.states import Failed

        return Failed(message=f"{unusable}; nothing landed")
    _publish_artifact(summary, settings)
    _say_when_scheduled(summary)
    return summary


def _late_start(late_after_seconds: float):
    """A Completed state named "Skipped" for this flow run when it starts more than
    `late_after_seconds` after its scheduled time, else None. `newsetl schedule`'s sweeper
    cancels such runs while they wait, but the runner may pick one up first (the machine
    woke from sleep: both see it at once); deciding here, in the run, leaves no race.
    Not Cancelled: a flow that returns a Cancelled state makes Prefect's engine log an
    error with a traceback for a run that did what it should."""
    from prefect.context import FlowRunContext
    from prefect.states import Completed

    ctx = FlowRunContext.get()
    due = ctx.flow_run.expected_start_time if ctx and ctx.flow_run else None
    if due is None:
        return None
    late = (datetime.now(timezone.utc) - due).total_seconds()
    if late <= late_after_seconds:
        return None
    msg = (f"skipped: started {late:.0f} s after its scheduled time {due.isoformat()} "
           f"(late_after_seconds = {late_after_seconds:g})")
    name = _deployment_name()
    if name:
        print(f"newsetl schedule: {name}: {msg}", flush=True)
    return Completed(name="Skipped", message=msg)


def _deployment_name() -> str | None:
    try:
        from prefect.runtime import deployment

        return deployment.name
    except Exception:  # no Prefect runtime context: not a deployment's run
        return None


@contextmanager
def _writer_lock_said(settings: Settings, wait_seconds: float):
    """writer_lock; a served deployment's run that cannot get it says so in one line on the
    `newsetl schedule` console (else only Prefect's traceback on stderr told)."""
    with ExitStack() as stack:
        try:
            stack.enter_context(writer_lock(settings, wait_seconds))
        except WarehouseBusy as exc:
            name = _deployment_name()
            if name:
                print(f"newsetl schedule: {name}: not run: {exc}", flush=True)
            raise
        yield


def _say_when_scheduled(summary: RunSummary) -> None:
    """A served deployment's run prints one line to the `newsetl schedule` console (which
    showed nothing of its runs); `newsetl run` prints the whole summary itself."""
    name = _deployment_name()
    if name:
        print(f"newsetl schedule: {name}: {summary.status}, {summary.articles_new} new, "
              f"{summary.articles_changed} changed, {summary.articles_unchanged} unchanged, "
              f"{summary.rejects} rejected; {summary.seconds:.1f} s (run {summary.run_id})", flush=True)
        if summary.status != "completed":  # so Prefect shows the run Failed, as `runs` does
            raise NothingLanded(f"{name}: {summary.message or summary.status}")


class NothingLanded(RuntimeError):
    """A served deployment's run that landed nothing (every input rejected)."""


def _publish_artifact(summary: RunSummary, settings: Settings) -> None:
    try:
        from prefect.artifacts import create_markdown_artifact

        create_markdown_artifact(markdown=summary.markdown(settings), key="newsetl-run-summary",
                                 description="Counts per table, rejects and timings of this run")
    except Exception as exc:  # the artifact is a courtesy; the data has landed
        get_run_logger().warning("could not publish the run summary artifact: %s", exc)
