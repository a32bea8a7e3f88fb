"""Theme taxonomy loading and keyword theme tagging (nlp_pipeline/nlp/themes.py)."""

from __future__ import annotations

from pathlib import Path

import pytest

from nlp_pipeline.errors import ConfigError
from nlp_pipeline.nlp import Analyzer
from nlp_pipeline.nlp.themes import KeywordThemeClassifier, load_taxonomy
from tests.conftest import CORE_THEME_IDS as CORE_IDS
from tests.conftest import REPO

CORE = REPO / "models" / "themes" / "taxonomy.yaml"

USER_THEMES = """\
themes:
  - id: quantum_computing
    name: Quantum computing
    description: quantum hardware and software
    keywords: ['quantum (computing|computers?|chips?)', 'qubits?']
  - id: earnings
    name: Earnings (custom)
    keywords: ['profit bonanza']
"""


@pytest.fixture
def user_file(tmp_path: Path) -> Path:
    path = tmp_path / "my_themes.yaml"
    path.write_text(USER_THEMES, encoding="utf-8")
    return path


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "bad_themes.yaml"
    path.write_text(text, encoding="utf-8")
    return path


def test_core_taxonomy_has_exactly_the_design_ids() -> None:
    themes, digest = load_taxonomy([CORE])
    assert sorted(t.id for t in themes) == sorted(CORE_IDS)
    assert len(themes) == 18
    assert all(t.keywords and t.name for t in themes)
    assert len(digest) == 8


def test_user_file_adds_and_replaces(user_file: Path) -> None:
    core, core_digest = load_taxonomy([CORE])
    themes, digest = load_taxonomy([CORE, user_file])
    by_id = {t.id: t for t in themes}
    assert set(by_id) == {*CORE_IDS, "quantum_computing"}
    assert len(themes) == 19
    assert by_id["quantum_computing"].name == "Quantum computing"
    assert by_id["earnings"].name == "Earnings (custom)"
    assert by_id["earnings"].keywords == ("profit bonanza",)
    assert {t.id: t for t in core}["valuation"] == by_id["valuation"]
    assert digest != core_digest


def test_replaced_theme_uses_only_the_new_keywords(user_file: Path) -> None:
    classifier = KeywordThemeClassifier(*load_taxonomy([CORE, user_file]))
    scores = classifier.predict(
        [
            "Quarterly earnings and revenue beat estimates.",
            "It was a profit bonanza for the quarter.",
            "IBM showed a quantum computer with 1,000 qubits.",
        ]
    )
    assert "earnings" not in scores[0]
    assert "earnings" in scores[1]
    assert "quantum_computing" in scores[2]
    assert 0 < scores[2]["quantum_computing"] <= 1


@pytest.mark.parametrize(
    ("body", "theme_id", "what"),
    [
        ("  - id: broken_regex\n    keywords: ['(unclosed group']\n", "broken_regex", "keyword"),
        ("  - id: no_keywords\n    name: Nothing\n", "no_keywords", "keywords"),
        ("  - id: empty_keywords\n    keywords: []\n", "empty_keywords", "keywords"),
    ],
)
def test_bad_theme_names_file_and_theme(
    tmp_path: Path, body: str, theme_id: str, what: str
) -> None:
    path = write(tmp_path, "themes:\n  - id: fine_theme\n    keywords: [ok]\n" + body)
    with pytest.raises(ConfigError) as info:
        load_taxonomy([CORE, path])
    message = str(info.value)
    assert str(path) in message
    assert theme_id in message
    assert "themes[1]" in message
    assert what in message


@pytest.mark.parametrize(
    "text",
    [
        "themes:\n  - id: Bad-Id\n    keywords: [x]\n",
        "themes:\n  - just a string\n",
        "themes: {}\n",
        "not_themes: []\n",
        "themes: [unclosed\n",
    ],
)
def test_malformed_themes_file_names_file(tmp_path: Path, text: str) -> None:
    path = write(tmp_path, text)
    with pytest.raises(ConfigError) as info:
        load_taxonomy([path])
    assert str(path) in str(info.value)


def test_missing_themes_file(tmp_path: Path) -> None:
    missing = tmp_path / "nope.yaml"
    with pytest.raises(ConfigError) as info:
        load_taxonomy([CORE, missing])
    assert str(missing) in str(info.value)


def test_keywords_match_whole_words_case_insensitively() -> None:
    classifier = KeywordThemeClassifier(*load_taxonomy([CORE]))
    (tariff, none, fed) = classifier.predict(
        [
            "New TARIFFS on steel imports rattled buyers.",
            "The bankside café served tea.",
            "Officials signaled further rate cuts.",
        ]
    )
    assert "trade_tariffs" in tariff
    assert "credit_banking" not in none  # 'bank' inside 'bankside' is not a match
    assert "monetary_easing" in fed


def test_analyzer_with_user_theme(analyzer: Analyzer, user_file: Path) -> None:
    custom = Analyzer(themes_paths=[user_file])
    text = "Startups racing to build quantum computers raised fresh funding."
    result = custom.analyze(text)
    assert result.sentences[0].themes[0] == "quantum_computing"
    quantum = next(t for t in result.themes if t.id == "quantum_computing")
    assert quantum.evidence == [0]
    assert custom.model_versions["themes"] != analyzer.model_versions["themes"]
    assert custom.model_versions["themes"].startswith("embedding-3+")
    assert custom.version_key != analyzer.version_key
    # The default analyzer does not know the user theme.
    assert "quantum_computing" not in {t.id for t in analyzer.analyze(text).themes}
