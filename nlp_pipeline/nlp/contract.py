"""The one function that turns an `AnalysisResult` into the JSON contract of DESIGN.md 3.1.

The CLI (`tag`), the store's exports and the tests all go through `to_contract`.
"""

from __future__ import annotations

from typing import Any

from nlp_pipeline.records import AnalysisResult, Sentiment


def sentiment_json(sentiment: Sentiment) -> dict[str, Any]:
    return {
        "label": sentiment.label,
        "score": round(sentiment.score, 4),
        "probs": {
            "positive": sentiment.positive,
            "neutral": sentiment.neutral,
            "negative": sentiment.negative,
        },
    }


def to_contract(result: AnalysisResult) -> dict[str, Any]:
    return {
        "sentiment": sentiment_json(result.sentiment),
        "entities": [
            {
                "type": e.type,
                "id": e.id,
                "name": e.name or None,
                "exchange": e.exchange,
                "mentions": e.mentions,
                "relevance": e.relevance,
                "sentiment": e.sentiment,
                "spans": [[start, end] for start, end in e.spans],
            }
            for e in result.entities
        ],
        "themes": [
            {"id": t.id, "score": t.score, "sentiment": t.sentiment, "evidence": list(t.evidence)}
            for t in result.themes
        ],
        "rotations": [
            {
                "from": r.source,
                "to": r.target,
                "score": r.score,
                "sentiment": r.sentiment,
                "evidence": list(r.evidence),
            }
            for r in result.rotations
        ],
        "sentences": [
            {
                "start": s.start,
                "end": s.end,
                "text": s.text,
                "sentiment": sentiment_json(s.sentiment),
                "themes": list(s.themes),
            }
            for s in result.sentences
        ],
    }
