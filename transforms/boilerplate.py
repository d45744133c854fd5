"""Paragraph kinds: body, heading or boilerplate (with a short machine-readable reason).

Two kinds of evidence are combined:

1. Cues inside one article (native Polars expressions over the paragraph frame):
   - generic phrase rules: calls to action ("join us", "subscribe to our ..."), share
     prompts, social handles with a follow/platform context, UI instructions
     ("press Ctrl + Enter", "enable JavaScript"), section labels ("Related stories"),
     "Read more: ..." link prefixes, copyright lines, bylines, reporting credits,
     contact e-mails, timestamps, reading times, media credits, CMS shortcodes,
     affiliate and sponsorship disclosures ("We may earn a commission ...", "This
     episode is sponsored by ...");
   - layout: a short line without terminal punctuation whose content words recur in the
     next paragraph(s) introduces them: a heading. A short Title-Case line whose words do
     NOT continue, between prose paragraphs, is a link to another story: boilerplate.
2. Evidence across the corpus (`corpus_evidence`): the same paragraph in many articles of
   one source is template text; a line equal to the title of another article is a link.

Phrase lists hold only generic CTA/share/UI vocabulary, never words of one article.

Inside a body paragraph, `wire_credit` finds the agency credit of a wire dateline that
opens it ("NEW YORK (Reuters) - "): the paragraph stays body, but the credit is no
entity mention (`process.enrich` drops NER spans inside it).

Evidence frame (`corpus_evidence`), one row per (kind, source, key):
    kind           "paragraph" | "title"
    source         article source (titles keep their source too; matched across sources)
    key            `paragraph_key(text)`: lower case, non-letter/digit runs -> " ",
                   first 200 characters
    article_count  i64, number of distinct articles of the batch with that key
Counts are additive, so evidence frames merge with
    pl.concat([a, b]).group_by("kind", "source", "key").agg(pl.col("article_count").sum())
(`merge_evidence` does exactly that). Each article must be counted once: when an article
is re-landed, subtract its old evidence first (concat its old rows with negated counts;
`merge_evidence` drops rows whose sum is <= 0).
"""

from __future__ import annotations

import re

import polars as pl

# ---------------------------------------------------------------------------------------
# Thresholds (calibration notes next to each)
# ---------------------------------------------------------------------------------------
# A paragraph is template text when it occurs in at least this many distinct articles of
# one source. Calibrated on BBC (2,225 articles, 5.5k distinct keyed paragraphs, 98 exact
# duplicate articles): ordinary paragraphs repeat in at most 3 articles (duplicated
# stories, team line-ups, reader comments printed in three stories: 413 keys at 2, 13
# at 3, none at 4-6), while the only keys at 7 and 8 are author bios ("X is a regular
# commentator on ...") -- real template text. 5 sits in that gap and leaves room for a
# story re-published a few times (updates under new URLs, syndicated copies).
REPEAT_MIN_ARTICLES = 5
# Only paragraphs up to this many words are keyed for repetition: templates are short;
# long repeated paragraphs are copies of whole stories (duplicates, syndication), which
# are the dedup step's business, not boilerplate. Also bounds the evidence table size.
REPEAT_MAX_WORDS = 80
# A title must have at least this many words to count as "title of another article":
# one- or two-word titles ("Analysis", "Live updates") collide with ordinary headings.
TITLE_MIN_WORDS = 3
# Phrase rules only fire on paragraphs this short: CTA/share/UI lines are one short
# sentence; longer paragraphs that mention "subscribe" are prose.
PHRASE_MAX_WORDS = 25
# A line counts as title-like (heading or link candidate) up to this many words; news
# headlines run 5-15 words, section headings 1-8. Twenty keeps long headlines in.
TITLE_LIKE_MAX_WORDS = 20
# Inline link: at least this many capitalised content words (Title Case), and at least
# this share of content words capitalised. "North Korea Deepens Ties with Russia" has 5/5.
LINK_MIN_CAP_WORDS = 3
LINK_MIN_CAP_SHARE = 0.75
# Heading: content-word stems shared with the next two paragraphs. At least this many, or
# at least one and this share of the line's stems. Seed: heading 3 of 5 stems recur; the
# inline link 0 of 8. The same test against the previous paragraph keeps a Title-Case
# line that continues the story before it from being taken for a link.
HEADING_MIN_OVERLAP = 2
HEADING_MIN_OVERLAP_SHARE = 0.25
# Sentence-case headings (not Title Case) are only taken up to this many words.
HEADING_MAX_WORDS = 12
# Stems are the first 5 letters of a lower-cased word without possessive 's.
STEM_CHARS = 5
KEY_CHARS = 200

# Function words ignored for Title Case and overlap.
_FUNCTION_WORDS = sorted(
    set(
        """a an the and or but nor of in on at to for from by with as into onto over under
        about after before between through during without within via vs per than then
        is are was were be been being am do does did has have had not no yes so if
        its it it's this that these those his her their our your my we you he she they
        i me us them him who whom whose which what when where why how all any some more
        most much many such very can could will would shall should may might must
        up out off down new""".split()
    )
)

# Reported speech: phrase rules never fire on a paragraph that reports what someone
# said; CTA and UI lines address the reader and never do.
_REPORTED = r"(?i)\b(?:said|says|say|told|tells|according|asked|added|wrote|writes|urged|announced|tweeted|posted)\b"
_QUOTE_START = r"^[\"“‘'«„]"

_UI_INSTRUCTION = (
    r"(?i)\b(?:ctrl|cmd|alt|shift)\s*\+\s*\w"
    r"|\bhighlight (?:the|this|some|any) text\b"
    r"|\benable javascript\b|\bjavascript (?:is )?(?:disabled|required|must be enabled)\b"
    r"|\b(?:update|upgrade) your browser\b|\byour browser (?:does not|doesn[’']t|is not|isn[’']t)\b"
    r"|\b(?:this|our) (?:site|website) uses cookies\b|\b(?:accept|manage) (?:all )?cookies\b"
    r"|\bcookie (?:policy|settings|preferences)\b"
    r"|\b(?:spot|spotted|found|notice|noticed|see) (?:a|an) (?:typo|mistake|error)\b"
    r"|\breport (?:a|an) (?:typo|mistake|error)\b"
    r"|\bscroll (?:down|up) (?:to|for)\b|\bskip to (?:main )?content\b"
    r"|\bclick (?:on )?(?:the|this) (?:button|link|icon|image|arrow)\b"
    r"|\bpress (?:the )?(?:enter|esc|escape) key\b"
    r"|^\W*(?:loading|please wait)\W*$"
    r"|\ban error (?:has )?occurred\b|\bplease try again later\b"
    r"|\b(?:this|the) (?:article|story|page) has been (?:sent|shared|saved)\b"
)
_SHARE_TARGETS = r"(?:facebook|twitter|x|whatsapp|linkedin|telegram|e-?mail|messenger|reddit|pinterest|flipboard|print|copy link|copy)"
_SHARE_PROMPT = (
    r"(?i)^\W*share\b(?:\s+(?:this|on|via|the|article|story|page|post|video|now|with|your|friends))*\W*$"
    r"|\bshare (?:this|the) (?:article|story|post|page|video|link)\b"
    r"|\b(?:share|post|send) (?:it |this )?(?:on|to|via|with) " + _SHARE_TARGETS + r"\b"
    r"|\b(?:e-?mail|print|tweet) (?:this|the) (?:article|story|page)\b"
    r"|^\W*" + _SHARE_TARGETS + r"(?:\W+" + _SHARE_TARGETS + r")+\W*$"
)
_PLATFORMS = r"(?:telegram|twitter|instagram|facebook|tiktok|youtube|threads|bluesky|mastodon|linkedin|whatsapp|x\.com|google news)"
_HANDLE = r"(?:^|[\s(])@[\p{L}\p{N}_.]{2,}"
# "us" is the reader's "us" only in lower case: "US troops" is the country. Phrase rules
# see all-caps lines in lower case ("JOIN US ON TELEGRAM"), see `_cta_text`.
_US = r"(?-i:us)"
_SOCIAL_VERB = r"(?i)\b(?:follow|join|subscribe|find " + _US + r"|like " + _US + r"|connect with)\b"
_SOCIAL_PLATFORM = r"(?i)\b" + _PLATFORMS + r"\b"
# An imperative at the start of the line, followed by a space or punctuation, not a
# hyphen ("Stay-at-home orders ..." is prose). "Like" is left to `_CTA_STRONG` ("like us
# on"): as a first word it is a preposition far more often ("Like many towns here, ...").
_CTA_VERB_START = (
    r"(?i)^\W*(?:please\s+)?(?:join|follow|subscribe|sign up|register|download|get|click|tap|"
    r"support|donate|become|stay|check out|find " + _US + r"|connect|discover|want more|"
    r"never miss|don[’']t miss|for more|for the latest|listen to|watch)(?:$|[\s:,.!?])"
)
# What the imperative asks for, somewhere after it ("For the latest figures, US officials
# ..." has no target after "For the latest").
_CTA_TARGET = (
    r"(?i)\b(?:" + _US + r"|our|newsletters?|channel|" + _PLATFORMS[3:-1] + r"|app|podcast|here|updates|"
    r"coverage|alerts|inbox|latest|subscription|subscriber)\b"
)
_CTA_VERB_THEN_TARGET = _CTA_VERB_START + r".*" + _CTA_TARGET.removeprefix("(?i)")
# Calls to action address the reader in the imperative or present; a perfect or past
# auxiliary marks a report ("Support for the measure has grown here", "Download speeds
# here have doubled"), where the first word is a noun, not an imperative.
_REPORT_TENSE = r"(?i)\b(?:has|have|had|was|were|been)\b"
_CTA_STRONG = (
    r"(?i)\bjoin " + _US + r"\b|\bfollow " + _US + r"\b|\bclick here\b|\btap here\b"
    r"|\b(?:sign up|subscribe|register) (?:to|for) (?:our|the|a) (?:free |daily |weekly )?(?:newsletter|briefing|alerts?|digest|channel)"
    r"|^\W*(?:subscribe|sign up|register|donate)\b(?:\W+(?:now|today|here|free|for free))*\W*$"
    r"|\blike " + _US + r" on\b|\bfind " + _US + r" on\b|\bconnect with " + _US + r"\b"
    r"|\bsupport (?:our|independent|quality) journalism\b"
    r"|\bdownload (?:our|the \w+) app\b"
    r"|\b(?:become|join) (?:a|our) (?:member|subscriber|supporter|patron)\b"
)
_SECTION_LABEL = (
    r"(?i)^\W*(?:related|related (?:articles?|stories|news|content|topics|coverage|links|reading|posts?)"
    r"|more (?:stories|news|on this(?: story| topic)?|from [\p{L}\s]{1,30}|like this)"
    r"|read (?:more|next|also)|see also|also read|recommended(?: for you| stories| reading)?"
    r"|trending(?: now| stories)?|most (?:read|popular|viewed|shared)|popular (?:now|stories)"
    r"|you (?:may|might) also (?:like|be interested in)|advertisement|sponsored(?: content)?|ads?"
    r"|top stories|latest (?:news|stories|videos?)|editor[’']s picks?|comments?|\d+ comments?"
    r"|leave a (?:comment|reply)|newsletter|continue reading|back to top|more"
    r"|print(?: this)?(?: article| page| story)?|order reprints?|reprints?(?: (?:&|and) permissions)?)\W*$"
)
_RELATED_LINK = (
    r"(?i)^\W*(?:read more|read also|also read|see also|related|more|watch|listen|"
    r"recommended|read next|related (?:story|article|content|coverage)|must read|"
    r"tags|topics|filed under)\s*[:|»›>–—]\s*\S"
)
_COPYRIGHT = (
    r"(?i)^\W*(?:©|\(c\)\s*\d{4}|copyright\s*(?:©|\(c\))?\s*\d{4})|\ball rights reserved\b"
    r"|\bfor (?:your )?personal,? non-?commercial use only\b"
    r"|\bmay not be (?:published|reproduced|copied|redistributed|rewritten)\b"
)
# A cookie or data-consent notice, as consent platforms word it (the IAB framework names its
# first purpose "Store and/or access information on a device"), addressing the reader ("your
# consent", "your preferences"): a cookie wall extracted as the page's text. None of these
# phrases occurs in a paragraph of the BBC corpus, the extraction gold bodies, NewsMTSC or
# CoNLL-2003 train.
_CONSENT = (
    r"(?i)\bwe and our (?:\d[\d,]* )?(?:\w+ )?partners (?:may )?(?:store|use|process|collect|access)\b"
    r"|\bstore and/or access information on a device\b|\bprocessing of your personal data\b"
    r"|\bwithdraw your consent\b|\bchange your (?:privacy |cookie )?(?:preferences|choices|settings)\b"
)

# Affiliate and sponsorship disclosures that commerce, tech and podcast pages print with
# a story (US FTC rules ask for them): the publisher speaks of its own page ("we", "this
# post", "this shop"), so a report of someone else's sponsorship ("The race is sponsored
# by ...") stays prose.
_DISCLOSURE = (
    r"(?i)\b(?:we|(?:this|our) (?:site|website|page|publication))\s+(?:may|might|could|will|can)\s+(?:also\s+)?"
    r"(?:earn|receive|get|collect)\s+(?:a\s+)?(?:small\s+)?"
    r"(?:share of (?:sales|revenue)|(?:affiliate\s+)?commissions?|compensation)\b"
    r"|\b(?:uses?|contains?|includes?|may contain)\s+(?:[\w-]+\s+){0,3}affiliate links?\b"
    r"|^\W*(?:this|the following)\s+(?:week[’']s\s+|month[’']s\s+)?(?:[\w-]+\s+){0,2}"
    r"(?:post|article|content|story|deal|page|episode|podcast|newsletter|video|series|shop)\s+"
    r"(?:is|was|has been)\s+(?:sponsored|supported|paid for|brought to you|compensated)\s+by\b"
    r"|^\W*(?:this|the following)\s+sponsored\s+(?:[\w-]+\s+){0,2}(?:is|was)\s+brought to you by\b"
    r"|^\W*(?:affiliate\s+)?disclosure\s*:|^\W*FTC\s*:"
)
_BYLINE = r"^(?:[Bb]y|BY|[Ww]ritten by|[Rr]eport(?:ed|ing) by|[Ww]ords by)\s+\p{Lu}"
_MONTH = (
    r"(?:jan(?:uary)?|feb(?:ruary)?|mar(?:ch)?|apr(?:il)?|may|june?|july?|aug(?:ust)?"
    r"|sep(?:t(?:ember)?)?|oct(?:ober)?|nov(?:ember)?|dec(?:ember)?)"
)
# Dateline/timestamp lines: "Updated: 12 May", "5:45 AM PST 11/19/2019 by ...",
# "November 20, 2019 - 11:28", "Monday 4 March 2024".
_TIMESTAMP = (
    r"(?i)^\W*(?:published|updated|last updated|posted|first published|modified)\s*(?:on|at)?\s*:?\s*\p{N}"
    r"|^\W*\d{1,2}:\d{2}\s*(?:[ap]\.?m\.?)?(?:\s|$)"
    r"|^\W*(?:(?:mon|tues|wednes|thurs|fri|satur|sun)day,?\s+)?(?:" + _MONTH + r"\.?\s+\d{1,2}(?:st|nd|rd|th)?,?\s+\d{4}"
    r"|\d{1,2}\s+" + _MONTH + r"\.?,?\s+\d{4})\b"
    r"|^\W*\d{1,2}/\d{1,2}/\d{2,4}\b|^\W*\d{4}-\d{2}-\d{2}\b"
)
# A wire dateline on its own line: a place and a date ("LONDON 2024-05-14", "SAN ANTONIO ,
# Texas 2024-05-16", "WASHINGTON, Aug. 22"). It repeats across a source's stories of one day
# and looks like a Title-Case link, but it is the story's own place and date: never
# repeated_in_source nor inline_link_title (seen on hundreds of CoNLL-2003 train stories).
_DATELINE = (
    r"^(?:\p{Lu}[\p{L}.'’\-]*\s*,?\s*){1,5}(?:\d{4}-\d{2}-\d{2}|(?i:" + _MONTH + r")\.?\s+\d{1,2}(?:,?\s+\d{4})?)\s*$"
)
# A data line of a results table, scorecard or standings: two separate numbers ("Valencia
# 2 Sevilla 0"), a number in brackets ("( 1-1 )"), a bracket closing a list entry
# ("Pablo Herrero ( Spain ) , Lars Nilsson") or a score ("Flora ( Estonia ) 0 Sparta").
# Title-Case, short and unlike its neighbours, such lines were taken for inline links to
# other stories; story titles rarely carry these.
_DATA_LINE = r"\p{N}[^\p{N}]+\p{N}|\(\s*\p{N}|\)\s*[,\p{N}]"
_READING_TIME = r"(?i)\b\d+\s*min(?:ute)?s?\.?\s+read\b|^\W*reading time\b"
# Credit and contact lines that close a story ("Reporting by Will Dunham; Editing by Tom
# Brown", "Lena Park contributed reporting from Seoul."): after the role words only names
# follow, to the end of the line. Prose that starts the same way goes on with lower-case
# words ("Research by the university found ..."). Case-sensitive on purpose: a name
# starts with a capital (all-caps lines are names too).
_NAME_TOKEN = r"(?:\p{Lu}[\p{L}\p{M}.'’\-]*|and|in|from|at|with|of|the|de|da|du|van|von|der|den|bin|al|la|le|y|&)"
_ROLE = (
    r"(?i:additional\s+)?(?i:reporting|writing|editing|research|compiled|edited|produced|graphics|production)"
    r"(?:\s+(?i:and)\s+(?i:reporting|writing|editing|research))?"
)
_CREDIT = (
    r"^\W*" + _ROLE + r"\s+(?i:by)\s+" + _NAME_TOKEN
    + r"(?:[\s,;/]+(?:" + _ROLE + r"\s+(?i:by)|" + _NAME_TOKEN + r"))*[\s.;)\]]*$"
    r"|^\W*" + _NAME_TOKEN + r"(?:[\s,]+" + _NAME_TOKEN + r")*\s+(?i:contributed)\s+"
    r"(?:(?i:reporting|research)(?:\s+(?i:from|in)\s+" + _NAME_TOKEN + r"(?:[\s,]+" + _NAME_TOKEN + r")*)?"
    r"|(?i:to\s+this\s+(?:report|article|story)))[\s.;)\]]*$"
)
_EMAIL = r"[\w.+-]+@[\w-]+\.[\w.-]*\w"
# profile links, not media links inside embedded posts ("pic.twitter.com/...")
_PROFILE_URL = r"(?i)(?:^|[\s/(]|www\.)(?:(?:twitter|facebook|instagram|linkedin|tiktok|youtube|x)\.com|t\.me)/\w"
# Leftover CMS shortcodes ("[button link=...]") and "Label: URL" lines.
_MARKUP = r"^\[/?[a-z_]+(?:\s+[a-z_-]+\s*=[^\]]*)?\]"
_LINK_LINE = r"^[\p{L}][\p{L} ]{0,20}:\s*(?:https?://|www\.)\S+\s*$"
_CTA_LONG = r"(?i)^\W*if you (?:enjoyed|liked|value|appreciate|found value in) (?:this|our|reading)\b"
_MEDIA_CREDIT = r"(?i)^[\(\[]?\s*(?:photo|image|picture|video|graphic|illustration)s?(?: credit)?\s*[:/]|^[\(\[]?\s*credit\s*:"
# Ends with terminal punctuation (optionally followed by closing quotes/brackets).
_TERMINAL = r"[.!?…:;,]['\"”’»)\]]*$"

_EMPTY_LIST = pl.lit([], dtype=pl.List(pl.String))


# A wire dateline that opens a story's paragraph: a place in capitals, an optional date, the
# agency's credit in parentheses and a dash ("NEW YORK (Reuters) - ", "WASHINGTON, March 3
# (Reuters) - ", "LONDON (AP) — "); 5 of the 121 extraction pages open so, and wire copy
# in feeds does. The credit names who filed the story, not what it is about.
_WIRE_DATELINE_RE = re.compile(
    r"\s*(?P<place>[^\W\d_][^\W\d_.'’\-]*(?:[ .'’\-]{1,2}[^\W\d_]+){0,4}\.?)"
    r"(?:,[^()\n]{1,30}?)?\s*\((?P<credit>[^\W\d_][^()\n]{0,40}?)\)\s*[-—–]")


def wire_credit(text: str | None) -> tuple[int, int] | None:
    """Character span of the agency credit of a wire dateline that opens `text` ("Reuters"
    in "NEW YORK (Reuters) - Shares ..."), else None. The place must be in capitals, so a
    sentence such as "Ford (F) - the carmaker ..." has no dateline."""
    m = _WIRE_DATELINE_RE.match(text or "")
    if m is None or not m.group("place").isupper():
        return None
    return m.span("credit")


def paragraph_key(expr: pl.Expr) -> pl.Expr:
    """Normalised key for repetition/title matching: case, punctuation and spacing do
    not matter. Digits are kept: mapping them to one symbol made BBC attendance lines
    ("78,000", "29,603") and kick-off times collide into "repeated" template text."""
    return (
        expr.str.to_lowercase()
        .str.replace_all(r"[^\p{L}\p{N}]+", " ")
        .str.strip_chars()
        .str.slice(0, KEY_CHARS)
    )


def _word_count(expr: pl.Expr) -> pl.Expr:
    return expr.str.count_matches(r"\S+").cast(pl.Int32)


_EVIDENCE_SCHEMA = {"kind": pl.String, "source": pl.String, "key": pl.String, "article_count": pl.Int64}


def corpus_evidence(paragraphs: pl.DataFrame, articles: pl.DataFrame) -> pl.DataFrame:
    """Corpus evidence of one batch: (kind, source, key, article_count), see module doc.

    paragraphs: article_id, text; articles: article_id, source, title.
    """
    arts = articles.lazy().select(
        pl.col("article_id").cast(pl.String),
        pl.col("source").cast(pl.String),
        pl.col("title").cast(pl.String),
    ).unique("article_id", keep="first")
    para = (
        paragraphs.lazy()
        .select(pl.col("article_id").cast(pl.String), pl.col("text").cast(pl.String))
        .filter(_word_count(pl.col("text")) <= REPEAT_MAX_WORDS)
        .join(arts.select("article_id", "source"), on="article_id", how="left")
        .with_columns(paragraph_key(pl.col("text")).alias("key"))
        .filter(pl.col("key").str.contains(r"\p{L}"))
        .group_by("source", "key")
        .agg(pl.col("article_id").n_unique().cast(pl.Int64).alias("article_count"))
        .select(pl.lit("paragraph").alias("kind"), "source", "key", "article_count")
    )
    titles = (
        arts.filter(_word_count(pl.col("title")) >= TITLE_MIN_WORDS)
        .with_columns(paragraph_key(pl.col("title")).alias("key"))
        .filter(pl.col("key").str.contains(r"\p{L}"))
        .group_by("source", "key")
        .agg(pl.col("article_id").n_unique().cast(pl.Int64).alias("article_count"))
        .select(pl.lit("title").alias("kind"), "source", "key", "article_count")
    )
    return (
        pl.concat([para, titles], how="vertical")
        .sort("kind", "source", "key", nulls_last=True)
        .collect()
    )


def merge_evidence(*frames: pl.DataFrame) -> pl.DataFrame:
    """Merge evidence frames (e.g. warehouse + batch): concat, sum counts per key, drop
    keys whose count fell to <= 0 (negated rows subtract a re-landed article's old
    evidence)."""
    if not frames:
        return pl.DataFrame(schema=_EVIDENCE_SCHEMA)
    return (
        pl.concat([f.select(list(_EVIDENCE_SCHEMA)).cast(_EVIDENCE_SCHEMA) for f in frames], how="vertical")
        .group_by("kind", "source", "key")
        .agg(pl.col("article_count").sum())
        .filter(pl.col("article_count") > 0)
        .sort("kind", "source", "key", nulls_last=True)
    )


def _content_stems(text: pl.Expr) -> pl.Expr:
    """Set of content-word stems of a paragraph (for heading continuation)."""
    return (
        text.str.to_lowercase()
        .str.extract_all(r"\p{L}[\p{L}\p{N}'’\-]*|\p{N}[\p{L}\p{N}\-]*")
        .list.eval(
            pl.element()
            .str.replace(r"['’]s$", "")
            .filter(~pl.element().str.replace(r"['’]s$", "").is_in(_FUNCTION_WORDS))
            .str.slice(0, STEM_CHARS)
        )
        .list.unique()
    )


def classify_paragraphs(
    paragraphs: pl.DataFrame,
    articles: pl.DataFrame,
    evidence: pl.DataFrame | None = None,
) -> pl.DataFrame:
    """Add `kind` ("body" | "heading" | "boilerplate") and `kind_reason` to paragraphs.

    paragraphs: article_id, paragraph_index, text, tag (tag optional);
    articles: article_id, source, title;
    evidence: a `corpus_evidence` frame (possibly merged with the warehouse's); None
    means "evidence from this batch alone". Rows come back in input order with the input
    columns unchanged. First matching rule wins, in this order:
      boilerplate: no_words, ui_instruction, share_prompt, social_handle,
        call_to_action, section_label, related_link, copyright, byline, credit,
        contact, markup, timestamp, reading_time, media_credit, own_title (a line
        equal to this article's title), repeated_in_source:<n>, title_of_other_article;
      heading: heading_tag (tag "h"), heading_short_titlecase, heading_short,
        heading_allcaps;
      boilerplate: inline_link_title;
      body: body.
    """
    if evidence is None:
        evidence = corpus_evidence(paragraphs, articles)
    in_cols = paragraphs.columns
    ev = evidence.lazy()
    para_ev = (
        ev.filter(pl.col("kind") == "paragraph")
        .group_by("source", "key")
        .agg(pl.col("article_count").sum().alias("_repeat"))
    )
    title_ev = (
        ev.filter(pl.col("kind") == "title")
        .group_by("key")
        .agg(pl.col("article_count").sum().alias("_title_count"))
    )
    arts = (
        articles.lazy()
        .select(
            pl.col("article_id").cast(pl.String).alias("_aid"),
            pl.col("source").cast(pl.String).alias("_source"),
            paragraph_key(pl.col("title").cast(pl.String)).alias("_own_title_key"),
        )
        .unique("_aid", keep="first")
    )

    text = pl.col("_text")
    words = pl.col("_words")
    lf = (
        paragraphs.lazy()
        .with_row_index("_row")
        .with_columns(
            pl.col("article_id").cast(pl.String).alias("_aid"),
            pl.col("text").cast(pl.String).fill_null("").alias("_text"),
            (pl.col("tag").cast(pl.String) if "tag" in in_cols else pl.lit(None, pl.String)).alias("_tag"),
        )
        .join(arts, on="_aid", how="left", maintain_order="left")
        .with_columns(
            _word_count(text).alias("_words"),
            paragraph_key(text).alias("key"),
            # terminal punctuation looked up in the last few characters only
            text.str.tail(6).str.contains(_TERMINAL).alias("_terminal"),
            text.str.contains(_QUOTE_START).alias("_quote_start"),
            # headings and headlines start with a capital or a digit (or an uncased
            # script); not with lower case, bullets, dashes, brackets, symbols, URLs
            (
                text.str.contains(r"^[^\p{Ll}\p{P}\p{S}\p{Z}]")
                & ~text.str.contains(r"^\S+://|^www\.")
            ).alias("_starts_cap"),
        )
        .join(
            para_ev,
            left_on=["_source", "key"],
            right_on=["source", "key"],
            how="left",
            nulls_equal=True,
            maintain_order="left",
        )
        .join(title_ev, on="key", how="left", maintain_order="left")
        # Joins do not keep row order by default; the neighbour shifts below need
        # paragraphs in article order.
        .sort("_aid", "paragraph_index", "_row")
    )

    title_like = (
        (words >= 1)
        & (words <= TITLE_LIKE_MAX_WORDS)
        & ~pl.col("_terminal")
        & pl.col("_starts_cap")
        # quoted or preformatted blocks from HTML are content, never headings or links
        & ~pl.col("_tag").is_in(["blockquote", "pre"]).fill_null(False)
    )
    # Speed: the expensive expressions only run where they can matter. Phrase rules see
    # the text of short paragraphs only (others get ""), Title-Case counts the text of
    # title-like lines only, and stems are computed for title-like lines and the
    # paragraphs around them (neighbours for the continuation test).
    tl = pl.col("_title_like")
    need_stems = (
        tl
        | tl.shift(1).over("_aid").fill_null(False)
        | tl.shift(2).over("_aid").fill_null(False)
        | tl.shift(-1).over("_aid").fill_null(False)
    )
    lf = (
        lf.with_columns(
            title_like.alias("_title_like"),
            pl.when(words <= 40).then(text).otherwise(pl.lit("")).alias("_short"),
        )
        .with_columns(
            pl.col("_short").str.contains(_REPORTED).alias("_reported"),
            _content_stems(pl.when(need_stems).then(text).otherwise(pl.lit(""))).alias("_stems"),
            pl.when(tl)
            .then(text)
            .otherwise(pl.lit(""))
            .str.extract_all(r"\p{L}[\p{L}\p{N}'’\-]*")
            .list.eval(pl.element().filter(~pl.element().str.to_lowercase().is_in(_FUNCTION_WORDS)))
            .alias("_content"),
        )
        .with_columns(
            pl.col("_content").list.len().alias("_n_content"),
            pl.col("_content").list.eval(pl.element().str.contains(r"^\p{Lu}")).list.sum().alias("_n_cap"),
        )
    )

    text = pl.col("_short")  # phrase rules below look at short paragraphs only
    # Calls to action see an all-caps line in lower case ("JOIN US ON TELEGRAM") and any
    # other line as written, so "us" (case-sensitive in the patterns) is never "US".
    cta_text = pl.when(text.str.contains(r"\p{Ll}")).then(text).otherwise(text.str.to_lowercase())
    short = words <= PHRASE_MAX_WORDS
    plain = short & ~pl.col("_reported") & ~pl.col("_quote_start")
    title_like = tl
    title_case = (pl.col("_n_cap") >= LINK_MIN_CAP_WORDS) & (
        pl.col("_n_cap") >= LINK_MIN_CAP_SHARE * pl.col("_n_content")
    )
    phrase_rules: list[tuple[str, pl.Expr]] = [
        ("no_words", ~pl.col("_text").str.contains(r"[\p{L}\p{N}]")),
        ("ui_instruction", (words <= 40) & ~pl.col("_reported") & text.str.contains(_UI_INSTRUCTION)),
        ("share_prompt", plain & (words <= 15) & text.str.contains(_SHARE_PROMPT)),
        (
            "social_handle",
            plain
            & (words <= 20)
            & text.str.contains(_HANDLE)
            # a handle alone is content (a list of accounts in a listicle); it is a
            # prompt with a follow verb, or a short "Twitter: @x" line
            & (cta_text.str.contains(_SOCIAL_VERB) | ((words <= 6) & text.str.contains(_SOCIAL_PLATFORM))),
        ),
        (
            "call_to_action",
            plain
            & (
                cta_text.str.contains(_CTA_STRONG)
                | (
                    cta_text.str.contains(_CTA_VERB_THEN_TARGET)
                    & ~text.str.contains(_REPORT_TENSE)
                )
            ),
        ),
        ("section_label", (words <= 8) & text.str.contains(_SECTION_LABEL)),
        ("related_link", plain & text.str.contains(_RELATED_LINK)),
        ("copyright", (words <= 60) & pl.col("_text").str.contains(_COPYRIGHT)),
        (
            "byline",
            (words <= 10)
            & ~pl.col("_terminal")
            & text.str.contains(_BYLINE)
            & (pl.col("_n_cap") >= 0.6 * pl.col("_n_content")),
        ),
        ("call_to_action", (words <= 60) & pl.col("_text").str.contains(_CTA_LONG)),
        ("disclosure", (words <= 60) & ~pl.col("_reported") & pl.col("_text").str.contains(_DISCLOSURE)),
        ("consent_notice", (words <= 80) & ~pl.col("_reported") & pl.col("_text").str.contains(_CONSENT)),
        ("credit", (words <= 25) & text.str.contains(_CREDIT)),
        ("contact", (words <= 10) & text.str.contains(_EMAIL)),
        ("social_handle", (words <= 6) & text.str.contains(_PROFILE_URL)),
        ("markup", text.str.contains(_MARKUP)),
        ("related_link", (words <= 8) & text.str.contains(_LINK_LINE)),
        ("timestamp", (words <= 12) & text.str.contains(_TIMESTAMP)),
        ("reading_time", (words <= 8) & text.str.contains(_READING_TIME)),
        ("media_credit", (words <= 15) & text.str.contains(_MEDIA_CREDIT)),
    ]
    phrase_reason = pl.lit(None, dtype=pl.String)
    for reason, cond in reversed(phrase_rules):
        phrase_reason = pl.when(cond).then(pl.lit(reason)).otherwise(phrase_reason)

    lf = lf.with_columns(phrase_reason.alias("_phrase"))
    # Neighbour context, within the article in paragraph order.
    listy = (title_like & pl.col("_phrase").is_null()).alias("_listy")
    lf = lf.with_columns(listy).with_columns(
        pl.col("_stems").shift(-1).over("_aid").fill_null(_EMPTY_LIST).alias("_next1"),
        pl.col("_stems").shift(-2).over("_aid").fill_null(_EMPTY_LIST).alias("_next2"),
        pl.col("_stems").shift(1).over("_aid").fill_null(_EMPTY_LIST).alias("_prev1"),
        pl.col("_listy").shift(1).over("_aid").fill_null(False).alias("_prev_listy"),
        pl.col("_listy").shift(-1).over("_aid").fill_null(False).alias("_next_listy"),
        pl.col("_aid").shift(-1).over("_aid").is_null().alias("_is_last"),
    )
    lf = lf.with_columns(
        pl.col("_stems")
        .list.set_intersection(pl.concat_list("_next1", "_next2"))
        .list.len()
        .alias("_overlap"),
        pl.col("_stems").list.set_intersection("_prev1").list.len().alias("_overlap_prev"),
        pl.col("_stems").list.len().alias("_n_stems"),
    )
    overlap = pl.col("_overlap")
    continues = (overlap >= HEADING_MIN_OVERLAP) | (
        (overlap >= 1) & (overlap >= HEADING_MIN_OVERLAP_SHARE * pl.col("_n_stems"))
    )
    overlap_prev = pl.col("_overlap_prev")
    follows = (overlap_prev >= HEADING_MIN_OVERLAP) | (
        (overlap_prev >= 1) & (overlap_prev >= HEADING_MIN_OVERLAP_SHARE * pl.col("_n_stems"))
    )
    # at least two upper-case words and no lower case ("2000 GMT" is not a label)
    all_caps = text.str.contains(r"\p{Lu}{2,}\P{L}+\p{Lu}{2,}") & ~text.str.contains(r"\p{Ll}")
    dateline = text.str.contains(_DATELINE) & ~text.str.contains(r"(?i)^\W*(?:published|updated|last updated|posted|modified)\b")
    repeat = pl.when(dateline).then(0).otherwise(pl.col("_repeat").fill_null(0))
    own_title = (pl.col("key") == pl.col("_own_title_key")) & ~text.str.contains(r"\.['\"”’)\]]*$")
    other_title = (
        (pl.col("_title_count").fill_null(0) >= 1)
        & (pl.col("key") != pl.col("_own_title_key").fill_null(""))
        & (words >= TITLE_MIN_WORDS)
    )
    # A heading introduces prose: the next paragraph is not another short line (that is
    # a list: fixtures, results, bullet points) and neither is the previous one.
    is_heading = (
        title_like & continues & ~pl.col("_is_last") & ~pl.col("_next_listy") & ~pl.col("_prev_listy")
    )
    # An inline link to another story: a Title Case line that shares nothing with the
    # paragraph before or the two after it, set between prose paragraphs (not in a list,
    # not the last line: on BBC the trailing Title-Case lines are referee names, release
    # dates and captions; trailing links are left to the title/repetition evidence).
    # ALL-CAPS lines are section labels far more often than links (see heading_allcaps).
    is_link = (
        title_like
        & title_case
        & (words >= 3)
        & ~continues
        & ~follows
        & ~all_caps
        & ~pl.col("_is_last")
        # list entries: "1) Product name", "2. Point", Q&A "A: answer"
        & ~text.str.contains(r"^(?:\p{N}{1,3}[.)]|\p{Lu}{1,2}:)\s")
        & ~dateline
        & ~text.str.contains(_DATA_LINE)
        & ~pl.col("_prev_listy")
        & ~pl.col("_next_listy")
    )

    kind_reason = (
        pl.when(pl.col("_phrase").is_not_null())
        .then(pl.struct(kind=pl.lit("boilerplate"), reason=pl.col("_phrase")))
        .when(own_title)
        .then(pl.struct(kind=pl.lit("boilerplate"), reason=pl.lit("own_title")))
        .when(repeat >= REPEAT_MIN_ARTICLES)
        .then(
            pl.struct(
                kind=pl.lit("boilerplate"),
                reason=pl.lit("repeated_in_source:") + repeat.cast(pl.String),
            )
        )
        .when(other_title)
        .then(pl.struct(kind=pl.lit("boilerplate"), reason=pl.lit("title_of_other_article")))
        .when(pl.col("_tag") == "h")
        .then(pl.struct(kind=pl.lit("heading"), reason=pl.lit("heading_tag")))
        .when(is_heading & title_case)
        .then(pl.struct(kind=pl.lit("heading"), reason=pl.lit("heading_short_titlecase")))
        .when(is_heading & (words <= HEADING_MAX_WORDS))
        .then(pl.struct(kind=pl.lit("heading"), reason=pl.lit("heading_short")))
        .when(title_like & all_caps & (words <= HEADING_MAX_WORDS) & ~pl.col("_is_last") & ~pl.col("_next_listy"))
        .then(pl.struct(kind=pl.lit("heading"), reason=pl.lit("heading_allcaps")))
        .when(is_link)
        .then(pl.struct(kind=pl.lit("boilerplate"), reason=pl.lit("inline_link_title")))
        .otherwise(pl.struct(kind=pl.lit("body"), reason=pl.lit("body")))
    )
    out = (
        lf.with_columns(kind_reason.alias("_kr"))
        .sort("_row")
        .select(
            *in_cols,
            pl.col("_kr").struct.field("kind").alias("kind"),
            pl.col("_kr").struct.field("reason").alias("kind_reason"),
        )
    )
    return out.collect()
