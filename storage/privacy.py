"""Deleting what is stored about people: one customer's erasure (/forget) and the retention purge.

Both delete messages together with every row keyed by them, in one write transaction, so a
crash never leaves half a customer behind and foreign keys stay consistent, then checkpoint the
WAL: with secure_delete (storage.db.open_db) the deleted text is then gone from the database file
and its -wal, not only from the tables. Neither writes an audit row: the use case that calls them
audits the action, once.
"""

from __future__ import annotations

import logging
from datetime import UTC, datetime, timedelta

from sqlite_utils import Database

from storage.db import checkpoint, write_transaction

log = logging.getLogger(__name__)

# What a customer's stored messages drag along: rows keyed by message id.
_PER_MESSAGE = ("predictions", "feedback", "review_skips", "offers", "relays", "action_calls", "outcomes")
_HANDOFF_REFERENCES = ("message_id", "question_id")  # handoffs' links to messages: NULL when those are purged


def forget(db: Database, channel: str, external_id: str) -> dict[str, int]:
    """Delete everything stored about one customer, in one transaction: the right to erasure.

    Their messages both ways (staff replies to them included), predictions, feedback, the outcomes of
    their answers, labels on their messages (staff labels included), review skips, their handoffs, staff
    topic and relay records, the link to their account at the shop, and their users row are deleted (the channel deletes the topic itself in
    the staff group). What names them as the one who acted is anonymised, not deleted: audit rows
    with their actor (`telegram:777`) keep action, time and outcome under the bare channel (`telegram`,
    as the erasure itself is audited) with an empty detail, and the labels, review skips and training runs
    they made as an admin lose their name (NULL, as purge does); as a member of staff, their replies
    and the handoffs they claimed or closed keep that staff did it, under the bare channel.
    Anonymised, not deleted, because the trail must still show that a refused attempt or an admin
    action (a rollback, a label) happened and when: erasing a person must not erase what was done,
    nor let an admin wipe their actions from the trail. Returns rows deleted per table, and
    `anonymised`: rows that lost their name (all zero for someone never stored).
    """
    actor = f"{channel}:{external_id}"
    counts = dict.fromkeys(("messages", *_PER_MESSAGE, "labels", "handoffs", "staff_topics", "dialogue_state",
                            "account_links", "users", "anonymised"), 0)
    with write_transaction(db):
        row = db.execute("SELECT id FROM users WHERE channel = ? AND external_id = ?", [channel, external_id]).fetchone()
        if row is not None:
            _add(counts, _delete_handoffs(db, "SELECT id FROM handoffs WHERE user_id = ?", [row[0]]))
            counts["staff_topics"] = _rows(db, "DELETE FROM staff_topics WHERE user_id = ?", [row[0]])
            counts["dialogue_state"] = _rows(db, "DELETE FROM dialogue_state WHERE user_id = ?", [row[0]])
            counts["account_links"] = _rows(db, "DELETE FROM account_links WHERE user_id = ?", [row[0]])
            _add(counts, _delete_messages(db, "SELECT id FROM messages WHERE user_id = ?", [row[0]], False))
            counts["users"] = db.execute("DELETE FROM users WHERE id = ?", [row[0]]).rowcount
        counts["anonymised"] = sum(
            _rows(db, sql, params)
            for sql, params in (
                ("UPDATE audit SET actor = ?, detail = '' WHERE actor = ?", [channel, actor]),
                ("UPDATE labels SET labelled_by = NULL WHERE labelled_by = ?", [actor]),
                ("UPDATE review_skips SET skipped_by = NULL WHERE skipped_by = ?", [actor]),
                ("UPDATE training_runs SET requested_by = NULL WHERE requested_by = ?", [actor]),
                ("UPDATE messages SET author = ? WHERE author = ?", [channel, actor]),
                ("UPDATE handoffs SET claimed_by = iif(claimed_by = ?2, ?1, claimed_by), "
                 "claimed_name = iif(claimed_by = ?2, NULL, claimed_name), closed_by = iif(closed_by = ?2, ?1, closed_by) "
                 "WHERE ?2 IN (claimed_by, closed_by)", [channel, actor]),
            )
        )
    _empty_wal(db)
    return counts


def purge(db: Database, older_than_days: int, keep_labels: bool) -> dict[str, int]:
    """Delete messages older than the cutoff with their predictions, feedback, outcomes and skips (retention).

    Labels on them are kept detached (no message, no labeller: the text is already redacted) when
    `keep_labels`, else deleted. Closed handoffs opened before the cutoff go; later ones lose their
    links to purged messages. Users left with no messages and no handoff go too, with their account link and staff
    topic. 0 days keeps everything.
    """
    if older_than_days < 0:
        raise ValueError(f"older_than_days must be 0 (keep forever) or more, not {older_than_days}")
    counts = dict.fromkeys(("messages", *_PER_MESSAGE, "labels", "labels_detached", "handoffs", "staff_topics",
                            "dialogue_state", "account_links", "users"), 0)
    cutoff = (datetime.now(UTC) - timedelta(days=older_than_days)).isoformat(timespec="milliseconds")
    old = "SELECT id FROM messages WHERE created_at < ?"
    gone = ("SELECT id FROM users WHERE created_at < ? AND NOT EXISTS (SELECT 1 FROM messages m WHERE m.user_id = users.id)"
            " AND NOT EXISTS (SELECT 1 FROM handoffs h WHERE h.user_id = users.id)")
    with write_transaction(db):
        if older_than_days > 0:
            _add(counts, _delete_handoffs(db, "SELECT id FROM handoffs WHERE opened_at < ? AND closed_at IS NOT NULL",
                                          [cutoff]))
            for column in _HANDOFF_REFERENCES:
                _rows(db, f"UPDATE handoffs SET {column} = NULL WHERE {column} IN ({old})", [cutoff])
            counts["dialogue_state"] = _rows(db, f"DELETE FROM dialogue_state WHERE message_id IN ({old})", [cutoff])
            _add(counts, _delete_messages(db, old, [cutoff], keep_labels))
            counts["staff_topics"] = _rows(db, f"DELETE FROM staff_topics WHERE user_id IN ({gone})", [cutoff])
            counts["account_links"] = _rows(db, f"DELETE FROM account_links WHERE user_id IN ({gone})", [cutoff])
            counts["users"] = _rows(db, f"DELETE FROM users WHERE id IN ({gone})", [cutoff])
    _empty_wal(db)
    return counts


def _delete_handoffs(db: Database, selected: str, params: list) -> dict[str, int]:
    """Delete the handoffs whose ids `selected` returns, with their relay records (in a transaction)."""
    return {"relays": _rows(db, f"DELETE FROM relays WHERE handoff_id IN ({selected})", params),
            "handoffs": _rows(db, f"DELETE FROM handoffs WHERE id IN ({selected})", params)}


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


def _add(counts: dict[str, int], more: dict[str, int]) -> None:
    """Add one step's deletions to the totals (relays go both with their handoff and with their message)."""
    for table, n in more.items():
        counts[table] += n


def _empty_wal(db: Database) -> None:
    """After an erasure's commit: the WAL's old frames still hold the deleted text until emptied."""
    if not checkpoint(db):
        log.warning("the WAL could not be emptied after an erasure (a reader held it); the next checkpoint will")


def _rows(db: Database, sql: str, params: list) -> int:
    """Run one UPDATE/DELETE and say how many rows it changed."""
    return db.execute(sql, params).rowcount
