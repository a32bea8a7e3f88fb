"""The HTTP API (nlp_pipeline/server.py) over a hand-built store whose answers are known: every
endpoint's values, its match with the CLI's `--format json`, paging, errors, and reads while
another process writes."""

from __future__ import annotations

import hashlib
import io
import json
import threading
import time
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from nlp_pipeline.cli import main
from nlp_pipeline.nlp import Analyzer
from nlp_pipeline.records import RotationFlow
from nlp_pipeline.server import create_app
from nlp_pipeline.store import Store
from tests.store.builders import add, analysis, at
from tests.store.test_concurrency import HOLDER, WRITER, _python

SMALL_UP = "FIX rose as small caps rallied."
SMALL_DOWN = "FIX fell as small caps slid."
CHIPS = "NVDA gained on AI chip demand."


def build_store(path: Path) -> Path:
    """Three stories: FIX and small caps in the weeks of 2026-08-03 (with a syndicated copy)
    and 2026-08-10, NVDA and AI chips in the week of 2026-08-10."""
    with Store(path) as store:
        up = analysis(
            [(SMALL_UP, 0.6, ["small_cap_rotation"]), ("Rates were steady.", 0.0, [])],
            {"TICKER:FIX": ([0], 0.9), "INDEX:RUT": ([0], 0.5)},
        )
        up.rotations = [RotationFlow("MEGA_CAP", "SMALL_CAP", 0.8, 0.6, [0])]
        add(store, "a1", at("2026-08-05"), up)
        add(store, "a2", at("2026-08-06"), up, cluster="a1")  # a copy: same story
        down = analysis([(SMALL_DOWN, -0.4, ["small_cap_rotation"])], {"TICKER:FIX": ([0], 0.8)})
        add(store, "a3", at("2026-08-12"), down)
        chips = analysis([(CHIPS, 0.5, ["ai_infrastructure"])], {"TICKER:NVDA": ([0], 0.9)})
        add(store, "a4", at("2026-08-13"), chips)
    return path


@pytest.fixture(scope="module")
def db(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return build_store(tmp_path_factory.mktemp("serve") / "news.duckdb")


@pytest.fixture(scope="module")
def client(db: Path) -> Iterator[TestClient]:
    with TestClient(create_app(db)) as test_client:
        yield test_client


def cli_json(*argv: str) -> Any:
    out = io.StringIO()
    assert main([*argv, "--format", "json"], out=out) == 0
    return json.loads(out.getvalue())


def test_trends_give_the_known_answer_and_the_cli_json(client: TestClient, db: Path) -> None:
    response = client.get("/trends", params={"entity": "FIX"})
    assert response.status_code == 200
    rows = response.json()
    assert [(r["period"], r["theme"], r["stories"], r["sentiment"], r["change"]) for r in rows] == [
        ("2026-08-03", "small_cap_rotation", 1, 0.6, None),  # the copy counts once
        ("2026-08-10", "small_cap_rotation", 1, -0.4, 0),
    ]
    assert response.headers["X-Total-Count"] == "2"
    assert rows == cli_json("trends", "--entity", "FIX", "--db", str(db))
    by_entity = client.get("/trends", params={"theme": "small_cap_rotation", "freq": "M"}).json()
    assert [(r["period"], r["entity"], r["stories"]) for r in by_entity] == [
        ("2026-08-01", "FIX", 2),
        ("2026-08-01", "RUT", 1),
    ]
    assert by_entity == cli_json(
        "trends", "--theme", "small_cap_rotation", "--freq", "M", "--db", str(db)
    )


def test_an_unknown_entity_answers_empty_with_a_suggestion(client: TestClient) -> None:
    response = client.get("/trends", params={"entity": "FIXX"})
    assert response.status_code == 200 and response.json() == []
    assert response.headers["X-Note"] == "no stories mention FIXX (did you mean 'FIX'?)"


def test_top_comentions_and_rotations_match_the_cli(client: TestClient, db: Path) -> None:
    top = client.get("/top", params={"kind": "tickers", "min_stories": 1}).json()
    assert {r["entity"]: r["stories"] for r in top} == {"FIX": 2, "NVDA": 1}  # 4 weeks to 08-13
    assert top == cli_json("top", "tickers", "--min-stories", "1", "--db", str(db))
    with_fix = client.get("/comentions", params={"entity": "FIX"}).json()
    assert {(r["kind"], r["id"]): r["stories"] for r in with_fix} == {
        ("entity", "RUT"): 1,
        ("theme", "small_cap_rotation"): 2,
    }
    assert with_fix == cli_json("comentions", "FIX", "--db", str(db))
    flows = client.get("/rotations").json()
    assert flows == [
        {"period": "2026-08-03", "from": "MEGA_CAP", "to": "SMALL_CAP", "stories": 1,
         "score": 0.8, "sentiment": 0.6}
    ]  # fmt: skip
    assert flows == cli_json("trends", "--rotations", "--db", str(db))


def test_articles_page_and_carry_their_evidence(client: TestClient, db: Path) -> None:
    first = client.get("/articles", params={"entity": "FIX", "limit": 2})
    assert [a["article_id"] for a in first.json()] == ["a3", "a2"]  # newest first
    assert first.headers["X-Next-Offset"] == "2"
    rest = client.get("/articles", params={"entity": "FIX", "limit": 2, "offset": 2})
    assert [a["article_id"] for a in rest.json()] == ["a1"] and "X-Next-Offset" not in rest.headers
    assert first.json() + rest.json() == cli_json("articles", "--entity", "FIX", "--db", str(db))
    assert rest.json()[0]["evidence"] == [SMALL_UP]
    # A trends point's articles: the week of 2026-08-03 by story date holds the story's copy
    # published on the 6th, and nothing from the next week.
    point = client.get(
        "/articles",
        params={"entity": "FIX", "theme": "small_cap_rotation", "since": "2026-08-03",
                "until": "2026-08-10", "dated_by": "story"},
    ).json()  # fmt: skip
    assert sorted(a["article_id"] for a in point) == ["a1", "a2"]


def test_one_article_in_full(client: TestClient, db: Path) -> None:
    detail = client.get("/articles/a1").json()
    assert detail["title"] == "Title a1" and detail["near_duplicate"] is False
    assert [(s["index"], s["text"], s["themes"]) for s in detail["sentences"]] == [
        (0, SMALL_UP, ["small_cap_rotation"]),
        (1, "Rates were steady.", []),
    ]
    assert [(e["type"], e["id"], e["relevance"]) for e in detail["entities"]] == [
        ("TICKER", "FIX", 0.9),
        ("INDEX", "RUT", 0.5),
    ]
    assert [(t["id"], t["evidence"]) for t in detail["themes"]] == [("small_cap_rotation", [0])]
    assert detail["rotations"] == [
        {"from": "MEGA_CAP", "to": "SMALL_CAP", "score": 0.8, "sentiment": 0.6, "evidence": [0]}
    ]
    out = io.StringIO()
    assert main(["articles", "--id", "a1", "--db", str(db), "--format", "json"], out=out) == 0
    assert json.loads(out.getvalue()) == detail
    missing = client.get("/articles/nope")
    assert missing.status_code == 404 and "'nope'" in missing.json()["detail"]


def test_entities_search_ids_and_names(client: TestClient, db: Path) -> None:
    rows = client.get("/entities").json()
    assert [(r["type"], r["id"], r["stories"]) for r in rows] == [
        ("TICKER", "FIX", 2),
        ("INDEX", "RUT", 1),
        ("TICKER", "NVDA", 1),
    ]
    assert [r["id"] for r in client.get("/entities", params={"q": "nvd"}).json()] == ["NVDA"]
    assert [r["id"] for r in client.get("/entities", params={"q": "Rut"}).json()] == ["RUT"]
    assert client.get("/entities", params={"q": "%"}).json() == []  # LIKE wildcards are literal
    assert [r["id"] for r in client.get("/entities", params={"type": "INDEX"}).json()] == ["RUT"]
    assert rows == cli_json("entities", "stored", "--db", str(db))


def test_themes_list_the_taxonomy_like_the_cli(client: TestClient) -> None:
    themes = client.get("/themes").json()
    ids = [t["id"] for t in themes]
    assert "small_cap_rotation" in ids and "ai_adoption" in ids
    assert all(t["definition"] and t["examples"] >= 15 for t in themes if t["source"] == "core")
    assert themes == cli_json("themes", "list")


@pytest.mark.parametrize(
    ("path", "params", "message"),
    [
        ("/trends", {"entity": "FIX", "freq": "fortnight"}, "freq: Input should be"),
        ("/trends", {"entity": "FIX", "start": "last week"}, "bad timestamp 'last week'"),
        ("/trends", {}, "trends needs entity, theme, or both"),
        ("/trends", {"theme": "small_cap_rotaton"}, "did you mean 'small_cap_rotation'"),
        ("/comentions", {}, "entity: Field required"),
        ("/articles", {"limit": 0}, "limit: Input should be greater than or equal to 1"),
        ("/entities", {"type": "STOCK"}, "type: Input should be"),
    ],
)
def test_bad_requests_are_422_with_a_message(
    client: TestClient, path: str, params: dict[str, Any], message: str
) -> None:
    response = client.get(path, params=params)
    assert response.status_code == 422
    assert message in response.json()["detail"]


def test_tag_answers_the_tag_contract_within_a_size_limit(db: Path, analyzer: Analyzer) -> None:
    text = "Nvidia shares plunged after the chipmaker cut its revenue forecast."
    with TestClient(create_app(db, analyzer=analyzer, max_tag_bytes=2000)) as client:
        tagged = client.post("/tag", json={"text": text})
        plain = client.post("/tag", content=text.encode(), headers={"Content-Type": "text/plain"})
        too_big = client.post("/tag", json={"text": "x" * 3000})
        empty = client.post("/tag", json={"text": "  "})
        not_json = client.post("/tag", content=b"{", headers={"Content-Type": "application/json"})
    assert tagged.status_code == 200, tagged.text
    output = tagged.json()
    assert output["sentiment"]["label"] == "negative"
    assert [(e["type"], e["id"]) for e in output["entities"]] == [("TICKER", "NVDA")]
    assert plain.json() == output
    out = io.StringIO()
    assert main(["tag", "--text", text, "--compact"], out=out) == 0
    assert json.loads(out.getvalue()) == output
    assert too_big.status_code == 413 and "2,000" in too_big.json()["detail"]
    assert empty.status_code == 422 and empty.json()["detail"] == "text is empty"
    assert not_json.status_code == 422 and "not JSON" in not_json.json()["detail"]


def test_serving_never_writes_the_store(db: Path, client: TestClient) -> None:
    before = hashlib.sha256(db.read_bytes()).hexdigest()
    for path in ("/trends?entity=FIX", "/top", "/comentions?entity=FIX", "/articles",
                 "/articles/a1", "/entities", "/themes", "/rotations", "/health"):  # fmt: skip
        assert client.get(path).status_code == 200, path
    assert hashlib.sha256(db.read_bytes()).hexdigest() == before
    assert not Path(f"{db}.wal").exists()


def test_dashboard_and_docs_are_served_without_a_network(client: TestClient) -> None:
    page = client.get("/")
    assert page.status_code == 200 and '<script src="/static/app.js">' in page.text
    for asset in ("/static/app.js", "/static/app.css", "/static/favicon.svg"):
        assert client.get(asset).status_code == 200, asset
    docs = client.get("/docs").text
    assert "/docs-assets/swagger-ui-bundle.js" in docs and "cdn" not in docs.lower()
    assert client.get("/docs-assets/swagger-ui-bundle.js").status_code == 200
    paths = client.get("/openapi.json").json()["paths"]
    assert set(paths) >= {
        "/trends", "/top", "/comentions", "/articles", "/articles/{article_id}", "/entities",
        "/themes", "/rotations", "/tag",
    }  # fmt: skip


@contextmanager
def serving(app: FastAPI) -> Iterator[str]:
    """`app` served by uvicorn on 127.0.0.1 (a free port) in a thread; yields its base URL."""
    import uvicorn

    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=0, log_level="warning"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    try:
        deadline = time.monotonic() + 20
        while not server.started and time.monotonic() < deadline:
            time.sleep(0.05)
        assert server.started
        yield f"http://127.0.0.1:{server.servers[0].sockets[0].getsockname()[1]}"
    finally:
        server.should_exit = True
        thread.join(10)


def test_answers_over_a_real_socket(db: Path) -> None:
    with (
        serving(create_app(db)) as base,
        urllib.request.urlopen(f"{base}/trends?entity=FIX", timeout=10) as r,
    ):
        assert r.status == 200
        rows = json.loads(r.read())
    assert [row["stories"] for row in rows] == [1, 1]


def test_answers_while_another_process_writes(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("NLP_PIPELINE_DB_WAIT", "60")  # a loaded machine makes batches slow
    path = tmp_path / "s.duckdb"
    Store(path).close()
    writer = _python(WRITER, str(path), "40")
    seen = []
    try:
        with TestClient(create_app(path)) as client:
            assert writer.stdout is not None and writer.stdout.readline().strip() == "0"
            while writer.poll() is None and len(seen) < 12:
                response = client.get("/trends", params={"entity": "TICKER:FIX"})
                assert response.status_code == 200, response.text
                seen.append(sum(r["stories"] for r in response.json()))
            assert writer.wait(60) == 0, writer.stderr.read() if writer.stderr else ""
            final = client.get("/trends", params={"entity": "FIX"}).json()
    finally:
        writer.kill()
        writer.wait()
    assert len(seen) >= 2 and seen == sorted(seen)  # answers only grow as batches commit
    assert [r["stories"] for r in final] == [40]


def test_a_writer_holding_the_store_too_long_gives_503_naming_it(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = build_store(tmp_path / "s.duckdb")
    monkeypatch.setenv("NLP_PIPELINE_DB_WAIT", "0.5")
    with TestClient(create_app(path)) as client:
        holder = _python(HOLDER, str(path))
        try:
            assert holder.stdout is not None and holder.stdout.readline().strip() == "holding"
            busy = client.get("/trends", params={"entity": "FIX"})
        finally:
            holder.kill()
            holder.wait()
        assert busy.status_code == 503 and busy.headers["Retry-After"] == "2"
        assert f"held by pid {holder.pid}" in busy.json()["detail"]
        again = client.get("/trends", params={"entity": "FIX"})  # the writer is gone
        assert again.status_code == 200 and len(again.json()) == 2


def test_serve_without_a_store_says_so(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    missing = tmp_path / "none.duckdb"
    assert main(["serve", "--db", str(missing)]) == 2
    assert f"no store at {missing}" in capsys.readouterr().err


def test_cached_answers_last_until_the_store_changes(tmp_path: Path) -> None:
    path = build_store(tmp_path / "s.duckdb")
    with TestClient(create_app(path)) as cached, TestClient(create_app(path, cache=False)) as fresh:
        first = cached.get("/trends", params={"entity": "NVDA"})
        again = cached.get("/trends", params={"entity": "NVDA"})
        assert first.json() == again.json() == fresh.get("/trends?entity=NVDA").json()
        assert [r["stories"] for r in first.json()] == [1]
        with Store(path) as store:  # a writer's batch lands while the server runs
            chips = analysis([(CHIPS, 0.5, ["ai_infrastructure"])], {"TICKER:NVDA": ([0], 0.9)})
            add(store, "a5", at("2026-08-14"), chips)
        after = cached.get("/trends", params={"entity": "NVDA"})
        assert [r["stories"] for r in after.json()] == [2]
        assert after.json() == fresh.get("/trends?entity=NVDA").json()
        # Errors are never cached: a bad request stays bad, a good one is answered.
        assert cached.get("/trends?entity=NVDA&freq=Y").status_code == 422


def test_a_store_gone_from_under_the_server_is_a_500_naming_it(tmp_path: Path) -> None:
    path = build_store(tmp_path / "s.duckdb")
    with TestClient(create_app(path, cache=False)) as client:
        path.unlink()
        response = client.get("/trends", params={"entity": "FIX"})
    assert response.status_code == 500
    assert response.json()["detail"].startswith(f"no store at {path}")


def test_tag_runs_the_nlp_stage_the_pipeline_config_names(db: Path, tmp_path: Path) -> None:
    from nlp_pipeline.nlp import default_models_dir

    shipped = (default_models_dir() / "pipeline.yaml").read_text()
    assert "factory: pattern_rotations" in shipped
    config = tmp_path / "no-flows.yaml"
    config.write_text(shipped.replace("factory: pattern_rotations", "factory: no_rotations"))
    text = "Investors rotated out of mega-cap tech into small caps."
    with TestClient(create_app(db)) as shipped_client:
        default = shipped_client.post("/tag", json={"text": text}).json()
    with TestClient(create_app(db, pipeline_config=config)) as client:
        chosen = client.post("/tag", json={"text": text}).json()
    assert [(r["from"], r["to"]) for r in default["rotations"]] == [("MEGA_CAP", "SMALL_CAP")]
    assert chosen["rotations"] == []
    assert chosen["entities"] == default["entities"]


def test_serve_names_an_unknown_pipeline_before_it_listens(
    db: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["serve", "--db", str(db), "--pipeline", "precise"]) == 2
    assert "no pipeline 'precise'" in capsys.readouterr().err
