"""Rotation flows: for sentences that describe money moving, the segment it leaves and enters.

`RotationExtractor` is the interface the analyzer calls; `NoRotations` finds none (the default
until the narratives work ships a real extractor).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any, Protocol

from nlp_pipeline.nlp.encoder import EncodedSentences
from nlp_pipeline.nlp.registry import register

# (segment left or None, segment entered, confidence in [0, 1])
Flow = tuple[str | None, str, float]


class RotationExtractor(Protocol):
    version: str

    def extract(self, sentences: Sequence[str], encoded: EncodedSentences) -> list[list[Flow]]:
        """For each sentence, the flows it describes."""
        ...


class NoRotations:
    version = "none"

    def extract(self, sentences: Sequence[str], encoded: EncodedSentences) -> list[list[Flow]]:
        return [[] for _ in sentences]


@register("rotations", "no_rotations")
def _no_rotations(models_dir: Path, options: Mapping[str, Any]) -> NoRotations:
    return NoRotations()
