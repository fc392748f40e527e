"""The wire contract of an action (docs/actions.md): what the bot sends, how it signs it, what it accepts back.

Everything the shop sends back is checked here before any of it reaches a customer: a shop's bug
(or a hostile endpoint) ends as a FAILED result with a reason, never as a strange message.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

MAX_FIELDS = 50
MAX_FIELD_CHARS = 500
_FIELD_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]{0,63}")
MAX_CHOICES = 5
MAX_CHOICE_LABEL = 60
_CHOICE_VALUE = re.compile(r"[A-Za-z0-9-]{1,32}")


class Outcome(StrEnum):
    OK = "ok"  # fields for the intent's template, or a ready text
    NOT_FOUND = "not_found"  # nothing to show this customer (unknown, or not verified): the shop's wording if any
    HANDOFF = "handoff"  # the shop asks for a person
    FAILED = "failed"  # the bot's own verdict: no usable answer (never sent by a shop)


@dataclass(frozen=True)
class ActionCall:
    """One call: `customer` is a stable pseudonymous id (never the Telegram id); `slots` may hold
    personal data for this one call, so they are never logged."""

    intent: str
    endpoint: str
    slots: Mapping[str, str]
    language: str
    customer: str
    idempotent: bool
    account: str | None = None  # the shop's account reference, when the customer linked it (bot/account_link.py)


@dataclass(frozen=True)
class Choice:
    """A value the customer can pick for a slot instead of typing it (one of their recent orders)."""

    value: str
    label: str


@dataclass(frozen=True)
class ActionResult:
    """What the customer's answer is made from. `reason` is for the logs and /status only: it never
    holds the secret or slot values, and is never shown to customers."""

    outcome: Outcome
    fields: Mapping[str, str] = field(default_factory=dict)
    text: str | None = None
    reason: str = ""
    choices: tuple[Choice, ...] = ()


def failed(reason: str) -> ActionResult:
    return ActionResult(Outcome.FAILED, reason=reason)


def request_body(call: ActionCall) -> bytes:
    """The JSON the endpoint gets, UTF-8 (Chinese slots as written): these exact bytes are signed."""
    payload = {"intent": call.intent, "slots": dict(call.slots), "language": call.language, "customer": call.customer}
    if call.account is not None:
        payload["account"] = call.account
    return json.dumps(payload, ensure_ascii=False, separators=(",", ":")).encode("utf-8")


def sign(secret: bytes, timestamp: int, body: bytes) -> str:
    """`sha256=<hex HMAC-SHA256(secret, "<timestamp>." + body)>`: the timestamp is signed with the body,
    so a receiver that refuses old timestamps cannot be fed a captured request again."""
    digest = hmac.new(secret, str(timestamp).encode("ascii") + b"." + body, hashlib.sha256).hexdigest()
    return f"sha256={digest}"


class Invalid(ValueError):
    """A response that breaks the contract; the message says how (and never quotes the values)."""


def parse_response(raw: bytes) -> ActionResult:
    """The endpoint's answer as a result, checked strictly; FAILED with the broken rule otherwise."""
    try:
        return _result(_json_object(raw))
    except Invalid as exc:
        return failed(f"invalid response: {exc}")


def _json_object(raw: bytes) -> dict[str, Any]:
    try:
        data = json.loads(raw.decode("utf-8"), parse_constant=_no_constant)
    except (UnicodeDecodeError, json.JSONDecodeError):
        raise Invalid("not UTF-8 JSON") from None
    if not isinstance(data, dict):
        raise Invalid("not a JSON object")
    return data


def _no_constant(name: str) -> Any:
    raise Invalid(f"{name} is not JSON")  # Python's parser would take NaN and Infinity


def _result(data: dict[str, Any]) -> ActionResult:
    unknown = set(data) - {"outcome", "fields", "text", "choices"}
    if unknown:
        raise Invalid(f"unknown key(s) {', '.join(sorted(map(repr, unknown)))}")
    outcome = data.get("outcome")
    if outcome not in (Outcome.OK, Outcome.NOT_FOUND, Outcome.HANDOFF):
        raise Invalid(f"outcome must be ok, not_found or handoff (got {_kind(outcome)})")
    text = _text(data)
    if outcome != Outcome.OK:
        if "fields" in data or "choices" in data:
            raise Invalid(f"{outcome} carries no fields or choices")
        return ActionResult(Outcome(outcome), text=text)
    if "choices" in data:
        if "fields" in data or text is not None:
            raise Invalid("choices come alone")
        return ActionResult(Outcome.OK, choices=_choices(data["choices"]))
    if ("fields" in data) == (text is not None):
        raise Invalid("ok needs either fields, text or choices")
    return ActionResult(Outcome.OK, fields=_fields(data["fields"]) if text is None else {}, text=text)


def _choices(choices: Any) -> tuple[Choice, ...]:
    """At most MAX_CHOICES buttons; a value short and plain enough for a button's callback data."""
    if not isinstance(choices, list):
        raise Invalid(f"choices must be an array (got {_kind(choices)})")
    if len(choices) > MAX_CHOICES:
        raise Invalid(f"{len(choices)} choices, at most {MAX_CHOICES}")
    return tuple(_choice(c) for c in choices)


def _choice(choice: Any) -> Choice:
    if not isinstance(choice, dict) or set(choice) != {"value", "label"}:
        raise Invalid("a choice is an object with exactly value and label")
    value, label = choice["value"], choice["label"]
    if not isinstance(value, str) or not _CHOICE_VALUE.fullmatch(value):
        raise Invalid("a choice's value is 1 to 32 letters, digits or -")
    if not isinstance(label, str) or not label.strip() or len(label) > MAX_CHOICE_LABEL:
        raise Invalid(f"a choice's label is a non-empty string of at most {MAX_CHOICE_LABEL} characters")
    return Choice(value, label.strip())


def _text(data: dict[str, Any]) -> str | None:
    if "text" not in data:
        return None
    text = data["text"]
    if not isinstance(text, str) or not text.strip():
        raise Invalid(f"text must be a non-empty string (got {_kind(text)})")
    return text


def _fields(fields: Any) -> dict[str, str]:
    if not isinstance(fields, dict):
        raise Invalid(f"fields must be an object (got {_kind(fields)})")
    if len(fields) > MAX_FIELDS:
        raise Invalid(f"{len(fields)} fields, at most {MAX_FIELDS}")
    return {_field_name(name): _field_value(name, value) for name, value in fields.items()}


def _field_name(name: str) -> str:
    if not _FIELD_NAME.fullmatch(name):
        raise Invalid("a field name is no identifier of at most 64 characters")
    return name


def _field_value(name: str, value: Any) -> str:
    if isinstance(value, bool) or not isinstance(value, str | int | float):
        raise Invalid(f"field {name} must be a string or a number (got {_kind(value)})")
    text = value if isinstance(value, str) else str(value)
    if len(text) > MAX_FIELD_CHARS:
        raise Invalid(f"field {name} is over {MAX_FIELD_CHARS} characters")
    return text


def _kind(value: Any) -> str:
    """A JSON type name for a reason: never the value itself, which may be a customer's data."""
    if value in tuple(Outcome):
        return repr(value)
    return {dict: "an object", list: "an array", str: "a string", bool: "a boolean", type(None): "null"}.get(type(value), "a number")
