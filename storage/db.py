"""Engine, sessions and schema creation; the only module that knows about SQLite."""
from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, create_engine, event
from sqlalchemy.orm import Session, sessionmaker

from storage.schema import Base

REPO_ROOT = Path(__file__).resolve().parent.parent
DEFAULT_DATABASE_URL = f"sqlite:///{REPO_ROOT / 'data' / 'studio.db'}"
SQLITE_BUSY_TIMEOUT_MS = 10_000


def database_url() -> str:
    """The configured database URL: ``DATABASE_URL`` or a SQLite file under data/."""
    return os.environ.get("DATABASE_URL") or DEFAULT_DATABASE_URL


def make_engine(url: str | None = None) -> Engine:
    """An engine for url (default: ``database_url()``); SQLite gets FKs, WAL and a busy timeout."""
    url = url or database_url()
    if url.startswith("sqlite:///") and url != "sqlite:///:memory:":
        Path(url.removeprefix("sqlite:///")).parent.mkdir(parents=True, exist_ok=True)
    engine = create_engine(url)
    if engine.dialect.name == "sqlite":
        event.listen(engine, "connect", _sqlite_pragmas)
    return engine


def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    # Foreign keys are off by default in SQLite; WAL lets the UI read while the worker
    # writes; the busy timeout makes a writer wait for the lock instead of failing.
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute(f"PRAGMA busy_timeout={SQLITE_BUSY_TIMEOUT_MS}")
    cursor.close()


def make_session_factory(url: str | None = None, *, create: bool = True) -> sessionmaker[Session]:
    """A session factory bound to a new engine; creates missing tables when ``create``."""
    engine = make_engine(url)
    if create:
        init_db(engine)
    # expire_on_commit=False: objects returned by repository functions stay readable
    # after the `with factory.begin()` block that loaded them has committed.
    return sessionmaker(engine, expire_on_commit=False)


def init_db(engine: Engine) -> None:
    """Create every table that does not exist yet."""
    Base.metadata.create_all(engine)
