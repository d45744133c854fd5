"""transforms/dedup.py: exact and near-duplicate clusters, representatives, stability."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import numpy as np
import polars as pl
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from newsetl.transforms import dedup as D
from newsetl.transforms.dedup import cluster_duplicates, minhash_signatures, shingle_jaccard

T0 = datetime(2026, 3, 1, 8, 0, tzinfo=timezone.utc)

ORIGINAL = """The city council voted on Tuesday to approve a new budget that increases spending on public transport by twelve percent, after a debate that lasted more than six hours.

Supporters said the extra money would pay for longer opening hours on the metro, three new bus routes in the northern districts and the repair of the ageing tram depot near the river.

Opponents argued that the plan relied on optimistic forecasts of ticket sales and would force the city to borrow again next year if passenger numbers did not recover.

The mayor said she was confident the figures were sound and promised a public review of the transport accounts every six months until the end of her term."""

# The same wire story as republished by another outlet: new first line, a Reuters
# credit, one word changed, and trailing boilerplate.
SYNDICATED = """LONDON (Reuters) - Councillors approved a budget on Tuesday that raises public transport spending by 12 percent, following a six-hour debate.

Supporters said the extra money would pay for longer opening hours on the metro, three new bus routes in the northern districts and the repair of the old tram depot near the river.

Opponents argued that the plan relied on optimistic forecasts of ticket sales and would force the city to borrow again next year if passenger numbers did not recover.

The mayor said she was confident the figures were sound and promised a public review of the transport accounts every six months until the end of her term.

Reporting by Jane Doe; Editing by John Smith

Sign up for our daily newsletter to get the top headlines in your inbox."""

# Different stories about the same event (same names, facts and topic words).
SAME_EVENT_A = """Bus drivers threatened to strike on Wednesday, a day after the city council approved a budget that raises public transport spending by twelve percent.

Their union said the three new bus routes in the northern districts would be run without hiring a single extra driver, and that rotas were already stretched.

A council spokesman said recruitment would begin in the spring and that no route would open before enough drivers had been trained.

The union will ballot its members next week; a strike could start in April."""

SAME_EVENT_B = """Analysis: can the city afford its transport plan? The budget passed by the council on Tuesday bets heavily on passengers returning to the metro.

Ticket income fell by a third during the last two years and has recovered only slowly, according to figures published by the transport authority.

If the forecasts prove too optimistic, the city will have to borrow again, cut other services or raise fares, three options the mayor has ruled out in public.

Economists we spoke to were divided on whether the numbers add up."""

UNRELATED = """The national football team named a new captain on Friday after the previous holder of the armband retired from international football at the age of thirty-four.

The coach said the choice had been easy because the midfielder had led the squad in training for months and was respected by younger players.

The team plays its next qualifying match away from home in ten days."""

SCHEMA = {"article_id": pl.String, "text": pl.String, "published_at": pl.Datetime("us", "UTC"), "source": pl.String}


def _frame(rows: list[tuple]) -> pl.DataFrame:
    """rows: (article_id, text, published_at or None, source)."""
    return pl.DataFrame(rows, schema=SCHEMA, orient="row")


def _by_id(out: pl.DataFrame) -> dict[str, tuple[str, str | None]]:
    return {a: (c, d) for a, c, d in out.select("article_id", "cluster_id", "duplicate_of").iter_rows()}


def test_exact_copy_gets_duplicate_of_the_earliest():
    out = cluster_duplicates(
        _frame(
            [
                ("b", ORIGINAL, T0 + timedelta(hours=2), "site-b"),
                ("a", ORIGINAL, T0, "site-a"),
                ("u", UNRELATED, T0, "site-a"),
            ]
        )
    )
    assert out.columns == ["article_id", "cluster_id", "duplicate_of"]
    assert out["article_id"].to_list() == ["b", "a", "u"]  # input order
    m = _by_id(out)
    assert m["a"][1] is None and m["b"][1] == "a"
    assert m["a"][0] == m["b"][0] != m["u"][0]
    assert m["u"][1] is None


def test_exact_copy_ignores_case_whitespace_and_punctuation():
    messy = ORIGINAL.upper().replace(", ", " ,  ").replace("\n\n", "\n") + " !!"
    m = _by_id(cluster_duplicates(_frame([("a", ORIGINAL, None, "x"), ("b", messy, None, "y")])))
    assert m["b"] == (m["a"][0], "a")


def test_curly_and_straight_apostrophes_are_the_same_body():
    text = "The minister said it doesn't matter and they won't resign. " * 3
    m = _by_id(cluster_duplicates(_frame([("a", text, None, "x"), ("b", text.replace("'", "\u2019"), None, "y")])))
    assert m["b"][1] == "a"


def test_syndicated_copy_with_small_edits_is_one_cluster():
    j = shingle_jaccard(ORIGINAL, SYNDICATED)
    assert D.JACCARD_THRESHOLD <= j < 0.9  # a real near-duplicate, not an exact one
    out = cluster_duplicates(
        _frame(
            [
                ("wire", SYNDICATED, T0 + timedelta(minutes=30), "reuters-feed"),
                ("orig", ORIGINAL, T0, "city-paper"),
                ("other", UNRELATED, T0, "city-paper"),
            ]
        )
    )
    m = _by_id(out)
    assert m["wire"] == (m["orig"][0], "orig")
    assert m["orig"][1] is None
    assert m["other"][0] != m["orig"][0]


def test_extended_version_joins_by_containment_but_a_roundup_does_not():
    extended = ORIGINAL + "\n\n" + SAME_EVENT_A + "\n\n" + SAME_EVENT_B + "\n\n" + UNRELATED
    f = D._features(pl.Series([ORIGINAL, extended]))
    jac, cont, ratio = D._overlap_pairs(np.array([[0, 1]]), f.sh, f.cnt)
    assert jac[0] < D.JACCARD_THRESHOLD and cont[0] >= D.CONTAINMENT_THRESHOLD and ratio[0] >= D.MIN_SIZE_RATIO
    filler = "\n\n".join(
        f"In other news item {i}, the {w} committee met again to discuss plans number {i * 7} for the {w} season."
        for i, w in enumerate(["sailing", "chess", "garden", "library", "cycling", "choir", "museum", "harbour",
                               "orchestra", "theatre", "rowing", "archery", "skating", "farmers", "bakery"])
    )
    roundup = "Your morning briefing.\n\n" + ORIGINAL + "\n\n" + UNRELATED + "\n\n" + SAME_EVENT_B + "\n\n" + filler
    f = D._features(pl.Series([ORIGINAL, roundup]))
    _, cont, ratio = D._overlap_pairs(np.array([[0, 1]]), f.sh, f.cnt)
    assert cont[0] >= D.CONTAINMENT_THRESHOLD and ratio[0] < D.MIN_SIZE_RATIO
    m = _by_id(cluster_duplicates(_frame([("orig", ORIGINAL, T0, "a"), ("ext", extended, T0 + timedelta(hours=3), "a")])))
    assert m["ext"] == (m["orig"][0], "orig")
    m = _by_id(cluster_duplicates(_frame([("orig", ORIGINAL, T0, "a"), ("roundup", roundup, T0 + timedelta(hours=4), "b")])))
    assert m["roundup"][1] is None and m["roundup"][0] != m["orig"][0]


def test_different_stories_about_the_same_event_stay_apart():
    for a, b in [(ORIGINAL, SAME_EVENT_A), (ORIGINAL, SAME_EVENT_B), (SAME_EVENT_A, SAME_EVENT_B)]:
        assert shingle_jaccard(a, b) < 0.1
    out = cluster_duplicates(
        _frame(
            [
                ("orig", ORIGINAL, T0, "city-paper"),
                ("strike", SAME_EVENT_A, T0, "city-paper"),
                ("analysis", SAME_EVENT_B, T0, "other-paper"),
            ]
        )
    )
    assert out["cluster_id"].n_unique() == 3
    assert out["duplicate_of"].null_count() == 3


def test_short_texts_match_only_exactly():
    short = "Police closed the bridge on Monday after a lorry hit the barrier."
    assert len(short.split()) < D.MIN_NEAR_WORDS
    edited = short.replace("Monday", "Tuesday")
    m = _by_id(
        cluster_duplicates(
            _frame([("a", short, T0, "x"), ("b", short, T0 + timedelta(hours=1), "y"), ("c", edited, T0, "z")])
        )
    )
    assert m["b"] == (m["a"][0], "a")
    assert m["c"][0] != m["a"][0] and m["c"][1] is None


def test_empty_and_null_bodies_never_cluster():
    m = _by_id(cluster_duplicates(_frame([("a", "", None, "x"), ("b", "", None, "x"), ("c", None, None, "x"), ("d", " ... ", None, "x")])))
    assert len({c for c, _ in m.values()}) == 4
    assert all(d is None for _, d in m.values())


def test_representative_earliest_then_smallest_id_nulls_last():
    out = cluster_duplicates(
        _frame(
            [
                ("z", ORIGINAL, None, "x"),
                ("y", ORIGINAL, T0 + timedelta(hours=1), "x"),
                ("x2", ORIGINAL, T0 + timedelta(hours=1), "x"),
                ("x3", SYNDICATED, T0 + timedelta(hours=5), "x"),
            ]
        )
    )
    m = _by_id(out)
    assert m["x2"][1] is None
    assert {k: d for k, (_, d) in m.items() if k != "x2"} == {"z": "x2", "y": "x2", "x3": "x2"}
    assert m["x2"][0] == D._cluster_hash("x2")
    # no dates at all: smallest article_id
    out2 = cluster_duplicates(_frame([("q", ORIGINAL, None, "x"), ("p", ORIGINAL, None, "x")]))
    assert _by_id(out2)["q"][1] == "p"


def test_adding_unrelated_articles_keeps_cluster_ids():
    base = _frame(
        [
            ("orig", ORIGINAL, T0, "a"),
            ("wire", SYNDICATED, T0 + timedelta(hours=1), "b"),
            ("strike", SAME_EVENT_A, T0, "a"),
            ("copy", SAME_EVENT_A, T0 + timedelta(hours=3), "c"),
        ]
    )
    before = _by_id(cluster_duplicates(base))
    more = pl.concat([_frame([("new1", UNRELATED, T0 - timedelta(days=1), "d"), ("new2", SAME_EVENT_B, T0, "d")]), base])
    after = _by_id(cluster_duplicates(more))
    assert {k: after[k] for k in before} == before
    # a later copy joining a cluster does not rename it either
    later = pl.concat([base, _frame([("late", ORIGINAL, T0 + timedelta(days=2), "e")])])
    after2 = _by_id(cluster_duplicates(later))
    assert {k: after2[k] for k in before} == before
    assert after2["late"] == (before["orig"][0], "orig")


def test_empty_frame():
    out = cluster_duplicates(pl.DataFrame(schema=SCHEMA))
    assert out.height == 0
    assert out.schema == pl.Schema({"article_id": pl.String, "cluster_id": pl.String, "duplicate_of": pl.String})


def test_duplicate_article_ids_are_rejected():
    with pytest.raises(ValueError):
        cluster_duplicates(_frame([("a", ORIGINAL, None, "x"), ("a", UNRELATED, None, "x")]))


def test_minhash_signatures_shape_and_determinism():
    texts = [ORIGINAL, SYNDICATED, UNRELATED, "too short", ""]
    sig = minhash_signatures(texts)
    assert sig.shape == (5, D.NUM_PERM) and sig.dtype == np.uint32
    # each row depends only on its own text (storable incrementally)
    np.testing.assert_array_equal(minhash_signatures([SYNDICATED])[0], sig[1])
    np.testing.assert_array_equal(minhash_signatures(pl.Series([UNRELATED, ORIGINAL]))[1], sig[0])
    assert (sig[3] == 0xFFFFFFFF).all() and (sig[4] == 0xFFFFFFFF).all()
    est = (sig[0] == sig[1]).mean()
    assert abs(est - shingle_jaccard(ORIGINAL, SYNDICATED)) < 0.2
    assert (sig[0] == sig[2]).mean() < 0.1
    assert minhash_signatures([]).shape == (0, D.NUM_PERM)


def test_signature_values_are_pinned():
    """Signatures may be stored in the warehouse: changing tokens, shingles or hash
    constants must come with a new SIGNATURE_VERSION (and this pinned value)."""
    sig = minhash_signatures(["one two three four five six"])
    assert D.SIGNATURE_VERSION == "w5-mh128-aff32-v1"
    assert sig[0, :4].tolist() == [972510648, 632850561, 1120634359, 1340552637]


def test_large_input_chunks_like_small(monkeypatch):
    texts = [ORIGINAL, SYNDICATED, SAME_EVENT_A, "", None, UNRELATED] * 5
    whole = D._features(pl.Series(texts, dtype=pl.String))
    monkeypatch.setattr(D, "_TOKEN_CHUNK_BYTES", 700)
    parts = D._features(pl.Series(texts, dtype=pl.String))
    for name in ("per_doc", "key", "sh", "cnt"):
        np.testing.assert_array_equal(getattr(whole, name), getattr(parts, name))


# --- property -----------------------------------------------------------------------

VOCAB = [f"w{i}" for i in range(40)]


@st.composite
def corpora(draw):
    n_base = draw(st.integers(0, 8))
    bases = [" ".join(draw(st.lists(st.sampled_from(VOCAB), min_size=0, max_size=70))) for _ in range(n_base)]
    texts = list(bases)
    for _ in range(draw(st.integers(0, 10))):
        if not bases:
            break
        words = draw(st.sampled_from(bases)).split()
        op = draw(st.sampled_from(["copy", "edit", "append", "prefix"]))
        if op == "edit" and words:
            words[draw(st.integers(0, len(words) - 1))] = draw(st.sampled_from(VOCAB))
        elif op == "append":
            words += draw(st.lists(st.sampled_from(VOCAB), max_size=6))
        elif op == "prefix":
            words = draw(st.lists(st.sampled_from(VOCAB), max_size=6)) + words
        texts.append(" ".join(words))
    dates = draw(st.lists(st.one_of(st.none(), st.integers(0, 3)), min_size=len(texts), max_size=len(texts)))
    ids = draw(st.lists(st.text("abcdef", min_size=1, max_size=4), min_size=len(texts), max_size=len(texts), unique=True))
    return _frame([(i, t, None if d is None else T0 + timedelta(days=d), "s") for i, t, d in zip(ids, texts, dates)])


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(corpora(), st.randoms(use_true_random=False))
def test_property_duplicate_of_points_to_the_clusters_representative(df, rnd):
    out = cluster_duplicates(df)
    assert out["article_id"].to_list() == df["article_id"].to_list()
    m = _by_id(out)
    reps = {}
    for aid, (cid, dup) in m.items():
        if dup is None:
            assert cid not in reps  # one representative per cluster
            reps[cid] = aid
            assert cid == D._cluster_hash(aid)
    for aid, (cid, dup) in m.items():
        assert cid in reps
        if dup is not None:
            assert dup in m and m[dup][0] == cid and m[dup][1] is None
            assert reps[cid] == dup
    # identical bodies (with words) always share a cluster
    texts = dict(zip(df["article_id"].to_list(), df["text"].to_list()))
    for a in texts:
        for b in texts:
            if texts[a] and texts[a] == texts[b]:
                assert m[a][0] == m[b][0]
    # row order does not matter
    order = list(range(df.height))
    rnd.shuffle(order)
    assert _by_id(cluster_duplicates(df[order])) == m


def test_minimal_columns_and_non_ascii_text():
    greek = "Η κυβέρνηση ανακοίνωσε σήμερα νέα μέτρα για την οικονομία και τις συντάξεις των πολιτών " * 4
    df = pl.DataFrame({"article_id": ["g1", "g2", "g3"], "text": [greek, greek.upper(), greek + " Πηγή: Reuters"]})
    m = _by_id(cluster_duplicates(df))
    assert m["g2"][1] == "g1" and m["g3"][1] == "g1"


def test_dedup_keys_in_chunks_equal_all_at_once(monkeypatch):
    import newsetl.transforms.dedup as dedup_mod

    texts = [f"Story {i} about the harbour strike and the wage deal that ended it after three weeks of talks"
             for i in range(7)] + ["", "short one"]
    whole = dedup_mod.dedup_keys(texts)
    monkeypatch.setattr(dedup_mod, "KEY_CHUNK", 2)
    assert dedup_mod.dedup_keys(texts) == whole and len(whole) == len(texts) and whole[-2] == []


def test_signatures_of_a_long_text_in_slices_are_the_same():
    """A text longer than the shingle buffer is hashed in slices, the minimum taken over them
    (a buffer as wide as a text of megabytes held 1.7 GB for 20 MB): any buffer width gives
    the same signatures, for long and short texts mixed."""
    rng = np.random.default_rng(3)
    words = [f"w{i}" for i in range(400)]
    texts = [" ".join(rng.choice(words, size=int(k))) for k in (0, 3, 12, 50, 700, 9, 2500, 6)]
    f = D._features(pl.Series(texts))
    whole = D._signatures_from_shingles(f.sh, f.cnt, chunk=1 << 16)
    for chunk in (1, 7, 64, 500, 4096):
        assert np.array_equal(D._signatures_from_shingles(f.sh, f.cnt, chunk=chunk), whole), chunk

