"""The receiver's half of the contract: a request counts only if it is signed with the shared secret
and recent, so a captured request cannot be sent again later."""

from __future__ import annotations

import hashlib
import hmac

TIMESTAMP = "X-Supportbot-Timestamp"
SIGNATURE = "X-Supportbot-Signature"
WINDOW_SECONDS = 300


def problem(secret: bytes, timestamp: str | None, signature: str | None, body: bytes, now: float) -> str | None:
    """Why the request must be refused (401), or None when it is signed and fresh."""
    if not timestamp or not timestamp.isascii() or not timestamp.isdigit():
        return "missing or malformed timestamp"
    if abs(now - int(timestamp)) > WINDOW_SECONDS:
        return "stale timestamp"
    expected = "sha256=" + hmac.new(secret, timestamp.encode("ascii") + b"." + body, hashlib.sha256).hexdigest()
    return None if hmac.compare_digest(expected.encode(), (signature or "").encode()) else "bad signature"
