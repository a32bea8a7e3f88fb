"""Identity and near-duplicate detection for articles.

Exact identity is the canonical URL; syndicated copies under other URLs are caught by MinHash
signatures over word shingles, compared through LSH bands.
"""

from __future__ import annotations

import hashlib
import heapq
import re
from datetime import datetime, timedelta
from itertools import accumulate
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

import numpy as np

NUM_PERM = 64
BANDS = 16
ROWS = NUM_PERM // BANDS
SHINGLE = 5
NEAR_DUPLICATE_JACCARD = 0.6

# Parameters that only say how a reader arrived (campaigns, click ids), never which article.
_TRACKING_PARAMS = re.compile(
    r"^(utm_\w+|fbclid|gclid|dclid|gbraid|wbraid|msclkid|yclid|twclid|igshid|mc_cid|mc_eid"
    r"|_ga|_gl|_hsenc|_hsmi|mkt_tok|oly_anon_id|oly_enc_id|vero_id|cmpid|ncid|sr_share"
    r"|__twitter_impression)$",
    re.I,
)
_WORD = re.compile(r"\w+")
_MERSENNE = np.uint64((1 << 61) - 1)
_rng = np.random.default_rng(20260801)  # fixed: signatures must be stable across runs
_A = _rng.integers(1, (1 << 61) - 1, NUM_PERM, dtype=np.uint64)
_B = _rng.integers(0, (1 << 61) - 1, NUM_PERM, dtype=np.uint64)


def canonical_url(url: str) -> str:
    """Lowercase scheme and host, drop the fragment, default ports and tracking parameters, and
    sort the other parameters. Nothing else is dropped: any other part can name the article."""
    parts = urlsplit(url.strip())
    scheme = parts.scheme.lower()
    host = (parts.hostname or "").lower()
    if ":" in host:  # IPv6 literal
        host = f"[{host}]"
    try:
        port = parts.port
    except ValueError:  # a malformed port is kept as written rather than failing the article
        port = None
        host = parts.netloc.rsplit("@", 1)[-1].lower()
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


def identity_url(url: str) -> str:
    """What an article id is computed from: the canonical URL with http and https treated alike
    (the same article is often linked both ways)."""
    parts = urlsplit(canonical_url(url))
    scheme = "https" if parts.scheme == "http" else parts.scheme
    return urlunsplit((scheme, parts.netloc, parts.path, parts.query, ""))


def article_id(url: str) -> str:
    return hashlib.sha1(identity_url(url).encode("utf-8")).hexdigest()[:16]


def normalized_words(text: str) -> list[str]:
    return _WORD.findall(text.lower())


def content_hash(text: str) -> str:
    return hashlib.sha1(" ".join(normalized_words(text)).encode("utf-8")).hexdigest()


def fingerprints(text: str) -> tuple[str, list[int]]:
    """`content_hash(text)` and `minhash(text)`, sharing one pass over the words."""
    words = normalized_words(text)
    joined = " ".join(words).encode("utf-8")
    return hashlib.sha1(joined).hexdigest(), _minhash_words(words, joined)


def minhash(text: str) -> list[int]:
    """A 64-value MinHash signature of the text's word 5-shingles (empty text -> [])."""
    words = normalized_words(text)
    return _minhash_words(words, " ".join(words).encode("utf-8"))


def _minhash_words(words: list[str], data: bytes) -> list[int]:
    if not words:
        return []
    # Each shingle is " ".join of 5 words; sliced from the joined text's bytes (`data`), which
    # is the same string and several times cheaper than joining every window.
    lengths = [len(w) for w in words] if data.isascii() else [len(w.encode()) for w in words]
    starts = list(accumulate((length + 1 for length in lengths[:-1]), initial=0))
    if len(words) <= SHINGLE:
        shingles = {data}
    else:
        ends = [start + length for start, length in zip(starts, lengths, strict=True)]
        shingles = {
            data[starts[i] : ends[i + SHINGLE - 1]] for i in range(len(words) - SHINGLE + 1)
        }
    blake2b = hashlib.blake2b
    digests = b"".join([blake2b(s, digest_size=8).digest() for s in shingles])
    hashes = np.frombuffer(digests, dtype="<u8") % _MERSENNE
    # Universal hashing (a*x + b) mod p, computed with wrap-around; fine for signatures.
    with np.errstate(over="ignore"):
        permuted = (_A[:, None] * hashes[None, :] + _B[:, None]) % _MERSENNE
    return [int(v) for v in permuted.min(axis=1)]


def estimated_jaccard(a: list[int], b: list[int]) -> float:
    if not a or not b or len(a) != len(b):
        return 0.0
    return sum(x == y for x, y in zip(a, b, strict=True)) / len(a)


class NearDuplicateIndex:
    """LSH over MinHash bands: finds the stored article a new one is a near-copy of.

    Signatures are kept as compact uint64 arrays and bands as 64-bit hashes, so the index of a
    large archive costs about 1 KB per article rather than several. With a `window`, articles
    published more than `window` before the newest one added leave the index (copies of a story
    appear within days of each other; the store's lookback is the same window), so a long
    ingest holds only the window's articles, not the archive's."""

    def __init__(
        self, threshold: float = NEAR_DUPLICATE_JACCARD, window: timedelta | None = None
    ) -> None:
        self.threshold = threshold
        self.window = window
        # Band hash -> the key of the one article in that bucket, or a list when several are.
        self._buckets: dict[int, str | list[str]] = {}
        self._signatures: dict[str, np.ndarray] = {}
        self._cluster: dict[str, str] = {}
        self._by_time: list[tuple[datetime, str]] = []  # a heap, oldest first
        self._newest: datetime | None = None

    def __len__(self) -> int:
        return len(self._signatures)

    @staticmethod
    def _band_keys(signature: np.ndarray) -> list[int]:
        return [
            hash((band, signature[band * ROWS : (band + 1) * ROWS].tobytes()))
            for band in range(BANDS)
        ]

    def add(
        self,
        key: str,
        signature: list[int],
        cluster_id: str | None = None,
        published: datetime | None = None,
    ) -> None:
        """Index `key`. `published` (timezone-aware) places it in the window; without one it
        stays for the life of the index."""
        if len(signature) != NUM_PERM or key in self._signatures:
            return
        array = np.asarray(signature, dtype=np.uint64)
        self._signatures[key] = array
        if cluster_id and cluster_id != key:
            self._cluster[key] = cluster_id
        for band_key in self._band_keys(array):
            bucket = self._buckets.get(band_key)
            if bucket is None:
                self._buckets[band_key] = key
            elif isinstance(bucket, str):
                self._buckets[band_key] = [bucket, key]
            else:
                bucket.append(key)
        if self.window is not None and published is not None:
            heapq.heappush(self._by_time, (published, key))
            if self._newest is None or published > self._newest:
                self._newest = published
            self._evict(self._newest - self.window)

    def _evict(self, cutoff: datetime) -> None:
        while self._by_time and self._by_time[0][0] < cutoff:
            _, key = heapq.heappop(self._by_time)
            self._remove(key)

    def _remove(self, key: str) -> None:
        array = self._signatures.pop(key)
        self._cluster.pop(key, None)
        for band_key in self._band_keys(array):
            bucket = self._buckets.get(band_key)
            if bucket == key:
                del self._buckets[band_key]
            elif isinstance(bucket, list):
                bucket.remove(key)
                if len(bucket) == 1:
                    self._buckets[band_key] = bucket[0]

    def find(self, signature: list[int]) -> str | None:
        """The cluster id of the most similar indexed article above the threshold, if any."""
        if len(signature) != NUM_PERM:
            return None
        array = np.asarray(signature, dtype=np.uint64)
        candidates: set[str] = set()
        for band_key in self._band_keys(array):
            bucket = self._buckets.get(band_key)
            if isinstance(bucket, str):
                candidates.add(bucket)
            elif bucket is not None:
                candidates.update(bucket)
        best, best_score = None, self.threshold
        for key in sorted(candidates):
            score = float(np.count_nonzero(self._signatures[key] == array)) / NUM_PERM
            if score >= best_score:
                best, best_score = key, score
        return self._cluster.get(best, best) if best is not None else None
