"""The starter domain as shipped, and the loader's errors on broken files."""

from pathlib import Path

import pytest

from tests.conftest import DATA
from training.domain import LANGUAGES, OUT_OF_SCOPE, DomainError, load_domain
from training.tokenize import tokenize


@pytest.fixture(scope="module")
def domain():
    return load_domain(DATA)


def test_starter_domain_meets_the_size_bar(domain):
    in_scope = [i for i in domain.intents.values() if i.name != OUT_OF_SCOPE]
    assert len(in_scope) >= 25
    for intent in in_scope:
        for lang in LANGUAGES:
            assert len(intent.examples[lang]) >= 40, (intent.name, lang)
    for lang in LANGUAGES:
        assert len(domain.intents[OUT_OF_SCOPE].examples[lang]) >= 150


def test_gold_set_covers_every_intent_in_both_languages(domain):
    for name in domain.intents:
        for lang in LANGUAGES:
            n = sum(1 for e in domain.gold if e.intent == name and e.language == lang)
            assert n >= 8, (name, lang, n)


def test_gold_never_overlaps_training(domain):
    trained = {tuple(tokenize(e.text)) for e in domain.training_examples()}
    assert not [e.text for e in domain.gold if tuple(tokenize(e.text)) in trained]


def test_every_intent_has_titles_and_responses_in_both_languages(domain):
    for intent in domain.intents.values():
        for lang in LANGUAGES:
            assert intent.title[lang].strip() and intent.response[lang].strip()
    assert set(domain.messages["did_you_mean"]) == set(LANGUAGES)


def _mini(tmp_path: Path, intent_body: str, gold_body: str = '[examples]\nen = ["x y"]\nzh = ["好"]\n') -> Path:
    for sub in ("intents", "gold"):
        (tmp_path / sub).mkdir()
    (tmp_path / "messages.toml").write_text('[empty]\nen = "e"\nzh = "空"\n')
    (tmp_path / "intents" / "out_of_scope.toml").write_text(
        '[title]\nen = "t"\nzh = "t"\n[response]\nen = "r"\nzh = "r"\n[examples]\nen = ["a b"]\nzh = ["天气"]\n'
    )
    (tmp_path / "intents" / "greet.toml").write_text(intent_body)
    (tmp_path / "gold" / "greet.toml").write_text(gold_body)
    return tmp_path


GOOD = '[title]\nen = "Hi"\nzh = "你好"\n[response]\nen = "Hello"\nzh = "您好"\n[examples]\nen = ["hi there"]\nzh = ["你好呀"]\n'


def test_a_valid_mini_domain_loads(tmp_path):
    domain = load_domain(_mini(tmp_path, GOOD))
    assert domain.names == ["greet", "out_of_scope"]
    assert [e.text for e in domain.gold if e.intent == "greet"] == ["x y", "好"]


def test_syntax_error_names_file_and_line(tmp_path):
    with pytest.raises(DomainError, match=r"greet\.toml.*line 3"):
        load_domain(_mini(tmp_path, '[title]\nen = "Hi"\nzh = "unterminated\n'))


def test_missing_language_names_file_and_table(tmp_path):
    body = GOOD.replace('zh = "您好"\n', "")
    with pytest.raises(DomainError, match=r"greet\.toml: \[response\] zh must be a non-empty string"):
        load_domain(_mini(tmp_path, body))


def test_duplicate_example_names_the_intent(tmp_path):
    body = GOOD.replace('en = ["hi there"]', 'en = ["hi there", "Hi, there!"]')
    with pytest.raises(DomainError, match=r"intent 'greet': 'Hi, there!' duplicates 'hi there'"):
        load_domain(_mini(tmp_path, body))


def test_gold_overlapping_training_is_refused(tmp_path):
    with pytest.raises(DomainError, match="also a training example"):
        load_domain(_mini(tmp_path, GOOD, '[examples]\nen = ["HI THERE"]\nzh = ["好"]\n'))


def test_gold_for_unknown_intent_is_refused(tmp_path):
    root = _mini(tmp_path, GOOD)
    (root / "gold" / "farewell.toml").write_text('[examples]\nen = ["bye"]\nzh = ["再见"]\n')
    with pytest.raises(DomainError, match="unknown intent 'farewell'"):
        load_domain(root)


def test_missing_out_of_scope_is_refused(tmp_path):
    root = _mini(tmp_path, GOOD)
    (root / "intents" / "out_of_scope.toml").unlink()
    with pytest.raises(DomainError, match="missing out_of_scope.toml"):
        load_domain(root)


def test_too_few_examples_is_refused(tmp_path):
    with pytest.raises(DomainError, match="has 1 en examples, needs 2"):
        load_domain(_mini(tmp_path, GOOD), min_examples=2)


def test_example_without_readable_words_is_refused(tmp_path):
    body = GOOD.replace('en = ["hi there"]', 'en = ["hi there", "?!?"]')
    with pytest.raises(DomainError, match=r"'\?!\?' has no words"):
        load_domain(_mini(tmp_path, body))
