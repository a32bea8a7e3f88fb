"""Throughput of the analyzer (spaCy pipeline + entities + sentiment + themes) on real news.

Prints JSON: articles/s, sentences/s, words/s on the Reuters 2012-13 sample (../shared/data).
    python bench/bench_analyze.py [--articles 500]
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import sys
import time
from pathlib import Path

from nlp_pipeline.nlp import Analyzer


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--articles", type=int, default=500)
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
    analyzer = Analyzer()
    analyzer.analyze("warm up")
    start = time.perf_counter()
    sentences = entities = 0
    for result in analyzer.analyze_many(texts):
        sentences += len(result.sentences)
        entities += len(result.entities)
    seconds = time.perf_counter() - start
    words = sum(len(t.split()) for t in texts)
    print(
        json.dumps(
            {
                "models": analyzer.model_versions,
                "articles": len(texts),
                "sentences": sentences,
                "words": words,
                "seconds": round(seconds, 2),
                "articles_per_s": round(len(texts) / seconds, 1),
                "sentences_per_s": round(sentences / seconds, 1),
                "words_per_s": round(words / seconds),
                "entities_per_article": round(entities / len(texts), 2),
                "cpu": platform.processor() or platform.machine(),
                "cores": os.cpu_count(),
            },
            indent=1,
        )
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
