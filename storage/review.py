"""The review queue: answers a customer marked 👎 without choosing a better one, for an admin to label.

A message leaves the queue when it gets a label of any kind or an admin skips it; the skip is
stored (who, when) so the next admin is not shown it again.
"""

from __future__ import annotations

from sqlite_utils import Database

from storage.db import now
from storage.messages import StoredMessage

_QUEUED = """
    FROM messages m JOIN feedback f ON f.message_id = m.id AND f.positive = 0
    WHERE NOT EXISTS (SELECT 1 FROM labels l WHERE l.message_id = m.id)
      AND NOT EXISTS (SELECT 1 FROM review_skips s WHERE s.message_id = m.id)
"""


class ReviewQueue:
    def __init__(self, db: Database) -> None:
        self.db = db

    def oldest(self, limit: int = 1) -> list[StoredMessage]:
        """The first `limit` messages waiting for review, oldest first."""
        rows = self.db.execute(
            f"SELECT m.id, m.user_id, m.chat_id, m.channel, m.text, m.language {_QUEUED} ORDER BY m.id LIMIT ?", [limit]
        ).fetchall()
        return [StoredMessage(*row) for row in rows]

    def size(self) -> int:
        """How many messages wait for review."""
        return self.db.execute(f"SELECT COUNT(*) {_QUEUED}").fetchone()[0]

    def skip(self, message_id: int, admin: str) -> None:
        """`admin` looked at the message and chose not to label it: it leaves the queue."""
        self.db["review_skips"].insert({"message_id": message_id, "skipped_by": admin, "created_at": now()}, replace=True)
