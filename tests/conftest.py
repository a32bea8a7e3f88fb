"""Shared fixtures: the real analyzer, the demo feed, and a local HTTP server on 127.0.0.1."""

from __future__ import annotations

import os
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from nlp_pipeline.config import FetchSettings
from nlp_pipeline.nlp import Analyzer

REPO = Path(__file__).resolve().parents[1]
DEMO_FEED = REPO / "examples" / "demo" / "feed.xml"
# The core narrative taxonomy of DESIGN.md 3.3, in its order; these ids are contracts.
CORE_THEME_IDS = [
    "small_cap_rotation",
    "megacap_concentration",
    "ai_infrastructure",
    "ai_adoption",
    "monetary_easing",
    "monetary_tightening",
    "fiscal_policy",
    "valuation",
    "earnings",
    "economic_growth",
    "inflation",
    "credit_banking",
    "regulation",
    "trade_tariffs",
    "mergers_acquisitions",
    "infrastructure_capex",
    "real_estate",
    "energy_commodities",
]
SHARED_DATA = Path(os.environ.get("NLP_PIPELINE_SHARED_DATA") or REPO.parent / "shared" / "data")


def shared_data(*parts: str) -> Path:
    """A path in ../shared/data, skipping the test with a reason when it is absent."""
    path = SHARED_DATA.joinpath(*parts)
    if not path.exists():
        pytest.skip(f"shared dataset not available: {path}")
    return path


@pytest.fixture(scope="session")
def analyzer() -> Analyzer:
    return Analyzer()


@dataclass
class Route:
    status: int = 200
    body: bytes = b""
    headers: dict[str, str] = field(default_factory=dict)


@dataclass
class LocalServer:
    """Serves `routes` (path -> Route or a callable returning one) and records requests."""

    base_url: str
    routes: dict[str, Route | Callable[[BaseHTTPRequestHandler], Route]]
    requests: list[tuple[str, dict[str, str]]]

    def url(self, path: str) -> str:
        return self.base_url + path


@pytest.fixture
def local_server() -> Iterator[LocalServer]:
    routes: dict[str, Route | Callable[[BaseHTTPRequestHandler], Route]] = {}
    requests: list[tuple[str, dict[str, str]]] = []

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            requests.append((self.path, dict(self.headers.items())))
            route = routes.get(self.path, Route(404, b"not found"))
            if callable(route):
                route = route(self)
            self.send_response(route.status)
            for key, value in route.headers.items():
                self.send_header(key, value)
            if "Content-Length" not in route.headers:
                self.send_header("Content-Length", str(len(route.body)))
            self.end_headers()
            self.wfile.write(route.body)

        def log_message(self, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield LocalServer(f"http://127.0.0.1:{server.server_address[1]}", routes, requests)
    finally:
        server.shutdown()
        server.server_close()


@pytest.fixture
def loopback_settings() -> FetchSettings:
    """Tests opt in to loopback explicitly; no politeness delay or backoff waits."""
    return FetchSettings(
        allow_private_hosts=True, per_host_delay_s=0.0, backoff_base_s=0.0, timeout_s=5.0
    )
