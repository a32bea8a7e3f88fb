"""Ingestion figures (no analysis): local-file throughput, memory over a large archive, and one
poll round of many feeds on slow hosts.

    python bench/ingest.py                    # all three, JSON on stdout
    python bench/ingest.py --only local|memory|poll

- local:  articles/s parsed and stored (into a DuckDB file) from the Reuters 2012-13 sample
          in ../shared/data, median of --repeat runs, each into a fresh store.
- memory: peak RSS of a process ingesting 5,000, 10,000 and 20,000 generated articles
          (JSONL); flat means the peak does not grow with the archive.
- poll:   50 feeds on 10 local hosts, each response 200 ms late; one poll round's wall time
          vs the sum of all responses and vs the slowest host's share.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import random
import resource
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

from nlp_pipeline.config import Config, FeedConfig, FetchSettings
from nlp_pipeline.runner import ingest, ingest_files
from nlp_pipeline.store import Store

VOCABULARY = (
    "market shares investors rally index earnings guidance quarter revenue margin growth "
    "rates inflation bank lender credit deposits yield curve tariff trade policy capital "
    "spending data center chips demand supply outlook forecast analysts sector industrials "
    "energy oil refiners housing retail consumer payrolls jobs wages dollar bonds treasury"
)
WORDS = VOCABULARY.split()


def shared_data() -> Path:
    return Path(
        os.environ.get("NLP_PIPELINE_SHARED_DATA")
        or Path(__file__).resolve().parents[2] / "shared" / "data"
    )


def bench_local(repeat: int) -> dict[str, object]:
    sample = shared_data() / "reuters_2012_2013" / "reuters_sample.jsonl"
    if not sample.exists():
        return {"skipped": f"Reuters sample not available at {sample}"}
    rates = []
    cpu_rates = []
    articles = 0
    for _ in range(repeat):
        with (
            tempfile.TemporaryDirectory() as folder,
            Store(Path(folder) / "bench.duckdb") as store,
        ):
            started, cpu_started = time.perf_counter(), time.process_time()
            report = ingest_files([sample], store, progress=False)
            elapsed = time.perf_counter() - started
            cpu = time.process_time() - cpu_started
        articles = report.articles
        rates.append(articles / elapsed)
        # Per CPU-second of this process (all its threads): less swayed by other processes
        # competing for the same cores than the wall-clock rate.
        cpu_rates.append(articles / cpu)
    return {
        "file": str(sample),
        "articles": articles,
        "runs_articles_per_s": [round(r, 1) for r in rates],
        "median_articles_per_s": round(statistics.median(rates), 1),
        "runs_articles_per_cpu_s": [round(r, 1) for r in cpu_rates],
        "median_articles_per_cpu_s": round(statistics.median(cpu_rates), 1),
    }


def write_generated(path: Path, count: int) -> None:
    rng = random.Random(7)
    with path.open("w", encoding="utf-8") as out:
        for i in range(count):
            text = " ".join(rng.choice(WORDS) for _ in range(rng.randint(250, 700)))
            record = {
                "title": f"Generated story {i}",
                "text": text,
                "url": f"https://bench.example.com/story/{i}",
                "published": f"2025-{1 + i % 12:02d}-{1 + i % 28:02d}T12:00:00Z",
            }
            out.write(json.dumps(record) + "\n")


def memory_child(path: str) -> None:
    """Run in a fresh process: ingest one file, print peak RSS in MiB."""
    with tempfile.TemporaryDirectory() as folder, Store(Path(folder) / "m.duckdb") as store:
        report = ingest_files([path], store, progress=False)
    peak_kib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    print(json.dumps({"articles": report.articles, "peak_rss_mib": round(peak_kib / 1024, 1)}))


def bench_memory(sizes: list[int]) -> dict[str, object]:
    results = []
    with tempfile.TemporaryDirectory() as folder:
        for size in sizes:
            path = Path(folder) / f"gen-{size}.jsonl"
            write_generated(path, size)
            child = subprocess.run(
                [sys.executable, __file__, "--memory-child", str(path)],
                capture_output=True,
                text=True,
                check=True,
            )
            results.append(json.loads(child.stdout.strip().splitlines()[-1]))
    return {"runs": results}


def bench_poll(hosts: int, feeds_per_host: int, delay_s: float) -> dict[str, object]:
    servers = []

    def make_handler(port_holder: list[int]) -> type[BaseHTTPRequestHandler]:
        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"
            # As real servers: without it, Nagle holds each keep-alive response's body until
            # the client's delayed ACK (40 ms per request, more than the store work timed).
            disable_nagle_algorithm = True

            def do_GET(self) -> None:
                time.sleep(delay_s)
                n = self.path.strip("/")
                items = "".join(
                    f"<item><title>Host {port_holder[0]} feed {n} story {k}</title>"
                    f"<link>https://news.example.com/{port_holder[0]}/{n}/{k}</link>"
                    "<description>Shares rose after results.</description></item>"
                    for k in range(3)
                )
                body = f'<rss version="2.0"><channel><title>F</title>{items}</channel></rss>'
                data = body.encode()
                self.send_response(200)
                self.send_header("Content-Type", "application/rss+xml")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def log_message(self, *args: object) -> None:
                pass

        return Handler

    feeds = []
    for _ in range(hosts):
        holder: list[int] = [0]
        server = ThreadingHTTPServer(("127.0.0.1", 0), make_handler(holder))
        server.daemon_threads = True
        holder[0] = server.server_address[1]
        threading.Thread(target=server.serve_forever, daemon=True).start()
        servers.append(server)
        for n in range(feeds_per_host):
            feeds.append(
                FeedConfig(
                    f"h{holder[0]}-{n}", f"http://127.0.0.1:{holder[0]}/{n}", full_text=False
                )
            )
    settings = FetchSettings(allowed_private_networks=("127.0.0.1/32",), per_host_delay_s=0.0)
    config = Config(feeds=tuple(feeds), settings=settings)
    rounds = []
    try:
        for _ in range(2):
            # A store file, as users poll into: every write transaction costs a checkpoint.
            with tempfile.TemporaryDirectory() as folder, Store(Path(folder) / "p.duckdb") as store:
                started = time.perf_counter()
                reports, _ = ingest(config, store, progress=False)
                rounds.append(time.perf_counter() - started)
                stored = store.counts()["articles"]
    finally:
        for server in servers:
            server.shutdown()
            server.server_close()
    return {
        "feeds": len(feeds),
        "hosts": hosts,
        "response_delay_s": delay_s,
        "max_parallel_hosts": settings.max_parallel_hosts,
        "articles_stored": stored,
        "failed_feeds": sum(1 for r in reports if r.failed),
        "round_s": [round(r, 2) for r in rounds],
        "median_round_s": round(statistics.median(rounds), 2),
        "sum_of_responses_s": round(len(feeds) * delay_s, 2),
        "slowest_host_share_s": round(feeds_per_host * delay_s, 2),
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--only", choices=["local", "memory", "poll"])
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--memory-child", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.memory_child:
        memory_child(args.memory_child)
        return 0
    result: dict[str, object] = {
        "machine": f"{platform.machine()}, {os.cpu_count()} CPUs, load {os.getloadavg()[0]:.1f}",
        "python": platform.python_version(),
    }
    if args.only in (None, "local"):
        result["local_reuters"] = bench_local(args.repeat)
    if args.only in (None, "memory"):
        result["memory_generated"] = bench_memory([5_000, 10_000, 20_000])
    if args.only in (None, "poll"):
        result["poll_round"] = bench_poll(hosts=10, feeds_per_host=5, delay_s=0.2)
    print(json.dumps(result, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
