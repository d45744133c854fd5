"""Text normalisation and paragraph splitting (native Polars expressions only).

`normalize_text_expr` cleans whitespace and invisible characters without touching
typography: curly quotes, apostrophes and dashes are kept exactly as written, because
quote extraction and NER read them.

`split_paragraphs` turns one row per article into one row per paragraph. A plain-text
article separates paragraphs by single or blank newlines (both are common in the wild);
HTML extraction hands over `blocks` (list of {text, tag}) which are used instead of the
text when present.
"""

from __future__ import annotations

from bisect import bisect_left
from itertools import accumulate

import polars as pl

# Characters that render as (or should count as) a plain space: no-break space, the
# U+2000..U+200A typographic spaces, narrow no-break, medium mathematical, ideographic,
# Ogham space mark, and the tab (tabs collapse with spaces below).
_ODD_SPACES = r"[\t\x{00A0}\x{1680}\x{2000}-\x{200A}\x{202F}\x{205F}\x{3000}]"
# Line separators that are not "\n": vertical tab, form feed, NEL, LINE/PARAGRAPH
# SEPARATOR. They become "\n" rather than vanishing so the words on either side do not
# run together.
_ODD_NEWLINES = r"\r\n?|[\x0B\x0C\x{0085}\x{2028}\x{2029}]"
# Invisible characters removed outright: C0/C1 controls other than \n (\t, \r, \v, \f
# were mapped above), DEL, soft hyphen, zero-width space/joiners, LRM/RLM, bidi
# embeddings and isolates, word joiner and invisible operators, BOM / ZWNBSP.
_INVISIBLE = (
    r"[\x00-\x08\x0E-\x1F\x7F-\x84\x{0086}-\x{009F}\x{00AD}\x{200B}-\x{200F}"
    r"\x{202A}-\x{202E}\x{2060}-\x{2064}\x{2066}-\x{2069}\x{FEFF}]"
)


def normalize_text_expr(col: str | pl.Expr) -> pl.Expr:
    """Normalise a text column: line endings, odd spaces, invisible characters, NFC.

    - "\\r\\n", "\\r", VT, FF, NEL, U+2028/2029 -> "\\n"
    - no-break and other Unicode spaces, tabs -> " "; runs of spaces collapse to one
    - zero-width characters, bidi controls, soft hyphens and other control characters
      (everything in Cc/Cf above except "\\n") are removed
    - every line is stripped of leading/trailing spaces; the whole text is stripped
    - Unicode NFC last, so that removing an invisible character between a letter and a
      combining mark still yields composed text (which also makes the function
      idempotent). Curly quotes and apostrophes are kept as they are.
    """
    expr = pl.col(col) if isinstance(col, str) else col
    return (
        expr.str.replace_all(_ODD_NEWLINES, "\n")
        .str.replace_all(_INVISIBLE, "")
        .str.replace_all(_ODD_SPACES, " ")
        .str.replace_all(r" {2,}", " ")
        .str.replace_all(r"(?m)^ +| +$", "")
        .str.strip_chars("\n ")
        .str.normalize("NFC")
    )


def split_paragraphs(articles: pl.DataFrame | pl.LazyFrame) -> pl.DataFrame | pl.LazyFrame:
    """One row per non-empty paragraph: article_id, paragraph_index (i32), text, tag.

    in: `article_id`, `text` and optionally `blocks` (list[struct{text, tag}]). For a row
    whose `blocks` is a non-empty list the blocks are used (tag kept); otherwise the text
    is split on newlines (single or blank) and tag is null. Inside a block, newlines
    (from <br>) also split paragraphs, except in "pre" blocks, which stay whole.
    Paragraph text is normalised with `normalize_text_expr`; empty paragraphs are
    dropped and `paragraph_index` counts the kept ones, 0-based, in source order.
    Works on a DataFrame or a LazyFrame (returns the same kind).
    """
    lazy = isinstance(articles, pl.LazyFrame)
    lf = articles.lazy() if not lazy else articles
    names = lf.collect_schema().names()
    lf = lf.with_row_index("_row")

    parts: list[pl.LazyFrame] = []
    has_blocks = pl.lit(False)
    if "blocks" in names:
        has_blocks = pl.col("blocks").list.len().fill_null(0) > 0
        from_blocks = (
            lf.filter(has_blocks)
            .select("_row", "article_id", pl.col("blocks"))
            .explode("blocks")
            .unnest("blocks")
            .select(
                "_row",
                "article_id",
                pl.col("text").cast(pl.String),
                pl.col("tag").cast(pl.String),
            )
            .with_columns(normalize_text_expr("text").alias("text"))
            .with_columns(
                pl.when(pl.col("tag") == "pre")
                .then(pl.concat_list(pl.col("text")))
                .otherwise(pl.col("text").str.split("\n"))
                .alias("text")
            )
            .explode("text")
        )
        parts.append(from_blocks)

    from_text = (
        lf.filter(~has_blocks)
        .select(
            "_row",
            "article_id",
            normalize_text_expr("text").str.split("\n").alias("text"),
            pl.lit(None, dtype=pl.String).alias("tag"),
        )
        .explode("text")
    )
    parts.append(from_text)

    out = (
        pl.concat(parts, how="vertical")
        # Lines were already stripped by normalize_text_expr: only empties remain to drop.
        .filter(pl.col("text").is_not_null() & (pl.col("text") != ""))
        .sort("_row", maintain_order=True)
        .with_columns(pl.int_range(pl.len(), dtype=pl.Int32).over("_row").alias("paragraph_index"))
        .select(
            pl.col("article_id").cast(pl.String),
            "paragraph_index",
            "text",
            "tag",
        )
    )
    return out if lazy else out.collect()


class Spans:
    """(start, end) character spans, asked by bisection whether any overlaps a range: what
    per-name loops over a paragraph's other names made quadratic in a paragraph of megabytes."""

    def __init__(self, spans):
        spans = sorted((a, b) for a, b, *_ in spans)
        self.starts = [a for a, _ in spans]
        self.reach = list(accumulate((b for _, b in spans), max))  # the furthest end so far

    def overlap(self, start: int, end: int) -> bool:
        """Some span has a < end and start < b."""
        k = bisect_left(self.starts, end)
        return k > 0 and self.reach[k - 1] > start
