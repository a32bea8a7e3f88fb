"""Sentiment evaluation metrics (nlp_pipeline/evaluation/sentiment.py) and the CLI quality gate."""

from __future__ import annotations

import io
import json
from pathlib import Path

import numpy as np
import pytest

from nlp_pipeline.cli import check_floors, main
from nlp_pipeline.errors import PipelineError
from nlp_pipeline.evaluation.sentiment import (
    classification_report,
    expected_calibration_error,
    regression_report,
)
from tests.conftest import shared_data


def test_classification_report_by_hand() -> None:
    # gold: neg, neg, neu, pos; predicted: neg, neu, neu, pos
    gold = [0, 0, 1, 2]
    probs = np.array(
        [[0.8, 0.1, 0.1], [0.3, 0.6, 0.1], [0.1, 0.7, 0.2], [0.0, 0.1, 0.9]], dtype=np.float64
    )
    report = classification_report(gold, probs)
    assert report["accuracy"] == 0.75
    assert report["confusion"]["matrix"] == [[1, 1, 0], [0, 1, 0], [0, 0, 1]]
    negative = report["per_class"]["negative"]
    assert (negative["precision"], negative["recall"]) == (1.0, 0.5)
    neutral = report["per_class"]["neutral"]
    assert (neutral["precision"], neutral["recall"]) == (0.5, 1.0)
    assert report["macro_f1"] == pytest.approx((2 / 3 + 2 / 3 + 1.0) / 3, abs=1e-4)


def test_ece_of_calibrated_and_overconfident_predictions() -> None:
    gold = np.array([0, 0, 0, 0, 0, 0, 0, 0, 0, 1])
    # Confidence 0.9 and 90% right: calibrated.
    calibrated = np.tile([0.9, 0.1], (10, 1))
    assert expected_calibration_error(gold, calibrated) == pytest.approx(0.0, abs=1e-9)
    # Confidence 1.0 and 90% right: off by 0.1.
    overconfident = np.tile([1.0, 0.0], (10, 1))
    assert expected_calibration_error(gold, overconfident) == pytest.approx(0.1)


def test_regression_report() -> None:
    gold = [0.5, -0.4, 0.0, 0.9]
    scores = np.array([0.2, -0.1, 0.3, 0.8])
    report = regression_report(gold, scores)
    assert report["sign_accuracy"] == 1.0  # the zero gold score is left out of sign accuracy
    assert report["pearson"] == pytest.approx(float(np.corrcoef(gold, scores)[0, 1]), abs=1e-4)


def test_floors_fail_below_and_treat_ece_as_a_ceiling(tmp_path: Path) -> None:
    floors = tmp_path / "floors.json"
    floors.write_text(json.dumps({"fpb": {"accuracy": 0.8, "ece": 0.05}}))
    report = {"dataset": "fpb", "accuracy": 0.85, "ece": 0.03}
    assert check_floors(report, floors) == []
    assert check_floors({**report, "accuracy": 0.79}, floors) == [
        "fpb accuracy = 0.79 (pinned 0.8)"
    ]
    assert check_floors({**report, "ece": 0.07}, floors) == ["fpb ece = 0.07 (pinned 0.05)"]
    with pytest.raises(PipelineError, match="no floors for dataset 'tfns'"):
        check_floors({**report, "dataset": "tfns"}, floors)


def test_eval_command_gates_on_pinned_floors(tmp_path: Path) -> None:
    data = shared_data()
    shared_data("fpb")
    floors = tmp_path / "floors.json"
    floors.write_text(json.dumps({"fpb-allagree": {"accuracy": 0.9}}))
    out = io.StringIO()
    code = main(
        ["eval", "sentiment", "--dataset", "fpb-allagree", "--data", str(data),
         "--floors", str(floors)],
        out=out,
    )  # fmt: skip
    report = json.loads(out.getvalue())
    assert report["n"] == sum(sum(row) for row in report["confusion"]["matrix"])
    assert code == (0 if report["accuracy"] >= 0.9 else 1)
    floors.write_text(json.dumps({"fpb-allagree": {"accuracy": 1.01}}))
    assert main(["eval", "sentiment", "--dataset", "fpb-allagree", "--data", str(data),
                 "--floors", str(floors)], out=io.StringIO()) == 1  # fmt: skip
