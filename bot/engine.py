"""The channel-agnostic dialogue engine: store, classify, decide, answer, store.

Every channel (Telegram, the terminal) turns its input into an `Incoming` and renders the
`Reply`; none of them knows about models or tables. The customer's message is stored before
anything else happens, so a failure later can cost an answer but never the message.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field

from bot.policy import HANDOFF_INTENT, Decision, decide, suggestions_from
from storage.conversations import Conversations, StoredMessage
from training.config import Config
from training.domain import OUT_OF_SCOPE, Domain
from training.redact import redact
from training.serving import LiveModel
from training.tokenize import language_of, tokenize

log = logging.getLogger(__name__)

HUMAN, UP, DOWN = "human", "up", "down"


@dataclass(frozen=True)
class Incoming:
    channel: str
    user: str
    chat_id: str
    text: str
    language: str | None = None  # the channel's hint; the text decides when it has letters
    external_key: str | None = None  # the channel's update id: a redelivery is stored and answered once


@dataclass(frozen=True)
class Button:
    label: str
    choice: str  # an intent name, or HUMAN / UP / DOWN


@dataclass(frozen=True)
class Reply:
    text: str
    message_id: int | None = None
    buttons: tuple[Button, ...] = field(default_factory=tuple)
    action: str = "answer"
    intent: str | None = None


class Engine:
    def __init__(self, conversations: Conversations, model: LiveModel, domain: Domain, config: Config) -> None:
        self.conversations = conversations
        self.model = model
        self.domain = domain
        self.config = config

    def language(self, text: str, hint: str | None = None) -> str:
        if tokenize(text) or not hint:
            return language_of(text)
        return "zh" if hint.lower().startswith("zh") else "en"

    def record(self, incoming: Incoming) -> StoredMessage | None:
        """Store a message, redacted and capped; None when this update was stored before."""
        text = redact(incoming.text[: self.config.limits.max_text_chars])
        return self.conversations.add_incoming(
            channel=incoming.channel,
            user=incoming.user,
            chat_id=incoming.chat_id,
            text=text,
            language=self.language(text, incoming.language),
            external_key=incoming.external_key,
        )

    def handle(self, incoming: Incoming) -> Reply | None:
        """Answer one message; None when this update was already handled (a redelivery)."""
        stored = self.record(incoming)
        if stored is None:
            return None
        text, language = stored.text, stored.language or "en"
        if not tokenize(text):
            return self._send(stored, Reply(self.domain.message("empty", language), stored.id, action="empty"), None)
        classifier = self.model.current
        if classifier is None:
            return self._send(stored, Reply(self.domain.message("handoff", language), stored.id, action="handoff"), None)
        topk = classifier.predict(text, self.config.policy.top_k)
        decision = decide(topk, self.config.policy)
        prediction = {
            "model_version": classifier.version,
            "intent": decision.intent,
            "confidence": decision.confidence,
            "topk": topk,
            "action": decision.action,
        }
        return self._send(stored, self._render(decision, stored, language), prediction)

    def _send(self, stored: StoredMessage, reply: Reply, prediction: dict | None) -> Reply:
        self.conversations.add_reply(stored, reply.text, prediction)
        return reply

    def _render(self, decision: Decision, stored: StoredMessage, language: str) -> Reply:
        if decision.action == "suggest":
            return self._suggest(stored.id, decision.suggestions, language, "did_you_mean", decision.intent)
        intent = OUT_OF_SCOPE if decision.action == "fallback" else decision.intent
        buttons = (Button("👍", UP), Button("👎", DOWN)) if decision.action == "answer" else ()
        return Reply(self.response(intent, language), stored.id, buttons, decision.action, intent)

    def response(self, intent: str, language: str) -> str:
        return self.domain.intents[intent].response[language]

    def _suggest(self, message_id: int, intents: tuple[str, ...], language: str, key: str, intent: str) -> Reply:
        buttons = tuple(Button(self.domain.intents[i].title[language], i) for i in intents)
        buttons += (Button(self.domain.message("talk_to_person", language), HUMAN),)
        return Reply(self.domain.message(key, language), message_id, buttons, "suggest", intent)

    def choose(self, message_id: int, channel: str, user: str, choice: str) -> Reply:
        """A button press on the reply to `message_id`: a suggestion, 👍/👎 or "talk to a person".

        Only the customer who wrote the message may press, and only a choice the bot offered
        for it, so a forged button cannot label someone else's message or an arbitrary intent.
        """
        message = self.conversations.message(message_id)
        prediction = self.conversations.prediction(message_id)
        if message is None or prediction is None or self.conversations.owner(message_id) != (channel, user):
            log.warning("refused button %r on message %s from %s:%s", choice, message_id, channel, user)
            return Reply(self.domain.message("choice_expired", "en"), None, action="refused")
        reply = self._choose(message, prediction, choice)
        if reply.action != "refused":
            self.conversations.add_reply(message, reply.text, None)
        return reply

    def _choose(self, message: StoredMessage, prediction: dict, choice: str) -> Reply:
        message_id = message.id
        language = message.language or "en"
        offered = {intent for intent, _ in prediction["topk"]}
        if choice == HUMAN:
            return Reply(self.domain.message("handoff", language), message_id, action="handoff")
        if choice in (UP, DOWN):
            return self._feedback(message, prediction, choice == UP, language)
        if choice not in offered or choice not in self.domain.intents or self.conversations.has_label(message_id):
            return Reply(self.domain.message("choice_expired", language), message_id, action="refused")
        self.conversations.add_label(message_id, choice, "suggestion")
        action = "handoff" if choice == HANDOFF_INTENT else "answer"
        return Reply(self.response(choice, language), message_id, action=action, intent=choice)

    def _feedback(self, message: StoredMessage, prediction: dict, positive: bool, language: str) -> Reply:
        if not self.conversations.add_feedback(message.id, positive):
            return Reply(self.domain.message("choice_expired", language), message.id, action="refused")
        if positive:
            return Reply(self.domain.message("feedback_thanks", language), message.id, action="feedback")
        others = suggestions_from(prediction["topk"], self.config.policy, exclude=prediction["intent"])
        return self._suggest(message.id, others, language, "feedback_sorry", prediction["intent"])
