"""HTTP API latency under a bounded local load: `nlp-pipeline serve` in its own process, and a
loop of requests at a fixed concurrency from this one (threads, keep-alive off, as browsers
and scripts mostly connect). Prints a table and writes JSON beside it.

    python bench/serve.py                        # demo store (built on first use) + 1M store
    python bench/serve.py --requests 200 --concurrency 8 --stores demo

Stores: `demo` is `nlp-pipeline run --feeds demo` into a scratch file (about 15 s to build);
`1m` is the synthetic 1,000,000-article store of bench/store.py
(/tmp/nlp-pipeline-bench-1m.duckdb; run `python bench/store.py` first to build it).
Each store is measured on `/trends` of its busiest ticker over a year (the issue's target), with
the server's answer cache (what users get) and with `serve --no-cache` (every answer computed
afresh), and on a mix of the dashboard's calls (`/trends`, `/top`, `/comentions`, `/articles`);
each URL's first answer, alone, is timed too.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime
from pathlib import Path

HERE = Path(__file__).resolve().parent
BENCH_1M = Path(tempfile.gettempdir()) / "nlp-pipeline-bench-1m.duckdb"


def demo_store() -> Path:
    path = Path(tempfile.gettempdir()) / "nlp-pipeline-bench-demo.duckdb"
    if not path.exists():
        subprocess.run(
            [sys.executable, "-m", "nlp_pipeline.cli", "run", "--feeds", "demo", "--db", str(path),
             "--quiet"],
            check=True, capture_output=True,
        )  # fmt: skip
    return path


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


def start_server(db: Path, cache: bool) -> tuple[subprocess.Popen[bytes], str]:
    port = free_port()
    extra = [] if cache else ["--no-cache"]
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "nlp_pipeline.cli",
            "serve",
            "--db",
            str(db),
            "--port",
            str(port),
            *extra,
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        env={**os.environ, "PYTHONWARNINGS": "ignore"},
    )
    base = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            with urllib.request.urlopen(base + "/health", timeout=2):
                return process, base
        except OSError:
            time.sleep(0.1)
    process.kill()
    raise RuntimeError(f"the server on {base} did not start")


def get(url: str) -> float:
    started = time.perf_counter()
    with urllib.request.urlopen(url, timeout=60) as response:
        response.read()
        if response.status != 200:
            raise RuntimeError(f"{url}: HTTP {response.status}")
    return (time.perf_counter() - started) * 1000


def load(urls: list[str], requests: int, concurrency: int) -> dict[str, object]:
    """`requests` GETs cycling through `urls`, `concurrency` at a time, after one call of each
    alone (its first answer, timed); latency percentiles."""
    first = {url.split("/", 3)[-1]: round(get(url), 1) for url in urls}
    plan = [urls[i % len(urls)] for i in range(requests)]
    started = time.perf_counter()
    with ThreadPoolExecutor(concurrency) as pool:
        times = sorted(pool.map(get, plan))
    wall = time.perf_counter() - started

    def pct(q: float) -> float:
        return round(times[min(len(times) - 1, int(q * len(times)))], 1)

    return {
        "p50_ms": pct(0.50),
        "p95_ms": pct(0.95),
        "p99_ms": pct(0.99),
        "max_ms": round(times[-1], 1),
        "requests_per_s": round(requests / wall, 1),
        "first_ms": first,
    }


def busiest_ticker(base: str) -> tuple[str, str, str]:
    """The ticker with the most stories, and the year to its newest story."""
    with urllib.request.urlopen(base + "/entities?type=TICKER&limit=1", timeout=60) as r:
        ticker = json.loads(r.read())[0]["id"]
    with urllib.request.urlopen(base + f"/articles?entity={ticker}&limit=1", timeout=60) as r:
        newest = json.loads(r.read())[0]["published"][:10]
    year = str(int(newest[:4]) - 1) + newest[4:]
    return ticker, year, newest


def dashboard_load_s(base: str, subject: str) -> dict[str, float] | None:
    """Seconds from opening the dashboard to its rising lists drawn (`page`), and on `subject`
    to its timeline drawn too, with the server's answer cache cold, then warm, in Debian's
    Chromium (None without Playwright or Chromium)."""
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        return None
    chromium = Path("/usr/bin/chromium")
    if not chromium.exists():
        return None
    args = ["--headless", "--no-sandbox", "--disable-gpu", "--no-first-run", "--disable-sync",
            "--disable-background-networking", "--disable-component-update"]  # fmt: skip
    times = {}
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(chromium), args=args)
        for label in ("page_cold", "page_warm", "timeline_cold", "timeline_warm"):
            page = browser.new_page()
            started = time.perf_counter()
            page.goto(f"{base}/#entity={subject}" if label.startswith("timeline") else base)
            page.wait_for_selector("body[data-ready=true]")
            if label.startswith("timeline"):
                page.wait_for_selector("#chart-stories circle.point")
            times[label] = round(time.perf_counter() - started, 3)
            page.close()
        browser.close()
    return times


def measure(name: str, db: Path, requests: int, concurrency: int) -> dict[str, object]:
    figures: dict[str, object] = {"store": name, "db": str(db)}
    figures["db_mb"] = round(db.stat().st_size / 2**20, 1)
    for cache in (True, False):
        process, base = start_server(db, cache)
        try:
            # The 1M store's FIX over 2026 is the figure bench/store.py times.
            if name == "1m":
                ticker, start, end = "FIX", "2026-01-01", "2027-01-01"
            else:
                ticker, start, end = busiest_ticker(base)
            trends = f"{base}/trends?entity={ticker}&start={start}&end={end}"
            figures["trends_url"] = trends.replace(base, "")
            label = "" if cache else "_no_cache"
            figures[f"trends{label}"] = load([trends], requests, concurrency)
            if cache and name == "demo":  # before any other request fills the cache
                figures["dashboard_s"] = dashboard_load_s(base, f"TICKER:{ticker}")
            if cache:
                mix = [
                    trends,
                    f"{base}/top?kind=themes",
                    f"{base}/top?kind=tickers",
                    f"{base}/comentions?entity={ticker}",
                    f"{base}/articles?entity={ticker}&limit=20",
                ]
                figures["mix"] = load(mix, requests, concurrency)
        finally:
            process.terminate()
            process.wait(30)
    return figures


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--stores", nargs="+", default=["demo", "1m"], choices=["demo", "1m"])
    parser.add_argument("--requests", type=int, default=200)
    parser.add_argument("--concurrency", type=int, default=8)
    parser.add_argument("--out", default=str(HERE / "results" / "serve.json"))
    args = parser.parse_args()
    results = []
    for name in args.stores:
        if name == "1m" and not BENCH_1M.exists():
            print(f"skipped 1m: {BENCH_1M} is absent (python bench/store.py builds it)")
            continue
        db = demo_store() if name == "demo" else BENCH_1M
        results.append(measure(name, db, args.requests, args.concurrency))
    report = {
        "date": datetime.now(UTC).isoformat(timespec="seconds"),
        "commit": subprocess.run(
            ["git", "rev-parse", "--short", "HEAD"], capture_output=True, text=True, cwd=HERE
        ).stdout.strip(),
        "cores": os.cpu_count(),
        "python": platform.python_version(),
        "requests": args.requests,
        "concurrency": args.concurrency,
        "results": results,
    }
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    Path(args.out).write_text(json.dumps(report, indent=1))
    print(json.dumps(report, indent=1))
    print(f"\n{'store':6} {'load':15} {'p50 ms':>8} {'p95 ms':>8} {'p99 ms':>8} {'req/s':>7}")
    for r in results:
        for kind in ("trends", "trends_no_cache", "mix"):
            f = r[kind]
            assert isinstance(f, dict)
            print(
                f"{r['store']:6} {kind:15} {f['p50_ms']:>8} {f['p95_ms']:>8} {f['p99_ms']:>8} "
                f"{f['requests_per_s']:>7}"
            )
    return 0


if __name__ == "__main__":
    sys.exit(main())
