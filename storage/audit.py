"""The audit trail: who did what, when, and whether it was allowed (refused attempts are kept too).

The use-case layer records each action once; storage only writes the row.
"""

from __future__ import annotations

from enum import StrEnum

from sqlite_utils import Database

from storage.db import now


class AuditAction(StrEnum):
    """`audit.action`: the admin, staff and privacy actions that leave a trace."""

    TRAIN = "train"
    RETRAIN = "retrain"
    ROLLBACK = "rollback"
    REVIEW = "review"
    REVIEW_LABEL = "review-label"
    REVIEW_SKIP = "review-skip"
    IMPORT = "import"
    EXPORT = "export"
    BACKUP = "backup"
    PURGE = "purge"
    FORGET = "forget"
    STATUS = "status"
    STATS = "stats"
    PRESS = "press"  # a button press refused: forged, someone else's, or never offered
    LINK_ACCOUNT = "link-account"  # a customer's /start link from the shop: linked, or why not (never the token)
    HANDOFF_CLAIM = "handoff-claim"  # a member of staff took a handed-over conversation
    HANDOFF_RESOLVE = "handoff-resolve"
    HANDOFF_RELEASE = "handoff-release"  # handed back to the bot
    STAFF_LABEL = "staff-label"
    AB = "ab"  # an admin looked at the A/B test
    AB_LOOK = "ab-look"  # the nightly look at the A/B test (actor: nightly)
    AB_STOP = "ab-stop"
    AB_PROMOTE = "ab-promote"
    AB_ROLLBACK = "ab-rollback"


class Audit:
    def __init__(self, db: Database) -> None:
        self.db = db

    def record(self, actor: str, action: AuditAction, detail: str = "", allowed: bool = True) -> None:
        self.db["audit"].insert(
            {"actor": actor, "action": action, "detail": detail, "allowed": int(allowed), "created_at": now()}
        )
