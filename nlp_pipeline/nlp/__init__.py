"""NLP stage: spaCy pipeline, entity rules and linking, sentiment, themes. Knows no store."""

from nlp_pipeline.nlp.analyzer import Analyzer, default_models_dir
from nlp_pipeline.nlp.contract import to_contract

__all__ = ["Analyzer", "default_models_dir", "to_contract"]
