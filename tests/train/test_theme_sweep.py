"""The sweep's other-encoder option: embeddings come back unit-length, in input order, and
unchanged by padding."""

from __future__ import annotations

import numpy as np

from nlp_pipeline.train.theme_sweep import mean_pooled_embeddings
from tests.train.test_sentiment import _minilm


def test_mean_pooled_embeddings_keep_input_order_and_unit_length() -> None:
    base = _minilm()
    long = "The central bank raised its policy rate by half a point to cool persistent inflation."
    short = "Chip stocks fell."
    forward = mean_pooled_embeddings(base, [long, short], batch=1)
    backward = mean_pooled_embeddings(base, [short, long], batch=1)
    np.testing.assert_allclose(np.linalg.norm(forward, axis=1), 1.0, atol=1e-5)
    # rows are embedded shortest first; each must land back on its own sentence
    np.testing.assert_allclose(forward[0], backward[1], atol=1e-5)
    np.testing.assert_allclose(forward[1], backward[0], atol=1e-5)
    assert float(forward[0] @ forward[1]) < 0.9  # two different sentences, two different rows
    # in one padded batch the short sentence's padding must not enter its mean
    together = mean_pooled_embeddings(base, [long, short], batch=2)
    np.testing.assert_allclose(together, forward, atol=1e-4)
