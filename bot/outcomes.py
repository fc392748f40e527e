"""What became of each answer: the definition of every outcome, and the rules that decide it.

Every customer message the model classified gets one row (storage/outcomes.py) with the model
version, and the A/B arm, that answered it. What happens next decides its outcome, once, the first
of these to happen:

    outcome       decided
    fallback      at once: the model could not answer the message (also when that fallback makes
                  [handoff] fallbacks_in_a_row and a person takes over: the bot could not answer it)
    handoff       at once when the answer is a person (the customer asked for one); later, a handoff
                  within the window: "talk to a person", /human, asking again, 👎 in a row, the shop's system
    thumbs_down   👎 on the answer within the window
    rephrased     the customer writes again within the window and the bot does not confidently answer
                  another question: the same intent again (answered, suggested or asked), a fallback,
                  or suggestions of another
    resolved      👍 within the window; the window passes quietly; or within it the customer moves on:
                  another intent answered confidently (a "thanks" too), or they call off the bot's question

The window is [outcomes] window_minutes from the bot's latest reply in the exchange. Containment
(stats) is the share resolved: helped without a person, a rephrase, a 👎 or a fallback.

Edge cases, decided here:
- Suggestions: the row stays open until the customer chooses; the chosen answer is the answer (the
  row takes its intent and the window starts again); "talk to a person" is a handoff.
- A question for an action ("your order number?"): the row stays open; the customer's reply to it,
  which the bot answers under the same intent (asked again or answered), is the same exchange, with
  no row of its own; the window starts again and the final answer is judged like any other (a 👍/👎
  on it is the exchange's).
- The shop's system: its answer is the answer, its "handoff" a handoff, its failure (the general
  answer, an apology and a person) an answer judged like any other.
- Messages the model never saw neither get a row nor decide one: those relayed to a person who holds
  the conversation (not answered by the bot), in a language the bot does not speak, with nothing to
  classify, while no model is live, and /start or /help. /human decides the open row as a handoff;
  /cancel (or "never mind") as resolved: the customer ended the exchange, nothing the bot said failed.
- An answer given while the database refused writes (held in memory, bot/pending.py) is stored later
  without a row: what the customer did meanwhile was never seen in order.
- A decided row is final. A 👍/👎 given later (after the customer moved on, or after the window) is
  kept as the row's rating, counted in the 👍/👎 rates, and changes no outcome. A window that passed is
  resolved as of when it passed, whether the clock (`expire`) or the customer's next event finds it.
- Several at once: the handoff a message asks for decides the open row before the message itself
  does, so "a person, please" after an answer makes that answer's outcome handoff, not rephrased.

Incremental: each event reads and writes one customer's open row through an index, and the clock
resolves expired rows through another; nothing scans the table.
"""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

from sqlite_utils import Database

from bot.replies import Reply
from storage.db import stamp
from storage.messages import StoredMessage
from storage.outcomes import Answered, OpenRow, Outcome, Outcomes
from training.config import Config
from training.domain import OUT_OF_SCOPE
from training.policy import Action
from training.tokenize import tokenize

CONFIDENT = (Action.ANSWER, Action.ASK)  # answered without doubt (ASK: answered, but a detail is needed first)
WITHOUT_MODEL = {Action.HANDOFF: Outcome.HANDOFF, Action.CANCELLED: Outcome.RESOLVED}  # /human, a button; /cancel


def fingerprint(text: str) -> int:
    """A message's words as the model reads them (case, spacing and punctuation aside), as a 64-bit number: two
    fallbacks with the same fingerprint are the same request on the owner's to-do list (stats)."""
    words = " ".join(tokenize(text)).encode()
    return int.from_bytes(hashlib.blake2b(words, digest_size=8).digest(), "big", signed=True)


def at_once(model: Action, reply: Action) -> Outcome | None:
    """A row the answer itself decides (`model`: what the model made of the message, `reply`: what the
    customer got); None leaves it open for what comes next."""
    if model == Action.FALLBACK:
        return Outcome.FALLBACK
    return Outcome.HANDOFF if reply == Action.HANDOFF else None


def after(row: OpenRow, model: Action, reply: Reply) -> Outcome:
    """What the customer's next classified message, within the window, makes of their open row."""
    if reply.action == Action.HANDOFF:
        return Outcome.HANDOFF
    moved_on = model != Action.FALLBACK and reply.action in CONFIDENT and reply.intent != row.intent
    return Outcome.RESOLVED if moved_on else Outcome.REPHRASED


def continues(row: OpenRow, reply: Reply) -> bool:
    """The customer answered the bot's question: the bot answered (or asked again) under the same intent."""
    return row.asked and reply.action in CONFIDENT and reply.intent == row.intent


class OutcomeTracker:
    """On the worker thread, like the engine that calls it when it replies, hands over or is rated."""

    def __init__(self, db: Database, config: Config) -> None:
        self.rows = Outcomes(db)
        self.window = timedelta(minutes=config.outcomes.window_minutes)
        self.zone = ZoneInfo(config.telegram.timezone)

    def replied(self, message: StoredMessage, reply: Reply, prediction: dict | None) -> None:
        """The bot replied to `message`: the model's answer (`prediction`), or a button's or a command's."""
        now = datetime.now(UTC)
        row = self._open(message.user_id, now)
        if prediction is None:
            self._without_model(row, message, reply, now)
            return
        if row is not None and continues(row, reply):
            self.rows.carry_on(row.message_id, reply.intent, reply.action == Action.ASK, stamp(now + self.window))
            return
        if row is not None:
            self.rows.decide(row.message_id, after(row, prediction["action"], reply), stamp(now))
        self.rows.add(self._answered(message, reply, prediction, now), at_once(prediction["action"], reply.action))

    def handed_over(self, user_id: int) -> None:
        """A person takes over (or the shop's contact is given): the customer's open row is a handoff."""
        now = datetime.now(UTC)
        if (row := self._open(user_id, now)) is not None:
            self.rows.decide(row.message_id, Outcome.HANDOFF, stamp(now))

    def rated(self, message: StoredMessage, positive: bool) -> None:
        """👍/👎 on the answer to `message`: the rating of its row (of the exchange it continued, when it has
        none), and the row's outcome while it is open."""
        now = datetime.now(UTC)
        row = self._open(message.user_id, now)
        if self.rows.rate(message.id, positive):
            rated_open = row is not None and row.message_id == message.id
        else:  # a reply within an exchange: the open row's, if it came after the row's message
            rated_open = row is not None and row.message_id < message.id and self.rows.rate(row.message_id, positive)
        if rated_open:
            self.rows.decide(row.message_id, Outcome.RESOLVED if positive else Outcome.THUMBS_DOWN, stamp(now))

    def expire(self) -> int:
        """Resolve every row whose window passed (the clock's job, and stats before they count)."""
        return self.rows.expire(stamp(datetime.now(UTC)))

    def _open(self, user_id: int, now: datetime) -> OpenRow | None:
        """The customer's open row; one whose window passed is resolved first, as of then, and is none."""
        row = self.rows.open_row(user_id)
        if row is not None and row.due_at <= stamp(now):
            self.rows.decide(row.message_id, Outcome.RESOLVED, row.due_at)
            return None
        return row

    def _without_model(self, row: OpenRow | None, message: StoredMessage, reply: Reply, now: datetime) -> None:
        """A reply to a button or a command: a handoff or a cancel decides the open row; a suggestion chosen
        under the open row's own answer is its answer now."""
        if row is None:
            return
        if (outcome := WITHOUT_MODEL.get(reply.action)) is not None:
            self.rows.decide(row.message_id, outcome, stamp(now))
        elif reply.action in CONFIDENT and row.message_id == message.id:
            self.rows.carry_on(row.message_id, reply.intent, reply.action == Action.ASK, stamp(now + self.window))

    def _answered(self, message: StoredMessage, reply: Reply, prediction: dict, now: datetime) -> Answered:
        fell_back = prediction["action"] == Action.FALLBACK
        return Answered(
            message_id=message.id, user_id=message.user_id, model_version=prediction["model_version"],
            arm=prediction.get("arm"), intent=OUT_OF_SCOPE if fell_back else reply.intent, language=message.language,
            day=now.astimezone(self.zone).date().isoformat(), answered_at=stamp(now),
            due_at=stamp(now + self.window), asked=reply.action == Action.ASK,
            said=fingerprint(message.text) if fell_back else None,
        )
