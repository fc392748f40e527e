"""Reading method parameters the three ways Telegram accepts them: query string, JSON, forms.

Form and multipart values are strings (PTB JSON-encodes nested fields such as reply_markup into
them), so every known field is normalised to its wire type here, in one place; handlers and the
call log then see the same typed values whatever the encoding.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from typing import Any

from aiohttp import web

from .errors import ApiError, bad_request

JSON_FIELDS = frozenset(
    {"reply_markup", "reply_parameters", "entities", "caption_entities", "allowed_updates", "commands", "scope",
     "link_preview_options"}
)
CHAT_ID_FIELDS = frozenset({"chat_id", "from_chat_id"})
INT_FIELDS = frozenset(
    {"message_id", "offset", "limit", "reply_to_message_id", "message_thread_id", "cache_time", "max_connections",
     "user_id", "duration", "width", "height", "icon_color"}
)
FLOAT_FIELDS = frozenset({"timeout", "latitude", "longitude"})
BOOL_FIELDS = frozenset(
    {"show_alert", "drop_pending_updates", "disable_notification", "protect_content", "allow_sending_without_reply",
     "disable_web_page_preview", "has_spoiler", "show_caption_above_media", "allow_paid_broadcast"}
)
_INTEGER = re.compile(r"^-?\d+$")


@dataclass(frozen=True)
class Upload:
    """A file sent in a multipart request."""

    filename: str
    content_type: str
    data: bytes

    def __repr__(self) -> str:
        return f"Upload({self.filename!r}, {self.content_type!r}, {len(self.data)} bytes)"


class Params(dict[str, Any]):
    """Typed parameters of one call, with Telegram's wording for a missing required one."""

    def required(self, name: str, missing: str | None = None) -> Any:
        value = self.get(name)
        if value is None or value == "":
            raise bad_request(missing or f"{name} is empty")
        return value


async def read_params(request: web.Request) -> Params:
    raw: dict[str, Any] = dict(request.query)
    if request.body_exists:
        raw.update(await _read_body(request))
    return Params({name: normalize(name, value) for name, value in raw.items()})


async def _read_body(request: web.Request) -> dict[str, Any]:
    if request.content_type == "application/json":
        try:
            body = await request.json()
        except ValueError:
            raise bad_request("can't parse JSON object") from None
        if not isinstance(body, dict):
            raise bad_request("JSON object expected")
        return body
    if request.content_type in ("application/x-www-form-urlencoded", "multipart/form-data"):
        form = await request.post()
        return {name: _form_value(value) for name, value in form.items()}
    return {}


def _form_value(value: Any) -> Any:
    if isinstance(value, web.FileField):
        return Upload(value.filename, value.content_type, value.file.read())
    return value


def normalize(name: str, value: Any) -> Any:
    """Coerce one wire value to its type; strings stay strings where Telegram expects text."""
    if isinstance(value, Upload) or value is None:
        return value
    if name in JSON_FIELDS:
        return _json(name, value)
    if name in CHAT_ID_FIELDS:
        return _chat_id(value)
    if name in INT_FIELDS:
        return _integer(name, value)
    if name in FLOAT_FIELDS:
        return _number(name, value)
    if name in BOOL_FIELDS:
        return _boolean(name, value)
    return value


def _json(name: str, value: Any) -> Any:
    if not isinstance(value, str):
        return value
    try:
        return json.loads(value)
    except ValueError:
        raise bad_request(f"can't parse {name} JSON object") from None


def _chat_id(value: Any) -> int | str:
    if isinstance(value, bool):
        raise _wrong_type("chat_id", "Integer or String")
    if isinstance(value, int):
        return value
    text = str(value).strip()
    return int(text) if _INTEGER.match(text) else text


def _integer(name: str, value: Any) -> int:
    if isinstance(value, int) and not isinstance(value, bool):
        return value
    if isinstance(value, str) and _INTEGER.match(value.strip()):
        return int(value)
    raise _wrong_type(name, "Integer")


def _number(name: str, value: Any) -> float:
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return float(value)
    try:
        return float(str(value))
    except ValueError:
        raise _wrong_type(name, "Float") from None


def _boolean(name: str, value: Any) -> bool:
    if isinstance(value, bool):
        return value
    text = str(value).strip().lower()
    if text in ("true", "1"):
        return True
    if text in ("false", "0", ""):
        return False
    raise _wrong_type(name, "Boolean")


def _wrong_type(name: str, kind: str) -> ApiError:
    return bad_request(f'field "{name}" must be of type {kind}')
