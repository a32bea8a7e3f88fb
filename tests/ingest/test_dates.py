from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import pytest

from nlp_pipeline.ingest.dates import parse_date, resolve_published


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("Mon Jan 2, 2012 12:15pm EST", datetime(2012, 1, 2, 17, 15, tzinfo=UTC)),
        ("Tue, 04 Aug 2026 14:30:00 GMT", datetime(2026, 8, 4, 14, 30, tzinfo=UTC)),
        ("Mon, 29 Jul 2019 13:55 GMT", datetime(2019, 7, 29, 13, 55, tzinfo=UTC)),
        ("2026-10-01T12:00:00-04:00", datetime(2026, 10, 1, 16, 0, tzinfo=UTC)),
        ("2026-10-01T12:00:00Z", datetime(2026, 10, 1, 12, 0, tzinfo=UTC)),
        ("2026-10-01", datetime(2026, 10, 1, tzinfo=UTC)),
        (1_700_000_000, datetime(2023, 11, 14, 22, 13, 20, tzinfo=UTC)),
    ],
)
def test_dates_parse_to_utc(raw: object, expected: datetime) -> None:
    parsed = parse_date(raw)
    assert parsed == expected and parsed is not None and parsed.utcoffset() == timedelta(0)


@pytest.mark.parametrize("raw", ["", "yesterday-ish", "32/13/2020 99:99", None, True, 1e20, []])
def test_unparsable_dates_are_none(raw: object) -> None:
    assert parse_date(raw) is None


def test_missing_and_future_dates_fall_back_to_fetch_time() -> None:
    fetched = datetime(2026, 11, 1, 12, 0, tzinfo=UTC)
    local = datetime(2026, 11, 1, 9, 0, tzinfo=timezone(timedelta(hours=-2)))
    assert resolve_published(local, fetched) == (datetime(2026, 11, 1, 11, 0, tzinfo=UTC), False)
    assert resolve_published(None, fetched) == (fetched, True)
    assert resolve_published(fetched + timedelta(days=2), fetched) == (fetched, True)
    # A few minutes of clock skew is not "the future".
    skewed = fetched + timedelta(minutes=5)
    assert resolve_published(skewed, fetched) == (skewed, False)
