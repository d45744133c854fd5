"""newsetl.transforms.html_extract: main text + metadata from hand-written HTML pages.

Fixtures under tests/fixtures/html/ are written for these tests (no third-party
pages). The benchmark score lives in scripts/eval_extraction.py, not here.
"""
from __future__ import annotations

from datetime import datetime, timedelta, timezone
from pathlib import Path

import polars as pl
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from newsetl import process
from newsetl.records import RawDoc
from newsetl.transforms.html_extract import Extracted, extract_html
from newsetl.transforms.html_meta import clean_url, find_published, parse_datetime

FIXTURES = Path(__file__).parent / "fixtures" / "html"
ALLOWED_TAGS = {"p", "h", "li", "blockquote", "pre"}


def load(name: str) -> str:
    return (FIXTURES / name).read_text(encoding="utf-8")


@pytest.fixture(scope="module")
def full() -> Extracted:
    return extract_html(load("article_full.html"), "https://news.example.org/local/flood-barrier?utm_source=x")


@pytest.fixture(scope="module")
def german() -> Extracted:
    return extract_html(load("article_jsonld_de.html"))


# --------------------------------------------------------------------------- body
def test_body_keeps_article_paragraphs_in_order(full: Extracted) -> None:
    texts = [t for t, _ in full.blocks]
    expected_starts = [
        "Councillors in Millbrook",
        "The joint barrier will cost",
        '"We spent years arguing',
        "Who pays for the barrier",
        "Under the agreement",
        "Millbrook: 1,900 homes",
        "Ashford Green: 1,100 homes",
        "Lower Weir: 650 homes",
        "The cheapest flood defence",
        "Engineers expect construction",
        "Residents who attended",
        "The councils will publish",
    ]
    assert [next(i for i, t in enumerate(texts) if t.startswith(s)) for s in expected_starts] == list(
        range(len(expected_starts))
    )
    assert len(texts) == len(expected_starts)


def test_body_drops_page_chrome(full: Extracted) -> None:
    for junk in (
        "Sport",  # nav
        "Share on Facebook",  # share buttons
        "Getty Images",  # caption
        "Related stories",  # related-links box
        "Old mill streets flooded",  # related link
        "cellar has flooded",  # comment
        "All rights reserved",  # footer
        "Follow us on Twitter",
        "By Jane Holloway",  # byline is metadata
    ):
        assert junk not in full.text, junk
    # The headline is the title, not the first paragraph.
    assert not full.text.startswith("River towns vote")


def test_block_tags(full: Extracted) -> None:
    tags = dict((t, tag) for t, tag in full.blocks)
    assert tags["Who pays for the barrier"] == "h"
    assert tags["Lower Weir: 650 homes protected"] == "li"
    assert tags["The cheapest flood defence is the one you only have to build once."] == "blockquote"
    assert {tag for _, tag in full.blocks} <= ALLOWED_TAGS


def test_text_is_blocks_joined(full: Extracted) -> None:
    assert full.text == "\n\n".join(t for t, _ in full.blocks)


def test_inline_teasers_credits_and_share_lines_are_dropped(german: Extracted) -> None:
    assert "Lesen Sie auch" not in german.text
    assert "zwanzig Kilometer neue Radwege" not in german.text  # teaser link
    assert "Foto:" not in german.text  # photo credit
    assert "Bildergalerie" not in german.text  # link-only paragraph
    assert "Teilen auf Facebook" not in german.text
    assert "Impressum" not in german.text
    assert ("Beleuchtung mit Bewegungsmeldern", "h") in german.blocks
    assert german.blocks[0][0].startswith("Nach zwei Jahren Bauzeit")
    assert german.blocks[-1][0].startswith("Anwohner hatten sich lange")


# --------------------------------------------------------------------------- metadata
def test_metadata_from_meta_tags(full: Extracted) -> None:
    assert full.title == "River towns vote to share one flood barrier"
    assert full.authors == ["Jane Holloway"]
    assert full.site_name == "The Valley Courier"
    assert full.language == "en"
    assert full.published_at == datetime(2024, 3, 5, 6, 30, tzinfo=timezone.utc)
    assert full.published_at.utcoffset() == timedelta(hours=2)  # the page's own zone is kept
    # rel=canonical wins over og:url; host lower-cased, tracking params and fragment gone
    assert full.canonical_url == "https://news.example.org/local/flood-barrier?id=42"


@pytest.mark.parametrize("given, site, expected", [
    (["Dana Whitcombe", "Rui Okafor Tuesday", "March"], "Harbour Wire", ["Dana Whitcombe", "Rui Okafor"]),
    (["Priya Lanning November 3, 2023"], None, ["Priya Lanning"]),
    (["Analysis by Marta Quill", "Valley Courier Editor-at-large"], "Valley Courier", ["Marta Quill"]),
    (["Owen Tarrow is a reporter for the Courier"], None, ["Owen Tarrow"]),
    (["Owen Tarrow", "Staff writer"], None, ["Owen Tarrow"]),
    (["Lena Fairbrook", "MS", "RDN"], None, ["Lena Fairbrook"]),
    (["Admin"], "Tide Notes", []),
    (["Sam Ives", "Valley Courier Business"], "The Valley Courier", ["Sam Ives"]),
    (["Sam Ives", "Valleycourier com"], "valleycourier", ["Sam Ives"]),
    # a name given alone stays, even the site's: a blog's author often is its site
    (["Tide Notes"], "Tide Notes", ["Tide Notes"]),
    # an agency credited alone is the byline; names that hold a date word are cut there only
    (["AP"], None, ["AP"]),
    (["April Ross", "May Haines Friday"], None, ["April Ross", "May Haines"]),
    (["By Jane Holloway", "Jane Holloway"], None, ["Jane Holloway"]),
])
def test_byline_names_keep_the_people_of_an_author_field(given, site, expected) -> None:
    """What author fields carry besides names on many sites: the date after the byline,
    a lead-in, job titles, credentials, account names, the site's own name."""
    from newsetl.transforms.html_extract import byline_names

    assert byline_names(given, site) == expected


def test_metadata_from_json_ld(german: Extracted) -> None:
    assert german.title == "Neue Fahrradbrücke über den Kanal eröffnet"
    assert german.authors == ["Anna Berger", "Lukas Wendt"]
    assert german.site_name == "Stadtanzeiger"
    # naive timestamp -> UTC
    assert german.published_at == datetime(2023, 9, 14, 17, 45, tzinfo=timezone.utc)
    # no lang attribute anywhere: the detector decides
    assert german.language == "de"
    assert german.canonical_url == "https://www.stadtanzeiger.example/verkehr/fahrradbruecke"


def test_future_date_is_rejected() -> None:
    ex = extract_html(load("future_date.html"))
    assert ex.published_at is None
    assert ex.language == "fr"
    assert ex.canonical_url == "https://journal.example.fr/ville/marche?page=2"
    assert ex.blocks and ex.blocks[0][0].startswith("Après huit mois de travaux")


def test_find_published_skips_future_candidates() -> None:
    from lxml import html as lxml_html

    tree = lxml_html.fromstring(
        "<html><head>"
        '<meta property="article:published_time" content="2031-05-01T00:00:00Z">'
        "</head><body><time datetime='2020-02-03T04:05:06-05:00'>x</time></body></html>"
    )
    now = datetime(2030, 1, 1, tzinfo=timezone.utc)
    meta = {"article:published_time": "2031-05-01T00:00:00Z"}
    found = find_published(tree, meta, now=now)
    assert found == datetime(2020, 2, 3, 9, 5, 6, tzinfo=timezone.utc)


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("2019-11-19T10:00:00Z", datetime(2019, 11, 19, 10, tzinfo=timezone.utc)),
        ("2019-11-19T10:00:00.000-0500", datetime(2019, 11, 19, 15, tzinfo=timezone.utc)),
        ("2019-11-19 10:00:00 +0100", datetime(2019, 11, 19, 9, tzinfo=timezone.utc)),
        ("Tue, 19 Nov 2019 10:00:00 GMT", datetime(2019, 11, 19, 10, tzinfo=timezone.utc)),
        ("2019-11-19", datetime(2019, 11, 19, tzinfo=timezone.utc)),
        ("March 5, 2024, 3:04 PM EST", datetime(2024, 3, 5, 20, 4, tzinfo=timezone.utc)),
        ("May 5", None),  # no year: refuse rather than guess this year
        ("not a date", None),
        ("", None),
    ],
)
def test_parse_datetime(raw: str, expected: datetime | None) -> None:
    got = parse_datetime(raw)
    assert got == expected
    if got is not None:
        assert got.tzinfo is not None


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        ("https://ex.com/a?utm_source=x&utm_medium=y", "https://ex.com/a"),
        ("https://ex.com/a?id=1&fbclid=F&gclid=G#frag", "https://ex.com/a?id=1"),
        ("HTTPS://EX.com/A?mc_cid=1&q=two+words", "https://ex.com/A?q=two%20words"),  # one encoding: transforms/urls.py
        ("/relative/path?utm_campaign=c", "https://base.example/relative/path"),
        ("javascript:alert(1)", None),
        ("", None),
    ],
)
def test_clean_url(url: str, expected: str | None) -> None:
    assert clean_url(url, "https://base.example/x/y") == expected


# --------------------------------------------------------------------------- robustness
def test_fragment_without_document_wrapper() -> None:
    ex = extract_html("<p>First paragraph of a short note.</p><h2>Later</h2><p>Second one.</p>")
    assert ex.blocks == [
        ("First paragraph of a short note.", "p"),
        ("Later", "h"),
        ("Second one.", "p"),
    ]


@pytest.mark.parametrize(
    "garbage",
    [
        "",
        None,
        "   \n\t ",
        "plain text, no markup at all",
        "<<<>>><<</>",
        "<html><body>" * 5000,
        "<div>" * 20000 + "deep",
        "\x00\x01\x02<p>\x00nul</p>\ufffe\uffff",
        b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00",
        "<html><head><meta charset='klingon'></head><body><p>x</p></body></html>",
        "<?xml version='1.0' encoding='utf-8'?><html><body><p>decl</p></body></html>",
    ],
)
def test_garbage_never_raises(garbage) -> None:
    ex = extract_html(garbage, "not a url")
    assert isinstance(ex, Extracted)
    assert isinstance(ex.blocks, list)
    assert ex.text == "\n\n".join(t for t, _ in ex.blocks)
    assert ex.published_at is None or ex.published_at.tzinfo is not None


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.one_of(st.text(max_size=400), st.binary(max_size=400), st.from_regex(r"(<[a-z/]{1,6}[^>]{0,8}>[^<]{0,20}){0,30}")))
def test_property_never_raises(data) -> None:
    ex = extract_html(data)
    assert isinstance(ex, Extracted)
    assert all(isinstance(t, str) and tag in ALLOWED_TAGS for t, tag in ex.blocks)


# --------------------------------------------------------------------------- block filter
def _filter(*blocks: tuple[str, str], title: str | None = None) -> list[tuple[str, str]]:
    from newsetl.transforms.html_blocks import RawBlock, filter_blocks

    return [(b.text, b.tag) for b in filter_blocks([RawBlock(t, tag) for t, tag in blocks], title)]


BODY = "The committee met for three hours and agreed on the budget for next year, the chair said."


def test_filter_keeps_prose_that_merely_starts_like_a_label() -> None:
    kept = _filter(
        (BODY, "p"),
        ("Popular demand forced the museum to extend the exhibition by a month.", "p"),
        ("Related costs rose by four per cent, mostly because of energy prices.", "p"),
        ("Subscribers to the scheme will get a refund in March.", "p"),
        (BODY, "p"),
    )
    assert len(kept) == 5


def test_filter_drops_labels_credits_and_calls_to_action() -> None:
    kept = _filter(
        (BODY, "p"),
        ("Related: Ten things to know about the budget", "p"),
        ("READ MORE: Council tax to rise again", "p"),
        ("Photo: Jane Doe / Reuters", "p"),
        ("Sign up for our morning newsletter", "p"),
        ("Follow the Courier on Twitter and Facebook", "p"),
        (BODY, "p"),
    )
    assert kept == [(BODY, "p"), (BODY, "p")]


def test_filter_cuts_comment_section_and_leading_headline() -> None:
    kept = _filter(
        ("Council agrees budget", "h"),
        (BODY, "p"),
        ("What happens next", "h"),
        (BODY, "p"),
        ("12 comments", "p"),
        ("Great article, thanks!", "p"),
        title="Council agrees budget",
    )
    assert kept == [(BODY, "p"), ("What happens next", "h"), (BODY, "p")]


def test_canonical_pointing_at_site_root_is_ignored() -> None:
    page = (
        "<html><head><link rel='canonical' href='https://site.example/'>"
        "<meta property='og:url' content='https://site.example/news/story-1?utm_medium=rss'></head>"
        f"<body><article><p>{BODY}</p><p>{BODY}</p></article></body></html>"
    )
    ex = extract_html(page, "https://site.example/news/story-1?ref_src=feed")
    assert ex.canonical_url == "https://site.example/news/story-1"


# Real-prose blocks that mention comments, photos or agencies: body, never a cut or a credit.
PROSE_BLOCKS = [
    "No comment was immediately available from the ministry.",
    "No comments were received from the public during the consultation.",
    "One comment from a resident summed up the mood: the town is tired of waiting.",
    "12 comments were sent to the council before the vote.",
    "Video by a bystander showed police pushing protesters back.",
    "Photos by the agency showed the damage to the port.",
    "A file photo of the minister was used in the campaign leaflet.",
    "Getty Images said it would cut 300 jobs.",
    "Image quality on the new phone is better, reviewers said.",
    "Related costs rose by four per cent.",
]


@pytest.mark.parametrize("prose", PROSE_BLOCKS)
def test_filter_keeps_prose_about_comments_and_photos(prose) -> None:
    blocks = ((BODY, "p"), (BODY, "p"), (BODY, "p"), (prose, "p"), (BODY, "p"), ("The last paragraph stays too.", "p"))
    assert _filter(*blocks) == list(blocks)


@pytest.mark.parametrize(
    "widget",
    ["12 comments", "No comments yet", "One thought on “Council agrees budget”", "3 Responses to \"Budget\"",
     "Leave a Reply", "Comments (4)", "Join the discussion", "You may also like"],
)
def test_filter_cuts_at_comment_widget_labels(widget) -> None:
    kept = _filter((BODY, "p"), (BODY, "p"), (BODY, "p"), (widget, "h"), ("Great article, thanks!", "p"), (BODY, "p"))
    assert kept == [(BODY, "p")] * 3


@pytest.mark.parametrize(
    "credit",
    ["Photo by Jane Doe", "(AP Photo/Evan Vucci)", "A man walks past a damaged building in Kyiv. (AP Photo/Efrem Lukatsky)",
     "Smoke over the harbour. Jane Doe/Getty Images", "Image source, Getty Images", "© Example News 2024",
     "Photograph courtesy of the Smith Family"],
)
def test_filter_drops_credit_lines(credit) -> None:
    assert _filter((BODY, "p"), (credit, "p"), (BODY, "p")) == [(BODY, "p"), (BODY, "p")]


# --------------------------------------------------------------------------- language
# An English sports table whose names are Polish (written for this test): read whole, the
# names outvote the few English words.
_POLISH_TABLE = """FOOTBALL - TOP SCORERS IN THE POLISH LEAGUE .
KRAKOW 2024-09-02
Top scorers in the Polish
league after Sunday 's games :
9 - Grzegorz Wachowiak ( Wisla Plock )
7 - Przemyslaw Kaczmarczyk ( Gornik Zabrze ) , Szczepan Wojtaszek
( Zaglebie Lubin ) , Wojciech Szymczyk ( Stal Mielec )
5 - Bartosz Chrzanowski ( Pogon Szczecin ) , Lukasz Brzeczyszczykiewicz ( Jagiellonia Bialystok ) ,
Mieczyslaw Zdziebko , Zbigniew Grzybowski ( both Radomiak Radom ) ,
Jaroslaw Pstrokonski ( Korona Kielce ) , Tadeusz Wlodarczyk
( Warta Poznan ) , Krzysztof Ziolkowski ( Cracovia )"""


def test_language_is_read_from_the_words_that_are_no_names() -> None:
    from newsetl.transforms import html_meta

    assert html_meta.detect_language(_POLISH_TABLE)[0] == "en"
    # The whole text reads as Polish: what the detector said before it skipped names.
    assert html_meta._identifier.classify(_POLISH_TABLE)[0] == "pl"
    german = ("Die Bundesregierung hat am Mittwoch beschlossen, dass die Steuern im kommenden Jahr "
              "nicht erhöht werden. Der Finanzminister sagte in Berlin, man wolle die Wirtschaft "
              "stärken und die Bürger entlasten. Kritik kam von der Opposition im Bundestag.")
    assert html_meta.detect_language(german)[0] == "de"  # capitalised nouns go, the rest is German
    assert html_meta.detect_language("短い" * 120)[0] == "ja"  # a script without case keeps its words


# --------------------------------------------------------------------------- on the workers
def _pages(sizes: list[int]) -> list[RawDoc]:
    return [RawDoc("s", f"p{i}.html", html="<p>" + "word " * (n // 5) + "</p>") for i, n in enumerate(sizes)]


def test_extraction_chunks_hold_each_page_once_balanced_by_length() -> None:
    docs = _pages([9000, 1000, 5000, 5000, 1000, 8000]) + [RawDoc("s", "plain.txt", text="no HTML to extract")]
    sizes = [len(d.html) for d in docs[:6]]
    total = sum(sizes)  # 29,042 characters
    chunks = process.extraction_chunks(docs, 10_000)
    assert sorted(i for c in chunks for i in c) == [0, 1, 2, 3, 4, 5]  # the text document is not extracted
    assert len(chunks) == 3 and all(c == sorted(c) for c in chunks)
    loads = [sum(sizes[i] for i in c) for c in chunks]
    assert sum(loads) == total and max(loads) - min(loads) <= min(sizes)
    assert process.extraction_chunks(docs, total) == [[0, 1, 2, 3, 4, 5]]  # one chunk: prepared where it is read
    assert process.extraction_chunks(docs[-1:], 1) == []


def test_prepare_uses_extractions_made_elsewhere_and_rejects_a_page_that_failed_there() -> None:
    pages = [load("article_full.html"), load("article_jsonld_de.html"), "<html><body><p>The council approved the flood barrier budget on Tuesday.</p></body></html>"]
    docs = [RawDoc("s", f"p{i}.html", html=h, url=f"https://news.example.org/{i}") for i, h in enumerate(pages)]
    here = process.prepare(docs, {})
    assert here.articles.height == 3 and not here.rejects
    done = dict(zip([0, 1], process.extract_packed(process.pack_pages(docs, [0, 1]))))
    elsewhere = process.prepare(docs, {}, extracted={**done, 2: "HTML could not be parsed (RecursionError)"})
    assert elsewhere.articles.equals(here.articles.filter(pl.col("input_ref") != "p2.html"))
    kept = elsewhere.articles["article_id"].implode()
    assert elsewhere.paragraphs.equals(here.paragraphs.filter(pl.col("article_id").is_in(kept)))
    assert [(r.input_ref, r.reason) for r in elsewhere.rejects] == [("p2.html", "HTML could not be parsed (RecursionError)")]


class _Runner:
    """A task runner that runs each task at its first `result()`, counting how many
    submitted tasks wait at once."""

    def __init__(self):
        self.waiting = self.most_waiting = 0

    def submit(self, task, params):
        self.waiting += 1
        self.most_waiting = max(self.most_waiting, self.waiting)
        runner = self

        class Future:
            def result(self):
                runner.waiting -= 1
                return task.fn(**params)

        return Future()


def test_extraction_on_workers_keeps_a_few_chunks_in_flight_and_returns_each_page_by_index() -> None:
    from flows.pipeline import extract_on_workers

    docs = _pages([3000, 2000, 2500, 1000, 4000, 1500, 500])
    chunks = process.extraction_chunks(docs, 2000)
    runner = _Runner()
    got = extract_on_workers(runner, docs, chunks, in_flight=3)
    assert len(chunks) == 7 and runner.most_waiting == 3
    assert sorted(got) == list(range(7))
    assert all(got[i].blocks == extract_html(d.html).blocks for i, d in enumerate(docs))


def test_pages_extracted_before_into_an_article_still_landed_so_are_dropped() -> None:
    from newsetl.settings import PIPELINE_VERSION

    page = load("article_full.html")
    docs = [RawDoc("s", "a.html", html=page, url="https://news.example.org/a"),
            RawDoc("s", "b.txt", text="Plain text is read, not extracted."),
            RawDoc("s", "c.html", html=page, url="https://news.example.org/a", title="Another title")]
    keys = [process.page_key(d) if d.html else None for d in docs]
    assert keys[0] != keys[2]  # the title is part of what prepare reads
    seen = {keys[0]: ("u1", "hash1"), keys[2]: ("u1", "hash2")}
    landed = {"u1": ("hash1", PIPELINE_VERSION)}  # as page a's extraction gave it
    kept, kept_keys, dropped = process.drop_unchanged_pages(docs, lambda ks: {k: seen[k] for k in ks if k in seen},
                                                            lambda ids: {i: landed[i] for i in ids if i in landed})
    assert [d.input_ref for d in kept] == ["b.txt", "c.html"] and kept_keys == [None, keys[2]] and dropped == 1
    assert process.drop_unchanged_pages(docs, lambda ks: seen, lambda ids: landed, force=True) == (docs, keys, 0)
    landed["u1"] = ("hash1", "an older pipeline")
    assert process.drop_unchanged_pages(docs, lambda ks: seen, lambda ids: landed)[2] == 0


def test_an_in_text_link_keeps_its_words_in_the_sentence() -> None:
    """Trafilatura's precision mode prunes every <span class="link">, and so cut an in-text
    link out of its sentence with no trace ("has reported that for his role"); such a span
    mid-sentence now stays. One at a paragraph's end after a full stop ("Learn more") is
    still pruned."""
    filler = " ".join(f"The harbour board met for the {n}th time this year to weigh the plan." for n in range(4, 12))
    html = f"""<html><head><title>Port fines</title></head><body><article><h1>Port fines</h1>
<p>{filler}</p>
<p>The Ledger has reported that <span class="link"><a href="/story/1">the port will fine the ferry company</a></span>
for its role in the collision, and the company said it would appeal.</p>
<p>{filler} The vote is due in spring. <span class="link"><a href="/help">Learn more</a></span></p>
</article></body></html>"""
    text = extract_html(html).text
    assert "reported that the port will fine the ferry company for its role in the collision" in " ".join(text.split())
    assert "Learn more" not in text


@pytest.mark.parametrize("title,site,want", [
    ("Council backs the new ferry terminal – Harbour Times", "Harbour Times", "Council backs the new ferry terminal"),
    ("Council backs the new ferry terminal | HARBOURTIMES.com", "harbourtimes.com", "Council backs the new ferry terminal"),
    ("Harbour Times | Council backs the new ferry terminal", "Harbour Times", "Council backs the new ferry terminal"),
    # the site's own name holds the separator
    ("Ferry fares - what changes - Port News - Daily Edition", "Port News - Daily Edition", "Ferry fares - what changes"),
    # not the site's name: kept whole
    ("Opinion | Ferries are late again", "Harbour Times", "Opinion | Ferries are late again"),
    ("Council backs the terminal - Harbour Times Magazine", "Harbour Times", "Council backs the terminal - Harbour Times Magazine"),
    # nothing else would be left
    ("Harbour Times", "Harbour Times", "Harbour Times"),
    ("Ferry fares", None, "Ferry fares"),
])
def test_title_without_the_site_name(title, site, want) -> None:
    """18 of the 121 extraction pages end their <title> with the site's name (" – TechCrunch"),
    which is its own column."""
    from newsetl.transforms.html_extract import title_without_site

    assert title_without_site(title, site) == want
