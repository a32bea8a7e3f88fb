"""Sentences per second of the shipped sentence encoder alone (tokenize + ONNX forward, both
outputs), the figure in models/sentiment/README.md.

    python bench/encoder_speed.py [--model models/sentiment] [--threads 2] [--repeat 3]

2,000 sentences: FPB test and dev plus the first 259 TFNS valid tweets (../shared/data), in
length-bucketed batches of 32; a fresh encoder (empty sentence cache) per repeat. Prints JSON.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import time
from pathlib import Path

from nlp_pipeline import datasets
from nlp_pipeline.nlp import default_models_dir
from nlp_pipeline.nlp.encoder import SentenceEncoder


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--model", type=Path, default=default_models_dir() / "sentiment")
    parser.add_argument("--threads", type=int, default=os.cpu_count() or 1)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    texts = [r.text for r in datasets.fpb("test") + datasets.fpb("dev")]
    texts += [r.text for r in datasets.tfns("valid")][: 2000 - len(texts)]
    rates = []
    for _ in range(args.repeat):
        encoder = SentenceEncoder(args.model, threads=args.threads)
        started = time.perf_counter()
        encoder.encode(texts)
        rates.append(len(texts) / (time.perf_counter() - started))
    print(
        json.dumps(
            {
                "model": encoder.version,
                "sentences": len(texts),
                "threads": args.threads,
                "sentences_per_second": [round(r, 1) for r in rates],
                "median": round(statistics.median(rates), 1),
                "load_average": [round(x, 2) for x in os.getloadavg()],
            }
        )
    )


if __name__ == "__main__":
    main()
