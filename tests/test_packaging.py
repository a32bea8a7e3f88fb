"""The built wheel, installed into a fresh virtual environment, runs the demo from outside the
checkout: models, the starter feeds.yaml and the demo feed ship inside it.

Slow by nature (about a minute: pip installs the run-time dependencies into the new venv from
the configured package index, which is a local mirror here), so it is the only test of its kind.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import zipfile
from pathlib import Path

from tests.conftest import REPO


def _run(cmd: list[str], cwd: Path, env: dict[str, str], timeout: int = 900) -> str:
    done = subprocess.run(cmd, cwd=cwd, env=env, capture_output=True, text=True, timeout=timeout)
    assert done.returncode == 0, f"{' '.join(cmd)} failed ({done.returncode}):\n{done.stderr}"
    return done.stdout


def test_wheel_installs_and_runs_the_demo_outside_the_checkout(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("NLP_PIPELINE_", "PYTHON"))}
    wheels = tmp_path / "wheels"
    _run(
        [sys.executable, "-m", "pip", "wheel", "--no-deps", "-q", "-w", str(wheels), str(REPO)],
        tmp_path,
        env,
    )
    (wheel,) = wheels.glob("nlp_pipeline-*.whl")
    names = set(zipfile.ZipFile(wheel).namelist())
    # Whatever models/ holds at build time ships, however many files others add to it.
    for shipped in (REPO / "models").rglob("*"):
        if shipped.is_file() and "__pycache__" not in shipped.parts:
            relative = shipped.relative_to(REPO).as_posix()
            assert f"nlp_pipeline/_data/{relative}" in names, relative
    assert "nlp_pipeline/_data/feeds.yaml" in names
    assert "nlp_pipeline/_data/examples/demo/feed.xml" in names
    for asset in (REPO / "nlp_pipeline" / "web").iterdir():  # the dashboard's files
        assert f"nlp_pipeline/web/{asset.name}" in names, asset.name

    venv = tmp_path / "venv"
    _run([sys.executable, "-m", "venv", str(venv)], tmp_path, env)
    bin_dir = venv / "bin"
    _run([str(bin_dir / "python"), "-m", "pip", "install", "-q", str(wheel)], tmp_path, env)
    env["PATH"] = f"{bin_dir}{os.pathsep}{env.get('PATH', '')}"

    work = tmp_path / "elsewhere"  # no feeds.yaml, models/ or examples/ here
    work.mkdir()
    where = _run(
        [str(bin_dir / "python"), "-c", "import nlp_pipeline; print(nlp_pipeline.__file__)"],
        work,
        env,
    )
    assert str(venv) in where and str(REPO) not in where

    out = _run(["nlp-pipeline", "run", "--feeds", "demo", "--db", "demo.duckdb", "-q"], work, env)
    assert "51 articles analyzed" in out and "FIX" in out and "small_cap_rotation" in out
    tagged = json.loads(
        _run(["nlp-pipeline", "tag", "--text", "Comfort Systems USA (NYSE: FIX) rose."], work, env)
    )
    assert tagged["entities"][0]["id"] == "FIX"
    # Without the serve extra, `serve` says what to install (and exits 2).
    served = subprocess.run(
        ["nlp-pipeline", "serve", "--db", "demo.duckdb"], cwd=work, env=env, capture_output=True,
        text=True, timeout=60,
    )  # fmt: skip
    assert served.returncode == 2
    assert "pip install 'nlp-pipeline[serve]'" in served.stderr

    # `init` writes a feeds file and the demo feed to edit; runs there use them.
    _run(["nlp-pipeline", "init", "project"], work, env)
    project = work / "project"
    assert (project / "feeds.yaml").is_file() and (project / "examples/demo/feed.xml").is_file()
    _run(["nlp-pipeline", "ingest", "--feeds", "demo", "--db", "p.duckdb", "-q"], project, env)
    sql = "SELECT DISTINCT regexp_replace(url, '/articles/.*', '') AS url FROM articles"
    urls = _run(["nlp-pipeline", "query", sql, "--db", "p.duckdb", "--format", "csv"], project, env)
    assert urls.split() == ["url", (project / "examples/demo").resolve().as_uri()]
