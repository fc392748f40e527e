"""An intent with an action: its slots asked for, the call to the shop's system built, its answer made a reply.

The engine hands a message here once the model has spoken (bot/engine.py `_respond`); the flow of
the bot's open question is in bot/slots.py. The call itself is awaited by the channel on the event
loop (bot/actions), never here: this runs on the worker thread, which must not wait on the network.
"""

from __future__ import annotations

import dataclasses
import hashlib
import hmac
import logging
import os
import time
from collections.abc import Callable, Mapping

from sqlite_utils import Database

from bot.account_link import LinkRefused, LinkToken, read_token
from bot.actions import ActionCall, ActionResult, Outcome, failed, render
from bot.replies import RATINGS, SLOT_CHOICE, Button, Reply, person_button
from bot.slots import SlotFilling
from storage.accounts import AccountLinks
from storage.action_calls import ActionCalls
from storage.dialogue import Awaiting, Dialogue
from storage.handoffs import HandoffReason
from storage.messages import Messages, StoredMessage
from storage.offers import Offers
from training.config import Config
from training.domain import OUT_OF_SCOPE, Domain, Intent, Slot
from training.entities import Entity, extract
from training.policy import Action
from training.storable import storable

log = logging.getLogger(__name__)
SECRET_ENV = "SUPPORTBOT_ACTIONS_SECRET"  # signs calls to the shop's system, and keys customers' pseudonyms there
Say = Callable[..., str]  # Engine.say(key, language, **fields), Engine.response(intent, language)
Phrases = tuple[Say, Say, Mapping[str, str]]  # the engine's say and response, and the shop's fields they fill in
HandOver = Callable[[StoredMessage, HandoffReason, str], Reply]  # Engine._hand_over(message, reason, language)


class Fulfilment:
    """On the worker thread, like the engine that owns it."""

    def __init__(self, db: Database, domain: Domain, config: Config, phrases: Phrases, hand_over: HandOver) -> None:
        self.slots = SlotFilling(Dialogue(db), config.slots)
        self.calls = ActionCalls(db)
        self.accounts = AccountLinks(db)
        self.messages = Messages(db)
        self.offers = Offers(db)
        self.domain = domain
        self.config = config
        self.say, self.response, self.shop_fields = phrases
        self.hand_over = hand_over

    def entities(self, stored: StoredMessage, raw: str, awaiting: Awaiting | None) -> tuple[StoredMessage, tuple[Entity, ...]]:
        """The message's entities, read from the raw text (before redaction), and the stored message with
        any personal data only they revealed taken out."""
        if stored.language is None:
            return stored, ()
        entities = extract(raw, stored.language, self.domain.patterns, expect=self._expected(awaiting))
        return self._redact(stored, raw, entities), entities

    def _expected(self, awaiting: Awaiting | None) -> tuple[str, ...]:
        """The entity types the bot's open question asks for: a bare "10115" after "what's your postcode?"
        is a postcode, not an order number."""
        intent = self.domain.intents.get(awaiting.intent) if awaiting else None
        slot = intent.slots.get(awaiting.slot) if intent else None
        return slot.entity_types if slot else ()

    def _redact(self, stored: StoredMessage, raw: str, entities: tuple[Entity, ...]) -> StoredMessage:
        """Personal data the redactor does not know as such (a postcode given as proof of the buyer) is
        taken out of the stored message too, as `<POSTCODE>`."""
        text = stored.text
        for entity in entities:
            if entity.pii and (span := raw[entity.start:entity.end]) in text:
                text = text.replace(span, f"<{entity.type.upper()}>")
        if text == stored.text:
            return stored
        self.messages.redact_further(stored.id, text)
        return dataclasses.replace(stored, text=text)

    def resume(self, stored: StoredMessage, awaiting: Awaiting, reply: Reply, entities: tuple[Entity, ...],
               raw: str) -> Reply | None:
        """The customer's answer to the bot's question; None when the message is something else (a new
        question, answered confidently), which ends the question."""
        intent = self.domain.intents.get(awaiting.intent)
        if intent is None or intent.action is None or awaiting.slot not in intent.slots:  # the domain changed since
            self.slots.clear(stored.user_id)
            return None
        elsewhere = reply.action in (Action.ANSWER, Action.HANDOFF) and reply.intent not in (intent.name, OUT_OF_SCOPE)
        found = self.slots.values(intent, entities, raw, awaited=None if elsewhere else awaiting.slot)
        if awaiting.slot not in found and elsewhere:
            self.slots.clear(stored.user_id)
            return None
        known = {**self.slots.known(awaiting), **found}
        if awaiting.slot in found:
            return self.serve(stored, intent, known)
        return self._ask_again(stored, intent, awaiting, known)

    def _ask_again(self, stored: StoredMessage, intent: Intent, awaiting: Awaiting, known: dict[str, str]) -> Reply:
        """The reply did not answer the question: asked again, or after [slots] max_attempts the general answer."""
        language = self._language(stored)
        attempts = awaiting.attempts + 1
        if attempts >= self.config.slots.max_attempts:
            self.slots.clear(stored.user_id)
            text = f"{self.say('slot_gave_up', language)}\n\n{self.response(intent.name, language)}"
            return Reply(text, stored.id, self.person_button(language), Action.ANSWER, intent.name)
        self.slots.ask(stored.user_id, intent, awaiting.slot, known, awaiting.message_id, attempts)
        question = intent.slots[awaiting.slot].question[language]
        return Reply(f"{self.say('slot_retry', language)} {question}", stored.id, action=Action.ASK, intent=intent.name)

    def serve(self, stored: StoredMessage, intent: Intent, known: dict[str, str]) -> Reply:
        """Ask for the first slot still missing, or hand the call to the channel (which awaits it off the
        worker); an action whose endpoint this shop did not configure gets the static answer. A customer
        who linked their account is not asked to prove who they are, and the shop hears which account."""
        language = self._language(stored)
        static = Reply(self.response(intent.name, language), stored.id, RATINGS, Action.ANSWER, intent.name)
        spec = intent.action
        if not self.calls_out(intent):
            return static
        account = self.accounts.account(stored.user_id)
        missing = self.slots.missing(intent, known, linked=account is not None)
        if missing is not None:
            self.slots.ask(stored.user_id, intent, missing, known, stored.id)
            question = Reply(intent.slots[missing].question[language], stored.id, action=Action.ASK, intent=intent.name)
            return self._offering_choices(question, intent.slots[missing], language, account, stored.user_id)
        self.slots.clear(stored.user_id)
        call = ActionCall(intent.name, spec.endpoint, known, language, self.customer(stored.user_id), spec.idempotent,
                          account)
        return dataclasses.replace(static, call=call)

    def _offering_choices(self, question: Reply, slot: Slot, language: str, account: str | None,
                          user_id: int) -> Reply:
        """A linked customer's question comes with buttons (their recent orders) where the slot names an
        endpoint offering them: the channel calls it (with the account alone), and `complete` adds them."""
        if account is None or slot.choices not in self.config.actions.endpoints:
            return question
        call = ActionCall(question.intent, slot.choices, {}, language, self.customer(user_id), True, account)
        return dataclasses.replace(question, call=call)

    def pick(self, message: StoredMessage, value: str) -> Reply | None:
        """A button offered with the bot's question pressed: the slot filled with its value, then on as if
        typed. None when that question is no longer open (answered, cancelled or lapsed)."""
        awaiting = self.slots.awaiting(message.user_id)
        intent = self.domain.intents.get(awaiting.intent) if awaiting else None
        if awaiting is None or awaiting.message_id != message.id or intent is None:
            return None
        return self.serve(message, intent, {**self.slots.known(awaiting), awaiting.slot: value})

    def link(self, user_id: int, payload: str, language: str) -> tuple[str, LinkRefused | None]:
        """/start with a token from the shop's deep link: the customer's chat linked to their account
        (bot/account_link.py). The reply, and why nothing was linked (None: linked)."""
        secret = os.environ.get(SECRET_ENV, "").encode()
        token = read_token(secret, payload, time.time()) if secret else LinkRefused.FORGED
        if isinstance(token, LinkToken) and not self.accounts.link(user_id, token.account, token.digest, token.expires):
            token = LinkRefused.USED
        if isinstance(token, LinkToken):
            return self.say("account_linked", language), None
        key = "link_expired" if token in (LinkRefused.EXPIRED, LinkRefused.USED) else "link_invalid"
        return self.say(key, language), token

    def calls_out(self, intent: Intent) -> bool:
        """Whether answering `intent` calls the shop's system: it has an action this shop configured."""
        return intent.action is not None and intent.action.endpoint in self.config.actions.endpoints

    def interrupted(self, stored: StoredMessage, intent: Intent) -> Reply:
        """A call the bot stopped in the middle of (a crash, a kill): recorded as failed, and the answer
        stored and returned is what any failed call gives: the general answer, an apology and a person."""
        language, spec = self._language(stored), intent.action
        call = ActionCall(intent.name, spec.endpoint, {}, language, self.customer(stored.user_id), spec.idempotent)
        reply = Reply(self.response(intent.name, language), stored.id, RATINGS, Action.ANSWER, intent.name, call=call)
        return self.complete(reply, failed("the bot stopped during the call"), 0.0)

    def customer(self, user_id: int) -> str:
        """The customer as the shop's system sees them: stable, but no Telegram id (an HMAC of our own id)."""
        key = os.environ.get(SECRET_ENV, "").encode()
        return hmac.new(key, f"customer:{user_id}".encode(), hashlib.sha256).hexdigest()[:24]

    def complete(self, reply: Reply, result: ActionResult, latency_ms: float) -> Reply:
        """The shop's system answered (or failed): the reply to send, stored in place of the answer
        without it; a failure gives the static answer, an apology and a person. A question's call only
        adds buttons to it: without them (a failure, no choices) it is asked as it is."""
        call = reply.call
        self.calls.record(reply.message_id, call.endpoint, result.outcome, latency_ms, result.reason)
        if reply.action == Action.ASK:
            buttons = tuple(Button(c.label, f"{SLOT_CHOICE}{c.value}") for c in result.choices)
            self.offers.add(reply.message_id, (b.choice for b in buttons))
            return dataclasses.replace(reply, call=None, buttons=buttons)
        final = self._outcome(reply, result)
        with self.messages.db.atomic():
            self.messages.revise_reply(reply.message_id, storable(final.text, self.config.limits.max_text_chars))
            self.offers.add(reply.message_id, (b.choice for b in final.buttons))
        return final

    def _outcome(self, reply: Reply, result: ActionResult) -> Reply:
        call, language = reply.call, reply.call.language
        done = dataclasses.replace(reply, call=None)
        if result.outcome == Outcome.OK:
            template = self.domain.intents[reply.intent].action.response[language]
            text = result.text or render(template, result, call.slots, self.shop_fields)
            if text is not None:
                return dataclasses.replace(done, text=text)
            log.warning("action %s answered without a field its %s template names", call.endpoint, language)
        elif result.outcome == Outcome.NOT_FOUND:
            text = result.text or self.say("action_not_found", language)
            return dataclasses.replace(done, text=text, buttons=self.person_button(language), action=Action.ANSWER)
        elif result.outcome == Outcome.HANDOFF:
            handed = self.hand_over(self.messages.get(reply.message_id), HandoffReason.ACTION, language)
            return dataclasses.replace(handed, text="\n\n".join(t for t in (result.text, handed.text) if t))
        text = f"{reply.text}\n\n{self.say('action_failed', language)}"
        return dataclasses.replace(done, text=text, buttons=self.person_button(language) + RATINGS)

    def person_button(self, language: str) -> tuple[Button, ...]:
        return person_button(self.say("talk_to_person", language), self.config.handoff.on_button)

    def _language(self, stored: StoredMessage) -> str:
        return stored.language or self.config.shop.default_language
