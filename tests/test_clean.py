"""The clean stage: every rule on concrete English and Chinese rows, its counts, and properties on any input."""

import dataclasses
import tomllib

import pytest
from hypothesis import given
from hypothesis import strategies as st

from tests.conftest import ROOT, write_config
from training.clean import ORDER, REMOVALS, RULES, CleanResult, Labelled, clean, normalise, redact_orders, strip_noise
from training.config import CleanSettings, ConfigError, load_config
from training.tokenize import tokenize

KNOWN = {"order_status", "refund_request", "refund_status", "greet", "cancel_order"}
DEFAULT = CleanSettings()


def row(text: str, intent: str = "order_status", created_at: str = "", source: str = "suggestion") -> Labelled:
    return Labelled(text, intent, source, created_at)


def run(rows: list[Labelled], s: CleanSettings = DEFAULT, known: set[str] = KNOWN) -> CleanResult:
    return clean(rows, known, s)


def texts(result: CleanResult) -> list[str]:
    return [r.text for r in result.examples]


def only(rule: str, n: int) -> dict[str, int]:
    """The counts dict when exactly one rule fired."""
    return {**dict.fromkeys(RULES, 0), rule: n}


# --- counts ------------------------------------------------------------------------------------


def test_counts_name_every_rule_in_order_even_when_nothing_happens():
    result = run([])
    assert result.examples == []
    assert list(result.counts) == [
        "normalised", "stripped", "redacted", "empty", "too_long",
        "unknown_intent", "duplicate", "conflict", "capped",
    ]
    assert set(result.counts.values()) == {0}


def test_clean_rows_pass_untouched_and_uncounted():
    rows = [row("where is my order"), row("我要退款", "refund_request"), row("hi 👋", "greet")]
    result = run(rows)
    assert result.examples == rows
    assert result.counts == dict.fromkeys(RULES, 0)


def test_each_rule_counted_once_on_a_mixed_batch():
    rows = [
        row("ＷＨＥＲＥ is my parcel"),               # normalised
        row("/start cancel it please", "cancel_order"),  # stripped
        row("refund to bob@example.com", "refund_request"),  # redacted
        row("?!"),                                    # empty
        row("x" * 501),                               # too_long
        row("hello", "chitchat"),                     # unknown_intent
        row("where is my parcel"),                    # duplicate of the first, once normalised
        row("refund?", "refund_request"),             # conflict: 1 vs 1, dropped both
        row("refund?", "refund_status"),
    ]
    result = run(rows)
    assert result.counts == {
        "normalised": 1, "stripped": 1, "redacted": 1, "empty": 1, "too_long": 1,
        "unknown_intent": 1, "duplicate": 1, "conflict": 2, "capped": 0,
    }
    assert texts(result) == ["WHERE is my parcel", "cancel it please", "refund to <EMAIL>"]
    removed = sum(result.counts[r] for r in REMOVALS)
    assert len(result.examples) + removed == len(rows)


# --- normalised --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("ＷＨＥＲＥ　ｉｓ　ｍｙ　ｏｒｄｅｒ？", "WHERE is my order?"),  # full-width forms and space
        ("  where\tis\n\nmy   order  ", "where is my order"),
        ("where\x00 is\u200b my\x7f order\u00ad", "where is my order"),  # NUL, zero-width space, DEL, soft hyphen
        ("\ufeff我的订单\u3000到哪了", "我的订单 到哪了"),  # BOM, ideographic space
        ("ﾄﾞｺ", "ドコ"),  # half-width katakana composed
        ("cafe\u0301", "café"),
    ],
)
def test_normalise_folds_forms_removes_invisibles_and_collapses_space(raw, expected):
    assert normalise(raw) == expected


def test_normalise_keeps_emoji_joiners():
    family = "\U0001f468\u200d\U0001f469\u200d\U0001f467"
    assert normalise(f"hi {family}") == f"hi {family}"


def test_normalised_counts_changed_rows_only():
    rows = [row("where  is my order"), row("where is my refund", "refund_status"), row("退款\u200b进度", "refund_status")]
    result = run(rows)
    assert texts(result) == ["where is my order", "where is my refund", "退款进度"]
    assert result.counts == only("normalised", 2)


# --- stripped ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("/start where is my order", "where is my order"),
        ("/help@shopbot I need a refund", "I need a refund"),
        ("cancel /cancel_order now", "cancel now"),
        ("/start", ""),
        ("tracking https://track.example.com/p?id=48213&x=1 says delivered", "tracking says delivered"),
        ("see (https://shop.example/help).", "see ( )."),
        ("check www.shop.example/orders please", "check please"),
        ("join t.me/shopnews", "join"),
        ("visit WWW.SHOP.EXAMPLE 看看", "visit 看看"),
        ("请看https://shop.example/faq谢谢", "请看 谢谢"),
        ("HTTP://SHOP.EXAMPLE 打不开", "打不开"),
    ],
)
def test_strip_removes_bot_commands_and_links(raw, expected):
    assert strip_noise(raw) == expected


@pytest.mark.parametrize(
    "text",
    ["open 24/7?", "and/or", "half price 1/2", "delivered 12/05/2024", "path /a/b", "email me at bob@shop.example",
     "a/b test", "订单/退款"],
)
def test_strip_leaves_slashes_that_are_not_commands(text):
    assert strip_noise(text) == text


def test_stripped_counts_rows_and_a_bare_command_ends_up_empty():
    result = run([row("/start"), row("/help@shopbot 退款", "refund_request"), row("refund", "refund_request")])
    assert texts(result) == ["退款", "refund"]
    assert result.counts == {**only("stripped", 2), "empty": 1}


# --- redacted ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("where is order 48213", f"where is order {ORDER}"),
        ("Order #A10293 not here", f"Order #{ORDER} not here"),
        ("my order number: 48213?", f"my order number: {ORDER}?"),
        ("order no. 1234567 late", f"order no. {ORDER} late"),
        ("order ID SO-2024-118833", f"order ID {ORDER}"),
        ("about #A10293", f"about {ORDER}"),
        ("about #48213", f"about {ORDER}"),
        ("ref SO-2024-118833 please", f"ref {ORDER} please"),
        ("ORD-48213 cancel", f"{ORDER} cancel"),
        ("订单号 202405120001", f"订单号 {ORDER}"),
        ("我的订单号是202405120001到哪了", f"我的订单号是{ORDER}到哪了"),
        ("订单编号:A10293", f"订单编号:{ORDER}"),
        ("单号 SF1234567890 没更新", f"单号 {ORDER} 没更新"),
        ("order A123", "order A123"),  # three digits: too short to be an order number
    ],
)
def test_order_numbers_become_placeholders_and_the_keyword_stays(raw, expected):
    assert redact_orders(raw) == expected


@pytest.mark.parametrize(
    "text",
    [
        "it costs $49.99",
        "order total 49.99 dollars",
        "order 12345.50",
        "delivered on 2024-05-12",
        "order 2024-05-12 arrived",
        "order 12/05/2024",
        "I want to order 2 shirts",
        "order 10 pairs of socks",
        "my order from 2023",
        "order at 10:30",
        "#1 fan of your shop",
        "#2024 sale",
        "size 42 in stock?",
        "COVID-19 delays",
        "ISO-9001 certified",
        "reorder 48213",
        "订单 3 件",
        "订单2024年5月12日下的",
        "订单金额 199.00 元",
        "运费4.99美元",
        "2024年5月12日",
        "call 800 123",
    ],
)
def test_prices_dates_and_quantities_are_not_order_numbers(text):
    assert redact_orders(text) == text


def test_redacted_uses_redact_for_personal_data_and_counts_changed_rows():
    rows = [
        row("mail me at jane.doe@example.com", "greet"),
        row("where is order 48213"),
        row("退款到 DE89370400440532013000", "refund_status"),
        row("where is my order"),
    ]
    result = run(rows)
    assert texts(result) == ["mail me at <EMAIL>", f"where is order {ORDER}", "退款到 <IBAN>", "where is my order"]
    assert result.counts == only("redacted", 3)


def test_a_card_number_after_order_is_redacted_whole():
    text = run([row("order paid with 4111 1111 1111 1111")]).examples[0].text
    assert "1111" not in text and "<CARD>" in text


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("订单号 202405120001 到哪了", f"订单号 {ORDER} 到哪了"),  # 12 digits: not taken for a phone
        ("order SO-2024-118833", f"order {ORDER}"),
        ("order number 13812345678", f"order number {ORDER}"),  # phone-shaped, but it follows "order number"
        ("order <PHONE> late", f"order {ORDER} late"),  # stored text that redact() already reached
        ("write to order12345@example.com", "write to <EMAIL>"),  # an address is personal data first
        ("call me on 13812345678 about my order", "call me on <PHONE> about my order"),
        ("身份证 11010519491231002X 订单 48213", f"身份证 <CNID> 订单 {ORDER}"),
        ("order 2024-05-12, call (415) 555-2671", "order 2024-05-12, call <PHONE>"),
    ],
)
def test_order_numbers_and_personal_data_together(raw, expected):
    assert texts(run([row(raw)])) == [expected]


def test_different_order_numbers_become_one_example():
    result = run([row("where is order 48213"), row("where is order 99120"), row("where is #A10293")])
    assert texts(result) == [f"where is order {ORDER}", f"where is {ORDER}"]
    assert result.counts == {**only("redacted", 3), "duplicate": 1}


# --- empty, too_long, unknown_intent -----------------------------------------------------------


def test_rows_without_tokens_are_empty():
    rows = [row(""), row("   "), row("?!..."), row("。。。"), row("\u200b"), row("👍", "greet"), row("好", "greet")]
    result = run(rows)
    assert texts(result) == ["👍", "好"]
    assert result.counts["empty"] == 5


def test_min_tokens_drops_short_rows():
    rows = [
        row("refund", "refund_request"), row("my refund", "refund_status"), row("where is it"), row("退款了吗", "refund_status"),
    ]
    result = run(rows, CleanSettings(min_tokens=3))
    assert texts(result) == ["where is it", "退款了吗"]
    assert result.counts == only("empty", 2)


def test_min_tokens_zero_still_drops_rows_with_no_tokens():
    result = run([row("?!"), row("hi", "greet")], CleanSettings(min_tokens=0))
    assert texts(result) == ["hi"]
    assert result.counts["empty"] == 1


def test_too_long_is_measured_after_cleaning():
    at_limit = "a" * 500
    rows = [row(at_limit), row("b" * 501), row("   " + "c" * 500 + "   "), row("长" * 501)]
    result = run(rows)
    assert texts(result) == [at_limit, "c" * 500]
    assert result.counts["too_long"] == 2
    assert texts(run([row("where is it")], CleanSettings(max_chars=10))) == []


def test_unknown_intents_are_dropped():
    rows = [row("hello", "greet"), row("hello there", "old_intent"), row("你好呀", ""), row("退款", "Refund_Request")]
    result = run(rows)
    assert texts(result) == ["hello"]
    assert result.counts == only("unknown_intent", 3)


# --- duplicate ---------------------------------------------------------------------------------


def test_exact_and_normalised_duplicates_keep_the_first():
    rows = [
        row("Where is my order?", created_at="2024-01-01"),
        row("where is my order", created_at="2024-01-02"),
        row("WHERE   IS MY ORDER!!!", created_at="2024-01-03"),
        row("Where is my order?", created_at="2024-01-04"),
        row("我的订单到哪了"),
        row("我的订单到哪了？"),
        row("where is my order?", "cancel_order"),  # another intent: a conflict (outvoted), not a duplicate
    ]
    result = run(rows)
    assert [(r.text, r.intent, r.created_at) for r in result.examples] == [
        ("Where is my order?", "order_status", "2024-01-01"),
        ("我的订单到哪了", "order_status", ""),
    ]
    assert result.counts == {**only("duplicate", 4), "normalised": 2, "conflict": 1}


def test_numbers_collapse_so_rows_differing_only_by_a_number_are_duplicates():
    result = run([row("charged 129 twice"), row("charged 349 twice"), row("charged twice")])
    assert texts(result) == ["charged 129 twice", "charged twice"]
    assert result.counts["duplicate"] == 1


# --- conflict ----------------------------------------------------------------------------------


def test_conflict_keeps_a_clear_majority():
    rows = [row("refund?", "refund_request")] * 3 + [row("Refund?!", "refund_status")] + [row("退款进度", "refund_status")]
    result = run(rows)  # 3 of 4 = 0.75 >= 0.7
    assert [(r.text, r.intent) for r in result.examples] == [("refund?", "refund_request"), ("退款进度", "refund_status")]
    assert result.counts == {**only("duplicate", 2), "conflict": 1}


def test_conflict_without_majority_drops_every_row_of_that_text():
    rows = [
        row("取消", "cancel_order"), row("取消", "cancel_order"), row("取消！", "refund_request"), row("cancel", "cancel_order"),
    ]
    result = run(rows)  # 2 of 3 = 0.67 < 0.7
    assert [(r.text, r.intent) for r in result.examples] == [("cancel", "cancel_order")]
    assert result.counts == {**only("duplicate", 1), "normalised": 1, "conflict": 2}  # ！ folded to !


def test_conflict_majority_threshold_is_inclusive_and_ties_never_win():
    rows = [row("refund", "refund_request")] * 7 + [row("refund", "refund_status")] * 3
    assert [r.intent for r in run(rows).examples] == ["refund_request"]
    assert run(rows, CleanSettings(majority=0.71)).examples == []
    tie = [row("refund", "refund_request"), row("refund", "refund_status")]
    assert run(tie, CleanSettings(majority=0.3)).examples == []


def test_conflict_among_three_labels():
    rows = [row("help", "greet")] * 8 + [row("help", "cancel_order"), row("help", "order_status")]
    result = run(rows)
    assert [r.intent for r in result.examples] == ["greet"]
    assert result.counts["conflict"] == 2 and result.counts["duplicate"] == 7


# --- capped ------------------------------------------------------------------------------------


def test_cap_keeps_the_newest_per_intent_in_input_order():
    rows = [
        row("old one", created_at="2024-01-01T00:00:00.000+00:00"),
        row("newest", created_at="2024-03-01T00:00:00.000+00:00"),
        row("oldest", created_at="2023-12-31T23:59:59.999+00:00"),
        row("newer", created_at="2024-02-01T00:00:00.000+00:00"),
        row("退款", "refund_request", created_at="2020-01-01T00:00:00.000+00:00"),
    ]
    result = run(rows, CleanSettings(max_per_intent=2))
    assert texts(result) == ["newest", "newer", "退款"]
    assert result.counts == only("capped", 2)


def test_cap_prefers_later_rows_when_timestamps_tie_and_zero_keeps_none():
    rows = [row("a"), row("b"), row("c")]
    assert texts(run(rows, CleanSettings(max_per_intent=1))) == ["c"]
    assert run(rows, CleanSettings(max_per_intent=0)).counts["capped"] == 3
    assert run(rows, CleanSettings(max_per_intent=-1)).counts["capped"] == 3  # never "all but the last"


# --- settings ----------------------------------------------------------------------------------


def test_clean_section_loads_and_is_checked(tmp_path, monkeypatch):
    monkeypatch.delenv("SUPPORTBOT_VAR", raising=False)
    path = write_config(tmp_path, "[clean]\nmax_chars = 200\nmajority = 1\nmax_per_intent = 50\n")
    assert load_config(path).clean == CleanSettings(max_chars=200, min_tokens=1, majority=1.0, max_per_intent=50)
    bad = write_config(tmp_path / "bad", '[clean]\nmax_chars = "long"\n')
    with pytest.raises(ConfigError, match=r"\[clean\] max_chars"):
        load_config(bad)
    with pytest.raises(ConfigError, match="unknown"):
        load_config(write_config(tmp_path / "typo", "[clean]\nmax_per_intnet = 5\n"))


def test_shipped_config_documents_the_defaults():
    shipped = load_config(ROOT / "config.toml")
    assert shipped.clean == CleanSettings()
    with (ROOT / "config.toml").open("rb") as fh:
        written = tomllib.load(fh)["clean"]
    assert written.keys() == {f.name for f in dataclasses.fields(CleanSettings)}


# --- properties --------------------------------------------------------------------------------

INTENTS = sorted(KNOWN) + ["retired"]
PHRASES = [
    "where is my order", "Where is my order?", "order 48213", "#A10293", "我的订单到哪了", "退款", "refund?",
    "/start", "https://shop.example/x", "mail bob@example.com", "$49.99", "2024-05-12", "hi 👋", "", "   ",
]
NOISY = st.text(alphabet=st.sampled_from(list("ab /#@:.-<>0123456789退款订单号\u200b\x00\t\nＡ１") + ["👍"]), max_size=40)
TEXTS = st.one_of(st.sampled_from(PHRASES), NOISY, st.text(max_size=60))
ROWS = st.lists(
    st.builds(
        Labelled,
        text=TEXTS,
        intent=st.sampled_from(INTENTS),
        source=st.sampled_from(["suggestion", "feedback", "admin", "import", "prediction"]),
        created_at=st.sampled_from(["", "2024-01-01T00:00:00.000+00:00", "2024-06-01T00:00:00.000+00:00"]),
    ),
    max_size=40,
)
SETTINGS = st.builds(
    CleanSettings,
    max_chars=st.integers(0, 80),
    min_tokens=st.integers(0, 3),
    majority=st.floats(0.0, 1.0),
    max_per_intent=st.integers(0, 6),
)


@given(ROWS, SETTINGS)
def test_clean_accounts_for_every_row_and_leaves_no_unknown_or_repeated_text(rows, s):
    result = clean(iter(rows), KNOWN, s)  # any iterable, consumed once
    assert list(result.counts) == list(RULES)
    assert all(n >= 0 for n in result.counts.values())
    assert len(result.examples) + sum(result.counts[r] for r in REMOVALS) == len(rows)
    assert {r.intent for r in result.examples} <= KNOWN
    sequences = [tuple(tokenize(r.text)) for r in result.examples]
    assert len(set(sequences)) == len(sequences)
    for seq, r in zip(sequences, result.examples, strict=True):
        assert len(seq) >= max(s.min_tokens, 1) and len(r.text) <= s.max_chars
    assert all(n <= s.max_per_intent for n in _per_intent(result.examples).values())
    assert clean(rows, KNOWN, s) == result  # deterministic


@given(ROWS)
def test_cleaning_twice_changes_nothing(rows):
    once = clean(rows, KNOWN, DEFAULT).examples
    twice = clean(once, KNOWN, DEFAULT)
    assert twice.examples == once
    assert set(twice.counts.values()) == {0}


@given(st.text(max_size=200))
def test_normalise_is_idempotent_and_leaves_no_invisible_characters(text):
    once = normalise(text)
    assert normalise(once) == once
    assert once == once.strip() and "  " not in once and "\n" not in once and "\x00" not in once


def _per_intent(rows: list[Labelled]) -> dict[str, int]:
    counts: dict[str, int] = {}
    for r in rows:
        counts[r.intent] = counts.get(r.intent, 0) + 1
    return counts


# --- volume ------------------------------------------------------------------------------------


def test_many_rows_keep_the_accounting_and_the_cap():
    templates = ["where is order {n}", "我的订单{n}到哪了", "refund {n} please", "/start hi {n}", "mail u{n}@example.com"]
    intents = ["order_status", "order_status", "refund_request", "greet", "greet"]
    rows = [
        row(templates[i % 5].format(n=f"{i:06d}"[::-1]), intents[i % 5], created_at=f"2024-01-01T00:00:{i % 60:02d}")
        for i in range(5_000)
    ]
    result = run(rows)
    assert len(result.examples) + sum(result.counts[r] for r in REMOVALS) == len(rows)
    assert len(result.examples) <= 300 * 3
