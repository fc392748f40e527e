"""The clean stage of the nightly run: turn collected labels into examples fit to train on.

Labels come from customers, so they carry noise the model must not learn: invisible characters,
bot commands and links, personal data and order numbers, empty or pasted-wall-of-text messages,
retired intents, the same message labelled twice or labelled differently by different people,
and one busy intent drowning the rest. Each rule below fixes one of these, in a fixed order, and
counts what it did so the run's report can say why the training set is the size it is.

Two texts are "the same" when the shared tokeniser gives the same token sequence: that is exactly
what the model sees, so "Where is my order?" and "where is my order" are duplicates here.
The function is pure: no I/O, and the same input always gives the same output in the same order.
"""

from __future__ import annotations

import re
import unicodedata
from collections import Counter, defaultdict
from collections.abc import Callable, Iterable
from dataclasses import dataclass, replace

from training.config import CleanSettings
from training.redact import redact
from training.tokenize import tokenize

ORDER = "<ORDER>"

# Rules that rewrite a row's text (counted when the text changed) and rules that remove rows.
REWRITES = ("normalised", "stripped", "redacted")
REMOVALS = ("empty", "too_long", "unknown_intent", "duplicate", "conflict", "capped")
RULES = REWRITES + REMOVALS


@dataclass(frozen=True)
class Labelled:
    text: str
    intent: str
    source: str  # a storage.labels.LabelSource
    created_at: str = ""  # ISO timestamp, for "keep the newest"


@dataclass(frozen=True)
class CleanResult:
    examples: list[Labelled]
    counts: dict[str, int]  # rule name -> rows removed or changed, in RULES order, every rule present


Tokens = tuple[str, ...]
Item = tuple[Labelled, Tokens]

# --- normalised -------------------------------------------------------------------------------

# Zero-width (non-)joiners are format characters that carry meaning (emoji sequences, some scripts).
_KEEP_FORMAT = frozenset("\u200c\u200d")
_INVISIBLE = frozenset(("Cc", "Cf", "Cs"))


def _is_invisible(ch: str) -> bool:
    """Control, format and lone-surrogate characters; whitespace controls (\\n, \\t) are kept as spaces."""
    return unicodedata.category(ch) in _INVISIBLE and ch not in _KEEP_FORMAT and not ch.isspace()


def normalise(text: str) -> str:
    """NFKC, invisible characters removed, whitespace collapsed: one spelling per visible text."""
    if not text.isprintable():  # fast path: most messages have nothing to remove
        text = "".join(ch for ch in text if not _is_invisible(ch))
    return " ".join(unicodedata.normalize("NFKC", text).split())


# --- stripped ---------------------------------------------------------------------------------

# /start, /help@shopbot: a word of its own starting with "/", not a path (/a/b) nor a fraction (1/2).
_COMMAND = re.compile(r"(?<!\S)/[A-Za-z][A-Za-z0-9_]{0,31}(?:@[A-Za-z0-9_]{3,32})?(?![A-Za-z0-9_@/])")
# Links with a scheme, www. or t.me/. ASCII only (RFC 3986 characters), so a link glued to Chinese
# text ends where the Chinese starts; trailing punctuation belongs to the sentence, not the link.
_URL_CHARS = r"[A-Za-z0-9\-._~:/?#\[\]@!$&'()*+,;=%]"
_URL_END = r"[A-Za-z0-9\-_~/#=&%+@$*]"
_URL = re.compile(
    rf"(?:(?<![A-Za-z0-9])(?:https?|ftp)://|(?<![A-Za-z0-9@.\-])(?:www\.|t\.me/))(?:{_URL_CHARS}*{_URL_END})?",
    re.IGNORECASE,
)


def strip_noise(text: str) -> str:
    """Remove bot commands and links: they say nothing about the intent and would only add rare tokens."""
    if "/" not in text and "www" not in text.lower():
        return text
    text = _URL.sub(" ", text)
    text = _COMMAND.sub(" ", text)
    return " ".join(text.split())


# --- redacted ---------------------------------------------------------------------------------

# An order id: letters/digits, optionally in hyphenated groups; never the start of a price,
# decimal, time or date ("49.99", "10:30", "12/05") and never followed by more id characters.
_ID = r"[A-Za-z0-9]+(?:-[A-Za-z0-9]+)*(?![A-Za-z0-9]|[.,/:]\d)"
# A number that redact() already took for a phone or card right after "order number" is an order.
_ID_OR_PII = rf"(?P<id><(?:PHONE|CARD|CNID)>|{_ID})"
_ORDER_EN = re.compile(
    rf"(?P<lead>(?<![A-Za-z])orders?(?:\s*(?:no\.?|nr\.?|num(?:ber)?|id|#))?\s*[:#-]?\s*){_ID_OR_PII}",
    re.IGNORECASE,
)
_ORDER_ZH = re.compile(rf"(?P<lead>(?:订单(?:号码?|编号|ID|id)?|单号)\s*[:#]?\s*(?:是|为)?\s*){_ID_OR_PII}")
# Keyword-free forms: "#A10293", "#48213", "SO-2024-118833", "ORD-48213".
_ORDER_HASH = re.compile(r"(?<![A-Za-z0-9&#])#(?P<id>[A-Za-z]{0,3}-?\d{5,})(?![A-Za-z0-9])")
_ORDER_PREFIXED = re.compile(r"(?<![A-Za-z0-9-])(?P<id>(?:SO|PO|ORD)-\d+(?:-\d+)*)(?![A-Za-z0-9-])")
_DATE = re.compile(r"\d{4}-\d{1,2}-\d{1,2}|\d{1,2}-\d{1,2}-\d{2,4}")
_DIGIT = re.compile(r"\d")


def _is_order_id(candidate: str) -> bool:
    """Long enough to be an order number, not a quantity, a year or a date."""
    if candidate.startswith("<"):
        return True
    digits = len(_DIGIT.findall(candidate))
    if _DATE.fullmatch(candidate):
        return False
    return digits >= 5 or (digits >= 4 and not candidate.isdigit())


def _after_keyword(m: re.Match[str]) -> str:
    return m["lead"] + ORDER if _is_order_id(m["id"]) else m[0]


def _standalone(m: re.Match[str]) -> str:
    return ORDER if _is_order_id(m["id"]) else m[0]


def redact_orders(text: str) -> str:
    """Replace order numbers with <ORDER>, keeping the word "order": every number is unique, the word is signal."""
    text = _ORDER_EN.sub(_after_keyword, text)
    text = _ORDER_ZH.sub(_after_keyword, text)
    text = _ORDER_HASH.sub(_standalone, text)
    return _ORDER_PREFIXED.sub(_standalone, text)


def redact_all(text: str) -> str:
    """Personal data first (a card number must never be half-taken as an order number), then orders."""
    return redact_orders(redact(text))


# --- the rules --------------------------------------------------------------------------------


def _rewrite(rows: list[Labelled], fn: Callable[[str], str]) -> tuple[list[Labelled], int]:
    """Apply a text rewrite to every row; count the rows it changed.

    Each distinct text is rewritten once: labels repeat ("refund?") and redact() is the costly step.
    """
    done: dict[str, str] = {}
    out, changed = [], 0
    for row in rows:
        text = done.get(row.text)
        if text is None:
            text = done[row.text] = fn(row.text)
        if text != row.text:
            row, changed = replace(row, text=text), changed + 1
        out.append(row)
    return out, changed


def _keep(items: list[Item], keep: Callable[[Labelled, Tokens], bool]) -> tuple[list[Item], int]:
    """Filter, counting what was removed."""
    kept = [item for item in items if keep(*item)]
    return kept, len(items) - len(kept)


def _dedupe(items: list[Item]) -> tuple[list[Item], int]:
    """Keep the first row of each (intent, token sequence): repeats add weight, not information."""
    seen: set[tuple[str, Tokens]] = set()
    kept = []
    for row, tokens in items:
        if (row.intent, tokens) not in seen:
            seen.add((row.intent, tokens))
            kept.append((row, tokens))
    return kept, len(items) - len(kept)


def _winner(votes: Counter[str], majority: float) -> str | None:
    """The label with at least `majority` of the votes and strictly more than any other, else None."""
    (top, n), *rest = sorted(votes.items(), key=lambda kv: (-kv[1], kv[0]))
    if rest and rest[0][1] == n:
        return None
    return top if n / sum(votes.values()) >= majority else None


def _resolve_conflicts(items: list[Item], votes: dict[Tokens, Counter[str]], majority: float) -> tuple[list[Item], int]:
    """One text, several labels: the clear majority wins, otherwise the text is too ambiguous to keep.

    `votes` counts rows before de-duplication, so ten people agreeing outweigh one who did not.
    """
    winners = {tokens: _winner(v, majority) for tokens, v in votes.items() if len(v) > 1}
    kept = [(row, tokens) for row, tokens in items if tokens not in winners or winners[tokens] == row.intent]
    return kept, len(items) - len(kept)


def _cap(items: list[Item], limit: int) -> tuple[list[Item], int]:
    """At most `limit` rows per intent, the newest (latest created_at, then latest row) first.

    Timestamps are compared as text: the store writes them all as UTC ISO strings, which sort in time order.
    """
    by_intent: dict[str, list[int]] = defaultdict(list)
    for i, (row, _) in enumerate(items):
        by_intent[row.intent].append(i)
    keep: set[int] = set()
    for indices in by_intent.values():
        newest = sorted(indices, key=lambda i: (items[i][0].created_at, i), reverse=True)
        keep.update(newest[: max(limit, 0)])
    kept = [item for i, item in enumerate(items) if i in keep]
    return kept, len(items) - len(kept)


def _votes(items: list[Item]) -> dict[Tokens, Counter[str]]:
    votes: dict[Tokens, Counter[str]] = defaultdict(Counter)
    for row, tokens in items:
        votes[tokens][row.intent] += 1
    return votes


def clean(rows: Iterable[Labelled], known_intents: set[str], s: CleanSettings) -> CleanResult:
    """Apply every rule in RULES order; surviving rows keep their input order."""
    counts = dict.fromkeys(RULES, 0)
    out = list(rows)
    for name, fn in zip(REWRITES, (normalise, strip_noise, redact_all), strict=True):
        out, counts[name] = _rewrite(out, fn)
    items: list[Item] = [(row, tuple(tokenize(row.text))) for row in out]
    min_tokens = max(s.min_tokens, 1)
    items, counts["empty"] = _keep(items, lambda row, tokens: len(tokens) >= min_tokens)
    items, counts["too_long"] = _keep(items, lambda row, tokens: len(row.text) <= s.max_chars)
    items, counts["unknown_intent"] = _keep(items, lambda row, tokens: row.intent in known_intents)
    votes = _votes(items)
    items, counts["duplicate"] = _dedupe(items)
    items, counts["conflict"] = _resolve_conflicts(items, votes, s.majority)
    items, counts["capped"] = _cap(items, s.max_per_intent)
    return CleanResult([row for row, _ in items], counts)
