"""What a customer's raw text becomes before it is stored, classified and trained on.

One function, so that the store, the classifier and `supportbot redact` see the same text:
1. valid Unicode: a lone surrogate (a broken emoji from a client or a bridge) becomes U+FFFD, and
   a surrogate pair left split becomes the character it encodes. SQLite stores UTF-8, and one
   unencodable character used to fail the whole write, so the message was lost;
2. no control characters: C0 and C1 controls (ESC sequences that clear or recolour an admin's
   terminal in `supportbot review`, BEL, NUL...) are removed; a newline stays, a tab and a
   carriage return become what they mean (a space, a line break);
3. personal data redacted (training/redact.py);
4. at most `max_chars` characters, cut after redaction: a card or phone number across the cut is
   redacted whole first, and a placeholder is kept whole or left out, never cut in half.
"""

from __future__ import annotations

import re

from training.redact import PLACEHOLDERS, Redaction, redactions

_SURROGATE = re.compile(r"[\ud800-\udfff]")
# An ANSI escape sequence (CSI: ESC [ or 0x9B, parameters, one final byte) goes as a whole, so
# no "[2J" is left behind; any other control character goes alone.
_CONTROLS = re.compile(r"(?:\x1b\[|\x9b)[0-?]*[ -/]*[@-~]|\r\n?|\t|[\x00-\x08\x0b-\x1f\x7f-\x9f]")
_CONTROL_REPLACEMENTS = {"\r\n": "\n", "\r": "\n", "\t": " "}
# Redaction of the first `max_chars` characters looks this far past them: more than any piece of
# personal data and the context that decides whether it is one.
_CONTEXT = 512


def storable(text: str, max_chars: int) -> str:
    """`text` as it is stored and classified: valid UTF-8, no control characters, personal data
    replaced by placeholders, at most `max_chars` characters."""
    if _SURROGATE.search(text):
        text = text.encode("utf-16-le", "surrogatepass").decode("utf-16-le", "replace")
    if not text.isprintable():  # fast path: most messages have no newline or control character
        text = _CONTROLS.sub(lambda m: _CONTROL_REPLACEMENTS.get(m.group(), ""), text)
    out, cut = _redacted_head(text, max_chars)
    # What a cut leaves of a longer number or word can read as personal data on its own (the first
    # 16 digits of a 20-digit reference pass Luhn one time in ten): redact the rest again, so that
    # stored text is always what `redact` leaves unchanged.
    while cut and (found := redactions(out)):
        out, cut = _capped(out, found, max_chars, len(out))
    return out


def _redacted_head(text: str, max_chars: int) -> tuple[str, bool]:
    """The first `max_chars` characters of `text` redacted as in the whole text, and whether it was cut.

    Only the text up to `max_chars` plus enough context is redacted: a message may be long.
    """
    window = max_chars + _CONTEXT
    while True:
        head = text[:window]
        known_until = len(head) if len(head) == len(text) else len(head) - _CONTEXT
        capped = _capped(head, redactions(head), max_chars, known_until)
        if capped is not None:
            return capped
        window *= 2


def _capped(text: str, found: list[Redaction], max_chars: int, known_until: int) -> tuple[str, bool] | None:
    """The first `max_chars` characters of `text` redacted by `found`, never cutting a placeholder,
    and whether anything was left out.

    Only what lies before `known_until` is known to be redacted as in the whole message; None when
    the result would need more than that (placeholders made the text much shorter).
    """
    parts: list[str] = []
    room = max_chars
    pos = 0
    for start, end, placeholder in [*found, Redaction(len(text), len(text), "")]:
        take = min(start - pos, room)
        if pos + take > known_until:
            return None
        if take < start - pos:  # the cut falls in this stretch of text: not inside a placeholder in it
            parts.append(text[pos : _outside_placeholders(text, pos, pos + take)])
            return "".join(parts), True
        parts.append(text[pos:start])
        room -= take
        if len(placeholder) > room:
            return "".join(parts), True
        if end > known_until:
            return None
        parts.append(placeholder)
        room -= len(placeholder)
        pos = end
    return "".join(parts), False


def _outside_placeholders(text: str, pos: int, cut: int) -> int:
    """`cut`, or the start of a placeholder in text[pos:] (stored text stored again) that it would split."""
    for placeholder in PLACEHOLDERS:
        start = text.find(placeholder, max(pos, cut - len(placeholder) + 1), cut + len(placeholder) - 1)
        if start != -1 and start < cut:
            return start
    return cut
