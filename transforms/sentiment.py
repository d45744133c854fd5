"""Sentiment: sentence scores (VADER), GDELT-style tone, and target-dependent sentiment.

Three things live here, all batch calls (one Python call per batch, never per row through
Polars `map_elements`), all loading their resources lazily once per worker process:

* `sentence_scores(texts)`: VADER compound per sentence, -1..1.
* `tone_counts(texts)` + `tone_fields(...)`: GDELT GKG V1.5 TONE from word counts against
  VADER's word lexicon (a word is positive when its mean valence >= TONE_THRESHOLD, negative
  when <= -TONE_THRESHOLD; no negation handling, as in GDELT's dictionary counts).
* `target_scores(sentences, spans)`: sentiment *toward* the mention sentence[start:end]
  (NewsMTSC-style target-dependent sentiment). A multinomial logistic regression over
  target-aware features (words left/right of the target with the target masked, their
  distance, lexicon valence around the target, the clause holding the target, the target's
  position, quotes, negation) plus the whole-sentence VADER compound, and optional feature
  templates (`TEMPLATES`: the mention's own head word, a bag of the sentence's words, VADER
  on the target's clause and on the words either side) that the training script keeps or
  drops by cross-validation on train; the model records which ones it uses. Trained by
  `scripts/train_sentiment.py` on NewsMTSC train (MIT); the weights ship as plain
  numpy/JSON in `newsetl/models/tsc/`, so the runtime needs only numpy.
  Evaluated by `scripts/eval_sentiment.py` (numbers in docs/benchmarks.md).

Aggregation helpers (`paragraph_sentiment`, `article_sentiment`, `tone_exprs`) are native
Polars expressions: sentence -> paragraph is the mean of sentence compounds, sentence ->
article is the mean compound over body sentences.
"""

from __future__ import annotations

import json
import math
import re
from functools import lru_cache
from pathlib import Path
from typing import Sequence

import numpy as np

# --- tuned constants -------------------------------------------------------------------
# VADER's neutral band for a compound score (Hutto & Gilbert 2014, and the package README):
# compound >= 0.05 positive, <= -0.05 negative.
VADER_POS = 0.05
VADER_NEG = -0.05
# A lexicon word counts towards GDELT-style tone when |mean valence| >= this. VADER
# valences run -4..+4 and are means of 10 raters; 1.0 ("mildly" on the rating scale)
# drops near-neutral entries (e.g. "hmm", "some emoticons") while keeping words like
# "accused" (-1.2) and "support" (+1.7). On NewsMTSC sentences this flags ~6% of words,
# in the range GDELT's own polarity usually takes.
TONE_THRESHOLD = 1.0

LABELS = ("negative", "neutral", "positive")

_WORD_RE = re.compile(r"[^\W\d_]+(?:['’][^\W\d_]+)*")
_TOKEN_RE = re.compile(r"\w+(?:['’]\w+)*|[^\w\s]")
_QUOTES = {'"', "“", "”", "«", "»"}
_CLAUSE_BREAK = {",", ";", ":", "(", ")", "—", "–", "-", '"', "“", "”", "but", "while",
                 "although", "though", "whereas", "however", "yet"}
_PRONOUNS = {"he", "she", "him", "her", "his", "hers", "they", "them", "their", "i", "me",
             "my", "we", "us", "our", "you", "your", "it", "its", "himself", "herself"}
_SPEECH = {"said", "says", "say", "told", "tells", "stated", "added", "argued", "wrote",
           "tweeted", "claimed", "insisted", "asked", "noted", "explained", "declared"}
NEAR = 5  # tokens either side of the target that count as "near"
# Optional feature templates, chosen per model by grouped k-fold CV on NewsMTSC train
# (scripts/train_sentiment.py); a model file without "templates" uses none (older models).
TEMPLATES = ("mention", "bag", "vader_windows")
WINDOW = 8  # tokens either side of the target that "vader_windows" scores


# --- lazily loaded resources (once per process) ----------------------------------------
@lru_cache(maxsize=1)
def _vader():
    from vaderSentiment.vaderSentiment import SentimentIntensityAnalyzer

    return SentimentIntensityAnalyzer()


@lru_cache(maxsize=1)
def _lexicon() -> dict[str, float]:
    return dict(_vader().lexicon)


@lru_cache(maxsize=1)
def _negations() -> frozenset[str]:
    from vaderSentiment.vaderSentiment import NEGATE

    return frozenset(w.lower() for w in NEGATE) | {"no", "not", "never", "without", "nor"}


# --- sentence sentiment and tone --------------------------------------------------------
# The pipeline scores every sentence, then the entity mentions of the same sentences in the
# same worker: remembering recent compounds saves target_scores a second VADER pass (VADER
# is most of its cost). Bounded so a long-lived worker does not grow without limit.
_COMPOUND_CACHE: dict[str, float] = {}
_CACHE_MAX = 100_000


def _compounds(texts: Sequence[str | None], remember: bool) -> list[float]:
    """VADER compound per text; looks in the shared cache first, `remember` adds to it."""
    an = _vader()
    shared = _COMPOUND_CACHE
    local: dict[str, float] = {}  # repeats inside this call (several mentions, one sentence)
    out: list[float] = []
    for t in texts:
        if not t or not t.strip():
            out.append(0.0)
            continue
        c = shared.get(t)
        if c is None:
            c = local.get(t)
        if c is None:
            c = float(an.polarity_scores(t)["compound"])
            local[t] = c
            if remember:
                if len(shared) >= _CACHE_MAX:
                    shared.clear()
                shared[t] = c
        out.append(c)
    return out


def sentence_scores(texts: Sequence[str]) -> list[float]:
    """VADER compound per text (-1..1); None/empty text scores 0.0."""
    if not texts:
        return []
    return _compounds(texts, remember=True)


def tone_counts(texts: Sequence[str]) -> list[tuple[int, int, int]]:
    """Per text: (word_count, positive_word_count, negative_word_count), GDELT-style."""
    if not texts:
        return []
    lex = _lexicon()
    out: list[tuple[int, int, int]] = []
    for text in texts:
        if not text:
            out.append((0, 0, 0))
            continue
        words = _WORD_RE.findall(text.lower().replace("’", "'"))
        pos = neg = 0
        for w in words:
            v = lex.get(w)
            if v is None:
                continue
            if v >= TONE_THRESHOLD:
                pos += 1
            elif v <= -TONE_THRESHOLD:
                neg += 1
        out.append((len(words), pos, neg))
    return out


def tone_fields(word_count: int, pos: int, neg: int) -> tuple[float, float, float, float]:
    """GDELT GKG V1.5 TONE: (tone, positive, negative, polarity), percentages of words.

    positive = pos/words*100, negative = neg/words*100, tone = positive - negative,
    polarity = positive + negative. No words gives all zeros.
    """
    if not word_count or word_count <= 0:
        return (0.0, 0.0, 0.0, 0.0)
    positive = pos / word_count * 100.0
    negative = neg / word_count * 100.0
    return (positive - negative, positive, negative, positive + negative)


# --- Polars helpers (native expressions; imported lazily so numpy-only callers work) ----
def sentence_sentiment_expr(text_col: str = "text"):
    """Expression: VADER compound of each row of `text_col`, one batched call per chunk."""
    import polars as pl

    return pl.col(text_col).map_batches(
        lambda s: pl.Series(sentence_scores(s.fill_null("").to_list()), dtype=pl.Float64),
        return_dtype=pl.Float64,
    )


def tone_exprs(words: str = "word_count", pos: str = "positive_words",
               neg: str = "negative_words") -> list:
    """Expressions for tone, positive, negative, polarity from count columns (0 if no words)."""
    import polars as pl

    w = pl.col(words).cast(pl.Float64)
    p = pl.when(w > 0).then(pl.col(pos) / w * 100.0).otherwise(0.0)
    n = pl.when(w > 0).then(pl.col(neg) / w * 100.0).otherwise(0.0)
    return [(p - n).alias("tone"), p.alias("positive"), n.alias("negative"),
            (p + n).alias("polarity")]


def paragraph_sentiment(sentences, keys: Sequence[str] = ("article_id", "paragraph_index"),
                        score: str = "sentiment"):
    """sentence rows -> one row per paragraph, `sentiment` = mean sentence compound."""
    import polars as pl

    return sentences.group_by(list(keys), maintain_order=True).agg(
        pl.col(score).mean().alias("sentiment"))


def article_sentiment(sentences, paragraphs, score: str = "sentiment"):
    """Mean compound over body sentences per article (sentences joined to paragraph kind)."""
    import polars as pl

    body = paragraphs.filter(pl.col("kind") == "body").select("article_id", "paragraph_index")
    return (sentences.join(body, on=["article_id", "paragraph_index"], how="semi")
            .group_by("article_id", maintain_order=True)
            .agg(pl.col(score).mean().alias("sentiment")))


# --- target-dependent sentiment ---------------------------------------------------------
def _norm(x: float) -> float:
    # VADER's own squashing of a valence sum into -1..1 (alpha = 15).
    return x / math.sqrt(x * x + 15.0)


def _bin(x: float, edges: Sequence[float]) -> int:
    for i, e in enumerate(edges):
        if x < e:
            return i
    return len(edges)


_CMP_EDGES = (-0.6, -0.2, -0.05, 0.05, 0.2, 0.6)
N_NUMERIC = 14  # base numeric feature slots 0..13, standardised with training mean/std


def n_numeric(templates: Sequence[str] = ()) -> int:
    """Numeric feature slots for a template set (base slots, +3 for "vader_windows")."""
    return N_NUMERIC + (3 if "vader_windows" in templates else 0)


def _band(x: float) -> str:
    return "+" if x >= VADER_POS else "-" if x <= VADER_NEG else "0"


def target_features(sentence: str, start: int, end: int,
                    compound: float | None = None,
                    templates: Sequence[str] = ()) -> tuple[list[str], list[float]]:
    """Feature strings and numeric features for the mention sentence[start:end].

    `templates` switches on optional feature groups from `TEMPLATES` (the model's own list).
    Shared by training and inference: keep it deterministic (no Python `hash`).
    """
    lex = _lexicon()
    neg_words = _negations()
    if compound is None:
        compound = float(_vader().polarity_scores(sentence)["compound"]) if sentence else 0.0
    toks: list[str] = []
    orig: list[str] = []
    spans: list[tuple[int, int]] = []
    for m in _TOKEN_RE.finditer(sentence):
        orig.append(m.group())
        toks.append(orig[-1].lower().replace("’", "'"))
        spans.append(m.span())
    # tokens overlapping the mention; an empty/odd span becomes an insertion point
    ts = te = None
    for i, (a, b) in enumerate(spans):
        if a < end and b > start:
            if ts is None:
                ts = i
            te = i + 1
    if ts is None:
        ts = te = sum(1 for a, _ in spans if a < start)
    mention = toks[ts:te]
    seq = toks[:ts] + ["<t>"] + toks[te:]
    t = ts  # index of <t> in seq
    m_ = len(seq)

    # lexicon valence per token of seq with VADER-style negation (3 tokens back)
    val = [0.0] * m_
    for i, w in enumerate(seq):
        v = lex.get(w)
        if v is None or w == "<t>":
            continue
        for j in range(max(0, i - 3), i):
            wj = seq[j]
            if wj in neg_words or wj.endswith("n't"):
                v *= -0.74
                break
        val[i] = v

    # clause containing the target
    cs = t
    while cs > 0 and seq[cs - 1] not in _CLAUSE_BREAK:
        cs -= 1
    ce = t + 1
    while ce < m_ and seq[ce] not in _CLAUSE_BREAK:
        ce += 1

    f: list[str] = ["bias"]
    fa = f.append
    # (a plain bag of words of the whole sentence was tried and dropped: the side-aware
    # bags below carry it, and it cost ~0.004 macro F1 in train CV.)
    for i in range(m_ - 1):
        fa("b:" + seq[i] + "_" + seq[i + 1])
    for k in (1, 2, 3):
        fa(f"l{k}:" + (seq[t - k] if t - k >= 0 else "<s>"))
        fa(f"r{k}:" + (seq[t + k] if t + k < m_ else "</s>"))
    fa("t3:" + (seq[t - 1] if t else "<s>") + "_" + (seq[t + 1] if t + 1 < m_ else "</s>"))
    fa("rr:" + "_".join(seq[t + 1:t + 3]))
    fa("ll:" + "_".join(seq[max(0, t - 2):t]))
    for w in set(seq[max(0, t - NEAR):t]):
        fa("ln:" + w)
    for w in set(seq[t + 1:t + 1 + NEAR]):
        fa("rn:" + w)
    for w in set(seq[:max(0, t - NEAR)]):
        fa("lf:" + w)
    for w in set(seq[t + 1 + NEAR:]):
        fa("rf:" + w)
    for w in set(seq[cs:ce]):
        if w != "<t>":
            fa("cl:" + w)
    # lexicon words near the target, by side and sign
    for i in range(max(0, t - NEAR), min(m_, t + 1 + NEAR)):
        if val[i]:
            fa(("L" if i < t else "R") + ("+" if val[i] > 0 else "-") + ":" + seq[i])
    # quotes: target inside a quotation, quotation present
    nq_before = sum(1 for w in seq[:t] if w in _QUOTES)
    nq = sum(1 for w in seq if w in _QUOTES)
    if nq:
        fa("q:any")
        if nq_before % 2 == 1:
            fa("q:in")
    # pronoun mention ("she", "his"), but not the acronyms "US" / "IT"
    if mention and all(w in _PRONOUNS for w in mention) and not (
            len(sentence[start:end].strip()) > 1 and sentence[start:end].isupper()):
        fa("pron")
    if any(w in _SPEECH for w in seq[t + 1:t + 4]):
        fa("speaker")
    if any(w in neg_words or w.endswith("n't") for w in seq[cs:ce]):
        fa("neg:clause")
    first = t <= 1 or (t <= 3 and all(w in {"the", "a", "an", "president", "former", "sen",
                                           "rep", "mr", "ms", "mrs", "dr", "."} for w in seq[:t]))
    cb = _bin(compound, _CMP_EDGES)
    fa(f"cmp:{cb}")
    fa(f"cmp:{cb}|first:{int(first)}")
    fa(f"cmp:{cb}|q:{int(nq_before % 2 == 1)}")
    rel = t / max(1, m_ - 1)
    fa(f"pos:{_bin(rel, (0.1, 0.3, 0.5, 0.7, 0.9))}")
    if first:
        fa("first")

    left_near = sum(val[max(0, t - NEAR):t])
    right_near = sum(val[t + 1:t + 1 + NEAR])
    left_far = sum(val[:max(0, t - NEAR)])
    right_far = sum(val[t + 1 + NEAR:])
    clause = sum(val[cs:ce])
    decay = sum(v * math.exp(-abs(i - t) / 4.0) for i, v in enumerate(val) if v)
    npos = sum(1 for v in val if v > 0)
    nneg = sum(1 for v in val if v < 0)
    fa("lnS:" + ("+" if left_near > 0.5 else "-" if left_near < -0.5 else "0"))
    fa("rnS:" + ("+" if right_near > 0.5 else "-" if right_near < -0.5 else "0"))
    fa("clS:" + ("+" if clause > 0.5 else "-" if clause < -0.5 else "0"))
    nums = [
        compound,
        _norm(left_near), _norm(right_near), _norm(left_far), _norm(right_far),
        _norm(clause), _norm(decay),
        math.log1p(npos), math.log1p(nneg),
        rel, math.log1p(m_),
        compound * float(first),
        _norm(clause) * float(first),
        compound * float(nq_before % 2 == 1),
    ]
    if templates:
        if "mention" in templates and mention:
            # the person's own head word: some names carry a prior of their own in news
            # (CV on train groups folds by article, so this has to hold across articles)
            fa("m:" + mention[-1])
        if "bag" in templates:
            for w in set(seq):
                if w != "<t>":
                    fa("w:" + w)
        if "vader_windows" in templates:
            # VADER (negation, intensifiers, "but") on the target's clause and on the
            # words either side of it, the target itself left out
            an = _vader()
            oseq = orig[:ts] + orig[te:]

            def _vc(a: int, b: int) -> float:
                text = " ".join(oseq[max(0, a):max(0, b)])
                return float(an.polarity_scores(text)["compound"]) if text else 0.0

            # seq has "<t>" at index t; oseq drops it, so seq index i > t is oseq i - 1
            v_cl = _vc(cs, ce - 1)
            v_l = _vc(t - WINDOW, t)
            v_r = _vc(t, t + WINDOW)
            fa("vcl:" + _band(v_cl))
            fa("vl:" + _band(v_l))
            fa("vr:" + _band(v_r))
            nums += [v_cl, v_l, v_r]
    return f, nums


class TargetModel:
    """Multinomial logistic regression over `target_features`; weights from a model folder
    (`model.json` + `weights.npz`, written by scripts/train_sentiment.py)."""

    def __init__(self, vocab: dict[str, int], weights: np.ndarray, mean: np.ndarray,
                 std: np.ndarray, offsets: np.ndarray, meta: dict | None = None):
        self.vocab = vocab
        self.W = weights.astype(np.float64)  # (n_numeric(templates) + len(vocab), 3)
        self.mean = mean
        self.std = std
        self.offsets = offsets  # added to the logits before argmax (learned thresholds)
        self.meta = meta or {}
        self.templates = tuple(self.meta.get("templates", ()))

    @classmethod
    def load(cls, path: Path) -> "TargetModel":
        meta = json.loads((path / "model.json").read_text(encoding="utf-8"))
        vocab = {w: i for i, w in enumerate(meta.pop("features"))}
        with np.load(path / "weights.npz") as z:
            W = z["W"]
        return cls(vocab, W, np.asarray(meta["mean"]), np.asarray(meta["std"]),
                   np.asarray(meta["offsets"]), meta)

    def save(self, path: Path) -> None:
        path.mkdir(parents=True, exist_ok=True)
        feats = [None] * len(self.vocab)
        for w, i in self.vocab.items():
            feats[i] = w
        meta = dict(self.meta)
        meta.update(mean=[float(x) for x in self.mean], std=[float(x) for x in self.std],
                    offsets=[float(x) for x in self.offsets], labels=list(LABELS),
                    n_numeric=n_numeric(self.templates), templates=list(self.templates),
                    features=feats)
        (path / "model.json").write_text(json.dumps(meta, ensure_ascii=False, indent=0),
                                         encoding="utf-8")
        np.savez_compressed(path / "weights.npz", W=self.W.astype(np.float32))

    def design(self, rows: Sequence[tuple[list[str], list[float]]]):
        """(numeric (n, n_numeric) standardised, indptr, indices) for feature rows."""
        return build_design(rows, self.vocab, self.mean, self.std)

    def logits(self, Xn: np.ndarray, indptr: np.ndarray, indices: np.ndarray) -> np.ndarray:
        return design_dot(Xn, indptr, indices, self.W)

    def predict(self, rows) -> tuple[np.ndarray, np.ndarray]:
        """(probabilities (n,3), label index (n,)) for feature rows."""
        p = softmax(self.logits(*self.design(rows)))
        lab = np.argmax(np.log(p + 1e-12) + self.offsets, axis=1)
        return p, lab


def build_design(rows, vocab: dict[str, int], mean: np.ndarray, std: np.ndarray):
    """Design matrix in two parts: dense numeric features, and binary feature strings as
    CSR without values (indices into the vocabulary; unknown strings dropped). Every row
    holds "bias" (vocabulary entry 0), so no CSR row is empty."""
    get = vocab.get
    Xn = (np.asarray([r[1] for r in rows], dtype=np.float64).reshape(len(rows), len(mean))
          - mean) / std
    ids: list[int] = []
    indptr = [0]
    for feats, _ in rows:
        ids.extend([i for i in map(get, feats) if i is not None])
        indptr.append(len(ids))
    return Xn, np.asarray(indptr, dtype=np.int64), np.asarray(ids, dtype=np.int64)


def design_dot(Xn: np.ndarray, indptr: np.ndarray, indices: np.ndarray,
               W: np.ndarray) -> np.ndarray:
    """Logits: Xn @ W[:k] + (binary rows) @ W[k:], k = Xn.shape[1] numeric slots."""
    if len(indptr) <= 1:
        return np.zeros((0, W.shape[1]))
    k = Xn.shape[1]
    return Xn @ W[:k] + np.add.reduceat(W[k:][indices], indptr[:-1], axis=0)


def softmax(z: np.ndarray) -> np.ndarray:
    z = z - z.max(axis=1, keepdims=True)
    e = np.exp(z)
    return e / e.sum(axis=1, keepdims=True)


@lru_cache(maxsize=4)
def load_target_model(path: str | Path) -> TargetModel:
    """The model in folder `path`, loaded once per process."""
    return TargetModel.load(Path(path))


def target_scores(sentences: Sequence[str],
                  spans: Sequence[tuple[int, int]],
                  model: TargetModel) -> list[tuple[float, str]]:
    """Sentiment toward the mention sentence[start:end], one (score, label) per pair.

    score = P(positive) - P(negative) in -1..1; label in {"negative","neutral","positive"}
    (argmax after learned per-class offsets, so the label and the sign of the score can
    disagree near the boundary). Empty input gives [].
    """
    if len(sentences) != len(spans):
        raise ValueError("sentences and spans must have the same length")
    if not sentences:
        return []
    sents = [s or "" for s in sentences]
    comps = _compounds(sents, remember=False)
    rows = []
    for s, sp, c in zip(sents, spans, comps):
        a, b = sp if sp is not None else (0, 0)
        a = 0 if a is None else int(a)
        b = a if b is None else int(b)
        rows.append(target_features(s, a, b, compound=c, templates=model.templates))
    p, lab = model.predict(rows)
    score = p[:, 2] - p[:, 0]
    return [(round(float(sc), 6), LABELS[k]) for sc, k in zip(score, lab)]
