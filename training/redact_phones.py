"""Find phone numbers in normalised text (see textmap.py).

Each finder returns the (start, end) spans to redact, sorted and not overlapping.

- Chinese mobiles (1[3-9]x and 8 more digits, optionally after +86/0086) by a regex: they need no
  region, and the numbering plan's ranges are all "possible".
- `phonenumbers` (Google's libphonenumber, ported) finds all other valid numbers. Every country
  has its own numbering plan, and the plans change, so a maintained library knows more than any
  regex we could write. Its `PhoneNumberMatcher` runs once for each region, so national formats
  are also found (``(415) 555-2671`` for US, ``020 7946 0958`` for GB). Leniency is
  STRICT_GROUPING: the number must be valid and its digit groups must match how that country
  writes it. VALID is not enough: with it, "SO-2024-118833" is a US number. The matcher itself
  ignores slash dates and times; with STRICT_GROUPING, dates like 2024-05-12, prices and 12-digit
  order numbers also survive.
- A number written in international form (+44 7700 900123, 0044 7700 900123, +447700900123) is a
  phone when its length is possible for its country, even when the matcher does not call it
  valid (fictional or newly allocated ranges, numbers from plans the library does not know yet):
  the "+" or "00" says the customer wrote a phone number, and privacy must not depend on the
  library's list of allocated ranges. Without "+" or "00", only valid numbers count, so order
  numbers and other digit runs survive.
"""

from __future__ import annotations

import re

import phonenumbers
from phonenumbers import Leniency, PhoneNumberMatcher, ValidationResult

from training.textmap import Span

_CN_MOBILE_RE = re.compile(r"(?<![0-9])(?:(?:\+|00)86[ -]?)?1[3-9][0-9][ .-]?[0-9]{4}[ .-]?[0-9]{4}(?![0-9])")
_LENIENCY = Leniency.STRICT_GROUPING

# "+" or "00", a country code, then digit groups separated by one space, "-" or "." (or by the
# trunk prefix "(0)" that British and German numbers are often written with). "00" must start a
# number and not follow a letter: "SF0012345678901" is a tracking number.
_INTERNATIONAL_RE = re.compile(r"(?:\+ ?|(?<![0-9A-Za-z])00)[1-9][0-9]*(?:(?:[ .-]|[ .-]?\(0\)[ .-]?)[0-9]+)*")
_GROUP_END_RE = re.compile(r"[0-9](?![0-9)])")
_MIN_INTERNATIONAL_DIGITS = 8  # country code and number: shorter is a quantity or a score, not a phone
_MAX_INTERNATIONAL_DIGITS = 15 + 2  # E.164's longest, with "00" and a trunk "(0)"


def find_cn_mobiles(text: str) -> list[Span]:
    return [m.span() for m in _CN_MOBILE_RE.finditer(text)]


def find_valid_phones(text: str, region: str) -> list[Span]:
    return [(m.start, m.end) for m in PhoneNumberMatcher(text, region, leniency=_LENIENCY)]


def find_international_phones(text: str) -> list[Span]:
    spans: list[Span] = []
    match = _INTERNATIONAL_RE.search(text)
    while match:
        end = _possible_end(text, match)
        if end is None:  # a number may still start in a later group ("+1 2 0044 7700 900123")
            match = _INTERNATIONAL_RE.search(text, match.start() + 1)
        else:  # the groups after `end` may hold the next number
            spans.append((match.start(), end))
            match = _INTERNATIONAL_RE.search(text, end)
    return spans


def _possible_end(text: str, match: re.Match[str]) -> int | None:
    """End of the longest run of whole digit groups from `match`'s start that is a possible number.

    The candidate may run on into an expiry date or an order number ("+44 7700 900123 48213"):
    whole groups are dropped from the right until the rest is a possible number. Only runs of at
    most 15 digits (E.164) and a trunk "(0)" are tried, so a long run of digit groups costs a few
    parses, not one per group.
    """
    start = match.start()
    ends = [g.end() for g in _GROUP_END_RE.finditer(text, start, match.end())]
    for end in reversed(ends):
        candidate = text[start:end]
        digits = sum(c.isdigit() for c in candidate)
        if digits > _MAX_INTERNATIONAL_DIGITS:
            continue
        if digits < _MIN_INTERNATIONAL_DIGITS:
            return None
        if candidate.startswith("00"):
            candidate = "+" + candidate[2:]
        try:
            number = phonenumbers.parse(candidate, None)
        except phonenumbers.NumberParseException:
            continue
        if phonenumbers.is_possible_number_with_reason(number) == ValidationResult.IS_POSSIBLE:
            return end
    return None
