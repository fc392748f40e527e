"""Deleting what is stored about people: one customer's erasure (/forget) and the retention purge.

Both delete messages together with every row keyed by them, in one write transaction, so a
crash never leaves half a customer behind and foreign keys stay consistent. Neither writes an
audit row: the use case that calls them audits the action, once.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sqlite_utils import Database

from storage.db import write_transaction

# What a customer's stored messages drag along: rows keyed by message id.
_PER_MESSAGE = ("predictions", "feedback", "review_skips")


def forget(db: Database, channel: str, external_id: str) -> dict[str, int]:
    """Delete everything stored about one customer, in one transaction: the right to erasure.

    Their messages both ways, predictions, feedback, labels on their messages, review skips and
    their users row. Returns rows deleted per table (all zero for someone never stored). Its audit
    row should name the channel only, so the erasure does not store the person again.
    """
    counts = dict.fromkeys(("messages", "predictions", "feedback", "labels", "review_skips", "users"), 0)
    with write_transaction(db):
        row = db.execute("SELECT id FROM users WHERE channel = ? AND external_id = ?", [channel, external_id]).fetchone()
        if row is not None:
            counts.update(_delete_messages(db, "SELECT id FROM messages WHERE user_id = ?", [row[0]], False))
            counts["users"] = db.execute("DELETE FROM users WHERE id = ?", [row[0]]).rowcount
    return counts


def purge(db: Database, older_than_days: int, keep_labels: bool) -> dict[str, int]:
    """Delete messages older than the cutoff with their predictions, feedback and skips (retention).

    Labels on them are kept detached (no message, no labeller: the text is already redacted) when
    `keep_labels`, else deleted. Users left with no messages go too. 0 days keeps everything.
    """
    if older_than_days < 0:
        raise ValueError(f"older_than_days must be 0 (keep forever) or more, not {older_than_days}")
    counts = dict.fromkeys(("messages", *_PER_MESSAGE, "labels", "labels_detached", "users"), 0)
    cutoff = (datetime.now(UTC) - timedelta(days=older_than_days)).isoformat(timespec="milliseconds")
    with write_transaction(db):
        if older_than_days > 0:
            counts.update(_delete_messages(db, "SELECT id FROM messages WHERE created_at < ?", [cutoff], keep_labels))
            counts["users"] = db.execute(
                "DELETE FROM users WHERE created_at < ? AND NOT EXISTS (SELECT 1 FROM messages m WHERE m.user_id = users.id)",
                [cutoff],
            ).rowcount
    return counts


def _delete_messages(db: Database, selected: str, params: list, keep_labels: bool) -> dict[str, int]:
    """Delete the messages whose ids `selected` (SQL) returns, and every row keyed by them.

    Call inside a transaction. Later messages replying to them lose the link, not their row,
    so foreign keys stay consistent.
    """
    where = f"message_id IN ({selected})"
    if keep_labels:
        counts = {"labels_detached": _rows(db, f"UPDATE labels SET message_id = NULL, labelled_by = NULL WHERE {where}", params)}
    else:
        counts = {"labels": _rows(db, f"DELETE FROM labels WHERE {where}", params)}
    counts |= {table: _rows(db, f"DELETE FROM {table} WHERE {where}", params) for table in _PER_MESSAGE}
    _rows(db, f"UPDATE messages SET reply_to = NULL WHERE reply_to IN ({selected}) AND id NOT IN ({selected})", params * 2)
    counts["messages"] = _rows(db, f"DELETE FROM messages WHERE id IN ({selected})", params)
    return counts


def _rows(db: Database, sql: str, params: list) -> int:
    """Run one UPDATE/DELETE and say how many rows it changed."""
    return db.execute(sql, params).rowcount
