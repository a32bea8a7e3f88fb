"""Resolve the team-labeled theme set to text and verify every span.

The repository keeps only locators (source file, record, field, character offsets) and a sha1
prefix of each span, never the text itself: the sources may not be redistributed. This module
reads the local copy of the shared data folder and rebuilds each item's text.

Record locators, by source kind:
- ``*.jsonl``: ``record`` is the 0-based line number in the file (UTF-8); ``field`` is a key
  of the JSON object on that line, read with ``json.loads``.
- ``*.csv``: ``record`` is the 0-based data-row index yielded by ``csv.DictReader`` over the
  file opened with ``encoding="utf-8-sig", newline=""`` (the header row is not counted, and a
  quoted cell with embedded newlines is one row); ``field`` is the column name.
- ``*.xml`` (well-formed RSS 2.0 or news sitemaps): parsed with ``xml.etree.ElementTree``;
  ``record`` is the 0-based index of the entry among the document's ``<item>`` elements in
  document order (for sitemaps, the ``<url>`` elements); ``field`` is the local tag name of the
  first descendant of that entry with that name (``title``, ``description``), and the text is
  that element's ``.text`` (XML entities decoded, CDATA as is).

``start``/``end`` are Python ``str`` offsets into that field's text. ``sha1`` is the first 12
hex digits of the SHA-1 of the span encoded as UTF-8.

Usage: ``python resolve.py [DATA_DIR]`` (default ``$NLP_PIPELINE_SHARED_DATA`` or
``../shared/data`` relative to the repository root) prints a summary and exits non-zero on any
mismatch.
"""

from __future__ import annotations

import csv
import hashlib
import json
import os
import sys
import xml.etree.ElementTree as ET
from functools import cache
from pathlib import Path
from typing import Any

LABELS_PATH = Path(__file__).with_name("labels.jsonl")
SHA1_CHARS = 12
# dev: thresholds are calibrated on it; test: held out, reported only; train: extra items the
# head is fitted on (never used for thresholds or reports).
SPLITS = ("dev", "test", "train")


THEME_IDS = frozenset(
    {
        "small_cap_rotation",
        "megacap_concentration",
        "ai_infrastructure",
        "ai_adoption",
        "monetary_easing",
        "monetary_tightening",
        "fiscal_policy",
        "valuation",
        "earnings",
        "economic_growth",
        "inflation",
        "credit_banking",
        "regulation",
        "trade_tariffs",
        "mergers_acquisitions",
        "infrastructure_capex",
        "real_estate",
        "energy_commodities",
    }
)
SEGMENT_IDS = frozenset(
    {
        "MEGA_CAP",
        "LARGE_CAP",
        "MID_CAP",
        "SMALL_CAP",
        "GROWTH",
        "VALUE",
        "DEFENSIVE",
        "CYCLICAL",
        "MOMENTUM",
        "QUALITY",
        "ENERGY",
        "MATERIALS",
        "INDUSTRIALS",
        "CONSUMER_DISCRETIONARY",
        "CONSUMER_STAPLES",
        "HEALTH_CARE",
        "FINANCIALS",
        "INFORMATION_TECHNOLOGY",
        "COMMUNICATION_SERVICES",
        "UTILITIES",
        "REAL_ESTATE",
    }
)


def _label_problem(row: dict[str, Any]) -> str | None:
    """Describe what is wrong with a label row's own fields, or None when it is well formed."""
    unknown = [t for t in row.get("themes", []) if t not in THEME_IDS]
    if unknown:
        return f"unknown theme id(s) {unknown}"
    for flow in row.get("rotations", []):
        if flow.get("to") not in SEGMENT_IDS:
            return f"rotation 'to' must be a segment id, got {flow.get('to')!r}"
        if flow.get("from") is not None and flow["from"] not in SEGMENT_IDS:
            return f"rotation 'from' must be a segment id or null, got {flow['from']!r}"
    if row.get("split") not in SPLITS:
        return f"split must be one of {', '.join(SPLITS)}, got {row.get('split')!r}"
    return None


def span_sha1(text: str) -> str:
    return hashlib.sha1(text.encode("utf-8")).hexdigest()[:SHA1_CHARS]


def _local(tag: str) -> str:
    return tag.rsplit("}", 1)[-1]


@cache
def _jsonl_lines(path: str) -> tuple[str, ...]:
    with open(path, encoding="utf-8") as fh:
        return tuple(fh.read().split("\n"))


@cache
def _csv_rows(path: str) -> tuple[dict[str, str], ...]:
    with open(path, encoding="utf-8-sig", newline="") as fh:
        return tuple(csv.DictReader(fh))


@cache
def _xml_entries(path: str) -> tuple[ET.Element, ...]:
    root = ET.parse(path).getroot()
    items = [e for e in root.iter() if _local(e.tag) == "item"]
    if not items:
        items = [e for e in root.iter() if _local(e.tag) == "url"]
    return tuple(items)


def field_text(data_dir: Path, source: str, record: int, field: str) -> str:
    """Return the full text of ``field`` in ``record`` of ``source`` (see module docstring)."""
    path = str(data_dir / source)
    if source.endswith(".jsonl"):
        obj: dict[str, Any] = json.loads(_jsonl_lines(path)[record])
        value = obj[field]
    elif source.endswith(".csv"):
        value = _csv_rows(path)[record][field]
    elif source.endswith(".xml"):
        entry = _xml_entries(path)[record]
        match = next((e for e in entry.iter() if _local(e.tag) == field), None)
        if match is None:
            raise KeyError(field)
        value = match.text or ""
    else:
        raise ValueError(f"unsupported source kind: {source}")
    if not isinstance(value, str):
        raise TypeError(f"field {field!r} is not a string")
    return value


def load_team_set(
    data_dir: str | os.PathLike[str], labels_path: str | os.PathLike[str] = LABELS_PATH
) -> list[dict[str, Any]]:
    """Load every label row, attach its ``text`` and verify the span's sha1.

    Raises ``ValueError`` listing every row that failed (missing file or record, bad offsets,
    hash mismatch); prints each error to stderr as well.
    """
    base = Path(data_dir)
    items: list[dict[str, Any]] = []
    errors: list[str] = []
    with open(labels_path, encoding="utf-8") as fh:
        for line_no, line in enumerate(fh, 1):
            if not line.strip():
                continue
            row = json.loads(line)
            where = (
                f"{Path(labels_path).name}:{line_no} id={row.get('id')} "
                f"{row.get('source')}#{row.get('record')}.{row.get('field')}"
            )
            problem = _label_problem(row)
            if problem:
                errors.append(f"{where}: {problem}")
                continue
            try:
                full = field_text(base, row["source"], int(row["record"]), row["field"])
            except (OSError, IndexError, KeyError, TypeError, ValueError, ET.ParseError) as exc:
                errors.append(f"{where}: cannot read field: {type(exc).__name__}: {exc}")
                continue
            start, end = int(row["start"]), int(row["end"])
            if not 0 <= start < end <= len(full):
                errors.append(f"{where}: offsets {start}:{end} outside field of length {len(full)}")
                continue
            text = full[start:end]
            digest = span_sha1(text)
            if digest != row["sha1"]:
                errors.append(
                    f"{where}: sha1 mismatch (expected {row['sha1']}, got {digest}); "
                    f"the data file differs from the one labeled"
                )
                continue
            items.append({**row, "text": text})
    if errors:
        for err in errors:
            print(f"team_set: {err}", file=sys.stderr)
        raise ValueError(f"{len(errors)} team-set item(s) failed to resolve; first: {errors[0]}")
    return items


def _default_data_dir() -> Path:
    env = os.environ.get("NLP_PIPELINE_SHARED_DATA")
    if env:
        return Path(env)
    return Path(__file__).resolve().parents[3].parent / "shared" / "data"


def main(argv: list[str]) -> int:
    data_dir = Path(argv[1]) if len(argv) > 1 else _default_data_dir()
    if not data_dir.is_dir():
        print(f"team_set: data folder not found: {data_dir}", file=sys.stderr)
        return 2
    try:
        items = load_team_set(data_dir)
    except ValueError as exc:
        print(f"team_set: FAILED: {exc}", file=sys.stderr)
        return 1
    n_rot = sum(1 for it in items if it["rotations"])
    print(f"team_set: {len(items)} items resolved and verified ({n_rot} with rotation flows)")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
