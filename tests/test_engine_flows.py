"""Every flow of the dialogue engine, pinned by a ranker of fixed probabilities.

A trained model's confidences move whenever the model or the data changes; here each message's
probabilities are set by the test, so each test says exactly which branch it takes and can only
fail when the engine's behaviour does. Real SQLite, the real starter domain, the real policy and
the real `rank` (so the out-of-scope weight is applied as in serving).
"""

import dataclasses

import numpy as np
import pytest

from bot.engine import Engine
from bot.replies import Control, Incoming
from bot.runtime import open_runtime
from training.classifier import rank
from training.policy import Action


class FixedRanker:
    """The classifier's interface (`predict`, `version`) over probabilities a test chose per text."""

    version = "fixed-1"

    def __init__(self, labels: list[str], answers: dict[str, dict[str, float]]) -> None:
        self.labels = labels
        self.answers = answers

    def predict(self, text: str, k: int = 5, out_of_scope_weight: float = 1.0) -> list[tuple[str, float]]:
        chosen = self.answers[text]
        rest = (1.0 - sum(chosen.values())) / (len(self.labels) - len(chosen))
        probs = np.array([chosen.get(label, rest) for label in self.labels], dtype="float32")
        return rank(probs, self.labels, k, out_of_scope_weight)


ANSWERS = {
    "sure": {"order_status": 0.9},
    "sure, with runners-up": {"refund_request": 0.7, "return_item": 0.15, "refund_status": 0.1},
    "unsure": {"refund_request": 0.45, "return_item": 0.3, "refund_status": 0.15, "out_of_scope": 0.08},
    "lost": {"order_status": 0.12, "greet": 0.1},
    "off topic": {"out_of_scope": 0.95},
    "a person": {"contact_human": 0.92},
    "borderline": {"order_status": 0.62, "out_of_scope": 0.3},
}


@pytest.fixture
def runtime(config):
    runtime = open_runtime(config)
    runtime.model.current = FixedRanker(runtime.domain.names, ANSWERS)
    yield runtime
    runtime.close()


def ask(runtime, text, user="ann", engine=None):
    return (engine or runtime.engine).handle(Incoming("console", user, f"chat-{user}", text))


def response(runtime, intent, lang="en"):
    return runtime.engine.response(intent, lang)


def test_a_confident_prediction_is_answered_with_rating_buttons_and_stored(runtime):
    reply = ask(runtime, "sure")
    assert (reply.action, reply.intent, reply.text) == (Action.ANSWER, "order_status", response(runtime, "order_status"))
    assert [b.choice for b in reply.buttons] == [Control.UP, Control.DOWN]
    stored = runtime.engine.messages.prediction(reply.message_id)
    assert stored["model_version"] == "fixed-1" and stored["action"] == "answer"
    assert stored["topk"][0] == ("order_status", pytest.approx(0.9))
    assert len(stored["topk"]) == runtime.config.policy.top_k


def test_between_suggest_and_confident_the_bot_offers_in_scope_suggestions_and_a_person(runtime):
    reply = ask(runtime, "unsure")
    assert reply.action == Action.SUGGEST and reply.text == runtime.domain.message("did_you_mean", "en")
    assert [b.choice for b in reply.buttons] == ["refund_request", "return_item", "refund_status", Control.HUMAN]
    assert reply.buttons[0].label == runtime.domain.intents["refund_request"].title["en"]


def test_below_suggest_the_bot_falls_back_without_buttons(runtime):
    reply = ask(runtime, "lost")
    assert reply.action == Action.FALLBACK and reply.buttons == ()
    assert reply.text == response(runtime, "out_of_scope")


def test_confident_out_of_scope_falls_back_and_contact_human_hands_over(runtime):
    assert ask(runtime, "off topic").action == Action.FALLBACK
    assert ask(runtime, "a person").action == Action.HANDOFF


def test_the_out_of_scope_weight_turns_a_borderline_answer_into_a_fallback(runtime):
    policy = dataclasses.replace(runtime.config.policy, out_of_scope_weight=4.0)
    engine = Engine(runtime.db, runtime.model, runtime.domain, dataclasses.replace(runtime.config, policy=policy))
    assert ask(runtime, "borderline").action == Action.ANSWER
    shifted = ask(runtime, "borderline", engine=engine)
    assert shifted.action == Action.FALLBACK
    assert runtime.engine.messages.prediction(shifted.message_id)["topk"][0][0] == "out_of_scope"


def test_pressing_a_suggestion_answers_it_and_stores_one_suggestion_label(runtime):
    reply = ask(runtime, "unsure", user="bo")
    answer = runtime.engine.choose(reply.message_id, "console", "bo", "return_item")
    assert (answer.action, answer.text) == (Action.ANSWER, response(runtime, "return_item"))
    assert [(l["message_id"], l["intent"], l["source"]) for l in runtime.db["labels"].rows] == [
        (reply.message_id, "return_item", "suggestion")]
    assert runtime.engine.choose(reply.message_id, "console", "bo", "refund_request").action == Action.REFUSED
    assert runtime.db["labels"].count == 1


def test_presses_by_someone_else_or_of_what_was_not_offered_are_refused(runtime):
    reply = ask(runtime, "unsure", user="bo")
    for message_id, channel, user, choice in [
        (reply.message_id, "console", "mallory", "return_item"),  # another customer
        (reply.message_id, "telegram", "bo", "return_item"),  # same id on another channel
        (reply.message_id, "console", "bo", "no_such_intent"),
        (10**9, "console", "bo", Control.UP),  # no such message
    ]:
        assert runtime.engine.choose(message_id, channel, user, choice).action == Action.REFUSED
    assert runtime.db["labels"].count == 0 and runtime.db["feedback"].count == 0


def test_thumbs_up_confirms_the_answer_once(runtime):
    reply = ask(runtime, "sure")
    assert runtime.engine.choose(reply.message_id, "console", "ann", Control.UP).action == Action.FEEDBACK
    assert runtime.engine.choose(reply.message_id, "console", "ann", Control.DOWN).action == Action.REFUSED
    assert [(l["intent"], l["source"]) for l in runtime.db["labels"].rows] == [("order_status", "feedback")]


def test_thumbs_down_offers_the_other_intents_and_queues_the_message_for_review(runtime):
    reply = ask(runtime, "sure, with runners-up")
    down = runtime.engine.choose(reply.message_id, "console", "ann", Control.DOWN)
    assert down.action == Action.SUGGEST and down.text == runtime.domain.message("feedback_sorry", "en")
    assert [b.choice for b in down.buttons] == ["return_item", "refund_status", Control.HUMAN]
    assert runtime.db["labels"].count == 0
    assert [m.id for m in runtime.review.oldest()] == [reply.message_id]
    picked = runtime.engine.choose(reply.message_id, "console", "ann", "refund_status")  # offered after the 👎
    assert picked.action == Action.ANSWER and runtime.db["labels"].count == 1


def test_asking_for_a_person_gives_the_shops_contact_and_never_claims_a_handover(runtime):
    """No staff are connected to the chat yet: every way to ask for a person says how to reach one."""
    asked = ask(runtime, "a person")
    pressed = runtime.engine.choose((unsure := ask(runtime, "unsure")).message_id, "console", "ann", Control.HUMAN)
    for reply in (asked, pressed):
        assert reply.action == Action.HANDOFF and reply.text == runtime.engine.say("handoff", "en")
        assert "help@shop.test" in reply.text and "+44 20 7946 0000" in reply.text
        assert "passed" not in reply.text and "passing" not in reply.text
    assert unsure.buttons[-1].label == runtime.domain.message("talk_to_person", "en")


def test_only_a_button_that_was_sent_for_that_message_is_accepted(runtime):
    """A forged press of an intent that was in the top-k but never a button (the answer offered only
    👍/👎) once became a `suggestion` label."""
    reply = ask(runtime, "sure")  # top-k holds other intents; only 👍/👎 were sent
    stored_topk = [intent for intent, _ in runtime.engine.messages.prediction(reply.message_id)["topk"]]
    for forged in stored_topk[1:] + [Control.HUMAN]:
        assert runtime.engine.choose(reply.message_id, "console", "ann", forged).action == Action.REFUSED
    assert runtime.db["labels"].count == 0
    assert runtime.engine.choose(reply.message_id, "console", "ann", Control.UP).action == Action.FEEDBACK


def test_a_refused_press_is_audited_without_any_text(runtime):
    from bot.usecases import conversation

    reply = ask(runtime, "sure")
    refused = conversation.press(runtime, reply.message_id, "console", "ann", "cancel_order")
    assert refused.action == Action.REFUSED
    assert [(a["actor"], a["action"], a["detail"], a["allowed"]) for a in runtime.db["audit"].rows] == [
        ("console:ann", "press", f"message {reply.message_id}: cancel_order", 0)]


def test_every_phrase_and_response_fills_in_the_shop(runtime):
    """A template naming a field that [shop] (or its caller) does not fill would fail at the customer's message."""
    own = {"handoff_passed": {"eta": ""}, "handoff_eta": {"minutes": 5}, "handoff_after_hours": {"back": "Monday 09:00"},
           "handoff_claimed": {"name": "Sam"}}  # filled by bot/handover.py and bot/usecases/handoff.py
    for lang in ("en", "zh"):
        for key in runtime.domain.messages:
            if "{messages}" not in runtime.domain.message(key, lang):  # forget_done: filled by its handler
                assert "{" not in runtime.engine.say(key, lang, **own.get(key, {}))
        for name in runtime.domain.intents:
            assert "{" not in runtime.engine.response(name, lang)
    assert runtime.config.shop.hours in runtime.engine.response("opening_hours", "en")


def test_a_redelivered_update_whose_answer_was_never_sent_gets_the_stored_answer_and_buttons(runtime):
    first = runtime.engine.handle(Incoming("telegram", "9", "9", "unsure", external_key="telegram:5"))
    assert runtime.engine.handle(Incoming("telegram", "9", "9", "unsure", external_key="telegram:5")) is None
    again = runtime.engine.unanswered("telegram:5")
    assert (again.text, again.buttons) == (first.text, first.buttons)
    runtime.engine.messages.mark_answered(first.message_id)
    assert runtime.engine.unanswered("telegram:5") is None


@pytest.mark.parametrize("text", ["注文した商品はいつ届きますか", "주문한 상품이 언제 도착하나요", "Где мой заказ?", "أين طلبي؟"])
def test_a_language_the_bot_does_not_speak_gets_the_shops_contact_in_the_default_language(runtime, text):
    """Japanese and Korean once got Chinese answers, Arabic and Russian English suggestions."""
    reply = runtime.engine.handle(Incoming("telegram", "5", "5", text, language="ja"))
    assert reply.action == Action.UNSUPPORTED and reply.buttons == ()
    assert reply.text == runtime.engine.say("unsupported_language", "en") and "help@shop.test" in reply.text
    assert runtime.db["messages"].get(reply.message_id)["language"] is None
    assert runtime.engine.messages.prediction(reply.message_id) is None  # the model was not asked to guess


def test_unsure_out_of_scope_on_top_falls_back_and_a_person_is_offered_once(runtime):
    runtime.model.current.answers.update({
        "unsure off topic": {"out_of_scope": 0.5, "greet": 0.3, "thanks": 0.1},
        "unsure person": {"refund_request": 0.4, "contact_human": 0.35, "refund_status": 0.1},
    })
    assert ask(runtime, "unsure off topic").action == Action.FALLBACK
    reply = ask(runtime, "unsure person")
    assert [b.choice for b in reply.buttons] == ["refund_request", "refund_status", Control.HUMAN]
