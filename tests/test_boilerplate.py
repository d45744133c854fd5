"""transforms/boilerplate.py: paragraph kinds and corpus evidence."""

from __future__ import annotations

from pathlib import Path

import polars as pl
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from polars.testing import assert_frame_equal

from newsetl.transforms.boilerplate import (
    REPEAT_MIN_ARTICLES,
    classify_paragraphs,
    corpus_evidence,
    merge_evidence,
)
from newsetl.transforms.text import split_paragraphs

ARTICLES = Path(__file__).parent / "fixtures" / "articles"
PARA_SCHEMA = {"article_id": pl.String, "paragraph_index": pl.Int32, "text": pl.String, "tag": pl.String}
ART_SCHEMA = {"article_id": pl.String, "source": pl.String, "title": pl.String}

PROSE_A = "The council approved the new budget on Monday after a long debate about school funding."
PROSE_B = "Opposition members said the plan would leave several rural clinics without enough staff."
PROSE_C = "The mayor promised a review of the clinic rota before the end of the year."


def _paras(texts: list[str], article_id: str = "a", tags: list[str | None] | None = None) -> pl.DataFrame:
    return pl.DataFrame(
        {
            "article_id": [article_id] * len(texts),
            "paragraph_index": list(range(len(texts))),
            "text": texts,
            "tag": tags or [None] * len(texts),
        },
        schema=PARA_SCHEMA,
    )


def _arts(ids=("a",), source="site", titles=None) -> pl.DataFrame:
    return pl.DataFrame(
        {"article_id": list(ids), "source": [source] * len(ids), "title": titles or [None] * len(ids)},
        schema=ART_SCHEMA,
    )


def _kinds(df: pl.DataFrame) -> list[tuple[str, str]]:
    return list(zip(df["kind"].to_list(), df["kind_reason"].to_list(), strict=True))


@pytest.mark.parametrize(
    ("line", "reason"),
    [
        ("JOIN US ON TELEGRAM", "call_to_action"),
        ("Subscribe to our weekly newsletter", "call_to_action"),
        ("Sign up for our free daily briefing.", "call_to_action"),
        ("Click here to read the full report", "call_to_action"),
        ("Follow us on @citydesk for updates.", "social_handle"),
        ("Share this article", "share_prompt"),
        ("Facebook Twitter WhatsApp Email", "share_prompt"),
        ("You can also highlight the text and press Ctrl + Enter", "ui_instruction"),
        ("Please enable JavaScript to view the comments", "ui_instruction"),
        ("Related stories", "section_label"),
        ("Advertisement", "section_label"),
        ("Read more: Council Votes to Close Two Libraries", "related_link"),
        ("© 2024 Example Media. All rights reserved.", "copyright"),
        ("By Jane Doe and Omar Ali", "byline"),
        ("* * *", "no_words"),
        ("Additional reporting by Sam Okafor", "credit"),
        ("Lena Park contributed reporting from Seoul.", "credit"),
        ("Write to the author at jo.bloggs@example.com", "contact"),
        ("twitter.com/examplereporter", "social_handle"),
        ("Updated: 12:30 GMT, 3 March 2024", "timestamp"),
        ("November 20, 2019 - 11:28 AM", "timestamp"),
        ("4 min read", "reading_time"),
        ("Podcast: https://example.com/episode-12", "related_link"),
        ('[button link="https://example.com/x" type="big"] Send us your photos', "markup"),
        ("An error has occurred, please try again later.", "ui_instruction"),
        ("This copy is for your personal, non-commercial use only.", "copyright"),
        ("If you enjoyed this article, consider supporting us with a membership.", "call_to_action"),
        ("Print Article", "section_label"),
        ("FOLLOW US ON TWITTER FOR UPDATES", "call_to_action"),
        ("Support us with a donation today", "call_to_action"),
        ("Stay up to date with our newsletter", "call_to_action"),
        ("Follow AP's full coverage of the election at", "call_to_action"),
        ("Listen to Newsbeat live at 12:45 weekdays - or listen back here.", "call_to_action"),
        ("(Reporting by Will Dunham in Washington; Editing by Tom Brown)", "credit"),
        ("Writing by Ana Ruiz; additional reporting by Li Wei and Omar Haddad", "credit"),
        ("The Harbour Wire Service contributed to this story.", "credit"),
        ("Fox News’ Jessica Napoli contributed to this report.", "credit"),
        ("Compiled by Jo Bloggs", "credit"),
        # affiliate and sponsorship disclosures (written for the test after the pattern of
        # tech, commerce and podcast pages among the extraction pages)
        ("Disclosure: Gadgetry Weekly may earn a commission from products linked on this page.", "disclosure"),
        ("We may earn a small commission when you buy through links in this article.", "disclosure"),
        ("This post contains affiliate links.", "disclosure"),
        ("This sponsored offer is brought to you by Vaultly.", "disclosure"),
        ("This week's Court Report podcast is sponsored by the Harbour Open.", "disclosure"),
        ("This series is supported by a grant from the Lumen Foundation.", "disclosure"),
        ("This shop has been compensated by Brightmart and its advertiser. All opinions are mine.", "disclosure"),
    ],
)
def test_phrase_rules(line, reason):
    out = classify_paragraphs(_paras([PROSE_A, line, PROSE_B]), _arts())
    assert _kinds(out) == [("body", "body"), ("boilerplate", reason), ("body", "body")]


@pytest.mark.parametrize(
    "line",
    [
        # CTA vocabulary inside reported speech or longer prose stays body
        "Customers who subscribe to the service pay ten euros a month, the company said.",
        "The minister said on Telegram that the bridge would reopen next week.",
        "“Join us in rebuilding the town,” the mayor told the crowd.",
        "He shared the video on Twitter, where it was viewed two million times.",
        "Officials said the new ferry timetable would be published on 4 March 2024 at the latest.",
        "The photo is online at pic.twitter.com/abc123",
    ],
)
def test_phrase_rules_leave_prose_alone(line):
    out = classify_paragraphs(_paras([PROSE_A, line, PROSE_B]), _arts())
    assert out["kind"].to_list() == ["body", "body", "body"]


# Short real-prose paragraphs (one-sentence wire copy) that start like a call to action
# or a credit: "US" is not "us", a noun is not an imperative, a sentence is not a credit.
PROSE_LOOKALIKES = [
    "For more than a decade, US troops guarded the pass.",
    "For more than a decade, US troops have been stationed at the base.",
    "Support for the measure has grown here since the floods.",
    "Stay-at-home orders kept most of us indoors for months.",
    "Follow-up tests found no trace of the virus among US staff.",
    "Get-togethers of more than six people remain banned here.",
    "Like many towns here, Ashford lost its last bank branch in 2019.",
    "Download speeds here have doubled since the new cable was laid.",
    "Watch parties were held here and in Lagos as the final began.",
    "Tap water here has been declared safe to drink again.",
    "For the latest figures, US officials rely on state health departments.",
    "Joining US forces in the Gulf were two British destroyers.",
    "Register offices here were closed for the bank holiday.",
    "Research by the University of Leeds found that most households recycle.",
    "Editing by hand took the archivists most of a year.",
    "Reporting by local journalists exposed the scheme in 2018.",
    "She contributed reporting to a series that won a Pulitzer Prize in 2019.",
    "Volunteers contributed research to the flood report.",
    # someone else's sponsorship or commission is news
    "The marathon is sponsored by a local brewery this year.",
    "Brokers may earn commissions of up to 5% on such sales.",
    "This season was sponsored by a betting firm, which angered fans.",
    "Agents can receive compensation from both sides under the new rules.",
]


@pytest.mark.parametrize("line", PROSE_LOOKALIKES)
def test_short_prose_that_looks_like_boilerplate_stays_body(line):
    out = classify_paragraphs(_paras([PROSE_A, line, PROSE_B]), _arts())
    assert _kinds(out) == [("body", "body")] * 3
    # Alone as a one-sentence article too (wire copy).
    assert _kinds(classify_paragraphs(_paras([line]), _arts())) == [("body", "body")]


def test_heading_vs_inline_link():
    texts = [
        PROSE_A,
        "Why Electric Aircraft Still Struggle With Winter Weather",  # nothing in common
        PROSE_B,
        "Rural Clinics Face Staff Shortage",  # introduces the next paragraph
        "Rural clinics have struggled to hire nurses, and the staff shortage is worst in the north.",
        PROSE_C,
    ]
    out = classify_paragraphs(_paras(texts), _arts())
    expected = pl.DataFrame(
        {
            "article_id": ["a"] * 6,
            "paragraph_index": list(range(6)),
            "text": texts,
            "tag": [None] * 6,
            "kind": ["body", "boilerplate", "body", "heading", "body", "body"],
            "kind_reason": ["body", "inline_link_title", "body", "heading_short_titlecase", "body", "body"],
        },
        schema={**PARA_SCHEMA, "kind": pl.String, "kind_reason": pl.String},
    )
    assert_frame_equal(out, expected)


def test_lists_are_not_links_or_headings():
    texts = [PROSE_A, "Arsenal v Stoke", "Chelsea v Leeds", "Everton v Hull", PROSE_B, "1) Lego Castle Set With Figures", PROSE_C]
    out = classify_paragraphs(_paras(texts), _arts())
    assert out["kind"].to_list() == ["body"] * len(texts)


def test_trailing_title_case_line_without_evidence_is_body():
    out = classify_paragraphs(_paras([PROSE_A, "Halo 3 Out Now On Xbox In Europe"]), _arts())
    assert out["kind"].to_list() == ["body", "body"]


def test_html_heading_tag():
    out = classify_paragraphs(_paras(["Background", PROSE_A], tags=["h", "p"]), _arts())
    assert _kinds(out)[0] == ("heading", "heading_tag")


def test_blockquote_title_case_line_is_body():
    texts = [PROSE_A, "Why Electric Aircraft Still Struggle With Winter Weather", PROSE_B]
    out = classify_paragraphs(_paras(texts, tags=["p", "blockquote", "p"]), _arts())
    assert out["kind"].to_list() == ["body", "body", "body"]


def test_repeated_in_source_and_title_of_other_article():
    n = REPEAT_MIN_ARTICLES
    ids = [f"a{i}" for i in range(n)]
    footer = "The Riverside Post is an independent paper owned by its readers"
    frames = [_paras([PROSE_A, footer, f"Story {i} body text ends here."], aid) for i, aid in enumerate(ids)]
    frames.append(_paras([PROSE_B, "Council Approves Budget After Long Debate", PROSE_C], "z"))
    paras = pl.concat(frames)
    titles = ["Council Approves Budget After Long Debate"] + [f"Other story number {i}" for i in range(1, n)]
    arts = pl.concat([_arts(ids, titles=titles), _arts(["z"], titles=["Clinic rota to be reviewed"])])
    out = classify_paragraphs(paras, arts)
    # the footer: same paragraph in n articles of one source
    assert set(out.filter(pl.col("text") == footer)["kind_reason"]) == {f"repeated_in_source:{n}"}
    # PROSE_A is also the same paragraph in n articles of the source: template by design
    assert set(out.filter(pl.col("text") == PROSE_A)["kind"]) == {"boilerplate"}
    reasons = dict(zip(out.filter(pl.col("article_id") == "z")["text"], out.filter(pl.col("article_id") == "z")["kind_reason"], strict=True))
    assert reasons["Council Approves Budget After Long Debate"] == "title_of_other_article"
    assert reasons[PROSE_B] == "body"
    # fewer articles than the threshold: not template text
    few = classify_paragraphs(paras.filter(pl.col("article_id").is_in(ids[: n - 1])), arts)
    assert set(few.filter(pl.col("text") == footer)["kind"]) == {"body"}


def test_own_title_repeated_in_text():
    out = classify_paragraphs(_paras(["Council Approves Budget", PROSE_A]), _arts(titles=["Council approves budget"]))
    assert _kinds(out)[0] == ("boilerplate", "own_title")


def test_evidence_merges_by_concat_and_sum():
    a = corpus_evidence(_paras(["Follow the Post", PROSE_A], "a1"), _arts(["a1"], titles=["A first title here"]))
    b = corpus_evidence(_paras(["Follow the Post", PROSE_B], "b1"), _arts(["b1"], titles=["A second title here"]))
    both = corpus_evidence(
        pl.concat([_paras(["Follow the Post", PROSE_A], "a1"), _paras(["Follow the Post", PROSE_B], "b1")]),
        _arts(["a1", "b1"], titles=["A first title here", "A second title here"]),
    )
    assert_frame_equal(merge_evidence(a, b), both)
    by_hand = (
        pl.concat([a, b]).group_by("kind", "source", "key").agg(pl.col("article_count").sum()).sort("kind", "source", "key")
    )
    assert_frame_equal(by_hand, both)
    # subtracting an article's old evidence (negated counts) takes it out again
    minus_b = b.with_columns(-pl.col("article_count"))
    assert_frame_equal(merge_evidence(both, minus_b), a)
    assert both.schema == pl.Schema({"kind": pl.String, "source": pl.String, "key": pl.String, "article_count": pl.Int64})


def test_external_evidence_is_used():
    ev = pl.DataFrame(
        {"kind": ["paragraph", "title"], "source": ["site", "other"], "key": ["follow the post", "bridge to reopen in may"], "article_count": [40, 1]},
        schema={"kind": pl.String, "source": pl.String, "key": pl.String, "article_count": pl.Int64},
    )
    out = classify_paragraphs(_paras([PROSE_A, "Follow the Post", "Bridge to Reopen in May", PROSE_B]), _arts(), ev)
    assert out["kind_reason"].to_list() == ["body", "repeated_in_source:40", "title_of_other_article", "body"]


def test_golden_seedlike_article():
    """Whole-article golden file (reviewed by hand): the seed article's traits in other words."""
    text = (ARTICLES / "seedlike.txt").read_text("utf-8")
    arts = pl.DataFrame(
        {"article_id": ["seedlike"], "source": ["gazette"], "title": ["Valmora ferry crews strike over pay"], "text": [text]}
    )
    got = classify_paragraphs(split_paragraphs(arts), arts).select("paragraph_index", "kind", "kind_reason", "text")
    golden = pl.read_csv(
        ARTICLES / "seedlike.paragraphs.csv",
        schema={"paragraph_index": pl.Int32, "kind": pl.String, "kind_reason": pl.String, "text": pl.String},
    )
    assert_frame_equal(got, golden)
    assert got.height == 15
    assert got["kind"].value_counts().sort("kind").rows() == [("body", 10), ("boilerplate", 4), ("heading", 1)]


def test_empty_frames():
    out = classify_paragraphs(pl.DataFrame(schema=PARA_SCHEMA), pl.DataFrame(schema=ART_SCHEMA))
    assert out.height == 0
    assert out.columns == ["article_id", "paragraph_index", "text", "tag", "kind", "kind_reason"]


def test_input_order_and_columns_kept_without_tag():
    paras = _paras([PROSE_A, "JOIN US ON TELEGRAM", PROSE_B]).drop("tag").reverse()
    out = classify_paragraphs(paras, _arts())
    assert out.columns == ["article_id", "paragraph_index", "text", "kind", "kind_reason"]
    assert out["paragraph_index"].to_list() == [2, 1, 0]
    assert out["kind"].to_list() == ["body", "boilerplate", "body"]


_LINE = st.text(max_size=80) | st.sampled_from(
    ["JOIN US", "Follow us on @x", "Title Case Line Here Now", "", "Share", "By Ann Lee", "© 2020", PROSE_A, "1) A B C"]
)


@settings(max_examples=100, deadline=None)
@given(
    st.lists(st.tuples(st.sampled_from(["a", "b", "c"]), _LINE, st.sampled_from([None, "p", "h", "li"])), max_size=12),
    st.lists(st.one_of(st.none(), st.text(max_size=30)), min_size=3, max_size=3),
)
def test_classify_never_raises(rows, titles):
    paras = pl.DataFrame(
        {
            "article_id": [r[0] for r in rows],
            "paragraph_index": list(range(len(rows))),
            "text": [r[1] for r in rows],
            "tag": [r[2] for r in rows],
        },
        schema=PARA_SCHEMA,
    )
    arts = pl.DataFrame({"article_id": ["a", "b", "c"], "source": ["s", "s", None], "title": titles}, schema=ART_SCHEMA)
    out = classify_paragraphs(paras, arts)
    assert out.height == paras.height
    assert set(out["kind"].to_list()) <= {"body", "heading", "boilerplate"}
    assert out["kind_reason"].null_count() == 0
    assert_frame_equal(out.select(paras.columns), paras)


def test_a_dateline_repeated_across_a_days_stories_is_not_template_text():
    """Wire stories of one day share their dateline line; it is the story's place and date."""
    n = REPEAT_MIN_ARTICLES + 2
    ids = [f"w{i}" for i in range(n)]
    lines = ["LONDON 2024-05-14", "SAN ANTONIO , Texas 2024-05-16", "WASHINGTON, Aug. 22"]
    footer = "The agency has not checked these reports and cannot confirm that they are accurate ."
    frames = [_paras([f"Story {i} headline", line, PROSE_A.replace("Monday", f"day {i}"), footer], aid)
              for i, aid in enumerate(ids) for line in lines[i % 3 : i % 3 + 1]]
    frames += [_paras([f"Extra {i} headline", "LONDON 2024-05-14", PROSE_B, footer], f"x{i}") for i in range(n)]
    out = classify_paragraphs(pl.concat(frames), _arts(ids + [f"x{i}" for i in range(n)], source="wire"))
    datelines = out.filter(pl.col("text").is_in(lines))
    assert datelines.height == 2 * n and set(datelines["kind"]) == {"body"}
    # the same source's real template line is still caught by the repetition evidence
    assert set(out.filter(pl.col("text") == footer)["kind_reason"]) == {f"repeated_in_source:{2 * n}"}
    # a timestamp line is still a timestamp
    ts = classify_paragraphs(_paras([PROSE_A, "Published 2024-08-22", PROSE_B]), _arts())
    assert _kinds(ts)[1] == ("boilerplate", "timestamp")


@pytest.mark.parametrize(
    "line",
    [
        "Valencia 2 Sevilla 0",
        "In Skopje : Vardar ( Macedonia ) 2 Dinamo Minsk ( Belarus ) 2 ( 1-1 )",
        "In Tallinn : Flora ( Estonia ) 0 Sparta Prague",
        "Marco Ruiz , Pablo Herrero ( Spain ) , Lars Nilsson",
        "West Coast 11.9 ( 75 ) Carlton 13.10 ( 88 )",
    ],
)
def test_a_results_line_between_prose_is_not_a_link(line):
    out = classify_paragraphs(_paras([PROSE_A, line, PROSE_B, PROSE_C]), _arts())
    assert out["kind"][1] == "body", _kinds(out)[1]


def test_story_titles_with_one_number_are_still_links():
    texts = [PROSE_A, "Apple Unveils New iPhone 15 At September Event", PROSE_B, PROSE_C]
    out = classify_paragraphs(_paras(texts), _arts())
    assert _kinds(out)[1] == ("boilerplate", "inline_link_title")


# --- wire datelines: the agency's credit --------------------------------------------------------

@pytest.mark.parametrize("text,credit", [
    ("NEW YORK (Reuters) - Shares of Ford rose.", "Reuters"),
    ("WASHINGTON, March 3 (Reuters) - The Federal Reserve held rates.", "Reuters"),
    ("LOS ANGELES (AP) — The studio said the film would open in June.", "AP"),
    ("SAN FRANCISCO, Jan 5 (Reuters Health) -- Doctors said.", "Reuters Health"),
    ("U.S. (Reuters) - Markets fell.", "Reuters"),
    ("HONG KONG - Hang Seng stocks fell.", None),  # a dateline without a credit
    ("Ford (F) - the carmaker - said sales grew.", None),  # no place in capitals
    ("The UN (United Nations) - said so.", None),
    ("Analysts at Reuters (Reuters) - no.", None),
    ("", None),
])
def test_a_wire_dateline_credit_is_found_only_at_a_capitalised_place(text, credit):
    from newsetl.transforms.boilerplate import wire_credit

    span = wire_credit(text)
    assert (text[span[0]:span[1]] if span else None) == credit


def test_the_agency_of_a_dateline_is_no_mention_but_a_later_one_is():
    from tests.test_copy_memo import enrich_text

    m = enrich_text("NEW YORK (Reuters) - Shares of Ford Motor Co rose on Monday after the carmaker said sales grew.\n\n"
                    "A Reuters poll of analysts had expected a fall, said Tom Smith of Acme Securities.")["entity_mentions"]
    rows = set(zip(m["paragraph_index"].to_list(), m["text"].to_list()))
    first = min(i for i, _ in rows)
    assert (first, "NEW YORK") in rows and (first, "Ford Motor Co") in rows  # the place stays
    assert (first, "Reuters") not in rows
    assert (first + 1, "Reuters") in rows  # Reuters as news, later, is a mention


def test_a_cookie_wall_is_a_consent_notice_and_prose_about_privacy_stays_body() -> None:
    """A cookie wall extracted as a page's text landed as three body paragraphs of an
    article; consent platforms word it alike (the IAB framework's "store and/or access
    information on a device"). News about data protection, reported or not, stays body."""
    wall = [
        "We and our 612 partners store and/or access information on a device, such as cookies, and process "
        "personal data, such as unique identifiers and standard information sent by a device for personalised "
        "advertising and content, advertising and content measurement, audience research and services development.",
        "With your permission we and our partners may use precise geolocation data and identification through "
        "device scanning. You may click to consent to our and our partners' processing as described above.",
        "Some processing of your personal data may not require your consent, but you have a right to object. "
        "You can change your preferences at any time by returning to this site.",
    ]
    prose = [
        PROSE_A,
        "The regulator said the firm and its partners store data on millions of customers without clear consent.",
        "Under the new law, users can withdraw consent, the minister told parliament on Tuesday.",
        "Users can withdraw consent at any time under the new rules, which take effect in May.",
        "Privacy campaigners want the processing of personal data by advertisers to be banned outright.",
    ]
    out = classify_paragraphs(_paras(wall + prose), _arts())
    assert _kinds(out)[:3] == [("boilerplate", "consent_notice")] * 3, _kinds(out)
    assert [k for k, _ in _kinds(out)[3:]] == ["body"] * 5, _kinds(out)
