"""`nlp-pipeline themes list|explain` and `trends --rotations` on the offline demo feed."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from nlp_pipeline.cli import main
from tests.conftest import CORE_THEME_IDS, REPO

CONFIG = str(REPO / "feeds.yaml")
USER_THEMES = """\
themes:
  - id: labor_strikes
    name: Labor strikes
    description: workers striking, union walkouts
    examples:
      - Dockworkers walked off the job after contract talks collapsed.
      - The union expanded its strike to two more plants.
"""


@pytest.fixture(scope="module")
def demo_db(tmp_path_factory: pytest.TempPathFactory) -> Path:
    db = tmp_path_factory.mktemp("themes-cli") / "demo.duckdb"
    assert main(["run", "--feeds", "demo", "--db", str(db), "--config", CONFIG, "-q"]) == 0
    return db


def test_themes_list_shows_core_and_user_themes(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    user = tmp_path / "mine.yaml"
    user.write_text(USER_THEMES, encoding="utf-8")
    assert main(["themes", "list", "--themes", str(user)]) == 0
    lines = capsys.readouterr().out.splitlines()
    rows = {line.split()[0]: line.split() for line in lines[1:] if line.strip()}
    assert set(rows) == {*CORE_THEME_IDS, "labor_strikes"}
    assert rows["labor_strikes"][1:3] == ["user", "2"]
    assert all(rows[i][1] == "core" and int(rows[i][2]) >= 15 for i in CORE_THEME_IDS)


def test_themes_explain_prints_definition_examples_and_stored_evidence(
    demo_db: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["themes", "explain", "monetary_tightening", "--db", str(demo_db)]) == 0
    out = capsys.readouterr().out
    assert out.startswith("monetary_tightening (core): Monetary tightening")
    assert "higher-for-longer" in out  # the definition
    assert "not this theme (monetary_easing)" in out  # a counter-example
    assert "Stored sentences that scored highest" in out


def test_themes_explain_unknown_id_is_a_clear_error(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["themes", "explain", "no_such_theme"]) == 2
    assert "unknown theme 'no_such_theme'" in capsys.readouterr().err


def test_trends_rotations_counts_flows_per_period(
    demo_db: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["trends", "--rotations", "--db", str(demo_db), "--format", "json"]) == 0
    rows = json.loads(capsys.readouterr().out)
    assert rows, "the demo feed tells of money rotating into small caps"
    assert {"period", "from", "to", "stories", "score", "sentiment"} <= set(rows[0])
    assert any(r["to"] == "SMALL_CAP" for r in rows)
    assert all(r["stories"] >= 1 and 0 <= r["score"] <= 1 for r in rows)
    assert main(["trends", "--db", str(demo_db)]) == 2
    assert "--ticker" in capsys.readouterr().err


def test_themes_explain_suggests_the_close_id(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["themes", "explain", "small_caps"]) == 2
    assert "did you mean 'small_cap_rotation'?" in capsys.readouterr().err
