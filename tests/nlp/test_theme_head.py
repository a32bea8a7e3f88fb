"""The embedding theme head (nlp_pipeline/nlp/theme_head.py): numpy pieces on synthetic data, and
the shipped head with a user theme on the real encoder (skipped when the encoder is absent)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from nlp_pipeline.errors import ConfigError
from nlp_pipeline.nlp.encoder import EncodedSentences, SentenceEncoder
from nlp_pipeline.nlp.theme_head import (
    EmbeddingThemeHead,
    NeighbourMemory,
    NgramVectorizer,
    TrainedHead,
    apply_pair_heads,
    file_sha1,
    fit_logistic,
    ngram_terms,
    sigmoid,
)
from nlp_pipeline.nlp.themes import load_taxonomy
from tests.conftest import CORE_THEME_IDS, REPO

MODELS = REPO / "models"
ENCODER = MODELS / "sentiment"


def test_fit_logistic_separates_two_clusters() -> None:
    rng = np.random.default_rng(0)
    x = np.vstack([rng.normal(1.0, 0.3, (40, 3)), rng.normal(-1.0, 0.3, (40, 3))])
    y = np.concatenate([np.ones(40), np.zeros(40)])
    coef, intercept = fit_logistic(x, y, np.ones(80), l2=0.1)
    probs = sigmoid(x @ coef + intercept)
    assert (probs[:40] > 0.9).all() and (probs[40:] < 0.1).all()
    # Weighting the positives up moves the boundary toward the negatives.
    light, light_b = fit_logistic(x, y, np.ones(80), l2=10.0)
    heavy, heavy_b = fit_logistic(x, y, np.where(y > 0, 5.0, 1.0), l2=10.0)
    origin = np.zeros(3)
    assert sigmoid(origin @ heavy + heavy_b) > sigmoid(origin @ light + light_b)


def models_folder_with(head: TrainedHead, tmp_path: Path) -> Path:
    """A models folder holding `head` beside a copy of the shipped taxonomy."""
    models = tmp_path / "models"
    (models / "themes").mkdir(parents=True)
    (models / "themes" / "taxonomy.yaml").write_bytes(
        (MODELS / "themes" / "taxonomy.yaml").read_bytes()
    )
    head.save(models / "themes")
    return models


def synthetic_head(tmp_path: Path) -> Path:
    """A head over a 4-d 'embedding' where dimension 0 means earnings and 1 means inflation."""
    themes, _ = load_taxonomy([MODELS / "themes" / "taxonomy.yaml"])
    ids = [t.id for t in themes]
    dim = 4
    weights = np.zeros((len(ids), dim + len(ids)), np.float32)
    bias = np.full(len(ids), -5.0, np.float32)
    weights[ids.index("earnings"), 0] = 10.0
    weights[ids.index("inflation"), 1] = 10.0
    head = TrainedHead(
        ids, ids, weights, bias, np.full(len(ids), 0.5, np.float32), np.zeros((3, dim)), {}
    )
    return models_folder_with(head, tmp_path)


def encoded(rows: list[list[float]]) -> EncodedSentences:
    return EncodedSentences(np.zeros((len(rows), 3), np.float32), np.array(rows, np.float32))


def test_saved_head_predicts_from_embeddings_with_thresholds(tmp_path: Path) -> None:
    models = synthetic_head(tmp_path)
    head = EmbeddingThemeHead.from_models_dir(models, check_encoder=False)
    assert head.theme_ids == CORE_THEME_IDS
    out = head.predict(
        ["a", "b", "c", "d"],
        encoded([[1, 0, 0, 0], [0, 1, 0, 0], [1, 1, 0, 0], [0.4, 0, 0, 0]]),
    )
    assert set(out[0]) == {"earnings"} and out[0]["earnings"] == pytest.approx(0.9933, abs=1e-3)
    assert set(out[1]) == {"inflation"}
    assert set(out[2]) == {"earnings", "inflation"}
    assert out[3] == {}  # sigmoid(10 * 0.4 - 5) = 0.27 < 0.5
    assert head.predict([], encoded([])) == []
    with pytest.raises(ValueError):
        head.predict(["one"], encoded([]))


def test_ngram_terms_are_lowercased_words_and_adjacent_pairs() -> None:
    assert ngram_terms("The Fed's rate-cut, a cut!") == [
        "the", "fed", "rate", "cut", "cut", "the fed", "fed rate", "rate cut", "cut cut",
    ]  # fmt: skip


def test_ngram_vectorizer_weights_rare_terms_up_and_scales_rows() -> None:
    vectorizer = NgramVectorizer.fit(["rate cut", "rate hike", "rate cut"], min_df=2, scale=2.0)
    # "hike" and "rate hike" occur once: below min_df, out of the vocabulary
    assert vectorizer.vocabulary == {"cut": 0, "rate": 1, "rate cut": 2}
    idf_cut = np.log(4 / 3) + 1  # smoothed: log((1 + n) / (1 + df)) + 1
    assert vectorizer.idf.tolist() == pytest.approx([idf_cut, 1.0, idf_cut])
    (columns, values), (hike_columns, hike_values), (empty, _) = vectorizer.rows(
        ["Rate cut", "rate hike", ""]
    )
    assert columns.tolist() == [1, 0, 2]  # in order of first appearance
    norm = np.sqrt(2 * idf_cut**2 + 1)
    assert values.tolist() == pytest.approx([2 / norm, 2 * idf_cut / norm, 2 * idf_cut / norm])
    assert hike_columns.tolist() == [1] and hike_values.tolist() == pytest.approx([2.0])
    assert len(empty) == 0
    # a repeated term counts 1 + log(tf), not tf
    ((_, repeated),) = vectorizer.rows(["cut cut"])
    assert repeated.tolist() == pytest.approx([2.0])  # one term: unit length before scaling
    weights = np.array([[1.0, 0.0, 0.0], [0.0, 0.0, 3.0]], np.float32)  # themes x terms
    logits = vectorizer.logits(["rate cut", "nothing known"], weights)
    assert logits[0].tolist() == pytest.approx([2 * idf_cut / norm, 6 * idf_cut / norm])
    assert logits[1].tolist() == [0.0, 0.0]


def test_head_with_ngrams_round_trips_and_reads_the_words(tmp_path: Path) -> None:
    """A head whose only evidence for monetary_tightening is the n-gram "rate hike"."""
    themes, _ = load_taxonomy([MODELS / "themes" / "taxonomy.yaml"])
    ids = [t.id for t in themes]
    dim = 4
    vectorizer = NgramVectorizer({"rate": 0, "rate hike": 1}, np.ones(2, np.float32), 1.0)
    weights = np.zeros((len(ids), dim + len(ids) + 2), np.float32)
    weights[ids.index("monetary_tightening"), -1] = 20.0
    bias = np.full(len(ids), -5.0, np.float32)
    head = TrainedHead(
        ids,
        ids,
        weights,
        bias,
        np.full(len(ids), 0.5, np.float32),
        np.zeros((3, dim)),
        {},
        vectorizer,
    )
    models = models_folder_with(head, tmp_path)
    loaded = TrainedHead.load(models / "themes")
    assert loaded.ngrams is not None and loaded.ngrams.vocabulary == vectorizer.vocabulary
    assert loaded.ngrams.scale == 1.0
    tagger = EmbeddingThemeHead.from_models_dir(models, check_encoder=False)
    # "rate hike" has unit-length TF-IDF entries 1/sqrt(2) each: logit 20 / sqrt(2) - 5 > 0
    out = tagger.predict(["A rate hike", "A rate decision"], encoded([[0, 0, 0, 0]] * 2))
    assert set(out[0]) == {"monetary_tightening"}
    assert out[1] == {}
    # a vocabulary that does not match the weights' columns is refused on load
    loaded.ngrams.vocabulary["extra term"] = 2
    loaded.ngrams.idf = np.ones(3, np.float32)
    loaded.save(models / "themes")
    with pytest.raises(ConfigError, match="n-grams 3"):
        TrainedHead.load(models / "themes")


def memory_of_three(k: int, blend: float = 0.5) -> NeighbourMemory:
    """Rows along dimensions 0, 1 and 2 of a 3-d embedding, labeled for two themes."""
    labels = np.array([[1, 0], [0, 1], [1, 1]], np.uint8)
    known = np.array([[1, 1], [1, 1], [0, 1]], np.uint8)  # row 2's first label is unknown
    return NeighbourMemory(
        np.eye(3, dtype=np.float16), labels, known, np.array([1.0, 2.0, 1.0]), k, 0.1, blend
    )


def test_neighbour_votes_weigh_similarity_and_skip_unknown_labels() -> None:
    one = memory_of_three(k=1)
    # the nearest row alone votes
    assert one.votes(np.array([[1, 0, 0], [0, 1, 0]], np.float32)).tolist() == [[1, 0], [0, 1]]
    # excluded rows do not vote: the nearest remaining one does
    exclude = np.array([[True, False, False]])
    assert one.votes(np.array([[1, 0.5, 0]], np.float32), exclude).tolist() == [[0, 1]]
    # two neighbours, similarities 1.0 (row 0, weight 1) and 0.5 (row 1, weight 2):
    # weights exp(0) * 1 and exp(-0.5 / 0.1) * 2
    two = memory_of_three(k=2)
    w0, w1 = 1.0, 2.0 * np.exp(-5.0)
    vote = two.votes(np.array([[1, 0.5, 0]], np.float32))[0]
    assert vote.tolist() == pytest.approx([w0 / (w0 + w1), w1 / (w0 + w1)], rel=1e-4)
    # row 2 votes only for the theme whose label it knows; no known label: 0
    vote = memory_of_three(k=1).votes(np.array([[0, 0, 1]], np.float32))[0]
    assert vote.tolist() == [0.0, 1.0]
    # blended probability = (1 - blend) * head + blend * vote
    blended = two.blended(np.array([[0.2, 0.2]]), np.array([[0, 1, 0]], np.float32))
    assert blended[0].tolist() == pytest.approx([0.1, 0.6], abs=1e-3)


def test_head_with_a_memory_round_trips_and_votes(tmp_path: Path) -> None:
    """A head whose regressions never fire (bias -10) tags a sentence by its neighbours alone."""
    themes, _ = load_taxonomy([MODELS / "themes" / "taxonomy.yaml"])
    ids = [t.id for t in themes]
    dim = 4
    labels = np.zeros((2, len(ids)), np.uint8)
    labels[0, ids.index("inflation")] = 1
    labels[1, ids.index("real_estate")] = 1
    memory = NeighbourMemory(
        np.eye(dim, dtype=np.float16)[:2], labels, np.ones_like(labels), np.ones(2), 1, 0.1, 0.6
    )
    head = TrainedHead(
        ids,
        ids,
        np.zeros((len(ids), dim + len(ids)), np.float32),
        np.full(len(ids), -10.0, np.float32),
        np.full(len(ids), 0.5, np.float32),
        np.zeros((3, dim)),
        {},
        memory=memory,
    )
    models = models_folder_with(head, tmp_path)
    loaded = TrainedHead.load(models / "themes")
    assert loaded.memory is not None and loaded.memory.k == 1 and loaded.memory.blend == 0.6
    assert loaded.kind == "embedding-3" and loaded.digest == head.digest
    tagger = EmbeddingThemeHead.from_models_dir(models, check_encoder=False)
    assert tagger.version.startswith("embedding-3+")
    out = tagger.predict(["a", "b"], encoded([[0.9, 0.1, 0, 0], [0.1, 0.9, 0, 0]]))
    assert set(out[0]) == {"inflation"} and set(out[1]) == {"real_estate"}
    assert out[0]["inflation"] == pytest.approx(0.6, abs=1e-3)  # 0.4 * sigmoid(-10) + 0.6 * 1
    # a memory whose labels do not cover every theme is refused on load
    loaded.memory.labels = loaded.memory.labels[:, :3]
    loaded.memory.known = loaded.memory.known[:, :3]
    loaded.save(models / "themes")
    with pytest.raises(ConfigError, match="neighbour memory"):
        TrainedHead.load(models / "themes")


def test_user_theme_with_cues_only_needs_no_encoder(tmp_path: Path) -> None:
    models = synthetic_head(tmp_path)
    user = tmp_path / "mine.yaml"
    user.write_text(
        "themes:\n  - id: quantum_computing\n    keywords: ['qubits?', 'quantum comput\\w+']\n"
    )
    plain = EmbeddingThemeHead.from_models_dir(models, check_encoder=False)
    head = EmbeddingThemeHead.from_models_dir(models, [user], check_encoder=False)
    assert head.theme_ids[-1] == "quantum_computing"
    assert head.version != plain.version
    out = head.predict(
        ["A chip with 1,000 qubits.", "Profits rose."], encoded([[0, 0, 0, 0], [1, 0, 0, 0]])
    )
    assert out[0] == {"quantum_computing": 0.75}
    assert set(out[1]) == {"earnings"}


def test_user_theme_with_a_core_id_replaces_the_trained_head(tmp_path: Path) -> None:
    models = synthetic_head(tmp_path)
    user = tmp_path / "mine.yaml"
    user.write_text("themes:\n  - id: earnings\n    keywords: ['profit bonanza']\n")
    head = EmbeddingThemeHead.from_models_dir(models, [user], check_encoder=False)
    assert head.theme_ids.count("earnings") == 1
    out = head.predict(
        ["Profits rose.", "A profit bonanza."], encoded([[1, 0, 0, 0], [0, 0, 0, 0]])
    )
    assert out == [{}, {"earnings": 0.75}]


def test_missing_head_and_foreign_encoder_are_clear_errors(tmp_path: Path) -> None:
    models = synthetic_head(tmp_path)
    (models / "themes" / "head.npz").rename(models / "themes" / "head.saved.npz")
    with pytest.raises(ConfigError, match="train themes"):
        EmbeddingThemeHead.from_models_dir(models)
    (models / "themes" / "head.saved.npz").rename(models / "themes" / "head.npz")
    head = TrainedHead.load(models / "themes")
    head.meta = {"encoder": {"sha1": "0" * 40}}
    head.save(models / "themes")
    encoder = models / "sentiment"
    encoder.mkdir()
    (encoder / "model.onnx").write_bytes(b"another model")
    with pytest.raises(ConfigError, match="trained on another encoder"):
        EmbeddingThemeHead.from_models_dir(models)


def shipped_encoder() -> Path:
    if not (ENCODER / "model.onnx").is_file():
        pytest.skip(f"no sentence encoder in {ENCODER}")
    if not (MODELS / "themes" / "head.npz").is_file():
        pytest.skip("no trained theme head in models/themes")
    return ENCODER


# A user narrative the core taxonomy lacks: labour strikes. Eight examples define it; the
# held-out sentences below (positives and confusable negatives) were written for this test.
STRIKE_THEME = """\
themes:
  - id: labor_strikes
    name: Labor strikes
    description: workers striking or threatening to strike, union walkouts and labor disputes
    examples:
      - Dockworkers at East Coast ports walked off the job after contract talks collapsed.
      - The autoworkers union expanded its strike to two more assembly plants.
      - Nurses at three hospitals voted to authorize a strike over staffing levels.
      - Flight attendants picketed outside the airline's headquarters demanding higher pay.
      - The walkout by machinists has halted production of the company's jets for a month.
      - Rail unions threatened a nationwide strike that could snarl freight traffic.
      - Teachers in the district went on strike for the first time in 30 years.
      - Factory workers staged a walkout to protest the plan to close the plant.
"""
STRIKE_HELD_OUT = [
    "Thousands of hotel workers went on strike in Las Vegas over wages.",
    "The union said its members would stay off the job until a new contract is signed.",
    "Actors joined writers on the picket lines, shutting down film production.",
    "A strike at the copper mine has cut output by a third.",
    "Warehouse workers at the retailer walked out during the holiday rush.",
    "Port workers in Antwerp held a 24-hour strike against pension changes.",
    "The pilots' union voted overwhelmingly to authorize a strike.",
    "The carmaker lost an estimated $1.5 billion of production to the six-week strike.",
    "Refinery workers walked off the job, disrupting fuel supplies.",
    "Union leaders rejected the latest offer and extended the walkout.",
    "Bus drivers in the city went on strike, stranding commuters.",
    "A threatened strike by postal workers was averted at the last minute.",
]
NOT_STRIKES = [
    "Employers added 180,000 jobs last month, slightly below expectations.",
    "The unemployment rate held at 4.1% in October.",
    "The company plans to cut 2,000 jobs as part of a restructuring.",
    "Wage growth slowed to 3.8% from a year earlier.",
    "The Fed is expected to hold rates steady next week.",
    "The airline reported record quarterly revenue on strong travel demand.",
    "Oil prices fell as OPEC signaled higher output.",
    "The retailer's shares jumped after it raised its sales forecast.",
    "Home sales rose for a second straight month.",
    "The automaker unveiled a cheaper electric model for next year.",
    "Shipping rates climbed as demand for container freight recovered.",
    "The hospital chain agreed to buy a smaller rival for $2 billion.",
    "Regulators fined the bank for weak anti-money-laundering controls.",
    "The mine's owner raised its copper production guidance.",
    "Tariffs on imported steel went into effect on Monday.",
    "Investors rotated out of tech stocks and into small caps.",
    "Jobless claims fell to their lowest level in three months.",
    "The chipmaker's new factory will employ 3,000 people.",
    "Consumer confidence dropped as worries about layoffs grew.",
    "The pension fund increased its allocation to private equity.",
    "The company hired a new chief executive from a rival.",
    "Factory output rose 0.4% in the month.",
    "Teachers' pension funds are among the largest investors in the stock.",
    "The film studio's box office receipts beat forecasts.",
]


def test_user_theme_from_eight_examples_finds_its_held_out_sentences(tmp_path: Path) -> None:
    encoder_dir = shipped_encoder()
    user = tmp_path / "strikes.yaml"
    user.write_text(STRIKE_THEME, encoding="utf-8")
    head = EmbeddingThemeHead.from_models_dir(MODELS, [user])
    sentences = STRIKE_HELD_OUT + NOT_STRIKES
    out = head.predict(sentences, SentenceEncoder(encoder_dir).encode(sentences))
    predicted = [("labor_strikes" in scores) for scores in out]
    tp = sum(predicted[: len(STRIKE_HELD_OUT)])
    fp = sum(predicted[len(STRIKE_HELD_OUT) :])
    precision = tp / (tp + fp) if tp + fp else 0.0
    recall = tp / len(STRIKE_HELD_OUT)
    f1 = 2 * precision * recall / (precision + recall) if tp else 0.0
    assert f1 >= 0.70, (precision, recall)
    # The core themes still work beside the user theme.
    assert "economic_growth" in out[len(STRIKE_HELD_OUT)]


def test_shipped_head_matches_the_encoder_it_was_trained_on() -> None:
    encoder_dir = shipped_encoder()
    head = TrainedHead.load(MODELS / "themes")
    assert head.meta["encoder"]["sha1"] == file_sha1(encoder_dir / "model.onnx")
    assert head.theme_ids == CORE_THEME_IDS
    assert ((head.thresholds > 0.0) & (head.thresholds < 1.0)).all()


def test_pair_heads_scale_each_side_by_its_share() -> None:
    probs = np.array([[0.8, 0.6, 0.3], [0.8, 0.6, 0.3]])
    # pair (0, 1): row 0 reads mostly theme 1, row 1 is undecided; theme 2 is in no pair
    second_side = np.array([[0.9], [0.5]])
    out = apply_pair_heads(probs, second_side, [(0, 1)])
    np.testing.assert_allclose(out, [[0.08, 0.54, 0.3], [0.4, 0.3, 0.3]])
    assert probs[0, 0] == 0.8  # the input is left as it was


def test_head_with_pair_heads_round_trips_and_tells_the_pair_apart(tmp_path: Path) -> None:
    """Both monetary themes fire on anything monetary (embedding dimension 0); the pair head
    reads dimension 1 for which way the rate goes."""
    themes, _ = load_taxonomy([MODELS / "themes" / "taxonomy.yaml"])
    ids = [t.id for t in themes]
    easing, tightening = ids.index("monetary_easing"), ids.index("monetary_tightening")
    dim = 4
    weights = np.zeros((len(ids), dim + len(ids)), np.float32)
    weights[[easing, tightening], 0] = 12.0
    pair_weights = np.zeros((1, dim + len(ids)), np.float32)
    pair_weights[0, 1] = 12.0  # P(tightening | one of the two)
    head = TrainedHead(
        ids,
        ids,
        weights,
        np.full(len(ids), -6.0, np.float32),
        np.full(len(ids), 0.5, np.float32),
        np.zeros((3, dim)),
        {},
        pairs=[("monetary_easing", "monetary_tightening")],
        pair_weights=pair_weights,
        pair_bias=np.array([-6.0], np.float32),
    )
    models = models_folder_with(head, tmp_path)
    loaded = TrainedHead.load(models / "themes")
    assert loaded.pairs == [("monetary_easing", "monetary_tightening")]
    assert loaded.kind == "embedding-4" and loaded.digest == head.digest
    tagger = EmbeddingThemeHead.from_models_dir(models, check_encoder=False)
    assert tagger.version.startswith("embedding-4+")
    out = tagger.predict(
        ["hike", "cut", "not monetary"], encoded([[1, 1, 0, 0], [1, 0, 0, 0], [0, 1, 0, 0]])
    )
    assert set(out[0]) == {"monetary_tightening"}
    assert set(out[1]) == {"monetary_easing"}
    assert out[2] == {}
    # sigmoid(6) * sigmoid(6): the theme's probability times its side's
    assert out[0]["monetary_tightening"] == pytest.approx(float(sigmoid(np.array(6.0))) ** 2, 1e-3)
    # pair arrays that do not match the features are refused on load
    loaded.pair_weights = pair_weights[:, :3]
    loaded.save(models / "themes")
    with pytest.raises(ConfigError, match="pair_heads"):
        TrainedHead.load(models / "themes")
