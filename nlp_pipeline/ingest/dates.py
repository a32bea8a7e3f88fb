"""Publication dates: parsed from what feeds and files carry, kept in UTC, never in the future.

A date that is missing, unparsable or later than the fetch falls back to the fetch time, and the
article says so (`Article.published_fallback`), so such dates never pose as publisher-supplied
and a future date cannot shift windows computed from the newest article.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from email.utils import parsedate_to_datetime

from dateutil import parser as dateutil_parser
from dateutil import tz

# Clock skew between publishers and us that still counts as "now", not "future".
FUTURE_TOLERANCE = timedelta(minutes=15)
# Zone abbreviations news feeds use; dateutil does not guess these on its own.
_ZONES = {
    "UTC": tz.UTC,
    "GMT": tz.UTC,
    "Z": tz.UTC,
    "EST": tz.tzoffset("EST", -5 * 3600),
    "EDT": tz.tzoffset("EDT", -4 * 3600),
    "CST": tz.tzoffset("CST", -6 * 3600),
    "CDT": tz.tzoffset("CDT", -5 * 3600),
    "MST": tz.tzoffset("MST", -7 * 3600),
    "MDT": tz.tzoffset("MDT", -6 * 3600),
    "PST": tz.tzoffset("PST", -8 * 3600),
    "PDT": tz.tzoffset("PDT", -7 * 3600),
    "BST": tz.tzoffset("BST", 1 * 3600),
    "CET": tz.tzoffset("CET", 1 * 3600),
    "CEST": tz.tzoffset("CEST", 2 * 3600),
    "JST": tz.tzoffset("JST", 9 * 3600),
}
_CLOCK_WITH_ZONE = re.compile(
    r"^(\w{3} \w{3} \d{1,2}, \d{4} \d{1,2}:\d{2}[aApP][mM]) ([A-Z]{1,4})$"
)
_EPOCH_MIN, _EPOCH_MAX = 0, 4_102_444_800  # 1970 .. 2100


def to_utc(value: datetime) -> datetime:
    """Aware datetimes converted to UTC; naive ones taken as UTC."""
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def parse_date(value: object) -> datetime | None:
    """ISO 8601, RFC 822, 'Mon Jan 2, 2012 12:15pm EST' and the like, or epoch seconds."""
    if value is None or isinstance(value, bool):
        return None
    if isinstance(value, datetime):
        return to_utc(value)
    if isinstance(value, int | float):
        return (
            datetime.fromtimestamp(float(value), tz=UTC)
            if _EPOCH_MIN <= value <= _EPOCH_MAX
            else None
        )
    if not isinstance(value, str):
        return None
    text = value.strip()
    if not text or len(text) > 100:
        return None
    try:
        return to_utc(datetime.fromisoformat(text.replace("Z", "+00:00")))
    except ValueError:
        pass
    match = _CLOCK_WITH_ZONE.match(text)
    if match and match.group(2) in _ZONES:
        # 'Mon Jan 2, 2012 12:15pm EST' (wire archives): far cheaper than dateutil's parser.
        try:
            local = datetime.strptime(match.group(1), "%a %b %d, %Y %I:%M%p")
        except ValueError:
            pass
        else:
            return to_utc(local.replace(tzinfo=_ZONES[match.group(2)]))
    try:
        return to_utc(parsedate_to_datetime(text))
    except (TypeError, ValueError, IndexError):
        pass
    try:
        return to_utc(dateutil_parser.parse(text, tzinfos=_ZONES))
    except (ValueError, OverflowError, TypeError, LookupError):
        return None


def resolve_published(published: datetime | None, fetched_at: datetime) -> tuple[datetime, bool]:
    """(published in UTC, fell back): missing or future dates become the fetch time."""
    if published is None:
        return fetched_at, True
    published = to_utc(published)
    if published > fetched_at + FUTURE_TOLERANCE:
        return fetched_at, True
    return published, False
