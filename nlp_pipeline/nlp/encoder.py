"""The shared sentence encoder: one ONNX Runtime pass per unique sentence serves every head.

The shipped graph (`models/sentiment/model.onnx`, made by `nlp-pipeline train sentiment`) takes
`input_ids` and `attention_mask` and returns `logits` (sentiment classes, in the order of the
config's `labels`) and `embedding` (the L2-normalised mean-pooled sentence vector the theme
head reads). Sentences are deduplicated, looked up in a cache keyed by a hash of their text
(boilerplate and syndicated copies are encoded once per process), sorted by token length and
run in padded batches, one tokenizer call per batch. No torch at run time.
"""

from __future__ import annotations

import hashlib
import json
import os
from collections import OrderedDict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from nlp_pipeline.errors import ConfigError
from nlp_pipeline.nlp.registry import register

DEFAULT_CACHE_SIZE = 100_000  # sentences; about 1.6 KB each with a 384-d embedding
DEFAULT_BATCH_SIZE = 32


@dataclass(frozen=True)
class EncodedSentences:
    """The encoder's output for a list of sentences, row i for sentence i."""

    logits: np.ndarray  # (n, classes) float32
    embeddings: np.ndarray  # (n, dim) float32, unit length

    def __len__(self) -> int:
        return int(self.logits.shape[0])


def _cpu_threads() -> int:
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # not on Linux
        return max(1, os.cpu_count() or 1)


class SentenceEncoder:
    """ONNX Runtime session over a model folder (model.onnx, tokenizer.json, config.json)."""

    def __init__(
        self,
        model_dir: Path,
        threads: int | None = None,
        cache_size: int = DEFAULT_CACHE_SIZE,
        batch_size: int = DEFAULT_BATCH_SIZE,
        spin: bool = True,
    ) -> None:
        import onnxruntime as ort
        from tokenizers import Tokenizer

        self.model_dir = model_dir
        paths = {name: model_dir / name for name in ("model.onnx", "tokenizer.json", "config.json")}
        missing = [str(p) for p in paths.values() if not p.is_file()]
        if missing:
            raise ConfigError(
                f"sentence encoder incomplete in {model_dir}: missing {', '.join(missing)}"
            )
        try:
            self.config: dict[str, Any] = json.loads(paths["config.json"].read_text())
            self.labels: list[str] = list(self.config["labels"])
            max_length = int(self.config.get("max_length", 128))
        except (ValueError, KeyError, TypeError) as exc:
            raise ConfigError(f"bad encoder config {paths['config.json']}: {exc}") from None
        # The weights: model.onnx, and the external data files of a model too large for one
        # file (`model.onnx.data-0`, ...: a larger tier keeps each file under 100 MB).
        digest = hashlib.sha1()
        for weights in sorted(model_dir.glob("model.onnx*")):
            with weights.open("rb") as handle:
                for block in iter(lambda: handle.read(1 << 20), b""):
                    digest.update(block)
        self.version = f"{self.config.get('version', 'onnx')}+{digest.hexdigest()[:8]}"
        self.tokenizer = Tokenizer.from_file(str(paths["tokenizer.json"]))
        self.tokenizer.no_padding()
        self.tokenizer.enable_truncation(max_length=max_length)
        options = ort.SessionOptions()
        options.intra_op_num_threads = threads or _cpu_threads()
        options.inter_op_num_threads = 1
        options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
        # Spinning idle worker threads are faster on a quiet machine (2 cores: about 265 vs 235
        # sentences/s); on cores shared with other busy jobs, sleeping ones did better (54 vs 42
        # at load 6). `spin: false` in models/pipeline.yaml for shared machines.
        options.add_session_config_entry("session.intra_op.allow_spinning", "1" if spin else "0")
        try:
            self.session = ort.InferenceSession(
                str(paths["model.onnx"]), options, providers=["CPUExecutionProvider"]
            )
        except Exception as exc:  # onnxruntime raises its own types (bad graph, missing data)
            raise ConfigError(f"cannot load the ONNX model in {model_dir}: {exc}") from None
        self.embedding_dim = int(self.session.get_outputs()[1].shape[-1] or 0) or int(
            self.config.get("embedding_dim", 0)
        )
        self.batch_size = batch_size
        self.cache_size = cache_size
        self._cache: OrderedDict[bytes, tuple[np.ndarray, np.ndarray]] = OrderedDict()
        self.stats = {"encoded": 0, "cached": 0}

    def encode(self, sentences: Sequence[str]) -> EncodedSentences:
        keys = [hashlib.blake2b(s.encode("utf-8"), digest_size=16).digest() for s in sentences]
        todo: dict[bytes, str] = {}
        for key, sentence in zip(keys, sentences, strict=True):
            if key in self._cache:
                self._cache.move_to_end(key)
            elif key not in todo:
                todo[key] = sentence
        self.stats["cached"] += len(sentences) - len(todo)
        self.stats["encoded"] += len(todo)
        fresh = self._run(list(todo.values()))
        for i, key in enumerate(todo):
            self._cache[key] = (fresh[0][i], fresh[1][i])
        found = {key: self._cache[key] for key in keys}  # before eviction can drop any
        while len(self._cache) > self.cache_size:
            self._cache.popitem(last=False)
        rows = [found[key] for key in keys]
        classes, dim = len(self.labels), self.embedding_dim
        if not rows:
            return EncodedSentences(
                np.zeros((0, classes), np.float32), np.zeros((0, dim), np.float32)
            )
        return EncodedSentences(np.stack([r[0] for r in rows]), np.stack([r[1] for r in rows]))

    def _run(self, sentences: list[str]) -> tuple[np.ndarray, np.ndarray]:
        classes, dim = len(self.labels), self.embedding_dim
        logits = np.zeros((len(sentences), classes), np.float32)
        embeddings = np.zeros((len(sentences), dim), np.float32)
        if not sentences:
            return logits, embeddings
        # One tokenizer call for all; then batches of similar length, so little padding.
        encodings = self.tokenizer.encode_batch(sentences)
        order = sorted(range(len(sentences)), key=lambda i: len(encodings[i].ids))
        for start in range(0, len(order), self.batch_size):
            rows = order[start : start + self.batch_size]
            width = max(len(encodings[i].ids) for i in rows)
            ids = np.zeros((len(rows), width), np.int64)
            mask = np.zeros((len(rows), width), np.int64)
            for r, i in enumerate(rows):
                n = len(encodings[i].ids)
                ids[r, :n] = encodings[i].ids
                mask[r, :n] = 1
            out_logits, out_embeddings = self.session.run(
                ["logits", "embedding"], {"input_ids": ids, "attention_mask": mask}
            )
            logits[rows] = out_logits
            embeddings[rows] = out_embeddings
        return logits, embeddings


@register("encoder", "onnx_encoder")
def _onnx_encoder(models_dir: Path, options: Mapping[str, Any]) -> SentenceEncoder:
    threads = options.get("threads")
    return SentenceEncoder(
        models_dir / str(options.get("path", "sentiment")),
        threads=int(threads) if threads else None,
        cache_size=int(options.get("cache_size", DEFAULT_CACHE_SIZE)),
        batch_size=int(options.get("batch_size", DEFAULT_BATCH_SIZE)),
        spin=bool(options.get("spin", True)),
    )
