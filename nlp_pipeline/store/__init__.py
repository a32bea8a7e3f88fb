"""The embedded DuckDB store. Knows records, not NLP internals."""

from nlp_pipeline.store.store import Store, analysis_document

__all__ = ["Store", "analysis_document"]
