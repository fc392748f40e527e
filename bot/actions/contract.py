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


@dataclass(frozen=True)
class ActionResult:
    """What the customer's answer is made from. `reason` is for the logs and /status only: it never
    holds the secret or slot values, and is never shown to customers."""

    outcome: Outcome
    fields: Mapping[str, str] = field(default_factory=dict)
    text: str | None = None
    reason: str = ""


def failed(reason: str) -> ActionResult:
    return ActionResult(Outcome.FAILED, reason=reason)


def request_body(call: ActionCall) -> bytes:
    """The JSON the endpoint gets, UTF-8 (Chinese slots as written): these exact bytes are signed."""
    payload = {"intent": call.intent, "slots": dict(call.slots), "language": call.language, "customer": call.customer}
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
    unknown = set(data) - {"outcome", "fields", "text"}
    if unknown:
        raise Invalid(f"unknown key(s) {', '.join(sorted(map(repr, unknown)))}")
    outcome = data.get("outcome")
    if outcome not in (Outcome.OK, Outcome.NOT_FOUND, Outcome.HANDOFF):
        raise Invalid(f"outcome must be ok, not_found or handoff (got {_kind(outcome)})")
    text = _text(data)
    if outcome != Outcome.OK:
        if "fields" in data:
            raise Invalid(f"{outcome} carries no fields")
        return ActionResult(Outcome(outcome), text=text)
    if ("fields" in data) == (text is not None):
        raise Invalid("ok needs either fields or text")
    return ActionResult(Outcome.OK, fields=_fields(data["fields"]) if text is None else {}, text=text)


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
