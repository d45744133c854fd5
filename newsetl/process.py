"""Composes the pure transforms into the two steps the flow runs per batch:

- `prepare`: RawDocs -> article and paragraph frames with stable ids, content hashes,
  language and paragraph kinds (main process: cheap, and needs the batch as a whole),
  after HTML extraction, the costly per-page part, which the workers may have done
  (`extraction_chunks`, `extract_packed`);
- `enrich`: one shard of articles -> every table's rows (worker processes: spaCy NER,
  sentiment, entities, quotes).

No I/O here: the flow's tasks read and land; this module only computes.
"""

from __future__ import annotations

import hashlib
import io
import json
import pickle
from dataclasses import dataclass, field
from datetime import datetime, timezone

import polars as pl

from newsetl import schema
from newsetl.records import RawDoc, Reject
from newsetl.settings import PIPELINE_VERSION, model_setting

# Fewer letters than this in a whole article and it is not an article.
MIN_ARTICLE_CHARS = 20
CONSENT_WALL_REASON = ("the page shows only a cookie or consent notice, no article text (a consent wall: "
                       "fetch it with consent given, or from another source)")
# Body text that language identification reads: its cost grows with length, and 800
# characters already give a stable guess on news prose (checked on the sample and BBC).
LANGID_SAMPLE_CHARS = 800


@dataclass
class Prepared:
    articles: pl.DataFrame  # one row per article to (re)process
    paragraphs: pl.DataFrame  # with kind / kind_reason
    rejects: list[Reject] = field(default_factory=list)
    unchanged: int = 0
    changed_ids: list[str] = field(default_factory=list)
    new_ids: list[str] = field(default_factory=list)
    duplicates_in_batch: int = 0  # inputs repeating another of this batch, or one an earlier batch of the run landed
    reprocessed: int = 0  # of changed_ids: same text and pipeline version, re-enriched by force
    # input_refs of whole-file articles without a URL: what they replace (see warehouse.land)
    whole_file_refs: list[str] = field(default_factory=list)
    # (key, article_id, content_hash) of the HTML documents extracted (`page_key`)
    pages: pl.DataFrame = field(default_factory=lambda: pl.DataFrame(schema=PAGES_SEEN_SCHEMA))


def _sha(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8", "surrogatepass")).hexdigest()


def article_id_for(url: str | None, content_hash: str, source: str | None = None) -> str:
    """Stable id: the canonical URL when known, else the content hash. A URL with no host
    ("12345" in a JSONL export, "/news/story.html" in a local feed) names an article only
    within its source: two sources' "12345" are two articles, so its id takes the source."""
    if url:
        from newsetl.urls import canonicalize_url, has_host

        canon = canonicalize_url(url)
        if source is not None and not has_host(canon):
            return "u" + _sha(source + "\x1f" + canon)[:20]
        return "u" + _sha(canon)[:20]
    return "h" + content_hash[:20]


def detect_languages(texts: list[str]) -> list[str | None]:
    """py3langid on the start of each body (one model per process, shared with
    html_meta); None for texts too short to tell, which enrichment treats as English."""
    from newsetl.transforms.html_meta import detect_language

    return [detect_language(t[:LANGID_SAMPLE_CHARS])[0] for t in texts]


def needs_extraction(doc: RawDoc) -> bool:
    """Whether `prepare` extracts this document's text from its HTML."""
    return doc.html is not None and doc.text is None


def extract_page(html: str, url: str | None):
    """One HTML page's text and metadata (transforms.html_extract.Extracted), or the
    reason it could not be parsed (a str): what `_doc_rows` uses, wherever it ran."""
    try:
        from newsetl.transforms.html_extract import extract_html

        return extract_html(html, url)
    except Exception as exc:  # extraction must never sink a batch
        return f"HTML could not be parsed ({exc.__class__.__name__})"


# What `prepare` remembers of each HTML document it extracted: its page key and the
# article the extraction gave (stored by the warehouse, `Writer.pages_seen`).
PAGES_SEEN_SCHEMA = {"key": pl.Int64, "article_id": pl.String, "content_hash": pl.String}


def page_key(doc: RawDoc) -> int:
    """Stable 63-bit key of what `prepare` reads of an HTML document (its HTML, URLs and
    title) under this pipeline version: the same key, the same article and content hash."""
    h = hashlib.blake2b(digest_size=8)
    for part in (PIPELINE_VERSION, doc.url or "", doc.canonical_url or "", doc.title or "", doc.html):
        h.update(part.encode("utf-8", "surrogatepass"))
        h.update(b"\x1f")
    return int.from_bytes(h.digest(), "little") >> 1


def drop_unchanged_pages(docs: list[RawDoc], seen, known,
                         force: bool = False) -> tuple[list[RawDoc], list[int | None], int]:
    """The documents left to prepare, their page keys (None: no HTML to extract), and how
    many were dropped: HTML documents that this pipeline version extracted before into an
    article still landed as that extraction gave it. `prepare` would extract them only to
    find them unchanged; a re-run of pages (a WARC or HTML folder read again, a server
    without validators) costs hashing them instead. seen: page keys -> {key:
    (article_id, content_hash)}; known: as in `prepare`."""
    keys = [page_key(d) if needs_extraction(d) else None for d in docs]
    hits = {} if force or not any(k is not None for k in keys) else seen([k for k in keys if k is not None])
    if not hits:
        return docs, keys, 0
    landed = known(sorted({aid for aid, _ in hits.values()}))
    keep = [i for i, k in enumerate(keys)
            if k not in hits or tuple(landed.get(hits[k][0], ())[:2]) != (hits[k][1], PIPELINE_VERSION)]
    return [docs[i] for i in keep], [keys[i] for i in keep], len(docs) - len(keep)


def extraction_chunks(docs: list[RawDoc], chunk_chars: int) -> list[list[int]]:
    """The indices of the documents to extract, in chunks of about `chunk_chars`
    characters of HTML (extraction's cost follows the length), balanced: the chunks
    the flow hands to its workers. One chunk (or none) means the batch is extracted
    where it is prepared."""
    todo = [i for i, d in enumerate(docs) if needs_extraction(d)]
    size = {i: min(len(docs[i].html), _max_html_chars()) for i in todo}
    n = max(1, min(len(todo), -(-sum(size.values()) // max(1, chunk_chars))))
    loads, chunks = [0] * n, [[] for _ in range(n)]
    for i in sorted(todo, key=lambda i: -size[i]):
        k = loads.index(min(loads))
        chunks[k].append(i)
        loads[k] += size[i]
    return [sorted(c) for c in chunks if c]


def _max_html_chars() -> int:
    from newsetl.transforms.html_extract import MAX_HTML_CHARS

    return MAX_HTML_CHARS


def pack_pages(docs: list[RawDoc], indices: list[int]) -> bytes:
    """The HTML (as far as extraction reads it) and URL of these documents, as bytes for a
    worker process or a Dask worker (pickled: a decoded page may hold lone surrogates,
    which Arrow strings cannot)."""
    cap = _max_html_chars()
    return pickle.dumps([(docs[i].html[:cap], docs[i].url) for i in indices], protocol=pickle.HIGHEST_PROTOCOL)


def extract_packed(pages: bytes) -> list:
    """`extract_page` over a chunk of `pack_pages`, in a worker."""
    return [extract_page(html, url) for html, url in pickle.loads(pages)]


def consent_walls(paragraphs: pl.DataFrame) -> list[str]:
    """Articles that are a cookie wall: a consent notice (boilerplate `consent_notice`) and
    not one paragraph of body text (a heading such as "We value your privacy" may stand
    with it). An article with body text beside a notice is an article, the notice
    boilerplate in it."""
    if paragraphs.height == 0:
        return []
    per = paragraphs.group_by("article_id").agg(
        (pl.col("kind_reason") == "consent_notice").any().alias("notice"),
        (pl.col("kind") == "body").any().alias("text"))
    return per.filter(pl.col("notice") & ~pl.col("text"))["article_id"].sort().to_list()


def all_boilerplate(paragraphs: pl.DataFrame) -> dict[str, str]:
    """Articles with no body or heading paragraph, whose text would be empty (a feed post
    that is an embedded tweet: its one line is the page's own title): article_id -> a
    reject reason naming what the paragraphs were."""
    if paragraphs.height == 0:
        return {}
    per = (paragraphs.group_by("article_id")
           .agg((pl.col("kind") != "boilerplate").any().alias("text"),
                pl.col("kind_reason").unique(maintain_order=True).alias("why"))
           .filter(~pl.col("text")))
    return {aid: "no article text: every paragraph is boilerplate (" + ", ".join(w for w in why if w) + ")"
            for aid, _, why in per.iter_rows()}


def _doc_rows(docs: list[RawDoc], extracted: dict[int, object] | None = None,
              page_keys: list[int | None] | None = None) -> tuple[list[dict], list[Reject]]:
    """Per-document work that is Python by nature: HTML extraction (unless `extracted`
    already holds a document's `extract_page` result, by its index) and metadata."""
    rows, rejects = [], []
    extracted = extracted or {}
    for i, d in enumerate(docs):
        row = {
            "doc_key": str(i),
            "page_key": page_keys[i] if page_keys is not None else None,
            "source": d.source,
            "input_ref": d.input_ref,
            # the URL the article was read from, as given; ids come from the canonical one
            "url": d.url or d.canonical_url,
            "canonical_url": d.canonical_url,
            "title": d.title,
            "published_at": d.published_at,
            "language": d.language,
            "authors": list(d.authors or []),
            "site_name": d.site_name,
            "fetched_at": d.fetched_at,
            "raw_meta": json.dumps(d.extra, default=str, ensure_ascii=False) if d.extra else None,
            "text": d.text,
            "blocks": None,
            "whole_file": d.whole_file,
        }
        if needs_extraction(d):
            if len(d.html) > _max_html_chars():  # extraction reads the start only: say so
                row["raw_meta"] = json.dumps({**(d.extra or {}), "html_truncated_at_chars": _max_html_chars(),
                                              "html_chars": len(d.html)}, default=str, ensure_ascii=False)
            ex = extracted[i] if i in extracted else extract_page(d.html, d.url)
            if isinstance(ex, str):
                rejects.append(Reject(d.source, d.input_ref, ex))
                continue
            if not ex.blocks:
                rejects.append(Reject(d.source, d.input_ref, "no article text found in the HTML"))
                continue
            row["blocks"] = [{"text": t, "tag": tag} for t, tag in ex.blocks]
            row["title"] = row["title"] or ex.title
            row["published_at"] = row["published_at"] or ex.published_at
            row["language"] = row["language"] or ex.language
            row["authors"] = row["authors"] or list(ex.authors or [])
            row["site_name"] = row["site_name"] or ex.site_name
            row["canonical_url"] = ex.canonical_url or row["canonical_url"]
        rows.append(row)
    return rows, rejects


_DOC_SCHEMA = {
    "doc_key": pl.String,
    "page_key": pl.Int64,
    "source": pl.String,
    "input_ref": pl.String,
    "url": pl.String,
    "canonical_url": pl.String,
    "title": pl.String,
    "published_at": pl.Datetime("us", "UTC"),
    "language": pl.String,
    "authors": pl.List(pl.String),
    "site_name": pl.String,
    "fetched_at": pl.Datetime("us", "UTC"),
    "raw_meta": pl.String,
    "text": pl.String,
    "blocks": pl.List(pl.Struct({"text": pl.String, "tag": pl.String})),
    "whole_file": pl.Boolean,
}


def prepare(
    docs: list[RawDoc],
    known=None,
    evidence=None,
    force: bool = False,
    extracted: dict[int, object] | None = None,
    page_keys: list[int | None] | None = None,
) -> Prepared:
    """RawDocs -> frames ready to enrich.

    known: what is landed already, as a dict article_id -> (content_hash, pipeline_version
      [, source, landed by this run]) or a function of a list of article ids returning such a
      dict (the warehouse looks up just the batch's ids); unchanged articles are dropped
      here, and counted as repeats (`duplicates_in_batch`) when this run landed them.
    evidence: corpus evidence for boilerplate from outside this batch: None, a frame, or a
      function (batch_evidence, relanded_ids) -> counts of those same entries from
      everything landed before, without the current versions of `relanded_ids`.
    extracted: `extract_page` results already computed (by workers) for some of the
      docs, by their index in `docs`; the others are extracted here.
    page_keys: `page_key` of each doc (None for one without HTML to extract), aligned with
      `docs`: the extracted ones come back in `Prepared.pages`."""
    from newsetl.transforms.boilerplate import classify_paragraphs, corpus_evidence, merge_evidence
    from newsetl.transforms.text import normalize_text_expr, split_paragraphs

    rows, rejects = _doc_rows(docs, extracted, page_keys)
    if not rows:
        return Prepared(schema.empty("articles"), schema.empty("paragraphs"), rejects)
    docs_df = pl.DataFrame(rows, schema=_DOC_SCHEMA, strict=False)
    docs_df = docs_df.with_columns(normalize_text_expr("title").alias("title"))
    paras = split_paragraphs(docs_df.select(pl.col("doc_key").alias("article_id"), "text", "blocks"))
    paras = paras.rename({"article_id": "doc_key"})

    # Content hash over title + paragraphs: any edit to the article changes it.
    joined = (
        paras.group_by("doc_key", maintain_order=True)
        .agg(pl.col("text").str.join("\n"))
        .rename({"text": "body"})
    )
    docs_df = docs_df.join(joined, on="doc_key", how="left").with_columns(
        pl.col("body").fill_null("").str.count_matches(r"[\p{L}\p{N}]").alias("_alnum")
    )
    too_short = docs_df.filter(pl.col("_alnum") < MIN_ARTICLE_CHARS)
    rejects.extend(
        Reject(src, ref, "no article text (empty or too short after cleaning)")
        for src, ref in too_short.select("source", "input_ref").iter_rows()
    )
    docs_df = docs_df.filter(pl.col("_alnum") >= MIN_ARTICLE_CHARS).drop("_alnum")
    hashes = [_sha((t or "") + "\n\n" + b) for t, b in docs_df.select("title", "body").iter_rows()]
    from newsetl.urls import canonicalize_url, has_host

    canon = [c or (canonicalize_url(u) if u else None)
             for c, u in zip(docs_df["canonical_url"].to_list(), docs_df["url"].to_list())]
    sources = docs_df["source"].to_list()
    ids = [article_id_for(c, h, src) for c, h, src in zip(canon, hashes, sources)]
    # Before ids of host-less URLs took the source, they were the URL's alone: an article
    # landed so by this same source keeps that id (a re-run must not land it twice).
    legacy = {i: article_id_for(c, h) for i, c, h in zip(ids, canon, hashes) if c and not has_host(c)}
    docs_df = docs_df.with_columns(pl.Series("canonical_url", canon, dtype=pl.String))
    docs_df = docs_df.with_columns(pl.col("body").hash().alias("_body")).drop("body").with_columns(
        pl.Series("content_hash", hashes, dtype=pl.String),
        pl.Series("article_id", ids, dtype=pl.String),
        # Language is detected in `enrich` (worker processes) when the source gave none.
        pl.col("language").str.slice(0, 2).str.to_lowercase(),
    )
    pages = (docs_df.filter(pl.col("page_key").is_not_null())
             .select(pl.col("page_key").alias("key"), "article_id", "content_hash"))
    # The same article twice in one batch: keep the last occurrence (the newest copy). An
    # earlier one whose text differs is not lost without a trace: it becomes a reject (and
    # is counted there only). One with the same text under another title (a page listed by
    # two feeds) is a repeat.
    n_before = docs_df.height
    last = docs_df.with_row_index("_row").group_by("article_id").agg(pl.col("_row").max(), pl.col("_body").last())
    superseded = (docs_df.with_row_index("_row").join(last, on="article_id", suffix="_last")
                  .filter((pl.col("_row") != pl.col("_row_last")) & (pl.col("_body") != pl.col("_body_last"))))
    rejects.extend(
        Reject(src, ref, "another input later in this batch has the same URL and a different text; that one landed")
        for src, ref in superseded.select("source", "input_ref").iter_rows()
    )
    docs_df = docs_df.unique(subset="article_id", keep="last", maintain_order=True).drop("_body")
    dup_in_batch = n_before - docs_df.height - superseded.height

    unchanged = 0
    new_ids, changed_ids = [], []
    keep = []
    reprocessed = []  # of changed_ids: the same text and pipeline version, re-enriched by force
    if callable(known):
        known = known(docs_df["article_id"].to_list() + sorted(set(legacy.values())))
    known = known or {}
    if legacy:
        renamed = {}
        for aid, src in docs_df.select("article_id", "source").iter_rows():
            old = legacy.get(aid)
            if old is not None and aid not in known and len(known.get(old, ())) > 2 and known[old][2] == src:
                renamed[aid] = old
        if renamed:
            docs_df = docs_df.with_columns(pl.col("article_id").replace(renamed))
            pages = pages.with_columns(pl.col("article_id").replace(renamed))
    for aid, chash in docs_df.select("article_id", "content_hash").iter_rows():
        prev = known.get(aid)
        if prev is None:
            new_ids.append(aid)
            keep.append(aid)
        elif prev[0] != chash or prev[1] != PIPELINE_VERSION or force:
            changed_ids.append(aid)
            keep.append(aid)
            if prev[0] == chash and prev[1] == PIPELINE_VERSION:
                reprocessed.append(aid)
        elif len(prev) > 3 and prev[3]:  # landed by an earlier batch of this run: a repeat
            dup_in_batch += 1
        else:
            unchanged += 1
    docs_df = docs_df.filter(pl.col("article_id").is_in(keep))
    paras = (
        paras.join(docs_df.select("doc_key", "article_id"), on="doc_key", how="inner")
        .drop("doc_key")
        .select("article_id", "paragraph_index", "text", "tag")
    )
    arts = docs_df.select("article_id", "source", "title")
    batch_evidence = corpus_evidence(paras, arts)
    # Evidence from the rest of the corpus, without the articles landing now (no article
    # may count twice: its old version in the warehouse and its new one here).
    earlier = evidence(batch_evidence, changed_ids) if callable(evidence) else evidence
    if earlier is not None:
        batch_evidence = merge_evidence(earlier, batch_evidence)
    paras = classify_paragraphs(paras, arts, batch_evidence)
    walls = consent_walls(paras)
    empty = all_boilerplate(paras)
    if walls or empty:  # a cookie wall is no article: a reject, and what landed before stays
        reasons = {**empty, **dict.fromkeys(walls, CONSENT_WALL_REASON)}
        wall = pl.col("article_id").is_in(pl.Series(list(reasons), dtype=pl.String).implode())
        rejects.extend(Reject(src, ref, reasons[aid])
                       for aid, src, ref in docs_df.filter(wall).select("article_id", "source", "input_ref").iter_rows())
        docs_df, paras, pages = docs_df.filter(~wall), paras.filter(~wall), pages.filter(~wall)
        gone = set(reasons)
        reprocessed = [a for a in reprocessed if a not in gone]
        new_ids = [a for a in new_ids if a not in gone]
        changed_ids = [a for a in changed_ids if a not in gone]
    whole_refs = docs_df.filter(pl.col("whole_file") & pl.col("url").is_null())["input_ref"].to_list()
    articles = docs_df.drop("doc_key", "page_key", "text", "blocks", "whole_file").with_columns(
        pl.col("published_at").dt.date().alias("published_date"),
        pl.lit(PIPELINE_VERSION).alias("pipeline_version"),
    )
    return Prepared(articles, paras, rejects, unchanged, changed_ids, new_ids, dup_in_batch, len(reprocessed),
                    whole_refs, pages)


# A paragraph whose raw NER output is already known costs about 1/15 of one the model
# reads (sentence split, lexicon sentiment, memo lookups, the article-level steps): on BBC
# shards, ~3 ms against ~47 ms per article.
CACHED_COST = 1 / 15


def shard(prep: Prepared, n: int, min_words: int = 0,
          cached: pl.Series | None = None) -> list[tuple[pl.DataFrame, pl.DataFrame]]:
    """Split a prepared batch into at most n shards of whole articles, balanced by their
    cost: words, a paragraph whose hash is in `cached` (known NER output) counting
    CACHED_COST of its words. Each shard gets at least `min_words` of that cost when the
    batch has that much (a batch of cached copies goes in one shard)."""
    if prep.articles.height == 0:
        return []
    words = prep.paragraphs.select("article_id", pl.col("text").str.count_matches(r"\S+").cast(pl.Float64).alias("w"))
    if cached is not None and cached.len():
        hit = pl.Series(text_hashes(prep.paragraphs["text"].to_list()), dtype=pl.Int64).is_in(cached.implode())
        words = words.with_columns(pl.when(hit).then(pl.col("w") * CACHED_COST).otherwise(pl.col("w")))
    if min_words:
        n = min(n, max(1, int(words["w"].sum() // min_words)))
    n = max(1, min(n, prep.articles.height))
    sizes = words.group_by("article_id").agg(pl.col("w").sum().alias("cost"))
    order = prep.articles.select("article_id").join(sizes, on="article_id", how="left").sort("cost", descending=True, nulls_last=True)
    loads = [0.0] * n
    assign: dict[str, int] = {}
    for aid, cost in order.iter_rows():
        k = loads.index(min(loads))
        assign[aid] = k
        loads[k] += cost or 0.0
    key = pl.DataFrame({"article_id": list(assign), "shard": list(assign.values())}, schema={"article_id": pl.String, "shard": pl.Int64})
    a = prep.articles.join(key, on="article_id")
    p = prep.paragraphs.join(key, on="article_id")
    return [
        (a.filter(pl.col("shard") == k).drop("shard"), p.filter(pl.col("shard") == k).drop("shard"))
        for k in range(n)
        if loads[k] > 0 or a.filter(pl.col("shard") == k).height
    ]


ENRICH_KINDS = ("body", "heading")


def fill_languages(articles: pl.DataFrame, paragraphs: pl.DataFrame) -> pl.DataFrame:
    """Articles whose source gave no language get the one detected on their content."""
    missing = articles.filter(pl.col("language").is_null()).select("article_id").join(
        paragraphs.filter(pl.col("kind") != "boilerplate")
        .group_by("article_id", maintain_order=True).agg(pl.col("text").str.join("\n")),
        on="article_id", how="left",
    )
    if missing.height == 0:
        return articles
    guessed = dict(zip(missing["article_id"].to_list(), detect_languages(missing["text"].fill_null("").to_list())))
    return articles.with_columns(
        pl.col("language").fill_null(pl.col("article_id").replace_strict(guessed, default=None, return_dtype=pl.String))
    )


SPANS = pl.List(pl.Struct({"start": pl.Int32, "end": pl.Int32, "label": pl.String}))
# Target sentiment of the mentions in a paragraph, as the worker scored them (sentence,
# span within it, score, label): shipped within a run with the paragraph's spans, so a
# syndicated copy enriched on another worker costs lookups, not the model. Not stored.
TARGETS = pl.List(pl.Struct({"s": pl.String, "a": pl.Int32, "b": pl.Int32, "score": pl.Float64, "label": pl.String}))
NER_CACHE_SCHEMA = {"h": pl.Int64, "spans": SPANS, "targets": TARGETS}


def text_hashes(texts: list[str]) -> list[int]:
    """Stable 63-bit keys of paragraph texts (the NER cache's key; see `enrich`)."""
    return [int.from_bytes(hashlib.blake2b((t or "").encode("utf-8", "surrogatepass"), digest_size=8).digest(),
                           "little") >> 1 for t in texts]


def ner_texts(articles: pl.DataFrame, paragraphs: pl.DataFrame) -> pl.Series:
    """The paragraph texts `enrich` gives the NER model: body and heading paragraphs of
    articles that are (or may be) English."""
    maybe_en = articles.filter(pl.col("language").is_null() | (pl.col("language") == "en"))["article_id"]
    return paragraphs.filter(pl.col("kind").is_in(ENRICH_KINDS) & pl.col("article_id").is_in(maybe_en.to_list()))["text"]


def enrich(articles: pl.DataFrame, paragraphs: pl.DataFrame, models: tuple[str, str],
           ner_cache: pl.DataFrame | None = None, people: tuple[str, ...] = ()) -> dict[str, pl.DataFrame]:
    """One shard of whole articles -> rows for every article-owned table. `models`: the
    NER pipeline and the target-sentiment model (`Settings.model_paths`). `people`: surnames
    of people known before ("Trump" of a known "Donald Trump"), tagged as persons where they
    stand alone and the model found nothing (transforms.ner._surnames).

    ner_cache: raw NER output of paragraph texts enriched before (h = text_hashes, spans),
    for this model and pipeline version. The model runs only on the other texts; what it
    computed comes back as the extra table "_ner_cache". A paragraph's rows are the same
    either way: the model reads each paragraph alone, and everything that looks across
    paragraphs (label consistency, entities, quotes, sentiment) runs again per article."""
    from newsetl.transforms import sentiment as S
    from newsetl.transforms.boilerplate import wire_credit
    from newsetl.transforms.entities import APOSTROPHE_PATTERN, resolve_mentions
    from newsetl.transforms.ner import recognize_articles
    from newsetl.transforms.quotes import extract_quotes
    from newsetl.transforms.sentences import split_sentences

    articles = fill_languages(articles, paragraphs)
    english = set(
        articles.filter(pl.col("language").is_null() | (pl.col("language") == "en"))["article_id"].to_list()
    )
    content = paragraphs.filter(pl.col("kind").is_in(ENRICH_KINDS))
    sentences = split_sentences(paragraphs.select("article_id", "paragraph_index", "text"))
    sentences = sentences.join(paragraphs.select("article_id", "paragraph_index", "kind"), on=["article_id", "paragraph_index"])
    is_en = pl.col("article_id").is_in(list(english))

    # Sentence sentiment (VADER compound), English content sentences only.
    scored = sentences.filter(is_en & pl.col("kind").is_in(ENRICH_KINDS))
    sent_scores = pl.Series("sentiment", S.sentence_scores(scored["text"].to_list()), dtype=pl.Float64)
    sentences = sentences.join(
        scored.select("article_id", "paragraph_index", "sentence_index").with_columns(sent_scores),
        on=["article_id", "paragraph_index", "sentence_index"],
        how="left",
    )

    # NER, one document per article so document-level consistency can work.
    ner_in = (
        content.filter(is_en)
        .sort("article_id", "paragraph_index")
        .group_by("article_id", maintain_order=True)
        .agg("paragraph_index", "text")
    )
    ner_model, tsc_model = models
    known: dict[str, list] = {}
    if ner_cache is not None and "targets" in ner_cache.columns:
        _seed_target_memo(ner_cache, tsc_model)
    if ner_cache is not None and ner_cache.height and ner_in.height:
        texts = list(dict.fromkeys(t for paras in ner_in["text"].to_list() for t in paras))
        by_h = dict(zip(ner_cache["h"].to_list(), ner_cache["spans"].to_list()))
        for t, h in zip(texts, text_hashes(texts)):
            if h in by_h:
                known[t] = [(sp["start"], sp["end"], sp["label"]) for sp in by_h[h]]
    cached = set(known)
    found = (recognize_articles(ner_in["text"].to_list(), model=ner_model, known=known, people=frozenset(people))
             if ner_in.height else [])
    fresh = [t for t in known if t not in cached]
    new_cache = pl.DataFrame(
        {"h": text_hashes(fresh),
         "spans": [[{"start": a, "end": b, "label": lab} for a, b, lab in known[t]] for t in fresh]},
        schema={k: NER_CACHE_SCHEMA[k] for k in ("h", "spans")})
    m_rows = {"article_id": [], "paragraph_index": [], "start_char": [], "end_char": [], "label": [], "text": []}
    for aid, pidx, ptexts, per_para in zip(ner_in["article_id"], ner_in["paragraph_index"], ner_in["text"], found):
        for pi, ptext, spans in zip(pidx, ptexts, per_para):
            credit = wire_credit(ptext) if spans else None
            for start, end, label in spans:
                if credit is not None and credit[0] <= start and end <= credit[1]:
                    continue  # the agency of a wire dateline ("NEW YORK (Reuters) - "): no mention
                m_rows["article_id"].append(aid)
                m_rows["paragraph_index"].append(pi)
                m_rows["start_char"].append(start)
                m_rows["end_char"].append(end)
                m_rows["label"].append(label)
                # sliced here, not by str.slice on the joined paragraph: that counts characters
                # from the paragraph's start for every mention (a paragraph of megabytes stalls)
                m_rows["text"].append(ptext[start:end])
    mentions = pl.DataFrame(
        m_rows,
        schema={"article_id": pl.String, "paragraph_index": pl.Int32, "start_char": pl.Int32,
                "end_char": pl.Int32, "label": pl.String, "text": pl.String},
    ).sort("article_id", "paragraph_index", "start_char")
    # Which sentence holds each mention: the last sentence starting at or before it.
    sent_keys = sentences.select(
        "article_id", "paragraph_index", "sentence_index",
        pl.col("start_char").alias("s_start"), pl.col("text").alias("s_text"),
    ).sort("article_id", "paragraph_index", "s_start")
    mentions = mentions.join_asof(
        sent_keys, left_on="start_char", right_on="s_start", by=["article_id", "paragraph_index"], strategy="backward",
        check_sortedness=False,
    )
    # Whether each article has an apostrophe anywhere (rule 1c reads "Texacos" as a lost
    # "Texaco's" only in text that has none).
    apostrophes = content.group_by("article_id").agg(
        pl.col("text").str.contains(APOSTROPHE_PATTERN).any().alias("article_apostrophes"))
    mentions = resolve_mentions(mentions.drop("s_start", "s_text").join(
        sent_keys.select("article_id", "paragraph_index", "sentence_index", "s_start", "s_text"),
        on=["article_id", "paragraph_index", "sentence_index"], how="left")
        .join(apostrophes, on="article_id", how="left", maintain_order="left")).drop("article_apostrophes")
    rel = mentions.select(
        (pl.col("start_char") - pl.col("s_start")).alias("a"), (pl.col("end_char") - pl.col("s_start")).alias("b")
    )
    tscores = _target_scores_memo(mentions["s_text"].to_list(), rel["a"].to_list(), rel["b"].to_list(), tsc_model)
    mentions = mentions.with_columns(
        pl.Series("sentiment", [s for s, _ in tscores], dtype=pl.Float64),
        pl.Series("sentiment_label", [lab for _, lab in tscores], dtype=pl.String),
    )
    new_cache = new_cache.join(_paragraph_targets(mentions, rel, content, fresh), on="h", how="left")
    mentions = mentions.drop("s_start", "s_text")

    quotes = extract_quotes(paragraphs, mentions)

    paragraphs = paragraphs.join(S.paragraph_sentiment(sentences), on=["article_id", "paragraph_index"],
                                 how="left").sort(
        "article_id", "paragraph_index"
    )
    body = (
        paragraphs.filter(pl.col("kind").is_in(ENRICH_KINDS))
        .group_by("article_id", maintain_order=True)
        .agg(pl.col("text").str.join("\n\n").alias("text"))
    )
    art_sent = S.article_sentiment(sentences, paragraphs)
    tone = S.tone_counts(body["text"].to_list())
    tone_df = pl.DataFrame(
        {
            "article_id": body["article_id"],
            "text": body["text"],
            "word_count": [t[0] for t in tone],
            "_pos": [t[1] for t in tone],
            "_neg": [t[2] for t in tone],
        },
        schema={"article_id": pl.String, "text": pl.String, "word_count": pl.Int64, "_pos": pl.Int64, "_neg": pl.Int64},
    )
    tone_df = tone_df.with_columns(S.tone_exprs("word_count", "_pos", "_neg")).drop("_pos", "_neg")
    non_en = ~is_en
    articles = (
        articles.join(tone_df, on="article_id", how="left")
        .join(art_sent, on="article_id", how="left")
        .with_columns([pl.when(non_en).then(None).otherwise(pl.col(c)).alias(c)
                       for c in ("tone", "positive", "negative", "polarity")])
        .with_columns(pl.col("text").fill_null(""), pl.col("word_count").fill_null(0))
    )
    dates = articles.select("article_id", "published_date")
    return {
        "articles": schema.conform(articles, "articles"),
        "paragraphs": schema.conform(paragraphs.join(dates, on="article_id", how="left"), "paragraphs"),
        "sentences": schema.conform(sentences.join(dates, on="article_id", how="left"), "sentences"),
        "entity_mentions": schema.conform(mentions.join(dates, on="article_id", how="left"), "entity_mentions"),
        "quotes": schema.conform(quotes.join(dates, on="article_id", how="left"), "quotes"),
        "_ner_cache": new_cache,
    }


# Per process (each enrichment worker): target sentiment of (sentence, span) pairs already
# scored, so a syndicated copy's mentions cost a lookup (target_scores scores each pair on
# its own, so a remembered result is the one it would compute). Bounded: cleared when full.
_TSC_MEMO: dict[str, dict[tuple[str, int, int], tuple[float, str]]] = {}
TSC_MEMO_MAX = 500_000


def _seed_target_memo(cache: pl.DataFrame, model_path: str) -> None:
    """Target scores other workers computed for these paragraphs (ner_cache "targets")."""
    rows = cache.select(pl.col("targets").drop_nulls().explode()).drop_nulls().unnest("targets")
    if rows.height == 0:
        return
    memo = _TSC_MEMO.setdefault(str(model_path), {})
    if len(memo) + rows.height > TSC_MEMO_MAX:
        memo.clear()
    memo.update(zip(zip(rows["s"].to_list(), rows["a"].to_list(), rows["b"].to_list()),
                    zip(rows["score"].to_list(), rows["label"].to_list())))


def _paragraph_targets(mentions: pl.DataFrame, rel: pl.DataFrame, content: pl.DataFrame,
                       fresh: list[str]) -> pl.DataFrame:
    """(h, targets) for the paragraphs whose NER ran here: what `_seed_target_memo` reads."""
    if not fresh:
        return pl.DataFrame(schema={"h": pl.Int64, "targets": TARGETS})
    h_of = dict(zip(fresh, text_hashes(fresh)))
    # each paragraph's hash found once, then joined by key: a mention row carrying its
    # paragraph's text to be looked up cost a paragraph of megabytes once per mention
    keys = (content.filter(pl.col("text").is_in(pl.Series(fresh, dtype=pl.String).implode()))
            .select("article_id", "paragraph_index", pl.col("text").replace_strict(h_of, return_dtype=pl.Int64).alias("h")))
    m = (mentions.select("article_id", "paragraph_index", pl.col("s_text").alias("s"), "sentiment", "sentiment_label")
         .with_columns(rel["a"].cast(pl.Int32), rel["b"].cast(pl.Int32))
         .filter(pl.col("s").is_not_null())
         .join(keys, on=["article_id", "paragraph_index"], how="inner"))
    return (m.unique(["h", "s", "a", "b"])
            .group_by("h")
            .agg(pl.struct(pl.col("s"), pl.col("a"), pl.col("b"), pl.col("sentiment").alias("score"),
                           pl.col("sentiment_label").alias("label")).alias("targets"))
            .cast({"targets": TARGETS}))


# Sentence text scored toward its targets in one call (`_target_scores_memo`): the whole
# BBC corpus holds about 7 million characters of it (58,617 distinct targets, sentences of
# 118 characters on average), so a shard of it is one call, as before; a paragraph-less
# dump of 2 MB held 29 million (14,560 targets in capped sentences), whose features took
# 1.2 GB at once.
TSC_PART_CHARS = 4_000_000


def _target_scores_memo(sentences: list[str], starts: list[int], ends: list[int], model_path: str):
    from newsetl.transforms import sentiment as S

    memo = _TSC_MEMO.setdefault(str(model_path), {})
    keys = list(zip(sentences, starts, ends))
    miss = [k for k in dict.fromkeys(keys) if k not in memo]
    if len(memo) + len(miss) > TSC_MEMO_MAX:
        memo.clear()
    start = 0
    while start < len(miss):  # in parts of at most TSC_PART_CHARS of sentence text
        end, size = start, 0
        while end < len(miss) and (end == start or size + len(miss[end][0]) <= TSC_PART_CHARS):
            size += len(miss[end][0])
            end += 1
        part = miss[start:end]
        memo.update(zip(part, S.target_scores([k[0] for k in part], [(k[1], k[2]) for k in part],
                                              S.load_target_model(model_path))))
        start = end
    return [memo[k] for k in keys]


@dataclass
class CopyPlan:
    """One batch as `CopyMemo.plan` split it."""
    todo: Prepared  # the articles the workers enrich
    work_keys: pl.DataFrame  # their (article_id, _key)
    copies: pl.DataFrame  # (article_id, _key) of the copies: rows from the memo at `fill`
    given: pl.DataFrame  # the batch's articles as prepared (the copies' ids, URLs, dates)


class CopyMemo:
    """Rows of the articles enriched in this run, by everything `enrich` reads of an
    article (its language as given and its paragraphs: index, text, tag, kind), so a copy
    of one of them (syndication: the same text under another URL) gets those rows under
    its own id and date without going to a worker. `enrich` reads nothing else of an
    article, so the rows are the ones enriching the copy would give (a test compares).
    Lives in the main process for one run; bounded by `max_bytes` (oldest batches go
    first, never one a batch in flight still needs). A text whose enrichment killed its
    worker (no rows came back for it) is remembered too: its copies get no rows, they are
    set aside (`set_aside`), and none goes to a worker to kill it again."""

    def __init__(self, max_bytes: int = 64 * 2**20):
        self.max_bytes = max_bytes
        self._chunks: dict[int, dict[str, pl.DataFrame]] = {}
        self._sizes: dict[int, int] = {}
        self._where: dict[str, int] = {}  # key -> chunk holding its rows
        self._coming: set[str] = set()  # keys sent to workers, rows not back yet
        self._pins: dict[str, int] = {}  # key -> copies in batches in flight
        self._lost: set[str] = set()  # keys sent to workers whose rows never came back
        self._next = 0

    @staticmethod
    def keys(articles: pl.DataFrame, paragraphs: pl.DataFrame) -> pl.DataFrame:
        """(article_id, _key): a digest of the article's language and paragraph rows."""
        cols = [c for c in paragraphs.columns if c != "article_id"]
        per_para = paragraphs.sort("article_id", "paragraph_index").select(
            "article_id",
            pl.concat_str([pl.col(c).cast(pl.String).fill_null("\x00") for c in cols], separator="\x1f").alias("_p"))
        text = (articles.select("article_id", pl.col("language").fill_null("\x00"))
                .join(per_para.group_by("article_id", maintain_order=True).agg(pl.col("_p").str.join("\x1e")),
                      on="article_id", how="left"))
        digests = [hashlib.blake2b(f"{lang}\x1d{body or ''}".encode("utf-8", "surrogatepass"), digest_size=16).hexdigest()
                   for lang, body in text.select("language", "_p").iter_rows()]
        return pl.DataFrame({"article_id": text["article_id"], "_key": digests},
                            schema={"article_id": pl.String, "_key": pl.String})

    def plan(self, prep: Prepared) -> CopyPlan:
        """Split a batch: a copy is an article whose key is remembered or on its way (an
        earlier article of this batch or of a batch in flight); the rest go to the workers."""
        keys = self.keys(prep.articles, prep.paragraphs)
        known = pl.Series([*self._where, *self._coming, *self._lost], dtype=pl.String)
        keys = keys.with_columns((pl.col("_key").is_in(known.implode()) | ~pl.col("_key").is_first_distinct())
                                 .alias("_copy"))
        copies, work_keys = (keys.filter(pl.col("_copy")).drop("_copy"),
                             keys.filter(~pl.col("_copy")).drop("_copy"))
        self._coming.update(work_keys["_key"].to_list())
        for key in copies["_key"].to_list():
            self._pins[key] = self._pins.get(key, 0) + 1
        todo = prep
        if copies.height:
            ids = work_keys["article_id"].implode()
            todo = Prepared(prep.articles.filter(pl.col("article_id").is_in(ids)),
                            prep.paragraphs.filter(pl.col("article_id").is_in(ids)))
        return CopyPlan(todo, work_keys, copies, prep.articles)

    def remember(self, frames: dict[str, pl.DataFrame], plan: CopyPlan) -> None:
        """Keep the rows the workers returned for the plan's articles (an article with
        none killed its worker: `gather_shards` set it aside)."""
        work_keys = plan.work_keys
        self._coming.difference_update(work_keys["_key"].to_list())
        back = work_keys.filter(pl.col("article_id").is_in(frames["articles"]["article_id"].implode()))
        self._lost.update(set(work_keys["_key"].to_list()) - set(back["_key"].to_list()))
        work_keys = back
        if work_keys.height == 0:
            return
        # What enrich computed (the rest of an article row is the copy's own).
        computed = [c for c in frames["articles"].columns if c not in plan.given.columns or c == "language"]
        chunk = {"articles": frames["articles"].join(work_keys, on="article_id").select("_key", *computed)}
        for t in schema.ARTICLE_CHILD_TABLES:
            chunk[t] = frames[t].join(work_keys, on="article_id").drop("article_id", "published_date")
        cid, self._next = self._next, self._next + 1
        self._chunks[cid] = chunk
        self._sizes[cid] = sum(df.estimated_size() for df in chunk.values())
        self._where.update(dict.fromkeys(work_keys["_key"].to_list(), cid))
        self._evict()

    def _evict(self) -> None:
        for cid in list(self._chunks):
            if sum(self._sizes.values()) <= self.max_bytes:
                return
            keys = self._chunks[cid]["articles"]["_key"].to_list()
            if any(self._pins.get(k) for k in keys):
                continue
            del self._chunks[cid], self._sizes[cid]
            for k in keys:
                if self._where.get(k) == cid:
                    del self._where[k]

    def fill(self, plan: CopyPlan) -> dict[str, pl.DataFrame]:
        """The plan's copies' rows: each remembered row under the copy's id and date."""
        out: dict[str, list[pl.DataFrame]] = {}
        copies = plan.copies.filter(~self._is_lost())
        if copies.height:
            where = [self._where[k] for k in copies["_key"].to_list()]
            mine = plan.given.join(copies.with_columns(pl.Series("_chunk", where, dtype=pl.Int64)), on="article_id")
            for (cid,), part in mine.group_by("_chunk", maintain_order=True):
                chunk = self._chunks[cid]
                rows = part.drop("language", "_chunk").join(chunk["articles"], on="_key").drop("_key")
                out.setdefault("articles", []).append(schema.conform(rows, "articles"))
                dates = part.select("article_id", "_key", "published_date")
                for t in schema.ARTICLE_CHILD_TABLES:
                    out.setdefault(t, []).append(
                        schema.conform(dates.join(chunk[t], on="_key").drop("_key"), t))
        for key in plan.copies["_key"].to_list():
            self._pins[key] -= 1
            if not self._pins[key]:
                del self._pins[key]
        filled = {t: pl.concat(dfs, how="vertical_relaxed") for t, dfs in out.items()}
        if copies.height and filled["articles"].height != copies.height:  # never land a batch short
            raise RuntimeError(f"copy memo: {copies.height} copies, {filled['articles'].height} rows found")
        return filled

    def _is_lost(self) -> pl.Expr:
        return pl.col("_key").is_in(pl.Series(list(self._lost), dtype=pl.String).implode())

    def set_aside(self, plan: CopyPlan) -> pl.DataFrame:
        """The plan's copies of a text whose enrichment killed its worker (as the batch's
        articles were given), which `fill` gives no rows."""
        lost = plan.copies.filter(self._is_lost())
        return plan.given.filter(pl.col("article_id").is_in(lost["article_id"].implode()))


def pack(df: pl.DataFrame) -> bytes:
    """A frame as Arrow IPC bytes: what shards exchange between processes and machines."""
    buf = io.BytesIO()
    df.write_ipc(buf)
    return buf.getvalue()


def unpack(data: bytes) -> pl.DataFrame:
    return pl.read_ipc(io.BytesIO(data))


class ModelUnusable(RuntimeError):
    """A model setting that names a model which does not load (a corrupt or incomplete
    folder that passed `Settings.check_models`): the run's error, not an article's."""


# The key of `enrich_packed`'s result when the models do not load: its value is the message.
MODEL_ERROR = "_model_error"


def ready_models(models: tuple[str, str]) -> None:
    """Load (once per process) the NER pipeline and the target-sentiment model;
    ModelUnusable, naming the setting, if either does not load."""
    from newsetl.transforms import sentiment
    from newsetl.transforms.ner import load_pipeline

    for setting, path, load in (("spacy_model", models[0], load_pipeline),
                                ("target_sentiment_model", models[1], sentiment.load_target_model)):
        try:
            load(path)
        except Exception as exc:
            first = next((line for line in str(exc).splitlines() if line.strip()), "")  # spaCy's run on
            raise ModelUnusable(f"{model_setting(setting)} names {str(path)!r}, which does not load: "
                                f"{type(exc).__name__}: {first}") from exc


def enrich_packed(articles_ipc: bytes, paragraphs_ipc: bytes, models: tuple[str, str],
                  ner_cache_ipc: bytes | None = None, people: tuple[str, ...] = ()) -> dict[str, bytes]:
    """`enrich` for a worker process or a Dask worker: IPC bytes in and out. Models that do
    not load come back as {MODEL_ERROR: message}, not raised: a task that raises has Prefect
    print its traceback, once per shard, and the message is all the user needs
    (`flows.pipeline.gather_shards` fails the run with it)."""
    try:
        ready_models(models)
    except ModelUnusable as exc:
        return {MODEL_ERROR: str(exc).encode()}
    cache = unpack(ner_cache_ipc) if ner_cache_ipc else None
    frames = enrich(unpack(articles_ipc), unpack(paragraphs_ipc), models, cache, people)
    return {name: pack(df) for name, df in frames.items()}


def now_utc() -> datetime:
    return datetime.now(timezone.utc)


# Cross-article surname linking looks for the one known person of a surname among the
# entities named in the same source within this many days either side of the batch's
# dates (undated articles: the source's other undated articles).
LINK_WINDOW_DAYS = 30


# The candidates (and their lookups) of the last `known` that link_known(own=False) linked
# against: the batches of one window (every batch of an undated corpus) share one set, so
# its lookups are built once, not once per batch.
_LINK_MEMO: list[tuple[pl.DataFrame, pl.DataFrame, object]] = []


def link_known(frames: dict[str, pl.DataFrame], known: pl.DataFrame, own: bool = True) -> dict[str, pl.DataFrame]:
    """Bare surnames, acronyms and organisations written in another known form ("Acme
    Chemical Co" for the entity called "Acme") of a batch linked to the one known entity
    (transforms.entities.link_to_known); `known` = entities named in the same sources and
    window (the warehouse's), and the batch's own entities are added here (`own=False`:
    `known` has them already). Quotes follow their speaker's new id."""
    from newsetl.transforms.entities import build_entities, known_index, link_to_known

    mentions = frames.get("entity_mentions")
    if mentions is None or mentions.height == 0:
        return frames
    memo = _LINK_MEMO[0] if _LINK_MEMO and not own else None
    if memo is not None and memo[0].equals(known):
        cands, index = memo[1], memo[2]
    else:
        cols = ["entity_id", "name", "label"] + [c for c in ("aliases", "mention_count") if c in known.columns]
        parts = [known.select(cols)] + ([build_entities(mentions).select(cols)] if own else [])
        # One row per entity (the stored name and label first, so the choice is deterministic),
        # with the forms and mentions of the window and of the batch together: an acronym the
        # batch defines is evidence, and counts decide which of two readings dominates.
        agg = [pl.col("name").first(), pl.col("label").first()]
        if "aliases" in cols:
            agg.append(pl.col("aliases").list.explode(keep_nulls=False, empty_as_null=False).drop_nulls()
                       .unique(maintain_order=True))
        if "mention_count" in cols:
            agg.append(pl.col("mention_count").sum())
        cands = (pl.concat(parts, how="vertical_relaxed")
                 .group_by("entity_id", maintain_order=True).agg(agg).select(cols))
        index = known_index(cands)
        if not own:
            _LINK_MEMO[:] = [(known, cands, index)]
    linked = link_to_known(mentions, cands, index)
    out = dict(frames)
    out["entity_mentions"] = schema.conform(linked.drop("linked_to_known"), "entity_mentions")
    quotes = frames.get("quotes")
    if quotes is not None and quotes.height and linked["linked_to_known"].any():
        remap = (pl.DataFrame({"article_id": mentions["article_id"], "_old": mentions["entity_id"],
                               "_new": linked["entity_id"]})
                 .filter(pl.col("_old") != pl.col("_new")).unique(["article_id", "_old"]))
        out["quotes"] = (quotes.join(remap, left_on=["article_id", "speaker_entity_id"],
                                     right_on=["article_id", "_old"], how="left")
                         .with_columns(pl.coalesce("_new", "speaker_entity_id").alias("speaker_entity_id"))
                         .drop("_new"))
        out["quotes"] = schema.conform(out["quotes"], "quotes")
    if quotes is not None and quotes.height:
        not_people = set(cands.filter(pl.col("label") != "PERSON")["entity_id"].to_list())
        out["quotes"] = drop_pronouns_to_non_people(out["quotes"], not_people)
    return out


def drop_pronouns_to_non_people(quotes: pl.DataFrame, not_people: set[str]) -> pl.DataFrame:
    """A "he"/"she" resolved, in the worker, to a one-word mention NER called a person but
    the entities table calls something else ("He said" after "... leaders Chelsea."):
    the quote keeps no speaker, nor do the quotes that only continued it. Quote
    attribution runs before cross-article links and the corpus-level label vote; this
    applies the vote afterwards, so a bare "Parry" linked to Rick Parry keeps his quotes."""
    from newsetl.transforms.quotes import scare_quote_expr

    pron = ((pl.col("attribution") == "pronoun") & pl.col("speaker_entity_id").is_in(list(not_people))).fill_null(False)
    if not not_people or not quotes.select(pron.any()).item():
        return quotes
    cont = pl.col("attribution") == "continuation"
    # A chain: a quote with its own attribution and the continuations after it, in reading order.
    gone = (quotes.with_row_index("_row").sort("article_id", "paragraph_index", "quote_index")
            .with_columns((~cont).cast(pl.Int32).cum_sum().over("article_id").alias("_chain"))
            .with_columns(pron.first().over("article_id", "_chain").alias("_head"),
                          pl.col("speaker_entity_id").first().over("article_id", "_chain").alias("_sid"))
            .select("_row", (pl.col("_head") & (~cont | (pl.col("speaker_entity_id") == pl.col("_sid"))))
                    .fill_null(False).alias("_gone"))
            .sort("_row")["_gone"])
    cleared = [pl.when(gone).then(None).otherwise(pl.col(c)).alias(c)
               for c in ("speaker", "speaker_entity_id", "speaker_name") if c in quotes.columns]
    out = quotes.with_columns(
        *cleared,
        pl.when(gone & cont).then(pl.lit("none")).otherwise(pl.col("attribution")).alias("attribution"))
    return out.with_columns(scare_quote_expr()) if "scare_quote" in out.columns else out
