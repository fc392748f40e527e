"""Load and validate the starter domain: intents, their examples and responses, and the gold set.

A broken data file must stop training with a message that names the file and the intent
(and the line, for syntax errors), not with a KeyError deep inside Keras.
"""

from __future__ import annotations

import tomllib
from dataclasses import dataclass
from pathlib import Path

from training.tokenize import tokenize

LANGUAGES = ("en", "zh")
OUT_OF_SCOPE = "out_of_scope"


class DomainError(ValueError):
    """Invalid domain data; the message says which file and intent."""


@dataclass(frozen=True)
class Intent:
    name: str
    title: dict[str, str]
    response: dict[str, str]
    examples: dict[str, list[str]]


@dataclass(frozen=True)
class Example:
    text: str
    intent: str
    language: str


@dataclass(frozen=True)
class Domain:
    intents: dict[str, Intent]
    gold: list[Example]
    messages: dict[str, dict[str, str]]

    @property
    def names(self) -> list[str]:
        return sorted(self.intents)

    def training_examples(self) -> list[Example]:
        return [
            Example(text, intent.name, lang)
            for intent in self.intents.values()
            for lang in LANGUAGES
            for text in intent.examples[lang]
        ]

    def message(self, key: str, language: str) -> str:
        return self.messages[key][language]


def _read_toml(path: Path) -> dict:
    try:
        with path.open("rb") as fh:
            return tomllib.load(fh)
    except tomllib.TOMLDecodeError as exc:  # carries "(at line N, column M)"
        raise DomainError(f"{path}: {exc}") from None


def _per_language(path: Path, table: dict, key: str, kind: type) -> dict:
    value = table.get(key)
    if not isinstance(value, dict):
        raise DomainError(f"{path}: missing table [{key}] with keys {', '.join(LANGUAGES)}")
    for lang in LANGUAGES:
        item = value.get(lang)
        if kind is str and not (isinstance(item, str) and item.strip()):
            raise DomainError(f"{path}: [{key}] {lang} must be a non-empty string")
        if kind is list and not (isinstance(item, list) and all(isinstance(t, str) and t.strip() for t in item)):
            raise DomainError(f"{path}: [{key}] {lang} must be a list of non-empty strings")
    return {lang: value[lang] for lang in LANGUAGES}


def _check_examples(path: Path, intent: str, examples: dict[str, list[str]]) -> None:
    """Every example must have words the model can read, and say something new."""
    seen: dict[tuple[str, ...], str] = {}
    for lang in LANGUAGES:
        for text in examples[lang]:
            key = tuple(tokenize(text))
            if not key:
                raise DomainError(f"{path}: intent {intent!r}: {text!r} has no words or characters the model can read")
            if key in seen:
                raise DomainError(f"{path}: intent {intent!r}: {text!r} duplicates {seen[key]!r}")
            seen[key] = text


def load_intent(path: Path, min_examples: int = 1) -> Intent:
    raw = _read_toml(path)
    name = path.stem
    examples = _per_language(path, raw, "examples", list)
    for lang, texts in examples.items():
        if len(texts) < min_examples:
            raise DomainError(f"{path}: intent {name!r} has {len(texts)} {lang} examples, needs {min_examples}")
    _check_examples(path, name, examples)
    return Intent(
        name=name,
        title=_per_language(path, raw, "title", str),
        response=_per_language(path, raw, "response", str),
        examples=examples,
    )


def load_gold(gold_dir: Path, intents: dict[str, Intent]) -> list[Example]:
    """The fixed test set; it must never overlap the training examples."""
    trained = {tuple(tokenize(e)) for i in intents.values() for lang in LANGUAGES for e in i.examples[lang]}
    gold: list[Example] = []
    for path in sorted(gold_dir.glob("*.toml")):
        if path.stem not in intents:
            raise DomainError(f"{path}: gold file for unknown intent {path.stem!r}")
        examples = _per_language(path, _read_toml(path), "examples", list)
        _check_examples(path, path.stem, examples)
        for lang, texts in examples.items():
            for text in texts:
                if tuple(tokenize(text)) in trained:
                    raise DomainError(f"{path}: gold example {text!r} is also a training example")
                gold.append(Example(text, path.stem, lang))
    return gold


def load_messages(path: Path) -> dict[str, dict[str, str]]:
    raw = _read_toml(path)
    return {key: _per_language(path, raw, key, str) for key in raw}


def load_domain(data_dir: Path, min_examples: int = 1) -> Domain:
    intent_dir = data_dir / "intents"
    paths = sorted(intent_dir.glob("*.toml"))
    if not paths:
        raise DomainError(f"{intent_dir}: no intent files (*.toml)")
    intents = {p.stem: load_intent(p, min_examples) for p in paths}
    if OUT_OF_SCOPE not in intents:
        raise DomainError(f"{intent_dir}: missing {OUT_OF_SCOPE}.toml, the fallback class")
    return Domain(intents, load_gold(data_dir / "gold", intents), load_messages(data_dir / "messages.toml"))
