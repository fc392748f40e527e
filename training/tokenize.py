"""The one tokeniser shared by training and serving, in pure Python.

Training and the bot must turn a message into exactly the same ids, so both call
`Encoder.encode`; nothing else tokenises. Latin text splits into words, CJK text into
single characters (Chinese has no spaces), emoji are tokens of their own, long numbers collapse to one token so that
order numbers and prices do not flood the vocabulary, and redaction placeholders (<email>)
stay whole so the model learns from their presence.
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

_CJK = (
    "\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff"  # Han
    "\u3040-\u30ff"  # Hiragana, Katakana
    "\uac00-\ud7af"  # Hangul syllables
)
_EMOJI = "\U0001f300-\U0001faff\u2600-\u27bf"
_TOKEN = re.compile(rf"<[a-z]+>|[{_CJK}{_EMOJI}]|[^\W_{_CJK}]+(?:'[^\W_{_CJK}]+)*")
# Digit tokens of 3+ characters (order numbers, prices, dates) become one token; short ones
# stay themselves: "2" pairs, "88" (Chinese chat slang for bye-bye).
_LONG_NUMBERISH = re.compile(r"(?=.*\d).{3,}")
_CJK_CHAR = re.compile(rf"[{_CJK}]")


def tokenize(text: str) -> list[str]:
    """NFKC, lower-case, punctuation dropped; words for Latin script, characters for CJK."""
    text = unicodedata.normalize("NFKC", text[:_MAX_SCAN_CHARS]).lower()
    return [NUMBER if _LONG_NUMBERISH.match(tok) else tok for tok in _TOKEN.findall(text)]


def language_of(text: str) -> str:
    """'zh' when the message contains Chinese characters, else 'en': the reply language."""
    return "zh" if _CJK_CHAR.search(text) else "en"


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
