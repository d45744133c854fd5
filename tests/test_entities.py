"""Entity resolution: name keys, stable ids, in-article resolution, the entities table."""

from __future__ import annotations

import re

import polars as pl
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from polars.testing import assert_frame_equal

from tests.conftest import MENTION_SCHEMA, load_summit
from newsetl.transforms.entities import (
    build_entities,
    clean_name,
    entity_id_for,
    link_to_known,
    name_key,
    resolve_mentions,
)


def mentions_frame(rows: list[tuple[str, int, int, str, str]]) -> pl.DataFrame:
    """(article_id, paragraph_index, start_char, text, label) -> a mentions frame."""
    return pl.DataFrame(
        {
            "article_id": [r[0] for r in rows],
            "paragraph_index": [r[1] for r in rows],
            "sentence_index": [0 for _ in rows],
            "start_char": [r[2] for r in rows],
            "end_char": [r[2] + len(r[3]) for r in rows],
            "text": [r[3] for r in rows],
            "label": [r[4] for r in rows],
        },
        schema=MENTION_SCHEMA,
    )


PERSON = lambda name: entity_id_for("PERSON", name)  # noqa: E731


# --- name_key / entity_id_for -------------------------------------------------------

@pytest.mark.parametrize(
    "a,b",
    [
        ("Kim Jong-un", "Kim Jong Un"),
        ("Kim Jong-un", "KIM JONG UN"),
        ("Kim Jong‑Un", "kim  jong un"),  # non-breaking hyphen, double space
        ("Volodymyr Zelenskyy", "VOLODYMYR ZELENSKYY"),
        ("Recep Tayyip Erdoğan", "Recep Tayyip Erdogan"),
        ("U.S.", "US"),
        ("J. R. R. Tolkien", "JRR Tolkien"),
        ("O’Brien", "O'Brien"),
        ("Trump’s", "Trump"),
        ("the Pentagon", "Pentagon"),
    ],
)
def test_name_key_folds_spelling_variants(a, b):
    assert name_key(a) == name_key(b)


def test_name_key_keeps_different_names_apart():
    assert name_key("Kim Jong-un") != name_key("Kim Yo-jong")
    assert name_key("Donald Trump") != name_key("Donald Trump Jr.")


def test_entity_id_is_stable_and_label_grouped():
    eid = entity_id_for("PERSON", "Kim Jong-un")
    assert re.fullmatch(r"E[0-9a-f]{16}", eid)
    assert eid == entity_id_for("PERSON", "KIM JONG UN") == entity_id_for("person", "Kim Jong Un")
    assert entity_id_for("GPE", "Crimea") == entity_id_for("LOC", "Crimea")
    assert entity_id_for("ORG", "Trump") != entity_id_for("PERSON", "Trump")
    # Pinned: ids must not change between releases (they are keys in the warehouse).
    import hashlib
    assert eid == "E" + hashlib.sha1(b"PERSON|kim jong un").hexdigest()[:16]


def test_clean_name_strips_possessives_and_titles():
    assert clean_name("Trump’s", "PERSON") == "Trump"
    assert clean_name("Joe Biden's", "PERSON") == "Joe Biden"
    assert clean_name("Jones’", "PERSON") == "Jones"
    assert clean_name("President Joe Biden", "PERSON") == "Joe Biden"
    assert clean_name("President", "PERSON") == "President"  # never cleaned to nothing
    assert clean_name("the Kremlin’s", "ORG") == "Kremlin"


@settings(max_examples=300, deadline=None)
@given(st.text())
def test_name_key_is_idempotent(s):
    k = name_key(s)
    assert name_key(k) == k
    assert name_key(s.upper()) == name_key(s.lower()) or not s.isascii()


@settings(max_examples=100, deadline=None)
@given(
    st.lists(
        st.tuples(
            st.sampled_from(["a", "b"]),
            st.integers(0, 3),
            st.integers(0, 200),
            st.text(min_size=0, max_size=20),
            st.sampled_from(["PERSON", "ORG", "GPE", "LOC", "NORP", "FAC", "EVENT", ""]),
        ),
        max_size=25,
    )
)
def test_resolve_mentions_never_raises_and_keeps_rows(rows):
    df = mentions_frame(rows)
    out = resolve_mentions(df)
    assert out.height == df.height
    assert out["text"].to_list() == df["text"].to_list()  # same order
    # Null ids only for hyphenated two-person spans ("Trump-Kim").
    assert all("-" in t or "‐" in t or "‑" in t or "–" in t or "—" in t
               for t in out.filter(pl.col("entity_id").is_null())["text"].to_list())
    build_entities(out)


# --- resolve_mentions ----------------------------------------------------------------

def test_short_forms_go_to_the_full_name_in_the_article():
    df = mentions_frame([
        ("a", 0, 0, "Donald Trump’s", "PERSON"),
        ("a", 0, 40, "Kim Jong-un", "PERSON"),
        ("a", 1, 0, "Trump", "PERSON"),
        ("a", 1, 20, "Kim", "PERSON"),
        ("a", 2, 0, "Kim Jong Un", "PERSON"),
    ])
    out = resolve_mentions(df).select("text", "label", "entity_id", "entity_name")
    expected = pl.DataFrame({
        "text": ["Donald Trump’s", "Kim Jong-un", "Trump", "Kim", "Kim Jong Un"],
        "label": ["PERSON"] * 5,
        "entity_id": [PERSON("Donald Trump"), PERSON("Kim Jong-un"), PERSON("Donald Trump"),
                      PERSON("Kim Jong-un"), PERSON("Kim Jong-un")],
        "entity_name": ["Donald Trump", "Kim Jong-un", "Donald Trump", "Kim Jong-un", "Kim Jong-un"],
    })
    assert_frame_equal(out, expected)


def test_input_order_and_columns_are_kept():
    df = mentions_frame([("a", 1, 0, "Trump", "PERSON"), ("a", 0, 0, "Donald Trump", "PERSON")])
    out = resolve_mentions(df)
    assert out.columns == df.columns + ["ner_label", "entity_id", "entity_name"]
    assert out["text"].to_list() == ["Trump", "Donald Trump"]
    assert out["entity_name"].to_list() == ["Donald Trump", "Donald Trump"]


def test_surname_in_headline_before_full_name_links_forward():
    df = mentions_frame([("a", 0, 0, "Putin", "PERSON"), ("a", 3, 10, "Vladimir Putin", "PERSON")])
    assert resolve_mentions(df)["entity_id"].to_list() == [PERSON("Vladimir Putin")] * 2


def test_label_conflict_surname_tagged_org_becomes_person():
    df = mentions_frame([
        ("a", 0, 0, "Kim Jong-un", "PERSON"),
        ("a", 1, 0, "Kim", "ORG"),
        ("a", 1, 30, "UN", "ORG"),  # an acronym, not the "Un" of Kim Jong Un
        ("a", 2, 0, "Kim", "GPE"),
    ])
    out = resolve_mentions(df)
    assert out["label"].to_list() == ["PERSON", "PERSON", "ORG", "PERSON"]
    assert out["ner_label"].to_list() == ["PERSON", "ORG", "ORG", "GPE"]
    assert out["entity_id"].to_list()[1] == PERSON("Kim Jong-un")
    assert out["entity_id"].to_list()[2] == entity_id_for("ORG", "UN")


def test_ambiguous_surname_goes_to_the_most_recent_full_name():
    df = mentions_frame([
        ("a", 0, 0, "Kim Jong-un", "PERSON"),
        ("a", 1, 0, "Kim Yo-jong", "PERSON"),
        ("a", 2, 0, "Kim", "PERSON"),
        ("a", 3, 0, "Kim Jong-un", "PERSON"),
        ("a", 4, 0, "Kim", "PERSON"),
    ])
    ids = resolve_mentions(df)["entity_id"].to_list()
    assert ids[2] == PERSON("Kim Yo-jong")
    assert ids[4] == PERSON("Kim Jong-un")


def test_two_person_compound_and_headline_verb_spans():
    # What en_core_web_sm really returns on the seed article.
    df = mentions_frame([
        ("a", 0, 0, "Donald Trump", "PERSON"),
        ("a", 0, 30, "Kim Jong-un", "PERSON"),
        ("a", 1, 0, "Trump-Kim", "PERSON"),  # "past Trump-Kim summits"
        ("a", 2, 0, "Trump", "PERSON"),
        ("a", 2, 20, "Kim", "PERSON"),
        ("a", 3, 0, "Putin Wants", "PERSON"),  # heading "... as Putin Wants"
        ("a", 4, 0, "Vladimir Putin", "PERSON"),
    ])
    out = resolve_mentions(df)
    assert out["entity_id"].to_list() == [
        PERSON("Donald Trump"), PERSON("Kim Jong-un"), None, PERSON("Donald Trump"),
        PERSON("Kim Jong-un"), PERSON("Vladimir Putin"), PERSON("Vladimir Putin"),
    ]
    names = build_entities(out)["name"].to_list()
    assert sorted(names) == ["Donald Trump", "Kim Jong-un", "Vladimir Putin"]


def test_hyphenated_single_person_names_are_kept():
    df = mentions_frame([("a", 0, 0, "Andrew Lloyd-Webber", "PERSON"), ("a", 1, 0, "Lloyd-Webber", "PERSON"),
                         ("a", 2, 0, "Jean-Luc Picard", "PERSON"), ("a", 3, 0, "Jean-Luc", "PERSON")])
    out = resolve_mentions(df)
    assert out["entity_name"].to_list() == ["Andrew Lloyd-Webber"] * 2 + ["Jean-Luc Picard"] * 2
    assert out["entity_id"].null_count() == 0


def test_generational_suffix_is_a_different_person():
    df = mentions_frame([
        ("a", 0, 0, "Donald Trump", "PERSON"),
        ("a", 1, 0, "Donald Trump Jr.", "PERSON"),
    ])
    ids = resolve_mentions(df)["entity_id"].to_list()
    assert ids[0] != ids[1]


def test_middle_initial_form_links_to_fuller_name_within_article():
    df = mentions_frame([("a", 0, 0, "George W. Bush", "PERSON"), ("a", 1, 0, "George Bush", "PERSON")])
    assert resolve_mentions(df)["entity_name"].to_list() == ["George W. Bush"] * 2


def test_org_acronym_links_to_spelled_out_org():
    df = mentions_frame([
        ("a", 0, 0, "the United Nations", "ORG"),
        ("a", 1, 0, "UN", "ORG"),
        ("a", 1, 10, "NATO", "ORG"),
    ])
    out = resolve_mentions(df)
    assert out["entity_name"].to_list() == ["United Nations", "United Nations", "NATO"]
    assert out["entity_id"].to_list()[1] == entity_id_for("ORG", "United Nations")


def test_same_person_same_id_across_articles_and_spellings():
    df = mentions_frame([
        ("a", 0, 0, "Kim Jong Un", "PERSON"),
        ("a", 1, 0, "Kim", "PERSON"),
        ("b", 0, 0, "KIM JONG-UN", "PERSON"),
        ("b", 2, 0, "Kim’s", "PERSON"),
        ("c", 0, 0, "Kim Jong-un", "PERSON"),
    ])
    assert resolve_mentions(df)["entity_id"].unique().to_list() == [PERSON("Kim Jong-un")]


def test_short_form_does_not_cross_articles():
    # Article b never names the full name: its "Trump" stays a surname entity.
    df = mentions_frame([("a", 0, 0, "Donald Trump", "PERSON"), ("b", 0, 0, "Trump", "PERSON")])
    ids = resolve_mentions(df)["entity_id"].to_list()
    assert ids == [PERSON("Donald Trump"), PERSON("Trump")]


def test_empty_mentions():
    out = resolve_mentions(mentions_frame([]))
    assert out.height == 0
    assert {"entity_id", "entity_name"} <= set(out.columns)
    assert build_entities(out).columns == ["entity_id", "name", "label", "aliases", "article_count", "mention_count"]


# --- build_entities on the seed-like article -------------------------------------------

def test_seed_like_article_entities():
    _, mentions = load_summit()
    ents = build_entities(resolve_mentions(mentions))
    persons = ents.filter(pl.col("label") == "PERSON").sort("name")
    assert persons["name"].to_list() == ["Donald Trump", "Joe Biden", "Kim Jong-un", "Vladimir Putin"]
    aliases = dict(zip(persons["name"].to_list(), persons["aliases"].to_list()))
    assert aliases["Donald Trump"] == ["Donald Trump", "Trump"]
    assert aliases["Kim Jong-un"] == ["Kim", "Kim Jong Un", "Kim Jong-un"]
    assert aliases["Joe Biden"] == ["Joe Biden"]
    assert aliases["Vladimir Putin"] == ["Putin", "Vladimir Putin"]
    counts = dict(zip(persons["name"].to_list(), persons["mention_count"].to_list()))
    assert counts == {"Donald Trump": 4, "Joe Biden": 1, "Kim Jong-un": 4, "Vladimir Putin": 4}
    assert persons["entity_id"].to_list() == [PERSON(n) for n in persons["name"].to_list()]
    assert ents.schema["article_count"] == pl.Int64
    assert ents.schema["aliases"] == pl.List(pl.String)
    # GPE mentions collapse per place; NORP stays NORP.
    assert ents.filter(pl.col("name") == "Pyongyang")["mention_count"].to_list() == [4]


def test_build_entities_from_landed_table_without_entity_name():
    _, mentions = load_summit()
    resolved = resolve_mentions(mentions)
    with_name = build_entities(resolved)
    landed = build_entities(resolved.select("article_id", "paragraph_index", "start_char", "text", "label", "entity_id"))
    assert_frame_equal(with_name, landed)
    # What warehouse.rebuild_entities selects: no positions, entity_name present.
    warehouse = build_entities(resolved.select("article_id", "entity_id", "entity_name", "text", "label"))
    assert_frame_equal(with_name, warehouse)


def test_build_entities_aggregates_over_articles():
    df = resolve_mentions(mentions_frame([
        ("a", 0, 0, "Kim Jong Un", "PERSON"),
        ("a", 1, 0, "Kim", "PERSON"),
        ("b", 0, 0, "Kim Jong-un", "PERSON"),
        ("b", 1, 0, "Kim Jong-un", "PERSON"),
        ("b", 2, 0, "Kim", "ORG"),
    ]))
    expected = pl.DataFrame(
        {
            "entity_id": [PERSON("Kim Jong-un")],
            "name": ["Kim Jong-un"],  # longest, tie -> most frequent
            "label": ["PERSON"],
            "aliases": [["Kim", "Kim Jong Un", "Kim Jong-un"]],
            "article_count": [2],
            "mention_count": [5],
        },
        schema={"entity_id": pl.String, "name": pl.String, "label": pl.String,
                "aliases": pl.List(pl.String), "article_count": pl.Int64, "mention_count": pl.Int64},
    )
    assert_frame_equal(build_entities(df), expected)
    assert_frame_equal(build_entities(df.lazy()), expected)


# --- link_to_known --------------------------------------------------------------------

def test_link_to_known_links_unique_surname_only():
    known = build_entities(resolve_mentions(mentions_frame([
        ("a", 0, 0, "Vladimir Putin", "PERSON"),
        ("a", 1, 0, "Kim Jong-un", "PERSON"),
        ("a", 2, 0, "Kim Yo-jong", "PERSON"),
    ])))
    new = resolve_mentions(mentions_frame([
        ("z", 0, 0, "Putin", "PERSON"),
        ("z", 1, 0, "Kim", "PERSON"),  # two known Kims: ambiguous, left alone
        ("z", 2, 0, "Kremlin", "ORG"),
    ]))
    out = link_to_known(new, known)
    assert out["entity_id"].to_list() == [PERSON("Vladimir Putin"), PERSON("Kim"), entity_id_for("ORG", "Kremlin")]
    assert out["entity_name"].to_list() == ["Vladimir Putin", "Kim", "Kremlin"]
    assert out["linked_to_known"].to_list() == [True, False, False]
    assert out.columns == new.columns + ["linked_to_known"]
