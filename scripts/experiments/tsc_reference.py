"""Reference logits for the transformer sentiment tier, computed with torch + transformers
(the training code of tsc_teacher.py), so tests can check that newsetl's numpy forward pass
and its `tokenizers` encoding (transforms/tsc_transformer.py) compute the same function.

Runs in the experiment venv (see tsc_teacher.py's docstring):

    /tmp/tvenv/bin/python scripts/experiments/tsc_reference.py --model /tmp/mini/model \
        --adapter newsetl/models/tsc_minilm/adapter.npz \
        --out tests/fixtures/tsc_transformer_reference.json

The sentences are tests/fixtures/tsc_sentences.jsonl ({"s", "from", "to"}), written for the
tests; the output holds their logits.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import numpy as np
import torch
from transformers import AutoModel, AutoTokenizer

sys.path.insert(0, str(Path(__file__).resolve().parent))
from tsc_teacher import Classifier, LoRA, add_lora, marked  # noqa: E402

ROOT = Path(__file__).resolve().parents[2]


def load_adapter(model: Classifier, path: Path) -> dict:
    with np.load(path) as z:
        arrays = {k: z[k] for k in z.files}
    meta = json.loads(bytes(arrays.pop("meta")).decode())
    mods = dict(model.enc.named_modules())
    params = dict(model.enc.named_parameters())
    with torch.no_grad():
        for key, v in arrays.items():
            t = torch.from_numpy(v)
            if key.startswith("lora."):
                name, part = key[len("lora."):].rsplit(".", 1)
                assert isinstance(mods[name], LoRA), name
                getattr(mods[name], part).copy_(t)
            elif key.startswith("ln."):
                params[key[len("ln."):]].copy_(t)
        model.enc.embeddings.word_embeddings.weight[list(model.markers)] = torch.from_numpy(arrays["markers"])
        model.out.weight.copy_(torch.from_numpy(arrays["head.weight"]))
        model.out.bias.copy_(torch.from_numpy(arrays["head.bias"]))
    return meta


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--model", type=Path, required=True)
    ap.add_argument("--adapter", type=Path, required=True)
    ap.add_argument("--sentences", type=Path, default=ROOT / "tests" / "fixtures" / "tsc_sentences.jsonl")
    ap.add_argument("--window", type=int, default=200)
    ap.add_argument("--out", type=Path, required=True)
    args = ap.parse_args()
    torch.manual_seed(0)
    tok = AutoTokenizer.from_pretrained(args.model)
    tok.add_special_tokens({"additional_special_tokens": ["[T]", "[/T]"]})
    enc = AutoModel.from_pretrained(args.model)
    enc.resize_token_embeddings(len(tok))
    model = Classifier(enc, tuple(tok.convert_tokens_to_ids(["[T]", "[/T]"])))
    with np.load(args.adapter) as z:
        spec = json.loads(bytes(z["meta"]).decode())
    add_lora(model, int(spec["rank"]), float(spec["alpha"]), list(model.markers))
    load_adapter(model, args.adapter)
    model.eval()
    rows = [json.loads(line) for line in args.sentences.read_text(encoding="utf-8").splitlines() if line.strip()]
    out = []
    with torch.no_grad():
        for r in rows:
            text, target = marked(r["s"], r["from"], r["to"], args.window)
            b = tok([text], [target], truncation="only_first", max_length=128, return_tensors="pt")
            z = model(b["input_ids"], b["attention_mask"], b["token_type_ids"])[0]
            out.append({"ids": b["input_ids"][0].tolist(), "logits": [round(float(x), 6) for x in z]})
    args.out.write_text(json.dumps({"adapter_sha256": __import__("hashlib").sha256(args.adapter.read_bytes()).hexdigest(),
                                    "window": args.window, "rows": out}, indent=0) + "\n")
    print("wrote", args.out, len(out), "rows")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
