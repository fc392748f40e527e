"""Keep the bot token out of everything the process writes, whatever library writes it.

Telegram puts the token in every request URL (httpx logs each request at INFO, PTB the API URL at
DEBUG) and PTB's `InvalidToken` quotes it. Text leaves a Python process through logging (asyncio's
default exception handler logs too), the uncaught-exception hooks of the main thread and of other
threads, and the hook for exceptions nobody can raise (`__del__`, finalisers). The mask sits on
each of those exits rather than on a list of loggers someone thought of: every log record is masked
when it is made, so every handler (a test's capture too) sees only the masked text.
"""

from __future__ import annotations

import logging
import sys
import threading
import traceback

MASK = "***"
_secrets: set[str] = set()
_factory_installed = False


class TokenRefused(RuntimeError):
    """Telegram answered 401 to the token. Defined here, not in bot/channels, so the CLI can end
    with one line for it without importing python-telegram-bot for every command."""

    def __init__(self) -> None:
        super().__init__("Telegram refused the bot token (check TELEGRAM_BOT_TOKEN)")


def secret_parts(*tokens: str | None) -> list[str]:
    """What to mask: a bot token's part after the colon (the id before it is public), or the whole value."""
    return [t.split(":", 1)[1] if ":" in t else t for t in tokens if t]


def mask(text: str) -> str:
    """`text` with every secret known so far replaced by `***` (longest first, so none is left half-shown)."""
    for secret in sorted(_secrets, key=len, reverse=True):
        text = text.replace(secret, MASK)
    return text


def mask_in_logs(*tokens: str | None) -> None:
    """Mask these secrets (with those added before) in every log record, whatever logger or handler."""
    global _factory_installed
    _secrets.update(secret_parts(*tokens))
    if _factory_installed:
        return
    _factory_installed = True
    make_record = logging.getLogRecordFactory()

    def masked_record(*args, **kwargs) -> logging.LogRecord:
        return _mask_record(make_record(*args, **kwargs))

    logging.setLogRecordFactory(masked_record)


def mask_everywhere(*tokens: str | None) -> None:
    """In logs and in the process's uncaught-exception hooks: for a process we own (the CLI), not a
    host such as pytest, whose own hooks must stay."""
    mask_in_logs(*tokens)
    sys.excepthook = _excepthook
    threading.excepthook = _thread_excepthook
    sys.unraisablehook = _unraisablehook


def _mask_record(record: logging.LogRecord) -> logging.LogRecord:
    """The message and the traceback text masked; `exc_info` stays for handlers that inspect it."""
    try:
        message = record.getMessage()
    except Exception:  # noqa: BLE001 - a bad format string is the handler's to report, not the caller's to get
        return record
    masked = mask(message)
    if masked != message:
        record.msg, record.args = masked, None
    if record.exc_info and record.exc_text is None:
        record.exc_text = logging.Formatter().formatException(record.exc_info)
    if record.exc_text:
        record.exc_text = mask(record.exc_text)
    if record.stack_info:
        record.stack_info = mask(record.stack_info)
    return record


def _write(header: str, exc: BaseException | None) -> None:
    text = header + ("".join(traceback.format_exception(exc)) if exc is not None else "\n")
    if sys.stderr is not None:
        sys.stderr.write(mask(text))
        sys.stderr.flush()


def _excepthook(_type: type[BaseException], exc: BaseException, _tb: object) -> None:
    _write("", exc)


def _thread_excepthook(args: threading.ExceptHookArgs) -> None:
    if args.exc_type is SystemExit:  # as the default hook: a thread's sys.exit() is silent
        return
    name = args.thread.name if args.thread is not None else threading.get_ident()
    _write(f"Exception in thread {name}:\n", args.exc_value)


def _unraisablehook(unraisable: sys.UnraisableHookArgs) -> None:
    where = f"{unraisable.err_msg or 'Exception ignored in'}: {unraisable.object!r}\n"
    _write(where, unraisable.exc_value)
