"""What the command line and the HTTP API both say around an answer from the store: which themes
are known, a "did you mean" for an unknown theme or entity, and the theme catalogue as a table.
Kept here so that `nlp_pipeline.cli` and `nlp_pipeline.server` give the same answers."""

from __future__ import annotations

import functools
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from nlp_pipeline.errors import PipelineError

if TYPE_CHECKING:
    import pandas as pd

    from nlp_pipeline.store import Store


class UnknownThemeError(PipelineError):
    """A theme id neither the store nor the taxonomy knows; the message suggests close ids."""


def known_themes(store: Store) -> list[str]:
    """Theme ids the store has seen, plus the core taxonomy's."""
    from nlp_pipeline import resources

    stored = [row[0] for row in store.fetch("SELECT DISTINCT theme_id FROM article_themes")]
    return sorted({*stored, *_core_theme_ids(resources.models_dir() / "themes" / "taxonomy.yaml")})


@functools.cache
def _core_theme_ids(path: Path) -> tuple[str, ...]:
    """The ids of the taxonomy at `path`, read once per process (the server asks per request;
    loading also compiles every theme's cue patterns)."""
    from nlp_pipeline.nlp.themes import load_taxonomy

    try:
        core, _ = load_taxonomy([path])
    except PipelineError:
        return ()
    return tuple(t.id for t in core)


def check_theme(store: Store, theme: str) -> None:
    """Raise `UnknownThemeError` (with close ids and the known ones) for an unknown theme."""
    from nlp_pipeline.suggest import did_you_mean

    known = known_themes(store)
    if theme not in known:
        raise UnknownThemeError(
            f"unknown theme {theme!r}{did_you_mean(theme, known)}; known themes: {', '.join(known)}"
        )


def entity_hint(store: Store, entity: str) -> str:
    """' (did you mean ...?)' for an entity the store has not seen: close stored ids, and the ids
    of stored entities whose name is close ("Comfort Sytems" -> 'FIX' (Comfort Systems USA))."""
    from nlp_pipeline.suggest import close_matches, suggestion_text

    known = store.fetch("SELECT DISTINCT entity_id, name FROM article_entities")
    ids = [str(i) for i, _ in known]
    wanted = entity.split(":")[-1]
    if wanted.upper() in {i.upper() for i in ids}:
        return ""
    names = {str(n): str(i) for i, n in known if n}
    # A name with a space is not an id: short ids inside it ("MS", "O") are no suggestion.
    suggestions = [] if " " in wanted.strip() else [repr(i) for i in close_matches(wanted, ids)]
    for name in close_matches(wanted, names, limit=2):
        shown = f"{names[name]!r} ({name})"
        if repr(names[name]) not in suggestions:
            suggestions.append(shown)
    return suggestion_text(suggestions)


def theme_table(extra: Sequence[Path] = ()) -> pd.DataFrame:
    """Every theme the analyzer knows (the core taxonomy, then `extra` files' additions): id,
    where it comes from, how many examples define it, its name and definition."""
    import pandas as pd

    from nlp_pipeline import resources
    from nlp_pipeline.nlp.themes import theme_catalog

    catalog = theme_catalog(resources.models_dir(), list(extra))
    return pd.DataFrame(
        [
            {
                "id": t["id"],
                "source": t["source"],
                "examples": len(t["examples"]),  # type: ignore[arg-type]
                "name": t["name"],
                "definition": t["definition"],
            }
            for t in catalog
        ],
        columns=["id", "source", "examples", "name", "definition"],
    )
