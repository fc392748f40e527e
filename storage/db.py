"""Open the SQLite database and bring its schema up to date.

One file, WAL mode (readers never block the writer, a crash never corrupts committed data),
foreign keys on. Schema changes are sqlite-utils migrations, applied at every start, each in
its own transaction. A damaged file or a schema newer than this code is refused before anything
writes to it, so the operator can still restore a backup (`backup` makes one while the bot runs).
"""

from __future__ import annotations

import os
import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path

import sqlite_utils
from sqlite_utils import Database
from sqlite_utils.migrations import Migrations

migrations = Migrations("supportbot")


class DatabaseRefused(RuntimeError):
    """The database file is damaged or newer than this code: refused, never repaired or recreated."""


@contextmanager
def write_transaction(db: Database) -> Iterator[Database]:
    """BEGIN IMMEDIATE: take the write lock before reading, for check-then-write decisions."""
    db.execute("BEGIN IMMEDIATE")
    try:
        yield db
    except BaseException:
        db.execute("ROLLBACK")
        raise
    db.execute("COMMIT")


def now() -> str:
    """UTC timestamps as ISO text: sortable, readable, timezone-explicit."""
    return datetime.now(UTC).isoformat(timespec="milliseconds")


def insert(db: Database, table: str, row: dict) -> int:
    """A plain INSERT for the per-message writes; returns the new rowid.

    sqlite-utils' `insert` looks the table up in sqlite_master three times and wraps itself in a
    savepoint on every call (15 of the 25 statements each answer cost), for a schema the
    migrations already fixed.
    """
    columns, marks = ", ".join(row), ", ".join("?" * len(row))
    return db.execute(f"INSERT INTO {table} ({columns}) VALUES ({marks})", list(row.values())).lastrowid


@migrations()
def m001_conversations(db: Database) -> None:
    db["users"].create(
        {"id": int, "channel": str, "external_id": str, "language": str, "created_at": str},
        pk="id",
        not_null={"channel", "external_id", "created_at"},
    )
    db["users"].create_index(["channel", "external_id"], unique=True)
    db["messages"].create(
        {
            "id": int,
            "user_id": int,
            "chat_id": str,
            "channel": str,
            "direction": str,  # storage.messages.Direction: in from the customer, out from the bot
            "text": str,
            "language": str,
            "reply_to": int,  # for 'out': the incoming message answered
            "external_key": str,  # channel's own id of the update, for exactly-once storage
            "created_at": str,
        },
        pk="id",
        foreign_keys=[("user_id", "users", "id"), ("reply_to", "messages", "id")],
        not_null={"user_id", "chat_id", "channel", "direction", "text", "created_at"},
    )
    db["messages"].create_index(["user_id", "created_at"])
    db["messages"].create_index(["external_key"], unique=True)
    db["messages"].create_index(["created_at"])
    db["predictions"].create(
        {
            "message_id": int,
            "model_version": str,
            "intent": str,
            "confidence": float,
            "topk": str,  # JSON [[intent, probability], ...]
            "action": str,  # training.policy.Action
            "created_at": str,
        },
        pk="message_id",
        foreign_keys=[("message_id", "messages", "id")],
        not_null={"model_version", "intent", "confidence", "topk", "action", "created_at"},
    )
    db["labels"].create(
        {
            "id": int,
            "message_id": int,  # NULL for imported rows and anonymised training data
            "text": str,  # the (redacted) text the label applies to
            "intent": str,
            "source": str,  # storage.labels.LabelSource
            "labelled_by": str,
            "created_at": str,
        },
        pk="id",
        foreign_keys=[("message_id", "messages", "id")],
        not_null={"text", "intent", "source", "created_at"},
    )
    db["labels"].create_index(["message_id"])
    db["labels"].create_index(["created_at"])
    db["feedback"].create(
        {"message_id": int, "positive": int, "created_at": str},
        pk="message_id",
        foreign_keys=[("message_id", "messages", "id")],
        not_null={"positive", "created_at"},
    )
    db["models"].create(
        {
            "version": str,
            "path": str,
            "status": str,  # storage.registry.ModelStatus
            "metrics": str,  # JSON
            "created_at": str,
            "promoted_at": str,
        },
        pk="version",
        not_null={"path", "status", "created_at"},
    )
    db.execute("CREATE UNIQUE INDEX idx_models_one_live ON models(status) WHERE status = 'live'")


@migrations()
def m002_training_runs(db: Database) -> None:
    db["training_runs"].create(
        {
            "id": int,
            "trigger": str,  # storage.runs.RunTrigger
            "requested_by": str,
            "status": str,  # storage.runs.RunStatus
            "stage": str,  # collect | clean | train | evaluate | promote | done
            "progress": str,  # human-readable, e.g. "epoch 3/40"
            "counts": str,  # JSON {stage: {name: n}}
            "candidate_version": str,
            "live_version": str,
            "metrics": str,  # JSON {"candidate": {...}, "live": {...}}
            "report_path": str,
            "error": str,
            "started_at": str,
            "finished_at": str,
        },
        pk="id",
        not_null={"trigger", "status", "started_at"},
    )
    db["training_runs"].create_index(["started_at"])
    # One row per named lock; owner_pid lets a later process see that the owner died.
    db["locks"].create(
        {"name": str, "owner_pid": int, "run_id": int, "acquired_at": str},
        pk="name",
        not_null={"owner_pid", "acquired_at"},
    )


@migrations()
def m003_review_and_audit(db: Database) -> None:
    # Messages an admin looked at in review and chose not to label.
    db["review_skips"].create(
        {"message_id": int, "skipped_by": str, "created_at": str},
        pk="message_id",
        foreign_keys=[("message_id", "messages", "id")],
    )
    # Who did what (action: storage.audit.AuditAction), for admin actions and refused attempts.
    db["audit"].create(
        {"id": int, "actor": str, "action": str, "detail": str, "allowed": int, "created_at": str},
        pk="id",
        not_null={"actor", "action", "allowed", "created_at"},
    )
    db["audit"].create_index(["created_at"])


@migrations()
def m004_answered_at(db: Database) -> None:
    # For incoming messages: when the channel confirmed it delivered the bot's answer (Telegram accepted
    # sendMessage). NULL while unconfirmed: a redelivered update whose stored answer never went out is
    # answered then, not dropped as a duplicate.
    db["messages"].add_column("answered_at", str)


def _damage(conn: sqlite3.Connection) -> list[str]:
    """`PRAGMA quick_check` findings (empty when healthy); read-only, so a bad file stays as it was."""
    try:
        found = [row[0] for row in conn.execute("PRAGMA quick_check(5)")]
    except sqlite3.OperationalError:
        raise  # locked, unreadable path, no permission: not damage, say what SQLite said
    except sqlite3.DatabaseError as exc:  # not a database, malformed image
        return [str(exc)]
    return [] if found == ["ok"] else found


def _unknown_migrations(db: Database) -> list[str]:
    """Applied migrations this code does not define: the file was written by a newer version."""
    known = {m.name for m in migrations._migrations}
    return [m.name for m in migrations.applied(db) if m.name not in known]


def check(db: Database, path: Path) -> None:
    """Refuse a damaged file or a newer schema before any write (WAL switch, migrations) touches it."""
    if problems := _damage(db.conn):
        raise DatabaseRefused(
            f"database {path} is damaged ({' '.join('; '.join(problems).split())}). It was left untouched. "
            "Stop the bot and restore the latest backup (made with `supportbot backup`) in its place."
        )
    if unknown := _unknown_migrations(db):
        raise DatabaseRefused(
            f"database {path} has a newer schema than this version of supportbot knows "
            f"(migrations {', '.join(unknown)}). It was left untouched. "
            "Run the newer version, or restore a backup made with this one."
        )


def open_db(path: Path | str) -> Database:
    """Connect, check, switch on WAL and foreign keys, and apply pending migrations.

    Raises DatabaseRefused for a damaged file or a schema newer than this code.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    conn = sqlite3.connect(path, timeout=30, check_same_thread=False, isolation_level=None)
    db = sqlite_utils.Database(conn)
    try:
        check(db, path)
    except BaseException:
        conn.close()
        raise
    db.execute("PRAGMA journal_mode = WAL")
    db.execute("PRAGMA synchronous = NORMAL")
    db.execute("PRAGMA foreign_keys = ON")
    db.execute("PRAGMA busy_timeout = 30000")
    migrations.apply(db)
    return db


def backup(db: Database, dest: Path | str) -> Path:
    """Copy the live database with SQLite's online backup: a consistent snapshot while the bot writes.

    Written to DEST.tmp, checked, then renamed, so DEST is never a half-written copy.
    """
    dest = Path(dest)
    live = Path(db.conn.execute("PRAGMA database_list").fetchone()[2])
    if dest.resolve() == live.resolve():
        raise ValueError(f"{dest} is the live database itself; choose another path")
    tmp = dest.with_name(dest.name + ".tmp")
    tmp.unlink(missing_ok=True)
    target = sqlite3.connect(tmp)
    try:
        db.conn.backup(target)  # all pages in one step: one read snapshot, writers are not blocked (WAL)
        if problems := _damage(target):
            raise DatabaseRefused(f"the backup copy {tmp} failed its check: {'; '.join(problems)}")
    finally:
        target.close()
    os.replace(tmp, dest)
    return dest
