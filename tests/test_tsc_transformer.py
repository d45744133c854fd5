"""The opt-in transformer tier of sentiment toward entities (newsetl-tsc-minilm):
its numpy forward pass against torch's, the base model's hash check, the input window,
and the tier through `target_scores` and the pipeline's enrichment."""

from __future__ import annotations

import hashlib
import json
import zipfile
from datetime import datetime, timezone
from pathlib import Path

import numpy as np
import pytest

from newsetl.settings import BUNDLED_MODELS, Settings, resolve_model
from newsetl.transforms import sentiment as S
from newsetl.transforms import tsc_transformer as T

FIXTURES = Path(__file__).resolve().parent / "fixtures"
FOLDER = BUNDLED_MODELS["newsetl-tsc-minilm"]


def rows() -> list[dict]:
    return [json.loads(line) for line in (FIXTURES / "tsc_sentences.jsonl").read_text(encoding="utf-8").splitlines()
            if line.strip()]


@pytest.fixture(scope="module")
def model() -> T.TransformerTargetModel:
    return S.load_target_model(resolve_model("newsetl-tsc-minilm"))


def test_setting_names_the_bundled_tier(model):
    s = Settings(target_sentiment_model="newsetl-tsc-minilm")
    assert s.model_paths[1] == str(FOLDER)
    assert isinstance(model, T.TransformerTargetModel)
    assert isinstance(S.load_target_model(Settings().model_paths[1]), S.TargetModel)  # default unchanged


def test_numpy_forward_matches_torch_reference(model):
    """tests/fixtures/tsc_transformer_reference.json: token ids and logits that torch +
    transformers computed for the shipped adapter (scripts/experiments/tsc_reference.py)."""
    ref = json.loads((FIXTURES / "tsc_transformer_reference.json").read_text(encoding="utf-8"))
    adapter = FOLDER / model.meta["adapter"]
    assert ref["adapter_sha256"] == hashlib.sha256(adapter.read_bytes()).hexdigest(), \
        "the adapter changed: regenerate the fixture with scripts/experiments/tsc_reference.py"
    assert ref["window"] == model.window
    rs = rows()
    ids, _ = model.encode([r["s"] for r in rs], [(r["from"], r["to"]) for r in rs])
    assert ids == [r["ids"] for r in ref["rows"]]
    z = np.array([r["logits"] for r in ref["rows"]])
    want = z - z.max(1, keepdims=True)
    want -= np.log(np.exp(want).sum(1, keepdims=True))
    got = model.logprobs([r["s"] for r in rs], [(r["from"], r["to"]) for r in rs])
    assert np.abs(got - want).max() < 1e-4


def test_a_batch_scores_each_pair_as_alone(model):
    """Padding is masked: a short pair padded beside a long one scores as it does alone."""
    rs = rows()
    sents, spans = [r["s"] for r in rs], [(r["from"], r["to"]) for r in rs]
    together = model.logprobs(sents, spans)
    alone = np.vstack([model.logprobs([s], [sp]) for s, sp in zip(sents, spans)])
    assert np.abs(together - alone).max() < 1e-5


def test_the_target_is_marked_even_in_a_long_sentence(model):
    rs = rows()
    long = max(rs, key=lambda r: len(r["s"]))
    assert len(long["s"]) > 600 and long["from"] > 500  # far past 128 tokens
    ids, types = model.encode([long["s"]], [(long["from"], long["to"])])
    assert len(ids[0]) <= model.max_length
    assert ids[0].count(model.marker_ids[0]) == 1 and ids[0].count(model.marker_ids[1]) == 1
    assert ids[0].index(model.marker_ids[0]) < ids[0].index(model.marker_ids[1])
    assert set(types[0]) == {0, 1}  # sentence, then the target's text as the pair


def test_marked_keeps_a_window_around_the_target_cut_at_spaces():
    s = "word " * 100 + "Ann Lee spoke. " + "more " * 100
    a = s.index("Ann Lee")
    text, target = T.marked(s, a, a + 7, window=50)
    assert target == "Ann Lee"
    assert " [T] Ann Lee [/T] " in text
    left, right = text.split(" [T] Ann Lee [/T] ")
    assert 40 <= len(left) <= 60 and 40 <= len(right) <= 60
    assert not left.startswith(("ord", "rd", "d ")) and text.split()[0] == "word"
    assert T.marked("Ann Lee spoke.", 0, 7, window=200) == (" [T] Ann Lee [/T]  spoke.", "Ann Lee")


def test_clear_cases_read_the_right_way(model):
    """Self-written sentences with one obvious polarity toward the target."""
    rs = rows()
    pairs = [(rs[0]["s"], (rs[0]["from"], rs[0]["to"])),  # praised performance
             (rs[1]["s"], (rs[1]["from"], rs[1]["to"])),  # accused of lying
             (rs[3]["s"], (rs[3]["from"], rs[3]["to"])),  # Tanner praised the rescue teams
             (rs[4]["s"], (rs[4]["from"], rs[4]["to"]))]  # Keel called the response a disgrace
    out = S.target_scores([p[0] for p in pairs], [p[1] for p in pairs], model)
    assert out[0][1] == "positive" and out[0][0] > 0.5
    assert out[1][1] == "negative" and out[1][0] < -0.5
    assert out[0][0] > out[1][0]
    # one sentence, two people: the markers decide whom the model reads
    assert out[2][1] == "positive" and out[3][1] == "negative"
    assert all(-1.0 <= sc <= 1.0 and lab in S.LABELS for sc, lab in out)


def test_target_scores_edge_cases(model):
    assert S.target_scores([], [], model) == []
    with pytest.raises(ValueError):
        S.target_scores(["a"], [], model)
    out = S.target_scores([None, "", "Smith won."], [None, (0, 0), (0, 5)], model)
    assert len(out) == 3 and all(lab in S.LABELS for _, lab in out)
    # a span far longer than the 128 tokens (a bad NER span) is scored, not an error
    s = "Smith " * 400 + "said."
    out = S.target_scores([s, "Smith won."], [(0, len(s) - 6), (0, 5)], model)
    assert len(out) == 2 and all(lab in S.LABELS for _, lab in out)


def test_base_model_is_checked_by_hash(tmp_path):
    good = zipfile.ZipFile(T.base_archive())
    bad = tmp_path / "model.zip"
    with zipfile.ZipFile(bad, "w") as zf:
        for name in T.BASE_SHA256:
            zf.writestr(name, good.read(name) if name != "model.safetensors" else b"not the weights")
    with pytest.raises(T.BaseModelError, match="sha256"):
        T.read_base(bad)
    missing = tmp_path / "missing.zip"
    with zipfile.ZipFile(missing, "w") as zf:
        zf.writestr("config.json", good.read("config.json"))
    with pytest.raises(T.BaseModelError, match="cannot read"):
        T.read_base(missing)
    with pytest.raises(T.BaseModelError, match="requirements-model.txt"):
        T.base_archive("newsetl_no_such_base_package")


def test_adapter_must_fit_the_base():
    base = {"enc.q.weight": np.zeros((2, 2), np.float32), "embeddings.word_embeddings.weight": np.zeros((3, 2))}
    head = {"markers": np.ones((2, 2)), "head.weight": np.ones((3, 6)), "head.bias": np.zeros(3)}
    merged = T.merge_adapter(base, {"lora.enc.q.A": np.ones((1, 2)), "lora.enc.q.B": np.ones((2, 1)), **head},
                             rank=1, alpha=2.0)
    assert np.allclose(merged["enc.q.weight"], 2.0)  # B A * alpha / rank
    assert merged["embeddings.word_embeddings.weight"].shape == (5, 2)  # the marker rows appended
    with pytest.raises(T.BaseModelError, match="lacks"):
        T.merge_adapter(base, {"lora.enc.k.A": np.ones((1, 2)), "lora.enc.k.B": np.ones((2, 1)), **head}, 1, 1.0)
    with pytest.raises(T.BaseModelError, match="no LoRA"):
        T.merge_adapter(base, head, 1, 1.0)


def test_enrichment_uses_the_tier_when_set(model):
    """The pipeline's enrichment with the tier set: the mentions carry its scores, not the
    default model's."""
    import polars as pl

    from newsetl import process
    from newsetl.records import RawDoc

    def no_evidence(batch, relanded=None):
        return pl.DataFrame(schema={"kind": pl.String, "source": pl.String, "key": pl.String,
                                    "article_count": pl.Int64})

    text = ("Fans cheered as Maria Lopez delivered a brilliant, record-breaking performance in the final.\n\n"
            "Critics accused Daniel Hart of lying to investors and wrecking the company he ran for a decade.\n\n"
            "The board said Thomas Reed would step down after a difficult year in which profits fell.")
    doc = RawDoc(source="t", input_ref="t:0", text=text, title="Two people", url="https://example.net/two",
                 published_at=datetime(2026, 11, 2, tzinfo=timezone.utc))
    p = process.prepare([doc], lambda ids: {}, no_evidence)

    def people(models) -> dict[str, dict]:
        m = process.enrich(p.articles, p.paragraphs, models)["entity_mentions"]
        return {r["text"]: r for r in m.filter(pl.col("label") == "PERSON").iter_rows(named=True)}

    tier = people(Settings(target_sentiment_model="newsetl-tsc-minilm").model_paths)
    default = people(Settings().model_paths)
    assert {"Maria Lopez", "Daniel Hart"} <= set(tier)
    assert tier["Maria Lopez"]["sentiment_label"] == "positive"
    assert tier["Daniel Hart"]["sentiment_label"] == "negative"
    want = S.target_scores(
        [text.split("\n\n")[0]],
        [(text.index("Maria Lopez"), text.index("Maria Lopez") + len("Maria Lopez"))], model)[0]
    assert tier["Maria Lopez"]["sentiment"] == pytest.approx(want[0], abs=1e-6)
    assert tier["Maria Lopez"]["sentiment"] != default["Maria Lopez"]["sentiment"]
    # the routed tier through the same worker path: each mention gets what target_scores gives
    # with the routed model (the default's result or the tier's, by the default's confidence)
    paths = Settings(target_sentiment_model="newsetl-tsc-minilm-routed").model_paths
    routed = people(paths)
    rmodel = S.load_target_model(paths[1])
    took = {}
    for name, para in (("Maria Lopez", 0), ("Daniel Hart", 1), ("Thomas Reed", 2)):
        sent = text.split("\n\n")[para]
        at = sent.index(name)
        got = S.target_scores([sent], [(at, at + len(name))], rmodel)[0]
        assert (routed[name]["sentiment"], routed[name]["sentiment_label"]) == (pytest.approx(got[0], abs=1e-6), got[1])
        took[name] = rmodel.routed(rmodel.first.scores([sent], [(at, at + len(name))])[0])[0]
        source = tier if took[name] else default
        assert routed[name]["sentiment_label"] == source[name]["sentiment_label"]
        assert routed[name]["sentiment"] == pytest.approx(source[name]["sentiment"], abs=1e-6)
    # a clear case stays with the default; the unsure one (no class above route_below) goes to
    # the tier, whose score is not the default's: the routed mention carries the tier's
    assert took == {"Maria Lopez": False, "Daniel Hart": False, "Thomas Reed": True}
    assert abs(default["Thomas Reed"]["sentiment"] - tier["Thomas Reed"]["sentiment"]) > 0.05


def test_gelu_is_the_exact_one():
    """BERT's GELU uses erf (not the tanh approximation): checked against math.erf."""
    import math

    x = np.linspace(-9, 9, 20001).astype(np.float32)
    want = np.array([0.5 * v * (1 + math.erf(v / math.sqrt(2))) for v in x.astype(float)])
    got = T._gelu(x.copy())
    assert got.dtype == np.float32
    assert np.abs(got - want).max() < 1e-6
    tanh_approx = 0.5 * x * (1 + np.tanh(math.sqrt(2 / math.pi) * (x + 0.044715 * x ** 3)))
    assert np.abs(tanh_approx - want).max() > 1e-4  # the check can tell the two apart


# The routed tier (newsetl-tsc-minilm-routed).

ROUTED = BUNDLED_MODELS["newsetl-tsc-minilm-routed"]


class _Counting:
    """A model that remembers how many targets each `scores` call got."""

    def __init__(self, inner):
        self.inner, self.calls = inner, []

    def scores(self, sentences, spans):
        self.calls.append(len(sentences))
        return self.inner.scores(sentences, spans)


def _pairs() -> tuple[list[str], list[tuple[int, int]]]:
    rs = rows()
    return [r["s"] for r in rs], [(r["from"], r["to"]) for r in rs]


def test_routed_setting_loads_the_default_then_the_tier(model):
    routed = S.load_target_model(Settings(target_sentiment_model="newsetl-tsc-minilm-routed").model_paths[1])
    assert isinstance(routed, S.RoutedTargetModel)
    assert isinstance(routed.first, S.TargetModel) and routed.first.reader is not None
    assert routed.second is model  # the tier's folder, loaded once per process
    cv = json.loads((Path(__file__).resolve().parents[1] / "docs" / "sentiment_transformer_cv.json")
                    .read_text(encoding="utf-8"))["routed"]
    assert routed.route_below == cv["route_below"], "run scripts/tsc_transformer_cv.py: it writes route_below"
    assert 0 < routed.route_below < 1


def test_routed_targets_take_the_tier_result_and_only_they(model):
    first = S.load_target_model(Settings().model_paths[1])
    sents, spans = _pairs()
    p1, lab1 = first.scores(sents, spans)
    p2, lab2 = model.scores(sents, spans)
    conf = p1.max(1)
    below = float(np.median(conf))  # some targets on each side
    second = _Counting(model)
    p, lab = S.RoutedTargetModel(first, second, below).scores(sents, spans)
    go = conf < below
    assert 0 < go.sum() < len(sents)
    assert second.calls == [int(go.sum())]  # the tier sees the routed targets, one call
    assert np.allclose(p[go], p2[go]) and (lab[go] == lab2[go]).all()
    assert np.allclose(p[~go], p1[~go]) and (lab[~go] == lab1[~go]).all()
    # each target's result is its own: alone, it routes and scores the same way
    for i in range(len(sents)):
        pi, li = S.RoutedTargetModel(first, model, below).scores([sents[i]], [spans[i]])
        assert np.allclose(pi[0], p[i], atol=1e-6) and li[0] == lab[i]


def test_routed_extremes_are_the_two_models(model):
    first = S.load_target_model(Settings().model_paths[1])
    sents, spans = _pairs()
    never = _Counting(model)
    assert S.target_scores(sents, spans, S.RoutedTargetModel(first, never, 0.0)) == S.target_scores(sents, spans, first)
    assert never.calls == []  # nothing routed: the transformer is not run at all
    assert S.target_scores(sents, spans, S.RoutedTargetModel(first, model, 1.01)) == S.target_scores(sents, spans, model)


def test_routed_folder_errors_are_clear(tmp_path):
    (tmp_path / "model.json").write_text(json.dumps({"kind": "routed", "first": str(BUNDLED_MODELS["newsetl-tsc"])}))
    with pytest.raises(ValueError, match="first, second and a numeric route_below"):
        S.RoutedTargetModel.load(tmp_path)
    (tmp_path / "model.json").write_text(json.dumps(
        {"kind": "routed", "first": str(ROUTED), "second": str(FOLDER), "route_below": 0.5}))
    with pytest.raises(ValueError, match="cannot be routed models"):
        S.RoutedTargetModel.load(tmp_path)
    (tmp_path / "model.json").write_text(json.dumps(  # itself as a part: refused, not a loop
        {"kind": "routed", "first": ".", "second": str(FOLDER), "route_below": 0.5}))
    with pytest.raises(ValueError, match="cannot be routed models"):
        S.load_target_model(tmp_path)
    with pytest.raises(ValueError, match="not a target-sentiment model folder"):
        S.load_target_model(tmp_path / "missing")


def test_routed_rows_redone_from_the_recorded_tier_labels(tmp_path, monkeypatch):
    """`tsc_transformer_cv.py --from-record` (after the default is retrained): the tier's
    out-of-fold labels come from the record, the routed rows and the threshold are redone
    against the new default, and a record of other targets is refused."""
    from tests.conftest import load_script

    T = load_script("tsc_transformer_cv")
    n = 60
    pol = {0: 2.0, 1: 4.0, 2: 6.0}
    rng = np.random.default_rng(3)
    y = rng.integers(0, 3, n)
    train = tmp_path / "train.jsonl"
    with open(train, "w", encoding="utf-8") as fh:
        for i in range(n):
            fh.write(json.dumps({"primary_gid": f"allsides_{i // 3}_{i}_x_0_5", "sentence_normalized": "Smith said so.",
                                 "targets": [{"from": 0, "to": 5, "polarity": pol[int(y[i])]}]}) + "\n")
    tier = y.copy()  # a tier that is always right, so routing can only help
    default = (y + 1) % 3  # a default that is always wrong
    P = np.full((n, 3), 0.2)
    P[np.arange(n), default] = np.linspace(0.5, 0.9, n)  # its confidence grows with the index
    cv_json = tmp_path / "cv.json"
    cv_json.write_text(json.dumps({"per_seed": [{"labels": "".join(map(str, default))}]}))
    monkeypatch.setattr(T, "default_oof", lambda data, yy, ff: (P, default))
    monkeypatch.setattr(T.RD, "CV_JSON", cv_json)
    written = []
    monkeypatch.setattr(T, "write_route_below", written.append)
    rec_path = tmp_path / "tier.json"
    rec_path.write_text(json.dumps({"n_targets": n, "fold_seed": T.FOLD_SEED, "labels": "".join(map(str, tier)),
                                    "folds_run": list(range(T.FOLDS)), "macro_f1_pooled": 1.0}))
    assert T.main(["--from-record", "--train", str(train), "--out", str(rec_path)]) == 0
    rec = json.loads(rec_path.read_text())
    assert rec["labels"] == "".join(map(str, tier)) and rec["macro_f1_pooled"] == 1.0  # the tier as recorded
    routed = rec["routed"]
    assert routed["default_macro_f1_pooled"] == 0.0 and routed["macro_f1_pooled"] > 0.0
    assert written == [routed["route_below"]] == [round(float(np.quantile(P.max(1), 0.25)), 4)]
    other = dict(json.loads(rec_path.read_text()), n_targets=n + 1)
    rec_path.write_text(json.dumps(other))
    with pytest.raises(SystemExit, match="not a record of these"):
        T.main(["--from-record", "--train", str(train), "--out", str(rec_path)])
