"""What the theme head and the rotation extractor add to the sentiment stage's time.

The sentiment stage is the shared encoder pass plus the sentiment head; themes and rotations
read the same pass. Timed on real Reuters sentences (../shared/data), each part on its own, best of
`--repeats` runs. Prints JSON with the ratio (target: themes + rotations <= 20% of sentiment).
    python bench/bench_themes.py [--sentences 2000] [--repeats 3]
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import sys
import time
from collections.abc import Callable
from pathlib import Path

from nlp_pipeline.nlp import Analyzer


def best_of(repeats: int, work: Callable[[], object]) -> float:
    times = []
    for _ in range(repeats):
        started = time.perf_counter()
        work()
        times.append(time.perf_counter() - started)
    return min(times)


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--sentences", type=int, default=2000)
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    shared = Path(
        os.environ.get("NLP_PIPELINE_SHARED_DATA")
        or Path(__file__).resolve().parents[2] / "shared" / "data"
    )
    path = shared / "reuters_2012_2013" / "reuters_sample.jsonl"
    if not path.exists():
        print(f"Reuters sample not available at {path}", file=sys.stderr)
        return 1
    analyzer = Analyzer()
    sentences: list[str] = []
    with path.open(encoding="utf-8") as handle:
        for line in handle:
            body = json.loads(line)["body"]
            doc = analyzer.nlp.make_doc(body)
            for pipe_name in ("sentencizer", "newline_sentence_boundaries"):
                doc = analyzer.nlp.get_pipe(pipe_name)(doc)
            sentences += [s.text.strip() for s in doc.sents if len(s.text.strip()) > 20]
            if len(sentences) >= args.sentences:
                break
    sentences = list(dict.fromkeys(sentences))[: args.sentences]

    def encode_and_sentiment() -> None:
        analyzer.encoder._cache.clear()  # every run pays for the forward pass
        encoded = analyzer.encoder.encode(sentences)
        analyzer.sentiment.predict(sentences, encoded)

    encode_and_sentiment()  # warm up
    encoded = analyzer.encoder.encode(sentences)
    sentiment_s = best_of(args.repeats, encode_and_sentiment)
    themes_s = best_of(args.repeats, lambda: analyzer.themes.predict(sentences, encoded))
    rotations_s = best_of(args.repeats, lambda: analyzer.rotations.extract(sentences, encoded))
    report = {
        "sentences": len(sentences),
        "machine": f"{platform.machine()}, {os.cpu_count()} CPUs",
        "encoder_and_sentiment_s": round(sentiment_s, 3),
        "themes_s": round(themes_s, 3),
        "rotations_s": round(rotations_s, 3),
        "themes_plus_rotations_share_of_sentiment": round(
            (themes_s + rotations_s) / sentiment_s, 3
        ),
        "models": {k: analyzer.model_versions[k] for k in ("sentiment", "themes", "rotations")},
    }
    print(json.dumps(report, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
