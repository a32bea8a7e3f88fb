"""Opening the DuckDB file: UTC sessions, and waiting politely while another process writes.

DuckDB lets one process hold a file for writing and no one else meanwhile (not even readers).
So writers hold the file only while they write a batch, and everyone who finds it held retries
for a little while; past that, the error names the process that holds it.
"""

from __future__ import annotations

import json
import os
import re
import socket
import sys
import time
from contextlib import suppress
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import duckdb

from nlp_pipeline.errors import StoreAccessError, StoreError

READER_WAIT_S = 5.0
WRITER_WAIT_S = 60.0

# Rows per row group when a writer attaches the file. Each write batch ends in a checkpoint that
# appends a small row group, and DuckDB's vacuum later merges small neighbours into one of up
# to this many rows, holding all of their text in memory while it does: at DuckDB's default
# (122,880) a long ingest's memory climbs with the store, in jumps, as those merges grow. A
# small bound keeps it flat. Readers are a little slower over many small groups, so
# `Store.optimize()` rewrites the fact tables answers read with DuckDB's default size.
WRITE_ROW_GROUP_ROWS = 4096
COMPACT_ROW_GROUP_ROWS = 122_880


class StoreBusyError(StoreAccessError):
    """Another process held the store for longer than this one would wait."""


def writer_marker(path: str) -> Path:
    """The file in which a writing process says who it is, beside the store."""
    return Path(path + ".writer")


def write_marker(path: str) -> None:
    info = {
        "pid": os.getpid(),
        "host": socket.gethostname(),
        "command": " ".join([Path(sys.argv[0]).name, *sys.argv[1:]]) if sys.argv else "python",
        "since": datetime.now(UTC).strftime("%Y-%m-%d %H:%M:%S UTC"),
    }
    with suppress(OSError):  # only a courtesy to readers; the store works without it
        writer_marker(path).write_text(json.dumps(info), encoding="utf-8")


def remove_marker(path: str) -> None:
    marker = writer_marker(path)
    try:
        info = json.loads(marker.read_text(encoding="utf-8"))
        if info.get("pid") == os.getpid():
            marker.unlink()
    except (OSError, ValueError):
        pass


def _holder(path: str, error: str) -> str:
    """Who holds the store, in words: from the writer's marker, else from DuckDB's message."""
    pid_match = re.search(r"PID (\d+)", error)
    pid = int(pid_match.group(1)) if pid_match else None
    try:
        info = json.loads(writer_marker(path).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        info = {}
    if info and (pid is None or info.get("pid") == pid):
        return f"pid {info.get('pid')} (`{info.get('command')}`, writing since {info.get('since')})"
    if pid is not None:
        try:
            raw = Path(f"/proc/{pid}/cmdline").read_bytes()
            command = " ".join(part.decode(errors="replace") for part in raw.split(b"\0") if part)
            return f"pid {pid} (`{command}`)"
        except OSError:
            return f"pid {pid}"
    return "another process"


def _is_lock_conflict(exc: duckdb.Error) -> bool:
    text = str(exc).lower()
    return "lock" in text and ("conflicting" in text or "could not set lock" in text)


STORE_ALIAS = "nlp_store"


def host_connection() -> Any:
    """The in-memory DuckDB instance a Store works through, its sessions in UTC.

    Creating a DuckDB instance costs tens of milliseconds; attaching a file to a live one costs
    about one (reads) or a checkpoint (writes). So each Store keeps one instance and attaches
    the store file only for the length of an operation."""
    con = duckdb.connect(":memory:")
    # Periods, dates and `as of` cuts must not depend on the machine's time zone.
    con.execute("SET TimeZone = 'UTC'")
    con.execute("SET enable_progress_bar = false")  # answers print tables, not progress bars
    return con


def attach(
    con: Any,
    path: str,
    read_only: bool,
    wait_s: float,
    row_group_rows: int = WRITE_ROW_GROUP_ROWS,
) -> None:
    """Attach the store file as the default database, retrying while another process holds it.
    A writer's new row groups hold at most `row_group_rows` rows (DuckDB does not keep this
    in the file; it applies to this attachment only)."""
    quoted = path.replace("'", "''")
    mode = " (READ_ONLY)" if read_only else f" (ROW_GROUP_SIZE {int(row_group_rows)})"
    deadline = time.monotonic() + wait_s
    delay = 0.02
    while True:
        try:
            con.execute(f"ATTACH '{quoted}' AS {STORE_ALIAS}{mode}")
            break
        except duckdb.Error as exc:
            if not _is_lock_conflict(exc):
                raise StoreAccessError(f"cannot open store {path}: {exc}") from None
            if time.monotonic() >= deadline:
                raise StoreBusyError(
                    f"store {path} is busy: held by {_holder(path, str(exc))}; waited "
                    f"{wait_s:g} s. Try again when it has finished its batch, or wait longer "
                    f"(NLP_PIPELINE_DB_WAIT=SECONDS)"
                ) from None
            time.sleep(delay)
            delay = min(delay * 2, 0.25)
    con.execute(f"USE {STORE_ALIAS}")


def detach(con: Any) -> None:
    """Give the file back (DuckDB checkpoints a written store as it detaches)."""
    con.execute("USE memory")
    con.execute(f"DETACH {STORE_ALIAS}")


def wait_seconds(read_only: bool, wait_s: float | None) -> float:
    if wait_s is not None:
        return wait_s
    env = os.environ.get("NLP_PIPELINE_DB_WAIT")
    if env:
        try:
            return max(0.0, float(env))
        except ValueError:
            raise StoreError(f"NLP_PIPELINE_DB_WAIT={env!r} is not a number of seconds") from None
    return READER_WAIT_S if read_only else WRITER_WAIT_S


def process_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True
