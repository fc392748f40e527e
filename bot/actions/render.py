"""An action's answer as the customer's text: the shop's ready text, or the intent's template filled in.

Templates are filled by name only (no `{a.b}`, `{a[0]}`, conversions or format specs), and values go
in as literal text: a shop's field holding `{shop}` or `<b>` stays exactly that. Escaping for
Telegram's HTML parse mode is the channel's job (bot/channels/telegram_send.py escapes the whole text).
"""

from __future__ import annotations

from collections.abc import Mapping
from string import Formatter

from bot.actions.contract import ActionResult


def render(template: str, result: ActionResult, slots: Mapping[str, str], shop_fields: Mapping[str, str]) -> str | None:
    """`result.text` if the shop sent one, else `template` over the shop's [shop] fields, the slots and
    the result's fields (later ones win); None when it names a field nobody supplied, or is malformed."""
    if result.text is not None:
        return result.text
    values = {**shop_fields, **slots, **result.fields}
    try:
        parts = list(Formatter().parse(template))
    except ValueError:  # a lone "{" or "}"
        return None
    out = []
    for literal, name, spec, conversion in parts:
        out.append(literal)
        if name is None:
            continue
        if spec or conversion or name not in values:
            return None
        out.append(values[name])
    return "".join(out)
