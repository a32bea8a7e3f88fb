"""The benchmark's own arithmetic and reader (bench/pipeline.py), on a fixture written here.
Nothing is timed."""

from __future__ import annotations

import importlib.util
import json
import sys
from pathlib import Path
from types import ModuleType

import pytest

REPO = Path(__file__).resolve().parents[2]


def _load() -> ModuleType:
    spec = importlib.util.spec_from_file_location("bench_pipeline", REPO / "bench" / "pipeline.py")
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


bench = _load()


def _write(path: Path, records: list[dict[str, object]]) -> Path:
    path.write_text("".join(json.dumps(r) + "\n" for r in records) + "\n", encoding="utf-8")
    return path


def test_reader_skips_title_only_records_and_stops_at_the_limit(tmp_path: Path) -> None:
    sample = _write(
        tmp_path / "sample.jsonl",
        [
            {
                "id": "a",
                "title": "Widget maker lifts outlook",
                "body": "Shares rose 4%. Volume was high.",
            },
            {"id": "b", "title": "Title only", "body": ""},
            {"id": "c", "title": "Rates", "body": "   "},
            {"id": "d", "title": "Bank earnings", "body": "Profit fell."},
            {"id": "e", "title": "Third", "body": "Never read with limit 2."},
        ],
    )
    assert [r["id"] for r in bench.read_reuters(sample, 2)] == ["a", "d"]
    assert [r["id"] for r in bench.read_reuters(sample)] == ["a", "d", "e"]


def test_document_matches_what_the_store_gives_the_analyzer() -> None:
    from nlp_pipeline.store.store import analysis_document

    record = {"title": " Widget maker lifts outlook ", "body": "Shares rose 4%.\n"}
    assert bench.document(record) == "Widget maker lifts outlook\n\nShares rose 4%."
    assert bench.document(record) == analysis_document(
        "Widget maker lifts outlook", "Shares rose 4%."
    )
    assert bench.document({"title": "Only a title", "body": ""}) == "Only a title"


def test_rates_medians_and_ratios() -> None:
    assert bench.word_count(["one two  three", "four\nfive"]) == 5
    assert bench.rates(10, 250, 5000, 2.0) == {
        "articles_per_s": 5.0,
        "sentences_per_s": 125.0,
        "words_per_s": 2500.0,
    }
    with pytest.raises(ValueError):
        bench.rates(1, 1, 1, 0.0)
    runs = [
        {"articles_per_s": 3.0, "x": 1},
        {"articles_per_s": 9.0, "x": 5},
        {"articles_per_s": 4.0, "x": 2},
    ]
    assert bench.median_of(runs, ["articles_per_s", "x"]) == {"articles_per_s": 4.0, "x": 2.0}
    assert bench.ratios(
        {"articles_per_s": 40.0, "words_per_s": 9.0}, {"articles_per_s": 2.0, "words_per_s": 0.0}
    ) == {"articles_per_s": 20.0}


def test_summary_takes_each_figure_s_median_and_peak_rss_in_mb() -> None:
    def run(rate: float, seconds: float) -> dict[str, float]:
        return {
            "articles": 4,
            "sentences": 40,
            "words": 400,
            "seconds": seconds,
            "load_s": 1.0,
            "articles_per_s": rate,
            "sentences_per_s": 10 * rate,
            "words_per_s": 100 * rate,
        }

    summary = bench.summarize_side(
        [(run(2.0, 2.0), 300 * 2**20), (run(1.0, 4.0), 500 * 2**20), (run(4.0, 1.0), 200 * 2**20)]
    )
    assert summary["median"]["articles_per_s"] == 2.0
    assert summary["median"]["words_per_s"] == 200.0
    assert summary["median"]["seconds"] == 2.0
    assert summary["median"]["peak_rss_mb"] == 300.0
    assert (summary["articles"], summary["sentences"], summary["words"]) == (4, 40, 400)
