from __future__ import annotations

import json
import math
from datetime import date

import numpy as np
import pandas as pd

from nlp_pipeline.formatting import (
    SCORE_DECIMALS,
    json_records,
    json_rows,
    round_frame,
    round_nested,
    round_score,
    round_scores,
    text_table,
)


def test_round_score() -> None:
    assert SCORE_DECIMALS == 4
    assert round_score(-0.16169999999999998) == -0.1617
    assert math.copysign(1.0, round_score(-0.00001)) == 1.0  # no negative zero
    assert str(round_score(-0.0)) == "0.0"
    assert math.isnan(round_score(float("nan")))


def test_round_scores_matches_round_score_bit_for_bit() -> None:
    # Halves and near-halves at the fourth decimal are where a plain rint(x * 1e4) / 1e4 and
    # Python's round part ways (0.00005 is just above the half: round gives 0.0001).
    rng = np.random.default_rng(7)
    values = np.concatenate(
        [
            rng.uniform(-1, 1, 20_000),
            (np.arange(-3000, 3000) + 0.5) / 1e4,
            np.arange(-3000, 3000) / 1e4,
            rng.uniform(-1, 1, 2000) * 10.0 ** rng.integers(-8, 9, 2000),
            [0.00005, -0.00005, 0.12345, 1 / 3, -0.0, 1e20, -12345.67895, np.inf, -np.inf],
        ]
    )
    got = round_scores(values)
    expected = [round_score(float(v)) for v in values]
    assert [math.copysign(1.0, g) for g in got] == [math.copysign(1.0, e) for e in expected]
    assert got.tolist() == expected
    assert round_scores(np.array([0.00005]))[0] == 0.0001
    assert math.isnan(round_scores(np.array([np.nan]))[0])


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


def test_json_rows_reads_as_json_records_of_the_same_frame() -> None:
    columns = ["period", "theme", "stories", "share", "change", "zscore"]
    rows = [
        (date(2026, 8, 3), "earnings", 2, 0.5, None, None),
        (date(2026, 8, 10), "rate_cuts", 3, 0.333, 1, float("nan")),
    ]
    frame = pd.DataFrame(rows, columns=columns)
    frame["change"] = frame["change"].astype("Int64")
    assert json.loads(json_rows(columns, rows)) == json.loads(json_records(frame))
    assert json.loads(json_rows(columns, rows))[1] == {
        "period": "2026-08-10",
        "theme": "rate_cuts",
        "stories": 3,
        "share": 0.333,
        "change": 1,
        "zscore": None,
    }


def test_text_table_right_aligns_numbers_with_empty_cells() -> None:
    rows = [{"theme": "ai", "change": None}, {"theme": "rates", "change": -12}]
    assert text_table(rows).splitlines() == [
        "  theme  change",
        "  ai          -",
        "  rates     -12",
    ]
