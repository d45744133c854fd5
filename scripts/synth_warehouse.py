"""Fill a warehouse with N synthetic articles at realistic row counts (issue 13, part 3).

    .venv/bin/python scripts/synth_warehouse.py --articles 100000 --warehouse /tmp/synth-100k

Per article, like the BBC corpus as the pipeline lands it: about 5 paragraphs, 19
sentences, 28 entity mentions, 4 quotes, ~330 words (~2 KB of text). Entities come from a
Zipf-like vocabulary (200k names, exponent 1.1, the most common ones real
place, party and people names; ids from the pipeline's own
`entity_id_for`) so ids repeat across articles; dates spread over a year, a few % undated;
a few exact and near duplicates (copies of earlier texts, some with one sentence changed);
several sources. The result is landed through the project's own landing code
(`newsetl.warehouse.Writer`) in runs (one publish each, default 200,000 articles) of
batches (one `land` each, default 50,000), so `newsetl run`, `newsetl sql` and
`newsetl serve` use it like any other warehouse.

How the text is built (vectorised, no per-row Python except hashing):
- a few thousand sentence templates are made once from a fixed word list: text fragments
  around 0-4 entity slots ("<f0><E1><f1><E2><f2>"), plus quote templates
  (`"<quote>," said <PERSON>.`), short headings and boilerplate lines;
- per batch, numpy draws a plan (paragraphs per article, their kind, sentences per
  paragraph, one template and its entities per sentence), duplicates copy an earlier
  article's plan (near duplicates then re-draw one sentence);
- Polars renders the plan: sentence text = concat of fragments and entity surfaces, all
  character offsets from cumulative lengths, paragraph and article texts by group joins.

Row counts are drawn so that their means match the BBC figures quoted in issue 13; the
generated text is not BBC text (no research data is copied or needed).
"""

from __future__ import annotations

import argparse
import hashlib
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime, timezone
from pathlib import Path

import numpy as np
import polars as pl

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:  # run as a plain script from a checkout
    sys.path.insert(0, str(ROOT))

from newsetl import schema  # noqa: E402
from newsetl.settings import PIPELINE_VERSION, Settings  # noqa: E402
from newsetl.transforms.entities import entity_id_for  # noqa: E402
from newsetl.transforms.quotes import scare_quote_expr  # noqa: E402

# ------------------------------------------------------------------ shape of an article
# Targets per article (issue 13, "like BBC"): 5 paragraphs, 19 sentences, 28 mentions,
# 4 quotes, ~330 words. The parameters below are chosen so the means come out there:
#   paragraphs = 2 + Poisson(3)                                   -> 5.0
#   body sentences per body paragraph = 1 + Poisson(3.05), headings and boilerplate 1
#                                                                  -> ~19 sentences
#   quote sentences: 22% of body sentences                         -> ~4 quotes
#   entity slots of a plain template: 0..4 with P below (mean 1.68), quotes 1 -> ~28
#   filler words per template: plain 9..21 (mean 15), quotes 8..18 -> ~330 words/article
PARAGRAPHS_MIN, PARAGRAPHS_POISSON = 2, 3.0
SENTENCES_POISSON = 3.05
HEADING_P = 0.05  # a middle paragraph is a heading
BOILERPLATE_LAST_P = 0.25  # the last paragraph is boilerplate ("Follow us on ...")
BOILERPLATE_P = 0.02  # any other paragraph is boilerplate
QUOTE_P = 0.22
SLOT_P = np.array([0.14, 0.32, 0.32, 0.16, 0.06])  # P(0..4 entity slots), mean 1.68
UNDATED_P = 0.03
EXACT_DUP_P = 0.015
NEAR_DUP_P = 0.01
N_TEMPLATES, N_QUOTE_TEMPLATES, N_HEADINGS = 4000, 800, 300
# Zipf-Mandelbrot: P(rank k) ~ (k + ZIPF_OFFSET) ** -ZIPF_EXPONENT. Without the offset the
# top name would take 13% of all mentions; with 5 it takes 2.5% (0.7 per article), as "US"
# does in the BBC corpus (0.68 per article, counted with a word-boundary regex).
VOCAB_SIZE, ZIPF_EXPONENT, ZIPF_OFFSET = 200_000, 1.1, 5
YEAR_START = datetime(2025, 1, 1, tzinfo=timezone.utc)
SOURCES = [  # (source, site_name, weight)
    ("synth-wire", "Synthetic Wire", 0.30),
    ("synth-times", "The Synthetic Times", 0.20),
    ("synth-herald", "Synthetic Herald", 0.15),
    ("synth-post", "The Synthetic Post", 0.15),
    ("synth-tribune", "Synthetic Tribune", 0.12),
    ("synth-daily", "Synthetic Daily", 0.08),
]
LABEL_P = {"PERSON": 0.40, "ORG": 0.25, "GPE": 0.20, "NORP": 0.07, "LOC": 0.08}

WORDS = """
the of and to in a is that for it as was with be by on not he this are or his from at which
but have an they you were her she there been one all we their has would when if so no will
more about up out who get them some could into than other then its only over also new after
year years people government said minister official plans report week month day time last
first two three four five million billion per cent percent rise fall growth market prices
company firm shares profit sales deal talks support against public service health care
police court case law trial judge told news local city country state national international
economy economic bank rates interest inflation jobs workers union strike pay tax budget
election vote voters party campaign leader leaders president prime council members group
officials spokesman statement announced expected according recent figures data show shows
showed increase decrease higher lower record since during while despite between under
before around across world team game match season win won lost players club coach final
league cup fans goal goals second half injury return played playing film music show star
album award awards director stage festival audience critics series new technology mobile
phone internet online users software computer digital network services customers system
security research study studies scientists university school schools children families
young older women men home homes housing energy oil gas power climate environment water
food farmers industry trade exports imports deal agreement treaty border foreign defence
military forces troops war peace crisis warning warned concerns concern fears hopes plan
future decision decided called calls move moves began begin continue continued remain
remains still however although because whether likely unlikely possible major minor key
""".split()

FIRST_SYL = "al an ar ba bel bor ca cor da del dor el en fa fen ga gar ha hal is ja jor ka kel la lan li lo ma mar mi mor na nor o pa per ra ros sa sel ta tor u va vel wen ya zen".split()
MID_SYL = "a e i o u an en in on ar er or el il al".split()
LAST_SYL = "n s th rd ck ton ley ford son man ver dine ssa ria lo nez ski ov ani etti".split()
ORG_SUFFIX = ["Group", "Holdings", "Party", "Council", "University", "Bank", "United", "Corporation",
              "Foundation", "Airlines", "Motors", "Energy", "Telecom", "Institute", "Agency", "Records"]
LOC_SUFFIX = ["River", "Valley", "Sea", "Mountains", "Lake", "Coast", "Peninsula", "Desert", "Basin", "Strait"]
NORP_SUFFIX = ["ian", "ese", "ish", "an", "i"]
# The head of the Zipf vocabulary: names every news corpus mentions most (general
# knowledge, not taken from any data set), so that real articles landed into a synthetic
# warehouse touch its most-mentioned entity ids, as they would in a real one.
COMMON_ENTITIES = [
    ("US", "GPE"), ("UK", "GPE"), ("London", "GPE"), ("China", "GPE"), ("France", "GPE"),
    ("Germany", "GPE"), ("Europe", "LOC"), ("Japan", "GPE"), ("India", "GPE"), ("Russia", "GPE"),
    ("Washington", "GPE"), ("Paris", "GPE"), ("Scotland", "GPE"), ("Wales", "GPE"), ("Ireland", "GPE"),
    ("Iraq", "GPE"), ("Iran", "GPE"), ("Israel", "GPE"), ("Africa", "LOC"), ("Asia", "LOC"),
    ("EU", "ORG"), ("BBC", "ORG"), ("Labour", "ORG"), ("UN", "ORG"), ("Google", "ORG"),
    ("Microsoft", "ORG"), ("Apple", "ORG"), ("Nato", "ORG"), ("Parliament", "ORG"), ("Reuters", "ORG"),
    ("British", "NORP"), ("American", "NORP"), ("European", "NORP"), ("Chinese", "NORP"), ("French", "NORP"),
    ("Tony Blair", "PERSON"), ("Gordon Brown", "PERSON"), ("George Bush", "PERSON"), ("Michael Howard", "PERSON"),
    ("Charles Kennedy", "PERSON"), ("Jose Mourinho", "PERSON"), ("Arsene Wenger", "PERSON"),
]

BOILERPLATE = [
    "Follow us on social media for the latest updates.",
    "Share this page.",
    "Sign up for our daily newsletter.",
    "Read more about these topics.",
    "All rights reserved.",
    "Related internet links are not endorsed by this site.",
    "Get in touch with the newsroom.",
    "Comments are closed for this story.",
    "Download our app for breaking news alerts.",
    "Copyright notice: this article may not be reproduced.",
]


# ------------------------------------------------------------------ vocabulary, templates
def _pseudo_words(rng: np.random.Generator, n: int) -> list[str]:
    """n distinct capitalised pseudo-words from syllables (names that are no real person)."""
    out: dict[str, None] = {}
    while len(out) < n:
        k = n - len(out)
        a = rng.integers(0, len(FIRST_SYL), 2 * k)
        m = rng.integers(0, len(MID_SYL), 2 * k)
        z = rng.integers(0, len(LAST_SYL), 2 * k)
        three = rng.random(2 * k) < 0.5
        b = rng.integers(0, len(FIRST_SYL), 2 * k)
        for i in range(2 * k):
            w = FIRST_SYL[a[i]] + (FIRST_SYL[b[i]] if three[i] else "") + MID_SYL[m[i]] + LAST_SYL[z[i]]
            out.setdefault(w.capitalize(), None)
            if len(out) >= n:
                break
    return list(out)


def build_vocabulary(seed: int, size: int = VOCAB_SIZE) -> pl.DataFrame:
    """Entities: name, short (surface used for some mentions: a PERSON's surname), label,
    entity_id (the pipeline's own id function). Row order = Zipf rank."""
    rng = np.random.default_rng([seed, 1])
    labels = list(LABEL_P)
    lab = rng.choice(len(labels), size=int(size * 1.1), p=list(LABEL_P.values()))
    stems = _pseudo_words(rng, 30_000)
    st = np.array(stems, dtype=object)
    n = len(lab)
    s1 = st[rng.integers(0, len(st), n)]
    s2 = st[rng.integers(0, len(st), n)]
    suf_org = np.array(ORG_SUFFIX, dtype=object)[rng.integers(0, len(ORG_SUFFIX), n)]
    suf_loc = np.array(LOC_SUFFIX, dtype=object)[rng.integers(0, len(LOC_SUFFIX), n)]
    suf_norp = np.array(NORP_SUFFIX, dtype=object)[rng.integers(0, len(NORP_SUFFIX), n)]
    names, shorts, labs = [], [], []
    for i in range(n):
        label = labels[lab[i]]
        if label == "PERSON":
            name, short = f"{s1[i]} {s2[i]}", s2[i]
        elif label == "ORG":
            name = f"{s1[i]} {suf_org[i]}"
            short = name
        elif label == "GPE":
            name = s1[i] if i % 3 else f"{s1[i]} {s2[i]}"
            short = name
        elif label == "NORP":
            name = s1[i] + suf_norp[i]
            short = name
        else:
            name = f"{s1[i]} {suf_loc[i]}"
            short = name
        names.append(name)
        shorts.append(short)
        labs.append(label)
    head = [(n, n.split()[-1] if lab == "PERSON" else n, lab) for n, lab in COMMON_ENTITIES]
    names = [n for n, _, _ in head] + names
    shorts = [s for _, s, _ in head] + shorts
    labs = [lab for _, _, lab in head] + labs
    df = pl.DataFrame({"name": names, "short": shorts, "label": labs})
    df = df.with_columns(entity_id=pl.Series([entity_id_for(l, nm) for l, nm in zip(labs, names)], dtype=pl.String))
    # distinct ids only (different names can share a key), then exactly `size` of them
    return df.unique("entity_id", keep="first", maintain_order=True).head(size)


def _filler(rng: np.random.Generator, n: int, weights: np.ndarray) -> str:
    return " ".join(np.array(WORDS, dtype=object)[rng.choice(len(WORDS), n, p=weights)])


def build_templates(seed: int) -> tuple[pl.DataFrame, pl.DataFrame, list[str]]:
    """(sentence templates, heading templates, boilerplate lines).

    A template: fragments f0..f4 around up to 4 entity slots, n_slots, is_quote and the
    quote text. Fragments are built so that entity names stand between spaces."""
    rng = np.random.default_rng([seed, 2])
    ranks = np.arange(1, len(WORDS) + 1, dtype=np.float64)
    weights = ranks ** -0.8  # common words more often, as in prose
    weights /= weights.sum()
    rows = []
    for t in range(N_TEMPLATES + N_QUOTE_TEMPLATES):
        if t < N_TEMPLATES:
            k = int(rng.choice(len(SLOT_P), p=SLOT_P))
            words = int(rng.integers(9, 22))
            # split the filler words into k+1 runs; a slot may open the sentence
            cuts = np.sort(rng.integers(0, words + 1, k))
            runs = np.diff(np.concatenate([[0], cuts, [words]]))
            frags = []
            for j, r in enumerate(runs):
                text = _filler(rng, int(r), weights) if r else ""
                if k == 0:
                    frags.append(text[:1].upper() + text[1:] + ".")
                elif j == 0:
                    text = text[:1].upper() + text[1:]
                    frags.append(text + " " if text else "")
                elif j == k:
                    frags.append((" " + text if text else "") + ".")
                else:
                    frags.append(" " + text + " " if text else " and ")
            quote = None
        else:
            k = 1
            quote = _filler(rng, int(rng.integers(8, 19)), weights)
            quote = quote[:1].upper() + quote[1:]
            frags = [f'"{quote}," said ', "."]
        frags += [""] * (5 - len(frags))
        rows.append({"n_slots": k, "is_quote": quote is not None, "quote": quote,
                     **{f"f{j}": frags[j] for j in range(5)}})
    templates = pl.DataFrame(rows, schema={"n_slots": pl.Int32, "is_quote": pl.Boolean, "quote": pl.String,
                                           **{f"f{j}": pl.String for j in range(5)}})
    heads = []
    for _ in range(N_HEADINGS):
        w = _filler(rng, int(rng.integers(3, 7)), weights).title()
        has = rng.random() < 0.5
        heads.append({"n_slots": int(has), "is_quote": False, "quote": None,
                      "f0": "", "f1": " " + w if has else "", "f2": "", "f3": "", "f4": ""} if has else
                     {"n_slots": 0, "is_quote": False, "quote": None, "f0": w, "f1": "", "f2": "", "f3": "", "f4": ""})
    return templates, pl.DataFrame(heads, schema=templates.schema), BOILERPLATE


class Model:
    """Everything drawn once per seed: vocabulary with Zipf sampling tables, templates."""

    def __init__(self, seed: int, vocab_size: int = VOCAB_SIZE):
        self.seed = seed
        self.vocab = build_vocabulary(seed, vocab_size)
        v = self.vocab.height
        # Zipf over ranks: the common names first (shuffled), then a random permutation of
        # the rest, so the head mixes labels.
        rng = np.random.default_rng([seed, 3])
        k = len(COMMON_ENTITIES)
        p = (np.arange(1, v + 1, dtype=np.float64) + ZIPF_OFFSET) ** -ZIPF_EXPONENT
        self.cdf = np.cumsum(p / p.sum())
        self.order = np.concatenate([rng.permutation(k), k + rng.permutation(v - k)])
        persons = np.flatnonzero((self.vocab["label"] == "PERSON").to_numpy())
        pp = (np.arange(1, len(persons) + 1, dtype=np.float64) + ZIPF_OFFSET) ** -ZIPF_EXPONENT
        self.person_cdf = np.cumsum(pp / pp.sum())
        self.person_order = np.concatenate([rng.permutation(persons[persons < k]),
                                            rng.permutation(persons[persons >= k])])
        self.templates, self.headings, self.boilerplate = build_templates(seed)
        self.plain_ids = np.flatnonzero(~self.templates["is_quote"].to_numpy())
        self.quote_ids = np.flatnonzero(self.templates["is_quote"].to_numpy())

    def entities(self, rng: np.random.Generator, n: int) -> np.ndarray:
        r = np.minimum(np.searchsorted(self.cdf, rng.random(n)), len(self.cdf) - 1)
        return self.order[r]

    def persons(self, rng: np.random.Generator, n: int) -> np.ndarray:
        r = np.minimum(np.searchsorted(self.person_cdf, rng.random(n)), len(self.person_cdf) - 1)
        return self.person_order[r]


# ------------------------------------------------------------------ one batch
KIND_BODY, KIND_HEADING, KIND_BOILER = 0, 1, 2
MAX_SLOTS = 4


def _plan(model: Model, rng: np.random.Generator, n: int) -> dict[str, np.ndarray]:
    """Sentence-level plan for n articles (local article numbers 0..n-1), sorted by
    (article, paragraph, sentence): kind, template row, entity vocabulary rows per slot."""
    n_par = PARAGRAPHS_MIN + rng.poisson(PARAGRAPHS_POISSON, n)
    p_art = np.repeat(np.arange(n), n_par)
    p_first = np.repeat(np.cumsum(n_par) - n_par, n_par)
    p_idx = np.arange(len(p_art)) - p_first
    is_last = p_idx == n_par[p_art] - 1
    u = rng.random(len(p_art))
    kind = np.full(len(p_art), KIND_BODY, dtype=np.int8)
    kind[(p_idx > 0) & ~is_last & (u < HEADING_P)] = KIND_HEADING
    kind[(p_idx > 0) & (u > 1 - np.where(is_last, BOILERPLATE_LAST_P, BOILERPLATE_P))] = KIND_BOILER
    n_sent = np.where(kind == KIND_BODY, 1 + rng.poisson(SENTENCES_POISSON, len(p_art)), 1)
    s_par = np.repeat(np.arange(len(p_art)), n_sent)
    s_first = np.repeat(np.cumsum(n_sent) - n_sent, n_sent)
    s_kind = kind[s_par]
    ns = len(s_par)
    # template per sentence; headings and boilerplate index their own tables
    is_quote = (s_kind == KIND_BODY) & (rng.random(ns) < QUOTE_P)
    tmpl = np.where(is_quote, model.quote_ids[rng.integers(0, len(model.quote_ids), ns)],
                    model.plain_ids[rng.integers(0, len(model.plain_ids), ns)])
    tmpl = np.where(s_kind == KIND_HEADING, rng.integers(0, model.headings.height, ns), tmpl)
    tmpl = np.where(s_kind == KIND_BOILER, rng.integers(0, len(model.boilerplate), ns), tmpl)
    ents = model.entities(rng, ns * MAX_SLOTS).reshape(ns, MAX_SLOTS)
    ents[is_quote, 0] = model.persons(rng, int(is_quote.sum()))  # the speaker is a person
    short = rng.random((ns, MAX_SLOTS)) < 0.35  # PERSON mentioned by surname
    return {"art": p_art[s_par], "para": p_idx[s_par], "sent": np.arange(ns) - s_first, "kind": s_kind,
            "tmpl": tmpl, "ents": ents, "short": short, "new_ents": model.entities(rng, ns)}


def _take(plan: dict[str, np.ndarray], rows: np.ndarray) -> dict[str, np.ndarray]:
    return {k: v[rows] for k, v in plan.items()}


def _with_duplicates(model: Model, rng: np.random.Generator, plan: dict, n: int) -> tuple[dict, np.ndarray, np.ndarray]:
    """Replace some articles' plans by copies of an earlier article in the batch. Returns
    (plan, source article per article or -1, near-duplicate flag)."""
    u = rng.random(n)
    dup = (u < EXACT_DUP_P + NEAR_DUP_P) & (np.arange(n) > 0)
    near = dup & (u < NEAR_DUP_P)
    src = np.where(dup, (rng.random(n) * np.arange(n)).astype(np.int64), -1)
    src = np.where(dup & (src >= 0), src, -1)
    # a copy of a copy copies the original (src < own number, so this ends)
    while True:
        up = np.where(src >= 0, src[np.maximum(src, 0)], -1)
        hop = (src >= 0) & (up >= 0)
        if not hop.any():
            break
        src = np.where(hop, up, src)
    if not dup.any():
        return plan, src, near
    art = plan["art"]
    keep = ~dup[art]
    starts = np.searchsorted(art, np.arange(n))
    ends = np.searchsorted(art, np.arange(n), side="right")
    d_ids = np.flatnonzero(dup)
    lens = ends[src[d_ids]] - starts[src[d_ids]]
    rows = np.concatenate([np.arange(starts[s], ends[s]) for s in src[d_ids]]) if len(d_ids) else np.zeros(0, np.int64)
    copy = _take(plan, rows)
    copy["art"] = np.repeat(d_ids, lens)
    # near duplicates: one body sentence gets another template of the same kind
    near_rows = np.flatnonzero(near[copy["art"]] & (copy["kind"] == KIND_BODY))
    if len(near_rows):
        first = np.unique(copy["art"][near_rows], return_index=True)[1]
        counts = np.diff(np.append(first, len(near_rows)))
        pick = near_rows[first + (rng.random(len(first)) * counts).astype(np.int64)]
        is_q = model.templates["is_quote"].to_numpy()[copy["tmpl"][pick]]
        copy["tmpl"][pick] = np.where(is_q, model.quote_ids[rng.integers(0, len(model.quote_ids), len(pick))],
                                      model.plain_ids[rng.integers(0, len(model.plain_ids), len(pick))])
    merged = {k: np.concatenate([plan[k][keep], copy[k]]) for k in plan}
    order = np.lexsort((merged["sent"], merged["para"], merged["art"]))
    return {k: v[order] for k, v in merged.items()}, src, near


def _render_sentences(model: Model, plan: dict) -> tuple[pl.DataFrame, pl.DataFrame]:
    """(sentences with text and in-sentence slot offsets, mentions with in-sentence offsets)."""
    ns = len(plan["art"])
    kind = plan["kind"]
    body = kind == KIND_BODY
    t, h = model.templates, model.headings
    is_head, is_boil = pl.Series(kind == KIND_HEADING), pl.Series(kind == KIND_BOILER)
    tmpl = pl.Series(np.where(body, plan["tmpl"], 0))
    hidx = pl.Series(np.where(kind == KIND_HEADING, plan["tmpl"], 0))
    bidx = pl.Series(np.where(kind == KIND_BOILER, plan["tmpl"], 0))
    boil = pl.Series(model.boilerplate, dtype=pl.String).gather(bidx)

    def pick(col: str, boiler):
        return pl.select(pl.when(is_head).then(h[col].gather(hidx)).when(is_boil).then(boiler)
                         .otherwise(t[col].gather(tmpl))).to_series()

    frag = {f"f{j}": pick(f"f{j}", boil if j == 0 else pl.lit("")) for j in range(5)}
    n_slots = pick("n_slots", pl.lit(0, dtype=pl.Int32)).to_numpy()
    quote = pick("quote", pl.lit(None, dtype=pl.String))
    v = model.vocab
    cols: dict[str, pl.Series | np.ndarray] = {}
    for j in range(MAX_SLOTS):
        idx = pl.Series(plan["ents"][:, j])
        present = j < n_slots
        lab = v["label"].gather(idx)
        surface = pl.select(
            pl.when(pl.Series(plan["short"][:, j]) & (lab == "PERSON")).then(v["short"].gather(idx))
            .otherwise(v["name"].gather(idx))
        ).to_series()
        cols[f"e{j}"] = pl.Series(np.where(present, plan["ents"][:, j], -1))
        cols[f"s{j}"] = pl.select(pl.when(pl.Series(present)).then(surface).otherwise(pl.lit(""))).to_series()
    df = pl.DataFrame({**frag, **{f"s{j}": cols[f"s{j}"] for j in range(MAX_SLOTS)}})
    pieces = ["f0", "s0", "f1", "s1", "f2", "s2", "f3", "s3", "f4"]
    lens = df.select([pl.col(c).str.len_chars().cast(pl.Int32).alias(c) for c in pieces]).to_numpy()
    offs = np.cumsum(lens, axis=1)  # offs[:, i] = end of piece i
    text = df.select(pl.concat_str(pieces).alias("text"))["text"]
    sentences = pl.DataFrame({"row": np.arange(ns), "text": text, "len": offs[:, -1], "quote": quote})
    parts = []
    for j in range(MAX_SLOTS):
        present = np.flatnonzero(cols[f"e{j}"].to_numpy() >= 0)
        parts.append(pl.DataFrame({
            "row": present, "s_start": offs[present, 2 * j],  # the slot follows fragment j
            "s_end": offs[present, 2 * j + 1], "ent": cols[f"e{j}"].to_numpy()[present],
            "text": cols[f"s{j}"].gather(pl.Series(present)),
        }))
    mentions = pl.concat(parts)
    speakers = pl.DataFrame({"row": np.arange(ns), "speaker_ent": cols["e0"].to_numpy(), "speaker": cols["s0"]})
    return sentences.join(speakers, on="row", how="left").sort("row"), mentions.sort("row", "s_start")


def _clip_normal(rng, n, mu, sd, zero_p=0.0) -> np.ndarray:
    x = np.clip(rng.normal(mu, sd, n), -1.0, 1.0)
    if zero_p:
        x[rng.random(n) < zero_p] = 0.0  # VADER gives exactly 0 to many plain sentences
    return np.round(x, 4)


def make_batch(model: Model, first: int, n: int, now: datetime) -> dict[str, pl.DataFrame]:
    """Frames for articles number first..first+n-1 of this seed (deterministic)."""
    rng = np.random.default_rng([model.seed, 100, first])
    plan = _plan(model, rng, n)
    plan, src, near = _with_duplicates(model, rng, plan, n)
    sents, ments = _render_sentences(model, plan)
    ns = len(plan["art"])
    art, para, kind = plan["art"], plan["para"], plan["kind"]

    # ---- article-level fields
    gidx = first + np.arange(n)
    s_pick = rng.choice(len(SOURCES), n, p=[w for *_, w in SOURCES])
    source = np.array([s for s, _, _ in SOURCES], dtype=object)[s_pick]
    site = np.array([s for _, s, _ in SOURCES], dtype=object)[s_pick]
    year_us = 365 * 86400 * 10**6
    pub = np.datetime64(YEAR_START.replace(tzinfo=None), "us") + rng.integers(0, year_us, n).astype("timedelta64[us]")
    # copies are published up to two days after their original
    has_src = src >= 0
    pub[has_src] = pub[src[has_src]] + rng.integers(0, 2 * 86400 * 10**6, int(has_src.sum())).astype("timedelta64[us]")
    undated = rng.random(n) < UNDATED_P
    urls = [f"https://{s}.example/news/{model.seed}/{g}" for s, g in zip(source, gidx)]
    # the pipeline's article id for a URL ("u" + sha256 of the canonical URL), so a real
    # run reading the same URL would replace the synthetic article
    from newsetl.urls import canonicalize_url

    # (these URLs are already canonical: checked on the first, then hashed as they are)
    canon = (lambda u: u) if canonicalize_url(urls[0]) == urls[0] else canonicalize_url
    ids = pl.Series("article_id", ["u" + hashlib.sha256(canon(u).encode("utf-8")).hexdigest()[:20]
                                   for u in urls], dtype=pl.String)
    authors = model.vocab["name"].gather(pl.Series(model.persons(rng, n)))
    a = pl.DataFrame({
        "a": np.arange(n), "article_id": ids, "source": source, "site_name": site, "url": urls,
        "published_at": pl.Series(pub).dt.replace_time_zone("UTC"), "undated": undated,
        "authors": authors, "src": src,
    }).with_columns(
        pl.when(pl.col("undated")).then(None).otherwise(pl.col("published_at")).alias("published_at"),
    ).with_columns(pl.col("published_at").dt.date().alias("published_date"))

    # ---- sentences: offsets within their paragraph (joined by one space)
    key = pl.DataFrame({"a": art, "paragraph_index": para, "sentence_index": plan["sent"], "kind": kind})
    L = sents["len"].to_numpy().astype(np.int64)
    step = L + 1
    cum = np.cumsum(step) - step
    p_key = art.astype(np.int64) * 10_000 + para
    p_start_row = np.searchsorted(p_key, p_key)  # rows are sorted by (art, para, sent)
    start = cum - cum[p_start_row]
    sent_df = pl.concat([key, sents.select("text", "quote", "speaker", "speaker_ent")], how="horizontal").with_columns(
        start_char=pl.Series(start, dtype=pl.Int32), end_char=pl.Series(start + L, dtype=pl.Int32),
        sentiment=pl.Series(_clip_normal(rng, ns, 0.05, 0.45, zero_p=0.3)),
    ).with_columns(pl.when(pl.col("kind") == KIND_BOILER).then(None).otherwise(pl.col("sentiment")).alias("sentiment"))

    # ---- paragraphs
    paras = (
        sent_df.group_by("a", "paragraph_index", maintain_order=True)
        .agg(pl.col("text").str.join(" "), pl.col("kind").first(), pl.col("sentiment").mean())
    )
    reason_n = pl.Series(rng.integers(5, 400, paras.height))
    paras = paras.with_columns(
        kind=pl.col("kind").replace_strict([0, 1, 2], ["body", "heading", "boilerplate"], return_dtype=pl.String),
        kind_reason=pl.when(pl.col("kind") == KIND_BODY).then(pl.lit("body"))
        .when(pl.col("kind") == KIND_HEADING).then(pl.lit("heading_short_titlecase"))
        .otherwise(pl.lit("repeated_in_source:") + reason_n.cast(pl.String)),
        sentiment=pl.col("sentiment").round(4),
    )

    # ---- articles.text, word counts, hashes, titles
    bodies = (
        paras.filter(pl.col("kind") != "boilerplate")
        .group_by("a", maintain_order=True)
        .agg(pl.col("text").str.join("\n\n"), pl.col("sentiment").mean().alias("sentiment"))
    )
    # title: the first plain body sentence (the first sentence when all are quotes)
    first_sent = (
        sent_df.filter(pl.col("kind") == KIND_BODY)
        .sort(pl.col("quote").is_not_null(), "a", "paragraph_index", "sentence_index")
        .group_by("a").agg(pl.col("text").first().alias("t"))
    )
    a = a.join(bodies, on="a", how="left").join(first_sent, on="a", how="left").with_columns(
        pl.col("text").fill_null(""),
        title=pl.col("t").str.strip_suffix(".").str.slice(0, 90).str.replace(r"\s+\S*$", ""),
    )
    texts = a["text"].to_list()
    hashes = [hashlib.sha256(t.encode("utf-8")).hexdigest() for t in texts]
    pos_pct = np.round(rng.uniform(1.0, 6.0, n), 4)
    neg_pct = np.round(rng.uniform(1.0, 6.0, n), 4)
    # exact copies share their original's cluster; every article has a cluster id, as
    # transforms/dedup.py gives it ("C" + blake2b-8 of the cluster's first article id)
    rep = ids.gather(pl.Series(np.where(has_src, src, np.arange(n))))
    cluster = ["C" + hashlib.blake2b(r.encode("utf-8"), digest_size=8).hexdigest() for r in rep.to_list()]
    articles = a.with_columns(
        language=pl.lit("en"),
        authors=pl.concat_list(pl.col("authors")),
        word_count=pl.col("text").str.count_matches(r"\S+").cast(pl.Int32),
        content_hash=pl.Series(hashes, dtype=pl.String),
        positive=pl.Series(pos_pct), negative=pl.Series(neg_pct),
        duplicate_of=pl.when(pl.Series(has_src)).then(rep).otherwise(None),
        cluster_id=pl.Series(cluster, dtype=pl.String),
        input_ref=pl.lit(f"synthetic:{model.seed}:") + pl.Series(gidx).cast(pl.String),
        fetched_at=pl.lit(now),
        raw_meta=pl.lit('{"synthetic": true}'),
        pipeline_version=pl.lit(PIPELINE_VERSION),
    ).with_columns(
        tone=(pl.col("positive") - pl.col("negative")).round(4),
        polarity=(pl.col("positive") + pl.col("negative")).round(4),
        sentiment=pl.col("sentiment").round(4),
    )
    dates = articles.select("a", "article_id", "published_date")

    # ---- entity mentions: offsets in the paragraph = sentence start + offset in sentence
    v = model.vocab
    m_rows = ments["row"].to_numpy()
    m_ent = pl.Series(ments["ent"].to_numpy())
    m_lab = v["label"].gather(m_ent)
    m_name = v["name"].gather(m_ent)
    m_text = ments["text"]
    m_sent = _clip_normal(rng, len(m_rows), 0.0, 0.35)
    mentions = pl.DataFrame({
        "a": art[m_rows], "paragraph_index": para[m_rows], "sentence_index": plan["sent"][m_rows],
        "start_char": (start[m_rows] + ments["s_start"].to_numpy()).astype(np.int32),
        "end_char": (start[m_rows] + ments["s_end"].to_numpy()).astype(np.int32),
        "text": m_text, "label": m_lab, "entity_id": v["entity_id"].gather(m_ent), "entity_name": m_name,
        "sentiment": m_sent,
    }).with_columns(
        sentiment_label=pl.when(pl.col("sentiment") > 0.2).then(pl.lit("positive"))
        .when(pl.col("sentiment") < -0.2).then(pl.lit("negative")).otherwise(pl.lit("neutral")),
    )

    # ---- quotes: one per quote sentence; the speaker is its PERSON slot
    q = sent_df.filter(pl.col("quote").is_not_null()).with_columns(
        quote_index=pl.int_range(pl.len()).over("a", "paragraph_index").cast(pl.Int32),
        speaker_entity_id=v["entity_id"].gather(pl.Series(
            sent_df.filter(pl.col("quote").is_not_null())["speaker_ent"].to_numpy())),
        attribution=pl.lit("said_after"),
    ).with_columns(scare_quote_expr())

    def with_ids(df: pl.DataFrame, table: str) -> pl.DataFrame:
        return schema.conform(df.join(dates, on="a", how="left"), table)

    return {
        "articles": schema.conform(articles, "articles"),
        "paragraphs": with_ids(paras, "paragraphs"),
        "sentences": with_ids(sent_df, "sentences"),
        "entity_mentions": with_ids(mentions, "entity_mentions"),
        "quotes": with_ids(q, "quotes"),
    }


# ------------------------------------------------------------------ landing
class _Landing:
    """The project's writer: `Writer` (issue 13 landing) when present, else the older
    `StagingWriter` (copy-and-rename), which needs entities rebuilt before publishing."""

    def __init__(self, settings: Settings):
        from newsetl import warehouse as W

        self.new = hasattr(W, "Writer")
        self.w = W.Writer(settings) if self.new else W.StagingWriter(settings)

    def land(self, frames: dict[str, pl.DataFrame], run_id: str) -> None:
        self.w.land(frames, [], run_id)

    def publish(self, run: dict) -> None:
        if self.new:
            self.w.publish(run)
            return
        run = {**run, "entities": self.w.rebuild_entities(), **{
            t: c for t, c in self.w.table_counts().items() if t in schema.ARTICLE_CHILD_TABLES}}
        self.w.record_run(run)
        self.w.publish()

    def abort(self) -> None:
        self.w.abort()


def _timed(fn, *args):
    t = time.perf_counter()
    out = fn(*args)
    return out, time.perf_counter() - t


def du_bytes(path: Path) -> int:
    out = subprocess.run(["du", "-sb", str(path)], capture_output=True, text=True, check=True).stdout
    return int(out.split()[0])


# Articles per run (one Writer, one publish): a run's publish holds the run's new articles
# in memory for duplicate detection and entity updates; 200k needed ~5 GB peak RSS in one
# run on this machine, so a million lands as five runs, as a year of news would land in
# many runs anyway.
RUN_SIZE = 200_000


def build(articles: int, warehouse: Path, seed: int = 13, batch_size: int = 50_000, run_size: int = RUN_SIZE,
          first: int = 0, log=print) -> dict:
    """Generate and land synthetic articles number first..first+articles-1 of `seed`, in
    runs of `run_size` articles landed in batches of `batch_size`; returns timings and
    row counts."""
    from newsetl.warehouse import writer_lock

    settings = Settings.from_env(warehouse=warehouse)
    t0 = time.perf_counter()
    model = Model(seed)
    t_model = time.perf_counter() - t0
    gen_s = land_s = publish_s = 0.0
    rows = {t: 0 for t in ("articles",) + schema.ARTICLE_CHILD_TABLES}
    writer = ""
    end = first + articles
    for run_first in range(first, end, run_size):
        run_end = min(end, run_first + run_size)
        started = datetime.now(timezone.utc)
        run_id = f"synthetic-{seed}-{run_first}-{run_end - 1}-{started:%Y%m%dT%H%M%S}"
        run_rows = {t: 0 for t in rows}
        with writer_lock(settings):
            w = _Landing(settings)
            writer = "Writer" if w.new else "StagingWriter"
            try:
                # The next batch is generated in a thread while this one lands (numpy, Polars
                # and DuckDB release the GIL), so a second core is used when there is one.
                starts = list(range(run_first, run_end, batch_size))
                with ThreadPoolExecutor(max_workers=1) as pool:
                    gen = lambda lo: _timed(make_batch, model, lo, min(batch_size, run_end - lo), started)  # noqa: E731
                    pending = pool.submit(gen, starts[0])
                    for k, lo in enumerate(starts):
                        t1 = time.perf_counter()
                        frames, g = pending.result()
                        t2 = time.perf_counter()
                        if k + 1 < len(starts):
                            pending = pool.submit(gen, starts[k + 1])
                        w.land(frames, run_id)
                        t3 = time.perf_counter()
                        gen_s += g
                        land_s += t3 - t2
                        for t in rows:
                            run_rows[t] += frames[t].height
                        del frames
                        done = lo + min(batch_size, run_end - lo) - first
                        log(f"  {done:>9,} articles  generate {g:6.1f} s (waited {t2 - t1:5.1f} s)  "
                            f"land {t3 - t2:6.1f} s  ({done / (time.perf_counter() - t0):,.0f} articles/s so far)")
                t4 = time.perf_counter()
                finished = datetime.now(timezone.utc)
                w.publish({"run_id": run_id, "started_at": started, "finished_at": finished, "status": "completed",
                           "sources": ["synthetic"], "articles": run_end - run_first,
                           "articles_new": run_end - run_first, "articles_changed": 0, "articles_unchanged": 0,
                           **run_rows, "seconds": (finished - started).total_seconds(),
                           "pipeline_version": PIPELINE_VERSION, "message": "synthetic"})
                publish_s += time.perf_counter() - t4
                log(f"  published run {run_id} ({run_end - run_first:,} articles) in {time.perf_counter() - t4:.1f} s")
            except BaseException:
                w.abort()
                raise
        for t in rows:
            rows[t] += run_rows[t]
    total = time.perf_counter() - t0
    return {"articles": articles, "seconds": total, "model_s": t_model, "generate_s": gen_s, "land_s": land_s,
            "publish_s": publish_s, "rows": rows, "bytes": du_bytes(warehouse), "writer": writer}


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--articles", type=int, required=True, help="how many synthetic articles")
    ap.add_argument("--warehouse", type=Path, required=True, help="warehouse folder (created or added to)")
    ap.add_argument("--seed", type=int, default=13, help="same seed, same articles (default 13)")
    ap.add_argument("--batch-size", type=int, default=50_000, help="articles per landed batch (default 50,000)")
    ap.add_argument("--run-size", type=int, default=RUN_SIZE,
                    help=f"articles per run, i.e. per publish (default {RUN_SIZE:,})")
    ap.add_argument("--first", type=int, default=0,
                    help="number of the first article (to add more articles of the same seed to a warehouse)")
    args = ap.parse_args(argv)
    if args.articles < 1 or args.batch_size < 1 or args.run_size < 1 or args.first < 0:
        ap.error("--articles, --batch-size and --run-size must be positive, --first not negative")
    print(f"synth_warehouse: {args.articles:,} articles into {args.warehouse} (seed {args.seed}, "
          f"batches of {args.batch_size:,}, runs of {args.run_size:,})", flush=True)
    r = build(args.articles, args.warehouse, args.seed, args.batch_size, args.run_size, args.first,
              log=lambda s: print(s, flush=True))
    per = {t: round(c / r["articles"], 2) for t, c in r["rows"].items()}
    print(f"done: {r['articles']:,} articles in {r['seconds']:.1f} s = {r['articles'] / r['seconds']:,.0f} articles/s "
          f"(vocabulary+templates {r['model_s']:.1f} s, generate {r['generate_s']:.1f} s, land {r['land_s']:.1f} s, "
          f"publish {r['publish_s']:.1f} s; writer {r['writer']})")
    print(f"rows per article: {per}")
    print(f"warehouse size (du -sb): {r['bytes'] / 1e6:,.1f} MB")
    return 0


if __name__ == "__main__":
    sys.exit(main())
