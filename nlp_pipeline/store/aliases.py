"""Entity aliases kept in the store: learned from the corpus or added by users.

A learned alias is a company name written right before its own ticker tag ("Acme Widgets
(NASDAQ: ACMW)"); it then links "Acme Widgets" in later articles that give no tag. Users list,
add and remove aliases with `nlp-pipeline aliases`; a removed alias stays as a disabled row so
the corpus does not teach it again.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import UTC, datetime

import pandas as pd

from nlp_pipeline.errors import StoreError
from nlp_pipeline.store.store import Store

ALIAS_SOURCES = ("learned", "user")


def active_aliases(store: Store, entity_type: str = "TICKER") -> list[tuple[str, str]]:
    """(alias, entity id) pairs to link, learned and user-added, not removed."""
    frame = store.query(
        "SELECT alias, entity_id FROM entity_aliases WHERE entity_type = ? AND NOT disabled "
        "ORDER BY alias, entity_id",
        [entity_type],
    )
    return [(str(a), str(i)) for a, i in frame.itertuples(index=False)]


def list_aliases(store: Store, include_removed: bool = False) -> pd.DataFrame:
    where = "" if include_removed else "WHERE NOT disabled"
    return store.query(
        "SELECT alias, entity_type, entity_id, source, seen, first_seen, last_seen, disabled "
        f"FROM entity_aliases {where} ORDER BY entity_id, alias"
    )


def record_aliases(
    store: Store,
    pairs: Iterable[tuple[str, str]],
    source: str = "learned",
    entity_type: str = "TICKER",
) -> int:
    """Insert or count up each (alias, entity id); returns how many were new. A user-added
    alias re-enables a removed one; a learned one never does."""
    if source not in ALIAS_SOURCES:
        raise StoreError(f"alias source must be one of {ALIAS_SOURCES}, not {source!r}")
    now = datetime.now(UTC)
    new = 0
    with store.transaction() as con:
        for alias, entity_id in pairs:
            alias = " ".join(alias.split())
            if not alias or not entity_id:
                raise StoreError(
                    f"an alias needs a name and an entity id, got {alias!r} -> {entity_id!r}"
                )
            row = con.execute(
                "SELECT disabled FROM entity_aliases WHERE alias = ? AND entity_type = ? "
                "AND entity_id = ?",
                [alias, entity_type, entity_id],
            ).fetchone()
            if row is None:
                con.execute(
                    "INSERT INTO entity_aliases (alias, entity_type, entity_id, source, seen, "
                    "first_seen, last_seen) VALUES (?, ?, ?, ?, 1, ?, ?)",
                    [alias, entity_type, entity_id, source, now, now],
                )
                new += 1
                continue
            enable = ", disabled = false, source = 'user'" if source == "user" else ""
            con.execute(
                f"UPDATE entity_aliases SET seen = seen + 1, last_seen = ?{enable} "
                "WHERE alias = ? AND entity_type = ? AND entity_id = ?",
                [now, alias, entity_type, entity_id],
            )
            if source == "user" and row[0]:
                new += 1
    return new


def remove_alias(store: Store, alias: str, entity_id: str | None = None) -> int:
    """Disable `alias` (for one entity id, or all); returns how many rows were disabled.
    Removing an alias the store does not hold records it as removed, so it is never learned."""
    alias = " ".join(alias.split())
    with store.transaction() as con:
        params: list[str] = [alias]
        where = "alias = ? AND NOT disabled"
        if entity_id:
            where += " AND entity_id = ?"
            params.append(entity_id)
        count = con.execute(f"SELECT count(*) FROM entity_aliases WHERE {where}", params).fetchone()
        con.execute(f"UPDATE entity_aliases SET disabled = true WHERE {where}", params)
        removed = int(count[0]) if count else 0
        if removed == 0 and entity_id:
            now = datetime.now(UTC)
            con.execute(
                "INSERT INTO entity_aliases (alias, entity_type, entity_id, source, seen, "
                "first_seen, last_seen, disabled) VALUES (?, 'TICKER', ?, 'user', 0, ?, ?, true) "
                "ON CONFLICT DO NOTHING",
                [alias, entity_id, now, now],
            )
    return removed
