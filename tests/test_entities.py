"""Entities from raw messages, per type and language, with the near-misses that must not match."""

from datetime import date
from pathlib import Path

import pytest

from tests.conftest import DATA
from training.entities import EntityPatterns, PatternError, extract, load_patterns

TODAY = date(2026, 12, 7)  # a Monday


@pytest.fixture(scope="module")
def patterns() -> EntityPatterns:
    return load_patterns(DATA / "entities.toml")


def found(text: str, patterns: EntityPatterns, language: str = "en", **kw) -> list[tuple[str, str]]:
    return [(e.type, e.value) for e in extract(text, language, patterns, TODAY, **kw)]


# --- patterns file: refused when broken ---------------------------------------------------------


def _patterns_file(tmp_path: Path, body: str) -> Path:
    path = tmp_path / "entities.toml"
    path.write_text(body, encoding="utf-8")
    return path


@pytest.mark.parametrize(
    ("body", "error"),
    [
        ("[order_id]\npattern = '([0-9'\npii = false\n", r"\[order_id\] pattern is not a valid regular expression"),
        ("[order_id]\npattern = '[0-9]*'\npii = false\n", r"\[order_id\] pattern matches the empty string"),
        ("[order_id]\npattern = '[0-9]+'\npii = 'no'\n", r"\[order_id\] pii must be true or false"),
        ("[order_id]\npattern = '[0-9]+'\n", r"\[order_id\] pii must be true or false"),
        ("[order_id]\npattern = ''\npii = false\n", r"\[order_id\] pattern must be a non-empty string"),
        ("[order_id]\npattern = '[0-9]+'\npii = false\nprefix = '#'\n", r"\[order_id\] unknown key 'prefix'"),
        ("[postcode]\npattern = '[0-9]{5}'\ncontext = 'zip('\npii = true\n", r"\[postcode\] context is not a valid"),
        ("[email]\npattern = '.+@.+'\npii = true\n", r"\[email\] must be an identifier other than text, email"),
        ("order_id = '[0-9]+'\n", r"order_id must be a table"),
        ("[order_id\n", r"line 1"),
    ],
)
def test_broken_patterns_file_names_file_and_key(tmp_path, body, error):
    path = _patterns_file(tmp_path, body)
    with pytest.raises(PatternError, match=rf"{path.name}.*{error}"):
        load_patterns(path)


# --- order numbers ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "text",
    [
        "order 1002 please",  # four digits
        "order 100234 please",  # six digits
        "I paid 10023 yuan",  # an amount
        "it cost ¥10023",
        "call me on 13812345678",  # a phone number
        "ordered on 2024-11-28",  # a date
        "order A10023",  # another shop's format
        "order 2024-10023",
        "version 10023.5",
        "my postcode is 10115",  # a postcode, said so
        "mail 10023@qq.com",  # inside an e-mail address
    ],
)
def test_near_misses_are_not_order_ids(patterns, text):
    assert [t for t, _ in found(text, patterns) if t == "order_id"] == []


@pytest.mark.parametrize(
    ("text", "language"),
    [
        ("where is order 10023?", "en"),
        ("status of #10023 pls", "en"),
        ("No. 10023", "en"),
        ("订单10023到哪了", "zh"),
        ("订单号：10023", "zh"),
        ("10023", "zh"),
        ("订单号：１００２３", "zh"),  # full-width digits from a Chinese IME
    ],
)
def test_order_ids_in_english_and_chinese(patterns, text, language):
    assert found(text, patterns, language) == [("order_id", "10023")]


def test_order_id_span_points_at_the_number_in_the_raw_text(patterns):
    (entity,) = extract("订单号：#10023", "zh", patterns, TODAY)
    assert (entity.start, entity.end, entity.pii) == (5, 10, False)


# --- postcodes: only where the context says so, or when asked for ------------------------------


def test_bare_five_digits_are_an_order_id_not_a_postcode(patterns):
    assert found("10115", patterns) == [("order_id", "10115")]


@pytest.mark.parametrize(
    ("text", "language"), [("my postcode is 10115", "en"), ("ZIP: 10115", "en"), ("邮编：10115", "zh"), ("邮政编码10115", "zh")]
)
def test_postcode_after_its_name(patterns, text, language):
    assert found(text, patterns, language) == [("postcode", "10115")]


def test_postcode_without_context_when_the_bot_asked_for_one(patterns):
    assert found("10115", patterns, expect=("postcode",)) == [("postcode", "10115")]
    assert extract("10115", "en", patterns, TODAY, expect=("postcode",))[0].pii


def test_postcode_context_too_far_away_does_not_count(patterns):
    text = "I changed my postcode last year, which is a long story, anyway: 10115"
    assert found(text, patterns) == [("order_id", "10115")]


# --- tracking numbers ---------------------------------------------------------------------------


def test_tracking_number_upu_s10_any_case(patterns):
    assert found("tracking rr123456789cn?", patterns) == [("tracking_number", "RR123456789CN")]
    assert found("单号RR123456789CN", patterns, "zh") == [("tracking_number", "RR123456789CN")]


@pytest.mark.parametrize("text", ["RR12345678CN", "RR1234567890CN", "XRR123456789CN", "RR123456789CNX"])
def test_tracking_number_near_misses(patterns, text):
    assert [t for t, _ in found(text, patterns) if t == "tracking_number"] == []


# --- e-mail and phone: the redaction detectors, normalised, marked as personal data -------------


def test_email_lowercased_and_pii(patterns):
    (entity,) = extract("my email is Jo.Smith@Example.COM thanks", "en", patterns, TODAY)
    assert (entity.type, entity.value, entity.pii) == ("email", "jo.smith@example.com", True)


def test_chinese_email_glued_to_words(patterns):
    assert found("我的邮箱是abc@qq.com谢谢", patterns, "zh") == [("email", "abc@qq.com")]


@pytest.mark.parametrize(
    ("text", "value"),
    [("call 13812345678", "+8613812345678"), ("+44 7700 900123", "+447700900123"), ("(415) 555-2671", "+14155552671")],
)
def test_phones_in_e164(patterns, text, value):
    entities = extract(text, "en", patterns, TODAY)
    assert [(e.type, e.value, e.pii) for e in entities] == [("phone", value, True)]


def test_card_number_yields_no_order_id_or_phone(patterns):
    assert found("card 4111 1111 1111 1111", patterns) == []


# --- amounts ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "value"),
    [
        ("I paid €49.90", "49.90 EUR"),
        ("refund of 49,90 EUR", "49.90 EUR"),
        ("$1,234.50 order", "1234.50 USD"),
        ("10 dollars", "10.00 USD"),
        ("付了199元", "199.00 CNY"),
        ("才5块钱", "5.00 CNY"),
        ("¥88", "88.00 CNY"),
        ("£12", "12.00 GBP"),
        ("退了￥４９.９元", "49.90 CNY"),
    ],
)
def test_amounts_with_their_currency(patterns, text, value):
    assert found(text, patterns, "zh" if "元" in text or "块" in text else "en") == [("amount", value)]


@pytest.mark.parametrize("text", ["I want 3 of them", "49.90", "page 12.5"])
def test_numbers_without_currency_are_not_amounts(patterns, text):
    assert [t for t, _ in found(text, patterns) if t == "amount"] == []


# --- dates --------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "value"),
    [
        ("it was supposed to come yesterday", "2026-12-06"),
        ("ordered last Monday", "2026-11-30"),
        ("ordered on Friday", "2026-12-04"),
        ("it shipped 3 days ago", "2026-12-04"),
        ("ordered Nov 28", "2026-11-28"),
        ("ordered 28th of November 2024", "2024-11-28"),
        ("ordered 28/11", "2026-11-28"),
        ("ordered 11/28", "2026-11-28"),
        ("ordered 2024-11-28", "2024-11-28"),
        ("ordered 28.11.2024", "2024-11-28"),
        ("promised for Dec 10", "2026-12-10"),  # no year: the nearest, here ahead
    ],
)
def test_english_dates(patterns, text, value):
    assert found(text, patterns) == [("date", value)]


@pytest.mark.parametrize(
    ("text", "value"),
    [
        ("昨天下的单", "2026-12-06"),
        ("前天买的", "2026-12-05"),
        ("大前天", "2026-12-04"),
        ("11月28日下的单", "2026-11-28"),
        ("2024年11月28号", "2024-11-28"),
        ("上周五买的", "2026-12-04"),
        ("上星期一", "2026-11-30"),
        ("周五下的单", "2026-12-04"),
        ("下周三能到吗", "2026-12-16"),
        ("三天前", "2026-12-04"),
        ("十五天前", "2026-11-22"),
        ("5/6", "2027-05-06"),  # Chinese writes the month first
    ],
)
def test_chinese_dates(patterns, text, value):
    assert found(text, patterns, "zh") == [("date", value)]


@pytest.mark.parametrize("text", ["we're open 24/7", "1.5 kg", "2024-13-45", "31/31", "2月30日", "on sunny days"])
def test_date_near_misses(patterns, text):
    assert found(text, patterns, "zh" if "月" in text else "en") == []


def test_relative_dates_resolve_against_today(patterns):
    assert extract("yesterday", "en", patterns, date(2024, 3, 1))[0].value == "2024-02-29"


# --- a whole message ------------------------------------------------------------------------------


def test_the_issue_message(patterns):
    text = "where is my order 10023? it was supposed to come yesterday, email jo@example.com"
    entities = extract(text, "en", patterns, TODAY)
    assert [(e.type, e.value, e.pii) for e in entities] == [
        ("order_id", "10023", False),
        ("date", "2026-12-06", False),
        ("email", "jo@example.com", True),
    ]
    assert [text[e.start : e.end] for e in entities] == ["10023", "yesterday", "jo@example.com"]


def test_nothing_in_a_plain_message(patterns):
    assert found("where is my order", patterns) == [] and found("我的订单到哪了", patterns, "zh") == []


def test_without_shop_patterns_only_built_in_types(patterns):
    assert found("order 10023, paid €5 yesterday", EntityPatterns()) == [("amount", "5.00 EUR"), ("date", "2026-12-06")]
