"""One rounding rule for every number the tool prints or writes.

Scores, probabilities, shares and tones are rounded to `SCORE_DECIMALS` places, and a negative
zero becomes 0.0 (no `-0.000` in a table). The contract JSON (`tag`), the store's stored
scores, exports and every table go through these helpers.
"""

from __future__ import annotations

import json
import math
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import numpy as np
    import numpy.typing as npt
    import pandas as pd

SCORE_DECIMALS = 4


def round_score(value: float) -> float:
    """`value` rounded to SCORE_DECIMALS places; -0.0 becomes 0.0; NaN stays NaN."""
    if isinstance(value, float) and math.isnan(value):
        return value
    rounded = round(float(value), SCORE_DECIMALS)
    return rounded + 0.0  # -0.0 + 0.0 == 0.0


def round_scores(values: npt.NDArray[np.float64]) -> npt.NDArray[np.float64]:
    """`round_score` over an array, vectorized, with the same result bit for bit.

    rint(x * 10**d) / 10**d is the nearest double to the decimal rounding of x (what Python's
    round returns) except where x * 10**d lands within rounding error of a half; those values,
    and large or non-finite ones, go through `round_score` itself."""
    import numpy as np

    scaled = values * 10.0**SCORE_DECIMALS
    rounded = np.rint(scaled) / 10.0**SCORE_DECIMALS + 0.0
    with np.errstate(invalid="ignore"):  # NaN compares false: it stays NaN
        inexact = (np.abs(scaled - np.floor(scaled) - 0.5) <= 1e-6) | (np.abs(values) >= 1e4)
    for i in np.flatnonzero(inexact):
        rounded[i] = round_score(float(values[i]))
    return rounded


def round_frame(frame: pd.DataFrame) -> pd.DataFrame:
    """A copy of `frame` with every float column rounded by `round_score`."""
    shown = frame.copy()
    for column in shown.columns:
        if shown[column].dtype.kind == "f":
            shown[column] = shown[column].round(SCORE_DECIMALS) + 0.0
    return shown


def round_nested(value: Any) -> Any:
    """`value` (JSON-like: dicts, lists, numbers) with every float rounded by `round_score`."""
    if isinstance(value, float):
        return round_score(value)
    if isinstance(value, dict):
        return {key: round_nested(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [round_nested(item) for item in value]
    return value


def json_records(frame: pd.DataFrame, indent: int | None = 1) -> str:
    """An answer as a JSON array of records: dates and times in ISO 8601, missing values null.
    `--format json` on the command line and the HTTP API both write it, so they match."""
    shown = frame.copy()
    for column in shown.columns:
        if shown[column].map(lambda v: hasattr(v, "isoformat")).any():
            shown[column] = shown[column].map(
                lambda v: v.isoformat() if hasattr(v, "isoformat") else v
            )
    text: str = shown.to_json(orient="records", indent=indent, date_format="iso")
    return text


def json_rows(columns: Sequence[str], rows: Sequence[Sequence[Any]], indent: int | None = 1) -> str:
    """`json_records` for an answer as plain rows (no pandas): the same records, dates and
    times in ISO 8601, missing values (None, NaN) null."""

    def plain(value: Any) -> Any:
        if hasattr(value, "isoformat"):
            return value.isoformat()
        if isinstance(value, float) and math.isnan(value):
            return None
        return value

    records = [
        {column: plain(value) for column, value in zip(columns, row, strict=True)} for row in rows
    ]
    return json.dumps(records, indent=indent)


def text_table(rows: list[dict[str, Any]], empty: str = "(nothing yet)") -> str:
    """Rows as an aligned plain-text table (numbers right-aligned, text left-aligned, `-` for
    empty cells), indented two spaces; for commands that must answer without importing pandas."""
    if not rows:
        return f"  {empty}"
    columns = list(rows[0])

    def cell(value: Any) -> str:
        if value is None or value == "":
            return "-"
        if isinstance(value, float):
            return str(round_score(value))
        return str(value)

    cells = [[cell(row.get(column)) for column in columns] for row in rows]
    widths = [max(len(column), *(len(r[i]) for r in cells)) for i, column in enumerate(columns)]

    def number(value: Any) -> bool:
        return isinstance(value, int | float) and not isinstance(value, bool)

    # A column of numbers (empty cells aside) is right-aligned.
    numeric = [
        any(number(row.get(c)) for row in rows)
        and all(number(row.get(c)) or row.get(c) is None for row in rows)
        for c in columns
    ]

    def line(values: list[str]) -> str:
        parts = [
            v.rjust(w) if right else v.ljust(w)
            for v, w, right in zip(values, widths, numeric, strict=True)
        ]
        return ("  " + "  ".join(parts)).rstrip()

    return "\n".join([line(columns), *(line(r) for r in cells)])
