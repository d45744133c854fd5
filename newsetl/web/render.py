"""Paragraph text with entity marks and sentence spans, escaped piece by piece.

Offsets (`start_char`/`end_char` of sentences and mentions) index the paragraph's text
in code points, as Python strings do. The text is cut at every offset; each piece is
HTML-escaped on its own and wrapped in at most one sentence span and one mark, so a
`<` in the text can never open a tag and marks never straddle a sentence's closing tag
(a mention that crosses a sentence boundary becomes two marks with the same entity).
"""

from __future__ import annotations

from html import escape
from urllib.parse import quote

from markupsafe import Markup

# VADER's compound cut-offs, the same as transforms/sentiment.py (VADER_POS / VADER_NEG).
POSITIVE_AT = 0.05
NEGATIVE_AT = -0.05


def sentiment_label(score: float | None) -> str:
    if score is None:
        return "unknown"
    return "positive" if score >= POSITIVE_AT else "negative" if score <= NEGATIVE_AT else "neutral"


def entity_href(entity_id: str) -> str:
    return "/entities/" + quote(str(entity_id), safe="")


def article_href(article_id: str) -> str:
    return "/articles/" + quote(str(article_id), safe="")


def is_web_url(url) -> bool:
    """Only http(s) URLs from the data become links (never javascript: or data:)."""
    return isinstance(url, str) and url.lower().startswith(("http://", "https://"))


def _spans(items: list[dict], n: int) -> list[dict]:
    """Clamp to the text, drop empty and overlapping spans (the earlier, longer one wins)."""
    out: list[dict] = []
    end = -1
    for it in sorted(items, key=lambda d: (d["start_char"] or 0, -(d["end_char"] or 0))):
        s = max(0, min(n, int(it["start_char"] or 0)))
        e = max(0, min(n, int(it["end_char"] or 0)))
        if e <= s or s < end:
            continue
        out.append({**it, "start_char": s, "end_char": e})
        end = e
    return out


def _find(spans: list[dict], a: int):
    for sp in spans:
        if sp["start_char"] <= a < sp["end_char"]:
            return sp
        if sp["start_char"] > a:
            return None
    return None


def _open_sentence(s: dict) -> str:
    score = s.get("sentiment")
    label = sentiment_label(score)
    shown = "n/a" if score is None else f"{score:+.2f}"
    return (f'<span class="sent sent-{label}" data-sentiment="{escape(shown)}" '
            f'title="sentence sentiment {escape(shown)} ({label})">')


def _open_mark(m: dict) -> str:
    label = escape(str(m.get("label") or ""))
    toward = escape(str(m.get("sentiment_label") or "n/a"))
    if m.get("entity_id") is None:
        return (f'<mark class="unresolved" data-label="{label}" '
                f'title="{label}, not resolved to an entity">'), "</mark>"
    eid = escape(str(m["entity_id"]))
    name = escape(str(m.get("entity_name") or m.get("text") or ""))
    return (f'<mark data-entity-id="{eid}" data-label="{label}" class="ent ent-{toward}" '
            f'title="{name} ({label}); sentiment toward it: {toward}">'
            f'<a href="{escape(entity_href(m["entity_id"]))}">'), "</a></mark>"


def paragraph_html(text: str, sentences: list[dict] = (), mentions: list[dict] = ()) -> Markup:
    text = text or ""
    n = len(text)
    sents = _spans(list(sentences), n)
    marks = _spans(list(mentions), n)
    cuts = sorted({0, n, *(x for s in sents for x in (s["start_char"], s["end_char"])),
                   *(x for m in marks for x in (m["start_char"], m["end_char"]))})
    out: list[str] = []
    cur_s = cur_m = None
    close_m = ""
    for a, b in zip(cuts, cuts[1:]):
        s, m = _find(sents, a), _find(marks, a)
        if cur_m is not None and (m is not cur_m or s is not cur_s):
            out.append(close_m)
            cur_m = None
        if s is not cur_s:
            if cur_s is not None:
                out.append("</span>")
            if s is not None:
                out.append(_open_sentence(s))
            cur_s = s
        if m is not None and cur_m is None:
            opened, close_m = _open_mark(m)
            out.append(opened)
            cur_m = m
        out.append(escape(text[a:b], quote=False))
    if cur_m is not None:
        out.append(close_m)
    if cur_s is not None:
        out.append("</span>")
    return Markup("".join(out))


def highlight(text: str, start: int, end: int, window: tuple[int, int] | None = None,
              pad: int = 160) -> Markup:
    """The part of `text` around [start, end) with that span in <mark>: the window
    (a sentence span) when given, else `pad` characters either side."""
    text = text or ""
    n = len(text)
    start, end = max(0, min(n, start)), max(0, min(n, end))
    if window and window[0] is not None and window[1] is not None and window[0] <= start and end <= window[1]:
        lo, hi = max(0, window[0]), min(n, window[1])
    else:
        lo, hi = max(0, start - pad), min(n, end + pad)
    pre = ("…" if lo > 0 else "") + text[lo:start]
    post = text[end:hi] + ("…" if hi < n else "")
    return Markup(f"{escape(pre, quote=False)}<mark>{escape(text[start:end], quote=False)}</mark>"
                  f"{escape(post, quote=False)}")
