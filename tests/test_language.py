"""Which messages the bot can read (English or Chinese) and which it must not pretend to answer."""

import pytest
from hypothesis import given
from hypothesis import strategies as st

from training.tokenize import language_of, supported_language

UNSUPPORTED = [
    pytest.param("注文した商品がまだ届きません", id="japanese-kanji-and-kana"),
    pytest.param("ありがとうございます", id="japanese-kana-only"),
    pytest.param("iPhone 15 Proのバッテリーが膨らんだ", id="japanese-with-an-english-brand"),
    pytest.param("주문한 상품이 아직 도착하지 않았어요", id="korean"),
    pytest.param("아이폰 화면이 깨졌어요 iPhone 14", id="korean-with-an-english-brand"),
    pytest.param("أين طلبي؟", id="arabic"),
    pytest.param("Где мой заказ?", id="russian"),
    pytest.param("Мой iPhone не работает", id="russian-with-an-english-brand"),
    pytest.param("איפה ההזמנה שלי", id="hebrew"),
    pytest.param("Πού είναι η παραγγελία μου;", id="greek"),
    pytest.param("คำสั่งซื้อของฉันอยู่ที่ไหน", id="thai"),
    pytest.param("मेरा ऑर्डर कहाँ है", id="hindi"),
    pytest.param("Мой email <EMAIL>, телефон <PHONE>", id="russian-around-redaction-placeholders"),
]


@pytest.mark.parametrize("text", UNSUPPORTED)
def test_languages_the_bot_does_not_speak_are_not_supported(text):
    """Before: Japanese and Korean were 'zh' (Chinese replies), the rest 'en' (English buttons)."""
    assert supported_language(text) is None
    assert supported_language(text, hint="en") is None  # the text decides, not the app's language


@pytest.mark.parametrize(
    ("text", "language"),
    [
        pytest.param("where is my order?", "en", id="english"),
        pytest.param("where is my order? 😡📦", "en", id="english-with-emoji"),
        pytest.param("我的iPhone屏幕碎了，能修吗", "zh", id="chinese-with-an-english-brand"),
        pytest.param("我的order怎么还没到", "zh", id="chinese-with-an-english-word"),
        pytest.param("my order 订单", "zh", id="english-with-a-chinese-word-as-language_of"),
        pytest.param("I sent it to Москва last week, where is it?", "en", id="english-with-a-russian-word"),
        pytest.param("Where is my ポケモン card order? It was due Monday", "en", id="english-with-a-japanese-word"),
        pytest.param("ＷＨＥＲＥ ＩＳ ＭＹ ＯＲＤＥＲ", "en", id="full-width-latin"),
        pytest.param("¿Dónde está mi pedido?", "en", id="spanish-is-latin-script"),
        pytest.param("order <ORDER> to <EMAIL>", "en", id="english-with-placeholders"),
    ],
)
def test_readable_text_gets_its_reply_language(text, language):
    assert supported_language(text) == language
    assert supported_language(text, hint="ja") == language  # letters outrank the hint


@pytest.mark.parametrize(
    ("text", "hint", "language"),
    [
        ("12345678", None, "en"),
        ("12345678", "zh-hans", "zh"),
        ("👍👍", "zh", "zh"),
        ("👍", "en", "en"),
        ("👍", "ja", "en"),  # a hint we do not speak: English, there is nothing to say it is Japanese
        ("#48213 ??", "ru", "en"),
        ("<EMAIL>", "zh", "zh"),  # a redaction placeholder is our text, not the customer's
        ("", None, "en"),
    ],
)
def test_text_without_letters_goes_by_the_hint_then_english(text, hint, language):
    assert supported_language(text, hint) == language


_READABLE_OR_NOT = st.text(
    st.sampled_from(list("abcxyzéÉß 0123456789?!,.👍😡") + list("我的订单到哪了退款") + list("где мой заказ")),
    max_size=60,
)


@given(_READABLE_OR_NOT)
def test_readable_text_without_kana_or_hangul_agrees_with_language_of(text):
    """The model's training language (`language_of`) and the reply language never disagree on
    text the bot can read."""
    assert supported_language(text) in (None, language_of(text))
