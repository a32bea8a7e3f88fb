"""'Did you mean ...?' for unknown ids and names (themes, tickers, feeds, commands)."""

from __future__ import annotations

import difflib
from collections.abc import Iterable


def close_matches(word: str, candidates: Iterable[str], limit: int = 3) -> list[str]:
    """The candidates closest to `word`, best first, ignoring case; [] when none is close."""
    by_folded: dict[str, str] = {}
    for candidate in candidates:
        by_folded.setdefault(candidate.casefold(), candidate)
    folded = word.casefold()
    if folded in by_folded:
        return [by_folded[folded]]
    matches = difflib.get_close_matches(folded, list(by_folded), n=limit, cutoff=0.6)
    # Also a candidate that contains the word, or that the word contains ("small_cap" ->
    # "small_cap_rotation"), which difflib's ratio can miss for short words.
    if len(folded) >= 3:
        for key in sorted(by_folded):
            if len(matches) >= limit:
                break
            if key not in matches and (folded in key or key in folded):
                matches.append(key)
    return [by_folded[m] for m in matches[:limit]]


def did_you_mean(word: str, candidates: Iterable[str], limit: int = 3) -> str:
    """' (did you mean 'a' or 'b'?)' or '' when nothing is close, ready to append to a message."""
    return suggestion_text([repr(m) for m in close_matches(word, candidates, limit)])


def suggestion_text(shown: list[str]) -> str:
    """' (did you mean a, b or c?)' for suggestions already formatted; '' for none."""
    if not shown:
        return ""
    listed = shown[0] if len(shown) == 1 else ", ".join(shown[:-1]) + " or " + shown[-1]
    return f" (did you mean {listed}?)"
