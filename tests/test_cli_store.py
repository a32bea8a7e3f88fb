"""The answer commands (trends, top, comentions, articles, export) on a hand-built store."""

from __future__ import annotations

import json
from datetime import date, timedelta
from pathlib import Path

import pandas as pd
import pytest

from nlp_pipeline import cli, runner
from nlp_pipeline.cli import main
from nlp_pipeline.store import Store
from tests.store.builders import add, analysis, at

SMALL, AI = "small_cap_rotation", "ai_infrastructure"


@pytest.fixture
def db(tmp_path: Path) -> Path:
    path = tmp_path / "s.duckdb"
    with Store(path) as store:
        for week in range(5):
            for n in range(week + 1):
                result = analysis(
                    [
                        ("FIX rose as small caps rallied.", 0.5, [SMALL]),
                        ("NVDA gained on AI chip demand.", -0.5, [AI]),
                    ],
                    {"TICKER:FIX": ([0], 0.9), "TICKER:NVDA": ([1], 0.4)},
                )
                day = at((date(2026, 8, 4) + timedelta(weeks=week)).isoformat())
                add(store, f"a{week}{n}", day, result, seen=day, analyzed=day)
    return path


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> str:
    assert main(list(argv)) == 0, capsys.readouterr().err
    return capsys.readouterr().out


def test_trends_json_and_csv_carry_the_answer(db: Path, capsys: pytest.CaptureFixture[str]) -> None:
    rows = json.loads(run(capsys, "trends", "--entity", "FIX", "--db", str(db), "--format", "json"))
    assert [(r["period"], r["theme"], r["stories"]) for r in rows] == [
        ("2026-08-03", SMALL, 1),
        ("2026-08-10", SMALL, 2),
        ("2026-08-17", SMALL, 3),
        ("2026-08-24", SMALL, 4),
        ("2026-08-31", SMALL, 5),
    ]
    assert rows[-1]["change"] == 1 and rows[-1]["sentiment"] == 0.5 and rows[-1]["share"] == 1.0
    # The command writes plain rows (no pandas); they read the same as the API's DataFrame.
    with Store(db, read_only=True) as store:
        frame = store.trends(entity="FIX")
    assert frame["zscore"].notna().any() and frame["change"].isna().any()
    weekly = run(capsys, "trends", "--entity", "FIX", "--db", str(db), "--format", "csv")
    assert weekly == frame.to_csv(index=False)
    csv = run(
        capsys,
        "trends",
        "--theme",
        AI,
        "--db",
        str(db),
        "--format",
        "csv",
        "--freq",
        "M",
        "--as-of",
        "2026-08-12",
    )
    assert csv.splitlines() == [
        "period,type,entity,stories,share,sentiment,change,zscore",
        "2026-08-01,TICKER,NVDA,3,1.0,-0.5,,",
    ]


def test_top_comentions_and_articles(db: Path, capsys: pytest.CaptureFixture[str]) -> None:
    top = json.loads(
        run(
            capsys,
            "top",
            "tickers",
            "--since",
            "2026-08-31",
            "--until",
            "2026-09-07",
            "--db",
            str(db),
            "--format",
            "json",
        )
    )
    assert [(r["entity"], r["stories"], r["previous"]) for r in top] == [
        ("FIX", 5, 4),
        ("NVDA", 5, 4),
    ]
    co = run(capsys, "comentions", "FIX", "--db", str(db), "--format", "csv")
    assert co.splitlines()[1:] == [
        "entity,TICKER,NVDA,15,1.0,1.0,-0.5",  # ties ordered by id
        "theme,THEME,small_cap_rotation,15,1.0,1.0,0.5",
    ]
    table = run(
        capsys, "articles", "--entity", "NVDA", "--theme", AI, "--limit", "2", "--db", str(db)
    )
    assert table.splitlines()[0] == "Articles, newest first:"
    assert table.count("NVDA gained on AI chip demand.") == 2


def test_export_command_writes_data_and_card(
    db: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "ds"
    said = run(
        capsys,
        "export",
        "--format",
        "parquet",
        "--out",
        str(out),
        "--by-month",
        "--entity",
        "FIX",
        "--since",
        "2026-08-10",
        "--db",
        str(db),
    )
    assert said.startswith("14 articles written to")
    frame = pd.read_parquet(out / "articles")
    assert len(frame) == 14 and all("FIX" in list(t) for t in frame["tickers"])
    assert "Articles: 14" in (out / "README.md").read_text()


def test_plots_stand_alone(db: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    page = tmp_path / "fix.html"
    run(capsys, "trends", "--entity", "FIX", "--db", str(db), "--plot", str(page))
    text = page.read_text()
    assert "<svg" in text and "Narratives around FIX, by week" in text and SMALL in text
    assert "<script" not in text and "src=" not in text  # self-contained
    assert text.count("<circle") == 5 * 2  # five weeks: volume and tone
    pytest.importorskip("matplotlib")
    png = tmp_path / "fix.png"
    run(capsys, "trends", "--entity", "FIX", "--db", str(db), "--plot", str(png))
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and png.stat().st_size > 10_000


def test_bad_requests_get_clear_errors(db: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["trends", "--entity", "FOO:FIX", "--db", str(db)]) == 2
    assert "unknown entity type 'FOO'" in capsys.readouterr().err
    assert main(["trends", "--entity", "FIX", "--as-of", "last tuesday", "--db", str(db)]) == 2
    assert "bad timestamp 'last tuesday'" in capsys.readouterr().err
    assert main(["trends", "--db", str(db)]) == 2
    assert "needs --entity" in capsys.readouterr().err
    assert main(["trends", "--entity", "FIX", "--plot", "x.pdf", "--db", str(db)]) == 2
    assert "use a .png or .html" in capsys.readouterr().err


def test_cli_window_default_matches_the_runner() -> None:
    assert cli.DEFAULT_WINDOW_DAYS == runner.DEFAULT_WINDOW_DAYS


def test_optimize_rewrites_the_fact_tables_and_answers_stay_the_same(
    db: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    before = run(capsys, "trends", "--entity", "FIX", "--db", str(db), "--format", "json")
    with Store(db, read_only=True) as store:
        counts = store.fetch(
            "SELECT (SELECT count(*) FROM article_entities), (SELECT count(*) FROM entity_themes)"
        )[0]
    text = run(capsys, "optimize", "--db", str(db))
    rows = {line.split()[0]: line.split()[1:] for line in text.splitlines()[2:]}
    assert rows["article_entities"][0] == str(counts[0]) and counts[0] == 30  # 15 articles x 2
    assert rows["entity_themes"][0] == str(counts[1]) and counts[1] > 0
    after = run(capsys, "trends", "--entity", "FIX", "--db", str(db), "--format", "json")
    assert json.loads(after) == json.loads(before)
    assert main(["optimize", "--db", str(db.parent / "missing.duckdb")]) == 2
    assert "no store at" in capsys.readouterr().err
