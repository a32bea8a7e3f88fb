"""Wheel build hook: ship the top-level `models/`, `feeds.yaml` and `examples/demo/` inside the
package as `nlp_pipeline/_data/`, so an installed wheel finds them (`nlp_pipeline.resources`).

Everything under `models/` at build time is copied, whatever it holds (ONNX models, tables,
cards); the folders stay where they are in the repository. Editable installs skip the copy and
read the checkout's own folders. Project metadata lives in pyproject.toml.
"""

from __future__ import annotations

import shutil
from pathlib import Path

from setuptools import setup
from setuptools.command.build_py import build_py

ROOT = Path(__file__).resolve().parent
# source (relative to the repository) -> destination (relative to nlp_pipeline/_data)
SHIPPED = {"models": "models", "feeds.yaml": "feeds.yaml", "examples/demo": "examples/demo"}
SKIPPED = shutil.ignore_patterns("__pycache__", "*.py[cod]", ".DS_Store", ".git*")


class BuildPyWithData(build_py):
    def run(self) -> None:
        super().run()
        if getattr(self, "editable_mode", False):
            return
        target = Path(self.build_lib) / "nlp_pipeline" / "_data"
        for source, destination in SHIPPED.items():
            origin, copy = ROOT / source, target / destination
            if not origin.exists():
                raise FileNotFoundError(f"cannot ship {source}: {origin} is missing")
            if copy.exists():
                shutil.rmtree(copy) if copy.is_dir() else copy.unlink()
            copy.parent.mkdir(parents=True, exist_ok=True)
            if origin.is_dir():
                shutil.copytree(origin, copy, ignore=SKIPPED)
            else:
                shutil.copy2(origin, copy)


setup(cmdclass={"build_py": BuildPyWithData})
