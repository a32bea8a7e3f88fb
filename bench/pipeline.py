"""The whole pipeline against spaCy + a FinBERT-architecture classifier, side by side in one run.

    python bench/pipeline.py [--articles 100] [--baseline-articles 12] [--repeat 3]
                             [--json PATH] [--profile PATH] [--no-stages] [--no-cold]
    python bench/pipeline.py --rss-articles 3000      # peak RSS of `ingest --file` + `analyze`

Ours: the first --articles Reuters 2012-13 articles with a body (../shared/data, or
$NLP_PIPELINE_SHARED_DATA) written to a JSON-lines file, then `runner.ingest_files` and
`runner.analyze` into a fresh DuckDB file (the code `nlp-pipeline ingest --file` and
`nlp-pipeline analyze` run): parse, dedup, article rows, sentence split, entities, the ONNX
encoder, the sentiment/theme/rotation heads and the analysis writes. No network.

Baseline: the first --baseline-articles of the same articles; `spacy.blank("en")` + sentencizer
splits them, and every sentence goes through a BERT-base sequence classifier
(`transformers.BertConfig()` defaults, num_labels=3: FinBERT's architecture) with RANDOM weights
(nothing can be downloaded; speed does not depend on the weights), torch, batches of 32 in
document order, padded to the longest in the batch, truncated at 128 tokens, torch threads = cores.
The tokenizer is the BERT uncased WordPiece vocabulary shipped in models/sentiment (FinBERT's).

Each side runs in its own new process per repeat (models loaded outside the timed part; the
encoder cache starts empty), so peak RSS is that side's alone. Rates are per article of each
side's own sample; the ratio is ours / baseline. Medians of --repeat runs. Stage figures come
from one extra process that times the stages from outside the analyzer on the same articles.
"""

from __future__ import annotations

import argparse
import cProfile
import io
import json
import os
import platform
import pstats
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterable, Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
RESULTS = REPO / "bench" / "results"
BASELINE_BATCH = 32
BASELINE_MAX_LENGTH = 128
RATE_KEYS = ("articles_per_s", "sentences_per_s", "words_per_s")


# --- pure helpers (tested in tests/bench/test_pipeline_bench.py) ---------------------------


def shared_data() -> Path:
    return Path(
        os.environ.get("NLP_PIPELINE_SHARED_DATA")
        or Path(__file__).resolve().parents[2] / "shared" / "data"
    )


def reuters_sample() -> Path:
    return shared_data() / "reuters_2012_2013" / "reuters_sample.jsonl"


def read_reuters(path: Path, limit: int | None = None) -> list[dict[str, Any]]:
    """The first `limit` records with a non-empty body (title-only records are skipped)."""
    records: list[dict[str, Any]] = []
    with path.open(encoding="utf-8") as handle:
        for line in handle:
            if limit is not None and len(records) >= limit:
                break
            if not line.strip():
                continue
            record = json.loads(line)
            if str(record.get("body") or "").strip():
                records.append(record)
    return records


def document(record: dict[str, Any]) -> str:
    """What both sides read: title, blank line, body (as `store.analysis_document` builds it)."""
    title, body = str(record.get("title") or "").strip(), str(record.get("body") or "").strip()
    return f"{title}\n\n{body}" if title and body else title or body


def word_count(texts: Iterable[str]) -> int:
    return sum(len(t.split()) for t in texts)


def rates(articles: int, sentences: int, words: int, seconds: float) -> dict[str, float]:
    if seconds <= 0:
        raise ValueError(f"elapsed time must be positive, got {seconds}")
    return {
        "articles_per_s": articles / seconds,
        "sentences_per_s": sentences / seconds,
        "words_per_s": words / seconds,
    }


def median_of(runs: Sequence[dict[str, Any]], keys: Sequence[str]) -> dict[str, float]:
    """Per key, the median over runs (each key separately)."""
    if not runs:
        raise ValueError("no runs")
    return {key: float(statistics.median(float(run[key]) for run in runs)) for key in keys}


def ratios(ours: dict[str, float], baseline: dict[str, float]) -> dict[str, float]:
    return {key: ours[key] / baseline[key] for key in ours if baseline.get(key)}


def versions() -> dict[str, str]:
    out = {"python": platform.python_version()}
    for name in ("torch", "transformers", "onnxruntime", "spacy", "duckdb", "tokenizers"):
        try:
            module = __import__(name)
            out[name] = str(getattr(module, "__version__", "?"))
        except ImportError:
            out[name] = "absent"
    return out


def git_commit() -> str:
    try:
        head = subprocess.run(
            ["git", "rev-parse", "--short", "HEAD"], capture_output=True, text=True, cwd=REPO
        ).stdout.strip()
        dirty = subprocess.run(
            ["git", "status", "--porcelain", "--untracked-files=no"],
            capture_output=True,
            text=True,
            cwd=REPO,
        ).stdout.strip()
    except OSError:
        return "unknown"
    return f"{head}{'+dirty' if dirty else ''}" if head else "unknown"


def cores() -> int:
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:
        return max(1, os.cpu_count() or 1)


def run_child(args: list[str]) -> tuple[dict[str, Any], int]:
    """Run `python bench/pipeline.py ARGS --out FILE` in a new process; (its JSON, peak RSS bytes)
    from the kernel's accounting of that process alone (wait4)."""
    with tempfile.TemporaryDirectory(prefix="nlp-bench-") as folder:
        out = Path(folder) / "result.json"
        proc = subprocess.Popen([sys.executable, __file__, *args, "--out", str(out)], cwd=REPO)
        _, status, usage = os.wait4(proc.pid, 0)
        if os.waitstatus_to_exitcode(status) != 0:
            raise SystemExit(f"benchmark child {' '.join(args)} failed ({status})")
        result: dict[str, Any] = json.loads(out.read_text())
    return result, usage.ru_maxrss * 1024


# --- the two sides (each in its own process) -----------------------------------------------


def write_jsonl(records: Sequence[dict[str, Any]], path: Path) -> None:
    with path.open("w", encoding="utf-8") as handle:
        for record in records:
            handle.write(json.dumps(record) + "\n")


def side_ours(articles: int, profile: Path | None, stages: bool) -> dict[str, Any]:
    from nlp_pipeline import runner
    from nlp_pipeline.nlp import Analyzer
    from nlp_pipeline.store import Store

    records = read_reuters(reuters_sample(), articles)
    loaded = time.perf_counter()
    analyzer = Analyzer()
    load_s = time.perf_counter() - loaded
    with tempfile.TemporaryDirectory(prefix="nlp-bench-ours-") as folder:
        source = Path(folder) / "articles.jsonl"
        write_jsonl(records, source)
        profiler = cProfile.Profile() if profile else None
        with Store(Path(folder) / "bench.duckdb") as store:
            started = time.perf_counter()
            if profiler:
                profiler.enable()
            report = runner.ingest_files([source], store, progress=False)
            analyzed = runner.analyze(store, analyzer, progress=False)
            if profiler:
                profiler.disable()
            seconds = time.perf_counter() - started
            counts = store.counts()
            documents = [d for _, d in store.articles_to_analyze("", reanalyze=True)]
        result: dict[str, Any] = {
            "articles": analyzed,
            "new_articles": report.new,
            "sentences": counts["sentences"],
            "words": word_count(documents),
            "seconds": seconds,
            "load_s": load_s,
            "encoder_stats": dict(analyzer.encoder.stats),
        }
        result |= rates(analyzed, counts["sentences"], result["words"], seconds)
        if profiler and profile:
            profiler.dump_stats(str(profile))
            text = io.StringIO()
            pstats.Stats(profiler, stream=text).sort_stats("cumulative").print_stats(25)
            result["profile_top25"] = text.getvalue()
        if stages:
            result["stages"] = ours_stages(analyzer, source, Path(folder), seconds)
    return result


def _timed(fn: Callable[[], Any]) -> tuple[Any, float]:
    started = time.perf_counter()
    value = fn()
    return value, time.perf_counter() - started


def ours_stages(analyzer: Any, source: Path, folder: Path, total_s: float) -> dict[str, float]:
    """The pipeline's stages timed one by one from outside, on the same articles, in the
    analyzer's batches (32 documents), with an empty encoder cache."""
    from itertools import islice

    from nlp_pipeline import runner
    from nlp_pipeline.nlp.analyzer import _trimmed
    from nlp_pipeline.store import Store

    with Store(folder / "stages.duckdb") as store:
        _, ingest_s = _timed(lambda: runner.ingest_files([source], store, progress=False))
        pending = store.articles_to_analyze("", reanalyze=True)
        documents = [d for _, d in pending]
        nlp = analyzer.nlp
        with nlp.select_pipes(disable=["financial_entities"]):
            _, split_s = _timed(lambda: list(nlp.pipe(documents, batch_size=32)))
        docs, full_s = _timed(lambda: list(nlp.pipe(documents, batch_size=32)))
        _, mentions_s = _timed(lambda: [analyzer.recognizer.mentions(d) for d in docs])
        analyzer.encoder._cache.clear()
        encoder_s = heads_s = 0.0
        doc_iter = iter(docs)
        while batch := list(islice(doc_iter, 32)):
            texts = [s.text for d in batch for s in (_trimmed(x) for x in d.sents) if s.text]
            texts = [t for t in texts if t.strip()]
            encoded, seconds = _timed(lambda t=texts: analyzer.encoder.encode(t))
            encoder_s += seconds
            _, seconds = _timed(
                lambda t=texts, e=encoded: (
                    analyzer.sentiment.predict(t, e),
                    analyzer.themes.predict(t, e),
                    analyzer.rotations.extract(t, e),
                )
            )
            heads_s += seconds
        analyzer.encoder._cache.clear()
        results = list(analyzer.analyze_many(documents))
        run_id = store.start_run("analyze", [], analyzer.version_key)
        items = [(key, result) for (key, _), result in zip(pending, results, strict=True)]

        def write() -> None:
            for start in range(0, len(items), runner.WRITE_BATCH):
                store.save_analyses(items[start : start + runner.WRITE_BATCH], "bench", run_id)

        _, write_s = _timed(write)
    stages = {
        "ingest: parse, dedup, article rows": ingest_s,
        "tokenize + sentence split (spaCy)": split_s,
        "entities (spaCy component + mentions)": full_s - split_s + mentions_s,
        "encoder (ONNX, tokenizer included)": encoder_s,
        "heads (sentiment, themes, rotations)": heads_s,
        "store write (save_analyses)": write_s,
    }
    stages["rest (aggregation, alias learning, reads)"] = max(0.0, total_s - sum(stages.values()))
    return stages


def side_baseline(articles: int) -> dict[str, Any]:
    import spacy
    import torch
    from tokenizers import Tokenizer
    from transformers import BertConfig, BertForSequenceClassification

    records = read_reuters(reuters_sample(), articles)
    documents = [document(r) for r in records]
    loaded = time.perf_counter()
    torch.set_num_threads(cores())
    torch.manual_seed(0)
    nlp = spacy.blank("en")
    nlp.add_pipe("sentencizer")
    model = BertForSequenceClassification(BertConfig(num_labels=3)).eval()
    tokenizer = Tokenizer.from_file(str(REPO / "models" / "sentiment" / "tokenizer.json"))
    tokenizer.enable_truncation(max_length=BASELINE_MAX_LENGTH)
    tokenizer.enable_padding(pad_id=0, pad_token="[PAD]")
    load_s = time.perf_counter() - loaded
    started = time.perf_counter()
    sentences = [s.text.strip() for doc in nlp.pipe(documents, batch_size=32) for s in doc.sents]
    sentences = [s for s in sentences if s]
    labels: list[int] = []
    with torch.inference_mode():
        for start in range(0, len(sentences), BASELINE_BATCH):
            batch = tokenizer.encode_batch(sentences[start : start + BASELINE_BATCH])
            ids = torch.tensor([e.ids for e in batch])
            mask = torch.tensor([e.attention_mask for e in batch])
            logits = model(input_ids=ids, attention_mask=mask).logits
            labels.extend(logits.softmax(-1).argmax(-1).tolist())
    seconds = time.perf_counter() - started
    result: dict[str, Any] = {
        "articles": len(documents),
        "sentences": len(sentences),
        "words": word_count(documents),
        "seconds": seconds,
        "load_s": load_s,
        "torch_threads": torch.get_num_threads(),
    }
    return result | rates(len(documents), len(sentences), result["words"], seconds)


# --- peak RSS of the CLI on many articles ---------------------------------------------------


def rss_cli(articles: int) -> dict[str, Any]:
    """`nlp-pipeline ingest --file` then `nlp-pipeline analyze`, each a new process."""
    records = read_reuters(reuters_sample(), articles)
    out: dict[str, Any] = {"articles_requested": articles, "articles": len(records)}
    cli = [sys.executable, "-m", "nlp_pipeline.cli"]
    with tempfile.TemporaryDirectory(prefix="nlp-bench-rss-") as folder:
        source, db = Path(folder) / "articles.jsonl", Path(folder) / "rss.duckdb"
        write_jsonl(records, source)
        for name, command in (
            ("ingest --file", [*cli, "ingest", "--file", str(source), "--db", str(db), "--quiet"]),
            ("analyze", [*cli, "analyze", "--db", str(db), "--quiet"]),
        ):
            started = time.perf_counter()
            proc = subprocess.Popen(command, cwd=REPO, stdout=subprocess.DEVNULL)
            _, status, usage = os.wait4(proc.pid, 0)
            out[name] = {
                "exit": os.waitstatus_to_exitcode(status),
                "seconds": round(time.perf_counter() - started, 1),
                "peak_rss_mb": round(usage.ru_maxrss / 1024, 1),
            }
    return out


# --- the report -----------------------------------------------------------------------------


def table(rows: list[list[str]]) -> str:
    widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]))]
    lines = ["  ".join(c.ljust(w) for c, w in zip(r, widths, strict=True)) for r in rows]
    lines.insert(1, "  ".join("-" * w for w in widths))
    return "\n".join(lines)


def summarize_side(runs: list[tuple[dict[str, Any], int]]) -> dict[str, Any]:
    results = [dict(r, peak_rss_mb=rss / 2**20) for r, rss in runs]
    median = median_of(results, [*RATE_KEYS, "seconds", "load_s", "peak_rss_mb"])
    first = results[0]
    return {
        "articles": first["articles"],
        "sentences": first["sentences"],
        "words": first["words"],
        "median": median,
        "runs": [{k: v for k, v in r.items() if k != "profile_top25"} for r in results],
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--articles", type=int, default=100, help="our side (default 100)")
    parser.add_argument(
        "--baseline-articles", type=int, default=12, help="baseline side (default 12)"
    )
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--json", type=Path, help="where to write the JSON (default bench/results)")
    parser.add_argument("--profile", type=Path, help="cProfile (pstats) of our side to this file")
    parser.add_argument("--no-stages", action="store_true", help="skip the per-stage breakdown")
    parser.add_argument("--no-cold", action="store_true", help="skip the CLI cold starts")
    parser.add_argument("--cold-runs", type=int, default=5)
    parser.add_argument("--rss-articles", type=int, help="only: peak RSS of ingest + analyze")
    parser.add_argument("--side", choices=["ours", "baseline"], help=argparse.SUPPRESS)
    parser.add_argument("--stages", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--out", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args()

    if not reuters_sample().exists():
        print(f"Reuters sample not available at {reuters_sample()}", file=sys.stderr)
        return 1
    if args.side:
        if args.side == "ours":
            child = side_ours(args.articles, args.profile, args.stages)
        else:
            child = side_baseline(args.articles)
        args.out.write_text(json.dumps(child))
        return 0

    stamp = datetime.now(UTC)
    report: dict[str, Any] = {
        "date": stamp.isoformat(timespec="seconds"),
        "commit": git_commit(),
        "cores": cores(),
        "load_average_start": [round(x, 2) for x in os.getloadavg()],
        "machine": platform.machine(),
        "processor": platform.processor(),
        "versions": versions(),
    }
    if args.rss_articles:
        report["rss"] = rss_cli(args.rss_articles)
        report["load_average_end"] = [round(x, 2) for x in os.getloadavg()]
        print(json.dumps(report, indent=1))
        path = args.json or RESULTS / f"rss-{stamp:%Y%m%dT%H%M}.json"
    else:
        report |= {
            "baseline_description": (
                f"spacy.blank('en') + sentencizer; BertForSequenceClassification(BertConfig(), "
                f"num_labels=3), random weights, torch, batch {BASELINE_BATCH}, every sentence, "
                f"max_length {BASELINE_MAX_LENGTH}, torch threads = {cores()}"
            ),
        }
        ours_runs, base_runs = [], []
        for _ in range(args.repeat):  # interleaved: a change of load hits both sides
            ours_runs.append(run_child(["--side", "ours", "--articles", str(args.articles)]))
            base_runs.append(
                run_child(["--side", "baseline", "--articles", str(args.baseline_articles)])
            )
        ours, base = summarize_side(ours_runs), summarize_side(base_runs)
        report["ours"], report["baseline"] = ours, base
        report["ratio_ours_over_baseline"] = ratios(
            {k: ours["median"][k] for k in RATE_KEYS}, {k: base["median"][k] for k in RATE_KEYS}
        )
        if not args.no_stages:
            staged, _ = run_child(["--side", "ours", "--articles", str(args.articles), "--stages"])
            report["stages_s"] = staged["stages"]
            report["stages_run_total_s"] = staged["seconds"]
        if args.profile:
            profiled, _ = run_child(
                ["--side", "ours", "--articles", str(args.articles), "--profile", str(args.profile)]
            )
            print(profiled["profile_top25"])
        if not args.no_cold:
            sys.path.insert(0, str(REPO / "bench"))
            from cli_startup import cold_starts

            report["cold_start_s"] = cold_starts(args.cold_runs, REPO)
        report["load_average_end"] = [round(x, 2) for x in os.getloadavg()]
        print_report(report)
        path = args.json or RESULTS / f"pipeline-{stamp:%Y%m%dT%H%M}.json"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(report, indent=1) + "\n")
    print(f"JSON written to {path}")
    return 0


def print_report(report: dict[str, Any]) -> None:
    ours, base, ratio = report["ours"], report["baseline"], report["ratio_ours_over_baseline"]
    print(
        f"{report['date']}  commit {report['commit']}  {report['cores']} cores  "
        f"load {report['load_average_start']} -> {report['load_average_end']}"
    )
    print(" ".join(f"{k} {v}" for k, v in report["versions"].items()))
    print(f"baseline: {report['baseline_description']}")
    rows = [["median of runs", "ours", "baseline", "ours/baseline"]]
    rows.append(["articles", str(ours["articles"]), str(base["articles"]), ""])
    for key in RATE_KEYS:
        rows.append(
            [
                key.replace("_per_s", "/s"),
                f"{ours['median'][key]:,.1f}",
                f"{base['median'][key]:,.1f}",
                f"{ratio[key]:.1f}x",
            ]
        )
    rows.append(
        [
            "peak RSS (MB)",
            f"{ours['median']['peak_rss_mb']:,.0f}",
            f"{base['median']['peak_rss_mb']:,.0f}",
            "",
        ]
    )
    rows.append(
        [
            "model load (s, untimed)",
            f"{ours['median']['load_s']:.2f}",
            f"{base['median']['load_s']:.2f}",
            "",
        ]
    )
    print(table(rows))
    if "stages_s" in report:
        stages = report["stages_s"]
        total = sum(stages.values())
        print(f"\nour stages ({ours['articles']} articles, one extra run, {total:.2f} s):")
        rows = [["stage", "s", "share"]]
        for name, seconds in sorted(stages.items(), key=lambda kv: -kv[1]):
            rows.append([name, f"{seconds:.2f}", f"{100 * seconds / total:.0f}%"])
        print(table(rows))
    if "cold_start_s" in report:
        print("\ncold starts (new process each):")
        rows = [["command", "median s", "min", "max"]]
        for name, figures in report["cold_start_s"].items():
            rows.append([name, *(f"{figures[k]:.2f}" for k in ("median_s", "min_s", "max_s"))])
        print(table(rows))


if __name__ == "__main__":
    sys.exit(main())
