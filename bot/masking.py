"""Keep the bot token out of logs, whatever library writes the line.

Telegram puts the token in every request URL: httpx logs each request URL at INFO and PTB logs the
API URL at DEBUG. A filter on those source loggers masks it for every handler (a test's capture
too); the CLI also masks on its own handler, for any logger nobody thought of.
"""

from __future__ import annotations

import logging

# Loggers known to write URLs with the token in them.
SOURCES = ("httpx", "httpcore", "telegram.Bot", "telegram.ext.ExtBot")
MASK = "***"


class MaskSecrets(logging.Filter):
    """Replaces secrets in a record's message and traceback before any handler formats it."""

    def __init__(self, secrets: list[str]) -> None:
        super().__init__()
        self.secrets = [s for s in secrets if s]

    def mask(self, text: str) -> str:
        for secret in self.secrets:
            text = text.replace(secret, MASK)
        return text

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        masked = self.mask(message)
        if masked != message:
            record.msg, record.args = masked, None
        if record.exc_info and record.exc_text is None:
            record.exc_text = logging.Formatter().formatException(record.exc_info)
        if record.exc_text:
            record.exc_text = self.mask(record.exc_text)
        return True


def secret_parts(*tokens: str | None) -> list[str]:
    """What to mask: a bot token's part after the colon (the id before it is public), or the whole value."""
    return [t.split(":", 1)[1] if ":" in t else t for t in tokens if t]


def mask_in_logs(*tokens: str | None) -> MaskSecrets:
    """Install (once per logger, replacing an earlier one) a mask for these secrets on the source loggers."""
    mask = MaskSecrets(secret_parts(*tokens))
    for name in SOURCES:
        logger = logging.getLogger(name)
        for old in [f for f in logger.filters if isinstance(f, MaskSecrets)]:
            logger.removeFilter(old)
        logger.addFilter(mask)
    return mask
