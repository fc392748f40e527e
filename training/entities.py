"""Entities in a customer's message: order and tracking numbers, e-mail, phone, postcode, amounts, dates.

The bot fills an intent's slots from them (training/domain.py), so they are taken from the raw
message, before redaction; e-mail, phone and postcode are personal data (`Entity.pii`), and the
caller stores only the others' values. Pure Python: the bot process imports this, never TensorFlow.

Where each comes from, in the order they claim text (a later one never takes text an earlier one
took, which is what keeps "10023 yuan", "2024-11-28" and "13812345678" from being order numbers):
1. e-mail and phone: the redaction detectors themselves (`training.redact.redactions`), so what the
   bot uses is exactly what it would redact; cards, IBANs and ID numbers found there are claimed
   too, so no order number is read out of a card. Phones are normalised to E.164 by phonenumbers.
2. amounts: a currency symbol or code before a number, or a currency word after it ("€49.90",
   "49,90 EUR", "10 dollars", "199元", "5块钱"), by the regex below. Not price-parser: it reads the
   first number of a string as a price whether or not any currency is there ("order 10023" is a
   price of 10023) and returns no span, while a message needs every amount and where it is.
   "¥" is taken as CNY, the currency of a Chinese-speaking shop's customers.
3. dates: training/entity_dates.py (dateparser behind a regex prefilter; costs are measured there).
4. the shop's own patterns from data/entities.toml, in the file's order: order and tracking
   numbers, postcodes. A pattern with a `context` matches only after text that matches it
   ("postcode 10115", "邮编：10115"), or when the caller expects that type (the bot just asked for
   a postcode): a five-digit postcode and a five-digit order number look the same.

Cost, over the 679 gold messages as the bot gets them: p50 0.03 ms a message without a date-ish
span (647 of them), 0.6 ms with one (p99 1.5 ms); the first English date loads dateparser (about
0.3 s, once per process).
"""

from __future__ import annotations

import re
import tomllib
import unicodedata
from collections.abc import Collection, Sequence
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from enum import StrEnum
from pathlib import Path

import phonenumbers

from training.entity_dates import find_dates
from training.redact import DEFAULT_REGIONS, EMAIL, PHONE, redactions


class EntityType(StrEnum):
    ORDER_ID = "order_id"
    TRACKING_NUMBER = "tracking_number"
    EMAIL = "email"
    PHONE = "phone"
    POSTCODE = "postcode"
    AMOUNT = "amount"
    DATE = "date"


# Found by code, not by data/entities.toml; whether each is personal data.
BUILT_IN: dict[str, bool] = {EntityType.EMAIL: True, EntityType.PHONE: True, EntityType.AMOUNT: False, EntityType.DATE: False}
_CONTEXT_WINDOW = 40  # characters before a match that its pattern's `context` may look at
# A Chinese IME types full-width digits and letters ("订单１００２３"): read as ASCII, one character
# for one, so every span still points into the raw message.
_FULL_WIDTH = {code: code - 0xFEE0 for code in range(0xFF01, 0xFF5F)} | {0x3000: 0x20}


class PatternError(ValueError):
    """An invalid data/entities.toml; the message names the file and the key."""


@dataclass(frozen=True)
class Entity:
    type: str
    value: str  # normalised: ISO date, "49.90 EUR", lower-case e-mail, E.164 phone, upper-case shop ids
    start: int  # span in the raw message
    end: int
    pii: bool


@dataclass(frozen=True)
class ShopPattern:
    name: str
    regex: re.Pattern[str]  # its group "value", if it has one, is the value; else the whole match
    context: re.Pattern[str] | None  # must match the text right before the match (see module docstring)
    pii: bool


@dataclass(frozen=True)
class EntityPatterns:
    patterns: tuple[ShopPattern, ...] = ()

    @property
    def types(self) -> dict[str, bool]:
        """Every entity type that can be found, built-in or the shop's, and whether it is personal data."""
        return BUILT_IN | {p.name: p.pii for p in self.patterns}


def load_patterns(path: Path) -> EntityPatterns:
    try:
        with path.open("rb") as fh:
            raw = tomllib.load(fh)
    except tomllib.TOMLDecodeError as exc:
        raise PatternError(f"{path}: {exc}") from None
    return EntityPatterns(tuple(_pattern(path, name, table) for name, table in raw.items()))


def _pattern(path: Path, name: str, table: object) -> ShopPattern:
    if not isinstance(table, dict):
        raise PatternError(f"{path}: {name} must be a table [{name}] with pattern and pii")
    if not name.isidentifier() or name in BUILT_IN or name == "text":
        raise PatternError(f"{path}: [{name}] must be an identifier other than text, {', '.join(BUILT_IN)}")
    unknown = set(table) - {"pattern", "context", "pii"}
    if unknown:
        raise PatternError(f"{path}: [{name}] unknown key {sorted(unknown)[0]!r} (known: pattern, context, pii)")
    if not isinstance(table.get("pii"), bool):
        raise PatternError(f"{path}: [{name}] pii must be true or false")
    regex = _regex(path, name, "pattern", table.get("pattern"))
    if regex.fullmatch(""):
        raise PatternError(f"{path}: [{name}] pattern matches the empty string")
    context = _regex(path, name, "context", table["context"]) if "context" in table else None
    return ShopPattern(name, regex, context, table["pii"])


def _regex(path: Path, name: str, key: str, source: object) -> re.Pattern[str]:
    if not (isinstance(source, str) and source):
        raise PatternError(f"{path}: [{name}] {key} must be a non-empty string (a regular expression)")
    try:
        return re.compile(source if key == "pattern" else rf"(?:{source})\s*\Z", re.IGNORECASE)
    except re.error as exc:
        raise PatternError(f"{path}: [{name}] {key} is not a valid regular expression: {exc}") from None


def extract(
    text: str,
    language: str,
    patterns: EntityPatterns,
    today: date | None = None,
    *,
    expect: Collection[str] = (),
    regions: Sequence[str] = DEFAULT_REGIONS,
) -> tuple[Entity, ...]:
    """The entities in the raw message `text`, in the order they appear.

    `expect`: the types the bot has just asked for; a contextual pattern of one of those types
    matches without its context. `regions`: whose national phone formats count (as redaction's).
    """
    found: list[Entity] = []
    taken: list[tuple[int, int]] = []
    for start, end, placeholder in redactions(text, regions=regions):
        taken.append((start, end))
        if placeholder == EMAIL:
            found.append(Entity(EntityType.EMAIL, _email(text[start:end]), start, end, True))
        elif placeholder == PHONE:
            found.append(Entity(EntityType.PHONE, _phone(text[start:end], regions), start, end, True))
    folded = text.translate(_FULL_WIDTH)
    found += _claim(taken, _amounts(folded))
    found += _claim(taken, _dates(folded, language, today or date.today()))
    for pattern in patterns.patterns:
        found += _claim(taken, _shop(folded, pattern, pattern.name in expect))
    return tuple(sorted(found, key=lambda e: e.start))


def _claim(taken: list[tuple[int, int]], candidates: list[Entity]) -> list[Entity]:
    """The candidates on text nothing has taken yet; their spans are then taken."""
    kept = [e for e in candidates if all(e.end <= start or end <= e.start for start, end in taken)]
    taken += ((e.start, e.end) for e in kept)
    return kept


def _email(span: str) -> str:
    return unicodedata.normalize("NFKC", span).lower()


def _phone(span: str, regions: Sequence[str]) -> str:
    """E.164: of the first region where the span is a valid number, else where it is a possible one, else its digits.

    Valid first: "13812345678" is a possible US number (+1 381...) but a valid Chinese mobile.
    """
    numbers = []
    for region in (None, *regions):  # None: written in international form
        try:
            numbers.append(phonenumbers.parse(span, region))
        except phonenumbers.NumberParseException:
            continue
    for accept in (phonenumbers.is_valid_number, phonenumbers.is_possible_number):
        for number in numbers:
            if accept(number):
                return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)
    return "".join(c for c in unicodedata.normalize("NFKC", span) if c.isdigit())


# --- amounts ----------------------------------------------------------------------------------
_CURRENCIES = {
    "€": "EUR", "eur": "EUR", "euro": "EUR", "euros": "EUR", "欧元": "EUR",
    "$": "USD", "usd": "USD", "dollar": "USD", "dollars": "USD", "bucks": "USD", "美元": "USD",
    "£": "GBP", "gbp": "GBP", "pound": "GBP", "pounds": "GBP", "英镑": "GBP",
    "¥": "CNY", "￥": "CNY", "cny": "CNY", "rmb": "CNY", "yuan": "CNY", "元": "CNY", "块": "CNY", "块钱": "CNY",
    "人民币": "CNY",
}  # fmt: skip
_SYMBOL_BEFORE = r"€|\$|£|¥|￥|eur|usd|gbp|cny|rmb"
_WORD_AFTER = r"€|eur|euros?|usd|dollars?|bucks|gbp|pounds?|cny|rmb|yuan|欧元|美元|英镑|人民币|块钱|块|元"
_NUMBER = r"[0-9]{1,3}(?:,[0-9]{3})+(?:\.[0-9]{1,2})?|[0-9]+(?:[.,][0-9]{1,2})?"
_AMOUNT_RE = re.compile(
    rf"(?<![0-9A-Za-z.,])(?:(?P<before>{_SYMBOL_BEFORE})\s?(?P<n1>{_NUMBER})|(?P<n2>{_NUMBER})\s?(?P<after>{_WORD_AFTER}))"
    r"(?![0-9A-Za-z]|[.,][0-9])",
    re.IGNORECASE,
)


def _amounts(text: str) -> list[Entity]:
    found = []
    for match in _AMOUNT_RE.finditer(text):
        number = match["n1"] or match["n2"]
        currency = _CURRENCIES[(match["before"] or match["after"]).lower()]
        value = Decimal(_decimal_point(number)).quantize(Decimal("0.01"))
        found.append(Entity(EntityType.AMOUNT, f"{value} {currency}", match.start(), match.end(), False))
    return found


def _decimal_point(number: str) -> str:
    """"1,234.50" and "49,90" (a decimal comma: at most two digits after it) as "1234.50", "49.90"."""
    whole, comma, cents = number.rpartition(",")
    if comma and len(cents) <= 2 and "." not in number:
        return f"{whole}.{cents}"
    return number.replace(",", "")


def _dates(text: str, language: str, today: date) -> list[Entity]:
    return [Entity(EntityType.DATE, day.isoformat(), start, end, False) for start, end, day in find_dates(text, language, today)]


def _shop(text: str, pattern: ShopPattern, expected: bool) -> list[Entity]:
    found = []
    for match in pattern.regex.finditer(text):
        if pattern.context is not None and not expected:
            before = text[max(0, match.start() - _CONTEXT_WINDOW) : match.start()]
            if not pattern.context.search(before):
                continue
        group = "value" if "value" in pattern.regex.groupindex else 0
        value = "".join(match[group].split()).upper()
        start, end = match.span(group)
        found.append(Entity(pattern.name, value, start, end, pattern.pii))
    return found
