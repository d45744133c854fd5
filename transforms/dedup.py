"""Exact and near-duplicate articles: one cluster per story, one representative.

    from newsetl.transforms.dedup import cluster_duplicates, minhash_signatures

`cluster_duplicates(articles)` takes article_id, text (clean body), published_at
(nullable) and optionally source (unused), and returns article_id, cluster_id,
duplicate_of for every input row, in input order. Pure and deterministic; no I/O.
`minhash_signatures(texts)` gives the (n, 128) uint32 signatures, which depend only on
each text (storable per article; see SIGNATURE_VERSION).

How it works (vectorised numpy over one UTF-8 byte buffer per 4 MB of text; no
pairwise loops over the corpus):

1. **Tokens.** The body is lowercased (Polars, Unicode-aware) and split into word
   tokens on the UTF-8 bytes: ASCII letters/digits and every non-ASCII character are
   word characters, except U+2000..U+206F (curly quotes, dashes, ellipsis, odd spaces)
   and U+00A0..U+00BF (no-break space, currency signs, guillemets, ...), which separate
   words like ASCII punctuation does. So "don't" equals "don’t", and case, whitespace
   and punctuation edits do not matter. Every hash is a polynomial mod 2^64 computed
   for all spans at once from one running sum (see `_features_chunk`).
2. **Exact duplicates**: the same token sequence (token count + two 64-bit hashes,
   one order-sensitive). Any length, but at least one token: empty bodies never cluster.
3. **Near duplicates**, only between bodies of >= `MIN_NEAR_WORDS` tokens (shorter ones
   match exactly or not at all), one member per exact group: word `SHINGLE_WORDS`-
   shingles; MinHash with `NUM_PERM` affine permutations of the 32-bit shingle hash;
   LSH with `BANDS` bands x `ROWS` rows; candidates whose signature estimate is below
   `ESTIMATE_FLOOR` are dropped; the rest are verified on the *exact* shingle sets:
   a pair is a near-duplicate if Jaccard >= `JACCARD_THRESHOLD`, or if containment
   |A&B|/min(|A|,|B|) >= `CONTAINMENT_THRESHOLD` with size ratio >= `MIN_SIZE_RATIO`
   (an updated, longer version of the same story).
4. **Clusters** are connected components of exact groups + verified pairs (single
   linkage, so a chain of updates v1~v2~v3 is one story). The representative is the
   earliest `published_at` (nulls last), ties -> smallest article_id; every other
   member gets `duplicate_of` = the representative. `cluster_id` = "C" + 16 hex of
   blake2b(representative's article_id); a singleton is its own cluster. Nothing depends
   on corpus statistics, so adding unrelated articles never changes a pair, a cluster
   or its id; an id changes only when an *earlier-published* copy joins the cluster
   (it becomes the representative) or when a new article links two clusters.

Calibration (`python scripts/eval_dedup.py`; numbers in docs/benchmarks.md):

- BBC News, 2,225 articles from the same newsroom, many stories on the same events.
  Every pair was scored (all-pairs MinHash estimate, exact overlap for the top ones).
  Same story (updated or re-filed versions, judged by reading): Jaccard 0.47..0.99,
  plus one extended version at Jaccard 0.35 / containment 0.94 (politics/111 vs 293).
  Different stories that share quotes or a background paragraph: Jaccard <= 0.37
  (entertainment/143 vs 159), containment <= 0.60. A rewritten follow-up of the same
  event (sport/226 "will be unveiled" vs sport/232 "has been unveiled": Jaccard 0.30,
  containment 0.68) is a different report and stays separate.
- Simulated syndication of every distinct BBC body >= 80 words (new first sentence,
  "LONDON (Reuters) -" credit, 3 words changed, "Reporting by ...; Editing by ..." and a
  newsletter line appended): Jaccard min 0.42, 5th percentile 0.59, median 0.77; the
  lowest are the shortest articles, where the rewritten lead is a big share.
- Hence JACCARD_THRESHOLD = 0.4 (between 0.37 and 0.42: the narrowest margin, on short
  syndicated copies) and CONTAINMENT_THRESHOLD = 0.8 (different reports <= 0.68,
  the extended version 0.94). A Jaccard threshold of 0.8 would miss most syndicated
  copies (median 0.77).
- LSH 42 bands x 3 rows (S-curve midpoint (1/42)^(1/3) = 0.29): candidate probability
  0.93 at J=0.4, 0.996 at J=0.5, 0.9999 at J=0.6; a random pair of news articles
  (J ~ 0.01) becomes a candidate with probability ~4e-5 and is dropped by the estimate.
"""

from __future__ import annotations

import hashlib

import numpy as np
import polars as pl
import pyarrow as pa

SHINGLE_WORDS = 5
NUM_PERM = 128
ROWS = 3
BANDS = NUM_PERM // ROWS  # 42 bands (the last 2 signature values are not banded)
JACCARD_THRESHOLD = 0.4
# ... or one text's shingles mostly inside the other's (an extended/updated version):
CONTAINMENT_THRESHOLD = 0.8
MIN_SIZE_RATIO = 0.3  # but a long round-up quoting a whole brief is not its duplicate
# Candidates whose MinHash estimate is below this are dropped before the exact check:
# the smallest Jaccard the rules above accept is ~0.23 (containment 0.8 at ratio 0.3),
# and a 128-value estimate is within +-0.08 of that with > 99.9% probability.
ESTIMATE_FLOOR = 0.15
MIN_NEAR_WORDS = 30
# LSH buckets larger than this are linked as a star (each member to the bucket's first
# member) instead of all pairs, so a degenerate bucket cannot blow up to O(g^2) checks.
MAX_BUCKET_PAIRS = 64
SIGNATURE_VERSION = "w5-mh128-aff32-v1"  # bump when tokens/shingles/hash constants change

_U64 = np.uint64
_EMPTY = np.uint32(0xFFFFFFFF)


def _splitmix(z: np.ndarray) -> np.ndarray:
    """splitmix64 finaliser, elementwise on uint64 (wrapping arithmetic)."""
    z = z.astype(_U64, copy=True)
    z ^= z >> _U64(30)
    z *= _U64(0xBF58476D1CE4E5B9)
    z ^= z >> _U64(27)
    z *= _U64(0x94D049BB133111EB)
    z ^= z >> _U64(31)
    return z


def _constants(n: int, salt: int) -> np.ndarray:
    """Fixed pseudo-random uint64 constants (pure arithmetic: identical on every machine
    and numpy version, unlike a Generator stream)."""
    with np.errstate(over="ignore"):
        return _splitmix(np.arange(1, n + 1, dtype=_U64) * _U64(0x9E3779B97F4A7C15) + _U64(salt))


_PERM_A32 = (_constants(NUM_PERM, 0xA5A5) >> _U64(32)).astype(np.uint32) | np.uint32(1)  # odd
_PERM_B32 = (_constants(NUM_PERM, 0x5A5A) >> _U64(32)).astype(np.uint32)
_BAND_SALT = _constants(BANDS, 0xBA4D)

# Byte classes: ASCII alnum and all bytes >= 0x80 are word bytes; some UTF-8 sequences
# (punctuation blocks) are turned back into separators in _features_chunk.
_WORD_BYTE = np.zeros(256, dtype=bool)
_WORD_BYTE[ord("0") : ord("9") + 1] = True
_WORD_BYTE[ord("a") : ord("z") + 1] = True
_WORD_BYTE[ord("A") : ord("Z") + 1] = True
_WORD_BYTE[0x80:] = True


def _utf8_buffer(texts: pl.Series) -> tuple[np.ndarray, np.ndarray]:
    """Lowercased texts -> (bytes uint8, offsets int64 of len n+1). Nulls are empty."""
    s = texts.cast(pl.String).fill_null("").str.to_lowercase()
    arr = s.to_arrow()
    if isinstance(arr, pa.ChunkedArray):
        arr = arr.combine_chunks()
    arr = arr.cast(pa.large_string())
    bufs = arr.buffers()
    offsets = np.frombuffer(bufs[1], dtype=np.int64)[arr.offset : arr.offset + len(arr) + 1]
    data = np.frombuffer(bufs[2], dtype=np.uint8) if bufs[2] is not None else np.zeros(0, np.uint8)
    base = offsets[0] if len(offsets) else 0
    data = data[base : offsets[-1]] if len(offsets) else data[:0]
    return data, (offsets - base)


_TOKEN_CHUNK_BYTES = 1 << 22  # bytes per step: bounds temporaries and the P^k tables
_P = 0x100000001B3  # FNV prime: odd, so invertible mod 2^64
_P_INV = pow(_P, -1, 1 << 64)
_POW_CACHE: list[np.ndarray] = []


def _pow_tables(n: int) -> tuple[np.ndarray, np.ndarray]:
    """P^k and P^-k mod 2^64 for k < n (cached; grown on demand)."""
    if not _POW_CACHE or _POW_CACHE[0].size < n:
        size = max(n, 1 << 16, 2 * _POW_CACHE[0].size if _POW_CACHE else 0)
        with np.errstate(over="ignore"):
            pw = np.cumprod(np.concatenate([[_U64(1)], np.full(size - 1, _U64(_P), dtype=_U64)]))
            inv = np.cumprod(np.concatenate([[_U64(1)], np.full(size - 1, _U64(_P_INV), dtype=_U64)]))
        _POW_CACHE[:] = [pw, inv]
    return _POW_CACHE[0], _POW_CACHE[1]


class _Features:
    """Per-text token counts, exact-body keys and word-shingle hashes."""

    __slots__ = ("per_doc", "key", "sh", "cnt")

    def __init__(self, per_doc: np.ndarray, key: np.ndarray, sh: np.ndarray, cnt: np.ndarray):
        self.per_doc = per_doc  # tokens per text (int64)
        self.key = key  # (n, 2) uint64: order-sensitive polynomial + sum of token hashes
        self.sh = sh  # shingle hashes (uint64), grouped by text in input order
        self.cnt = cnt  # shingles per text (int64)


def _features(texts: pl.Series) -> _Features:
    """Tokens, exact keys and shingles of every text, in chunks of whole texts."""
    texts = texts.cast(pl.String)
    n = len(texts)
    if n == 0:
        z = np.zeros(0, np.int64)
        return _Features(z, np.zeros((0, 2), _U64), np.zeros(0, _U64), z)
    nbytes = texts.str.len_bytes().fill_null(0).cast(pl.Int64).to_numpy()
    ends = np.cumsum(nbytes)
    parts = []
    i = 0
    while i < n:
        base = ends[i] - nbytes[i]
        j = max(int(np.searchsorted(ends, base + _TOKEN_CHUNK_BYTES, side="right")), i + 1)
        parts.append(_features_chunk(texts.slice(i, j - i) if (i, j) != (0, n) else texts))
        i = j
    if len(parts) == 1:
        return parts[0]
    return _Features(
        np.concatenate([p.per_doc for p in parts]),
        np.concatenate([p.key for p in parts]),
        np.concatenate([p.sh for p in parts]),
        np.concatenate([p.cnt for p in parts]),
    )


def _features_chunk(texts: pl.Series) -> _Features:
    """All hashes are polynomials mod 2^64 computed for every span at once as differences
    of one running sum (terms weighted by P^position), rescaled by P^-start:

    - token: splitmix64(sum_i byte_i * P^i  xor  length << 56) over the token's bytes;
    - shingle: mix(sum_k token_k * P^k) over SHINGLE_WORDS consecutive tokens of a text;
    - exact key: (sum_k token_k * P^k over the whole text, plain sum of token hashes)."""
    n = len(texts)
    data, offsets = _utf8_buffer(texts)
    nb = data.size
    pw, inv = _pow_tables(nb + 1)
    isw = _WORD_BYTE[data]
    # U+2000..U+206F: E2 80..81 xx ; U+00A0..U+00BF: C2 A0..BF -> separators.
    e2 = np.flatnonzero((data[:-2] == 0xE2) & ((data[1:-1] == 0x80) | (data[1:-1] == 0x81)))
    for k in range(3):
        isw[e2 + k] = False
    c2 = np.flatnonzero((data[:-1] == 0xC2) & (data[1:] >= 0xA0) & (data[1:] <= 0xBF))
    isw[c2] = False
    isw[c2 + 1] = False
    # cut[i]: no token spans bytes i-1 | i (non-word neighbour or a text boundary).
    cut = np.ones(nb + 1, dtype=bool)
    np.logical_not(isw[:-1] & isw[1:], out=cut[1:-1])
    cut[offsets] = True
    tstart = np.flatnonzero(isw & cut[:-1])
    tend = np.flatnonzero(isw & cut[1:]) + 1
    with np.errstate(over="ignore"):
        # token hashes
        csum = np.empty(nb + 1, dtype=_U64)
        csum[0] = 0
        np.multiply(pw[:nb], data * isw, out=csum[1:])
        np.cumsum(csum[1:], out=csum[1:])
        th = (csum[tend] - csum[tstart]) * inv[tstart]
        th ^= (tend - tstart).astype(_U64) << _U64(56)
        th = _splitmix(th)
        del csum
        ntok = th.size
        tfirst = np.searchsorted(tstart, offsets, side="left")  # (n+1,) token index bounds
        per_doc = np.diff(tfirst).astype(np.int64)
        # running sums over tokens (weighted and plain)
        tw = np.empty(ntok + 1, dtype=_U64)
        tw[0] = 0
        np.multiply(pw[:ntok], th, out=tw[1:])
        np.cumsum(tw[1:], out=tw[1:])
        ts = np.concatenate([[_U64(0)], np.cumsum(th, dtype=_U64)])
        key = np.empty((n, 2), dtype=_U64)
        key[:, 0] = (tw[tfirst[1:]] - tw[tfirst[:-1]]) * inv[tfirst[:-1]]
        key[:, 1] = ts[tfirst[1:]] - ts[tfirst[:-1]]
        # shingles: start positions tfirst[d] .. tfirst[d+1] - SHINGLE_WORDS
        k = SHINGLE_WORDS
        cnt = np.maximum(per_doc - (k - 1), 0)
        total = int(cnt.sum())
        if total:
            ok = cnt > 0
            first_tok = tfirst[:-1][ok]
            c = cnt[ok]
            # shingle start positions: first_tok[d] + 0 .. c[d]-1, as a cumsum of steps
            step = np.ones(total, dtype=np.int64)
            step[0] = first_tok[0]
            step[(np.cumsum(c) - c)[1:]] = first_tok[1:] - (first_tok[:-1] + c[:-1] - 1)
            pos = np.cumsum(step)
            sh = (tw[pos + k] - tw[pos]) * inv[pos]
            sh ^= sh >> _U64(32)
            sh *= _U64(0xD6E8FEB86659FD93)
            sh ^= sh >> _U64(32)
        else:
            sh = np.zeros(0, _U64)
    return _Features(per_doc, key, sh, cnt)


def _signatures_from_shingles(sh: np.ndarray, cnt: np.ndarray, chunk: int = 1 << 13) -> np.ndarray:
    """MinHash (n, NUM_PERM) uint32 from grouped shingle hashes; all-0xFFFFFFFF rows for
    texts without shingles. Permutation j of a shingle x (top 32 bits of its 64-bit
    hash) is a_j * x + b_j mod 2^32 with a_j odd: a bijection of the 32-bit space.
    Because x is already a well-mixed hash, this cheap family gives estimates with the
    textbook variance J(1-J)/NUM_PERM (checked empirically) at a quarter of the cost of
    64-bit arithmetic."""
    n = cnt.size
    sig = np.full((n, NUM_PERM), _EMPTY, dtype=np.uint32)
    docs = np.flatnonzero(cnt > 0)
    if docs.size == 0:
        return sig
    x = (sh >> _U64(32)).astype(np.uint32)
    ends = np.cumsum(cnt)
    starts = ends - cnt
    A = _PERM_A32[:, None]
    B = _PERM_B32[:, None]
    buf = np.empty((NUM_PERM, chunk), dtype=np.uint32)
    i = 0
    with np.errstate(over="ignore"):
        while i < docs.size:
            d = docs[i]
            if cnt[d] > chunk:
                # one long text: the minimum over slices of its shingles (a buffer as wide as
                # a text of megabytes held NUM_PERM x its shingles at once: 1.7 GB for 20 MB)
                for lo in range(int(starts[d]), int(ends[d]), chunk):
                    v = buf[:, : min(chunk, int(ends[d]) - lo)]
                    np.multiply(A, x[None, lo : lo + v.shape[1]], out=v)
                    np.add(v, B, out=v)
                    np.minimum(sig[d], v.min(axis=1), out=sig[d])
                i += 1
                continue
            # docs[i:j] whose shingles fit in one chunk (at least one doc)
            lo = starts[d]
            j = max(int(np.searchsorted(ends[docs], lo + buf.shape[1], side="right")), i + 1)
            block = docs[i:j]
            hi = ends[block[-1]]
            v = buf[:, : hi - lo]
            np.multiply(A, x[None, lo:hi], out=v)
            np.add(v, B, out=v)
            sig[block] = np.minimum.reduceat(v, starts[block] - lo, axis=1).T
            i = j
    return sig


def minhash_signatures(texts: list[str] | pl.Series) -> np.ndarray:
    """MinHash signatures of word 5-shingles, shape (n, NUM_PERM), dtype uint32.

    Deterministic across runs and machines (see SIGNATURE_VERSION). Texts with fewer
    than SHINGLE_WORDS tokens get a row of 0xFFFFFFFF. The fraction of equal positions
    of two rows estimates the Jaccard similarity of the two texts' shingle sets."""
    s = texts if isinstance(texts, pl.Series) else pl.Series("text", list(texts), dtype=pl.String)
    f = _features(s)
    return _signatures_from_shingles(f.sh, f.cnt)


def _band_keys(sig: np.ndarray) -> np.ndarray:
    """(n, BANDS) uint64 LSH bucket keys: the band's salt hashed with its ROWS values."""
    n = sig.shape[0]
    s64 = sig[:, : BANDS * ROWS].astype(_U64).reshape(n, BANDS, ROWS)
    with np.errstate(over="ignore"):
        key = np.broadcast_to(_BAND_SALT, (n, BANDS)).copy()
        for r in range(ROWS):
            key = _splitmix(key ^ s64[:, :, r])
    return key


KEY_CHUNK = 1000


def dedup_keys(texts: list[str] | pl.Series) -> list[list[int]]:
    """Per text, the keys under which a stored text can be found again: its exact-body key
    and (bodies of >= MIN_NEAR_WORDS tokens) its LSH band keys, as signed 64-bit ints.
    Two texts that `cluster_duplicates` could join share at least one key (exactly as
    likely as they are LSH candidates), so a warehouse can store these per article and
    match only new articles against them. Empty texts have no keys."""
    s = texts if isinstance(texts, pl.Series) else pl.Series("text", list(texts), dtype=pl.String)
    if len(s) > KEY_CHUNK:
        # Keys depend on their own text only: chunks bound the shingle arrays (~55 KB a text
        # at once otherwise: 0.5 GB for a 9,000-article run).
        return [k for i in range(0, len(s), KEY_CHUNK) for k in dedup_keys(s.slice(i, KEY_CHUNK))]
    f = _features(s)
    n = len(s)
    with np.errstate(over="ignore"):
        exact = _splitmix(f.key[:, 0] ^ _splitmix(f.key[:, 1] + f.per_doc.astype(_U64)))
    bands = _band_keys(_signatures_from_shingles(f.sh, f.cnt)) if n else np.zeros((0, BANDS), _U64)
    out: list[list[int]] = []
    for i in range(n):
        if f.per_doc[i] == 0:
            out.append([])
            continue
        ks = [int(exact[i].view(np.int64))]
        if f.per_doc[i] >= MIN_NEAR_WORDS:
            ks += bands[i].view(np.int64).tolist()
        out.append(ks)
    return out


def _lsh_candidates(sig: np.ndarray) -> np.ndarray:
    """Candidate pairs (m, 2) int64 (i < j) of rows sharing at least one LSH band."""
    n = sig.shape[0]
    if n < 2:
        return np.zeros((0, 2), np.int64)
    key = _band_keys(sig)
    # The band's salt is hashed into its key, so one sort of all keys puts every bucket
    # together (a cross-band 64-bit collision would only add a pair that gets verified).
    key = key.T.ravel()  # band-major: entry e is row e % n
    order = np.argsort(key, kind="stable")
    key = key[order]
    row = order % n
    same = key[1:] == key[:-1]
    if not same.any():
        return np.zeros((0, 2), np.int64)
    # keep only entries in buckets of size >= 2
    inb = np.zeros(key.size, dtype=bool)
    inb[1:] |= same
    inb[:-1] |= same
    idx = np.flatnonzero(inb)
    row = row[idx]
    bstart = np.ones(idx.size, dtype=bool)
    bstart[1:] = ~((idx[1:] == idx[:-1] + 1) & same[idx[:-1]])
    bucket = np.cumsum(bstart) - 1
    bsize = np.bincount(bucket)
    first = np.flatnonzero(bstart)
    pairs = []
    big = bsize[bucket] > MAX_BUCKET_PAIRS
    if big.any():  # star: every member of a big bucket with its first member
        members = np.flatnonzero(big & ~bstart)
        pairs.append(np.stack([row[first[bucket[members]]], row[members]], axis=1))
    small = ~big
    d = 1
    while True:
        a = np.flatnonzero(small[:-d] & (bucket[:-d] == bucket[d:])) if idx.size > d else np.zeros(0, np.int64)
        if a.size == 0:
            break
        pairs.append(np.stack([row[a], row[a + d]], axis=1))
        d += 1
    p = np.concatenate(pairs)
    p = np.sort(p, axis=1)
    p = p[p[:, 0] != p[:, 1]]
    code = np.unique(p[:, 0] * n + p[:, 1])
    return np.stack([code // n, code % n], axis=1)


def _overlap_pairs(pairs: np.ndarray, sh: np.ndarray, cnt: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """For each pair of row indices, from the exact shingle sets: Jaccard |A&B|/|A|B|,
    containment |A&B|/min(|A|,|B|) and size ratio min(|A|,|B|)/max(|A|,|B|)."""
    ends = np.cumsum(cnt)
    starts = ends - cnt
    cache: dict[int, np.ndarray] = {}

    def shset(i: int) -> np.ndarray:
        s = cache.get(i)
        if s is None:
            s = cache[i] = np.unique(sh[starts[i] : ends[i]])
        return s

    m = len(pairs)
    jac, cont, ratio = np.zeros(m), np.zeros(m), np.zeros(m)
    for k, (i, j) in enumerate(pairs.tolist()):
        a, b = shset(i), shset(j)
        inter = np.intersect1d(a, b, assume_unique=True).size
        small, large = min(a.size, b.size), max(a.size, b.size)
        if small:
            jac[k] = inter / (a.size + b.size - inter)
            cont[k] = inter / small
            ratio[k] = small / large
    return jac, cont, ratio


def _jaccard_pairs(pairs: np.ndarray, sh: np.ndarray, cnt: np.ndarray) -> np.ndarray:
    """Exact Jaccard of shingle sets for each pair of row indices."""
    return _overlap_pairs(pairs, sh, cnt)[0]


def _accept(jac: np.ndarray, cont: np.ndarray, ratio: np.ndarray) -> np.ndarray:
    """The near-duplicate rule (see the module docstring)."""
    return (jac >= JACCARD_THRESHOLD) | ((cont >= CONTAINMENT_THRESHOLD) & (ratio >= MIN_SIZE_RATIO))


def _components(n: int, edges: np.ndarray) -> np.ndarray:
    """Connected-component label (smallest node index) for n nodes, edges (m, 2)."""
    label = np.arange(n, dtype=np.int64)
    if edges.size == 0:
        return label
    u, v = edges[:, 0], edges[:, 1]
    while True:
        m = np.minimum(label[u], label[v])
        new = label.copy()
        np.minimum.at(new, u, m)
        np.minimum.at(new, v, m)
        while True:  # pointer jumping
            nxt = new[new]
            if np.array_equal(nxt, new):
                break
            new = nxt
        if np.array_equal(new, label):
            return label
        label = new


def shingle_jaccard(a: str, b: str) -> float:
    """Exact Jaccard similarity of the word 5-shingle sets of two texts (what the
    near-duplicate check compares with JACCARD_THRESHOLD)."""
    f = _features(pl.Series("text", [a, b], dtype=pl.String))
    return float(_jaccard_pairs(np.array([[0, 1]]), f.sh, f.cnt)[0])


_PAIR_SCHEMA = {"i": pl.Int64, "j": pl.Int64, "jaccard": pl.Float64, "containment": pl.Float64}


def _near_pairs(f: _Features, eligible: np.ndarray | None = None):
    sh, cnt = f.sh, f.cnt
    ok = f.per_doc >= MIN_NEAR_WORDS
    if eligible is not None:
        ok &= eligible
    rows = np.flatnonzero(ok)
    empty = pl.DataFrame(schema=_PAIR_SCHEMA)
    if rows.size < 2:
        return empty, 0
    # shingles of the eligible rows only, regrouped
    sel_cnt = cnt[rows]
    sub_sh = sh if rows.size == cnt.size else sh[np.repeat(ok, cnt)]
    sig = _signatures_from_shingles(sub_sh, sel_cnt)
    cand = _lsh_candidates(sig)
    n_cand = len(cand)
    if n_cand == 0:
        return empty, 0
    est = np.empty(n_cand)
    for c in range(0, n_cand, 1 << 14):
        p = cand[c : c + (1 << 14)]
        est[c : c + len(p)] = (sig[p[:, 0]] == sig[p[:, 1]]).mean(axis=1)
    cand = cand[est >= ESTIMATE_FLOOR]
    jac, cont, ratio = _overlap_pairs(cand, sub_sh, sel_cnt)
    keep = _accept(jac, cont, ratio)
    out = pl.DataFrame(
        {"i": rows[cand[keep, 0]], "j": rows[cand[keep, 1]], "jaccard": jac[keep], "containment": cont[keep]},
        schema=_PAIR_SCHEMA,
    )
    return out, n_cand


def _cluster_hash(article_id: str) -> str:
    # md5 so that SQL can compute it too: the warehouse stores only multi-article clusters
    # and its `articles` view gives a singleton "C" || left(md5(article_id), 16).
    return "C" + hashlib.md5(article_id.encode("utf-8", "surrogatepass")).hexdigest()[:16]


OUTPUT_SCHEMA = {"article_id": pl.String, "cluster_id": pl.String, "duplicate_of": pl.String}


def cluster_duplicates(articles: pl.DataFrame, with_stats: bool = False):
    """Exact + near-duplicate clusters. In: article_id, text, published_at (nullable),
    source (optional, unused). Out (input order): article_id, cluster_id, duplicate_of.

    With with_stats=True returns (frame, stats) for evaluation: counts of exact groups,
    LSH candidate pairs and verified near pairs, plus the near pairs themselves
    (`near_pair_rows`: input row numbers i < j and their Jaccard)."""
    n = articles.height
    stats = {"articles": n, "exact_groups": 0, "lsh_candidates": 0, "near_pairs": 0}
    if n == 0:
        out = pl.DataFrame(schema=OUTPUT_SCHEMA)
        return (out, stats) if with_stats else out
    ids = articles["article_id"].cast(pl.String)
    if ids.null_count() or ids.n_unique() != n:
        raise ValueError("article_id must be non-null and unique")
    f = _features(articles["text"])
    per_doc = f.per_doc

    # 1. exact groups: same token sequence (>= 1 token)
    kdf = pl.DataFrame({"n": per_doc, "h1": f.key[:, 0], "h2": f.key[:, 1]})
    gid = kdf.select(pl.struct("n", "h1", "h2").rank("dense").cast(pl.Int64) - 1).to_series().to_numpy()
    empty = per_doc == 0
    gid = np.where(empty, gid.max() + 1 + np.arange(n), gid)  # empty bodies: singletons
    _, gid = np.unique(gid, return_inverse=True)
    n_groups = int(gid.max()) + 1
    stats["exact_groups"] = int(n_groups - (np.bincount(gid) == 1).sum())
    first_of_group = np.full(n_groups, n, dtype=np.int64)
    np.minimum.at(first_of_group, gid, np.arange(n))
    is_first = first_of_group[gid] == np.arange(n)

    # 2. near duplicates among one member per exact group
    pairs, n_cand = _near_pairs(f, eligible=is_first)
    stats["lsh_candidates"] = int(n_cand)
    stats["near_pairs"] = pairs.height
    stats["near_pair_rows"] = pairs  # i, j (input row numbers), jaccard
    edges = np.stack([gid[pairs["i"].to_numpy()], gid[pairs["j"].to_numpy()]], axis=1) if pairs.height else np.zeros((0, 2), np.int64)
    comp = _components(n_groups, edges)[gid]

    # 3. representative: earliest published_at (nulls last), ties -> smallest article_id
    if "published_at" in articles.columns:
        pub = articles["published_at"]
    else:
        pub = pl.Series("published_at", [None] * n, dtype=pl.Datetime("us", "UTC"))
    df = pl.DataFrame({"row": np.arange(n), "article_id": ids, "published_at": pub, "comp": comp})
    reps = (
        df.sort(["comp", "published_at", "article_id"], nulls_last=True)
        .group_by("comp", maintain_order=True)
        .agg(pl.col("article_id").first().alias("rep"))
    )
    rep_ids = reps["rep"].to_list()
    reps = reps.with_columns(pl.Series("cluster_id", [_cluster_hash(a) for a in rep_ids], dtype=pl.String))
    out = (
        df.join(reps, on="comp", how="left")
        .sort("row")
        .select(
            "article_id",
            "cluster_id",
            pl.when(pl.col("rep") != pl.col("article_id")).then(pl.col("rep")).otherwise(None).alias("duplicate_of"),
        )
    )
    out = out.cast(OUTPUT_SCHEMA)
    return (out, stats) if with_stats else out
