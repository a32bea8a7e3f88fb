"""Theme and rotation scoring (nlp_pipeline/evaluation/themes.py), and the quality gate: the
shipped head on the team test split against the floors in models/themes/quality_floors.json."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pytest

from nlp_pipeline.cli import main
from nlp_pipeline.datasets import DatasetError
from nlp_pipeline.evaluation.themes import (
    FLOW_SET_FILE,
    TEAM_SET_DIR,
    evaluate_team,
    flow_scores,
    load_team_set,
    multilabel_scores,
)
from nlp_pipeline.nlp.rotations import PatternRotationExtractor
from tests.conftest import CORE_THEME_IDS, REPO, shared_data

FLOORS = REPO / "models" / "themes" / "quality_floors.json"


def test_multilabel_scores_count_per_theme_and_average() -> None:
    gold = [{"earnings"}, {"earnings", "inflation"}, set(), {"inflation"}]
    predicted = [{"earnings"}, {"inflation"}, {"earnings"}, {"valuation"}]
    report = multilabel_scores(gold, predicted, ["earnings", "inflation", "valuation"])
    earnings, inflation = report["themes"]["earnings"], report["themes"]["inflation"]
    assert (earnings["precision"], earnings["recall"]) == (0.5, 0.5)
    assert (inflation["precision"], inflation["recall"], inflation["f1"]) == (1.0, 0.5, 0.6667)
    # micro: 2 true positives, 4 predicted, 4 gold
    assert report["micro"] == {"precision": 0.5, "recall": 0.5, "f1": 0.5}
    # macro over the themes with gold items only (valuation has none)
    assert report["macro"]["f1"] == pytest.approx((0.5 + 0.6667) / 2, abs=1e-4)
    assert report["themes_without_support"] == {"valuation": 1}


def test_flow_scores_compare_sets_of_pairs() -> None:
    gold = [{("MEGA_CAP", "SMALL_CAP"), ("MEGA_CAP", "MID_CAP")}, set(), {(None, "VALUE")}]
    predicted = [{("MEGA_CAP", "SMALL_CAP")}, {(None, "ENERGY")}, {("GROWTH", "VALUE")}]
    assert flow_scores(gold, predicted) == {
        "precision": 0.3333,
        "recall": 0.3333,
        "f1": 0.3333,
        "gold": 3,
        "predicted": 3,
    }


def test_flow_only_items_count_toward_the_rotation_scores_alone() -> None:
    themed = [
        {
            "text": "Money rotated out of mega caps and into small caps.",
            "themes": ["small_cap_rotation"],
            "rotations": [{"from": "MEGA_CAP", "to": "SMALL_CAP"}],
        }
    ]
    flow_only = [
        {
            "text": "Investors piled into utilities.",
            "rotations": [{"from": None, "to": "UTILITIES"}],
        },
        # the side left is in the gold flow but not in the sentence: (None, FINANCIALS) misses it
        {"text": "Funds piled into banks.", "rotations": [{"from": "ENERGY", "to": "FINANCIALS"}]},
        {"text": "Banks led the gains.", "rotations": []},
    ]
    report = evaluate_team(
        themed,
        lambda texts: None,  # type: ignore[arg-type,return-value]  # patterns read no embeddings
        lambda texts, encoded: [{"small_cap_rotation": 0.9} for _ in texts],
        ["small_cap_rotation"],
        PatternRotationExtractor().extract,
        flow_only,
    )
    assert report["items"] == 1 and report["micro"]["f1"] == 1.0
    assert report["rotations_by_set"]["team"] == {
        "precision": 1.0,
        "recall": 1.0,
        "f1": 1.0,
        "gold": 1,
        "predicted": 1,
        "items": 1,
    }
    assert report["rotations_by_set"]["flow_set"] == {
        "precision": 0.5,
        "recall": 0.5,
        "f1": 0.5,
        "gold": 2,
        "predicted": 2,
        "items": 3,
    }
    assert report["rotations"] == {
        "precision": 0.6667,
        "recall": 0.6667,
        "f1": 0.6667,
        "gold": 3,
        "predicted": 3,
        "items": 4,
    }


def test_a_missing_label_file_is_named(tmp_path: Path) -> None:
    (tmp_path / "resolve.py").write_text((TEAM_SET_DIR / "resolve.py").read_text())
    (tmp_path / "labels.jsonl").write_text("")
    assert load_team_set(tmp_path, tmp_path) == []
    with pytest.raises(DatasetError, match=r"flows\.jsonl not found"):
        load_team_set(tmp_path, tmp_path, labels_file=FLOW_SET_FILE)


def test_quality_gate_on_the_team_test_split(capsys: pytest.CaptureFixture[str]) -> None:
    """The shipped head must not fall below the pinned floors (lowering one is deliberate)."""
    shared_data("reuters_2012_2013")
    if not (REPO / "models" / "themes" / "head.npz").is_file():
        pytest.skip("no trained theme head in models/themes")
    assert (TEAM_SET_DIR / "labels.jsonl").is_file() and (TEAM_SET_DIR / FLOW_SET_FILE).is_file()
    floors = json.loads(FLOORS.read_text())["team_test"]
    assert main(["eval", "themes", "--dataset", "team", "--split", "test"]) == 0
    report = json.loads(capsys.readouterr().out)
    assert report["split"] == "test" and report["items"] >= 100
    assert "in_sample" not in report  # the head never saw the test split
    assert set(report["themes"]) == set(CORE_THEME_IDS)
    assert report["micro"]["f1"] >= floors["micro_f1"]
    assert report["macro"]["f1"] >= floors["macro_f1"]
    for theme_id, floor in floors["theme_f1"].items():
        assert report["themes"][theme_id]["f1"] >= floor, theme_id
    assert report["rotations_by_set"]["flow_set"]["items"] >= 100
    assert report["rotations"]["precision"] >= floors["rotations_precision"]
    assert report["rotations"]["recall"] >= floors["rotations_recall"]


def test_eval_themes_models_option_scores_that_folder(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """`--models DIR` scores DIR's head, not ./models: a copy of the shipped head whose
    thresholds are out of reach predicts nothing, so its F1 is 0; a folder without a taxonomy is
    named in the error."""
    assert main(["eval", "themes", "--dataset", "team", "--models", str(tmp_path)]) == 2
    assert str(tmp_path / "themes" / "taxonomy.yaml") in capsys.readouterr().err
    shared_data("reuters_2012_2013")
    if not (REPO / "models" / "themes" / "head.npz").is_file():
        pytest.skip("no trained theme head in models/themes")
    models = tmp_path / "models"
    for part in ("themes", "sentiment"):
        shutil.copytree(REPO / "models" / part, models / part)
    with np.load(models / "themes" / "head.npz") as saved:
        arrays = {name: saved[name] for name in saved.files}
    arrays["thresholds"] = np.full_like(arrays["thresholds"], 1.01)  # above any probability
    np.savez(models / "themes" / "head.npz", **arrays)
    assert main(["eval", "themes", "--dataset", "team", "--models", str(models)]) == 0
    report = json.loads(capsys.readouterr().out)
    assert report["micro"]["f1"] == 0.0 and report["items"] >= 100
    # dev is part of what the head is fitted on: the report says its figures are in-sample
    assert (
        main(["eval", "themes", "--dataset", "team", "--split", "dev", "--models", str(models)])
        == 0
    )
    assert json.loads(capsys.readouterr().out)["in_sample"] is True
