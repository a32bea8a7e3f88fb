"""Identity and near-duplicate detection for articles.

Exact identity is the canonical URL; syndicated copies under other URLs are caught by MinHash
signatures over word shingles, compared through LSH bands.
"""

from __future__ import annotations

import hashlib
import re
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

import numpy as np

NUM_PERM = 64
BANDS = 16
ROWS = NUM_PERM // BANDS
SHINGLE = 5
NEAR_DUPLICATE_JACCARD = 0.6

_TRACKING_PARAMS = re.compile(r"^(utm_\w+|fbclid|gclid|mc_cid|mc_eid|cmpid|ref|src)$", re.I)
_WORD = re.compile(r"\w+")
_MERSENNE = np.uint64((1 << 61) - 1)
_rng = np.random.default_rng(20260801)  # fixed: signatures must be stable across runs
_A = _rng.integers(1, (1 << 61) - 1, NUM_PERM, dtype=np.uint64)
_B = _rng.integers(0, (1 << 61) - 1, NUM_PERM, dtype=np.uint64)


def canonical_url(url: str) -> str:
    """Lowercase scheme and host, drop fragment, tracking parameters and default ports."""
    parts = urlsplit(url.strip())
    scheme = parts.scheme.lower()
    host = (parts.hostname or "").lower()
    if ":" in host:  # IPv6 literal
        host = f"[{host}]"
    port = parts.port
    netloc = (
        host
        if port is None or (scheme, port) in (("http", 80), ("https", 443))
        else (f"{host}:{port}")
    )
    query = urlencode(
        sorted(
            (k, v)
            for k, v in parse_qsl(parts.query, keep_blank_values=True)
            if not _TRACKING_PARAMS.match(k)
        )
    )
    return urlunsplit((scheme, netloc, parts.path or "/", query, ""))


def article_id(url: str) -> str:
    return hashlib.sha1(canonical_url(url).encode("utf-8")).hexdigest()[:16]


def normalized_words(text: str) -> list[str]:
    return _WORD.findall(text.lower())


def content_hash(text: str) -> str:
    return hashlib.sha1(" ".join(normalized_words(text)).encode("utf-8")).hexdigest()


def minhash(text: str) -> list[int]:
    """A 64-value MinHash signature of the text's word 5-shingles (empty text -> [])."""
    words = normalized_words(text)
    if not words:
        return []
    shingles = {" ".join(words[i : i + SHINGLE]) for i in range(max(1, len(words) - SHINGLE + 1))}
    hashes = (
        np.fromiter(
            (
                int.from_bytes(hashlib.blake2b(s.encode(), digest_size=8).digest(), "little")
                for s in shingles
            ),
            dtype=np.uint64,
            count=len(shingles),
        )
        % _MERSENNE
    )
    # Universal hashing (a*x + b) mod p, computed with wrap-around; fine for signatures.
    with np.errstate(over="ignore"):
        permuted = (_A[:, None] * hashes[None, :] + _B[:, None]) % _MERSENNE
    return [int(v) for v in permuted.min(axis=1)]


def estimated_jaccard(a: list[int], b: list[int]) -> float:
    if not a or not b or len(a) != len(b):
        return 0.0
    return sum(x == y for x, y in zip(a, b, strict=True)) / len(a)


class NearDuplicateIndex:
    """LSH over MinHash bands: finds the stored article a new one is a near-copy of."""

    def __init__(self, threshold: float = NEAR_DUPLICATE_JACCARD) -> None:
        self.threshold = threshold
        self._buckets: dict[tuple[int, tuple[int, ...]], list[str]] = {}
        self._signatures: dict[str, list[int]] = {}
        self._cluster: dict[str, str] = {}

    def __len__(self) -> int:
        return len(self._signatures)

    def add(self, key: str, signature: list[int], cluster_id: str | None = None) -> None:
        if len(signature) != NUM_PERM:
            return
        self._signatures[key] = signature
        self._cluster[key] = cluster_id or key
        for band in range(BANDS):
            rows = tuple(signature[band * ROWS : (band + 1) * ROWS])
            self._buckets.setdefault((band, rows), []).append(key)

    def find(self, signature: list[int]) -> str | None:
        """The cluster id of the most similar indexed article above the threshold, if any."""
        if len(signature) != NUM_PERM:
            return None
        candidates: set[str] = set()
        for band in range(BANDS):
            rows = tuple(signature[band * ROWS : (band + 1) * ROWS])
            candidates.update(self._buckets.get((band, rows), ()))
        best, best_score = None, self.threshold
        for key in sorted(candidates):
            score = estimated_jaccard(signature, self._signatures[key])
            if score >= best_score:
                best, best_score = key, score
        return self._cluster[best] if best is not None else None
