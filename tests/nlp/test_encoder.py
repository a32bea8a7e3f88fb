"""The shared ONNX sentence encoder (nlp_pipeline/nlp/encoder.py) on the shipped model."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pytest

from nlp_pipeline.errors import ConfigError
from nlp_pipeline.nlp import default_models_dir
from nlp_pipeline.nlp.encoder import SentenceEncoder

MODEL_DIR = default_models_dir() / "sentiment"


@pytest.fixture(scope="module")
def encoder() -> SentenceEncoder:
    return SentenceEncoder(MODEL_DIR, threads=1)


def test_outputs_logits_and_unit_embeddings(encoder: SentenceEncoder) -> None:
    out = encoder.encode(["Stocks rose.", "The Fed held rates steady at its June meeting."])
    assert out.logits.shape == (2, 3)
    assert out.embeddings.shape == (2, encoder.embedding_dim)
    assert np.linalg.norm(out.embeddings, axis=1) == pytest.approx([1.0, 1.0], abs=1e-4)


def test_batching_and_padding_do_not_change_results(encoder: SentenceEncoder) -> None:
    short, long = "Shares fell.", " ".join(["Revenue grew strongly in every region"] * 8) + "."
    fresh = SentenceEncoder(MODEL_DIR, threads=1, batch_size=1)
    alone = fresh.encode([short])
    together = encoder.encode([long, short, long])
    # int8 dynamic quantization scales activations per batch, so padding moves logits by a few
    # hundredths; a masking bug (padding attended to) moves them by whole units.
    assert together.logits[1] == pytest.approx(alone.logits[0], abs=0.15)
    assert float(together.embeddings[1] @ alone.embeddings[0]) > 0.99
    assert together.logits[1].argmax() == alone.logits[0].argmax()


def test_repeated_sentences_are_encoded_once(encoder: SentenceEncoder) -> None:
    before = dict(encoder.stats)
    text = "Boilerplate: this article was produced by our newsroom."
    first = encoder.encode([text, text, "A different sentence about bonds."])
    second = encoder.encode([text])
    assert encoder.stats["encoded"] - before["encoded"] == 2
    assert encoder.stats["cached"] - before["cached"] == 2
    assert np.array_equal(first.logits[0], second.logits[0])
    assert np.array_equal(first.logits[0], first.logits[1])


def test_cache_is_bounded() -> None:
    small = SentenceEncoder(MODEL_DIR, threads=1, cache_size=2)
    out = small.encode(["one.", "two.", "three.", "two."])
    assert len(small._cache) == 2
    assert np.array_equal(out.logits[1], out.logits[3])


def test_empty_input(encoder: SentenceEncoder) -> None:
    out = encoder.encode([])
    assert out.logits.shape == (0, 3) and len(out) == 0


def test_incomplete_model_folder_is_named(tmp_path: Path) -> None:
    shutil.copy(MODEL_DIR / "config.json", tmp_path / "config.json")
    with pytest.raises(ConfigError, match=r"missing .*model\.onnx"):
        SentenceEncoder(tmp_path)


def test_bad_config_is_named(tmp_path: Path) -> None:
    for name in ("model.onnx", "tokenizer.json"):
        (tmp_path / name).symlink_to((MODEL_DIR / name).resolve())  # MODEL_DIR may be relative
    (tmp_path / "config.json").write_text(json.dumps({"version": "x"}))
    with pytest.raises(ConfigError, match="bad encoder config"):
        SentenceEncoder(tmp_path)


def test_session_threads_spin_unless_told_to_sleep() -> None:
    options = SentenceEncoder(MODEL_DIR, threads=2).session.get_session_options()
    assert options.intra_op_num_threads == 2
    assert options.get_session_config_entry("session.intra_op.allow_spinning") == "1"
    sleeping = SentenceEncoder(MODEL_DIR, threads=1, spin=False).session.get_session_options()
    assert sleeping.get_session_config_entry("session.intra_op.allow_spinning") == "0"


def test_a_broken_graph_is_named(tmp_path: Path) -> None:
    for name in ("config.json", "tokenizer.json"):
        shutil.copy(MODEL_DIR / name, tmp_path / name)
    (tmp_path / "model.onnx").write_bytes(b"not an onnx graph")
    with pytest.raises(ConfigError, match=f"cannot load the ONNX model in {tmp_path}"):
        SentenceEncoder(tmp_path)


def test_weights_in_external_files_load_and_are_part_of_the_version(tmp_path: Path) -> None:
    """A model too large for one file (the accurate tier) keeps its weights in
    `model.onnx.data-N` files beside the graph: the encoder reads them, its version covers
    them, and a missing one is named."""
    pytest.importorskip("onnx", reason="splitting needs onnx (the train extra)")
    from nlp_pipeline.train.sentiment import split_weights

    for name in ("model.onnx", "config.json", "tokenizer.json"):
        shutil.copy(MODEL_DIR / name, tmp_path / name)
    files = split_weights(tmp_path / "model.onnx", max_bytes=12 * 1024 * 1024)
    assert len(files) >= 2 and all(f.stat().st_size <= 12 * 1024 * 1024 for f in files)
    assert (tmp_path / "model.onnx").stat().st_size < 1024 * 1024  # the graph without weights

    sentences = ["Operating profit rose to EUR 13.1 mn.", "Shares slid after the profit warning."]
    whole, split = SentenceEncoder(MODEL_DIR, threads=1), SentenceEncoder(tmp_path, threads=1)
    np.testing.assert_array_equal(split.encode(sentences).logits, whole.encode(sentences).logits)

    before = split.version
    with files[-1].open("r+b") as handle:  # one weight byte changed
        byte = handle.read(1)
        handle.seek(0)
        handle.write(bytes([byte[0] ^ 1]))
    assert SentenceEncoder(tmp_path, threads=1).version != before

    files[0].unlink()
    with pytest.raises(ConfigError, match="cannot load the ONNX model"):
        SentenceEncoder(tmp_path)
