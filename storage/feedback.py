"""A customer's 👍/👎 on an answer: once per message, and a 👍 turns the prediction into a label.

A 👎 stores no label; it puts the message in the review queue (`storage.review`) for an admin.
"""

from __future__ import annotations

from sqlite_utils import Database

from storage.db import insert, now
from storage.labels import Labels, LabelSource
from storage.messages import Messages


class Feedback:
    def __init__(self, db: Database) -> None:
        self.db = db

    def add(self, message_id: int, positive: bool) -> bool:
        """Record 👍/👎 once per message; a 👍 also confirms the predicted intent as a label.

        Returns False when feedback was already given (a second press changes nothing).
        """
        with self.db.atomic():
            if self.db.execute("SELECT 1 FROM feedback WHERE message_id = ?", [message_id]).fetchone():
                return False
            insert(self.db, "feedback", {"message_id": message_id, "positive": int(positive), "created_at": now()})
            prediction = Messages(self.db).prediction(message_id)
            if positive and prediction:
                Labels(self.db).add(message_id, prediction["intent"], LabelSource.FEEDBACK)
        return True
