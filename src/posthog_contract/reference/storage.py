"""SQLite storage: one connection, WAL, explicit write transactions.

The server's handlers run on one asyncio thread and call SQLite synchronously, so requests are
serialised at the database and no acknowledged write can be lost. A lock still guards the
connection for the rare call from another thread (the CLI's shutdown path, tests).
"""

from __future__ import annotations

import json
import sqlite3
import threading
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from typing import Any

SCHEMA = """
CREATE TABLE IF NOT EXISTS organizations (
    id TEXT PRIMARY KEY,                 -- uuid
    name TEXT NOT NULL,
    access_control INTEGER NOT NULL      -- PostHog's paid access-control feature (§2.7)
);
CREATE TABLE IF NOT EXISTS projects (
    id INTEGER PRIMARY KEY,              -- also the id of its single environment
    uuid TEXT NOT NULL UNIQUE,
    organization_id TEXT NOT NULL REFERENCES organizations(id),
    name TEXT NOT NULL,
    api_token TEXT NOT NULL UNIQUE,      -- the project API key (phc_...)
    timezone TEXT NOT NULL DEFAULT 'UTC'
);
CREATE TABLE IF NOT EXISTS users (
    id INTEGER PRIMARY KEY,
    uuid TEXT NOT NULL UNIQUE,
    distinct_id TEXT,
    first_name TEXT NOT NULL DEFAULT '',
    last_name TEXT NOT NULL DEFAULT '',
    email TEXT NOT NULL,
    is_email_verified INTEGER,
    is_active INTEGER NOT NULL DEFAULT 1,
    role_at_organization TEXT,
    current_project_id INTEGER
);
CREATE TABLE IF NOT EXISTS memberships (
    id TEXT PRIMARY KEY,                 -- uuid
    organization_id TEXT NOT NULL REFERENCES organizations(id),
    user_id INTEGER NOT NULL REFERENCES users(id),
    level INTEGER NOT NULL,              -- 1 member, 8 admin, 15 owner
    joined_at TEXT NOT NULL,
    UNIQUE (organization_id, user_id)
);
CREATE TABLE IF NOT EXISTS personal_keys (
    id INTEGER PRIMARY KEY,
    label TEXT NOT NULL,
    value TEXT NOT NULL UNIQUE,
    user_id INTEGER NOT NULL REFERENCES users(id),
    scopes TEXT NOT NULL,                -- JSON list, e.g. ["*"] or ["dashboard:read"]
    scoped_teams TEXT                    -- JSON list of project ids, NULL = all
);
CREATE TABLE IF NOT EXISTS insights (
    id INTEGER PRIMARY KEY,
    project_id INTEGER NOT NULL,
    name TEXT,
    description TEXT NOT NULL DEFAULT '',
    filters TEXT NOT NULL DEFAULT '{}',
    query TEXT,
    deleted INTEGER NOT NULL DEFAULT 0,
    created_at TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS texts (
    id INTEGER PRIMARY KEY,
    project_id INTEGER NOT NULL,
    body TEXT,
    created_at TEXT NOT NULL,
    created_by INTEGER REFERENCES users(id),
    last_modified_at TEXT,
    last_modified_by INTEGER REFERENCES users(id)
);
CREATE TABLE IF NOT EXISTS dashboards (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    project_id INTEGER NOT NULL REFERENCES projects(id),
    name TEXT,
    description TEXT NOT NULL DEFAULT '',
    pinned INTEGER NOT NULL DEFAULT 0,
    created_at TEXT NOT NULL,
    created_by INTEGER REFERENCES users(id),
    last_accessed_at TEXT,
    last_refresh TEXT,
    last_viewed_at TEXT,
    deleted INTEGER NOT NULL DEFAULT 0,
    creation_mode TEXT NOT NULL DEFAULT 'default',
    filters TEXT NOT NULL DEFAULT '{}',
    variables TEXT,
    breakdown_colors TEXT,
    data_color_theme_id INTEGER,
    tags TEXT NOT NULL DEFAULT '[]',
    restriction_level INTEGER NOT NULL DEFAULT 21,
    quick_filter_ids TEXT
);
CREATE INDEX IF NOT EXISTS dashboards_by_project ON dashboards(project_id, deleted, pinned, name);
CREATE TABLE IF NOT EXISTS tiles (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    dashboard_id INTEGER NOT NULL REFERENCES dashboards(id),
    insight_id INTEGER REFERENCES insights(id),
    text_id INTEGER REFERENCES texts(id),
    layouts TEXT NOT NULL DEFAULT '{}',
    color TEXT,
    deleted INTEGER NOT NULL DEFAULT 0,
    show_description INTEGER,
    transparent_background INTEGER,
    last_refresh TEXT,
    button_tile_id TEXT REFERENCES button_tiles(id)
);
CREATE INDEX IF NOT EXISTS tiles_by_dashboard ON tiles(dashboard_id, deleted);
-- PostHog's ButtonTile (a UUIDModel): a link button on a dashboard
CREATE TABLE IF NOT EXISTS button_tiles (
    id TEXT PRIMARY KEY,
    project_id INTEGER NOT NULL REFERENCES projects(id),
    url TEXT NOT NULL,
    text TEXT NOT NULL,
    placement TEXT NOT NULL DEFAULT 'left',
    style TEXT NOT NULL DEFAULT 'primary',
    created_by INTEGER REFERENCES users(id),
    last_modified_at TEXT NOT NULL,
    last_modified_by INTEGER REFERENCES users(id)
);
-- PostHog's DataColorTheme (posthog/models/data_color_theme.py): a theme without a project is global,
-- offered to every project; what a dashboard's data_color_theme_id names
CREATE TABLE IF NOT EXISTS data_color_themes (
    id INTEGER PRIMARY KEY,
    project_id INTEGER REFERENCES projects(id),
    name TEXT NOT NULL,
    colors TEXT NOT NULL DEFAULT '[]'
);
-- PostHog's QuickFilter (a UUIDModel, team-scoped): what a dashboard's quick_filter_ids may name
CREATE TABLE IF NOT EXISTS quick_filters (
    id TEXT PRIMARY KEY,
    project_id INTEGER NOT NULL REFERENCES projects(id),
    name TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS sharing_configurations (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    dashboard_id INTEGER NOT NULL REFERENCES dashboards(id),
    created_at TEXT NOT NULL,
    enabled INTEGER NOT NULL DEFAULT 0,
    access_token TEXT NOT NULL UNIQUE,
    settings TEXT,
    password_required INTEGER NOT NULL DEFAULT 0,
    expires_at TEXT                      -- set on the old row by refresh (grace period)
);
CREATE INDEX IF NOT EXISTS sharing_by_dashboard ON sharing_configurations(dashboard_id, expires_at);
CREATE TABLE IF NOT EXISTS collaborators (
    id TEXT PRIMARY KEY,                 -- uuid
    dashboard_id INTEGER NOT NULL REFERENCES dashboards(id),
    user_id INTEGER NOT NULL REFERENCES users(id),
    level INTEGER NOT NULL,
    added_at TEXT NOT NULL,
    updated_at TEXT NOT NULL,
    UNIQUE (dashboard_id, user_id)
);
CREATE TABLE IF NOT EXISTS persons (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    uuid TEXT NOT NULL UNIQUE,
    project_id INTEGER NOT NULL,
    properties TEXT NOT NULL DEFAULT '{}',
    is_identified INTEGER NOT NULL DEFAULT 0,
    created_at TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS person_distinct_ids (
    project_id INTEGER NOT NULL,
    distinct_id TEXT NOT NULL,
    person_id INTEGER NOT NULL REFERENCES persons(id),
    PRIMARY KEY (project_id, distinct_id)
);
CREATE TABLE IF NOT EXISTS events (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,   -- insertion order; tie-breaker for equal timestamps
    uuid TEXT NOT NULL UNIQUE,               -- lowercase, dashed
    project_id INTEGER NOT NULL,
    event TEXT NOT NULL,
    distinct_id TEXT NOT NULL,
    person_id INTEGER,
    properties TEXT NOT NULL DEFAULT '{}',
    ts INTEGER NOT NULL,                     -- microseconds since the epoch, UTC
    elements_chain TEXT NOT NULL DEFAULT '',
    visible_at REAL NOT NULL DEFAULT 0       -- epoch seconds; simulates ingestion delay
);
CREATE INDEX IF NOT EXISTS events_by_time ON events(project_id, ts);
CREATE INDEX IF NOT EXISTS events_by_name ON events(project_id, event, ts);
CREATE INDEX IF NOT EXISTS events_by_distinct_id ON events(project_id, distinct_id, ts);
CREATE INDEX IF NOT EXISTS events_by_person ON events(project_id, person_id, ts);
"""


def dumps(value: Any) -> str | None:
    """JSON text for a JSON column (``None`` stays SQL NULL)."""
    return None if value is None else json.dumps(value, separators=(",", ":"), ensure_ascii=False)


def loads(text: str | None) -> Any:
    return None if text is None else json.loads(text)


def json_text(value: Any) -> str | None:
    """JSON for a JSON column (ASCII-escaped, so any text the parser accepted can be stored)."""
    return None if value is None else json.dumps(value, separators=(",", ":"))


class Database:
    """One SQLite connection with WAL; ``write()`` is one transaction, committed before it returns."""

    def __init__(self, path: str) -> None:
        self.path = path
        self._lock = threading.RLock()
        self._conn = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
        self._conn.row_factory = sqlite3.Row
        self._conn.execute("PRAGMA journal_mode=WAL")
        self._conn.execute("PRAGMA synchronous=NORMAL")
        self._conn.execute("PRAGMA foreign_keys=ON")
        self._conn.execute("PRAGMA busy_timeout=5000")
        self._conn.execute("PRAGMA cache_size=-65536")
        # A 1000-event /batch/ dirties 1,500-3,600 pages (random inserts into the uuid, distinct id and
        # person indexes), so the default checkpoint (every 1000 WAL pages) ran after every such commit:
        # each batch written twice and synced. 16384 pages (64 MB) between checkpoints, and reads through
        # mmap, made capture 20-50% faster at 100k-1M stored events (bench/NOTES.md).
        self._conn.execute("PRAGMA wal_autocheckpoint=16384")
        self._conn.execute("PRAGMA mmap_size=1073741824")
        self._conn.executescript(SCHEMA)
        self._add_missing_columns()

    def _add_missing_columns(self) -> None:
        """A ``--db`` file written by an older reference gains the columns added since (data kept)."""
        tiles = {row[1] for row in self._conn.execute("PRAGMA table_info(tiles)")}
        if "button_tile_id" not in tiles:
            self._conn.execute("ALTER TABLE tiles ADD COLUMN button_tile_id TEXT REFERENCES button_tiles(id)")

    @contextmanager
    def write(self) -> Iterator[sqlite3.Connection]:
        """A write transaction: all of it is stored, or (on any exception) none of it."""
        with self._lock:
            self._conn.execute("BEGIN IMMEDIATE")
            try:
                yield self._conn
            except BaseException:
                self._conn.execute("ROLLBACK")
                raise
            else:
                self._conn.execute("COMMIT")

    def all(self, sql: str, params: Sequence[Any] | dict[str, Any] = ()) -> list[sqlite3.Row]:
        with self._lock:
            return self._conn.execute(sql, params).fetchall()

    def one(self, sql: str, params: Sequence[Any] | dict[str, Any] = ()) -> sqlite3.Row | None:
        with self._lock:
            return self._conn.execute(sql, params).fetchone()

    def scalar(self, sql: str, params: Sequence[Any] | dict[str, Any] = ()) -> Any:
        row = self.one(sql, params)
        return None if row is None else row[0]

    def executemany(self, sql: str, rows: Iterable[Sequence[Any]]) -> None:
        with self.write() as conn:
            conn.executemany(sql, rows)

    def close(self) -> None:
        with self._lock:
            self._conn.close()
