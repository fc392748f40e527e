"""Message text as Telegram stores it: markup parsed into entities, whitespace trimmed, and
commands, mentions, hashtags, links and e-mails detected. Offsets count UTF-16 code units.

A bot that escapes HTML wrongly, or forgets a MarkdownV2 escape, gets the same
"can't parse entities" error here as from Telegram, and tests read the text a customer sees.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

from .errors import ApiError, bad_request

MAX_TEXT = 4096
MAX_CAPTION = 1024
_BLOCKING = frozenset({"code", "pre", "text_link", "text_mention", "url", "email", "bot_command", "mention", "hashtag"})
_AUTO: list[tuple[str, re.Pattern[str]]] = [
    ("url", re.compile(r"(?<![\w@/.])(?:https?://|www\.)[^\s<>\"]+", re.IGNORECASE)),
    ("email", re.compile(r"(?<![\w.+-])[\w.+-]+@[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)*\.[A-Za-z]{2,}")),
    ("bot_command", re.compile(r"(?<![\w/<>])/[A-Za-z0-9_]{1,64}(?:@[A-Za-z0-9_]{3,32})?(?![\w/<>])")),
    ("mention", re.compile(r"(?<![\w@])@[A-Za-z0-9_]{3,32}(?![\w@])")),
    ("hashtag", re.compile(r"(?<![\w#])#\w*[^\W\d]\w*")),
]
_URL_TAIL = ".,;:!?)]'\""


class ParseError(Exception):
    """Malformed markup; Telegram answers 400 "can't parse entities: ..."."""


def utf16_len(text: str) -> int:
    return len(text.encode("utf-16-le")) // 2


def entity_text(text: str, entity: dict[str, Any]) -> str:
    """The part of `text` an entity covers (offsets are UTF-16)."""
    encoded = text.encode("utf-16-le")
    return encoded[2 * entity["offset"]:2 * (entity["offset"] + entity["length"])].decode("utf-16-le")


def format_text(text: Any, parse_mode: str | None, entities: list[Any] | None) -> tuple[str, list[dict[str, Any]]]:
    """Plain text and its sorted entities; explicit `entities` win over `parse_mode`, as on Telegram."""
    source = "" if text is None else str(text)
    try:
        if entities is not None:
            plain, found = source, _explicit_entities(source, entities)
        else:
            plain, found = parse_markup(source, parse_mode)
    except ParseError as exc:
        raise bad_request(f"can't parse entities: {exc}") from None
    plain, found = _trim(plain, found)
    found += detect_entities(plain, found)
    return plain, sorted(found, key=lambda e: (e["offset"], -e["length"]))


def parse_markup(text: str, parse_mode: str | None) -> tuple[str, list[dict[str, Any]]]:
    mode = (parse_mode or "").lower()
    if not mode:
        return text, []
    parsers = {"html": parse_html, "markdownv2": parse_markdown_v2, "markdown": parse_markdown}
    if mode not in parsers:
        raise bad_request("unsupported parse_mode")
    return parsers[mode](text)


def detect_entities(text: str, existing: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Entities Telegram finds by itself in every message, outside code and links."""
    offsets = _utf16_offsets(text)
    taken = [(e["offset"], e["offset"] + e["length"]) for e in existing if e["type"] in _BLOCKING]
    found: list[dict[str, Any]] = []
    for kind, pattern in _AUTO:
        for match in pattern.finditer(text):
            end = match.end()
            if kind == "url":
                end -= len(match.group()) - len(match.group().rstrip(_URL_TAIL))
            start16, end16 = offsets[match.start()], offsets[end]
            if any(start16 < t_end and t_start < end16 for t_start, t_end in taken):
                continue
            taken.append((start16, end16))
            found.append({"type": kind, "offset": start16, "length": end16 - start16})
    return found


def _utf16_offsets(text: str) -> list[int]:
    offsets = [0]
    for ch in text:
        offsets.append(offsets[-1] + (2 if ord(ch) > 0xFFFF else 1))
    return offsets


def _byte_offset(text: str, index: int) -> int:
    return len(text[:index].encode())


def _trim(text: str, entities: list[dict[str, Any]]) -> tuple[str, list[dict[str, Any]]]:
    """Telegram drops leading and trailing whitespace; entities shift and shrink with it."""
    stripped = text.strip()
    if stripped == text:
        return text, entities
    lead = utf16_len(text[: len(text) - len(text.lstrip())])
    size = utf16_len(stripped)
    kept = []
    for entity in entities:
        start = max(entity["offset"] - lead, 0)
        end = min(entity["offset"] + entity["length"] - lead, size)
        if end > start:
            kept.append({**entity, "offset": start, "length": end - start})
    return stripped, kept


def _explicit_entities(text: str, entities: list[Any]) -> list[dict[str, Any]]:
    size = utf16_len(text)
    kept = []
    for entity in entities:
        if not isinstance(entity, dict) or not isinstance(entity.get("type"), str):
            raise ParseError("entity must be an object with a type")
        offset, length = entity.get("offset"), entity.get("length")
        if not isinstance(offset, int) or not isinstance(length, int) or offset < 0 or length <= 0:
            raise ParseError("entity offset and length must be non-negative integers")
        end = min(offset + length, size)
        if end > offset:
            kept.append({**entity, "offset": offset, "length": end - offset})
    return kept


# --- shared builder --------------------------------------------------------------------------


@dataclass
class _Open:
    """A started entity waiting for its end."""

    marker: str
    type: str
    start: int
    byte_offset: int
    extra: dict[str, Any] = field(default_factory=dict)


class _Builder:
    """Plain text plus entities with UTF-16 offsets, built piece by piece."""

    def __init__(self) -> None:
        self.parts: list[str] = []
        self.pos = 0
        self.entities: list[dict[str, Any]] = []

    def add(self, piece: str) -> None:
        self.parts.append(piece)
        self.pos += utf16_len(piece)

    def close(self, opened: _Open) -> None:
        """Telegram keeps no empty entities."""
        if self.pos > opened.start:
            self.entities.append({"type": opened.type, "offset": opened.start, "length": self.pos - opened.start,
                                  **opened.extra})

    def result(self) -> tuple[str, list[dict[str, Any]]]:
        return "".join(self.parts), self.entities


# --- HTML ------------------------------------------------------------------------------------

_HTML_TYPES = {
    "b": "bold", "strong": "bold", "i": "italic", "em": "italic", "u": "underline", "ins": "underline",
    "s": "strikethrough", "strike": "strikethrough", "del": "strikethrough", "span": "spoiler",
    "tg-spoiler": "spoiler", "a": "text_link", "code": "code", "pre": "pre", "blockquote": "blockquote",
    "tg-emoji": "custom_emoji",
}
_HTML_TAG = re.compile(r"<(/?)([a-zA-Z][a-zA-Z0-9-]*)((?:[^>\"']|\"[^\"]*\"|'[^']*')*)>")
_HTML_ATTR = re.compile(r"([a-zA-Z-]+)\s*=\s*(?:\"([^\"]*)\"|'([^']*)'|([^\s\"'>]+))")
_HTML_REF = re.compile(r"&(?:#[xX]([0-9a-fA-F]{1,6})|#([0-9]{1,7})|(lt|gt|amp|quot));")
_HTML_NAMED = {"lt": "<", "gt": ">", "amp": "&", "quot": '"'}
_HTML_SPECIAL = re.compile(r"[<&]")


def parse_html(source: str) -> tuple[str, list[dict[str, Any]]]:
    builder, stack, i = _Builder(), [], 0
    while i < len(source):
        special = _HTML_SPECIAL.search(source, i)
        stop = special.start() if special else len(source)
        builder.add(source[i:stop])
        if stop == len(source):
            break
        i = _html_tag(source, stop, builder, stack) if source[stop] == "<" else _html_ref(source, stop, builder)
    if stack:
        raise ParseError(f'Can\'t find end tag corresponding to start tag "{stack[-1].marker}"')
    return builder.result()


def _html_ref(source: str, i: int, builder: _Builder) -> int:
    """Only &lt; &gt; &amp; &quot; and numeric references are decoded; others stay as text."""
    match = _HTML_REF.match(source, i)
    if not match:
        builder.add("&")
        return i + 1
    hex_code, dec_code, named = match.groups()
    builder.add(_HTML_NAMED[named] if named else chr(int(hex_code, 16) if hex_code else int(dec_code)))
    return match.end()


def _html_tag(source: str, i: int, builder: _Builder, stack: list[_Open]) -> int:
    match = _HTML_TAG.match(source, i)
    where = _byte_offset(source, i)
    if not match:
        raise ParseError(f"Unsupported start tag at byte offset {where}")
    closing, name, attributes = match.group(1) == "/", match.group(2).lower(), match.group(3)
    if closing:
        _html_close(name, where, builder, stack)
    else:
        stack.append(_html_open(name, attributes, where, builder.pos))
    return match.end()


def _html_open(name: str, attributes: str, where: int, pos: int) -> _Open:
    if name not in _HTML_TYPES:
        raise ParseError(f'Unsupported start tag "{name}" at byte offset {where}')
    attrs = {m.group(1).lower(): next(g for g in m.groups()[1:] if g is not None) for m in _HTML_ATTR.finditer(attributes)}
    kind, extra = _HTML_TYPES[name], {}
    if name == "span" and attrs.get("class") != "tg-spoiler":
        raise ParseError(f'Tag "span" must have class "tg-spoiler" at byte offset {where}')
    if name == "a":
        extra = {"url": attrs.get("href", "")}
    elif name == "code" and attrs.get("class", "").startswith("language-"):
        extra = {"language": attrs["class"][len("language-"):]}
    elif name == "blockquote" and "expandable" in attributes.split():
        kind = "expandable_blockquote"
    elif name == "tg-emoji":
        extra = {"custom_emoji_id": attrs.get("emoji-id", "")}
    return _Open(name, kind, pos, where, extra)


def _html_close(name: str, where: int, builder: _Builder, stack: list[_Open]) -> None:
    if not stack:
        raise ParseError(f'Unexpected end tag "{name}" at byte offset {where}')
    opened = stack.pop()
    if opened.marker != name:
        raise ParseError(f'Unmatched end tag at byte offset {where}, expected "</{opened.marker}>", found "</{name}>"')
    language = opened.extra.pop("language", None) if opened.type == "code" else None
    if language is not None and stack and stack[-1].marker == "pre":
        stack[-1].extra["language"] = language  # <pre><code class="language-x"> is one pre entity
        return
    if opened.type == "text_link" and not opened.extra.get("url"):
        return
    builder.close(opened)


# --- MarkdownV2 ------------------------------------------------------------------------------

_MD2_RESERVED = frozenset("_*[]()~`>#+-=|{}.!")
_MD2_DELIMITERS = [("||", "spoiler"), ("__", "underline"), ("*", "bold"), ("_", "italic"), ("~", "strikethrough")]


def parse_markdown_v2(source: str) -> tuple[str, list[dict[str, Any]]]:
    builder, stack, i = _Builder(), [], 0
    quote: _Open | None = None
    while i < len(source):
        ch = source[i]
        line_start = i == 0 or source[i - 1] == "\n"
        if ch == "\\" and i + 1 < len(source) and 0 < ord(source[i + 1]) < 127:
            builder.add(source[i + 1])
            i += 2
        elif ch == ">" and line_start:
            quote = quote or _Open(">", "blockquote", builder.pos, _byte_offset(source, i))
            i += 1
        elif ch == "\n" and quote is not None and not source.startswith(">", i + 1):
            builder.close(quote)
            quote = None
        elif source.startswith("```", i):
            i = _md2_block(source, i, builder, fence="```", kind="pre")
        elif ch == "`":
            i = _md2_block(source, i, builder, fence="`", kind="code")
        elif ch == "[":
            stack.append(_Open("[", "text_link", builder.pos, _byte_offset(source, i)))
            i += 1
        elif ch == "]" and stack and stack[-1].marker == "[":
            i = _md2_link_end(source, i, builder, stack.pop())
        else:
            i = _md2_delimiter(source, i, builder, stack)
            continue
        if ch == "\n":
            builder.add(ch)
            i += 1
    if quote is not None:
        builder.close(quote)
    if stack:
        raise ParseError(f"Can't find end of {_entity_name(stack[-1].type)} entity at byte offset {stack[-1].byte_offset}")
    return builder.result()


def _md2_delimiter(source: str, i: int, builder: _Builder, stack: list[_Open]) -> int:
    for marker, kind in _MD2_DELIMITERS:
        if source.startswith(marker, i):
            if stack and stack[-1].marker == marker:
                builder.close(stack.pop())
            elif any(o.marker == marker for o in stack):
                top = stack[-1]
                raise ParseError(f"Can't find end of {_entity_name(top.type)} entity at byte offset {top.byte_offset}")
            else:
                stack.append(_Open(marker, kind, builder.pos, _byte_offset(source, i)))
            return i + len(marker)
    ch = source[i]
    if ch in _MD2_RESERVED:
        raise ParseError(f"Character '{ch}' is reserved and must be escaped with the preceding '\\'")
    builder.add(ch)
    return i + 1


def _md2_block(source: str, i: int, builder: _Builder, fence: str, kind: str) -> int:
    """`code` and ```pre```: only \\ and ` are escaped inside; the first pre line may name a language."""
    start, j, text = builder.pos, i + len(fence), []
    while j < len(source) and not source.startswith(fence, j):
        if source[j] == "\\" and j + 1 < len(source):
            j += 1
        text.append(source[j])
        j += 1
    if j >= len(source):
        raise ParseError(f"Can't find end of {_entity_name(kind)} entity at byte offset {_byte_offset(source, i)}")
    body, extra = "".join(text), {}
    if kind == "pre" and "\n" in body and body.split("\n", 1)[0].strip() and " " not in body.split("\n", 1)[0]:
        language, body = body.split("\n", 1)
        extra = {"language": language}
    builder.add(body)
    builder.close(_Open(fence, kind, start, 0, extra))
    return j + len(fence)


def _md2_link_end(source: str, i: int, builder: _Builder, opened: _Open) -> int:
    if not source.startswith("(", i + 1):
        raise ParseError(f"Can't find end of a URL at byte offset {_byte_offset(source, i)}")
    j, url = i + 2, []
    while j < len(source) and source[j] != ")":
        if source[j] == "\\" and j + 1 < len(source):
            j += 1
        url.append(source[j])
        j += 1
    if j >= len(source):
        raise ParseError(f"Can't find end of a URL at byte offset {_byte_offset(source, i + 1)}")
    opened.extra = {"url": "".join(url)}
    builder.close(opened)
    return j + 1


def _entity_name(kind: str) -> str:
    return {"text_link": "TextUrl", "strikethrough": "Strikethrough"}.get(kind, kind.capitalize())


# --- legacy Markdown -------------------------------------------------------------------------


def parse_markdown(source: str) -> tuple[str, list[dict[str, Any]]]:
    """Legacy Markdown: *bold* _italic_ `code` ```pre``` [text](url), no nesting."""
    builder, i = _Builder(), 0
    while i < len(source):
        ch = source[i]
        if ch == "\\" and i + 1 < len(source) and source[i + 1] in "_*`[":
            builder.add(source[i + 1])
            i += 2
        elif ch in "*_`[":
            i = _markdown_entity(source, i, builder)
        else:
            builder.add(ch)
            i += 1
    return builder.result()


def _markdown_entity(source: str, i: int, builder: _Builder) -> int:
    fence = "```" if source.startswith("```", i) else source[i]
    closer = "]" if fence == "[" else fence
    end = source.find(closer, i + len(fence))
    if end < 0 or (fence == "[" and not source.startswith("(", end + 1)):
        raise ParseError(f"Can't find end of the entity starting at byte offset {_byte_offset(source, i)}")
    body, start, extra = source[i + len(fence):end], builder.pos, {}
    after = end + len(closer)
    if fence == "[":
        url_end = source.find(")", end + 2)
        if url_end < 0:
            raise ParseError(f"Can't find end of the entity starting at byte offset {_byte_offset(source, i)}")
        extra, after = {"url": source[end + 2:url_end]}, url_end + 1
    elif fence == "```" and "\n" in body and body.split("\n", 1)[0].strip():
        language, body = body.split("\n", 1)
        extra = {"language": language.strip()}
    kind = {"*": "bold", "_": "italic", "`": "code", "```": "pre", "[": "text_link"}[fence]
    builder.add(body)
    builder.close(_Open(fence, kind, start, 0, extra))
    return after


def text_error(kind: str, text: str, limit: int) -> ApiError | None:
    """The length errors of sendMessage and captions, checked after parsing as Telegram does."""
    if kind == "text" and not text:
        return bad_request("message text is empty")
    if len(text) > limit:
        return bad_request("message is too long" if kind == "text" else "message caption is too long")
    return None
