"""Find IBANs, Chinese resident ID numbers and payment cards in normalised text (see textmap.py).

Each finder returns the (start, end) spans to redact, sorted and not overlapping. The text is
the normalised copy, so digits are ASCII and digit groups are separated by one space, "-", "." or
"/" whatever the customer pasted.

These have fixed shapes, and the checksums that separate them from order numbers (mod-97,
ISO 7064 MOD 11-2, Luhn) are a few lines of pure Python, so they need no dependency.

IBANs are checked against each country's IBAN length (SWIFT IBAN Registry), which also tells where
an IBAN written in groups ends when more words follow it. Cards are looked for in every window of
whole digit groups, so a card followed by its expiry date or CVV is still found.

What makes a card (and not a barcode, tracking or order number): 13 to 19 digits in whole groups,
one kind of separator between them, the Luhn check, and
- 16 to 19 digits: nothing else. Nearly every card in use has 16 digits; for those, redacting a
  Luhn-valid number that was something else costs less than keeping a card.
- 13 to 15 digits: also the prefix of a network that issues that length (American Express 15,
  Diners Club 14; nobody issues 13-digit cards any more), and no ASCII letter glued on either
  side. One in ten 13-digit EAN barcodes (6901234567892) and tracking numbers (YT2026112812345)
  passes Luhn; none of them has such a prefix and length, and tracking numbers carry letters.
"""

from __future__ import annotations

import re
from datetime import date

from training.textmap import Span

# --- IBAN -------------------------------------------------------------------------------------
# Candidate: country code + check digits, then up to 30 letters or digits, optionally grouped by
# single separators. The candidate may run on into the next words; the country's length says where
# the IBAN ends. A letter may not come right before it; a digit may (see `_glued`).
_IBAN_RE = re.compile(r"(?<![A-Za-z])[A-Za-z]{2}[0-9]{2}(?:[ ./-]?[A-Za-z0-9]){11,30}")
# IBAN lengths by country (SWIFT IBAN Registry).
_IBAN_LENGTHS: dict[str, int] = {
    "AD": 24, "AE": 23, "AL": 28, "AT": 20, "AZ": 28, "BA": 20, "BE": 16, "BG": 22, "BH": 22,
    "BI": 27, "BR": 29, "BY": 28, "CH": 21, "CR": 22, "CY": 28, "CZ": 24, "DE": 22, "DJ": 27,
    "DK": 18, "DO": 28, "EE": 20, "EG": 29, "ES": 24, "FI": 18, "FK": 18, "FO": 18, "FR": 27,
    "GB": 22, "GE": 22, "GI": 23, "GL": 18, "GR": 27, "GT": 28, "HN": 28, "HR": 21, "HU": 28,
    "IE": 22, "IL": 23, "IQ": 23, "IS": 26, "IT": 27, "JO": 30, "KW": 30, "KZ": 20, "LB": 28,
    "LC": 32, "LI": 21, "LT": 20, "LU": 20, "LV": 21, "LY": 25, "MC": 27, "MD": 24, "ME": 22,
    "MK": 19, "MN": 20, "MR": 27, "MT": 31, "MU": 30, "NI": 28, "NL": 18, "NO": 15, "OM": 23,
    "PK": 24, "PL": 28, "PS": 29, "PT": 25, "QA": 29, "RO": 24, "RS": 22, "RU": 33, "SA": 24,
    "SC": 31, "SD": 18, "SE": 24, "SI": 19, "SK": 24, "SM": 27, "SO": 23, "ST": 25, "SV": 28,
    "TL": 23, "TN": 24, "TR": 26, "UA": 29, "VA": 22, "VG": 24, "XK": 20, "YE": 30,
}  # fmt: skip


def find_ibans(text: str) -> list[Span]:
    spans: list[Span] = []
    match = _IBAN_RE.search(text)
    while match:
        end = _iban_end(text, match)
        if end is None:  # not an IBAN here; one may still start at a later word inside the match
            match = _IBAN_RE.search(text, match.start() + 1)
        else:
            spans.append((match.start(), end))
            match = _IBAN_RE.search(text, end)
    return spans


def _iban_end(text: str, match: re.Match[str]) -> int | None:
    """Where the valid IBAN that starts `match` ends in `text`; None when there is none."""
    length = _IBAN_LENGTHS.get(match.group()[:2].upper())
    if length is None:
        return None
    end = _end_of_nth_alnum(match.group(), length)
    if end is None:
        return None
    end += match.start()
    if end < len(text) and _glued(text[end - 1], text[end]):  # it would end inside a number or word
        return None
    return end if _iban_checksum_ok(text[match.start() : end]) else None


def _glued(left: str, right: str) -> bool:
    """Both ASCII digits or both ASCII letters: one token, so no IBAN may end between them.

    A digit next to a letter is a boundary, on both ends (see `_IBAN_RE`): so an IBAN's ends never
    depend on text that a later IBAN or card replacement changes, and redacting twice changes
    nothing.
    """
    return (left.isascii() and right.isascii()) and (
        (left.isdigit() and right.isdigit()) or (left.isalpha() and right.isalpha())
    )


def _end_of_nth_alnum(candidate: str, n: int) -> int | None:
    """Index just past the n-th letter or digit of `candidate`, None when it has fewer."""
    seen = 0
    for i, char in enumerate(candidate):
        if char.isalnum():
            seen += 1
            if seen == n:
                return i + 1
    return None


def _iban_checksum_ok(iban: str) -> bool:
    """ISO 13616 mod-97: country code and check digits moved to the end, letters as 10..35."""
    compact = "".join(c for c in iban if c.isalnum()).upper()
    rearranged = compact[4:] + compact[:4]
    return int("".join(str(int(char, 36)) for char in rearranged)) % 97 == 1


# --- Chinese resident ID (GB 11643-1999) ------------------------------------------------------
# 6-digit area, 8-digit birth date, 3-digit sequence, check character; written solid or in
# 6-8-4 blocks. A final X ends the ID even when digits follow: redacting those digits (as a card)
# must not reveal an ID when the text is redacted again.
_CNID_RE = re.compile(r"(?<![0-9])[0-9]{6}[ -]?[0-9]{8}[ -]?[0-9]{3}(?:[0-9](?![0-9Xx])|[Xx])")
_CNID_WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
_CNID_CHECK = "10X98765432"
_CNID_FIRST_YEAR = 1900


def find_cnids(text: str) -> list[Span]:
    return [m.span() for m in _CNID_RE.finditer(text) if _cnid_valid(m.group())]


def _cnid_valid(candidate: str) -> bool:
    """An 18-character resident ID: non-zero area code, real birth date, ISO 7064 MOD 11-2 check."""
    digits = [int(c) for c in candidate[:-1] if c.isdigit()]
    if digits[0] == 0 or not _plausible_birth_date(digits[6:14]):
        return False
    total = sum(d * w for d, w in zip(digits, _CNID_WEIGHTS))
    return candidate[-1].upper() == _CNID_CHECK[total % 11]


def _plausible_birth_date(digits: list[int]) -> bool:
    """YYYYMMDD digits form a real calendar date from 1900 up to today."""
    year = int("".join(map(str, digits[:4])))
    month, day = digits[4] * 10 + digits[5], digits[6] * 10 + digits[7]
    try:
        born = date(year, month, day)
    except ValueError:
        return False
    return _CNID_FIRST_YEAR <= year and born <= date.today()


# --- payment cards ----------------------------------------------------------------------------
# A run of digit groups joined by single separators. Cards are found in it group-aligned,
# so "4111 1111 1111 1111 12/26" (card, then expiry) still yields the card.
_DIGIT_RUN_RE = re.compile(r"[0-9]+(?:[ ./-][0-9]+)*")
_DIGIT_GROUP_RE = re.compile(r"[0-9]+")
_LUHN_DOUBLED = (0, 2, 4, 6, 8, 1, 3, 5, 7, 9)
MIN_CARD_DIGITS, _MAX_CARD_DIGITS = 13, 19
_ANY_PREFIX_FROM = 16
# Prefixes of the networks that issue cards shorter than 16 digits, by length.
_SHORT_CARD_PREFIXES: dict[int, tuple[str, ...]] = {
    14: ("300", "301", "302", "303", "304", "305", "3095", "36", "38", "39"),  # Diners Club
    15: ("34", "37"),  # American Express
}


def find_cards(text: str) -> list[Span]:
    found: list[Span] = []
    for run in _DIGIT_RUN_RE.finditer(text):
        if run.end() - run.start() < MIN_CARD_DIGITS:
            continue
        groups = [(g.start(), g.end()) for g in _DIGIT_GROUP_RE.finditer(text, run.start(), run.end())]
        first = 1 if _dialling_prefix(text, groups) else 0
        found += ((groups[i][0], groups[j - 1][1]) for i, j in _card_windows(text, groups, first))
    return found


def _dialling_prefix(text: str, groups: list[Span]) -> bool:
    """The run starts with a phone's country code (+86 138..., 0044 20...): no card starts there.

    Without this, "+86 138 1234 5678" (13 digits) would be a card whenever it passes Luhn.
    """
    if len(groups) < 2:
        return False
    start, end = groups[0]
    after_plus = start > 0 and text[start - 1] == "+"
    return (after_plus and end - start <= 3) or (text.startswith("00", start) and end - start <= 5)


def _card_windows(text: str, groups: list[Span], first: int) -> list[Span]:
    """Group ranges [i, j) holding a card, overlapping ranges merged.

    Every window of whole consecutive groups from group `first` on, with one kind of separator, is
    tried, so a card is found next to other numbers; merging overlapping windows leaves no digit
    of a card behind when windows compete. Windows grow leftwards from their last group, which
    keeps each group's Luhn parity fixed, so every window costs one addition.
    """
    sums = [_luhn_sums(text[start:end]) for start, end in groups]
    windows: list[Span] = []
    for j in range(first, len(groups)):
        total = length = 0
        separator = None
        for i in range(j, first - 1, -1):
            if i < j:
                between = text[groups[i][1]]
                if separator not in (None, between):
                    break
                separator = between
            total += sums[i][length & 1]  # `length` digits of the window lie right of group i
            length += groups[i][1] - groups[i][0]
            if length > _MAX_CARD_DIGITS:
                break
            if length >= MIN_CARD_DIGITS and total % 10 == 0 and _card_shaped(text, groups[i][0], groups[j][1], length):
                windows.append((i, j + 1))
    return _merge(windows)


def _card_shaped(text: str, start: int, end: int, length: int) -> bool:
    """A Luhn-valid window text[start:end] of `length` digits is a card (see the module docstring)."""
    if length >= _ANY_PREFIX_FROM:
        return True
    glued = (start > 0 and _ascii_letter(text[start - 1])) or (end < len(text) and _ascii_letter(text[end]))
    return not glued and text.startswith(_SHORT_CARD_PREFIXES.get(length, ()), start)


def _ascii_letter(char: str) -> bool:
    return char.isascii() and char.isalpha()


def _merge(ranges: list[Span]) -> list[Span]:
    """Sorted ranges with overlapping ones joined (touching ones stay apart)."""
    merged: list[Span] = []
    for start, end in sorted(ranges):
        if merged and start < merged[-1][1]:
            merged[-1] = (merged[-1][0], max(end, merged[-1][1]))
        else:
            merged.append((start, end))
    return merged


def _luhn_sums(digits: str) -> tuple[int, int]:
    """Luhn sums of `digits` when an even / odd number of digits follows them in the number."""
    values = [int(c) for c in digits]
    plain, doubled = values[-1::-2], values[-2::-2]  # from the right: kept, doubled, kept, ...
    return (
        sum(plain) + sum(_LUHN_DOUBLED[d] for d in doubled),
        sum(doubled) + sum(_LUHN_DOUBLED[d] for d in plain),
    )
