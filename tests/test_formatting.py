from __future__ import annotations

import math

import pandas as pd

from nlp_pipeline.formatting import (
    SCORE_DECIMALS,
    round_frame,
    round_nested,
    round_score,
    text_table,
)


def test_round_score() -> None:
    assert SCORE_DECIMALS == 4
    assert round_score(-0.16169999999999998) == -0.1617
    assert math.copysign(1.0, round_score(-0.00001)) == 1.0  # no negative zero
    assert str(round_score(-0.0)) == "0.0"
    assert math.isnan(round_score(float("nan")))


def test_round_frame_and_nested() -> None:
    frame = pd.DataFrame({"id": ["a", "b"], "tone": [-0.00004, 0.123456], "n": [1, 2]})
    shown = round_frame(frame)
    assert shown["tone"].tolist() == [0.0, 0.1235] and str(shown["tone"][0]) == "0.0"
    assert shown["n"].tolist() == [1, 2] and frame["tone"][1] == 0.123456  # input untouched
    assert round_nested({"a": [0.123456, {"b": -0.0}], "c": 3}) == {
        "a": [0.1235, {"b": 0.0}],
        "c": 3,
    }


def test_text_table_aligns_and_marks_empty_cells() -> None:
    rows = [
        {"id": "demo", "n": 5, "tone": -0.00001, "note": None},
        {"id": "fed-press", "n": 12, "tone": 0.123456, "note": "x"},
    ]
    assert text_table(rows).splitlines() == [
        "  id          n    tone  note",
        "  demo        5     0.0  -",
        "  fed-press  12  0.1235  x",
    ]
    assert text_table([], "none yet") == "  none yet"
