"""The /start link from the shop (bot/account_link.py): only the shop's own, unexpired, unused tokens link."""

from __future__ import annotations

import pytest

from bot.account_link import MAX_VALIDITY, LinkRefused, LinkToken, make_token, read_token

SECRET = b"link-test-secret"
NOW = 1_800_000_000


def token(account: str = "weizhang", expires: int = NOW + 600, secret: bytes = SECRET) -> str:
    return make_token(secret, account, expires)


@pytest.mark.parametrize("text", ["", "weizhang", "wei.zhang_1800000600_" + "A" * 24, "x" * 64,
                                  token().replace("_", "-", 1), token() + "A"])
def test_a_start_payload_that_is_no_link_token_is_malformed(text):
    assert read_token(SECRET, text, NOW) is LinkRefused.MALFORMED


@pytest.mark.parametrize("text", [token(secret=b"another-secret"), token().replace("weizhang", "vera", 1),
                                  token().replace("1800000600", "1800000700", 1)])
def test_a_token_not_signed_by_the_shop_or_altered_is_forged(text):
    assert read_token(SECRET, text, NOW) is LinkRefused.FORGED


@pytest.mark.parametrize("expires", [NOW, NOW - 1, NOW + MAX_VALIDITY + 1])
def test_a_token_past_its_expiry_or_claiming_more_than_a_day_is_expired(expires):
    assert read_token(SECRET, token(expires=expires), NOW) is LinkRefused.EXPIRED


def test_a_good_token_names_the_account_and_keeps_only_a_digest():
    text = token()
    read = read_token(SECRET, f"  {text} ", NOW)
    assert isinstance(read, LinkToken) and (read.account, read.expires) == ("weizhang", NOW + 600)
    assert text not in read.digest and len(text) <= 64  # Telegram's limit for a start parameter


@pytest.mark.parametrize("account", ["", "wei.zhang", "x" * 25, "张伟"])
def test_an_account_reference_a_link_cannot_carry_is_refused_when_making_one(account):
    with pytest.raises(ValueError, match="1 to 24 letters and digits"):
        make_token(SECRET, account, NOW + 600)
