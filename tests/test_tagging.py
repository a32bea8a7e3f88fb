from __future__ import annotations

import io
import json

import pytest

from nlp_pipeline.errors import InputError
from nlp_pipeline.nlp import Analyzer
from nlp_pipeline.nlp.contract import to_contract
from nlp_pipeline.tagging import (
    LineError,
    TaggedLine,
    binary_reason,
    read_lines,
    read_text,
    tag_jsonl,
    tag_text,
)


def test_tag_jsonl_batches_keep_input_order_and_match_single_analysis(analyzer: Analyzer) -> None:
    texts = [
        "Nvidia (NASDAQ: NVDA) rallied.",
        "The Fed cut rates.",
        "Shares of Comfort Systems USA (NYSE: FIX) fell.",
        "",
        "Small caps outpaced the Russell 1000.",
    ]
    lines = [json.dumps({"id": i, "text": t}) for i, t in enumerate(texts)]
    lines.insert(2, '{"id": "bad"}')
    lines.insert(4, "   ")
    results = list(tag_jsonl(analyzer, lines, batch_size=2))
    assert [type(r) for r in results] == [TaggedLine, TaggedLine, LineError, *[TaggedLine] * 3]
    error = results[2]
    assert isinstance(error, LineError) and error.line == 3
    assert str(error) == "line 3: no 'text' field (fields: id)"
    tagged = [r for r in results if isinstance(r, TaggedLine)]
    assert [t.output["id"] for t in tagged] == [0, 1, 2, 3, 4]
    assert [t.line for t in tagged] == [1, 2, 4, 6, 7]
    for t, text in zip(tagged, texts, strict=True):
        expected = to_contract(analyzer.analyze(text))
        assert {k: v for k, v in t.output.items() if k != "id"} == expected


def test_tag_jsonl_is_lazy(analyzer: Analyzer) -> None:
    """The input is consumed a batch at a time, not read whole before the first answer."""
    consumed = 0

    def lines() -> object:
        nonlocal consumed
        for i in range(1000):
            consumed += 1
            yield json.dumps({"text": f"line {i}"})

    first = next(tag_jsonl(analyzer, lines(), batch_size=4))  # type: ignore[arg-type]
    assert isinstance(first, TaggedLine) and consumed == 4


def test_contract_keys_in_input_do_not_override_the_analysis(analyzer: Analyzer) -> None:
    line = json.dumps({"text": "The Fed cut rates.", "sentiment": "mine", "entities": 3})
    (result,) = list(tag_jsonl(analyzer, [line]))
    assert isinstance(result, TaggedLine)
    assert result.output["sentiment"]["label"] in ("positive", "neutral", "negative")
    assert result.output["entities"][0]["id"] == "FED"


@pytest.mark.parametrize(
    ("line", "message"),
    [
        (
            "{broken",
            "not valid JSON (Expecting property name enclosed in double quotes at column 2)",
        ),
        ("null", "expected a JSON object with a 'text' field, got null"),
        ('"just a string"', "expected a JSON object with a 'text' field, got a string"),
        ("42", "expected a JSON object with a 'text' field, got int"),
        ('{"text": null}', "'text' must be a string, got NoneType"),
        ('{"text": ["a"]}', "'text' must be a string, got list"),
        ("{}", "no 'text' field (fields: none)"),
    ],
)
def test_bad_lines_are_named(analyzer: Analyzer, line: str, message: str) -> None:
    (result,) = list(tag_jsonl(analyzer, [line]))
    assert result == LineError(1, message)


def test_tag_text_notes_what_was_cut(analyzer: Analyzer) -> None:
    short = tag_text(analyzer, "The Fed cut rates.")
    assert "truncated" not in short
    long = tag_text(analyzer, "x " * 100_001)
    assert long["truncated"]["chars"] == 200_002
    assert long["truncated"]["analyzed_chars"] == 200_000


def test_read_text_accepts_text_and_refuses_binary() -> None:
    assert read_text(b"\xef\xbb\xbfplain", "f") == "plain"
    assert read_text("Nvidia (NASDAQ: NVDA)".encode("utf-16"), "f") == "Nvidia (NASDAQ: NVDA)"
    # A few undecodable bytes in text are kept as U+FFFD, not refused.
    assert read_text(b"caf\xe9 au lait, Nvidia rallied", "f") == "caf\ufffd au lait, Nvidia rallied"
    with pytest.raises(InputError, match=r"^f: a PNG image, not text; tag reads text$"):
        read_text(b"\x89PNG\r\n\x1a\n" + b"\x00" * 20, "f")
    with pytest.raises(InputError, match="is more than tag reads"):
        read_text(b"a" * (64 * 1024 * 1024 + 1), "f")
    assert binary_reason(b"Ordinary text.\n\tIndented\r\n") is None


def test_read_lines_streams_and_refuses_binary() -> None:
    data = b'{"text": "a"}\n{"text": "b"}\r\n' + b'{"text": "c"}\n' * 20_000 + b'{"text": "end"}'
    lines = list(read_lines(io.BytesIO(data), "s"))
    assert lines[:2] == ['{"text": "a"}', '{"text": "b"}\r'] and lines[-1] == '{"text": "end"}'
    assert len(lines) == 20_003
    with pytest.raises(InputError, match=r"^s: binary data \(NUL byte at offset 3\)"):
        list(read_lines(io.BytesIO(b"abc\x00def\n"), "s"))
