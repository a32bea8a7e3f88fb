"""docs/ is generated from the code; these tests fail when it drifts."""

from __future__ import annotations

from typing import Any

from nlp_pipeline import reference
from nlp_pipeline.nlp import Analyzer
from nlp_pipeline.tagging import tag_text
from tests.conftest import REPO

TYPES = {
    "string": str,
    "number": (int, float),
    "integer": int,
    "array": list,
    "object": dict,
    "null": type(None),
}


def _paths(value: Any, prefix: str = "") -> dict[str, set[type]]:
    """Every key path in a JSON value ('entities[].id') and the types found there."""
    found: dict[str, set[type]] = {}
    if isinstance(value, dict):
        for key, item in value.items():
            path = f"{prefix}.{key}" if prefix else key
            found.setdefault(path, set()).add(type(item))
            for sub, types in _paths(item, path).items():
                found.setdefault(sub, set()).update(types)
    elif isinstance(value, list):
        for item in value:
            if isinstance(item, dict):
                for sub, types in _paths(item, f"{prefix}[]").items():
                    found.setdefault(sub, set()).update(types)
    return found


def test_docs_are_up_to_date() -> None:
    for name, render in reference.DOCUMENTS.items():
        on_disk = (REPO / "docs" / name).read_text(encoding="utf-8")
        assert on_disk == render(), f"docs/{name} is stale: python -m nlp_pipeline.reference docs"
    assert reference.main([str(REPO / "docs"), "--check"]) == 0


def test_contract_fields_are_exactly_what_tag_produces(analyzer: Analyzer) -> None:
    text = (
        "Shares of Comfort Systems USA (NYSE: FIX) fell 9% after project delays; small caps "
        "lagged.\nThe Fed cut rates and the Russell 2000 rallied. Investors rotated out of "
        "megacap tech and into small caps. " + "calm " * 40_000
    )
    output = tag_text(analyzer, text)  # long enough to carry the optional `truncated` note
    assert output["entities"] and output["themes"] and output["sentences"]
    assert output["rotations"]
    produced = _paths(output)
    documented = {f.path: f.type for f in (*reference.CONTRACT_FIELDS, *reference.OPTIONAL_FIELDS)}
    assert set(produced) == set(documented)
    for path, types in produced.items():
        allowed = tuple(t for name in documented[path].split("|") for t in _flatten(TYPES[name]))
        assert all(issubclass(t, allowed) for t in types), (path, types, documented[path])


def _flatten(types: type | tuple[type, ...]) -> tuple[type, ...]:
    return types if isinstance(types, tuple) else (types,)


def test_schema_doc_lists_every_table_and_column() -> None:
    text = (REPO / "docs" / "store-schema.md").read_text(encoding="utf-8")
    for table, columns in reference.schema_tables():
        assert f"## `{table}`" in text
        for column, data_type, _, _ in columns:
            assert f"| `{column}` | {data_type} |" in text
    assert "| `article_id` | VARCHAR | no | sha1 of the canonical URL, 16 hex chars |" in text
