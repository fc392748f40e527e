"""The one tokeniser shared by training and serving, in pure Python.

Training and the bot must turn a message into exactly the same ids, so both call
`Encoder.encode`; nothing else tokenises. Latin text splits into words, CJK text into
single characters (Chinese has no spaces), emoji are tokens of their own, long numbers collapse to one token so that
order numbers and prices do not flood the vocabulary, and redaction placeholders (<email>)
stay whole so the model learns from their presence. The same script ranges tell which language
a message is in (`language_of`) and whether the bot can read it at all (`supported_language`).
"""

from __future__ import annotations

import json
import re
import unicodedata
import zlib
from collections import Counter
from collections.abc import Iterable
from pathlib import Path

PAD, OOV = 0, 1
NUMBER = "<num>"
# Long inputs are cut before the regex runs: only the first tokens are ever used.
_MAX_SCAN_CHARS = 1000

_HAN = "\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff"
_KANA = "\u3040-\u30ff"  # Hiragana, Katakana
_HANGUL = "\uac00-\ud7af"  # Hangul syllables
_CJK = _HAN + _KANA + _HANGUL
_EMOJI = "\U0001f300-\U0001faff\u2600-\u27bf"
_PLACEHOLDER = "<[a-z]+>"  # redaction's <EMAIL>, <PHONE>..., matched after lower-casing
_TOKEN = re.compile(rf"{_PLACEHOLDER}|[{_CJK}{_EMOJI}]|[^\W_{_CJK}]+(?:'[^\W_{_CJK}]+)*")
# Digit tokens of 3+ characters (order numbers, prices, dates) become one token; short ones
# stay themselves: "2" pairs, "88" (Chinese chat slang for bye-bye).
_LONG_NUMBERISH = re.compile(r"(?=.*\d).{3,}")
_CJK_CHAR = re.compile(rf"[{_CJK}]")
_HAN_CHAR = re.compile(rf"[{_HAN}]")
_KANA_CHAR = re.compile(rf"[{_KANA}]")
_PLACEHOLDER_ANY_CASE = re.compile(_PLACEHOLDER, re.IGNORECASE)
# In the letter share a CJK character (one token) weighs as much as 2.5 Latin letters: an English
# word averages about five letters, a Chinese or Japanese word about two characters, and a Hangul
# block is two or three letters. Unweighted, "iPhone 15 Proのバッテリー" would count as English.
_CJK_WEIGHT = 2.5


def tokenize(text: str) -> list[str]:
    """NFKC, lower-case, punctuation dropped; words for Latin script, characters for CJK."""
    text = unicodedata.normalize("NFKC", text[:_MAX_SCAN_CHARS]).lower()
    return [NUMBER if _LONG_NUMBERISH.match(tok) else tok for tok in _TOKEN.findall(text)]


def language_of(text: str) -> str:
    """'zh' when the message contains Chinese characters, else 'en': the reply language."""
    return "zh" if _CJK_CHAR.search(text) else "en"


def supported_language(text: str, hint: str | None = None) -> str | None:
    """'en' or 'zh' for a message the bot can read, None for a language it does not speak.

    Decided by script, by the share of letters, so a Chinese sentence with an English product
    name, or an English one with a Russian word, stays readable. Kana mean Japanese (its kanji
    then count as Japanese too), Hangul Korean; every other script that is neither Latin nor Han
    (Cyrillic, Arabic, Hebrew, Greek, Thai, Devanagari, ...) is one we cannot read. Latin letters
    count as English: Spanish or French look the same by script, and we cannot tell them apart
    here. Agrees with `language_of` on readable text without kana or Hangul (any Han -> 'zh').
    Text without letters (emoji, digits, redaction placeholders, which are ours, not the
    customer's) goes by the channel's hint (a Telegram language_code), else English.
    """
    text = _PLACEHOLDER_ANY_CASE.sub(" ", text)
    ascii_letters = sum(ch.isascii() and ch.isalpha() for ch in text)  # the common case, quickly
    letters = [ch for ch in text if not ch.isascii() and unicodedata.category(ch).startswith("L")]
    if not letters and not ascii_letters:
        return "zh" if hint and hint.lower().startswith("zh") else "en"
    japanese = any(_KANA_CHAR.match(ch) for ch in letters)
    han, readable, unreadable = 0.0, float(ascii_letters), 0.0
    for ch in letters:
        weight = _CJK_WEIGHT if _CJK_CHAR.match(ch) else 1.0
        if _HAN_CHAR.match(ch) and not japanese:
            han += weight
        elif "LATIN" in unicodedata.name(ch, "").split():  # also full-width; English or Spanish alike
            readable += weight
        else:
            unreadable += weight
    if unreadable > han + readable:
        return None
    return "zh" if han else "en"


def ngrams(tokens: list[str]) -> list[str]:
    """Bag-of-features view: the tokens, char 3-5-grams of each word, and adjacent-token pairs.

    Character n-grams make the model robust to typos and unseen inflections; token pairs give
    Chinese its words (two adjacent characters) and English its short phrases.
    """
    grams = ["<s>", *tokens]  # "<s>" is never empty: the average over n-grams is always defined
    for tok in tokens:
        if len(tok) > 2 and not tok.startswith("<"):
            marked = f"<{tok}>"
            grams += [marked[i : i + n] for n in (3, 4, 5) for i in range(len(marked) - n + 1)]
    grams += [f"{a} {b}" for a, b in zip(tokens, tokens[1:])]
    return list(dict.fromkeys(grams))


class Encoder:
    """Text -> the model's two inputs: token ids and hashed n-gram ids, both fixed length.

    Built at training time (the token vocabulary) and saved with the model. N-grams are hashed
    with CRC-32, which is stable across processes (Python's hash() is salted per process).
    """

    def __init__(self, tokens: list[str], max_len: int, ngram_buckets: int, max_ngrams: int) -> None:
        self.tokens = tokens
        self.max_len = max_len
        self.ngram_buckets = ngram_buckets
        self.max_ngrams = max_ngrams
        self._ids = {tok: i for i, tok in enumerate(tokens)}

    @classmethod
    def build(cls, texts: Iterable[str], max_size: int, max_len: int, ngram_buckets: int, max_ngrams: int) -> Encoder:
        counts = Counter(tok for text in texts for tok in tokenize(text))
        ranked = sorted(counts, key=lambda tok: (-counts[tok], tok))
        return cls(["<pad>", "<oov>", *ranked[: max_size - 2]], max_len, ngram_buckets, max_ngrams)

    def __len__(self) -> int:
        return len(self.tokens)

    def encode(self, text: str) -> tuple[list[int], list[int]]:
        """(token ids, n-gram ids): unknown tokens -> OOV, truncated, padded with PAD at the end."""
        tokens = tokenize(text)
        # Never all padding: a text with no tokens, or one spelling the marker ("<PAD>"), is unknown
        # words; an all-padding sequence makes the masked LSTM return NaN.
        ids = [self._ids.get(tok, OOV) or OOV for tok in tokens[: self.max_len]] or [OOV]
        grams = [zlib.crc32(g.encode()) % (self.ngram_buckets - 1) + 1 for g in ngrams(tokens)[: self.max_ngrams]]
        return ids + [PAD] * (self.max_len - len(ids)), grams + [PAD] * (self.max_ngrams - len(grams))

    def save(self, path: Path) -> None:
        settings = {"max_len": self.max_len, "ngram_buckets": self.ngram_buckets, "max_ngrams": self.max_ngrams}
        path.write_text(json.dumps({**settings, "tokens": self.tokens}, ensure_ascii=False))

    @classmethod
    def load(cls, path: Path) -> Encoder:
        data = json.loads(path.read_text())
        return cls(data["tokens"], data["max_len"], data["ngram_buckets"], data["max_ngrams"])
