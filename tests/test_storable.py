"""storable(): a customer's raw text as it is stored and classified (valid, no controls, redacted, capped)."""

from __future__ import annotations

import sqlite3

import pytest
from hypothesis import given
from hypothesis import strategies as st

from training.redact import CARD, EMAIL, PHONE, PLACEHOLDERS, redact
from training.storable import storable

LIMIT = 2000


def stored_in_sqlite(text: str) -> str:
    """`text` written to and read back from a real SQLite database, as the message store does."""
    with sqlite3.connect(":memory:") as db:
        db.execute("CREATE TABLE messages (text TEXT)")
        db.execute("INSERT INTO messages VALUES (?)", (text,))
        return db.execute("SELECT text FROM messages").fetchone()[0]


# --- valid Unicode ------------------------------------------------------------------------------


def test_a_lone_surrogate_could_not_be_stored_before():
    with pytest.raises(UnicodeEncodeError):
        stored_in_sqlite("broken emoji \ud83d here")


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("broken emoji \ud83d here", "broken emoji \ufffd here"),  # high surrogate alone
        ("\ude00 at the start", "\ufffd at the start"),  # low surrogate alone
        ("ends with \udbff", "ends with \ufffd"),
        ("split pair \ud83d\ude00 ok", "split pair 😀 ok"),  # a pair left as two code points is the emoji
        ("\udc00\ud800", "\ufffd\ufffd"),  # the wrong way round: two lone ones
    ],
)
def test_surrogates_become_the_replacement_character_and_the_message_is_stored(raw, expected):
    assert storable(raw, LIMIT) == expected
    assert stored_in_sqlite(storable(raw, LIMIT)) == expected


# --- control characters -----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("\x1b[2J\x1b[Hwhere is my order", "where is my order"),  # clear screen, cursor home
        ("\x1b[31;1mREFUND\x1b[0m now", "REFUND now"),  # recolouring
        ("\x9b2Jhi", "hi"),  # the 8-bit CSI
        ("ring\x07ring\x07", "ringring"),
        ("nul\x00 and backspace\x08 and del\x7f", "nul and backspace and del"),
        ("C1 \x85\x90\x9f gone", "C1  gone"),
        ("\x1b]0;pwned\x07title", "]0;pwnedtitle"),  # other escapes: the controls go, the text stays
        ("two\nlines", "two\nlines"),
        ("windows\r\nline\rbreaks", "windows\nline\nbreaks"),
        ("a\tb", "a b"),
        ("\x0bvertical\x0cfeed", "verticalfeed"),
    ],
)
def test_control_characters_are_stripped_and_newlines_kept(raw, expected):
    assert storable(raw, LIMIT) == expected


def test_controls_are_stripped_before_redaction_so_they_cannot_hide_a_card():
    assert storable("card 4111\x071111\x071111\x071111", LIMIT) == f"card {CARD}"
    assert storable("jane\x1b[0m.doe@example.com", LIMIT) == EMAIL


# --- redacted, then capped ---------------------------------------------------------------------


def test_personal_data_is_redacted_and_the_rest_is_kept_as_written():
    raw = "Ｈｉ\u00a0there, card\u00a04111\u00a01111\u00a01111\u00a01111 and jane.doe@example.com 😊"
    assert storable(raw, LIMIT) == f"Ｈｉ\u00a0there, card\u00a0{CARD} and {EMAIL} 😊"


@pytest.mark.parametrize(
    "pii",
    ["4111 1111 1111 1111", "+44 7700 900123", "13812345678", "jane.doe@example.com", "GB82 WEST 1234 5698 7654 32"],
)
def test_personal_data_across_the_cut_is_never_kept_in_part(pii):
    head = "please help with my order, it is late. "
    text = head + pii + " thanks"
    whole = redact(text)
    for limit in range(len(head) - 2, len(text) + 2):
        out = storable(text, limit)
        assert len(out) <= limit
        assert whole.startswith(out)  # a prefix of the redacted text: nothing of the data in clear
        assert not any(out.endswith(p[:k]) for p in PLACEHOLDERS for k in range(1, len(p)))  # no "<CA"
    assert storable(text, len(head) + 3) == head  # no room for the placeholder: left out whole


def test_redaction_happens_before_truncation_at_max_chars():
    text = "x" * 1988 + " 4111 1111 1111 1111"
    assert redact(text[:2000]).endswith(" 4111 1111 1")  # what truncating, then redacting stored
    assert storable(text, 2000) == "x" * 1988 + " " + CARD


def test_a_long_message_whose_redaction_is_much_shorter_is_still_cut_safely():
    # each line shrinks from 43 to 16 characters, so the first LIMIT characters of the redacted
    # text come from much further into the raw text than LIMIT
    line = "mail jane.doe.from.the.shop@example.com ok\n"
    assert len(line) == 43 and len(redact(line)) == 16
    text = line * 200 + "call +44 7700 900123"
    out = storable(text, LIMIT)
    assert redact(text).startswith(out) and LIMIT - 16 < len(out) <= LIMIT
    assert storable(line * 10 + "call +44 7700 900123", LIMIT).endswith(f"call {PHONE}")


# --- properties -------------------------------------------------------------------------------

any_text = st.text(alphabet=st.characters(codec=None, exclude_categories=()), max_size=120)  # surrogates too
with_pii = st.lists(
    st.one_of(any_text, st.sampled_from(["4111 1111 1111 1111", "+44 7700 900123", "a@b.cn", "\x1b[2J", "\ud83d", "\t"])),
    max_size=6,
).map("".join)


@given(with_pii, st.integers(min_value=0, max_value=80))
def test_any_input_becomes_storable_text_within_the_limit(raw, limit):
    out = storable(raw, limit)
    assert len(out) <= limit
    out.encode("utf-8")  # never raises: every character is encodable
    assert not [c for c in out if (ord(c) < 0x20 and c != "\n") or 0x7F <= ord(c) <= 0x9F]


@given(with_pii, st.integers(min_value=1, max_value=80))
def test_storing_stored_text_again_changes_nothing(raw, limit):
    once = storable(raw, limit)
    assert storable(once, limit) == once
