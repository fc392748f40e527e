"""Find e-mail addresses in normalised text (see textmap.py), written plainly or spelled out.

Each finder returns the (start, end) spans to redact, sorted and not overlapping.

Addresses may be internationalised (RFC 6531): `josé@example.com`, `用户@example.com`,
`张三@例子.中国`, so local parts and domain labels are any letters and digits, not only ASCII.
Chinese text is written without spaces, so "我的邮箱是abc@qq.com" glues words to the address:
where a local part changes between CJK and other characters, it starts at the last change. A
local part that is CJK through and through ("联系用户@...") is taken whole; that may take a word
with it, which costs less than keeping an address.

Spelled-out forms hide an address from scrapers: `john at gmail dot com`, `john[at]gmail[dot]com`,
`john (at) gmail.com`, `john @ gmail . com`, `jane dot doe at gmail dot com`. They need a known top-level domain at the end. A
bracketed "(at)" or a spaced "@" is an address whatever the domain. A plain " at " is also how
English names a place, so there the domain must be spelled out too ("dot com"), or be a mail
provider's ("john at gmail.com"), and the mailbox name must not be a word that usually comes
before "at": "bought it at amazon dot com" and "cheaper at ebay.com" are not addresses.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator

from training.textmap import Span

# The look-behind makes a match start only where a run of local-part characters starts. Without
# it, a long run of those characters with no "@" after it would be rescanned from every position.
# Right where an address ends, the next may start without it (see `_addresses`).
_RUN_START = r"(?<![\w.%+-])"
_LOCAL = r"[\w.%+-]+"
_LABEL = r"[^\W_](?:[\w-]{0,61}[^\W_])?"
# A top-level domain ends where letters end (a digit may follow: it is not part of the address).
_TLD = r"(?:[A-Za-z]{2,63}(?![A-Za-z-])|xn--[A-Za-z0-9-]{1,59}|[^\W\d_A-Za-z]{2,63})"
_EMAIL = rf"(?P<local>{_LOCAL})@(?:{_LABEL}\.)+{_TLD}"
_EMAIL_RE, _GLUED_EMAIL_RE = re.compile(_RUN_START + _EMAIL), re.compile(_EMAIL)

_CJK = re.compile(r"[\u3040-\u30ff\u3400-\u4dbf\u4e00-\u9fff\uac00-\ud7af\uf900-\ufaff]")

# --- spelled out ------------------------------------------------------------------------------
_AT = r"(?:(?P<bracketed>\s*[\[({<]\s*at\s*[\])}>]\s*|\s*@\s*)|\s+at\s+)"
_SPELLED_DOT = r"\s*[\[({<]\s*dot\s*[\])}>]\s*|\s+dot\s+"
_DOT = rf"(?:{_SPELLED_DOT}|\s*\.\s*)"
_SPELLED_TLDS = "com net org edu gov info biz io co cn uk de fr jp kr hk tw sg au ca nz ie nl es ru br mx ch se dk fi pl be eu"
_SPELLED = (
    rf"(?P<local>{_LOCAL}(?:(?:{_SPELLED_DOT})[\w%+-]+)*){_AT}(?P<domain>(?P<first>{_LABEL}){_DOT}(?:{_LABEL}{_DOT})*)"
    rf"(?:{'|'.join(_SPELLED_TLDS.split())})(?![^\W\d_]|-)"
)
_SPELLED_RE, _GLUED_SPELLED_RE = re.compile(_RUN_START + _SPELLED, re.IGNORECASE), re.compile(_SPELLED, re.IGNORECASE)
_SPELLED_DOT_RE = re.compile(_SPELLED_DOT, re.IGNORECASE)
_MAIL_PROVIDERS = frozenset(
    "gmail googlemail yahoo hotmail outlook live msn icloud me aol proton protonmail gmx web yandex mail "
    "qq 163 126 139 yeah sina sohu foxmail aliyun".split()
)
# Words that come before " at " in ordinary shop talk: never a mailbox name in a spelled-out address.
_NOT_A_MAILBOX = frozenset(
    """
    a an the it its this that these those them they he she him her his me my we us our you your i one
    all any anything something everything nothing here there where what which who now only just also
    is am are was were be been look looked looking looks see seen saw bought buy buying sold sell selling
    order ordered ordering available cheaper price prices priced listed shop shopped shopping stock
    arrive arrived arrives arriving deliver delivered items item stuff product products well good
    in up on off paid pay found got met
    """.split()
)


def find_emails(text: str) -> list[Span]:
    return [(_local_start(m), m.end()) for m in _addresses(text, _EMAIL_RE, _GLUED_EMAIL_RE, lambda m: True)]


def find_spelled_emails(text: str) -> list[Span]:
    def accepted(match: re.Match[str]) -> bool:
        local = text[_local_start(match) : match.end("local")]
        return match["bracketed"] is not None or _plain_at_is_an_address(local, match)

    return [(_local_start(m), m.end()) for m in _addresses(text, _SPELLED_RE, _GLUED_SPELLED_RE, accepted)]


def _addresses(
    text: str, anywhere: re.Pattern[str], glued: re.Pattern[str], accepted: Callable[[re.Match[str]], bool]
) -> Iterator[re.Match[str]]:
    """The accepted matches of `anywhere`, and of `glued` right where an accepted one ends.

    "a@b.cn0@c.cn": the second address starts inside a run of local-part characters, so the
    look-behind alone would refuse it, yet once the first is "<EMAIL>" it would not: taking it
    at once keeps "redacting twice changes nothing" true.
    """
    match = anywhere.search(text)
    while match:
        if accepted(match):
            yield match
            match = glued.match(text, match.end()) or anywhere.search(text, match.end())
        else:
            match = anywhere.search(text, match.end())


def _plain_at_is_an_address(local: str, match: re.Match[str]) -> bool:
    """`local at domain` names a mailbox, not a place (see the module docstring)."""
    if local.lower() in _NOT_A_MAILBOX:
        return False
    return _SPELLED_DOT_RE.search(match["domain"]) is not None or match["first"].lower() in _MAIL_PROVIDERS


def _local_start(match: re.Match[str]) -> int:
    """Where the local part starts: after the last change between CJK and other characters."""
    start, end = match.span("local")
    text = match.string
    cjk = _CJK.match(text, end - 1) is not None
    while end - 1 > start and (_CJK.match(text, end - 2) is not None) == cjk:
        end -= 1
    return end - 1
