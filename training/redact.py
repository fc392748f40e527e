"""Replace personal data with typed placeholders before any text is stored or trained on.

`redact` runs on every incoming customer message (English or Chinese), so the common case, a short
message without personal data, must cost a few microseconds: every pattern is compiled once at
import, and each detector is skipped unless the text has enough digits (or an "@" or the word
"at") to hold what it looks for.

Detectors look at a normalised copy of the text (training/textmap.py: NFKC, full-width and other
digits as ASCII, one space for any run of no-break, thin or ideographic spaces and tabs, no
zero-width or bidi marks), so a card pasted from a banking app with U+202F between its groups is
the same card as one typed with spaces. What they find is replaced in the original text: the rest
of what the customer wrote is stored unchanged.

The detectors, in their modules:
- redact_email.py: e-mail addresses, also internationalised and spelled-out ones;
- redact_numbers.py: IBANs, Chinese resident ID numbers (CNID) and payment cards, by shape and
  checksum;
- redact_phones.py: Chinese mobiles, possible numbers written in international form, and valid
  numbers by libphonenumber's matcher for each of `regions`.

Order matters, because one detector could take another's match. E-mail addresses go first: they
may hold digits ("13812345678@163.com"). IBANs go next, because their digit groups could pass as a
card. CNIDs go before cards, and all three go before phones, which accept the widest range of
digits. Each detector sees the placeholders of those before it, not what they replaced.
Placeholders hold no digits and no "@", and no detector decides on characters that a later one
may replace, so redacting twice changes nothing.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import NamedTuple

from training.redact_email import find_emails, find_spelled_emails
from training.redact_numbers import MIN_CARD_DIGITS, find_cards, find_cnids, find_ibans
from training.redact_phones import find_cn_mobiles, find_international_phones, find_valid_phones
from training.textmap import MappedText

EMAIL = "<EMAIL>"
CARD = "<CARD>"
CNID = "<CNID>"
IBAN = "<IBAN>"
PHONE = "<PHONE>"
PLACEHOLDERS: tuple[str, ...] = (EMAIL, CARD, CNID, IBAN, PHONE)

# Regions whose national phone formats are recognised; international (+44 ..., 0044 ...) formats
# are recognised whatever the region.
DEFAULT_REGIONS: tuple[str, ...] = ("US", "GB", "CN", "DE")

_DIGIT = re.compile(r"\d")  # any script's decimal digits: the normalised copy makes them ASCII
_EMAIL_HINT = re.compile(r"[@\uff20\ufe6b]|\bat\b", re.IGNORECASE)
_MIN_PHONE_DIGITS = 7
_MIN_CNID_DIGITS = 17
_MIN_IBAN_DIGITS = 2


class Redaction(NamedTuple):
    """original[start:end] is personal data, stored as `placeholder`."""

    start: int
    end: int
    placeholder: str


def redact(text: str, *, regions: Sequence[str] = DEFAULT_REGIONS) -> str:
    """`text` with e-mails, IBANs, CNIDs, cards and phone numbers replaced by their placeholders.

    `regions` are the ISO 3166 region codes whose national phone formats are recognised.
    """
    return _apply(text, redactions(text, regions=regions))


def redactions(text: str, *, regions: Sequence[str] = DEFAULT_REGIONS) -> list[Redaction]:
    """Where `text` holds personal data: sorted spans that do not overlap (see `redact`)."""
    digits = len(_DIGIT.findall(text))
    emails = _EMAIL_HINT.search(text) is not None
    if digits < _MIN_IBAN_DIGITS and not emails:
        return []
    mapped = MappedText(text)
    if emails:
        mapped.replace(find_emails(mapped.text), EMAIL)
        mapped.replace(find_spelled_emails(mapped.text), EMAIL)
    if digits >= _MIN_IBAN_DIGITS:
        mapped.replace(find_ibans(mapped.text), IBAN)
    if digits >= _MIN_CNID_DIGITS:
        mapped.replace(find_cnids(mapped.text), CNID)
    if digits >= MIN_CARD_DIGITS:
        mapped.replace(find_cards(mapped.text), CARD)
    if digits >= _MIN_PHONE_DIGITS:
        mapped.replace(find_cn_mobiles(mapped.text), PHONE)
        mapped.replace(find_international_phones(mapped.text), PHONE)
        _redact_valid_phones(mapped, regions)
    return [Redaction(*r) for r in mapped.replacements()]


def _redact_valid_phones(mapped: MappedText, regions: Sequence[str]) -> None:
    """Each region's matcher, again after any of them found a number, until none finds one.

    The matcher reads a run of digit groups as one candidate: "0210000 0130 0000 0003" is no CN
    number, but once DE's matcher took "0210000", CN's finds "0130 0000 0003". Stopping only
    when nothing is found leaves nothing that redacting the result again would find. Each pass
    after a find sees fewer digits, and usually too few to look at all.
    """
    found = True
    while found:
        found = False
        for region in regions:
            if len(_DIGIT.findall(mapped.text)) < _MIN_PHONE_DIGITS:
                return
            spans = find_valid_phones(mapped.text, region)
            mapped.replace(spans, PHONE)
            found = found or bool(spans)


def _apply(text: str, found: Sequence[Redaction]) -> str:
    """`text` with each of `found` (sorted, not overlapping) replaced by its placeholder."""
    if not found:
        return text
    parts: list[str] = []
    pos = 0
    for start, end, placeholder in found:
        parts += (text[pos:start], placeholder)
        pos = end
    parts.append(text[pos:])
    return "".join(parts)
