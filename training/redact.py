"""Replace personal data with typed placeholders before any text is stored or trained on.

`redact` runs on every incoming customer message (English or Chinese), so the common case, a short
message without personal data, must cost a few microseconds: every pattern is compiled once at import,
and each detector is skipped unless the text has enough digits (or an "@") to hold what it looks for.

Libraries and why:
- `re` (standard library) finds candidates for e-mail addresses, IBANs, Chinese resident ID numbers
  (CNID), payment cards and Chinese mobile numbers. These have fixed shapes, and the checksums that
  separate them from order numbers (mod-97, ISO 7064 MOD 11-2, Luhn) are a few lines of pure Python,
  so they need no dependency.
- `phonenumbers` (Google's libphonenumber, ported) finds all other phone numbers. Every country has its
  own numbering plan, and the plans change, so a maintained library knows more than any regex we
  could write. Its `PhoneNumberMatcher` runs once for each region in `regions`, so national formats
  are also found (``(415) 555-2671`` for US, ``020 7946 0958`` for GB). Leniency is
  STRICT_GROUPING: the number must be valid and its digit groups must match how that country writes
  it. VALID is not enough: with it, "SO-2024-118833" is a US number. The matcher itself ignores
  slash dates and times; with STRICT_GROUPING, dates like 2024-05-12, prices and 12-digit order
  numbers also survive.

Order matters, because one detector could take another's match. E-mail addresses go first: they
may hold digits ("13812345678@163.com"). IBANs go next, because their digit groups could pass as a
card. CNIDs go before cards, and all three go before phones, which accept the widest range of digits.
Placeholders hold no digits and no "@", and no detector decides on characters that a later one may
replace, so redacting twice changes nothing.

IBANs are checked against each country's IBAN length (SWIFT IBAN Registry), which also tells where
an IBAN written in groups ends when more words follow it. Cards are looked for in every window of
whole digit groups, so a card followed by its expiry date or CVV is still found.

Digits are Unicode-aware (`\\d`, `int()`), so full-width digits typed with a Chinese IME
(１３８…) are counted and checked too.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from datetime import date

from phonenumbers import Leniency, PhoneNumberMatcher

EMAIL = "<EMAIL>"
CARD = "<CARD>"
CNID = "<CNID>"
IBAN = "<IBAN>"
PHONE = "<PHONE>"
PLACEHOLDERS: tuple[str, ...] = (EMAIL, CARD, CNID, IBAN, PHONE)

# Regions whose national phone formats are recognised; international (+44 ..., 0044 ...) formats
# are recognised whatever the region.
DEFAULT_REGIONS: tuple[str, ...] = ("US", "GB", "CN", "DE")

_DIGIT = re.compile(r"\d")
_MIN_PHONE_DIGITS = 7
_MIN_CARD_DIGITS, _MAX_CARD_DIGITS = 13, 19
_MIN_CNID_DIGITS = 17
_MIN_IBAN_DIGITS = 2

# --- e-mail -----------------------------------------------------------------------------------
# The look-behind makes a match start only where a run of local-part characters starts. Without
# it, a long run of those characters with no "@" after it would be rescanned from every position.
_EMAIL_RE = re.compile(
    r"(?<![A-Za-z0-9._%+-])[A-Za-z0-9._%+-]+@"
    r"(?:[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?\.)+[A-Za-z]{2,63}(?![A-Za-z-])"
)

# --- IBAN -------------------------------------------------------------------------------------
# Candidate: country code + check digits, then up to 30 letters or digits, optionally grouped by
# single spaces. The candidate may run on into the next words; the country's length says where
# the IBAN ends. A letter may not come right before it; a digit may (see `_glued`).
_IBAN_RE = re.compile(r"(?<![A-Za-z])[A-Za-z]{2}[0-9]{2}(?: ?[A-Za-z0-9]){11,30}")
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

# --- Chinese resident ID (GB 11643-1999) ------------------------------------------------------
# 6-digit area, 8-digit birth date, 3-digit sequence, check character; written solid or in
# 6-8-4 blocks. A final X ends the ID even when digits follow: redacting those digits (as a card)
# must not reveal an ID when the text is redacted again.
_CNID_RE = re.compile(r"(?<!\d)\d{6}[ -]?\d{8}[ -]?\d{3}(?:\d(?![\dXx])|[Xx])")
_CNID_WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
_CNID_CHECK = "10X98765432"
_CNID_FIRST_YEAR = 1900

# --- payment cards ----------------------------------------------------------------------------
# A run of digit groups joined by single spaces or dashes. Cards are found in it group-aligned,
# so "4111 1111 1111 1111 12/26" (card, then expiry) still yields the card.
_DIGIT_RUN_RE = re.compile(r"\d+(?:[ -]\d+)*")
_DIGIT_GROUP_RE = re.compile(r"\d+")
_LUHN_DOUBLED = (0, 2, 4, 6, 8, 1, 3, 5, 7, 9)

# --- phones -----------------------------------------------------------------------------------
_CN_MOBILE_RE = re.compile(r"(?<!\d)(?:(?:\+|00)86[ -]?)?1[3-9]\d[ -]?\d{4}[ -]?\d{4}(?!\d)")
_PHONE_LENIENCY = Leniency.STRICT_GROUPING


def redact(text: str, *, regions: Sequence[str] = DEFAULT_REGIONS) -> str:
    """`text` with e-mails, IBANs, CNIDs, cards and phone numbers replaced by their placeholders.

    `regions` are the ISO 3166 region codes whose national phone formats are recognised.
    """
    if "@" in text:
        text = _EMAIL_RE.sub(EMAIL, text)
    digits = _count_digits(text)
    if digits >= _MIN_IBAN_DIGITS:
        text = _redact_ibans(text)
    if digits >= _MIN_CNID_DIGITS:
        text = _CNID_RE.sub(_cnid_replacement, text)
    if digits >= _MIN_CARD_DIGITS:
        text = _DIGIT_RUN_RE.sub(_card_replacement, text)
    if digits >= _MIN_PHONE_DIGITS:
        text = _redact_phones(text, regions)
    return text


def _count_digits(text: str) -> int:
    return len(_DIGIT.findall(text))


def _digit_values(chars: Iterable[str]) -> list[int]:
    """The values of the (possibly full-width) decimal digits in `chars`, others skipped."""
    return [int(c) for c in chars if c.isdecimal()]


def _number(digits: list[int]) -> int:
    value = 0
    for d in digits:
        value = value * 10 + d
    return value


def _splice(text: str, spans: Iterable[tuple[int, int]], placeholder: str) -> str:
    """`text` with each (start, end) span, sorted and not overlapping, replaced by `placeholder`."""
    parts: list[str] = []
    pos = 0
    for start, end in spans:
        parts += (text[pos:start], placeholder)
        pos = end
    parts.append(text[pos:])
    return "".join(parts)


# --- IBAN -------------------------------------------------------------------------------------


def _redact_ibans(text: str) -> str:
    spans: list[tuple[int, int]] = []
    match = _IBAN_RE.search(text)
    while match:
        end = _iban_end(text, match)
        if end is None:  # not an IBAN here; one may still start at a later word inside the match
            match = _IBAN_RE.search(text, match.start() + 1)
        else:
            spans.append((match.start(), end))
            match = _IBAN_RE.search(text, end)
    return _splice(text, spans, IBAN) if spans else text


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
    """Index just past the n-th non-space character of `candidate`, None when it has fewer."""
    seen = 0
    for i, char in enumerate(candidate):
        if char != " ":
            seen += 1
            if seen == n:
                return i + 1
    return None


def _iban_checksum_ok(iban: str) -> bool:
    """ISO 13616 mod-97: country code and check digits moved to the end, letters as 10..35."""
    compact = iban.replace(" ", "").upper()
    rearranged = compact[4:] + compact[:4]
    return int("".join(str(int(char, 36)) for char in rearranged)) % 97 == 1


# --- CNID -------------------------------------------------------------------------------------


def _cnid_replacement(match: re.Match[str]) -> str:
    return CNID if _cnid_valid(match.group()) else match.group()


def _cnid_valid(candidate: str) -> bool:
    """An 18-character resident ID: non-zero area code, real birth date, ISO 7064 MOD 11-2 check."""
    digits = _digit_values(candidate[:-1])
    if len(digits) != 17 or digits[0] == 0 or not _plausible_birth_date(digits[6:14]):
        return False
    total = sum(d * w for d, w in zip(digits, _CNID_WEIGHTS))
    last = candidate[-1]
    return ("X" if last in "Xx" else str(int(last))) == _CNID_CHECK[total % 11]


def _plausible_birth_date(digits: list[int]) -> bool:
    """YYYYMMDD digits form a real calendar date from 1900 up to today."""
    year, month, day = _number(digits[:4]), _number(digits[4:6]), _number(digits[6:8])
    try:
        born = date(year, month, day)
    except ValueError:
        return False
    return _CNID_FIRST_YEAR <= year and born <= date.today()


# --- cards ------------------------------------------------------------------------------------


def _card_replacement(match: re.Match[str]) -> str:
    run = match.group()
    spans = [(g.start(), g.end()) for g in _DIGIT_GROUP_RE.finditer(run)]
    groups = [run[start:end] for start, end in spans]
    after_plus = match.start() > 0 and match.string[match.start() - 1] in "+\uff0b"
    first = 1 if _dialling_prefix(groups, after_plus) else 0
    covered = _card_windows(groups, first)
    if not covered:
        return run
    return _splice(run, ((spans[i][0], spans[j - 1][1]) for i, j in covered), CARD)


def _dialling_prefix(groups: list[str], after_plus: bool) -> bool:
    """The run starts with a phone's country code (+86 138..., 0044 20...): no card starts there.

    Without this, "+86 138 1234 5678" (13 digits) would be a card whenever it passes Luhn.
    """
    if len(groups) < 2:
        return False
    head = groups[0]
    return (after_plus and len(head) <= 3) or (head.startswith("00") and len(head) <= 5)


def _card_windows(groups: list[str], first: int = 0) -> list[tuple[int, int]]:
    """Group ranges [i, j) holding a Luhn-valid 13-19 digit number, overlapping ranges merged.

    Every window of whole consecutive groups from group `first` on is tried, so a card is found
    next to other numbers; merging overlapping windows leaves no digit of a card behind when
    windows compete. Windows grow leftwards from their last group, which keeps each group's Luhn
    parity fixed, so every window costs one addition.
    """
    sums = [_luhn_sums(group) for group in groups]
    windows: list[tuple[int, int]] = []
    for j in range(first, len(groups)):
        total = length = 0
        for i in range(j, first - 1, -1):
            total += sums[i][length & 1]  # `length` digits of the window lie right of group i
            length += len(groups[i])
            if length > _MAX_CARD_DIGITS:
                break
            if length >= _MIN_CARD_DIGITS and total % 10 == 0:
                windows.append((i, j + 1))
    return _merge(windows)


def _merge(ranges: list[tuple[int, int]]) -> list[tuple[int, int]]:
    """Sorted ranges with overlapping ones joined (touching ones stay apart)."""
    merged: list[tuple[int, int]] = []
    for start, end in sorted(ranges):
        if merged and start < merged[-1][1]:
            merged[-1] = (merged[-1][0], max(end, merged[-1][1]))
        else:
            merged.append((start, end))
    return merged


def _luhn_sums(digits: str) -> tuple[int, int]:
    """Luhn sums of `digits` when an even / odd number of digits follows them in the number."""
    values = _digit_values(digits)
    plain, doubled = values[-1::-2], values[-2::-2]  # from the right: kept, doubled, kept, ...
    return (
        sum(plain) + sum(_LUHN_DOUBLED[d] for d in doubled),
        sum(doubled) + sum(_LUHN_DOUBLED[d] for d in plain),
    )


# --- phones -----------------------------------------------------------------------------------


def _redact_phones(text: str, regions: Sequence[str]) -> str:
    text = _CN_MOBILE_RE.sub(PHONE, text)
    for region in regions:
        if _count_digits(text) < _MIN_PHONE_DIGITS:
            break
        spans = [(m.start, m.end) for m in PhoneNumberMatcher(text, region, leniency=_PHONE_LENIENCY)]
        if spans:
            text = _splice(text, spans, PHONE)
    return text
