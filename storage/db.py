"""Open the SQLite database and bring its schema up to date.

One file, WAL mode (readers never block the writer, a crash never corrupts committed data),
foreign keys on, deleted rows overwritten (secure_delete: erased text does not linger in free
pages). The schema is storage.schema's migrations, applied at every start, each in its own
transaction. A damaged file or a schema newer than this code is refused before anything writes to
it, so the operator can still restore a backup (`backup` makes one while the bot runs); storage
that cannot be written (read-only, full, no permission) is refused with the cause and the remedy.
"""

from __future__ import annotations

import errno
import getpass
import os
import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from enum import StrEnum
from pathlib import Path

import sqlite_utils
from sqlite_utils import Database

from storage.schema import migrations


class DatabaseRefused(RuntimeError):
    """open_db will not hand out this database; the message names the path, the cause and what to do.

    Raised as is for a damaged file or a schema newer than this code: refused, never repaired or
    recreated.
    """


class DatabaseUnavailable(DatabaseRefused):
    """The file may be fine but the storage under it cannot be written: read-only, full, no permission.

    A kind of refusal (whoever reports DatabaseRefused reports this too, one `error:` line), kept
    apart because the remedy differs: fix the storage and start again, no backup to restore.
    """


class Unwritable(StrEnum):
    """Why storage refuses writes, as the file system tells it; each value reads after the place."""

    READ_ONLY = "is on a read-only file system"
    FULL = "is on a full disk"
    NO_PERMISSION = "is not writable"


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
    return stamp(datetime.now(UTC))


def stamp(at: datetime) -> str:
    """`at` as `now` writes times (UTC, milliseconds), so comparing the texts compares the times."""
    return at.astimezone(UTC).isoformat(timespec="milliseconds")


def insert(db: Database, table: str, row: dict) -> int:
    """A plain INSERT for the per-message writes; returns the new rowid.

    sqlite-utils' `insert` looks the table up in sqlite_master three times and wraps itself in a
    savepoint on every call (15 of the 25 statements each answer cost), for a schema the
    migrations already fixed.
    """
    columns, marks = ", ".join(row), ", ".join("?" * len(row))
    return db.execute(f"INSERT INTO {table} ({columns}) VALUES ({marks})", list(row.values())).lastrowid


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


def _existing(path: Path) -> Path:
    """`path` or its nearest ancestor this user can see: where the file system can be asked about it.

    os.path.exists, not Path.exists: a directory we may not enter must not raise here, while the
    open's own error is being explained.
    """
    while not os.path.exists(path) and path != path.parent:
        path = path.parent
    return path


def _unwritable(path: Path, exc: OSError | sqlite3.OperationalError) -> tuple[Unwritable, Path] | None:
    """Why `path` could not be opened for writing, and where, or None when storage is not the cause.

    The file system is asked as well as the error: SQLite says "unable to open database file"
    alike for a read-only mount, a missing permission and a full disk that cannot take the -shm file.
    """
    where = _existing(path.parent)
    stat = os.statvfs(where)
    if isinstance(exc, OSError):
        full, refused = exc.errno in (errno.ENOSPC, errno.EDQUOT), exc.errno in (errno.EROFS, errno.EACCES, errno.EPERM)
    else:
        primary = getattr(exc, "sqlite_errorcode", 0) & 0xFF  # the extended code's primary part
        full, refused = primary == sqlite3.SQLITE_FULL, primary in (sqlite3.SQLITE_READONLY, sqlite3.SQLITE_PERM)
    if stat.f_flag & os.ST_RDONLY:
        return Unwritable.READ_ONLY, where
    if full:
        return Unwritable.FULL, where
    for place in [where, *(f for f in (path, Path(f"{path}-wal"), Path(f"{path}-shm")) if os.path.exists(f))]:
        if not os.access(place, os.R_OK | os.W_OK | (os.X_OK if os.path.isdir(place) else 0)):
            return Unwritable.NO_PERMISSION, place
    if stat.f_bavail == 0:
        return Unwritable.FULL, where
    return (Unwritable.NO_PERMISSION, where) if refused else None


_REMEDY = {
    Unwritable.READ_ONLY: "Mount it read-write, or point [paths] var_dir (or SUPPORTBOT_VAR) at writable storage",
    Unwritable.FULL: "Free some space there, or point [paths] var_dir (or SUPPORTBOT_VAR) at a disk with room",
    Unwritable.NO_PERMISSION: "Let user {user} read and write it (SQLite also writes the -wal and -shm files beside the database)",
}


def _unavailable(path: Path, exc: OSError | sqlite3.OperationalError) -> DatabaseUnavailable | None:
    """The clear refusal for a failed open, or None when the cause is not the storage (re-raise it)."""
    if (found := _unwritable(path, exc)) is None:
        return None
    cause, where = found
    said = exc.strerror if isinstance(exc, OSError) and exc.strerror else str(exc)
    remedy = _REMEDY[cause].format(user=getpass.getuser())
    return DatabaseUnavailable(
        f"database {path} cannot be written: {where} {cause} ({said}). {remedy}, then start again."
    )


def open_db(path: Path | str) -> Database:
    """Connect, check, switch on WAL, foreign keys and secure_delete, and apply pending migrations.

    Raises DatabaseRefused for a damaged file or a schema newer than this code, and its kind
    DatabaseUnavailable when the storage cannot be written (read-only, full, no permission): at
    start every command needs to write (the audit trail at least), so it is told then, in one line.
    """
    path = Path(path)
    conn = None
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        conn = sqlite3.connect(path, timeout=30, check_same_thread=False, isolation_level=None)
        db = sqlite_utils.Database(conn)
        check(db, path)
        db.execute("PRAGMA journal_mode = WAL")
        db.execute("PRAGMA synchronous = NORMAL")
        db.execute("PRAGMA foreign_keys = ON")
        db.execute("PRAGMA busy_timeout = 30000")
        db.execute("PRAGMA secure_delete = ON")
        migrations.apply(db)
    except BaseException as exc:
        if conn is not None:
            conn.close()
        if isinstance(exc, OSError | sqlite3.OperationalError) and (refusal := _unavailable(path, exc)):
            raise refusal from exc
        raise
    return db


def checkpoint(db: Database) -> bool:
    """Copy the WAL into the database file and empty it; False when a reader kept it from finishing.

    After an erasure: the WAL's old frames still hold the deleted rows' text until overwritten.
    """
    busy, _frames, _copied = db.execute("PRAGMA wal_checkpoint(TRUNCATE)").fetchone()
    return not busy


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
