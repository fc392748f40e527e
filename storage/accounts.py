"""Customers' chats linked to their accounts at the shop (bot/account_link.py), and the link tokens used.

The account reference is the shop's own opaque id, no name or address; /forget removes the link with
the customer. A used token is kept (as a digest, until it expires) only to refuse it a second time.
"""

from __future__ import annotations

from datetime import UTC, datetime

from sqlite_utils import Database

from storage.db import now, stamp, write_transaction


class AccountLinks:
    def __init__(self, db: Database) -> None:
        self.db = db

    def link(self, user_id: int, account: str, token_digest: str, expires: int) -> bool:
        """Link the customer to `account` (replacing an earlier link); False if the token was used before."""
        expiry = stamp(datetime.fromtimestamp(expires, UTC))
        with write_transaction(self.db):
            self.db.execute("DELETE FROM used_link_tokens WHERE expires_at < ?", [now()])
            if self.db.execute("SELECT 1 FROM used_link_tokens WHERE digest = ?", [token_digest]).fetchone():
                return False
            self.db.execute("INSERT INTO used_link_tokens (digest, expires_at) VALUES (?, ?)", [token_digest, expiry])
            self.db.execute("INSERT OR REPLACE INTO account_links (user_id, account, linked_at) VALUES (?, ?, ?)",
                            [user_id, account, now()])
        return True

    def account(self, user_id: int) -> str | None:
        row = self.db.execute("SELECT account FROM account_links WHERE user_id = ?", [user_id]).fetchone()
        return row[0] if row else None
