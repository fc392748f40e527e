"""The customer's side of a handoff on Telegram: opening their topic, and copying their messages into it.

A handoff's reply ("I've passed your conversation to our team…") is sent only after the topic
holds the header; if the staff group cannot be reached, the customer gets the shop's contact
instead and admins are told. While a person holds the conversation, each customer message is
copied into the topic (copyMessage: text, photos, files, voice, stickers alike) and counts as
answered once Telegram accepted the copy.
"""

from __future__ import annotations

import logging

from telegram import InlineKeyboardButton, InlineKeyboardMarkup, Message
from telegram.error import BadRequest, TelegramError

from bot.channels import callbacks
from bot.channels.callbacks import StaffVerb
from bot.channels.telegram_context import Context
from bot.channels.telegram_send import alert_admins, send, with_retries
from bot.replies import Reply
from bot.usecases import conversation, handoff
from bot.usecases.handoff import Opening, Relay

log = logging.getLogger(__name__)
# Telegram's error texts, lower case: PTB capitalises the description ("Topic_not_modified").
NOT_MODIFIED = "topic_not_modified"
THREAD_GONE = ("thread not found", "topic_id_invalid")  # sending to / managing a topic that was deleted
MEDIA = ("photo", "document", "voice", "video", "video_note", "audio", "sticker", "animation", "location", "contact")
TOPIC_LOST = ("Handoff {handoff_id}: staff deleted the customer's topic and no new one could be made ({reason}); "
              "the customer was given the shop's contact and the bot answers them again.")
NOT_OPENED = "A customer asked for a person but the staff group could not take it ({reason}); they were given the shop's contact instead."


def staff_keyboard(handoff_id: int, proposed_intent: str | None) -> InlineKeyboardMarkup:
    """Under the header: claim, resolve (confirming the bot's guess as a label), back to the bot, label."""
    button = lambda text, verb, intent=None: InlineKeyboardButton(  # noqa: E731
        text, callback_data=callbacks.staff(handoff_id, verb, intent))
    resolve = [button("✅ Resolve", StaffVerb.RESOLVE)]
    if proposed_intent:
        resolve.insert(0, button(f"✅ Resolve: it was {proposed_intent}", StaffVerb.RESOLVE, proposed_intent))
    return InlineKeyboardMarkup([
        [button("🙋 I'm on it", StaffVerb.CLAIM)],
        resolve,
        [button("🤖 Back to the bot", StaffVerb.BOT), button("🏷 Label…", StaffVerb.PICK)],
    ])


async def hand_over(context: Context, reply: Reply, display_name: str) -> Reply:
    """Open the handoff a reply announces, then return the reply to send: as it was, or the shop's
    contact when the staff group could not take it. `display_name`: the customer's, for the topic's title."""
    data = context.bot_data
    opening = await data.worker.run(handoff.opening, reply.handoff_id, display_name)
    if opening is None:  # nothing to open: no staff group here, or opened before this redelivery
        return reply
    try:
        thread_id = await _post_header(context, opening)
    except TelegramError as exc:
        log.error("handoff %s could not be opened in the staff group: %s", opening.handoff_id, exc)
        await alert_admins(context, NOT_OPENED.format(reason=exc.message))
        return await data.worker.run(handoff.not_opened, opening.handoff_id, exc.message)
    await data.worker.run(handoff.opened, opening.handoff_id, thread_id, opening.title)
    return reply


async def _post_header(context: Context, opening: Opening) -> int:
    """The topic of `opening` holds its header and the staff buttons: its thread id."""
    thread_id = await _topic(context, opening)
    await send(context, opening.staff_chat_id, opening.header,
               staff_keyboard(opening.handoff_id, opening.proposed_intent), thread_id=thread_id)
    return thread_id


async def _topic(context: Context, opening: Opening) -> int:
    """The customer's topic: their earlier one reopened and retitled, or a new one."""
    bot, chat = context.bot, opening.staff_chat_id
    if opening.thread_id is not None:
        try:
            await _unless_unchanged(bot.reopen_forum_topic(chat, opening.thread_id))
            await _unless_unchanged(bot.edit_forum_topic(chat, opening.thread_id, name=opening.title))
            return opening.thread_id
        except BadRequest as exc:
            if not _thread_gone(exc):  # staff deleted it by hand: a new one below
                raise
    topic = await bot.create_forum_topic(chat, opening.title)
    return topic.message_thread_id


async def _unless_unchanged(call) -> None:
    """Telegram refuses to reopen an open topic or rename it to its name: both are fine here."""
    try:
        await call
    except BadRequest as exc:
        if NOT_MODIFIED not in exc.message.lower():
            raise


def media_text(message: Message, caption: str | None = None) -> str:
    """How a photo, file, voice or sticker is stored: its kind and caption, `[photo] the box was crushed`."""
    kind = next((k for k in MEDIA if getattr(message, k, None)), "file")
    caption = message.caption if caption is None else caption
    return f"[{kind}] {caption or ''}".strip()


async def relay_to_staff(context: Context, reply: Reply, message: Message) -> None:
    """Copy a held customer's message into their topic, in the order they wrote (bot/channels/relay_order.py);
    recorded as answered once Telegram took it. A topic staff deleted by hand is made again first."""
    data = context.bot_data
    async with data.relay_order.of(message.chat_id):
        relay = await data.worker.run(handoff.customer_relay, reply)
        if relay is None:
            return
        try:
            copy = await _copy(context, relay, message)
        except BadRequest as exc:
            if not _thread_gone(exc):
                raise
            log.warning("handoff %s: its topic is gone (%s); opening a new one", relay.handoff_id, exc.message)
            relay, copy = await _into_new_topic(context, relay, message)
        if copy is not None:
            await data.worker.run(handoff.relayed, relay, copy.message_id, False)


async def _copy(context: Context, relay: Relay, message: Message) -> Message:
    return await with_retries(
        lambda: context.bot.copy_message(int(relay.to_chat_id), message.chat_id, message.message_id,
                                         message_thread_id=relay.thread_id),
        context.bot_data.config.telegram.send_retries,
    )


async def _into_new_topic(context: Context, relay: Relay, message: Message) -> tuple[Relay, Message | None]:
    """The held customer's topic again (header and conversation so far), then their message in it. If
    that fails too, the customer is told honestly (the shop's contact: staff did not get it) and admins
    are alerted; no copy then."""
    data = context.bot_data
    opening = await data.worker.run(handoff.topic_gone, relay, message.from_user.first_name)
    if opening is None:  # the handoff ended meanwhile: the message is the model's again on redelivery
        return relay, None
    try:
        thread_id = await _post_header(context, opening)
        relay = await data.worker.run(handoff.moved, relay, thread_id, opening.title)
        return relay, await _copy(context, relay, message)
    except TelegramError as exc:
        log.error("handoff %s lost its topic and no new one could be made: %s", relay.handoff_id, exc)
        await alert_admins(context, TOPIC_LOST.format(handoff_id=relay.handoff_id, reason=exc.message))
        told = await data.worker.run(handoff.topic_lost, relay, exc.message)
        await send(context, message.chat_id, told.text)
        await data.worker.run(conversation.delivered, told.message_id)
        return relay, None


def _thread_gone(exc: BadRequest) -> bool:
    return any(text in exc.message.lower() for text in THREAD_GONE)
