"""Quality gate: the team evaluation must not fall below the floors pinned in the repo."""

from __future__ import annotations

import json

from nlp_pipeline.eval_entities import evaluate
from tests.conftest import REPO, SHARED_DATA, shared_data


def test_team_set_meets_pinned_floors() -> None:
    shared_data("reuters_2012_2013", "reuters_sample.jsonl")
    shared_data("fnspid_nasdaq", "news_contents_aapl.csv")
    shared_data("tfns", "sent_valid.csv")
    floors = json.loads((REPO / "models" / "entities" / "quality_floors.json").read_text())
    result = evaluate("team", REPO / "models")
    assert result["sentences"] >= 200, SHARED_DATA
    below = []
    for group in ("tagged_tickers", "indices_policies_orgs"):
        for metric, floor in floors[group].items():
            if result[group][metric] < floor:
                below.append(f"{group}.{metric} {result[group][metric]} < {floor}")
    for etype, metrics in floors["per_type"].items():
        for metric, floor in metrics.items():
            if result["per_type"][etype][metric] < floor:
                below.append(f"{etype}.{metric} {result['per_type'][etype][metric]} < {floor}")
    assert not below, below
