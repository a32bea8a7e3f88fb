"""Tagging any text with the JSON contract (docs/contract.md): one text, or a JSONL stream.

`tag_text` tags one text; `tag_jsonl` streams JSON lines through `Analyzer.analyze_many` in
batches (memory stays flat however long the input), and answers each line with either its
contract JSON or a `LineError` naming the line, so one bad line never stops the batch.
`read_text` and `read_lines` turn raw bytes into text and refuse binary input.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, BinaryIO

from nlp_pipeline.errors import InputError

if TYPE_CHECKING:
    from nlp_pipeline.nlp.analyzer import Analyzer

# Longer inputs are cut here by the analyzer; the output says so (see `truncation_note`).
# Kept equal to nlp_pipeline.nlp.analyzer.MAX_TEXT_CHARS (a test checks it).
MAX_TEXT_CHARS = 200_000
MAX_INPUT_BYTES = 64 * 1024 * 1024
SNIFF_BYTES = 8192
CONTRACT_KEYS = frozenset({"sentiment", "entities", "themes", "rotations", "sentences"})

# Leading bytes of common binary formats, named so the refusal says what the input was.
_MAGIC: tuple[tuple[bytes, str], ...] = (
    (b"%PDF-", "a PDF document"),
    (b"PK\x03\x04", "a ZIP archive (or a .docx/.xlsx file)"),
    (b"\x7fELF", "an executable (ELF)"),
    (b"MZ", "a Windows executable"),
    (b"\x89PNG", "a PNG image"),
    (b"\xff\xd8\xff", "a JPEG image"),
    (b"GIF8", "a GIF image"),
    (b"\x1f\x8b", "a gzip file"),
    (b"BZh", "a bzip2 file"),
    (b"\xfd7zXZ", "an xz file"),
    (b"PAR1", "a Parquet file"),
    (b"SQLite format 3\x00", "an SQLite database"),
)
_CONTROL_OK = frozenset("\t\n\r\f\v")


@dataclass(frozen=True)
class LineError:
    """A JSONL line that could not be tagged: its 1-based number and what was wrong."""

    line: int
    message: str

    def __str__(self) -> str:
        return f"line {self.line}: {self.message}"


@dataclass(frozen=True)
class TaggedLine:
    """A JSONL line's output: the passed-through fields, then the contract JSON."""

    line: int
    output: dict[str, Any]


def binary_reason(head: bytes) -> str | None:
    """Why these leading bytes are not text (a named format, NUL bytes, control characters),
    or None when they look like text."""
    for magic, name in _MAGIC:
        if head.startswith(magic):
            return f"{name}, not text"
    nul = head.find(b"\x00")
    if nul >= 0:
        return f"binary data (NUL byte at offset {nul:,}), not text"
    sample = head.decode("utf-8", errors="replace")
    if sample:
        odd = sum(1 for c in sample if c == "\ufffd" or (c < " " and c not in _CONTROL_OK))
        if odd / len(sample) > 0.1:
            return (
                f"binary data ({odd / len(sample):.0%} of its first {len(sample):,} characters "
                "are control characters or undecodable bytes), not text"
            )
    return None


def _utf16(data: bytes) -> str | None:
    """UTF-16 text (a BOM, and the NUL bytes ASCII text has in UTF-16), decoded; else None."""
    if data.startswith((b"\xff\xfe", b"\xfe\xff")) and b"\x00" in data[:SNIFF_BYTES]:
        return data.decode("utf-16", errors="replace")
    return None


def read_text(data: bytes, source: str) -> str:
    """Bytes of one document as text: UTF-8 (a BOM or UTF-16 honoured), undecodable bytes as
    U+FFFD. Binary input raises `InputError` naming `source` and what it looks like."""
    if len(data) > MAX_INPUT_BYTES:
        raise InputError(
            f"{source}: {len(data):,} bytes is more than tag reads "
            f"({MAX_INPUT_BYTES:,}); split the input"
        )
    decoded = _utf16(data)
    if decoded is not None:
        return decoded
    reason = binary_reason(data[:SNIFF_BYTES])
    if reason:
        raise InputError(f"{source}: {reason}; tag reads text")
    return data.decode("utf-8-sig", errors="replace")


def read_lines(stream: BinaryIO, source: str) -> Iterator[str]:
    """Lines of a byte stream as text, read lazily; binary input raises `InputError` first."""
    head = stream.read(SNIFF_BYTES)
    reason = None if _utf16(head) is not None else binary_reason(head)
    if reason:
        raise InputError(f"{source}: {reason}; tag --jsonl reads JSON lines")
    if _utf16(head) is not None:  # rare: decode the whole stream
        yield from (head + stream.read()).decode("utf-16", errors="replace").splitlines()
        return
    pending = head
    while True:
        newline = pending.find(b"\n")
        if newline >= 0:
            yield pending[:newline].decode("utf-8", errors="replace")
            pending = pending[newline + 1 :]
            continue
        chunk = stream.read(65536)
        if not chunk:
            break
        pending += chunk
    if pending:
        yield pending.decode("utf-8", errors="replace")


def truncation_note(length: int) -> dict[str, Any] | None:
    """What the analyzer cut from a text of `length` characters, and why (None if nothing)."""
    if length <= MAX_TEXT_CHARS:
        return None
    return {
        "chars": length,
        "analyzed_chars": MAX_TEXT_CHARS,
        "reason": f"only the first {MAX_TEXT_CHARS:,} characters of a text are analyzed "
        "(longer than any news article); split longer documents to tag them whole",
    }


def _contract(result: Any, text: str) -> dict[str, Any]:
    from nlp_pipeline.nlp.contract import to_contract

    output = to_contract(result)
    note = truncation_note(len(text))
    if note:
        output["truncated"] = note
    return output


def tag_text(analyzer: Analyzer, text: str) -> dict[str, Any]:
    """The contract JSON for one text, with a `truncated` note when the text was cut."""
    return _contract(analyzer.analyze(text), text)


@dataclass(frozen=True)
class _Pending:
    line: int
    text: str
    passthrough: dict[str, Any]


def parse_line(number: int, line: str) -> _Pending | LineError:
    """One JSONL line: an object with a string `text`; its other fields pass through."""
    try:
        record = json.loads(line)
    except json.JSONDecodeError as exc:
        return LineError(number, f"not valid JSON ({exc.msg} at column {exc.colno})")
    if not isinstance(record, dict):
        names: dict[type, str] = {list: "an array", str: "a string", type(None): "null"}
        kind = names.get(type(record), type(record).__name__)
        return LineError(number, f"expected a JSON object with a 'text' field, got {kind}")
    if "text" not in record:
        fields = ", ".join(sorted(record)) or "none"
        return LineError(number, f"no 'text' field (fields: {fields})")
    text = record["text"]
    if not isinstance(text, str):
        return LineError(number, f"'text' must be a string, got {type(text).__name__}")
    passthrough = {k: v for k, v in record.items() if k != "text" and k not in CONTRACT_KEYS}
    return _Pending(number, text, passthrough)


def tag_jsonl(
    analyzer: Analyzer, lines: Iterable[str], batch_size: int = 64
) -> Iterator[TaggedLine | LineError]:
    """Tag JSON lines in input order, `batch_size` texts per `analyze_many` call. Blank lines
    are skipped; every other line yields a `TaggedLine` or a `LineError`."""
    batch: list[_Pending | LineError] = []
    texts = 0
    for number, line in enumerate(lines, start=1):
        if not line.strip():
            continue
        item = parse_line(number, line)
        batch.append(item)
        texts += isinstance(item, _Pending)
        if texts >= batch_size:
            yield from _flush(analyzer, batch, batch_size)
            batch, texts = [], 0
    yield from _flush(analyzer, batch, batch_size)


def _flush(
    analyzer: Analyzer, batch: list[_Pending | LineError], batch_size: int
) -> Iterator[TaggedLine | LineError]:
    pending = [item for item in batch if isinstance(item, _Pending)]
    results = analyzer.analyze_many((p.text for p in pending), batch_size=batch_size)
    for item in batch:
        if isinstance(item, LineError):
            yield item
            continue
        output = dict(item.passthrough)
        output.update(_contract(next(results), item.text))
        yield TaggedLine(item.line, output)
