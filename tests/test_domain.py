"""The starter domain as shipped, and the loader's errors on broken files."""

from pathlib import Path

import pytest

from tests.conftest import DATA
from training.domain import LANGUAGES, OUT_OF_SCOPE, ActionSpec, DomainError, load_domain, template_fields
from training.entities import extract
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


# --- slots and actions --------------------------------------------------------------------------

SLOT = '[slots.order_id]\nentity = ["order_id"]\nen = "Which order?"\nzh = "哪个订单？"\n'
ACTION = ('[action]\nendpoint = "order_status"\nidempotent = true\nfields = ["status"]\n'
          '[action.response]\nen = "Order {order_id}: {status}"\nzh = "订单 {order_id}：{status}"\n')
ORDER_ID = "[order_id]\npattern = '1[0-9]{4}'\npii = false\n"


def _with_action(tmp_path: Path, head: str = 'requires = ["order_id"]\n', slots: str = SLOT, action: str = ACTION,
                 entities: str | None = ORDER_ID) -> Path:
    root = _mini(tmp_path, head + GOOD + slots + action)
    if entities is not None:
        (root / "entities.toml").write_text(entities)
    return root


def test_slot_question_missing_a_language_names_file_and_slot(tmp_path):
    root = _with_action(tmp_path, slots=SLOT.replace('zh = "哪个订单？"\n', ""))
    with pytest.raises(DomainError, match=r"greet\.toml: \[slots\.order_id\] zh must be a non-empty string"):
        load_domain(root)


def test_unknown_entity_type_is_refused_with_the_known_ones(tmp_path):
    root = _with_action(tmp_path, slots=SLOT.replace('["order_id"]', '["order_number"]'))
    with pytest.raises(DomainError, match=r"\[slots\.order_id\] unknown entity type 'order_number' \(known: email, .*order_id, text"):
        load_domain(root)


@pytest.mark.parametrize(
    ("change", "error"),
    [
        ({"entities": None}, r"greet\.toml: \[slots\.order_id\] unknown entity type 'order_id'"),  # no pattern file
        ({"entities": "[order_id]\npattern = '1[0-9'\npii = false\n"},
         r"entities\.toml: \[order_id\] pattern is not a valid regular expression"),
        ({"action": ""}, r"greet\.toml: requires \['order_id'\] but declares no \[action\]"),
        ({"head": 'requires = ["order_id", "verifier"]\n'}, r"requires 'verifier' but has no table \[slots\.verifier\]"),
        ({"head": ""}, r"\[slots\.order_id\] is declared but not in requires"),
        ({"head": 'requires = "order_id"\n'}, r"requires must be a list of slot names"),
        ({"head": 'requires = ["order_id", "order_id"]\n'}, r"requires names a slot twice"),
    ],
)
def test_broken_slot_declarations_are_refused(tmp_path, change, error):
    with pytest.raises(DomainError, match=error):
        load_domain(_with_action(tmp_path, **change))


def test_template_syntax_error_names_file_and_language(tmp_path):
    root = _with_action(tmp_path, action=ACTION.replace('zh = "订单 {order_id}', 'zh = "订单 {order_id'))
    with pytest.raises(DomainError, match=r"greet\.toml: \[action\.response\] zh: "):
        load_domain(root)


@pytest.mark.parametrize("field", ["{order.id}", "{items[0]}", "{}", "{0}", "{amount:.2f}", "{status!r}"])
def test_template_field_that_is_not_a_plain_name_is_refused(tmp_path, field):
    root = _with_action(tmp_path, action=ACTION.replace("{status}", field, 1))
    with pytest.raises(DomainError, match=r"\[action\.response\] en: .* is not a plain \{name\} field"):
        load_domain(root)


@pytest.mark.parametrize(
    ("old", "new", "error"),
    [
        ('endpoint = "order_status"', 'endpoint = "order status"', r"\[action\] endpoint must be a name"),
        ('endpoint = "order_status"', 'endpoint = ""', r"\[action\] endpoint must be a name"),
        ("idempotent = true", 'idempotent = "yes"', r"\[action\] idempotent must be true or false"),
        ('fields = ["status"]', 'fields = ["the status"]', r"\[action\] fields must be a list of field names"),
        ("idempotent = true", "retries = 3", r"\[action\] unknown key 'retries'"),
        ('[action.response]\nen = "Order {order_id}: {status}"\n', "[action.response]\n", r"\[action\.response\] en must be"),
    ],
)
def test_broken_action_table_is_refused(tmp_path, old, new, error):
    with pytest.raises(DomainError, match=rf"greet\.toml: {error}"):
        load_domain(_with_action(tmp_path, action=ACTION.replace(old, new)))


def test_a_valid_action_loads_with_its_slots(tmp_path):
    slots = SLOT + '[slots.verifier]\nentity = ["email", "postcode"]\nen = "E-mail?"\nzh = "邮箱？"\n'
    entities = ORDER_ID + "[postcode]\npattern = '[0-9]{5}'\ncontext = 'zip'\npii = true\n"
    domain = load_domain(_with_action(tmp_path, 'requires = ["order_id", "verifier"]\n', slots, entities=entities))
    greet = domain.intents["greet"]
    assert greet.requires == ("order_id", "verifier")
    assert [(s.name, s.entity_types, s.pii) for s in greet.slots.values()] == [
        ("order_id", ("order_id",), False),
        ("verifier", ("email", "postcode"), True),
    ]
    response = {"en": "Order {order_id}: {status}", "zh": "订单 {order_id}：{status}"}
    assert greet.action == ActionSpec("order_status", True, response, ("status",))
    assert [p.name for p in domain.patterns.patterns] == ["order_id", "postcode"]


def test_text_slot_is_not_personal_data(tmp_path):
    slots = '[slots.product]\nentity = ["text"]\nen = "Which product?"\nzh = "哪件商品？"\n'
    domain = load_domain(_with_action(tmp_path, 'requires = ["product"]\n', slots, entities=None))
    assert domain.intents["greet"].slots["product"].pii is False


def test_intent_without_slots_or_action_has_none(domain):
    assert (domain.intents["greet"].requires, domain.intents["greet"].slots, domain.intents["greet"].action) == ((), {}, None)


def test_shipped_lookups_require_an_order_and_a_verifier(domain):
    for name in ("order_status", "delivery_delayed", "refund_status"):
        intent = domain.intents[name]
        assert intent.requires == ("order_id", "verifier"), name
        assert intent.slots["verifier"].pii and not intent.slots["order_id"].pii
        assert intent.action.endpoint == name and intent.action.idempotent
    product = domain.intents["product_availability"]
    assert (product.requires, product.slots["product"].entity_types) == (("product",), ("text",))


@pytest.mark.parametrize(
    ("intent", "fields"),
    [
        ("order_status", {"order_id", "status", "shipped_on", "carrier", "tracking_url", "expected_on"}),
        ("delivery_delayed", {"order_id", "status", "expected_on", "reason"}),
        ("refund_status", {"order_id", "refund_status", "amount", "refunded_on"}),
        ("product_availability", {"product", "in_stock", "restock_on"}),
    ],
)
def test_shipped_templates_use_the_endpoint_contract(domain, intent, fields):
    action = domain.intents[intent].action
    assert set(action.fields) == fields
    for lang in LANGUAGES:
        assert set(template_fields(action.response[lang])) == fields, (intent, lang)


def test_shipped_order_ids_are_found_by_the_shipped_patterns(domain):
    assert [(e.type, e.value) for e in extract("where is order 10023?", "en", domain.patterns)] == [("order_id", "10023")]
