"""A normalised copy of a text that remembers where each of its characters came from.

Redaction looks for personal data in the normalised copy, so that one pattern covers the many ways
the same card, phone or address is typed or pasted: full-width digits and letters from a Chinese
IME, no-break, narrow and thin spaces and zero-width or bidi marks that banking apps and web pages
put between digit groups, tabs and double spaces. What it finds is then replaced in the customer's
original text, which is otherwise stored (and trained on) exactly as it was written.

The copy, character by character (a character together with its combining marks):
- NFKC: "４" is "4", "＠" is "@", "＋" is "+", "ａｔ" is "at", "e" + U+0301 is "é";
- any decimal digit (also Arabic-Indic and other scripts') becomes its ASCII digit. A character that
  NFKC would make a digit without being one ("¹", "①", "½") stays as it is: it reads as no digit,
  so it must not join the digits next to it into a longer number;
- dashes (hyphen, non-breaking hyphen, en dash, minus sign...) become "-";
- a run of whitespace other than newline (tab, U+00A0, U+202F, U+2009, U+3000, double spaces)
  becomes one space;
- format and control characters (zero-width U+200B-U+200D, U+2060, U+FEFF, bidi marks
  U+200E/U+200F, U+202A-U+202E, U+2066-U+2069, soft hyphen) vanish, so "jo\u200bhn" is "john";
  between two digits they become a space instead, as the digit-group separators they are used for
  there: "4111\u200b1111" is two groups, and a card next to another digit stays a card of its own.

Most messages are plain ASCII with nothing to change; for those the copy is the text itself and
the offset map is only built once something is replaced.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Sequence

Span = tuple[int, int]  # [start, end) in the normalised text

# Characters that are their own normal form and need no care: ASCII printables, Latin-1 letters,
# CJK ideographs and the common CJK punctuation that NFKC leaves alone. Anything else is looked at.
_SAFE = "\n -~\u00c0-\u00ff\u2018\u2019\u201c\u201d\u3001\u3002\u300a-\u3011\u4e00-\u9fff"
_IGNORABLE = "\x00-\x08\x0e-\x1b\x7f-\x84\x86-\x9f\u00ad\u061c\u180e\u200b-\u200f\u202a-\u202e\u2060-\u2064\u2066-\u206f\ufeff"
_COMBINING = "\u0300-\u036f\u1ab0-\u1aff\u1dc0-\u1dff\u20d0-\u20ff\u3099\u309a\ufe20-\ufe2f"
_RUN = rf"(?:[^\S\n]|[{_IGNORABLE}])"
_SPECIAL = re.compile(
    # whitespace and ignorable characters, unless the run is one plain space
    rf"(?P<run>(?=[^\S\n ]|[{_IGNORABLE}]|{_RUN}{{2}}){_RUN}+)"
    rf"|.[{_COMBINING}]+"  # a character with its combining marks, normalised together
    rf"|[^{_SAFE}]",
    re.DOTALL,
)
_ASCII_SPECIAL = re.compile(r"[^\n -~]| {2}")
_DASHES = str.maketrans(dict.fromkeys("\u2010\u2011\u2012\u2013\u2014\u2015\u2212\ufe58\ufe63\uff0d", "-"))


def _folded(unit: str) -> str:
    """The normalised form of one character with its combining marks."""
    if len(unit) == 1 and unit.isdecimal():
        return str(unicodedata.decimal(unit))
    out = unicodedata.normalize("NFKC", unit).translate(_DASHES)
    if out.isascii() and not any(c.isdigit() for c in out):
        return out
    if not any(c.isdecimal() for c in unit) and any(c.isdigit() for c in out):
        return unit  # "¹", "①": not a digit in the text, so not one in the copy
    return "".join(str(unicodedata.decimal(c)) if c.isdecimal() else c for c in out)


class MappedText:
    """`text` is the normalised copy of `original`; `replace` puts placeholders into both.

    For each character of `text`, `_starts[i]`/`_ends[i]` are the original span it came from
    (None while the copy is the original itself). A placeholder's characters map to the whole
    original span it replaced, so a later replacement that touches a placeholder covers all of it.
    """

    __slots__ = ("original", "text", "_starts", "_ends", "_replaced")

    def __init__(self, original: str) -> None:
        self.original = original
        self._replaced: list[tuple[int, int, str]] = []
        self._starts: list[int] | None = None
        self._ends: list[int] | None = None
        if original.isascii() and not _ASCII_SPECIAL.search(original):
            self.text = original
        else:
            self._normalise()

    def _normalise(self) -> None:
        original = self.original
        parts: list[str] = []
        starts: list[int] = []
        ends: list[int] = []
        pos = 0
        for match in _SPECIAL.finditer(original):
            start, end = match.span()
            if pos < start:
                parts.append(original[pos:start])
                starts += range(pos, start)
                ends += range(pos + 1, start + 1)
            unit = match.group()
            if match.lastgroup != "run":
                out = _folded(unit)
            elif any(c.isspace() for c in unit):
                out = " "
            else:
                out = _digit_gap(original, start, end)
            parts.append(out)
            starts += [start] * len(out)
            ends += [end] * len(out)
            pos = end
        parts.append(original[pos:])
        starts += range(pos, len(original))
        ends += range(pos + 1, len(original) + 1)
        self.text, self._starts, self._ends = "".join(parts), starts, ends

    def replace(self, spans: Sequence[Span], placeholder: str) -> None:
        """Replace each (start, end) span of `text`, sorted and not overlapping, by `placeholder`."""
        if not spans:
            return
        if self._starts is None or self._ends is None:
            self._starts, self._ends = list(range(len(self.text))), list(range(1, len(self.text) + 1))
        text, starts, ends = self.text, self._starts, self._ends
        parts: list[str] = []
        new_starts: list[int] = []
        new_ends: list[int] = []
        pos = 0
        n = len(placeholder)
        for start, end in spans:
            first, last = starts[start], ends[end - 1]
            self._replaced.append((first, last, placeholder))
            parts += (text[pos:start], placeholder)
            new_starts += starts[pos:start]
            new_starts += [first] * n
            new_ends += ends[pos:start]
            new_ends += [last] * n
            pos = end
        parts.append(text[pos:])
        new_starts += starts[pos:]
        new_ends += ends[pos:]
        self.text, self._starts, self._ends = "".join(parts), new_starts, new_ends

    def replacements(self) -> list[tuple[int, int, str]]:
        """The (start, end, placeholder) spans of `original` replaced so far, sorted, none inside another."""
        kept: list[tuple[int, int, str]] = []
        for start, end, placeholder in sorted(self._replaced, key=lambda r: (r[0], -r[1])):
            if not kept or start >= kept[-1][1]:
                kept.append((start, end, placeholder))
        return kept


def _digit_gap(original: str, start: int, end: int) -> str:
    """What invisible characters at original[start:end] become: a space between two digits, else nothing."""
    if 0 < start and end < len(original) and original[start - 1].isdecimal() and original[end].isdecimal():
        return " "
    return ""
