"""Latency predictors and their samples, kept in the result store's SQLite file (their own tables): they
survive restarts, and their bytes are bounded (the oldest samples go first; a few predictors per key).

A predictor is kept as scikit-learn documents it, pickled; one that no longer loads (scikit-learn changed) or
that an older fit made (its trees mean something else) is skipped with a log line, and fitted again from its
samples."""

from __future__ import annotations

import dataclasses
import json
import logging
import pickle
import sqlite3
import threading
import time
from pathlib import Path

from profiler.predict import DesignSample, LatencyPredictor, PredictorKey
from profiler.predict.samples import decode_sample, encode_sample

from .store import StoreUnavailable

log = logging.getLogger("uvicorn.error")

_SCHEMA = """
CREATE TABLE IF NOT EXISTS predictor_samples (
    seq     INTEGER PRIMARY KEY AUTOINCREMENT,
    key     TEXT NOT NULL,  -- JSON of the PredictorKey
    created REAL NOT NULL,
    sample  BLOB NOT NULL
);
CREATE INDEX IF NOT EXISTS predictor_samples_key ON predictor_samples (key);
CREATE TABLE IF NOT EXISTS predictors (
    seq     INTEGER PRIMARY KEY AUTOINCREMENT,
    id      TEXT NOT NULL UNIQUE,
    key     TEXT NOT NULL,
    created REAL NOT NULL,
    model   BLOB NOT NULL
);
"""
_KEEP_PER_KEY = 3  # predictors of one key kept (the newest answers; older ones stay readable a while)


def key_text(key: PredictorKey) -> str:
    return json.dumps(dataclasses.asdict(key), sort_keys=True)


def key_of(text: str) -> PredictorKey:
    """The key ``key_text`` wrote."""
    return PredictorKey(**json.loads(text))


class PredictorStore:
    def __init__(self, path: str | Path, max_sample_bytes: int = 256 * 2**20) -> None:
        self.path = Path(path)
        self.max_sample_bytes = max_sample_bytes
        self._conn: sqlite3.Connection | None = None
        self._lock = threading.Lock()

    def _connect(self) -> sqlite3.Connection:
        if self._conn is None:
            try:
                self.path.parent.mkdir(parents=True, exist_ok=True)
                conn = sqlite3.connect(self.path, check_same_thread=False, isolation_level=None)
                conn.execute("PRAGMA journal_mode=WAL")
                conn.execute("PRAGMA synchronous=FULL")
                conn.execute("PRAGMA busy_timeout=5000")
                conn.executescript(_SCHEMA)
            except (sqlite3.Error, OSError) as exc:
                raise StoreUnavailable(f"the predictor store {self.path} cannot be opened: {exc}") from None
            self._conn = conn
        return self._conn

    def close(self) -> None:
        with self._lock:
            if self._conn is not None:
                self._conn.close()
                self._conn = None

    def add_samples(self, samples: list[DesignSample]) -> None:
        """Keep ``samples`` (one transaction), then the newest within ``max_sample_bytes``."""
        if not samples:
            return
        rows = [(key_text(s.key), time.time(), encode_sample(s)) for s in samples]
        with self._lock:
            conn = self._connect()
            try:
                conn.execute("BEGIN IMMEDIATE")
                conn.executemany("INSERT INTO predictor_samples (key, created, sample) VALUES (?, ?, ?)", rows)
                total = conn.execute("SELECT COALESCE(SUM(LENGTH(sample)), 0) FROM predictor_samples").fetchone()[0]
                if total > self.max_sample_bytes:
                    self._evict(conn, total - self.max_sample_bytes)
                conn.execute("COMMIT")
            except sqlite3.Error as exc:
                conn.execute("ROLLBACK") if conn.in_transaction else None
                raise StoreUnavailable(f"samples could not be stored: {exc}") from None

    @staticmethod
    def _evict(conn: sqlite3.Connection, excess: int) -> None:
        freed, last = 0, None
        for seq, size in conn.execute("SELECT seq, LENGTH(sample) FROM predictor_samples ORDER BY seq"):
            if freed >= excess:
                break
            freed, last = freed + size, seq
        if last is not None:
            conn.execute("DELETE FROM predictor_samples WHERE seq <= ?", (last,))

    def samples(self, key: PredictorKey) -> list[DesignSample]:
        with self._lock:
            rows = self._connect().execute(
                "SELECT sample FROM predictor_samples WHERE key = ? ORDER BY seq", (key_text(key),)
            )
            return [decode_sample(blob) for (blob,) in rows.fetchall()]

    def sample_counts(self) -> dict[PredictorKey, int]:
        with self._lock:
            rows = self._connect().execute("SELECT key, COUNT(*) FROM predictor_samples GROUP BY key").fetchall()
        return {key_of(key): n for key, n in rows}

    def add_predictor(self, predictor: LatencyPredictor) -> None:
        blob = pickle.dumps(predictor, protocol=pickle.HIGHEST_PROTOCOL)
        key = key_text(predictor.key)
        with self._lock:
            conn = self._connect()
            conn.execute("BEGIN IMMEDIATE")
            conn.execute(
                "INSERT INTO predictors (id, key, created, model) VALUES (?, ?, ?, ?)",
                (predictor.id, key, predictor.fitted_at, blob),
            )
            conn.execute(
                "DELETE FROM predictors WHERE key = ? AND seq NOT IN "
                "(SELECT seq FROM predictors WHERE key = ? ORDER BY seq DESC LIMIT ?)",
                (key, key, _KEEP_PER_KEY),
            )
            conn.execute("COMMIT")

    def delete_predictor(self, predictor_id: str) -> bool:
        with self._lock:
            return self._connect().execute("DELETE FROM predictors WHERE id = ?", (predictor_id,)).rowcount > 0

    def predictors(self) -> tuple[list[LatencyPredictor], set[PredictorKey]]:
        """Every kept predictor that loads and was made by this version's fit, oldest first; and the keys of those
        that do not (to be fitted again from their samples)."""
        with self._lock:
            rows = self._connect().execute("SELECT id, key, model FROM predictors ORDER BY seq").fetchall()
        out, stale = [], set()
        for predictor_id, key, blob in rows:
            try:
                predictor = pickle.loads(blob)
            except Exception as exc:  # a scikit-learn that changed its classes
                log.warning("predictor %s no longer loads (%s); it is fitted again from its samples", predictor_id, exc)
                stale.add(key_of(key))
                continue
            if not predictor.is_current():
                log.warning("predictor %s was made by an older fit; it is fitted again from its samples", predictor_id)
                stale.add(key_of(key))
                continue
            out.append(predictor)
        return out, stale
