"""Financial news NLP analyzer: feeds in; entities, sentiment and narratives out, in DuckDB.

The Python API the CLI is built on:

    from nlp_pipeline import Analyzer, Store, load_config, runner
    analyzer = Analyzer()
    analyzer.tag("Comfort Systems USA (NYSE: FIX) raised its guidance.")
    with Store("news.duckdb") as store:
        runner.run(load_config("feeds.yaml"), store, analyzer, ["demo"])
        store.theme_trends("FIX", freq="W")

The names below are imported on first use, so that `import nlp_pipeline` (and the CLI's
`--help`) does not load spaCy, pandas or DuckDB.
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

# public name -> (module, attribute or None for the module itself)
_LAZY: dict[str, tuple[str, str | None]] = {
    "runner": ("nlp_pipeline.runner", None),
    "Config": ("nlp_pipeline.config", "Config"),
    "FeedConfig": ("nlp_pipeline.config", "FeedConfig"),
    "load_config": ("nlp_pipeline.config", "load_config"),
    "Analyzer": ("nlp_pipeline.nlp.analyzer", "Analyzer"),
    "to_contract": ("nlp_pipeline.nlp.contract", "to_contract"),
    "Store": ("nlp_pipeline.store.store", "Store"),
}


def __getattr__(name: str) -> Any:
    if name not in _LAZY:
        raise AttributeError(f"module 'nlp_pipeline' has no attribute {name!r}")
    module_name, attribute = _LAZY[name]
    module = importlib.import_module(module_name)
    value = module if attribute is None else getattr(module, attribute)
    globals()[name] = value
    return value


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
