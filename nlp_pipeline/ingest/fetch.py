"""Polite fetching of feeds and pages over HTTP(S) and from local files.

Transport is urllib3's connection pool (keep-alive, thread-safe). Manners on by default: a
User-Agent naming the tool, connect/read/total timeouts, conditional GET, one request at a time
per host with a minimum delay between them, retries with exponential backoff and jitter on 429,
5xx and timeouts (Retry-After honoured), a redirect limit, a size cap enforced while streaming
(also after gzip), and an address guard.

The guard runs inside the connection itself: the host is resolved once, every address is
checked, and the socket connects to the checked address (pinned), so a DNS answer that changes
between the check and the connect (DNS rebinding) cannot slip through. Redirects are followed
here, hop by hop, through the same guarded pool.
"""

from __future__ import annotations

import ipaddress
import random
import socket
import stat
import threading
import time
import zlib
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from email.utils import parsedate_to_datetime
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urljoin, urlsplit

import urllib3
from urllib3.connection import HTTPConnection, HTTPSConnection
from urllib3.connectionpool import HTTPConnectionPool, HTTPSConnectionPool
from urllib3.exceptions import (
    ConnectTimeoutError,
    HTTPError,
    NewConnectionError,
    ProtocolError,
    ReadTimeoutError,
    SSLError,
)

from nlp_pipeline.config import FetchSettings
from nlp_pipeline.errors import FetchError

RETRY_STATUSES = frozenset({429, 500, 502, 503, 504})
REDIRECT_STATUSES = frozenset({301, 302, 303, 307, 308})
_CHUNK = 64 * 1024

# host, port -> the addresses it resolves to. Injectable so tests can simulate DNS.
Resolver = Callable[[str, int], list[str]]


def system_resolver(host: str, port: int) -> list[str]:
    infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    addresses: list[str] = []
    for info in infos:
        address = str(info[4][0])
        if address not in addresses:
            addresses.append(address)
    return addresses


@dataclass(frozen=True)
class FetchResult:
    url: str
    status: int
    content: bytes
    content_type: str = ""
    charset: str | None = None
    etag: str | None = None
    last_modified: str | None = None
    # Response headers, lower-cased names (feedparser reads charset and type from them).
    headers: Mapping[str, str] = field(default_factory=dict)

    @property
    def not_modified(self) -> bool:
        return self.status == 304


class AddressGuard:
    """Resolves a host and refuses non-public addresses unless the settings allow them."""

    def __init__(self, settings: FetchSettings, resolver: Resolver | None = None) -> None:
        self.allow_private = settings.allow_private_hosts
        self.allowed_networks = [
            ipaddress.ip_network(n, strict=False) for n in settings.allowed_private_networks
        ]
        self.resolver = resolver or system_resolver

    def is_allowed(self, address: str) -> bool:
        ip = ipaddress.ip_address(address.split("%", 1)[0])
        if self.allow_private:
            return True
        if any(ip in network for network in self.allowed_networks):
            return True
        return ip.is_global and not ip.is_multicast

    def resolve(self, host: str, port: int) -> list[str]:
        """The addresses to connect to; raises FetchError if any is refused."""
        host = host.strip("[]")
        try:
            addresses = [str(ipaddress.ip_address(host))]
        except ValueError:
            try:
                addresses = self.resolver(host, port)
            except OSError as exc:
                raise FetchError(host, f"cannot resolve host: {exc}") from None
        if not addresses:
            raise FetchError(host, "host resolves to no address")
        for address in addresses:
            if not self.is_allowed(address):
                raise FetchError(
                    host,
                    f"refusing to connect to non-public address {address} "
                    "(set settings.allow_private_hosts or allowed_private_networks to allow)",
                )
        return addresses


def check_host_allowed(host: str, allow_private: bool) -> None:
    """Refuse hosts that resolve to loopback/private/link-local/reserved addresses."""
    AddressGuard(FetchSettings(allow_private_hosts=allow_private)).resolve(host, 0)


def _pinned_socket(guard: AddressGuard, connection: HTTPConnection) -> socket.socket:
    """Resolve once, check, connect to the checked address (what `_new_conn` does, guarded)."""
    last_error: OSError | None = None
    for address in guard.resolve(connection._dns_host, connection.port or 80):
        try:
            sock = urllib3.util.connection.create_connection(
                (address, connection.port or 80),
                connection.timeout,
                source_address=connection.source_address,
                socket_options=connection.socket_options,
            )
        except TimeoutError as exc:
            raise ConnectTimeoutError(
                connection, f"connection to {connection.host} ({address}) timed out"
            ) from exc
        except OSError as exc:
            last_error = exc
            continue
        return sock
    raise NewConnectionError(connection, f"failed to connect to {connection.host}: {last_error}")


def _guarded_pool_manager(guard: AddressGuard, max_hosts: int) -> urllib3.PoolManager:
    class GuardedHTTPConnection(HTTPConnection):
        def _new_conn(self) -> socket.socket:
            return _pinned_socket(guard, self)

    class GuardedHTTPSConnection(HTTPSConnection):
        # TLS still verifies the certificate and sends SNI for the host name, not the address.
        def _new_conn(self) -> socket.socket:
            return _pinned_socket(guard, self)

    class GuardedHTTPPool(HTTPConnectionPool):
        ConnectionCls = GuardedHTTPConnection

    class GuardedHTTPSPool(HTTPSConnectionPool):
        ConnectionCls = GuardedHTTPSConnection

    manager = urllib3.PoolManager(num_pools=max(10, max_hosts * 4), maxsize=2, block=False)
    manager.pool_classes_by_scheme = {"http": GuardedHTTPPool, "https": GuardedHTTPSPool}
    return manager


class _Retry(Exception):
    """A failure worth retrying after `delay` (None: the usual backoff)."""

    def __init__(self, reason: str, delay: float | None = None) -> None:
        super().__init__(reason)
        self.reason = reason
        self.delay = delay


@dataclass
class _HostSlot:
    lock: threading.Lock = field(default_factory=threading.Lock)
    last: float | None = None
    delay: float = 0.0


def equal_jitter(delay: float) -> float:
    """Half the delay fixed, half random: spreads retries without shortening them much."""
    return delay / 2 + random.uniform(0, delay / 2)


class Fetcher:
    """Fetches URLs with the manners in `FetchSettings`. Thread-safe: share one per run."""

    def __init__(
        self,
        settings: FetchSettings | None = None,
        sleep: Callable[[float], None] = time.sleep,
        clock: Callable[[], float] = time.monotonic,
        resolver: Resolver | None = None,
        jitter: Callable[[float], float] = equal_jitter,
    ) -> None:
        self.settings = settings or FetchSettings()
        self._sleep = sleep
        self._clock = clock
        self._jitter = jitter
        self.guard = AddressGuard(self.settings, resolver)
        self._pool = _guarded_pool_manager(self.guard, self.settings.max_parallel_hosts)
        self._hosts: dict[str, _HostSlot] = {}
        self._hosts_lock = threading.Lock()

    def close(self) -> None:
        self._pool.clear()

    def fetch(
        self, url: str, etag: str | None = None, last_modified: str | None = None
    ) -> FetchResult:
        scheme = urlsplit(url).scheme.lower()
        if scheme == "file":
            return self._fetch_file(url, last_modified)
        if scheme in ("http", "https"):
            return self._fetch_http(url, etag, last_modified)
        raise FetchError(url, f"unsupported URL scheme {scheme!r}")

    def set_host_delay(self, url: str, delay_s: float) -> None:
        """Raise the politeness delay for one host (e.g. a robots.txt Crawl-delay)."""
        self._slot(urlsplit(url).netloc.lower()).delay = delay_s

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
        return FetchResult(url, 200, content, guess_file_type(path), None, None, mtime)

    # -- HTTP ----------------------------------------------------------------------------------

    def _slot(self, host: str) -> _HostSlot:
        with self._hosts_lock:
            slot = self._hosts.get(host)
            if slot is None:
                slot = self._hosts[host] = _HostSlot(delay=self.settings.per_host_delay_s)
            return slot

    @contextmanager
    def _host_turn(self, host: str) -> Iterator[None]:
        """One request at a time per host, at least the host's delay after the last one."""
        slot = self._slot(host)
        with slot.lock:
            if slot.last is not None:
                remaining = slot.delay - (self._clock() - slot.last)
                if remaining > 0:
                    self._sleep(remaining)
            try:
                yield
            finally:
                slot.last = self._clock()

    def _fetch_http(self, url: str, etag: str | None, last_modified: str | None) -> FetchResult:
        parts = urlsplit(url)
        if not parts.hostname:
            raise FetchError(url, "URL has no host")
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
            try:
                with self._host_turn(parts.netloc.lower()):
                    return self._request(url, headers, etag, last_modified)
            except _Retry as retry:
                if attempt >= self.settings.max_retries:
                    raise FetchError(
                        url, f"{retry.reason} (gave up after {attempt + 1} attempts)"
                    ) from None
                if retry.delay is not None and retry.delay > self.settings.max_backoff_s:
                    raise FetchError(
                        url,
                        f"{retry.reason}; server asks to retry after {retry.delay:.0f} s, "
                        f"over settings.max_backoff_s ({self.settings.max_backoff_s:.0f} s)",
                    ) from None
                delay = (
                    retry.delay
                    if retry.delay is not None
                    else self._jitter(
                        min(
                            self.settings.backoff_base_s * 2.0**attempt, self.settings.max_backoff_s
                        )
                    )
                )
            attempt += 1
            self._sleep(max(delay, 0.0))

    def _request(
        self,
        url: str,
        headers: dict[str, str],
        etag: str | None,
        last_modified: str | None,
    ) -> FetchResult:
        settings = self.settings
        deadline = self._clock() + settings.total_timeout_s
        timeout = urllib3.Timeout(connect=settings.connect_timeout_s, read=settings.timeout_s)
        current = url
        for _hop in range(settings.max_redirects + 1):
            scheme = urlsplit(current).scheme.lower()
            if scheme not in ("http", "https"):
                raise FetchError(url, f"redirect to unsupported scheme {scheme!r} ({current})")
            try:
                response = self._pool.request(
                    "GET",
                    current,
                    headers=headers,
                    redirect=False,
                    retries=False,
                    preload_content=False,
                    decode_content=False,
                    timeout=timeout,
                )
            except FetchError as exc:
                hop = "" if current == url else f"redirect to {current}: "
                raise FetchError(url, hop + exc.reason) from None
            except (ConnectTimeoutError, ReadTimeoutError) as exc:
                raise _Retry(f"timed out: {_short(exc)}") from None
            except SSLError as exc:
                raise FetchError(url, f"TLS error: {_short(exc)}") from None
            except (NewConnectionError, ProtocolError, HTTPError) as exc:
                raise _Retry(f"network error: {_short(exc)}") from None
            try:
                status = response.status
                if status in REDIRECT_STATUSES:
                    location = response.headers.get("Location")
                    if not location:
                        raise FetchError(url, f"HTTP {status} redirect without a Location")
                    current = urljoin(current, location.strip())
                    continue
                if status == 304:
                    return FetchResult(
                        current,
                        304,
                        b"",
                        etag=response.headers.get("ETag") or etag,
                        last_modified=response.headers.get("Last-Modified") or last_modified,
                    )
                if status in RETRY_STATUSES:
                    retry_after = response.headers.get("Retry-After")
                    raise _Retry(
                        f"HTTP {status} {response.reason or ''}".strip(),
                        _parse_retry_after(retry_after) if retry_after else None,
                    )
                if status >= 400:
                    raise FetchError(
                        url, f"HTTP {status} {response.reason or ''}".strip(), status=status
                    )
                content = self._read_body(url, response, deadline)
            finally:
                _finish(response)
            return FetchResult(
                url=current,
                status=status,
                content=content,
                content_type=_content_type(response.headers.get("Content-Type", "")),
                charset=_charset(response.headers.get("Content-Type", "")),
                etag=response.headers.get("ETag"),
                last_modified=response.headers.get("Last-Modified"),
                headers={k.lower(): v for k, v in response.headers.items()},
            )
        raise FetchError(url, f"more than {settings.max_redirects} redirects (last: {current})")

    def _read_body(self, url: str, response: Any, deadline: float) -> bytes:
        """Stream the body, enforcing the size cap (after decompression) and the deadline."""
        limit = self.settings.max_bytes
        length = response.headers.get("Content-Length", "")
        if length.isdigit() and int(length) > limit:
            raise FetchError(url, f"response is {length} bytes, over the {limit} limit")
        encoding = response.headers.get("Content-Encoding", "").lower().strip()
        decompressor = (
            zlib.decompressobj(zlib.MAX_WBITS | 32)  # gzip or zlib header, detected
            if encoding in ("gzip", "x-gzip", "deflate")
            else None
        )
        chunks: list[bytes] = []
        raw_size = size = 0
        while True:
            if self._clock() > deadline:
                raise FetchError(
                    url,
                    f"response not complete within settings.total_timeout_s "
                    f"({self.settings.total_timeout_s:g} s)",
                )
            try:
                chunk = response.read1(_CHUNK)
            except (ReadTimeoutError, TimeoutError):
                raise _Retry("timed out reading the response") from None
            except (ProtocolError, HTTPError, OSError) as exc:
                raise _Retry(f"connection broken while reading: {_short(exc)}") from None
            if not chunk:
                break
            raw_size += len(chunk)
            if raw_size > limit:
                raise FetchError(url, f"response exceeds the {limit} byte limit")
            if decompressor is not None:
                try:
                    chunk = decompressor.decompress(chunk, limit + 1 - size)
                except zlib.error as exc:
                    raise FetchError(url, f"corrupt {encoding} body: {exc}") from None
                if decompressor.unconsumed_tail:
                    raise FetchError(url, f"decompressed body exceeds the {limit} byte limit")
            size += len(chunk)
            if size > limit:
                raise FetchError(url, f"decompressed body exceeds the {limit} byte limit")
            chunks.append(chunk)
        return b"".join(chunks)


def _finish(response: Any) -> None:
    """Hand the connection back for reuse when the body is done or small enough to skip;
    otherwise drop it (an unread large body must not be downloaded just to reuse a socket)."""
    length = response.headers.get("Content-Length", "")
    if response.isclosed() or (length.isdigit() and int(length) <= _CHUNK):
        try:
            response.drain_conn()
        except (HTTPError, OSError):
            response.close()
            return
        response.release_conn()
    else:
        response.close()


def _short(exc: BaseException) -> str:
    text = str(exc)
    return text if len(text) < 200 else text[:197] + "..."


def _content_type(header: str) -> str:
    return header.split(";", 1)[0].strip().lower()


def _charset(header: str) -> str | None:
    for param in header.split(";")[1:]:
        key, _, value = param.partition("=")
        if key.strip().lower() == "charset" and value.strip():
            return value.strip().strip("'\"").lower()
    return None


def _parse_retry_after(value: str) -> float | None:
    value = value.strip()
    if value.isdigit():
        return float(value)
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    return max(0.0, float(when.timestamp() - time.time()))


def guess_file_type(path: Path) -> str:
    suffix = path.suffix.lower()
    if suffix in (".html", ".htm", ".xhtml"):
        return "text/html"
    if suffix in (".xml", ".rss", ".atom", ".rdf"):
        return "application/xml"
    if suffix in (".txt", ".md", ".text"):
        return "text/plain"
    return ""
