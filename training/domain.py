"""Load and validate the starter domain: intents, their examples and responses, and the gold set.

A broken data file must stop training with a message that names the file and the intent
(and the line, for syntax errors), not with a KeyError deep inside Keras.

An intent may also declare what it needs to answer with the shop's live data: the slots it
`requires`, how each is filled (`[slots.NAME]`: the entity types that fill it, training/entities.py,
or "text" for the whole next message; `proof = true`: not asked of a customer who linked their
account; `choices`: an endpoint offering values as buttons) and asked for in each language, and the `[action]` that
calls the shop's endpoint and fills `[action.response]` with the fields it answers. They are
checked here, at load, so a typo stops the bot before a customer meets it; whether the endpoint
answers and its fields exist is `supportbot domain check`'s (training/domain_check.py).
"""

from __future__ import annotations

import string
import tomllib
from dataclasses import dataclass, field
from pathlib import Path

from training.entities import EntityPatterns, PatternError, load_patterns
from training.tokenize import tokenize

LANGUAGES = ("en", "zh")
OUT_OF_SCOPE = "out_of_scope"
TEXT = "text"  # a slot filled by the customer's whole next message (a product name)
SHOP_FIELDS = ("shop", "contact", "hours", "timezone")  # every response may name these ([shop] in config.toml)
ENTITIES_FILE = "entities.toml"


class DomainError(ValueError):
    """Invalid domain data; the message says which file and intent."""


@dataclass(frozen=True)
class Slot:
    name: str
    entity_types: tuple[str, ...]  # entity types that fill it, or TEXT
    question: dict[str, str]  # what the bot asks, per language
    pii: bool  # any accepted type is personal data: held in memory only, never stored
    proof: bool = False  # proves who is asking (an order's e-mail): not asked once the customer linked their account
    choices: str | None = None  # an endpoint offering values as buttons to a linked customer (their recent orders)


@dataclass(frozen=True)
class ActionSpec:
    endpoint: str  # a name in config.toml [actions.endpoints]
    idempotent: bool  # a lookup, so a failed call may be retried
    response: dict[str, str]  # per language, a template over the endpoint's fields, slots and SHOP_FIELDS
    fields: tuple[str, ...] = ()  # the fields the endpoint answers with, if declared: `domain check` checks templates


@dataclass(frozen=True)
class Intent:
    name: str
    title: dict[str, str]
    response: dict[str, str]  # the static answer; also the answer when the action fails or is not configured
    examples: dict[str, list[str]]
    requires: tuple[str, ...] = ()  # slots needed before the action runs, asked for in this order
    slots: dict[str, Slot] = field(default_factory=dict)
    action: ActionSpec | None = None


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
    patterns: EntityPatterns = field(default_factory=EntityPatterns)

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


def _per_language(path: Path, table: dict, key: str, kind: type, label: str | None = None) -> dict:
    label = label or f"[{key}]"
    value = table.get(key)
    if not isinstance(value, dict):
        raise DomainError(f"{path}: missing table {label} with keys {', '.join(LANGUAGES)}")
    return _languages(path, label, value, kind)


def _languages(path: Path, label: str, value: dict, kind: type) -> dict:
    for lang in LANGUAGES:
        item = value.get(lang)
        if kind is str and not (isinstance(item, str) and item.strip()):
            raise DomainError(f"{path}: {label} {lang} must be a non-empty string")
        if kind is list and not (isinstance(item, list) and all(isinstance(t, str) and t.strip() for t in item)):
            raise DomainError(f"{path}: {label} {lang} must be a list of non-empty strings")
    return {lang: value[lang] for lang in LANGUAGES}


def template_fields(template: str) -> tuple[str, ...]:
    """The fields a response template names, in order; ValueError unless each is a plain {name}.

    Plain names only: "{order.id}" or "{items[0]}" would reach into the endpoint's values, and a
    format spec ("{amount:.2f}") fails on the strings an endpoint sends.
    """
    names = []
    for _literal, name, spec, conversion in string.Formatter().parse(template):
        if name is None:
            continue
        if not name.isidentifier() or spec or conversion:
            raise ValueError(f"{{{name}{'!' + conversion if conversion else ''}{':' + spec if spec else ''}}} "
                             "is not a plain {name} field (use {{ and }} for braces)")
        names.append(name)
    return tuple(names)


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


def load_intent(path: Path, min_examples: int = 1, patterns: EntityPatterns | None = None) -> Intent:
    raw = _read_toml(path)
    name = path.stem
    examples = _per_language(path, raw, "examples", list)
    for lang, texts in examples.items():
        if len(texts) < min_examples:
            raise DomainError(f"{path}: intent {name!r} has {len(texts)} {lang} examples, needs {min_examples}")
    _check_examples(path, name, examples)
    requires = _requires(path, raw)
    action = _action(path, raw)
    if requires and action is None:
        raise DomainError(f"{path}: requires {list(requires)} but declares no [action] to use them")
    return Intent(
        name=name,
        title=_per_language(path, raw, "title", str),
        response=_per_language(path, raw, "response", str),
        examples=examples,
        requires=requires,
        slots=_slots(path, raw, requires, (patterns or EntityPatterns()).types),
        action=action,
    )


def _requires(path: Path, raw: dict) -> tuple[str, ...]:
    requires = raw.get("requires", [])
    if not (isinstance(requires, list) and all(isinstance(s, str) and s.isidentifier() for s in requires)):
        raise DomainError(f"{path}: requires must be a list of slot names")
    if len(set(requires)) < len(requires):
        raise DomainError(f"{path}: requires names a slot twice")
    return tuple(requires)


def _slots(path: Path, raw: dict, requires: tuple[str, ...], types: dict[str, bool]) -> dict[str, Slot]:
    """Each required slot's [slots.NAME]; a declared slot that nothing requires is a mistake too."""
    tables = raw.get("slots", {})
    if not isinstance(tables, dict):
        raise DomainError(f"{path}: slots must be tables [slots.NAME]")
    for name in requires:
        if not isinstance(tables.get(name), dict):
            raise DomainError(f"{path}: requires {name!r} but has no table [slots.{name}]")
    for name in tables:
        if name not in requires:
            raise DomainError(f"{path}: [slots.{name}] is declared but not in requires")
    return {name: _slot(path, name, tables[name], types) for name in requires}


def _slot(path: Path, name: str, table: dict, types: dict[str, bool]) -> Slot:
    label = f"[slots.{name}]"
    unknown = set(table) - {"entity", "proof", "choices", *LANGUAGES}
    if unknown:
        raise DomainError(f"{path}: {label} unknown key {sorted(unknown)[0]!r} "
                          f"(known: entity, proof, choices, {', '.join(LANGUAGES)})")
    accepted = table.get("entity")
    if not (isinstance(accepted, list) and accepted and all(isinstance(t, str) for t in accepted)):
        raise DomainError(f"{path}: {label} entity must be a non-empty list of entity types")
    for kind in accepted:
        if kind != TEXT and kind not in types:
            known = ", ".join([*types, TEXT])
            raise DomainError(f"{path}: {label} unknown entity type {kind!r} (known: {known}; add patterns in {ENTITIES_FILE})")
    question = _languages(path, label, table, str)
    proof, choices = table.get("proof", False), table.get("choices")
    if not isinstance(proof, bool):
        raise DomainError(f"{path}: {label} proof must be true or false")
    if choices is not None and not (isinstance(choices, str) and choices):
        raise DomainError(f"{path}: {label} choices must name an endpoint of config.toml [actions.endpoints]")
    return Slot(name, tuple(accepted), question, any(types.get(kind, False) for kind in accepted), proof, choices)


def _action(path: Path, raw: dict) -> ActionSpec | None:
    table = raw.get("action")
    if table is None:
        return None
    if not isinstance(table, dict):
        raise DomainError(f"{path}: action must be a table [action]")
    unknown = set(table) - {"endpoint", "idempotent", "response", "fields"}
    if unknown:
        raise DomainError(f"{path}: [action] unknown key {sorted(unknown)[0]!r} (known: endpoint, idempotent, response, fields)")
    endpoint = table.get("endpoint")
    if not (isinstance(endpoint, str) and endpoint.isidentifier()):
        raise DomainError(f"{path}: [action] endpoint must be a name from config.toml [actions.endpoints]")
    idempotent = table.get("idempotent", False)
    if not isinstance(idempotent, bool):
        raise DomainError(f"{path}: [action] idempotent must be true or false")
    fields = table.get("fields", [])
    if not (isinstance(fields, list) and all(isinstance(f, str) and f.isidentifier() for f in fields)):
        raise DomainError(f"{path}: [action] fields must be a list of field names")
    response = _per_language(path, table, "response", str, "[action.response]")
    for lang, template in response.items():
        try:
            template_fields(template)
        except ValueError as exc:
            raise DomainError(f"{path}: [action.response] {lang}: {exc}") from None
    return ActionSpec(endpoint, idempotent, response, tuple(fields))


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
    patterns = _patterns(data_dir / ENTITIES_FILE)
    intents = {p.stem: load_intent(p, min_examples, patterns) for p in paths}
    if OUT_OF_SCOPE not in intents:
        raise DomainError(f"{intent_dir}: missing {OUT_OF_SCOPE}.toml, the fallback class")
    gold = load_gold(data_dir / "gold", intents)
    return Domain(intents, gold, load_messages(data_dir / "messages.toml"), patterns)


def _patterns(path: Path) -> EntityPatterns:
    """The shop's entity patterns; without the file, only the built-in types (no order numbers)."""
    if not path.exists():
        return EntityPatterns()
    try:
        return load_patterns(path)
    except PatternError as exc:
        raise DomainError(str(exc)) from None
