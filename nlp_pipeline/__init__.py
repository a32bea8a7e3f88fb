"""Financial news NLP analyzer: feeds in; entities, sentiment and narratives out, in DuckDB.

The Python API the CLI is built on:

    from nlp_pipeline import Analyzer, Store, load_config, runner
    analyzer = Analyzer()
    analyzer.tag("Comfort Systems USA (NYSE: FIX) raised its guidance.")
    with Store("news.duckdb") as store:
        runner.run(load_config("feeds.yaml"), store, analyzer, ["demo"])
        store.theme_trends("FIX", freq="W")
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

__version__ = "0.1.0"

if TYPE_CHECKING:
    from nlp_pipeline import runner
    from nlp_pipeline.config import Config, FeedConfig, load_config
    from nlp_pipeline.nlp import Analyzer, to_contract
    from nlp_pipeline.store import Store

# Imported on first use, so that answering from the store (`nlp-pipeline trends`) does not pay
# for loading spaCy and the ingest stack.
_LAZY = {
    "runner": "nlp_pipeline.runner",
    "Config": "nlp_pipeline.config",
    "FeedConfig": "nlp_pipeline.config",
    "load_config": "nlp_pipeline.config",
    "Analyzer": "nlp_pipeline.nlp",
    "to_contract": "nlp_pipeline.nlp",
    "Store": "nlp_pipeline.store",
}


def __getattr__(name: str) -> Any:
    if name not in _LAZY:
        raise AttributeError(f"module 'nlp_pipeline' has no attribute {name!r}")
    module = importlib.import_module(_LAZY[name])
    return module if name == "runner" else getattr(module, name)


__all__ = [
    "Analyzer",
    "Config",
    "FeedConfig",
    "Store",
    "__version__",
    "load_config",
    "runner",
    "to_contract",
]
