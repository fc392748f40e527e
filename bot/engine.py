"""The channel-agnostic dialogue engine: store, classify, decide, answer, store.

Every channel (Telegram, the terminal) turns its input into an `Incoming` and renders the
`Reply`; none of them knows about models or tables. The customer's message is stored before
anything else happens, so a failure later can cost an answer but never the message.
"""

from __future__ import annotations

import dataclasses
import json
import logging
import sqlite3
from collections.abc import Iterable

from sqlite_utils import Database

from bot.fulfilment import Fulfilment
from bot.handover import Handover
from bot.outcomes import OutcomeTracker
from bot.pending import PendingWrites
from bot.replies import RATINGS, SLOT_CHOICE, Button, Control, Incoming, Reply, person_button
from bot.slots import is_cancel
from storage.feedback import Feedback
from storage.handoffs import HELD, HandoffReason, Handoffs
from storage.labels import Labels, LabelSource
from storage.messages import Messages, StoredMessage
from storage.offers import Offers
from training.config import Config
from training.domain import Domain
from training.entities import Entity, extract
from training.policy import HANDOFF_INTENT, Action, Decision, answered_intent, decide, suggestions_from
from training.serving import LiveModel
from training.storable import storable
from training.tokenize import supported_language, tokenize

log = logging.getLogger(__name__)


def is_storage_error(exc: Exception) -> bool:
    """Disk full, read-only or unwritable database: worth holding writes for, not a bug."""
    return isinstance(exc, sqlite3.OperationalError)


# Handoffs announced by the reply stored for the message itself (a redelivery may still have to open them);
# a button's or a 👎's handoff is announced by a later reply to a press, never redelivered.
REPLY_REASONS = (HandoffReason.ASKED, HandoffReason.FALLBACKS, HandoffReason.COMMAND, HandoffReason.ACTION)


class Engine:
    """One message at a time, on the worker thread (see bot/worker.py): it owns the per-message writes."""

    def __init__(self, db: Database, model: LiveModel, domain: Domain, config: Config) -> None:
        self.messages = Messages(db)
        self.labels = Labels(db)
        self.feedback = Feedback(db)
        self.offers = Offers(db)
        self.handoffs = Handoffs(db)
        self.model = model
        self.domain = domain
        self.config = config
        self.pending = PendingWrites(config.limits.max_pending_writes)
        shop = config.shop
        # What the shop's texts may name: data/messages.toml and the intents' responses are templates.
        self.shop_fields = {"shop": shop.name, "contact": ", ".join(shop.contact.splitlines()), "hours": shop.hours,
                            "timezone": shop.timezone}
        self.handover = Handover(self.handoffs, self.messages, config, self.say)
        self.fulfilment = Fulfilment(db, domain, config, (self.say, self.response, self.shop_fields), self._hand_over)
        self.slots = self.fulfilment.slots
        self.outcomes = OutcomeTracker(db, config)  # what became of each answer (bot/outcomes.py)

    def say(self, key: str, language: str, **fields: object) -> str:
        """One of the bot's own phrases, with the shop's name, contact and hours (and `fields`) filled in."""
        return self.domain.message(key, language).format_map({**self.shop_fields, **fields})

    def response(self, intent: str, language: str) -> str:
        return self.domain.intents[intent].response[language].format_map(self.shop_fields)

    def language(self, text: str, hint: str | None = None) -> str | None:
        """The message's language, en or zh; None for one the bot does not speak (stored as NULL)."""
        return supported_language(text, hint)

    def reply_language(self, stored_language: str | None) -> str:
        """What the bot answers in: the message's language, or the shop's default for one it does not speak."""
        return stored_language or self.config.shop.default_language

    def record(self, incoming: Incoming, command: bool = False) -> StoredMessage | None:
        """Store a message, redacted and capped; None when this update was stored before. A command's
        language is the channel's hint: "/human" is no English sentence."""
        text = storable(incoming.text, self.config.limits.max_text_chars)
        return self.messages.add_incoming(
            channel=incoming.channel,
            user=incoming.user,
            chat_id=incoming.chat_id,
            text=text,
            language=self.language("" if command else text, incoming.language),
            external_key=incoming.external_key,
        )

    def handle(self, incoming: Incoming) -> Reply | None:
        """Answer one message; None when this update was already handled (a redelivery).

        If the database refuses the write, the customer still gets an answer (without buttons,
        which need a stored message) and the write waits in `pending` until storage recovers.
        """
        if self.pending.items:
            self.pending.flush(is_storage_error)
        try:
            stored = self.record(incoming)
        except sqlite3.OperationalError as exc:
            return self._answer_unstored(incoming, exc)
        if stored is None:
            return None
        if (held := self._held(stored)) is not None:
            return held
        reply, prediction = self._respond(stored, incoming.text[:self.config.limits.max_text_chars])
        try:
            self._store_reply(stored, reply, prediction)
        except sqlite3.OperationalError as exc:
            self.pending.hold(lambda: self._store_reply(stored, reply, prediction), exc)
        return reply

    def _held(self, stored: StoredMessage) -> Reply | None:
        """A person holds this conversation: the message goes to them, the model stays quiet."""
        handoff = self.handoffs.held(stored.user_id)
        if handoff is None:
            return None
        self.handoffs.touch(handoff.id)
        return Reply("", stored.id, action=Action.RELAY, handoff_id=handoff.id)

    def relay_if_held(self, incoming: Incoming) -> Reply | None:
        """A photo, file, voice or sticker: stored and relayed while a person holds the conversation;
        None otherwise (the bot reads text only, and nothing is stored)."""
        user_id = self.messages.user_id_of(incoming.channel, incoming.user)
        if user_id is None or self.handoffs.held(user_id) is None:
            return None
        stored = self.record(incoming)
        return None if stored is None else self._held(stored)

    def ask_for_person(self, incoming: Incoming) -> Reply | None:
        """/human: stored like any message, then handed over (or the shop's contact when that trigger is off)."""
        stored = self.record(incoming, command=True)
        if stored is None:
            return None
        language = self.reply_language(stored.language)
        if self.config.handoff.on_command:
            reply = self._hand_over(stored, HandoffReason.COMMAND, language)
        else:
            reply = Reply(self.response(HANDOFF_INTENT, language), stored.id, action=Action.HANDOFF, intent=HANDOFF_INTENT)
        self._store_reply(stored, reply, None)
        return reply

    def _respond(self, stored: StoredMessage, raw: str) -> tuple[Reply, dict | None]:
        """The answer to a new message: the bot's open question first (bot/slots.py), then the model,
        a person when a trigger fires, and the shop's system when the intent has an action.

        Entities come from the raw text (`raw`, before redaction); the prediction keeps their types and
        only the values that are not personal data.
        """
        language = stored.language
        awaiting = self.slots.awaiting(stored.user_id)
        stored, entities = self.fulfilment.entities(stored, raw, awaiting)
        if awaiting is not None and is_cancel(raw):
            self.slots.clear(stored.user_id)
            return Reply(self.say("slot_cancelled", language or self.reply_language(None)), stored.id,
                         action=Action.CANCELLED), None
        reply, prediction = self._answer(stored.text, language, stored.id, stored.user_id)
        if prediction is not None:
            prediction["entities"] = _storable_entities(entities)
        if awaiting is not None and (continued := self.fulfilment.resume(stored, awaiting, reply, entities, raw)) is not None:
            return continued, _acted(prediction, continued)
        reply, prediction = self._escalate(stored, reply, prediction)
        intent = self.domain.intents.get(reply.intent or "")
        if reply.action == Action.ANSWER and intent is not None and intent.action is not None:
            reply = self.fulfilment.serve(stored, intent, self.slots.values(intent, entities, raw))
            return reply, _acted(prediction, reply)
        return reply, prediction

    def cancel(self, incoming: Incoming) -> Reply | None:
        """/cancel: ends the bot's open question, if there is one (stored like any command)."""
        stored = self.record(incoming, command=True)
        if stored is None:
            return None
        language = self.reply_language(stored.language)
        open_question = self.slots.awaiting(stored.user_id) is not None
        self.slots.clear(stored.user_id)
        key = "slot_cancelled" if open_question else "slot_nothing_to_cancel"
        reply = Reply(self.say(key, language), stored.id, action=Action.CANCELLED)
        self._store_reply(stored, reply, None)
        return reply

    def _escalate(self, stored: StoredMessage, reply: Reply, prediction: dict | None) -> tuple[Reply, dict | None]:
        """The model's answer, or a person when a trigger fires: asked for one, or N fallbacks in a row."""
        language = self.reply_language(stored.language)
        if reply.action == Action.HANDOFF and self.config.handoff.on_request:
            return self._hand_over(stored, HandoffReason.ASKED, language), prediction
        if reply.action == Action.FALLBACK and self.handover.after_fallback(stored.user_id):
            return self._hand_over(stored, HandoffReason.FALLBACKS, language), prediction
        return reply, prediction

    def _hand_over(self, message: StoredMessage, reason: HandoffReason, language: str) -> Reply:
        self.outcomes.handed_over(message.user_id)
        handoff, text = self.handover.request(message, reason, language)
        if handoff.status in HELD:
            text = self.say("handoff_already", language)
        return Reply(text, message.id, action=Action.HANDOFF, intent=HANDOFF_INTENT, handoff_id=handoff.id)

    def _store_reply(self, stored: StoredMessage, reply: Reply, prediction: dict | None) -> None:
        """The answer, its prediction, the buttons it offers and its outcome row (bot/outcomes.py), together."""
        with self.messages.db.atomic():
            self.messages.add_reply(stored, reply.text, prediction)
            self.offers.add(stored.id, (b.choice for b in reply.buttons))
            self.outcomes.replied(stored, reply, prediction)

    def unanswered(self, external_key: str) -> Reply | None:
        """The reply to a redelivered update whose stored answer never reached the customer.

        A crash after the message was stored but before the channel confirmed sending the answer
        leaves it undelivered; Telegram then delivers the update again and this answers it (the
        stored answer, buttons included, if there is one) instead of dropping it as a duplicate.
        """
        found = self.messages.unanswered(external_key)
        if found is None:
            return None
        stored, text = found
        if text is None:  # killed between storing the message and storing its answer (or relaying it)
            if (held := self._held(stored)) is not None:
                return held
            reply, prediction = self._respond(stored, stored.text)  # the raw text was never kept
            self._store_reply(stored, reply, prediction)
            return reply
        handoff = self.handoffs.for_message(stored.id)
        if handoff is not None and handoff.reason in REPLY_REASONS:  # the topic may still have to be opened
            return Reply(text, stored.id, action=Action.HANDOFF, intent=HANDOFF_INTENT, handoff_id=handoff.id)
        prediction = self.messages.prediction(stored.id)
        if prediction is None or prediction["action"] in (Action.ASK, Action.CANCELLED):  # no buttons to restore
            return Reply(text, stored.id)
        decision = decide(prediction["topk"], self.config.policy)
        return dataclasses.replace(self._render(decision, stored.id, self.reply_language(stored.language)), text=text)

    def interrupted(self, channel: str, since: str) -> list[tuple[str, Reply]]:
        """(chat, reply) for each answer through the shop's system that a crash cut short or left unsent.

        Their updates were released before the call (bot/channels/delivery.py), so Telegram will not
        deliver them again: the channel sends these at its next start. A call that never ended counts
        as failed (the general answer, an apology, a person); one that ended gives its stored answer.
        """
        found = []
        for stored, key, name in self.messages.undelivered_answers(channel, since, Action.ANSWER):
            intent = self.domain.intents.get(name)
            if intent is None or not self.fulfilment.calls_out(intent):
                continue  # answered without a call: its update was never released, Telegram delivers it again
            if not self.fulfilment.calls.recorded(stored.id):
                found.append((stored.chat_id, self.fulfilment.interrupted(stored, intent)))
            elif (reply := self.unanswered(key)) is not None:
                found.append((stored.chat_id, reply))
        return found

    def _answer(self, text: str, language: str | None, message_id: int | None,
                customer: int | None = None) -> tuple[Reply, dict | None]:
        """The model's answer; `customer` (users.id) picks the model of their arm while an A/B test runs."""
        if language is None:  # the model knows English and Chinese only: no guess, the shop's contact
            return Reply(self.say("unsupported_language", self.reply_language(None)), message_id,
                         action=Action.UNSUPPORTED), None
        if not tokenize(text):
            return Reply(self.say("empty", language), message_id, action=Action.EMPTY), None
        classifier, arm = self.model.for_customer(customer)
        if classifier is None:  # said honestly: nobody is answering in its place
            return Reply(self.say("unavailable", language), message_id, action=Action.UNAVAILABLE), None
        topk = classifier.predict(text, self.config.policy.top_k, self.config.policy.out_of_scope_weight)
        decision = decide(topk, self.config.policy)
        prediction = {
            "model_version": classifier.version,
            "arm": arm,
            "intent": decision.intent,
            "confidence": decision.confidence,
            "topk": topk,
            "action": decision.action,
        }
        return self._render(decision, message_id, language), prediction

    def _answer_unstored(self, incoming: Incoming, error: Exception) -> Reply:
        text = storable(incoming.text, self.config.limits.max_text_chars)
        language = self.language(text, incoming.language)
        reply, prediction = self._answer(text, language, None)
        unstored = dataclasses.replace(incoming, text=text, language=language)
        self.pending.hold(lambda: self._store_late(unstored, reply.text, prediction), error)
        return dataclasses.replace(reply, buttons=())

    def _store_late(self, incoming: Incoming, reply_text: str, prediction: dict | None) -> None:
        stored = self.messages.add_incoming(
            channel=incoming.channel, user=incoming.user, chat_id=incoming.chat_id, text=incoming.text,
            language=incoming.language, external_key=incoming.external_key,
        )
        if stored is not None:
            self.messages.add_reply(stored, reply_text, prediction)  # no buttons: they were not sent

    def _render(self, decision: Decision, message_id: int | None, language: str) -> Reply:
        if decision.action == Action.SUGGEST:
            return self._suggest(message_id, decision.suggestions, language, "did_you_mean", decision.intent)
        if decision.action == Action.HANDOFF:
            return self._person(message_id, language)
        intent = answered_intent(decision)
        buttons = RATINGS if decision.action == Action.ANSWER else ()
        return Reply(self.response(intent, language), message_id, buttons, decision.action, intent)

    def _person(self, message_id: int | None, language: str) -> Reply:
        """Asked for a person with [handoff] on_request off, or a message that could not be stored:
        the shop's contact, nothing recorded or claimed (`_escalate` hands over for real)."""
        return Reply(self.say("handoff", language), message_id, action=Action.HANDOFF, intent=HANDOFF_INTENT)

    def _suggest(self, message_id: int | None, intents: tuple[str, ...], language: str, key: str, intent: str) -> Reply:
        buttons = tuple(Button(self.domain.intents[i].title[language], i) for i in intents)
        buttons += person_button(self.say("talk_to_person", language), self.config.handoff.on_button)
        return Reply(self.say(key, language), message_id, buttons, Action.SUGGEST, intent)

    def choose(self, message_id: int, channel: str, user: str, choice: str) -> Reply:
        """A button press on the reply to `message_id`: a suggestion, 👍/👎 or "talk to a person".

        Only the customer who wrote the message may press, and only a button the bot sent for it
        (stored in `offers`), so a forged press cannot label someone else's message or an intent
        that was never offered.
        """
        message = self.messages.get(message_id)
        prediction = self.messages.prediction(message_id)
        if message is None or prediction is None or self.messages.owner(message_id) != (channel, user):
            log.warning("refused button %r on message %s from %s:%s", choice, message_id, channel, user)
            return Reply(self.say("choice_expired", "en"), None, action=Action.REFUSED)
        reply = self._choose(message, prediction, choice)
        if reply.action != Action.REFUSED:
            self._store_reply(message, reply, None)
        return reply

    def _choose(self, message: StoredMessage, prediction: dict, choice: str) -> Reply:
        message_id, language = message.id, self.reply_language(message.language)
        expired = Reply(self.say("choice_expired", language), message_id, action=Action.REFUSED)
        if not self.offers.made(message_id, choice):
            return expired
        if choice == Control.HUMAN:
            return self._hand_over(message, HandoffReason.BUTTON, language)
        if choice in (Control.UP, Control.DOWN):
            return self._feedback(message, prediction, choice == Control.UP, language)
        if choice.startswith(SLOT_CHOICE):  # one of the values offered with the bot's question (a recent order)
            return self.fulfilment.pick(message, choice.removeprefix(SLOT_CHOICE)) or expired
        if choice not in self.domain.intents or self.labels.exists_for(message_id):
            return expired
        self.labels.add(message_id, choice, LabelSource.SUGGESTION)
        if choice == HANDOFF_INTENT:
            return self._hand_over(message, HandoffReason.BUTTON, language)
        intent = self.domain.intents[choice]
        if intent.action is not None:  # "Track my order": ask for the order, or look it up if the message named it
            entities = extract(message.text, language, self.domain.patterns)
            return self.fulfilment.serve(message, intent, self.slots.values(intent, entities, message.text))
        return Reply(self.response(choice, language), message_id, action=Action.ANSWER, intent=choice)

    def _feedback(self, message: StoredMessage, prediction: dict, positive: bool, language: str) -> Reply:
        if not self.feedback.add(message.id, positive):
            return Reply(self.say("choice_expired", language), message.id, action=Action.REFUSED)
        self.outcomes.rated(message, positive)
        if positive:
            return Reply(self.say("feedback_thanks", language), message.id, action=Action.FEEDBACK)
        if self.handover.after_thumbs_down(message.user_id):
            return self._hand_over(message, HandoffReason.THUMBS_DOWN, language)
        others = suggestions_from(prediction["topk"], self.config.policy, exclude=prediction["intent"])
        return self._suggest(message.id, others, language, "feedback_sorry", prediction["intent"])


def _storable_entities(entities: Iterable[Entity]) -> str:
    """What a prediction keeps of a message's entities: every type, and the values that are not personal."""
    return json.dumps([[e.type, None if e.pii else e.value] for e in entities], ensure_ascii=False)


def _acted(prediction: dict | None, reply: Reply) -> dict | None:
    """The prediction, recording what the bot did in the end (asked for a slot, answered through an action)."""
    return None if prediction is None else {**prediction, "action": reply.action}
