"""NLP stage: spaCy pipeline, entity rules and linking, sentiment, themes. Knows no store.

`Analyzer` and friends are imported on first use, so that light modules of this package
(`contract`, `themes`) can be imported without loading spaCy.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from nlp_pipeline.nlp.analyzer import Analyzer, default_models_dir
    from nlp_pipeline.nlp.contract import to_contract

_LAZY = {
    "Analyzer": "nlp_pipeline.nlp.analyzer",
    "default_models_dir": "nlp_pipeline.nlp.analyzer",
    "to_contract": "nlp_pipeline.nlp.contract",
}


def __getattr__(name: str) -> Any:
    if name not in _LAZY:
        raise AttributeError(f"module 'nlp_pipeline.nlp' has no attribute {name!r}")
    value = getattr(importlib.import_module(_LAZY[name]), name)
    globals()[name] = value
    return value


__all__ = ["Analyzer", "default_models_dir", "to_contract"]
