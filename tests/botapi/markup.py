"""reply_markup validation: what Telegram rejects, and what ends up on the sent Message."""

from __future__ import annotations

import copy
from dataclasses import dataclass
from typing import Any

from .errors import bad_request

BUTTON_ACTIONS = (
    "url", "callback_data", "web_app", "login_url", "switch_inline_query", "switch_inline_query_current_chat",
    "switch_inline_query_chosen_chat", "copy_text", "callback_game", "pay",
)
MAX_CALLBACK_DATA = 64


@dataclass(frozen=True)
class Markup:
    """`inline` goes on the Message; `keyboard` (a reply keyboard, a removal or force_reply) changes
    what the customer's client shows and is never part of the Message, as on Telegram."""

    inline: dict[str, Any] | None = None
    keyboard: dict[str, Any] | None = None


def parse_markup(markup: Any, inline_only: bool = False) -> Markup:
    if markup is None or markup == "":
        return Markup()
    if not isinstance(markup, dict):
        raise bad_request("can't parse reply keyboard markup JSON object")
    if "inline_keyboard" in markup:
        return Markup(inline=_inline_keyboard(markup["inline_keyboard"]))
    if inline_only:
        raise bad_request("can't parse inline keyboard markup JSON object")
    if "keyboard" in markup:
        _reply_keyboard(markup["keyboard"])
        return Markup(keyboard=copy.deepcopy(markup))
    if markup.get("remove_keyboard") is True or markup.get("force_reply") is True:
        return Markup(keyboard=copy.deepcopy(markup))
    raise bad_request("can't parse reply keyboard markup JSON object")


def _inline_keyboard(rows: Any) -> dict[str, Any] | None:
    if not isinstance(rows, list) or not all(isinstance(row, list) for row in rows):
        raise bad_request('field "inline_keyboard" of the InlineKeyboardMarkup must be an Array of Arrays')
    for row in rows:
        for button in row:
            _inline_button(button)
    kept = [copy.deepcopy(row) for row in rows if row]
    return {"inline_keyboard": kept} if kept else None


def _inline_button(button: Any) -> None:
    if not isinstance(button, dict):
        raise bad_request("can't parse inline keyboard button: InlineKeyboardButton must be an Object")
    if not isinstance(button.get("text"), str) or not button["text"]:
        raise bad_request('can\'t parse inline keyboard button: Field "text" must be of type String')
    actions = [name for name in BUTTON_ACTIONS if name in button]
    if not actions:
        raise bad_request("can't parse inline keyboard button: Text buttons are unallowed in the inline keyboard")
    if "callback_data" in button and not _valid_callback_data(button["callback_data"]):
        raise bad_request("BUTTON_DATA_INVALID")
    if "url" in button and not str(button["url"]).startswith(("http://", "https://", "tg://")):
        raise bad_request("BUTTON_URL_INVALID")


def _valid_callback_data(data: Any) -> bool:
    return isinstance(data, str) and 1 <= len(data.encode()) <= MAX_CALLBACK_DATA


def _reply_keyboard(rows: Any) -> None:
    if not isinstance(rows, list) or not all(isinstance(row, list) for row in rows):
        raise bad_request('field "keyboard" of the ReplyKeyboardMarkup must be an Array of Arrays')
    for row in rows:
        for button in row:
            if not isinstance(button, (str, dict)) or (isinstance(button, dict) and not button.get("text")):
                raise bad_request("can't parse keyboard button: Text must be non-empty")


def callback_datas(message: dict[str, Any]) -> list[str]:
    """The callback_data of every button on a message, in reading order."""
    rows = (message.get("reply_markup") or {}).get("inline_keyboard", [])
    return [button["callback_data"] for row in rows for button in row if "callback_data" in button]
