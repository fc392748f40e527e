"""What a config value may be: its TOML type and the rules of its meaning.

The loader (`training.config`) applies these at start, so a typo stops the bot with an error that
names the key, instead of running polling for a misspelt "webhook" or failing the 03:00 run.
A conversion raises ValueError and a rule returns a text, both saying what the value must be:
the loader puts it between the key and the value it got.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from datetime import time
from enum import StrEnum
from pathlib import PurePosixPath
from typing import Any
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from apscheduler.triggers.cron import CronTrigger

from training.hours import check as hours_check

Rule = Callable[[Any], str | None]  # what the value must be, or None when it is fine


def shown(value: Any) -> str:
    """The value roughly as written in TOML: strings in double quotes, true/false, lists."""
    return json.dumps(value, ensure_ascii=False, default=str)


def typed(value: Any, expected: Any) -> Any:
    """A value as tomllib read it, as the field's type (`expected`); ValueError says what it must be.

    bool is refused where a number is expected (TOML's true is no 1), and ids must be integers:
    an admin id written as "123" would never equal Telegram's 123.
    """
    if expected is bool or expected is str:
        if not isinstance(value, expected):
            raise ValueError("bool (true or false)" if expected is bool else "str (text in quotes)")
        return value
    if expected is int or expected is float:
        if isinstance(value, bool) or not isinstance(value, (int, float) if expected is float else int):
            raise ValueError("int (a whole number)" if expected is int else "float (a number)")
        return expected(value)
    if isinstance(expected, type) and issubclass(expected, StrEnum):
        return _choice(value, expected)
    if expected is time:
        return _clock_time(value)
    if expected == tuple[int, ...]:
        if not isinstance(value, list) or any(isinstance(v, bool) or not isinstance(v, int) for v in value):
            raise ValueError("a list of int (Telegram user ids as numbers, without quotes)")
        return tuple(value)
    if expected == dict[str, str]:
        if not isinstance(value, dict) or any(not isinstance(v, str) for v in value.values()):
            raise ValueError('a table of name = "text" (e.g. order_status = "https://shop.example/actions/order_status")')
        return dict(value)
    if expected == tuple[str, ...]:
        if not isinstance(value, list) or any(not isinstance(v, str) for v in value):
            raise ValueError("a list of str (texts in quotes)")
        return tuple(value)
    raise TypeError(f"no TOML conversion for {expected}")


def _choice(value: Any, enum: type[StrEnum]) -> StrEnum:
    try:
        return enum(value)
    except ValueError:
        *others, last = [shown(member.value) for member in enum]
        raise ValueError(f"{', '.join(others)} or {last}") from None


def _clock_time(value: Any) -> time:
    """ "HH:MM" on a 24-hour clock (TOML's own time type would ask for seconds a daily job has no use for)."""
    match = re.fullmatch(r"(\d\d):(\d\d)", value) if isinstance(value, str) else None
    hour, minute = (int(match[1]), int(match[2])) if match else (-1, -1)
    if not (0 <= hour < 24 and 0 <= minute < 60):
        raise ValueError('"HH:MM" (24-hour clock, e.g. "04:30")')
    return time(hour, minute)


def at_least(low: float) -> Rule:
    return lambda value: None if value >= low else f"at least {low}"


def at_most(high: float) -> Rule:
    return lambda value: None if value <= high else f"at most {high}"


def above(low: float) -> Rule:
    return lambda value: None if value > low else f"above {low}"


def below(high: float) -> Rule:
    return lambda value: None if value < high else f"below {high}"


def within(low: float, high: float) -> Rule:
    return lambda value: None if low <= value <= high else f"between {low} and {high}"


PROBABILITY = within(0, 1)
POSITIVE = at_least(1)
NOT_NEGATIVE = at_least(0)


def not_empty(value: str) -> str | None:
    return None if value.strip() else "not empty"


def time_zone(name: str) -> str | None:
    try:
        ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        return 'a time zone name such as "UTC" or "Europe/Berlin"'
    return None


def crontab(expression: str) -> str | None:
    """Parsed now by the trigger the bot will build, so a bad schedule fails at start, not at night."""
    try:
        CronTrigger.from_crontab(expression, timezone="UTC")
    except ValueError as exc:
        return f'a crontab "minute hour day month weekday" ({exc})'
    return None


def at_least_a_second(hours: float) -> str | None:
    """APScheduler takes a misfire grace time in whole seconds and refuses 0."""
    return None if hours * 3600 >= 1 else "at least one second (1/3600)"


def is_url(value: str, schemes: tuple[str, ...]) -> bool:
    parts = urlsplit(value)
    return parts.scheme in schemes and bool(parts.netloc)


def empty_or_http_url(value: str) -> str | None:
    return None if not value or is_url(value, ("http", "https")) else 'empty or an http:// or https:// URL'


def empty_or_email(value: str) -> str | None:
    return None if not value or re.fullmatch(r"[^@\s]+@[^@\s]+\.[^@\s]+", value) else "empty or an e-mail address"


def empty_or_phone(value: str) -> str | None:
    """Written as customers should dial it: digits, spaces, dashes, brackets, a leading +."""
    return None if not value or re.fullmatch(r"\+?[0-9][0-9 ()\-]{4,}", value) else 'empty or a phone number such as "+44 20 7946 0000"'


def user_ids(ids: tuple[int, ...]) -> str | None:
    """Telegram user ids are positive; negative ids are groups and channels, which cannot be admins."""
    return None if all(i > 0 for i in ids) else "a list of positive Telegram user ids"


def staff_chat(chat_id: int) -> str | None:
    """Groups and supergroups have negative ids; 0 means no staff group."""
    return None if chat_id <= 0 else "0 (no staff group) or a group's id, which is negative (-100…); /chatid in the group shows it"


def opening_hours(entries: tuple[str, ...]) -> str | None:
    """Each entry parsed now, as the bot will read it: the first wrong one is named."""
    wrong = next((what for what in map(hours_check, entries) if what is not None), None)
    return None if wrong is None else f'a list of "<days> HH:MM-HH:MM" such as ["mon-fri 09:00-18:00", "sat,sun 10:00-14:00"] ({wrong})'


def endpoint_urls(endpoints: dict[str, str]) -> str | None:
    """Intents name their endpoint, so a name is an identifier; the client speaks HTTP only.

    The first wrong entry is named, as for the staff hours."""
    for name, url in endpoints.items():
        if not (name.isascii() and name.isidentifier()):
            return f'a table of name = "http(s) URL" whose names are identifiers such as order_status ("{name}" is not)'
        if not is_url(url, ("http", "https")):
            return f'a table of name = "http(s) URL" ({name} is no http:// or https:// URL)'
    return None


def _host_port(value: str) -> bool:
    host, _, port = value.rpartition(":")
    return bool(host) and not any(c.isspace() or c == "/" for c in host) and port.isdigit() and 0 < int(port) < 65536


def host_ports(entries: tuple[str, ...]) -> str | None:
    """TF_CONFIG names each machine as host:port; the first wrong entry is named."""
    wrong = next((e for e in entries if not _host_port(e)), None)
    return None if wrong is None else f'a list of "host:port" such as ["10.0.0.2:2222"] ("{wrong}" is not)'


def empty_or_host_port(value: str) -> str | None:
    return None if not value or _host_port(value) else 'empty or "host:port" such as "10.0.0.1:2222"'


def file_name_under(value: str) -> str | None:
    """A file under var_dir: relative, without "..", so state stays where [paths] var_dir says."""
    parts = PurePosixPath(value.replace("\\", "/")).parts
    inside = bool(parts) and not value.startswith(("/", "\\")) and ".." not in parts and ":" not in value
    return None if inside else 'a file name under var_dir (relative, no "..") such as "demo_shop.db"'
