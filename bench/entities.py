"""Throughput of the entity stage alone on real news (Reuters 2012-13 sample, ../shared/data).

Prints JSON: words/s of the `financial_entities` component over pre-tokenized, sentence-split
documents (tokenizer and sentencizer excluded), and of the whole spaCy pipeline (blank English
tokenizer + sentencizer + entities) for comparison; also the cost of one very long text, which
grows linearly with its length.
    python bench/entities.py [--articles 1000] [--repeat 3]
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import sys
import time
from pathlib import Path

from nlp_pipeline.nlp.analyzer import build_spacy_pipeline, default_models_dir


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--articles", type=int, default=1000)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    shared = Path(
        os.environ.get("NLP_PIPELINE_SHARED_DATA")
        or Path(__file__).resolve().parents[2] / "shared" / "data"
    )
    path = shared / "reuters_2012_2013" / "reuters_sample.jsonl"
    if not path.exists():
        print(f"Reuters sample not available at {path}", file=sys.stderr)
        return 1
    texts = []
    with path.open(encoding="utf-8") as handle:
        for line in handle:
            record = json.loads(line)
            texts.append(f"{record['title']}\n\n{record['body']}")
            if len(texts) >= args.articles:
                break
    load_start = time.perf_counter()
    nlp = build_spacy_pipeline(default_models_dir())
    load_s = time.perf_counter() - load_start
    recognizer = nlp.get_pipe("financial_entities")
    before = [(name, pipe) for name, pipe in nlp.pipeline if name != "financial_entities"]
    docs = []
    for doc in nlp.tokenizer.pipe(texts, batch_size=64):
        for _, pipe in before:
            doc = pipe(doc)
        docs.append(doc)
    words = sum(1 for doc in docs for token in doc if not token.is_space)
    stage, full = [], []
    for _ in range(args.repeat):
        start = time.perf_counter()
        for doc in docs:
            recognizer.mentions(recognizer(doc))
        stage.append(time.perf_counter() - start)
        start = time.perf_counter()
        for doc in nlp.pipe(texts, batch_size=64):
            recognizer.mentions(doc)
        full.append(time.perf_counter() - start)
    long_text = "".join(texts)[:200_000]
    long_times = {}
    for size in (25_000, 200_000):
        doc = nlp.make_doc(long_text[:size])
        for _, pipe in before:
            doc = pipe(doc)
        start = time.perf_counter()
        recognizer.mentions(recognizer(doc))
        long_times[f"{size}_chars_s"] = round(time.perf_counter() - start, 4)
    print(
        json.dumps(
            {
                "articles": len(texts),
                "words": words,
                "entity_stage_words_per_s": round(words / statistics.median(stage)),
                "spacy_pipeline_with_entities_words_per_s": round(words / statistics.median(full)),
                "pipeline_load_s": round(load_s, 2),
                "one_long_text": long_times,
                "repeats": args.repeat,
                "cpus": os.cpu_count(),
                "python": platform.python_version(),
                "machine": platform.machine(),
            },
            indent=2,
        )
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
