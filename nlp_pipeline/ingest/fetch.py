"""Polite fetching of feeds and pages over HTTP(S) and from local files.

Manners on by default: a User-Agent naming the tool, timeouts, conditional GET, a minimum delay
between requests to one host, backoff with Retry-After on 429/5xx, a size cap (also on gzip), and a
guard that refuses loopback/private/link-local addresses unless the user allowed them.
"""

from __future__ import annotations

import ipaddress
import socket
import stat
import time
import urllib.error
import urllib.request
import zlib
from collections.abc import Callable
from dataclasses import dataclass
from email.message import Message
from email.utils import parsedate_to_datetime
from http.client import HTTPMessage
from pathlib import Path
from typing import IO
from urllib.parse import unquote, urlsplit

from nlp_pipeline.config import FetchSettings
from nlp_pipeline.errors import FetchError

RETRY_STATUSES = frozenset({429, 500, 502, 503, 504})
_CHUNK = 64 * 1024


@dataclass(frozen=True)
class FetchResult:
    url: str
    status: int
    content: bytes
    content_type: str = ""
    charset: str | None = None
    etag: str | None = None
    last_modified: str | None = None

    @property
    def not_modified(self) -> bool:
        return self.status == 304


def check_host_allowed(host: str, allow_private: bool) -> None:
    """Refuse hosts that resolve to loopback/private/link-local/reserved addresses."""
    if allow_private:
        return
    try:
        infos = socket.getaddrinfo(host, None, proto=socket.IPPROTO_TCP)
    except socket.gaierror as exc:
        raise FetchError(host, f"cannot resolve host: {exc.strerror}") from None
    for info in infos:
        address = ipaddress.ip_address(str(info[4][0]).split("%", 1)[0])
        if not address.is_global or address.is_multicast:
            raise FetchError(
                host,
                f"refusing to connect to non-public address {address} "
                "(set settings.allow_private_hosts: true to allow)",
            )


class _GuardedRedirectHandler(urllib.request.HTTPRedirectHandler):
    """Applies the address guard to every redirect target, not just the first URL."""

    max_redirections = 5

    def __init__(self, allow_private: bool) -> None:
        self.allow_private = allow_private

    def redirect_request(
        self,
        req: urllib.request.Request,
        fp: IO[bytes],
        code: int,
        msg: str,
        headers: HTTPMessage,
        newurl: str,
    ) -> urllib.request.Request | None:
        parts = urlsplit(newurl)
        if parts.scheme not in ("http", "https"):
            raise FetchError(newurl, f"redirect to unsupported scheme {parts.scheme!r}")
        check_host_allowed(parts.hostname or "", self.allow_private)
        return super().redirect_request(req, fp, code, msg, headers, newurl)


class Fetcher:
    """Fetches URLs with the manners in `FetchSettings`. Not thread-safe; one per worker."""

    def __init__(
        self,
        settings: FetchSettings | None = None,
        sleep: Callable[[float], None] = time.sleep,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.settings = settings or FetchSettings()
        self._sleep = sleep
        self._clock = clock
        self._last_request: dict[str, float] = {}
        self._opener = urllib.request.build_opener(
            _GuardedRedirectHandler(self.settings.allow_private_hosts)
        )

    def fetch(
        self, url: str, etag: str | None = None, last_modified: str | None = None
    ) -> FetchResult:
        scheme = urlsplit(url).scheme.lower()
        if scheme == "file":
            return self._fetch_file(url, last_modified)
        if scheme in ("http", "https"):
            return self._fetch_http(url, etag, last_modified)
        raise FetchError(url, f"unsupported URL scheme {scheme!r}")

    # -- local files ---------------------------------------------------------------------------

    def _fetch_file(self, url: str, last_modified: str | None) -> FetchResult:
        path = Path(unquote(urlsplit(url).path))
        try:
            info = path.stat()
        except FileNotFoundError:
            raise FetchError(url, "file not found") from None
        except OSError as exc:
            raise FetchError(url, f"cannot read file: {exc.strerror}") from None
        if not stat.S_ISREG(info.st_mode):
            raise FetchError(url, "not a regular file")
        if info.st_size > self.settings.max_bytes:
            raise FetchError(
                url, f"file is {info.st_size} bytes, over the {self.settings.max_bytes} limit"
            )
        mtime = str(info.st_mtime_ns)
        if last_modified is not None and last_modified == mtime:
            return FetchResult(url, 304, b"", last_modified=mtime)
        content = path.read_bytes()
        return FetchResult(url, 200, content, _guess_file_type(path), None, None, mtime)

    # -- HTTP ----------------------------------------------------------------------------------

    def _wait_for_host(self, host: str) -> None:
        last = self._last_request.get(host)
        if last is not None:
            remaining = self.settings.per_host_delay_s - (self._clock() - last)
            if remaining > 0:
                self._sleep(remaining)
        self._last_request[host] = self._clock()

    def _fetch_http(self, url: str, etag: str | None, last_modified: str | None) -> FetchResult:
        host = urlsplit(url).hostname
        if not host:
            raise FetchError(url, "URL has no host")
        check_host_allowed(host, self.settings.allow_private_hosts)
        headers = {
            "User-Agent": self.settings.user_agent,
            "Accept-Encoding": "gzip, deflate",
            "Accept": "application/rss+xml, application/atom+xml, application/xml, text/xml, "
            "text/html;q=0.9, */*;q=0.5",
        }
        if etag:
            headers["If-None-Match"] = etag
        if last_modified:
            headers["If-Modified-Since"] = last_modified
        attempt = 0
        while True:
            self._wait_for_host(host)
            request = urllib.request.Request(url, headers=headers)
            try:
                with self._opener.open(request, timeout=self.settings.timeout_s) as response:
                    return self._read_response(url, response)
            except urllib.error.HTTPError as exc:
                if exc.code == 304:
                    return FetchResult(url, 304, b"", etag=etag, last_modified=last_modified)
                if exc.code not in RETRY_STATUSES or attempt >= self.settings.max_retries:
                    raise FetchError(url, f"HTTP {exc.code} {exc.reason}") from None
                delay = self._backoff(attempt, exc.headers.get("Retry-After"))
            except (urllib.error.URLError, TimeoutError, ConnectionError) as exc:
                reason = getattr(exc, "reason", exc)
                if isinstance(reason, FetchError):
                    raise reason from None
                if attempt >= self.settings.max_retries:
                    raise FetchError(url, f"network error: {reason}") from None
                delay = self._backoff(attempt, None)
            attempt += 1
            self._sleep(delay)

    def _backoff(self, attempt: int, retry_after: str | None) -> float:
        delay = self.settings.backoff_base_s * 2.0**attempt
        if retry_after:
            parsed = _parse_retry_after(retry_after)
            if parsed is not None:
                delay = parsed
        return min(max(delay, 0.0), self.settings.max_backoff_s)

    def _read_response(self, url: str, response: IO[bytes]) -> FetchResult:
        info: Message = response.info()  # type: ignore[attr-defined]
        limit = self.settings.max_bytes
        length = info.get("Content-Length")
        if length and length.isdigit() and int(length) > limit:
            raise FetchError(url, f"response is {length} bytes, over the {limit} limit")
        chunks: list[bytes] = []
        size = 0
        while chunk := response.read(_CHUNK):
            size += len(chunk)
            if size > limit:
                raise FetchError(url, f"response exceeds the {limit} byte limit")
            chunks.append(chunk)
        content = b"".join(chunks)
        encoding = (info.get("Content-Encoding") or "").lower()
        if encoding in ("gzip", "x-gzip", "deflate"):
            content = _decompress(url, content, encoding, limit)
        final_url = response.geturl()  # type: ignore[attr-defined]
        return FetchResult(
            url=final_url,
            status=200,
            content=content,
            content_type=info.get_content_type(),
            charset=info.get_content_charset(),
            etag=info.get("ETag"),
            last_modified=info.get("Last-Modified"),
        )


def _decompress(url: str, content: bytes, encoding: str, limit: int) -> bytes:
    wbits = 16 + zlib.MAX_WBITS if "gzip" in encoding else zlib.MAX_WBITS
    decompressor = zlib.decompressobj(wbits)
    try:
        out = decompressor.decompress(content, limit + 1)
    except zlib.error as exc:
        raise FetchError(url, f"corrupt {encoding} body: {exc}") from None
    if len(out) > limit or decompressor.unconsumed_tail:
        raise FetchError(url, f"decompressed body exceeds the {limit} byte limit")
    return out


def _parse_retry_after(value: str) -> float | None:
    value = value.strip()
    if value.isdigit():
        return float(value)
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    return float(when.timestamp() - time.time())


def _guess_file_type(path: Path) -> str:
    suffix = path.suffix.lower()
    if suffix in (".html", ".htm"):
        return "text/html"
    if suffix in (".xml", ".rss", ".atom"):
        return "application/xml"
    if suffix in (".txt", ".md"):
        return "text/plain"
    return ""
