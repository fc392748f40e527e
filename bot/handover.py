"""When a conversation goes to a person, and what the customer is told about it.

The engine asks here whether a trigger fired ([handoff] in config: asked, the button, /human, N
fallbacks or 👎 in a row) and records the request. What the customer reads must be true: "passed
to our team" only where a staff group is connected to this channel (`staff_channel`, set by the
channel once it has checked the group at start); everywhere else the bot says how to reach the
shop and the request is recorded for admins (`supportbot handoffs`, /status).
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime

from storage.handoffs import Handoff, HandoffReason, Handoffs, HandoffStatus
from storage.messages import Direction, Messages, StoredMessage
from training.config import Config
from training.hours import OpeningHours
from training.policy import HANDOFF_INTENT, OUT_OF_SCOPE

Say = Callable[..., str]  # Engine.say(key, language, **fields)


class Handover:
    """On the worker thread, like the engine that owns it."""

    def __init__(self, handoffs: Handoffs, messages: Messages, config: Config, say: Say) -> None:
        self.handoffs = handoffs
        self.messages = messages
        self.settings = config.handoff
        self.timezone = config.shop.timezone
        self.hours = OpeningHours.parse(config.handoff.hours, config.shop.timezone)
        self.say = say
        self.staff_channel: str | None = None  # the channel whose staff group answered the start-up check

    def routed(self, channel: str) -> bool:
        """Whether a person can be reached from this channel: only then does the bot say it passed anything on."""
        return channel == self.staff_channel

    def after_fallback(self, user_id: int) -> bool:
        """This fallback (not stored yet) completes [handoff] fallbacks_in_a_row."""
        n = self.settings.fallbacks_in_a_row
        return n > 0 and self.handoffs.fallbacks_in_a_row(user_id) + 1 >= n

    def after_thumbs_down(self, user_id: int) -> bool:
        """The 👎 just stored completes [handoff] thumbs_down_in_a_row."""
        n = self.settings.thumbs_down_in_a_row
        return n > 0 and self.handoffs.thumbs_down_in_a_row(user_id) >= n

    def request(self, message: StoredMessage, reason: HandoffReason, language: str) -> tuple[Handoff, str]:
        """Record the handoff (or find the one already under way) and the text the customer gets."""
        question = self._question(message, reason)
        handoff = self.handoffs.request(
            user_id=message.user_id, channel=message.channel, chat_id=message.chat_id, reason=reason,
            message_id=message.id, question_id=question, proposed_intent=self._proposal(question),
            routed=self.routed(message.channel),
        )
        routed = handoff.status != HandoffStatus.REQUESTED
        return handoff, self.notice(language) if routed else self.say("handoff", language)

    def notice(self, language: str, now: datetime | None = None) -> str:
        """"Passed to our team": with the usual wait within hours, with when they are back outside them."""
        now = now or datetime.now(UTC)
        if not self.hours.is_open(now):
            back = self.hours.next_open(now).strftime("%A %H:%M")
            return self.say("handoff_after_hours", language, back=back)
        return self.say("handoff_passed", language, eta=self._eta(language, now))

    def _eta(self, language: str, now: datetime) -> str:
        figures = self.handoffs.figures(now)
        median = figures["median_first_reply_seconds"]
        if median is None or figures["replied_7d"] < self.settings.estimate_min_handoffs:
            return ""
        return self.say("handoff_eta", language, minutes=max(1, round(median / 60)))

    def _question(self, message: StoredMessage, reason: HandoffReason) -> int:
        """What staff label: the message that failed, or, when the customer asked for a person, the
        question they asked before (if any was asked since the last handoff)."""
        if reason not in (HandoffReason.ASKED, HandoffReason.COMMAND):
            return message.id
        for line in reversed(self.handoffs.transcript(message.user_id, self.settings.transcript_messages)):
            if line.message_id < message.id and line.author is None and line.direction == Direction.IN \
                    and line.intent not in (None, HANDOFF_INTENT):
                return line.message_id
        return message.id

    def _proposal(self, question: int) -> str | None:
        """The model's best in-scope guess for the question: proposed to staff, confirmed by them as a label."""
        prediction = self.messages.prediction(question)
        if prediction is None:
            return None
        return next((intent for intent, _ in prediction["topk"] if intent not in (OUT_OF_SCOPE, HANDOFF_INTENT)), None)
