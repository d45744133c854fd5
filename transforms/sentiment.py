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
  drops by cross-validation on train; the model records which ones it uses. Fused with a
  small context reader over static word vectors (`VectorReader`: it reads the sentence once,
  and where each word sits relative to the target) when the model folder has one. Trained by
  `scripts/train_sentiment.py` and `scripts/train_sentiment_reader.py` on NewsMTSC train
  (MIT); the weights ship as plain numpy/JSON in `newsetl/models/tsc/`, so the runtime needs
  only numpy (the reader also reads the NER's vectors package). Evaluated by
  `scripts/eval_sentiment.py` (numbers in docs/benchmarks.md). The opt-in accurate tier,
  a small transformer (`tsc_transformer`, model "newsetl-tsc-minilm"), scores the same pairs
  at about 1/50 of the speed; `RoutedTargetModel` (model "newsetl-tsc-minilm-routed") sends
  it only the targets the default model is least sure of.

Aggregation helpers (`paragraph_sentiment`, `article_sentiment`, `tone_exprs`) are native
Polars expressions: sentence -> paragraph is the mean of sentence compounds, sentence ->
article is the mean compound over body sentences.
"""

from __future__ import annotations

import json
import math
import re
from bisect import bisect_left, bisect_right
from functools import lru_cache
from itertools import chain, repeat
from pathlib import Path
from typing import NamedTuple, Sequence

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
# words that may stand before a target that still opens its sentence ("first")
_LEAD_WORDS = frozenset({"the", "a", "an", "president", "former", "sen", "rep", "mr", "ms", "mrs", "dr", "."})
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


class SentenceTokens(NamedTuple):
    """One sentence tokenised as `target_features` and the reader read it, with what every
    target in it shares (computed once per sentence by `sentence_tokens`)."""
    orig: list[str]  # tokens as written
    spans: list[tuple[int, int]]  # their character spans
    starts: list[int]  # the spans' starts and ends, ascending
    ends: list[int]
    toks: list[str]  # lower-cased, ’ as '
    lexv: list[float | None]  # VADER lexicon valence of each token (None: not in it)
    lexi: list[int]  # the tokens that have one
    negf: list[bool]  # token is a negation
    qcum: list[int]  # quote tokens among toks[:i], for i in 0..len(toks)
    bigrams: list[str]  # "b:" feature of each pair of neighbouring tokens


def sentence_tokens(sentence: str) -> SentenceTokens:
    """The sentence's tokens (`reader_tokens`) and what `target_features` reads of them."""
    lex = _lexicon()
    neg_words = _negations()
    orig, spans = reader_tokens(sentence)
    toks = [w.lower().replace("’", "'") for w in orig]
    qcum = [0]
    for w in toks:
        qcum.append(qcum[-1] + (w in _QUOTES))
    lexv = [lex.get(w) for w in toks]
    return SentenceTokens(orig, spans, [a for a, _ in spans], [b for _, b in spans], toks, lexv,
                          [i for i, v in enumerate(lexv) if v is not None],
                          [w in neg_words or w.endswith("n't") for w in toks], qcum,
                          ["b:" + x + "_" + y for x, y in zip(toks, toks[1:])])


def target_features(sentence: str, start: int, end: int,
                    compound: float | None = None,
                    templates: Sequence[str] = (),
                    tokens: SentenceTokens | None = None) -> tuple[list[str], list[float]]:
    """Feature strings and numeric features for the mention sentence[start:end].

    `templates` switches on optional feature groups from `TEMPLATES` (the model's own list).
    `tokens`: `sentence_tokens(sentence)`, when the caller scores several targets of one
    sentence. Shared by training and inference: keep it deterministic (no Python `hash`).
    """
    if compound is None:
        compound = float(_vader().polarity_scores(sentence)["compound"]) if sentence else 0.0
    tk = tokens if tokens is not None else sentence_tokens(sentence)
    orig, toks = tk.orig, tk.toks
    n = len(toks)
    ts, te = token_range(tk.starts, tk.ends, start, end)
    mention = toks[ts:te]
    seq = toks[:ts] + ["<t>"] + toks[te:]
    t = ts  # index of <t> in seq
    m_ = len(seq)

    # lexicon valence per token of seq with VADER-style negation (3 tokens back)
    negs = tk.negf[:ts] + [False] + tk.negf[te:]
    val = [0.0] * m_
    hot: list[int] = []  # positions in seq of the tokens with a valence
    for k in tk.lexi:
        if ts <= k < te:
            continue  # the target's own words
        i = k if k < ts else k - te + ts + 1
        hot.append(i)
        v = tk.lexv[k]
        val[i] = v * -0.74 if any(negs[max(0, i - 3):i]) else v

    # clause containing the target
    cs = t
    while cs > 0 and seq[cs - 1] not in _CLAUSE_BREAK:
        cs -= 1
    ce = t + 1
    while ce < m_ and seq[ce] not in _CLAUSE_BREAK:
        ce += 1

    # (a plain bag of words of the whole sentence was tried and dropped: the side-aware
    # bags below carry it, and it cost ~0.004 macro F1 in train CV.)
    # the bigrams of seq, in order: the sentence's own either side of the target, and the
    # two that hold "<t>"
    f: list[str] = ["bias"] + tk.bigrams[:max(0, ts - 1)]
    fa = f.append
    if ts > 0:
        fa("b:" + toks[ts - 1] + "_<t>")
    if te < n:
        fa("b:<t>_" + toks[te])
    f += tk.bigrams[te:]
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
    nq_before = tk.qcum[ts]
    nq = nq_before + tk.qcum[n] - tk.qcum[te]
    if nq:
        fa("q:any")
        if nq_before % 2 == 1:
            fa("q:in")
    # pronoun mention ("she", "his"), but not the acronyms "US" / "IT"
    if mention and _PRONOUNS.issuperset(mention) and not (
            len(sentence[start:end].strip()) > 1 and sentence[start:end].isupper()):
        fa("pron")
    if not _SPEECH.isdisjoint(seq[t + 1:t + 4]):
        fa("speaker")
    if any(negs[cs:ce]):
        fa("neg:clause")
    first = t <= 1 or (t <= 3 and _LEAD_WORDS.issuperset(seq[:t]))
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
    nz = [(i, val[i]) for i in hot if val[i]]
    decay = sum(v * math.exp(-abs(i - t) / 4.0) for i, v in nz)
    npos = sum(1 for _, v in nz if v > 0)
    nneg = sum(1 for _, v in nz if v < 0)
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
        self.reader: VectorReader | None = None  # fused in by `target_scores` when present

    @classmethod
    def load(cls, path: Path) -> "TargetModel":
        meta = json.loads((path / "model.json").read_text(encoding="utf-8"))
        vocab = {w: i for i, w in enumerate(meta.pop("features"))}
        with np.load(path / "weights.npz") as z:
            W = z["W"]
        model = cls(vocab, W, np.asarray(meta["mean"]), np.asarray(meta["std"]),
                    np.asarray(meta["offsets"]), meta)
        spec = meta.get("reader")
        if spec:
            model.reader = VectorReader.load(path / spec["file"], spec)
        return model

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

    def scores(self, sentences: Sequence[str], spans: Sequence[tuple[int, int]]
               ) -> tuple[np.ndarray, np.ndarray]:
        """(probabilities (n, 3), label index (n,)) toward each target, as `target_scores`
        reads every model's: the regression alone, or fused with the reader by the alpha
        the training script chose by CV (renormalised), then the fusion's own class offsets."""
        comps = _compounds(sentences, remember=False)
        tokens = {s: sentence_tokens(s) for s in dict.fromkeys(sentences)}  # once a sentence
        rows = [target_features(s, a, b, compound=c, templates=self.templates, tokens=tokens[s])
                for s, (a, b), c in zip(sentences, spans, comps)]
        if self.reader is None:
            return self.predict(rows)
        spec = self.meta["reader"]
        lp = fuse(np.log(softmax(self.logits(*self.design(rows))) + 1e-12),
                  self.reader.logprobs(sentences, spans, tokens), float(spec["alpha"]))
        return softmax(lp), np.argmax(lp + np.asarray(spec["offsets"]), axis=1)


def build_design(rows, vocab: dict[str, int], mean: np.ndarray, std: np.ndarray):
    """Design matrix in two parts: dense numeric features, and binary feature strings as
    CSR without values (indices into the vocabulary; unknown strings dropped). Every row
    holds "bias" (vocabulary entry 0), so no CSR row is empty."""
    Xn = (np.asarray([r[1] for r in rows], dtype=np.float64).reshape(len(rows), len(mean))
          - mean) / std
    lens = np.fromiter((len(r[0]) for r in rows), dtype=np.int64, count=len(rows))
    n = int(lens.sum())
    idx = np.fromiter(map(vocab.get, chain.from_iterable(feats for feats, _ in rows), repeat(-1, n)),
                      dtype=np.int64, count=n)
    known = idx >= 0
    per_row = np.bincount(np.repeat(np.arange(len(rows)), lens)[known], minlength=len(rows))
    return Xn, np.concatenate([[0], np.cumsum(per_row)]).astype(np.int64), idx[known]


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


def log_softmax(z: np.ndarray) -> np.ndarray:
    z = z - z.max(axis=1, keepdims=True)
    return z - np.log(np.exp(z).sum(axis=1, keepdims=True))


def fuse(lp_regression: np.ndarray, lp_reader: np.ndarray, alpha: float) -> np.ndarray:
    """The regression + reader fusion (unnormalised log-probabilities): alpha * log P_reader
    + (1 - alpha) * log P_regression. Used by `target_scores` and by the training script's
    choice of alpha, so both score the same thing."""
    return (1 - alpha) * lp_regression + alpha * lp_reader


class RoutedTargetModel:
    """The default model first; the targets it is least sure of go to a second, stronger
    one (the transformer tier). A target is routed when the first model's highest class
    probability is below `route_below`, so each target's result depends on it alone, not
    on the batch it came in. Folder: model.json {"kind": "routed", "first": <folder>,
    "second": <folder>, "route_below": p}, folders relative to its own
    (newsetl/models/tsc_minilm_routed; threshold chosen by scripts/tsc_transformer_cv.py)."""

    def __init__(self, first, second, route_below: float, meta: dict | None = None):
        self.first, self.second = first, second
        self.route_below = float(route_below)
        self.meta = meta or {}

    @classmethod
    def load(cls, path: Path) -> "RoutedTargetModel":
        meta = json.loads((path / "model.json").read_text(encoding="utf-8"))
        try:
            first, second, below = meta["first"], meta["second"], float(meta["route_below"])
        except (KeyError, TypeError, ValueError) as exc:
            raise ValueError(f"{path}/model.json: a routed model needs first, second and a "
                             f"numeric route_below ({exc!r})") from None
        folders = [(path / p).resolve() for p in (first, second)]
        if any(_model_kind(f) == "routed" for f in folders):  # checked before loading: no loops
            raise ValueError(f"{path}/model.json: a routed model's parts cannot be routed models")
        return cls(*(load_target_model(f) for f in folders), below, meta)

    def routed(self, p_first: np.ndarray) -> np.ndarray:
        """Which targets go to the second model, from the first model's probabilities."""
        return p_first.max(axis=1) < self.route_below

    def scores(self, sentences: Sequence[str], spans: Sequence[tuple[int, int]]
               ) -> tuple[np.ndarray, np.ndarray]:
        p, lab = self.first.scores(sentences, spans)
        idx = np.flatnonzero(self.routed(p))
        if len(idx):
            p2, lab2 = self.second.scores([sentences[i] for i in idx], [spans[i] for i in idx])
            p, lab = p.copy(), lab.copy()
            p[idx], lab[idx] = p2, lab2
        return p, lab


def load_target_model(path: str | Path):
    """The model in folder `path`, loaded once per process (per resolved folder, so a routed
    model's parts are the models their own names load), by its model.json "kind": a
    `TargetModel` (no kind), the transformer tier ("transformer":
    `tsc_transformer.TransformerTargetModel`) or a `RoutedTargetModel` ("routed")."""
    return _load_target_model(Path(path).resolve())


def _model_kind(path: Path) -> str:
    """model.json's "kind" of a target-sentiment model folder ("" for the default kind)."""
    try:
        return json.loads((path / "model.json").read_text(encoding="utf-8")).get("kind", "")
    except (OSError, ValueError) as exc:
        raise ValueError(f"{path}: not a target-sentiment model folder ({exc})") from None


@lru_cache(maxsize=4)
def _load_target_model(path: Path):
    kind = _model_kind(path)
    if kind == "transformer":
        from .tsc_transformer import TransformerTargetModel

        return TransformerTargetModel.load(path)
    if kind == "routed":
        return RoutedTargetModel.load(path)
    return TargetModel.load(path)


def target_scores(sentences: Sequence[str],
                  spans: Sequence[tuple[int, int]],
                  model) -> list[tuple[float, str]]:
    """Sentiment toward the mention sentence[start:end], one (score, label) per pair, by
    `model` as `load_target_model` returns it (the default regression + reader, the
    transformer tier, or the two routed).

    score = P(positive) - P(negative) in -1..1; label in {"negative","neutral","positive"}
    (the default model's label is the argmax after learned per-class offsets, so the label
    and the sign of the score can disagree near the boundary). Empty input gives [].
    """
    if len(sentences) != len(spans):
        raise ValueError("sentences and spans must have the same length")
    if not sentences:
        return []
    p, lab = model.scores([s or "" for s in sentences], clean_spans(spans))
    score = p[:, 2] - p[:, 0]
    return [(round(float(sc), 6), LABELS[k]) for sc, k in zip(score, lab)]


def clean_spans(spans: Sequence[tuple[int, int] | None]) -> list[tuple[int, int]]:
    """(start, end) per span as `target_scores` reads them: None -> (0, 0), a None end ->
    an empty span at start."""
    out = []
    for sp in spans:
        a, b = sp if sp is not None else (0, 0)
        a = 0 if a is None else int(a)
        out.append((a, a if b is None else int(b)))
    return out


# --- the context reader fused with the regression ----------------------------------------
# Distance of a token to the target, in tokens, bucketed per side by these edges (1, 2, 3,
# 4-5, 6-8, 9-13, 14-20, > 20): bucket 0 is the target itself, then 8 left, then 8 right.
READER_EDGES = (1, 2, 3, 5, 8, 13, 20)
_NB_SIDE = len(READER_EDGES) + 1
READER_BUCKETS = 1 + 2 * _NB_SIDE
READER_WIDTH = 3  # tokens the convolution reads
# Memory bounds of one VectorReader step (float32 cells of h channels): sentences are read in
# batches of at most READER_BATCH_TOKENS tokens, targets in groups of at most
# READER_TARGET_TOKENS target x token cells, so a page-long "sentence" naming hundreds of
# entities costs time, not gigabytes (each bound is ~8 MB at h = 64).
READER_BATCH_TOKENS = 32_768
READER_TARGET_TOKENS = 32_768


def reader_tokens(sentence: str) -> tuple[list[str], list[tuple[int, int]]]:
    """The reader's tokens (those of `target_features`) and their character spans."""
    found = list(_TOKEN_RE.finditer(sentence))
    return [m.group() for m in found], [m.span() for m in found]


def token_range(starts: Sequence[int], ends: Sequence[int], start: int, end: int) -> tuple[int, int]:
    """Tokens [ts, te) that overlap sentence[start:end], given the tokens' ascending starts
    and ends (those ending after its start and starting before its end: one run, as tokens
    do not overlap); an empty range where the target would sit when no token overlaps it."""
    ts, te = bisect_right(ends, start), bisect_left(starts, end)
    if ts >= te:
        ts = te = bisect_left(starts, start)
    return ts, te


def target_token_range(spans: Sequence[tuple[int, int]], start: int, end: int) -> tuple[int, int]:
    """`token_range` of tokens given by their character spans."""
    return token_range([a for a, _ in spans], [b for _, b in spans], start, end)


def distance_buckets(pos: np.ndarray, ts, te) -> np.ndarray:
    """Bucket of token positions `pos` for a target at tokens [ts, te) (see READER_EDGES);
    broadcasts, so one call serves a batch of targets."""
    edges = np.asarray(READER_EDGES)
    bk = np.where(pos < ts, 1 + np.searchsorted(edges, np.maximum(ts - pos, 1)), 0)
    return np.where(pos >= te,
                    1 + _NB_SIDE + np.searchsorted(edges, np.maximum(pos - te + 1, 1)), bk)


def reader_extras(words: Sequence[str], found: np.ndarray) -> np.ndarray:
    """The 3 inputs per word beside its vector: VADER valence / 4, capitalised, no vector."""
    lex = _lexicon()
    ext = np.zeros((len(words), 3), dtype=np.float32)
    for i, w in enumerate(words):
        ext[i, 0] = lex.get(w.lower().replace("’", "'"), 0.0) / 4.0
        ext[i, 1] = w[:1].isupper()
    ext[:, 2] = ~found
    return ext


def vector_rows(vectors, words: Sequence[str]) -> np.ndarray:
    """Row of each word in a spaCy vectors table (as written, else lower-cased), -1 if none."""
    out = np.full(len(words), -1, dtype=np.int64)
    for fold in (str, str.lower):
        miss = np.flatnonzero(out < 0)
        if not len(miss):
            break
        out[miss] = vectors.find(keys=[fold(words[i]) for i in miss])
    return out


def _rows_times(a: np.ndarray, b64: np.ndarray) -> np.ndarray:
    """a @ b64 in float64, as float32. In float32, BLAS picks its kernel by the shape of the
    whole matrix, so a row's product moved in its last bits with the other rows of its
    batch: the same article, enriched in a serial run and on Dask (other shards, other
    batches), landed target scores 1e-6 apart after their rounding to 6 places. In float64
    such differences sit far below float32's step and the rounding to it removes them."""
    return (a.astype(np.float64) @ b64).astype(np.float32)


class VectorReader:
    """A small network that reads the target's sentence, fused with the regression.

    Each token is its frozen static word vector (the NER's vectors package, so a worker holds
    one copy) plus `reader_extras`, projected to d dims; one width-3 convolution runs once per
    sentence; a learned per-channel bias for the token's distance to the target
    (`distance_buckets`) makes it target-specific; after ReLU, max over the tokens left of the
    target, max right of it, mean over the target and max over the sentence go to a softmax.
    Trained by scripts/train_sentiment_reader.py (numpy only); inference is numpy only.
    Parameters: P (303, d), bp (d), Wc (3d, h), bc (h), Bb (READER_BUCKETS, h), Wo (4h, 3),
    bo (3)."""

    def __init__(self, params: dict[str, np.ndarray], vectors):
        self.p = {k: np.asarray(v, dtype=np.float32) for k, v in params.items()}
        # The products of a batch's rows with the weights run in float64 (`_rows_times`).
        self.p64 = {k: v.astype(np.float64) for k, v in self.p.items()}
        self.vectors = vectors
        P = self.p["P"]
        dim = vectors.shape[1]
        if P.shape[0] != dim + 3:
            raise ValueError(f"reader expects {P.shape[0] - 3}-dim vectors, got {dim}")
        # every vector row projected once; the last row stands for "no vector"
        # (in float64 too: BLAS threads split a float32 product by their number, which a
        # Dask cluster's workers may set otherwise)
        data = np.asarray(vectors.data, dtype=np.float32)
        self.VP = np.vstack([_rows_times(data, self.p64["P"][:dim]), np.zeros((1, P.shape[1]), np.float32)])
        self.Pext64 = self.p64["P"][dim:]

    @classmethod
    def load(cls, path: Path, spec: dict) -> "VectorReader":
        from newsetl.transforms.ner import load_vectors

        vec = spec["vectors"]
        vectors = load_vectors(vec["module"])
        if list(vectors.shape) != list(vec["shape"]):
            raise ValueError(f"word vectors of {vec['module']!r} are {tuple(vectors.shape)}; "
                             f"the sentiment reader was trained on {tuple(vec['shape'])}")
        with np.load(path) as z:
            params = {k: z[k] for k in z.files}
        return cls(params, vectors)

    def token_table(self, words: Sequence[str]) -> np.ndarray:
        """Projected input (n, d) of each word type."""
        rows = vector_rows(self.vectors, words)
        found = rows >= 0
        rows[~found] = len(self.VP) - 1
        return self.VP[rows] + _rows_times(reader_extras(words, found), self.Pext64) + self.p["bp"]

    def logprobs(self, sentences: Sequence[str], spans: Sequence[tuple[int, int]],
                 tokens: dict[str, SentenceTokens] | None = None) -> np.ndarray:
        """Log-probabilities (n, 3) toward sentences[i][start:end]; a sentence that holds
        several targets is read once. `tokens`: `sentence_tokens` of the sentences, when the
        caller has them."""
        p = self.p
        out = np.zeros((len(sentences), 3))
        if not len(sentences):
            return out
        by_sent: dict[str, list[int]] = {}
        for i, s in enumerate(sentences):
            by_sent.setdefault(s, []).append(i)
        texts = list(by_sent)
        toks = ([(tokens[s].orig, tokens[s].spans) for s in texts] if tokens is not None
                else [reader_tokens(s) for s in texts])
        words = [w for tk, _ in toks for w in tk]  # every sentence's tokens, one after another
        types = {w: k for k, w in enumerate(dict.fromkeys(words))}
        ids = np.fromiter(map(types.__getitem__, words), dtype=np.int64, count=len(words))
        n_tok = np.fromiter((len(tk) for tk, _ in toks), dtype=np.int64, count=len(toks))
        first = np.cumsum(n_tok) - n_tok  # where each sentence's tokens start in `ids`
        d, h = len(p["bp"]), p["Wc"].shape[1]
        table = self.token_table(list(types)) if types else np.zeros((0, d), np.float32)
        # The convolution, word type by word type: what each type adds to the channels of a
        # position when it stands at window offset k (a last row of zeros: the padding).
        conv = [np.vstack([_rows_times(table, self.p64["Wc"][k * d:(k + 1) * d]), np.zeros((1, h), np.float32)])
                for k in range(READER_WIDTH)]
        pad = len(table)
        half = READER_WIDTH // 2
        span_of = np.zeros((len(sentences), 2), dtype=np.int64)  # token range of each target
        for j, s in enumerate(texts):
            if tokens is not None:
                starts, ends = tokens[s].starts, tokens[s].ends
            else:
                starts, ends = [a for a, _ in toks[j][1]], [b for _, b in toks[j][1]]
            for i in by_sent[s]:
                span_of[i] = token_range(starts, ends, spans[i][0], spans[i][1])
        targets_of = [by_sent[s] for s in texts]
        order = np.argsort(n_tok, kind="stable")
        batches, cur = [], []
        for j in order:  # ascending length: the last sentence sets the batch's width
            if cur and (len(cur) + 1) * max(1, n_tok[j]) > READER_BATCH_TOKENS:
                batches.append(cur)
                cur = []
            cur.append(j)
        batches.append(cur)
        for sel in batches:
            lens = n_tok[sel]
            L = max(1, int(lens.max()))
            # each sentence's word-type ids in a row, padded on both sides
            grid = np.full((len(sel), L + 2 * half), pad, dtype=np.int64)
            rows = np.repeat(np.arange(len(sel)), lens)
            cols = np.arange(len(rows)) - np.repeat(np.cumsum(lens) - lens, lens)
            grid[rows, cols + half] = ids[first[sel][rows] + cols]
            C = conv[0][grid[:, :L]]  # (sentences, L, h): target independent
            for k in range(1, READER_WIDTH):
                C += conv[k][grid[:, k:k + L]]
            C += p["bc"]
            C[np.arange(L)[None, :] >= lens[:, None]] = -np.inf  # padding: 0 after the ReLU
            tix_all = np.concatenate([targets_of[j] for j in sel])
            row_all = np.repeat(np.arange(len(sel)), [len(targets_of[j]) for j in sel])
            step = max(1, READER_TARGET_TOKENS // L)
            pos = np.arange(L)[None, :]
            for t0 in range(0, len(tix_all), step):
                tix, row = tix_all[t0:t0 + step], row_all[t0:t0 + step]
                ts, te = span_of[tix, :1], span_of[tix, 1:]
                A = C[row]  # (targets, L, h)
                A += p["Bb"][distance_buckets(pos, ts, te)]
                np.maximum(A, 0, out=A)
                # Pooled (A >= 0, so an empty side pools to 0): the max left of the target and
                # right of it, one token position at a time up to the farthest target, the
                # mean over the target's few tokens, and the max over the sentence.
                ts, te = ts[:, 0], te[:, 0]
                at = np.arange(len(tix))
                left = np.zeros((len(tix), h), np.float32)
                for k in range(int(ts.max())):
                    np.maximum(left, A[:, k], out=left, where=(k < ts)[:, None])
                right = np.zeros((len(tix), h), np.float32)
                for k in range(int(te.min()), L):
                    np.maximum(right, A[:, k], out=right, where=(k >= te)[:, None])
                width = te - ts
                inside = np.zeros((len(tix), h), np.float32)
                for k in range(int(width.max())):
                    inside += A[at, np.minimum(ts + k, L - 1)] * (k < width)[:, None]
                feats = np.concatenate([left, right, inside / np.maximum(width, 1)[:, None], A.max(1)], axis=1)
                out[tix] = log_softmax(feats.astype(np.float64) @ self.p64["Wo"] + self.p64["bo"])
        return out
