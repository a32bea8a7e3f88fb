"""Financial news NLP analyzer: feeds in; entities, sentiment and narratives out, in DuckDB.

The Python API the CLI is built on:

    from nlp_pipeline import Analyzer, Store, load_config, runner
    analyzer = Analyzer()
    analyzer.tag("Comfort Systems USA (NYSE: FIX) raised its guidance.")
    with Store("news.duckdb") as store:
        runner.run(load_config("feeds.yaml"), store, analyzer, ["demo"])
        store.theme_trends("FIX", freq="W")
"""

__version__ = "0.1.0"

from nlp_pipeline import runner
from nlp_pipeline.config import Config, FeedConfig, load_config
from nlp_pipeline.nlp import Analyzer, to_contract
from nlp_pipeline.store import Store

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
