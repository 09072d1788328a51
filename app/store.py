"""Stored results in SQLite: every profile and comparison the service answers, kept by id.

One file (WAL, ``synchronous=FULL``): a row is committed and synced before its id is sent, so a client that
got an id can always read it back, after a restart or a SIGKILL. Rows are written once and never updated (rows
that arrive together share one transaction: group commit): a measurement that is cancelled or fails half way
writes nothing.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import sqlite3
import threading
import time
import uuid
from collections import OrderedDict
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Literal

import orjson
from fastapi.responses import Response

Kind = Literal["profile", "compare", "sweep"]

_SCHEMA = """
CREATE TABLE IF NOT EXISTS results (
    seq      INTEGER PRIMARY KEY AUTOINCREMENT,
    id       TEXT NOT NULL UNIQUE,
    kind     TEXT NOT NULL,
    name     TEXT,
    created  REAL NOT NULL,
    request  TEXT,          -- digest of the canonical request, for serving identical requests again
    summary  TEXT NOT NULL, -- JSON: the list view's fields
    body     TEXT NOT NULL  -- JSON: the full response body, as sent
);
CREATE INDEX IF NOT EXISTS results_request ON results (request);
"""


def request_digest(canonical: bytes) -> str:
    return hashlib.sha256(canonical).hexdigest()


def iso(created: float) -> str:
    return datetime.fromtimestamp(created, timezone.utc).isoformat(timespec="milliseconds").replace("+00:00", "Z")


@dataclass(frozen=True)
class Stored:
    id: str
    kind: Kind
    created: float
    body: str


@dataclass
class _Row:
    values: tuple[Any, ...]  # id, kind, name, created, request, summary, body
    committed: threading.Event = field(default_factory=threading.Event)
    error: Exception | None = None


class StoreUnavailable(RuntimeError):
    """The store cannot be written now (disk full, read-only, locked): the request may be sent again later."""


class TooLargeToStore(ValueError):
    """A result over the share of the store's cap one result may take: answered, not kept (keeping it would
    evict many others)."""


class ResultStore:
    """Thread-safe: one writing connection behind a lock (SQLite serialises writers anyway), and one reading
    connection per thread, which WAL lets read while a write is being synced. The answers to the most recent
    requests are also held in memory, so that an identical request is answered on the event loop."""

    def __init__(
        self,
        path: str | Path,
        memory_items: int = 256,
        *,
        memory_bytes: int = 64 * 2**20,
        max_bytes: int | None = None,
        max_age_s: float | None = None,
        max_result_share: float = 0.1,
    ) -> None:
        self.path = Path(path)
        self.memory_items = memory_items
        self.memory_bytes = memory_bytes  # the in-memory answers, in bytes of body
        self.max_bytes = max_bytes  # stored bodies and summaries; the oldest results go first past it
        self.max_age_s = max_age_s  # results older than this are removed
        # One result may take this share of max_bytes: no single answer evicts more than that of the others.
        self.max_result_bytes = int(max_bytes * max_result_share) if max_bytes is not None else None
        self._stored_bytes = 0
        self._recent_bytes = 0
        self._conn: sqlite3.Connection | None = None
        self._lock = threading.Lock()  # the writer's: held while a batch of rows is committed
        self._queue: list[_Row] = []  # rows waiting for the next commit
        self._queue_lock = threading.Lock()
        self._recent: OrderedDict[str, Stored] = OrderedDict()
        self._recent_lock = threading.Lock()  # held for dict operations only, never across I/O
        self._readers = threading.local()
        self._generation = 0  # bumped by close(): a thread's reader from before it is not used again

    def open(self) -> None:
        """Create the file, its folder and the table on first use; idempotent."""
        with self._lock:
            self._connect()

    def check_writable(self) -> None:
        """Raise StoreUnavailable unless a row can be written now (an existing file on a read-only mount opens
        and reads fine; only a write tells). The probe row is rolled back."""
        with self._lock:
            try:
                conn = self._connect()
                conn.execute("BEGIN IMMEDIATE")
                try:
                    conn.execute(
                        "INSERT INTO results (id, kind, created, summary, body) VALUES ('probe', 'probe', 0, '', '')"
                    )
                finally:
                    with contextlib.suppress(sqlite3.Error):
                        conn.execute("ROLLBACK")
            except sqlite3.Error as exc:
                raise StoreUnavailable(f"the result store {self.path} cannot be written: {exc}") from None

    def _connect(self) -> sqlite3.Connection:
        if self._conn is None:
            try:
                self.path.parent.mkdir(parents=True, exist_ok=True)
                conn = sqlite3.connect(self.path, check_same_thread=False, isolation_level=None)
                conn.execute("PRAGMA journal_mode=WAL")
                conn.execute("PRAGMA synchronous=FULL")  # survive power loss too, not only a killed process
                conn.execute("PRAGMA busy_timeout=5000")
                conn.executescript(_SCHEMA)
                self._stored_bytes = self._count_bytes(conn)
            except (sqlite3.Error, OSError) as exc:
                raise StoreUnavailable(f"the result store {self.path} cannot be opened: {exc}") from None
            self._conn = conn
        return self._conn

    def _reader(self) -> sqlite3.Connection:
        conn = getattr(self._readers, "conn", None)
        if conn is None or self._readers.generation != self._generation:
            self.open()  # the file and table exist before anyone reads
            conn = sqlite3.connect(f"file:{self.path}?mode=ro", uri=True, isolation_level=None)
            conn.execute("PRAGMA busy_timeout=5000")
            self._readers.conn, self._readers.generation = conn, self._generation
        return conn

    def close(self) -> None:
        with self._lock:
            if self._conn is not None:
                self._conn.close()
                self._conn = None
            self._generation += 1

    def add(
        self,
        kind: Kind,
        body: dict[str, Any],
        *,
        summary: dict[str, Any],
        request: str | None = None,
        result_id: str | None = None,
    ) -> Stored:
        """Write one result; returns once it is on disk. ``body`` gains ``id`` and ``created`` first;
        ``summary`` (with its ``name``) is what the list shows."""
        return self.add_encoded(kind, encode(body), summary=summary, request=request, result_id=result_id)

    def add_encoded(
        self,
        kind: Kind,
        body: bytes,
        *,
        summary: dict[str, Any],
        request: str | None = None,
        result_id: str | None = None,
    ) -> Stored:
        """``add`` for a body already encoded as a JSON object (by a counting process).

        Group commit: writers that arrive while another holds the write lock queue their row; whoever takes the
        lock next writes every queued row in one transaction (one sync for all), and each writer returns once
        its own row is committed. Under load that is one sync for many answers instead of one each."""
        if self.max_result_bytes is not None and len(body) > self.max_result_bytes:
            raise TooLargeToStore(
                f"not stored: its {len(body):,} bytes are over the {self.max_result_bytes:,} one result may take "
                f"(PROFILER_STORE_MAX_RESULT_SHARE of PROFILER_STORE_MAX_BYTES); keeping it would evict older results"
            )
        created = time.time()
        rid = result_id or uuid.uuid4().hex
        rest = body.decode()[1:].lstrip()
        text = f'{{"id":"{rid}","created":"{iso(created)}"' + ("," + rest if rest != "}" else "}")
        summary_text = json.dumps(summary)
        row = _Row((rid, kind, summary.get("name"), created, request, summary_text, text))
        with self._queue_lock:
            self._queue.append(row)
        with self._lock:
            if not row.committed.is_set():
                self._commit_queued()
        if row.error is not None:
            raise row.error
        stored = Stored(rid, kind, created, text)
        if request is not None:
            self._remember(request, stored)
        return stored

    def _commit_queued(self) -> None:
        """With the write lock held: every queued row in one transaction; each row learns how it ended."""
        with self._queue_lock:
            rows, self._queue = self._queue, []
        evicted: set[str] = set()
        try:
            conn = self._connect()
            conn.execute("BEGIN IMMEDIATE")
            try:
                if self._stored_bytes < 0:  # a write failed before its count was known: count again
                    self._stored_bytes = self._count_bytes(conn)
                conn.executemany(
                    "INSERT INTO results (id, kind, name, created, request, summary, body) VALUES (?,?,?,?,?,?,?)",
                    [r.values for r in rows],
                )
                added = sum(len(r.values[5]) + len(r.values[6]) for r in rows)
                self._stored_bytes += added
                evicted = self._evict(conn, max(r.values[3] for r in rows))
                conn.execute("COMMIT")
            except BaseException:
                self._stored_bytes = -1  # unknown until recounted: nothing is evicted on a guess
                with contextlib.suppress(sqlite3.Error):  # a failed COMMIT (disk full) has rolled back already
                    conn.execute("ROLLBACK")
                with contextlib.suppress(sqlite3.Error):
                    self._stored_bytes = self._count_bytes(conn)
                raise
        except sqlite3.Error as exc:
            error = StoreUnavailable(f"the result store cannot be written: {exc} ({type(exc).__name__})")
            for r in rows:
                r.error = error
        except Exception as exc:
            for r in rows:
                r.error = exc
        finally:
            for r in rows:
                r.committed.set()
        self._forget(evicted)

    def _evict(self, conn: sqlite3.Connection, now: float) -> set[str]:
        """With the write lock held: remove results past the age cap, then the oldest past the size cap (never
        the newest, just written). The ids removed."""
        evicted: set[str] = set()
        if self.max_age_s is not None:
            rows = conn.execute(
                "DELETE FROM results WHERE created < ? RETURNING id, length(body) + length(summary)",
                (now - self.max_age_s,),
            ).fetchall()
            evicted.update(rid for rid, _ in rows)
            self._stored_bytes -= sum(size for _, size in rows)
        while self.max_bytes is not None and self._stored_bytes > self.max_bytes:
            rows = conn.execute(
                "DELETE FROM results WHERE seq IN (SELECT seq FROM results WHERE seq < (SELECT max(seq) FROM results)"
                " ORDER BY seq LIMIT 16) RETURNING id, length(body) + length(summary)"
            ).fetchall()
            if not rows:
                break  # only the newest is left (results over max_result_bytes are never written)
            evicted.update(rid for rid, _ in rows)
            self._stored_bytes -= sum(size for _, size in rows)
        return evicted

    def delete(self, result_id: str) -> bool:
        """Remove one stored result; False when there was none."""
        with self._lock:
            row = (
                self._connect()
                .execute("DELETE FROM results WHERE id = ? RETURNING length(body) + length(summary)", (result_id,))
                .fetchone()
            )
            if row is not None:
                self._stored_bytes -= row[0]
        self._forget({result_id})
        return row is not None

    def _forget(self, ids: set[str]) -> None:
        """Drop removed results from the in-memory answers, so that no identical request is answered with them."""
        if not ids:
            return
        with self._recent_lock:
            for digest in [d for d, s in self._recent.items() if s.id in ids]:
                self._recent_bytes -= len(self._recent.pop(digest).body)

    @staticmethod
    def _count_bytes(conn: sqlite3.Connection) -> int:
        (size,) = conn.execute("SELECT coalesce(sum(length(body) + length(summary)), 0) FROM results").fetchone()
        return size

    def get(self, result_id: str) -> Stored | None:
        row = (
            self._reader().execute("SELECT id, kind, created, body FROM results WHERE id = ?", (result_id,)).fetchone()
        )
        return Stored(*row) if row else None

    def recall(self, request: str) -> Stored | None:
        """The answer to an identical recent request, from memory only: never waits on the database."""
        with self._recent_lock:
            stored = self._recent.get(request)
            if stored is not None:
                self._recent.move_to_end(request)
            return stored

    def find_request(self, request: str) -> Stored | None:
        """The newest result of an identical request, if one is stored."""
        stored = self.recall(request)
        if stored is not None:
            return stored
        row = (
            self._reader()
            .execute(
                "SELECT id, kind, created, body FROM results WHERE request = ? ORDER BY seq DESC LIMIT 1", (request,)
            )
            .fetchone()
        )
        if row is None:
            return None
        stored = Stored(*row)
        self._remember(request, stored)
        return stored

    def _remember(self, request: str, stored: Stored) -> None:
        size = len(stored.body)
        if self.memory_items <= 0 or size > self.memory_bytes // 4:  # a few big answers must not flush the rest
            return
        with self._recent_lock:
            previous = self._recent.pop(request, None)
            if previous is not None:
                self._recent_bytes -= len(previous.body)
            self._recent[request] = stored
            self._recent_bytes += size
            while len(self._recent) > self.memory_items or self._recent_bytes > self.memory_bytes:
                _, dropped = self._recent.popitem(last=False)
                self._recent_bytes -= len(dropped.body)

    def list(
        self,
        *,
        limit: int,
        offset: int,
        name: str | None = None,
        kind: Kind | None = None,
        since: float | None = None,
        until: float | None = None,
    ) -> tuple[int, list[dict[str, Any]]]:
        """(matching count, one page of summaries), newest first; ``name`` matches any part, any case;
        ``since`` and ``until`` (Unix seconds) bound when they were stored, ``until`` excluded."""
        where: list[str] = []
        args: list[Any] = []
        if since is not None:
            where.append("created >= ?")
            args.append(since)
        if until is not None:
            where.append("created < ?")
            args.append(until)
        if name:
            escaped = name.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
            where.append("name LIKE ? ESCAPE '\\'")
            args.append(f"%{escaped}%")
        if kind:
            where.append("kind = ?")
            args.append(kind)
        clause = f"WHERE {' AND '.join(where)}" if where else ""
        conn = self._reader()
        conn.execute("BEGIN")  # one read transaction: the count and the page see the same rows
        try:
            (total,) = conn.execute(f"SELECT count(*) FROM results {clause}", args).fetchone()
            rows = conn.execute(
                f"SELECT id, kind, created, summary FROM results {clause} ORDER BY seq DESC LIMIT ? OFFSET ?",
                [*args, limit, offset],
            ).fetchall()
        finally:
            conn.execute("COMMIT")
        items = [{"id": rid, "kind": k, "created": iso(c), **json.loads(summary)} for rid, k, c, summary in rows]
        return total, items


def encode(data: Any) -> bytes:
    try:
        return orjson.dumps(data)  # 7x faster than json.dumps on a report
    except orjson.JSONEncodeError:  # an integer past 64 bits (limits raised that far): json writes any int
        return json.dumps(data, separators=(",", ":")).encode()


def profile_summary(body: dict[str, Any]) -> dict[str, Any]:
    spec = body["spec"]
    out = {
        "name": body["name"] or body["preset"],
        "preset": body["preset"],
        "width_multiplier": spec["width_multiplier"],
        "resolution": spec["resolution"],
        "batch_size": body["batch_size"],
        "totals": {k: v for k, v in body["totals"].items() if k != "unsupported_ops"},
    }
    if "latency" in body:
        out["latency_ms"] = latency_summary(body["latency"])
    return out


def latency_summary(latency: list[dict[str, Any]], figure: str = "latency_ms") -> dict[str, float | None]:
    """Each device's end-to-end median (``b_over_a`` for a comparison; None where it failed), for the list
    view; a runtime other than eager is named after its device (``cpu onnxruntime``)."""
    if figure == "b_over_a":
        return {_entry_key(lat): lat.get("b_over_a") for lat in latency}
    return {_entry_key(lat): lat["end_to_end"]["median_ms"] if "end_to_end" in lat else None for lat in latency}


def _entry_key(entry: dict[str, Any]) -> str:
    runtime = (entry.get("runtime") or {}).get("name", "eager")
    return entry["device"] if runtime == "eager" else f"{entry['device']} {runtime}"


def compare_summary(body: dict[str, Any]) -> dict[str, Any]:
    a, b = profile_summary(body["a"]), profile_summary(body["b"])
    return {"name": f"{a['name']} vs {b['name']}", "a": a, "b": b, "ratios": body["ratios"]}


def stored_response(stored: Stored, *, cached: bool) -> Response:
    """The stored bytes as they are, with ``cached`` spliced in front (no decode, no re-encode)."""
    head = b'{"cached":true,' if cached else b'{"cached":false,'
    headers = {"X-Profile-Cache": "hit" if cached else "miss", "Location": f"/profiles/{stored.id}"}
    return Response(head + stored.body.encode()[1:], media_type="application/json", headers=headers)


def unstored_response(body: bytes, why: str) -> Response:
    """A new answer that was not kept: ``stored: false`` and why spliced in front, no id to read it back by."""
    head = b'{"cached":false,"stored":false,"store_note":' + encode(why) + b","
    return Response(head + body[1:], media_type="application/json", headers={"X-Profile-Cache": "miss"})
