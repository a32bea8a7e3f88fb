"""Cold start-up of the CLI: wall time of `nlp-pipeline --help` and friends, in new processes.

Prints JSON: the median and spread over `--runs` runs of each command, next to the time Python
itself takes to start and to import spaCy (what `--help` used to pay before imports were lazy).
Each command runs as `python -m nlp_pipeline.cli ...` from the checkout's root; `--checkout DIR`
times another tree the same way (e.g. an older commit: `git archive COMMIT | tar -x -C DIR`).
    python bench/cli_startup.py [--runs 11] [--checkout DIR]

`cold_starts` (also used by bench/pipeline.py) times the commands with targets: `tag` on one
sentence (loads the models), `trends --entity FIX` on a small store built once from the demo
feed (`nlp-pipeline run --feeds demo`, offline), and `--help`.
"""

from __future__ import annotations

import argparse
import json
import platform
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]


def _time(cmd: list[str], runs: int, cwd: Path) -> dict[str, float]:
    subprocess.run(cmd, capture_output=True, check=False, cwd=cwd)  # warm the file cache
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        subprocess.run(cmd, capture_output=True, check=False, cwd=cwd)
        times.append(time.perf_counter() - start)
    return {
        "median_s": round(statistics.median(times), 3),
        "min_s": round(min(times), 3),
        "max_s": round(max(times), 3),
    }


TAG_SENTENCE = "Comfort Systems USA (NYSE: FIX) raised its full-year outlook."


def cold_starts(runs: int, cwd: Path = REPO) -> dict[str, dict[str, float]]:
    """Median/min/max wall time of `tag` (one sentence), `trends --entity FIX` (demo store) and
    `--help`, each in `runs` new processes after one warm-up."""
    cli = [sys.executable, "-m", "nlp_pipeline.cli"]
    with tempfile.TemporaryDirectory(prefix="nlp-cold-") as folder:
        db = str(Path(folder) / "demo.duckdb")
        subprocess.run(
            [*cli, "run", "--feeds", "demo", "--db", db, "--quiet"],
            capture_output=True,
            check=True,
            cwd=cwd,
        )
        commands = {
            "nlp-pipeline tag --text '<one sentence>'": [*cli, "tag", "--text", TAG_SENTENCE],
            "nlp-pipeline trends --entity FIX (demo store)": [
                *cli,
                "trends",
                "--entity",
                "FIX",
                "--db",
                db,
            ],
            "nlp-pipeline --help": [*cli, "--help"],
        }
        return {name: _time(cmd, runs, cwd) for name, cmd in commands.items()}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=11)
    parser.add_argument("--checkout", type=Path, default=REPO, help="tree to time (default: this)")
    parser.add_argument(
        "--targets", action="store_true", help="also tag, trends (demo store) and --help, 5 runs"
    )
    args = parser.parse_args()
    cli = [sys.executable, "-m", "nlp_pipeline.cli"]
    commands = {
        "python -c pass (interpreter alone)": [sys.executable, "-c", "pass"],
        "nlp-pipeline --help": [*cli, "--help"],
        "nlp-pipeline --version": [*cli, "--version"],
        "nlp-pipeline tag --help": [*cli, "tag", "--help"],
        "nlp-pipeline feeds list": [*cli, "feeds", "list"],
        "python -c 'import spacy' (for scale)": [sys.executable, "-c", "import spacy"],
    }
    results = {name: _time(cmd, args.runs, args.checkout) for name, cmd in commands.items()}
    if args.targets:
        results |= cold_starts(5, args.checkout)
    print(
        json.dumps(
            {
                "checkout": str(args.checkout),
                "runs": args.runs,
                "python": platform.python_version(),
                "machine": platform.machine(),
                "results": results,
            },
            indent=1,
        )
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
