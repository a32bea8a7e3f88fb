from __future__ import annotations

from nlp_pipeline.suggest import close_matches, did_you_mean

THEMES = ["small_cap_rotation", "megacap_concentration", "earnings", "valuation", "inflation"]


def test_close_matches_by_spelling_and_by_containment() -> None:
    assert close_matches("earning", THEMES) == ["earnings"]
    assert close_matches("small_caps", THEMES) == ["small_cap_rotation"]
    assert close_matches("megacap", THEMES) == ["megacap_concentration"]
    assert close_matches("EARNINGS", THEMES) == ["earnings"]  # case is ignored
    assert close_matches("weather", THEMES) == []


def test_did_you_mean_wording() -> None:
    assert did_you_mean("inflaton", THEMES) == " (did you mean 'inflation'?)"
    assert did_you_mean("FXI", ["FIX", "NVDA", "FCX"]) == " (did you mean 'FIX' or 'FCX'?)"
    assert did_you_mean("zzz", THEMES) == ""
