"""A threaded HTTP/1.1 server on 127.0.0.1 whose routes write raw responses, for bad-input
tests (slow, trickling, oversized, compressed, redirecting), recording what it saw."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from nlp_pipeline.config import FetchSettings

RouteHandler = Callable[[BaseHTTPRequestHandler], None]


@dataclass
class Seen:
    path: str
    headers: dict[str, str]
    client_port: int
    started: float
    finished: float = 0.0


@dataclass
class HttpServer:
    host: str
    port: int
    routes: dict[str, RouteHandler] = field(default_factory=dict)
    seen: list[Seen] = field(default_factory=list)

    def url(self, path: str) -> str:
        return f"http://{self.host}:{self.port}{path}"

    def paths(self) -> list[str]:
        return [s.path for s in self.seen]

    def serve(
        self, path: str, body: bytes, status: int = 200, headers: dict[str, str] | None = None
    ) -> None:
        self.routes[path] = lambda h: respond(h, status, body, headers)


def respond(
    handler: BaseHTTPRequestHandler,
    status: int = 200,
    body: bytes = b"",
    headers: dict[str, str] | None = None,
) -> None:
    handler.send_response(status)
    headers = dict(headers or {})
    headers.setdefault("Content-Length", str(len(body)))
    for key, value in headers.items():
        handler.send_header(key, value)
    handler.end_headers()
    if body:
        handler.wfile.write(body)


def _make_server() -> tuple[ThreadingHTTPServer, HttpServer]:
    state = HttpServer("127.0.0.1", 0)

    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"  # keep-alive, as real servers do
        disable_nagle_algorithm = True  # as they do too (else 40 ms per keep-alive reply)

        def do_GET(self) -> None:
            record = Seen(
                self.path, dict(self.headers.items()), self.client_address[1], time.time()
            )
            state.seen.append(record)
            route = state.routes.get(self.path.split("?", 1)[0])
            try:
                if route is None:
                    respond(self, 404, b"not found")
                else:
                    route(self)
            except (BrokenPipeError, ConnectionResetError):
                self.close_connection = True
            finally:
                record.finished = time.time()

        def log_message(self, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    state.port = server.server_address[1]
    return server, state


@pytest.fixture
def http_servers() -> Iterator[Callable[[], HttpServer]]:
    """A factory: each call starts one more server (one more 'host')."""
    started: list[ThreadingHTTPServer] = []

    def start() -> HttpServer:
        server, state = _make_server()
        threading.Thread(target=server.serve_forever, daemon=True).start()
        started.append(server)
        return state

    yield start
    for server in started:
        server.shutdown()
        server.server_close()


@pytest.fixture
def http_server(http_servers: Callable[[], HttpServer]) -> HttpServer:
    return http_servers()


@pytest.fixture
def quick_settings() -> FetchSettings:
    """Loopback allowed explicitly (and nothing else private); short timeouts; no waits."""
    return FetchSettings(
        allowed_private_networks=("127.0.0.1/32",),
        per_host_delay_s=0.0,
        backoff_base_s=0.01,
        max_retries=2,
        timeout_s=2.0,
        connect_timeout_s=1.0,
        total_timeout_s=5.0,
    )
