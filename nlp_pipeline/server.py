"""`nlp-pipeline serve`: the HTTP API and the dashboard over one store, read-only.

Every endpoint calls the function the matching CLI command calls (`Store.trends`, `Store.top`,
`Store.comentions`, `Store.articles`, `Store.article`, `Store.entities`, `Store.rotation_flows`,
`answers.theme_table`, `tagging.tag_text`) and answers with the JSON that command prints with
`--format json`. Lists take `limit` and `offset`; `X-Total-Count` gives the number of rows
where the answer knows it, `X-Next-Offset` where a full page suggests more.

The store is opened read-only (DuckDB refuses any write through it) and no endpoint takes SQL.
A writer (`run`, `watch`) holds the file only while it writes a batch: a request waits for that
batch like the CLI does, so answers are at most one batch stale; a writer that holds the file
longer than the wait (`NLP_PIPELINE_DB_WAIT`, default 5 s) gets a 503 naming it, with
Retry-After, never a traceback.
"""

from __future__ import annotations

import functools
import json
import queue
import threading
from collections import OrderedDict
from collections.abc import AsyncIterator, Iterator, Sequence
from contextlib import asynccontextmanager, contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, Literal

from fastapi import FastAPI, HTTPException, Query, Request
from fastapi.exceptions import RequestValidationError
from fastapi.openapi.docs import get_swagger_ui_html
from fastapi.responses import FileResponse, HTMLResponse, JSONResponse, Response
from fastapi.staticfiles import StaticFiles
from starlette.types import ASGIApp, Message, Receive, Send
from starlette.types import Scope as AsgiScope

from nlp_pipeline import __version__
from nlp_pipeline.answers import check_theme, entity_hint, theme_table
from nlp_pipeline.errors import NotFoundError, PipelineError, StoreAccessError
from nlp_pipeline.formatting import json_records
from nlp_pipeline.store import Store
from nlp_pipeline.store.connection import StoreBusyError

if TYPE_CHECKING:
    import pandas as pd

    from nlp_pipeline.nlp import Analyzer

WEB_DIR = Path(__file__).parent / "web"
DEFAULT_MAX_TAG_BYTES = 1_000_000  # one long article; `tag` itself reads up to 64 MiB
MAX_PAGE = 1000
STORE_POOL_SIZE = 8  # concurrent store readers; a request beyond them waits for one
Freq = Literal["D", "W", "M", "Q"]
AnswerScope = Literal["sentence", "article"]
EntityType = Literal["TICKER", "INDEX", "POLICY", "ORG", "SECTOR"]


class _StorePool:
    """Read-only `Store`s for concurrent requests: a DuckDB connection serves one thread at a
    time, and making one costs tens of milliseconds, so requests borrow and return them."""

    def __init__(self, db: Path, size: int) -> None:
        self._db = db
        self._free: queue.LifoQueue[Store] = queue.LifoQueue()
        self._slots = threading.BoundedSemaphore(size)
        self._all: list[Store] = []
        self._lock = threading.Lock()
        Store(db, read_only=True).close()  # fails now, naming the path, if there is no store

    @contextmanager
    def store(self) -> Iterator[Store]:
        with self._slots:
            try:
                store = self._free.get_nowait()
            except queue.Empty:
                store = Store(self._db, read_only=True)
                with self._lock:
                    self._all.append(store)
            try:
                yield store
            finally:
                store.release()
                self._free.put(store)

    def close(self) -> None:
        with self._lock:
            for store in self._all:
                store.close()
            self._all.clear()


CACHED_PATHS = ("/trends", "/top", "/comentions", "/articles", "/entities", "/themes", "/rotations")
RawHeaders = list[tuple[bytes, bytes]]


class _AnswerCache:
    """Answers by request URL, kept while the store file is unchanged: a writer's commit grows
    the write-ahead log (a checkpoint rewrites the file), so a new batch changes the files'
    (size, mtime) and every later request computes afresh. A read-only server's answers are a
    function of the store's contents, and a dashboard asks the same questions over and over.

    An ASGI middleware, so that a hit costs a dictionary lookup and two `stat` calls, not a
    trip through the thread pool, FastAPI's validation and DuckDB."""

    def __init__(
        self, app: ASGIApp, db: Path, entries: int = 1024, max_body: int = 4_000_000
    ) -> None:
        self.app = app
        self._files = [db, Path(f"{db}.wal")]
        self._entries = entries
        self._max_body = max_body
        self._answers: OrderedDict[str, tuple[tuple[int, ...], RawHeaders, bytes]] = OrderedDict()
        self._lock = threading.Lock()

    def _state(self) -> tuple[int, ...]:
        numbers: list[int] = []
        for path in self._files:
            try:
                stat = path.stat()
                numbers += [stat.st_size, stat.st_mtime_ns, stat.st_ino]
            except FileNotFoundError:
                numbers += [-1, -1, -1]
        return tuple(numbers)

    async def __call__(self, scope: AsgiScope, receive: Receive, send: Send) -> None:
        path = scope.get("path", "")
        if (
            scope["type"] != "http"
            or scope["method"] != "GET"
            or not (path in CACHED_PATHS or path.startswith("/articles/"))
        ):
            await self.app(scope, receive, send)
            return
        key = f"{path}?{scope.get('query_string', b'').decode('latin-1')}"
        state = self._state()  # before computing: a batch committed meanwhile is a miss later
        with self._lock:
            hit = self._answers.get(key)
            if hit is not None and hit[0] != state:
                hit = None  # computed before the store last changed
            if hit is not None:
                self._answers.move_to_end(key)
        if hit is not None:
            await send({"type": "http.response.start", "status": 200, "headers": hit[1]})
            await send({"type": "http.response.body", "body": hit[2]})
            return
        status: list[int] = []
        headers: RawHeaders = []
        chunks: list[bytes] = []

        async def capture(message: Message) -> None:
            if message["type"] == "http.response.start":
                status.append(message["status"])
                headers.extend(message.get("headers", []))
            elif message["type"] == "http.response.body":
                chunks.append(message.get("body", b""))
            await send(message)

        await self.app(scope, receive, capture)
        body = b"".join(chunks)
        if status == [200] and len(body) <= self._max_body:
            with self._lock:
                self._answers[key] = (state, headers, body)
                self._answers.move_to_end(key)
                while len(self._answers) > self._entries:
                    self._answers.popitem(last=False)


class _Tagger:
    """The analyzer for `POST /tag`, loaded on first use (seconds) and shared; one text at a
    time, since the spaCy pipeline and the sentence cache are not made for concurrent calls."""

    def __init__(
        self,
        themes_paths: Sequence[Path],
        analyzer: Analyzer | None = None,
        pipeline_config: Path | None = None,
    ) -> None:
        self._themes_paths = list(themes_paths)
        self._analyzer = analyzer
        self._pipeline_config = pipeline_config
        self._lock = threading.Lock()

    def tag(self, text: str) -> dict[str, Any]:
        from nlp_pipeline import tagging

        with self._lock:
            if self._analyzer is None:
                from nlp_pipeline.nlp.analyzer import Analyzer

                self._analyzer = Analyzer(
                    themes_paths=self._themes_paths, pipeline_config=self._pipeline_config
                )
            return tagging.tag_text(self._analyzer, text)


def _records(frame: pd.DataFrame, headers: dict[str, str] | None = None) -> Response:
    return Response(json_records(frame), media_type="application/json", headers=headers)


def _page(frame: pd.DataFrame, limit: int, offset: int) -> Response:
    """One page of a fully computed answer, with its total."""
    shown = frame.iloc[offset : offset + limit].reset_index(drop=True)
    return _records(shown, {"X-Total-Count": str(len(frame))})


def _next_page(rows: pd.DataFrame, limit: int, offset: int) -> Response:
    """A page that starts at `offset`, from `limit + 1` rows asked for: the extra row says that
    another page follows."""
    headers = {"X-Next-Offset": str(offset + limit)} if len(rows) > limit else {}
    return _records(rows.iloc[:limit].reset_index(drop=True), headers)


def _validation_message(exc: RequestValidationError) -> str:
    parts = []
    for error in exc.errors():
        where = ".".join(str(p) for p in error.get("loc", ()) if p not in ("query", "path"))
        parts.append(f"{where}: {error.get('msg', 'invalid')}" if where else error.get("msg", ""))
    return "; ".join(parts) or "invalid request"


async def _read_capped(request: Request, cap: int) -> bytes:
    """The request body, refused with 413 as soon as it passes `cap` bytes (a declared
    Content-Length over the cap is refused before reading)."""
    declared = request.headers.get("content-length")
    if declared and declared.isdigit() and int(declared) > cap:
        raise HTTPException(413, f"request body of {int(declared):,} bytes; the limit is {cap:,}")
    chunks, size = [], 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > cap:
            raise HTTPException(413, f"request body over the limit of {cap:,} bytes")
        chunks.append(chunk)
    return b"".join(chunks)


def create_app(
    db: str | Path,
    *,
    themes_paths: Sequence[Path] = (),
    max_tag_bytes: int = DEFAULT_MAX_TAG_BYTES,
    pool_size: int = STORE_POOL_SIZE,
    analyzer: Analyzer | None = None,
    cache: bool = True,
    pipeline_config: Path | None = None,
) -> FastAPI:
    """The API and dashboard over the store at `db` (which must exist). `analyzer` serves
    `POST /tag` (default: the shipped models, or the NLP stage `pipeline_config` names, loaded
    on the first request); `cache=False` computes every answer afresh (for measuring)."""
    pool = _StorePool(Path(db), pool_size)
    tagger = _Tagger(themes_paths, analyzer, pipeline_config)

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        yield
        pool.close()

    app = FastAPI(
        lifespan=lifespan,
        title="nlp-pipeline",
        version=__version__,
        description="Tickers, sentiment and market narratives from financial news: the answers "
        "of the `nlp-pipeline` store, read-only. Each endpoint answers with the JSON that the "
        "matching CLI command prints with `--format json`.",
        docs_url=None,  # served below from packaged assets: the default page loads a CDN
        redoc_url=None,
    )
    app.state.pool = pool
    if cache:
        app.add_middleware(_AnswerCache, db=Path(db))

    @app.exception_handler(RequestValidationError)
    async def _invalid(request: Request, exc: RequestValidationError) -> JSONResponse:
        return JSONResponse({"detail": _validation_message(exc)}, status_code=422)

    @app.exception_handler(StoreBusyError)
    async def _busy(request: Request, exc: StoreBusyError) -> JSONResponse:
        return JSONResponse({"detail": str(exc)}, status_code=503, headers={"Retry-After": "2"})

    @app.exception_handler(NotFoundError)
    async def _missing(request: Request, exc: NotFoundError) -> JSONResponse:
        return JSONResponse({"detail": str(exc)}, status_code=404)

    @app.exception_handler(StoreAccessError)
    async def _unreadable(request: Request, exc: StoreAccessError) -> JSONResponse:
        # A store that cannot be read or a query that fails is the server's fault.
        return JSONResponse({"detail": str(exc)}, status_code=500)

    @app.exception_handler(PipelineError)
    async def _bad(request: Request, exc: PipelineError) -> JSONResponse:
        # Bad dates, frequencies, entity types, unknown themes: the caller's to fix.
        return JSONResponse({"detail": str(exc)}, status_code=422)

    @app.get("/", include_in_schema=False)
    def dashboard() -> FileResponse:
        return FileResponse(WEB_DIR / "index.html", headers={"Cache-Control": "no-cache"})

    app.mount("/static", StaticFiles(directory=WEB_DIR), name="static")
    try:
        from swagger_ui_bundle import swagger_ui_path

        app.mount("/docs-assets", StaticFiles(directory=str(swagger_ui_path)), name="docs-assets")
        docs_assets = "/docs-assets"
    except ImportError:  # `serve` extra not installed: the page still names the spec
        docs_assets = ""

    @app.get("/docs", include_in_schema=False)
    def docs() -> HTMLResponse:
        if not docs_assets:
            return HTMLResponse(
                "<p>Install the serve extra for the docs page; the spec is at "
                '<a href="/openapi.json">/openapi.json</a>.</p>'
            )
        return get_swagger_ui_html(
            openapi_url="/openapi.json",
            title="nlp-pipeline API",
            swagger_js_url=f"{docs_assets}/swagger-ui-bundle.js",
            swagger_css_url=f"{docs_assets}/swagger-ui.css",
            swagger_favicon_url="/static/favicon.svg",
        )

    @app.get("/trends", summary="Themes around an entity, or entities around a theme, over time")
    def trends(
        entity: str | None = Query(None, description="FIX, TICKER:FIX, RUT, OBBBA..."),
        theme: str | None = Query(None, description="theme id (small_cap_rotation, ...)"),
        freq: Freq = "W",
        start: str | None = Query(None, description="first period (UTC date)"),
        end: str | None = Query(None, description="stories before this date only"),
        by: Literal["theme", "entity"] | None = Query(
            None, description="default: theme with an entity, entity with a theme alone"
        ),
        scope: AnswerScope = "sentence",
        as_of: str | None = None,
        min_relevance: float = Query(0.0, ge=0.0, le=1.0),
        limit: int = Query(MAX_PAGE, ge=1, le=MAX_PAGE),
        offset: int = Query(0, ge=0),
    ) -> Response:
        if not entity and not theme:
            raise HTTPException(422, "trends needs entity, theme, or both")
        with pool.store() as store:
            if theme:
                check_theme(store, theme)
            frame = store.trends(
                entity=entity,
                theme=theme,
                freq=freq,
                start=start,
                end=end,
                by=by or ("theme" if entity else "entity"),
                scope=scope,
                as_of=as_of,
                min_relevance=min_relevance,
            )
            note = entity_hint(store, entity) if frame.empty and entity else ""
        response = _page(frame, limit, offset)
        if note and entity:
            # Headers are Latin-1: a name beyond it is escaped rather than refused.
            said = f"no stories mention {entity.upper()}{note}"
            response.headers["X-Note"] = said.encode("ascii", "backslashreplace").decode()
        return response

    @app.get("/top", summary="What is rising: themes, tickers or entities by momentum")
    def top(
        kind: Literal["themes", "tickers", "entities"] = "themes",
        since: str | None = Query(None, description="window start (default: 4 weeks before)"),
        until: str | None = Query(None, description="window end (default: the newest story)"),
        as_of: str | None = None,
        min_stories: int = Query(3, ge=1, description="volume guard"),
        limit: int = Query(20, ge=1, le=MAX_PAGE),
        offset: int = Query(0, ge=0),
    ) -> Response:
        with pool.store() as store:
            frame = store.top(
                kind=kind,
                since=since,
                until=until,
                as_of=as_of,
                limit=offset + limit + 1,
                min_stories=min_stories,
            )
        return _next_page(frame.iloc[offset:], limit, offset)

    @app.get("/comentions", summary="Entities and themes that go with an entity")
    def comentions(
        entity: str = Query(..., description="FIX or TICKER:FIX"),
        since: str | None = None,
        until: str | None = None,
        as_of: str | None = None,
        scope: AnswerScope = "sentence",
        limit: int = Query(30, ge=1, le=MAX_PAGE),
        offset: int = Query(0, ge=0),
    ) -> Response:
        with pool.store() as store:
            frame = store.comentions(
                entity,
                since=since,
                until=until,
                as_of=as_of,
                scope=scope,
                limit=offset + limit + 1,
            )
        return _next_page(frame.iloc[offset:], limit, offset)

    @app.get("/articles", summary="Tagged articles with their evidence sentences, newest first")
    def articles(
        entity: str | None = None,
        theme: str | None = None,
        entity_type: EntityType | None = None,
        since: str | None = Query(None, description="at or after (UTC)"),
        until: str | None = Query(None, description="before (UTC)"),
        dated_by: Literal["published", "story"] = Query(
            "published", description="story: since/until bound the story's first copy, as trends"
        ),
        feed: Annotated[
            list[str] | None, Query(description="only these feeds (repeatable)")
        ] = None,
        min_relevance: float = Query(0.0, ge=0.0, le=1.0),
        scope: AnswerScope = "sentence",
        as_of: str | None = None,
        limit: int = Query(50, ge=1, le=MAX_PAGE),
        offset: int = Query(0, ge=0),
    ) -> Response:
        with pool.store() as store:
            frame = store.articles(
                limit=limit + 1,
                offset=offset,
                entity=entity,
                theme=theme,
                entity_type=entity_type,
                since=since,
                until=until,
                feeds=feed,
                min_relevance=min_relevance,
                scope=scope,
                as_of=as_of,
                dated_by=dated_by,
            )
        return _next_page(frame, limit, offset)

    @app.get("/articles/{article_id}", summary="One article in full: sentences, tags, flows")
    def article(article_id: str, as_of: str | None = None) -> Response:
        with pool.store() as store:
            detail = store.article(article_id, as_of=as_of)
        return Response(
            json.dumps(detail, ensure_ascii=False, indent=1), media_type="application/json"
        )

    @app.get("/entities", summary="Entities the store names, most stories first")
    def entities(
        q: str | None = Query(None, description="part of an id or a name: nvd, Comfort"),
        type: EntityType | None = None,
        limit: int = Query(50, ge=1, le=MAX_PAGE),
        offset: int = Query(0, ge=0),
    ) -> Response:
        with pool.store() as store:
            frame = store.entities(search=q, entity_type=type, limit=limit + 1, offset=offset)
        return _next_page(frame, limit, offset)

    @functools.cache  # the taxonomy files are read once per server
    def theme_records() -> str:
        return json_records(theme_table(themes_paths))

    @app.get("/themes", summary="The themes: the shipped taxonomy and the user's additions")
    def themes() -> Response:
        return Response(theme_records(), media_type="application/json")

    @app.get("/rotations", summary="Which way money is rotating, per period")
    def rotations(
        freq: Freq = "W",
        start: str | None = None,
        end: str | None = None,
        limit: int = Query(MAX_PAGE, ge=1, le=MAX_PAGE),
        offset: int = Query(0, ge=0),
    ) -> Response:
        from nlp_pipeline.store.queries import utc

        with pool.store() as store:
            frame = store.rotation_flows(freq, start=utc(start), end=utc(end))
        return _page(frame, limit, offset)

    @app.post(
        "/tag",
        summary="Tag a text: sentiment, entities, themes, rotations (the `tag` JSON contract)",
        openapi_extra={
            "requestBody": {
                "required": True,
                "content": {
                    "application/json": {
                        "schema": {
                            "type": "object",
                            "required": ["text"],
                            "properties": {"text": {"type": "string"}},
                        }
                    },
                    "text/plain": {"schema": {"type": "string"}},
                },
            }
        },
    )
    async def tag(request: Request) -> Response:
        from starlette.concurrency import run_in_threadpool

        body = await _read_capped(request, max_tag_bytes)
        text = _tag_text(body, request.headers.get("content-type", ""))
        output = await run_in_threadpool(tagger.tag, text)
        return Response(json.dumps(output, ensure_ascii=False), media_type="application/json")

    @app.get("/health", summary="The store this server reads, and its row counts")
    def health() -> dict[str, Any]:
        with pool.store() as store:
            counts = store.counts()
        return {"status": "ok", "db": str(db), "version": __version__, "counts": counts}

    return app


def _tag_text(body: bytes, content_type: str) -> str:
    """The text of a `/tag` request: a JSON object's "text", or a plain-text body."""
    from nlp_pipeline import tagging
    from nlp_pipeline.errors import InputError

    if "json" in content_type.split(";")[0]:
        try:
            payload = json.loads(body)
        except (UnicodeDecodeError, ValueError) as exc:
            raise HTTPException(422, f"body is not JSON: {exc}") from None
        if not isinstance(payload, dict) or not isinstance(payload.get("text"), str):
            raise HTTPException(422, 'body must be a JSON object with a string "text"')
        text: str = payload["text"]
    else:
        try:
            text = tagging.read_text(body, "the request body")
        except InputError as exc:
            raise HTTPException(422, str(exc)) from None
    if not text.strip():
        raise HTTPException(422, "text is empty")
    return text


def serve(
    db: str | Path,
    host: str = "127.0.0.1",
    port: int = 8000,
    *,
    themes_paths: Sequence[Path] = (),
    max_tag_bytes: int = DEFAULT_MAX_TAG_BYTES,
    cache: bool = True,
    log_level: str = "info",
    pipeline_config: Path | None = None,
) -> None:
    """Run the API and dashboard until interrupted."""
    import uvicorn

    app = create_app(
        db,
        themes_paths=themes_paths,
        max_tag_bytes=max_tag_bytes,
        cache=cache,
        pipeline_config=pipeline_config,
    )
    uvicorn.run(app, host=host, port=port, log_level=log_level)
