"""Find dates in a customer's message, English and Chinese, as ISO dates resolved against `today`.

Why not `dateparser.search.search_dates` on every message: measured on this project's machine it
costs 0.5 ms for an English message with no date at all, 2-5 ms with one, and 270 ms on its first
call; it also gets Chinese wrong ("11月28日" came back as 2025-12-10, "上周五" as last Monday).
The bot extracts entities from every message, so a cheap regex prefilter finds the date-ish spans
first (one `search` over a message without dates: microseconds), and only those spans are parsed:
- English words ("yesterday", "last Monday", "3 days ago", "Nov 28", "28th of November 2024") by
  `dateparser.parse` on the span alone (about 1-2 ms a span): it knows the spellings, ordinals and
  abbreviations that a table of ours would keep missing;
- numbers ("2024-11-28", "28/11", "28.11.2024"; a dotted date needs its year, or "1.5 kg" would
  be a date, and "24/7" is opening hours) and Chinese ("昨天", "前天", "上周五", "11月28日",
  "3天前") by the few lines below, since their shapes are fixed and dateparser misreads them.

A date written without a year is the one nearest to `today` (within half a year either way):
customers name both when they ordered (past) and when a parcel was promised (future). "28/11" is
day/month unless that is impossible ("11/28"); so is "5/6" in English, while Chinese writes the
month first. A bare weekday ("Friday", "周五") is the latest one before today.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import date, datetime, timedelta

_WEEKDAYS = "monday|tuesday|wednesday|thursday|friday|saturday|sunday"
_MONTHS = (
    r"jan(?:uary)?|feb(?:ruary)?|mar(?:ch)?|apr(?:il)?|may|june?|july?|aug(?:ust)?"
    r"|sept?(?:ember)?|oct(?:ober)?|nov(?:ember)?|dec(?:ember)?"
)
_DAY = r"[0-9]{1,2}(?:st|nd|rd|th)?"
_NUMBER_WORD = r"[0-9]+|an?|one|two|three|four|five|six|seven|eight|nine|ten"
_ENGLISH = (
    rf"(?:the\s+)?day\s+(?:before\s+yesterday|after\s+tomorrow)|yesterday|today|tomorrow"
    rf"|(?:(?:last|next|this)\s+)?(?:{_WEEKDAYS})"
    rf"|(?:{_NUMBER_WORD})\s+(?:days?|weeks?)\s+ago"
    rf"|(?:{_MONTHS})\.?\s+{_DAY}(?:,?\s+[0-9]{{4}})?"
    rf"|{_DAY}\s+(?:of\s+)?(?:{_MONTHS})\.?(?:,?\s+[0-9]{{4}})?"
)
_CN_DIGITS = "零一二两三四五六七八九十"
_CHINESE = (
    r"(?P<cn_rel>大前天|前天|昨天|昨日|今天|今日|明天|后天|後天)"
    r"|(?P<cn_week>上上|上个?|这个?|這個?|本|下个?)?(?:星期|礼拜|禮拜|周|週)(?P<cn_wd>[一二三四五六日天])"
    r"|(?:(?P<cn_y>[0-9]{4})年)?(?P<cn_m>[0-9]{1,2})月(?P<cn_d>[0-9]{1,2})[日号號]"
    rf"|(?P<cn_ago>[0-9]+|[{_CN_DIGITS}]+)天前"
)
_NUMERIC = (
    r"(?<![0-9./-])(?:(?P<iso_y>[0-9]{4})-(?P<iso_m>[0-9]{1,2})-(?P<iso_d>[0-9]{1,2})"
    r"|(?!24/7(?![0-9]))(?P<a>[0-9]{1,2})/(?P<b>[0-9]{1,2})(?:/(?P<y>[0-9]{4}|[0-9]{2}))?"
    r"|(?P<dot_d>[0-9]{1,2})\.(?P<dot_m>[0-9]{1,2})\.(?P<dot_y>[0-9]{4}))(?![0-9]|[./-][0-9])"
)
_DATE_RE = re.compile(rf"(?P<en>\b(?:{_ENGLISH})\b)|{_CHINESE}|{_NUMERIC}", re.IGNORECASE)
_HAS_YEAR = re.compile(r"[0-9]{4}")
_MONTH_RE = re.compile(rf"\b(?:{_MONTHS})", re.IGNORECASE)
_CN_WEEKDAY = {c: i for i, c in enumerate("一二三四五六")} | {"日": 6, "天": 6}
_CN_RELATIVE = {"大前天": -3, "前天": -2, "昨天": -1, "昨日": -1, "今天": 0, "今日": 0, "明天": 1, "后天": 2, "後天": 2}
_HALF_YEAR = timedelta(days=183)


def find_dates(text: str, language: str, today: date) -> Iterator[tuple[int, int, date]]:
    """(start, end, date) for each date-ish span of `text` that names a real date."""
    for match in _DATE_RE.finditer(text):
        found = _resolve(match, language, today)
        if found is not None:
            yield match.start(), match.end(), found


def _resolve(match: re.Match[str], language: str, today: date) -> date | None:
    if match["en"]:
        return _english(match["en"], today)
    if match["cn_rel"]:
        return today + timedelta(days=_CN_RELATIVE[match["cn_rel"]])
    if match["cn_wd"]:
        return _chinese_weekday(match["cn_week"] or "", _CN_WEEKDAY[match["cn_wd"]], today)
    if match["cn_m"]:
        return _calendar(match["cn_y"], match["cn_m"], match["cn_d"], today)
    if match["cn_ago"]:
        return today - timedelta(days=_chinese_number(match["cn_ago"]))
    if match["iso_y"]:
        return _calendar(match["iso_y"], match["iso_m"], match["iso_d"], today)
    if match["dot_y"]:
        return _calendar(match["dot_y"], match["dot_m"], match["dot_d"], today)
    return _day_month(match["a"], match["b"], match["y"], language, today)


def _english(span: str, today: date) -> date | None:
    import dateparser  # loads its language data: only once a message has a date-ish span

    settings = {"RELATIVE_BASE": datetime.combine(today, datetime.min.time()), "PREFER_DATES_FROM": "past"}
    parsed = dateparser.parse(span, languages=["en"], settings=settings)
    if parsed is None:
        return None
    if _HAS_YEAR.search(span) or not _MONTH_RE.search(span):
        return parsed.date()
    return _nearest(parsed.month, parsed.day, today)


def _chinese_weekday(prefix: str, weekday: int, today: date) -> date:
    """上周五: Friday of last week (weeks start on Monday); 周五 alone: the latest Friday before today."""
    monday = today - timedelta(days=today.weekday())
    weeks = {"上上": -2, "上": -1, "上个": -1, "这": 0, "这个": 0, "這": 0, "這個": 0, "本": 0, "下": 1, "下个": 1}
    if prefix:
        return monday + timedelta(weeks=weeks[prefix], days=weekday)
    return today - timedelta(days=(today.weekday() - weekday - 1) % 7 + 1)


def _chinese_number(text: str) -> int:
    """"3", "三", "十", "十五", "二十": the small numbers that come before 天前."""
    if text.isdigit():
        return int(text)
    digits = {c: i for i, c in enumerate("零一二三四五六七八九")} | {"两": 2}
    tens, _, ones = text.partition("十")
    if "十" not in text:
        return digits.get(text, 0)
    return (digits.get(tens, 0) if tens else 1) * 10 + digits.get(ones, 0)


def _day_month(a: str, b: str, year: str | None, language: str, today: date) -> date | None:
    """"28/11", "11/28", "5/6" (see the module docstring for which is the day)."""
    first, second = int(a), int(b)
    month_first = first <= 12 and (second > 12 or language == "zh")
    month, day = (first, second) if month_first else (second, first)
    if year is not None and len(year) == 2:
        year = f"20{year}"
    return _calendar(year, str(month), str(day), today)


def _calendar(year: str | None, month: str, day: str, today: date) -> date | None:
    try:
        return date(int(year), int(month), int(day)) if year else _nearest(int(month), int(day), today)
    except ValueError:
        return None


def _nearest(month: int, day: int, today: date) -> date | None:
    """The date with this month and day nearest to `today` (29 February only in leap years)."""
    for year in (today.year, today.year - 1, today.year + 1):
        try:
            candidate = date(year, month, day)
        except ValueError:
            continue
        if abs(candidate - today) <= _HALF_YEAR:
            return candidate
    return None
