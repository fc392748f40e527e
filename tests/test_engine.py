"""The dialogue engine end to end on a real model, a real SQLite file and the real starter domain.

Every branch of the flow is pinned with fixed probabilities in test_engine_flows.py; these check that
the trained model, the policy and the storage work together on real questions."""

import dataclasses
import shutil
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from bot.engine import Engine
from bot.replies import Control, Incoming
from bot.runtime import open_runtime
from storage.registry import ModelRegistry
from training.serving import LiveModel


@pytest.fixture
def runtime(trained_config):
    runtime = open_runtime(trained_config)
    yield runtime
    runtime.close()


def ask(runtime, text, user="ann", key=None):
    return runtime.engine.handle(Incoming("console", user, f"chat-{user}", text, external_key=key))


def with_policy(runtime, **changes) -> Engine:
    config = dataclasses.replace(runtime.config, policy=dataclasses.replace(runtime.config.policy, **changes))
    return Engine(runtime.db, runtime.model, runtime.domain, config)


def test_english_question_gets_the_english_answer_and_everything_is_stored(runtime):
    reply = ask(runtime, "where is my order")
    assert reply.intent == "order_status" and reply.action == "answer"
    assert reply.text == runtime.engine.response("order_status", "en")
    assert [b.choice for b in reply.buttons] == [Control.UP, Control.DOWN]
    db = runtime.db
    incoming = db["messages"].get(reply.message_id)
    assert incoming["direction"] == "in" and incoming["language"] == "en"
    prediction = db["predictions"].get(reply.message_id)
    assert prediction["intent"] == "order_status" and prediction["model_version"] == runtime.model.current.version
    out = list(db["messages"].rows_where("reply_to = ?", [reply.message_id]))
    assert [o["text"] for o in out] == [reply.text]


def test_chinese_question_gets_the_chinese_answer(runtime):
    reply = ask(runtime, "我想退货，衣服不合适")
    assert reply.intent == "return_item"
    assert reply.text == runtime.engine.response("return_item", "zh")


def test_out_of_scope_gets_the_fallback(runtime):
    reply = ask(runtime, "what's the capital of australia")
    assert reply.action == "fallback"
    assert reply.text == runtime.engine.response("out_of_scope", "en")


def test_the_out_of_scope_weight_decides_and_is_what_gets_stored(runtime):
    unweighted = with_policy(runtime, out_of_scope_weight=1.0).handle(Incoming("console", "cy", "c", "where is my order"))
    assert unweighted.intent == "order_status"
    shy = with_policy(runtime, out_of_scope_weight=1e9).handle(Incoming("console", "cy", "c", "where is my order"))
    assert shy.action == "fallback" and shy.text == runtime.engine.response("out_of_scope", "en")
    stored = runtime.engine.messages.prediction(shy.message_id)
    assert stored["topk"][0][0] == "out_of_scope" and stored["action"] == "fallback"


def test_a_choice_that_was_not_offered_is_refused(runtime):
    reply = ask(runtime, "where is my order")
    offered = {i for i, _ in runtime.engine.messages.prediction(reply.message_id)["topk"]}
    not_offered = next(n for n in runtime.domain.names if n not in offered)
    assert runtime.engine.choose(reply.message_id, "console", "ann", not_offered).action == "refused"
    assert runtime.engine.choose(reply.message_id, "console", "ann", "no_such_intent").action == "refused"
    assert runtime.engine.choose(10**9, "console", "ann", Control.UP).action == "refused"
    assert runtime.db["labels"].count == 0


def test_thumbs_up_confirms_once(runtime):
    reply = ask(runtime, "where is my order")
    assert runtime.engine.choose(reply.message_id, "console", "ann", Control.UP).action == "feedback"
    assert runtime.engine.choose(reply.message_id, "console", "ann", Control.UP).action == "refused"
    assert [(l["intent"], l["source"]) for l in runtime.db["labels"].rows] == [("order_status", "feedback")]


@pytest.mark.parametrize("text", ["", "   ", "?!", "\x00\x07\x1b", "\u200b"])
def test_empty_input_gets_a_clear_answer_and_is_stored(runtime, text):
    reply = ask(runtime, text)
    assert reply.action == "empty"
    assert runtime.db["messages"].get(reply.message_id)["text"] is not None


def test_emoji_huge_and_mixed_inputs_are_answered(runtime):
    for text in ["😀😀😀", "order " * 5000, "我的order在哪里 where", "Дом 🏠 كتاب"]:
        reply = ask(runtime, text)
        assert reply.text
    stored = runtime.db.execute("SELECT MAX(LENGTH(text)) FROM messages WHERE direction = 'in'").fetchone()[0]
    assert stored <= runtime.config.limits.max_text_chars


def test_redelivered_update_is_answered_once(runtime):
    assert ask(runtime, "hi", key="telegram:1") is not None
    assert ask(runtime, "hi", key="telegram:1") is None
    assert runtime.db.execute("SELECT COUNT(*) FROM messages WHERE direction = 'in'").fetchone()[0] == 1


def test_personal_data_is_redacted_before_it_is_stored(runtime):
    reply = ask(runtime, "my email is jane.doe@example.com and card 4111 1111 1111 1111")
    text = runtime.db["messages"].get(reply.message_id)["text"]
    assert "jane.doe" not in text and "4111" not in text
    assert "<EMAIL>" in text and "<CARD>" in text


def test_a_broken_live_model_falls_back_to_the_previous_version(runtime, caplog):
    registry: ModelRegistry = runtime.registry
    good = registry.live()
    broken = registry.new_version()
    with registry.writing(broken) as scratch:
        for name in ("encoder.json", "labels.json", "meta.json"):
            shutil.copy(f"{good['path']}/{name}", scratch / name)
        (scratch / "model.tflite").write_bytes(b"not a model")
    registry.register(broken, good["metrics"])
    registry.promote(broken)
    model = LiveModel(registry)
    assert model.load().version == good["version"]
    assert "unusable" in caplog.text and "fallback" in caplog.text
    assert model.problem.startswith(f"model {broken} does not load (")
    assert model.problem.endswith(f"answering with {good['version']}")


def test_without_any_model_the_customer_is_told_honestly_and_gets_the_contact(config):
    runtime = open_runtime(config)
    try:
        reply = ask(runtime, "where is my order")
        assert reply.action == "unavailable" and reply.buttons == ()
        assert "help@shop.test" in reply.text and "passed" not in reply.text
        assert runtime.db["messages"].count == 2
        assert runtime.model.problem is None  # never trained: the normal first state, not a failure
    finally:
        runtime.close()


def test_a_live_model_that_does_not_load_is_said_and_nothing_answers_in_its_place(trained_config):
    runtime = open_runtime(trained_config)
    live = runtime.registry.live()
    runtime.close()
    (Path(live["path"]) / "model.tflite").write_bytes(b"truncated")
    runtime = open_runtime(trained_config)
    try:
        assert runtime.model.current is None
        assert runtime.model.problem.startswith(f"model {live['version']} does not load")
        assert ask(runtime, "where is my order").action == "unavailable"
    finally:
        runtime.close()


@settings(suppress_health_check=[HealthCheck.function_scoped_fixture])  # examples: the profile (conftest.py)
@given(text=st.text(max_size=400))
def test_any_string_gets_a_reply_and_is_stored(runtime, text):
    before = runtime.db["messages"].count
    reply = ask(runtime, text)
    assert reply is not None and reply.text.strip()
    assert runtime.db["messages"].count == before + 2
