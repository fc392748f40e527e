"""Customers on Telegram: questions, button presses, /start, /help, /human and /forget.

Each handler turns an update into one use-case call on the worker and renders its result.
"""

from __future__ import annotations

import logging
import re

from telegram import InlineKeyboardButton, InlineKeyboardMarkup, Message, Update
from telegram.constants import ChatType
from telegram.error import BadRequest, TelegramError

from bot.actions.timing import timed_call
from bot.channels import callbacks
from bot.channels.telegram_context import CHANNEL, Context, language_of_user
from bot.channels.telegram_handover import hand_over, media_text, relay_to_staff
from bot.channels.telegram_send import alert_admins, send
from bot.channels.telegram_staff import delete_topic
from bot.channels.topics import help_text
from bot.replies import Control, Incoming, Reply
from bot.usecases import conversation, handoff
from bot.usecases.access import Actor
from training.config import EditedMessages
from training.policy import Action

log = logging.getLogger(__name__)
RATINGS = (Control.UP, Control.DOWN)


def keyboard(reply: Reply) -> InlineKeyboardMarkup | None:
    """Suggestions one per row, the 👍/👎 pair side by side."""
    if not reply.buttons or reply.message_id is None:
        return None
    button = lambda b: InlineKeyboardButton(b.label, callback_data=callbacks.choice(reply.message_id, b.choice))  # noqa: E731
    rows = [[button(b)] for b in reply.buttons if b.choice not in RATINGS]
    ratings = [button(b) for b in reply.buttons if b.choice in RATINGS]
    return InlineKeyboardMarkup(rows + [ratings] if ratings else rows)


async def on_start(update: Update, context: Context) -> None:
    """The greeting, in the customer's language; opened from the shop's link (`/start <token>`, private
    chats only), the customer's account linked instead (bot/account_link.py)."""
    data, chat, language = context.bot_data, update.effective_chat, language_of_user(update)
    if context.args and chat.type == ChatType.PRIVATE:
        text, _ = await data.worker.run(conversation.link_account, Actor(CHANNEL), CHANNEL, str(update.effective_user.id),
                                        language, context.args[0])
        await send(context, chat.id, text)
        return
    await send(context, chat.id, data.domain.message("start", language))


async def on_help(update: Update, context: Context) -> None:
    """What the bot can help with: every topic's title."""
    await send(context, update.effective_chat.id, help_text(context.bot_data.domain, language_of_user(update)))


def incoming_of(update: Update, text: str) -> Incoming:
    user, message = update.effective_user, update.effective_message
    return Incoming(CHANNEL, str(user.id), str(message.chat_id), text, user.language_code, f"{CHANNEL}:{update.update_id}")


async def deliver(update: Update, context: Context, reply: Reply | None) -> None:
    """A use case's reply to the customer's chat: relayed to staff while they hold it, a handoff's only
    once the staff topic has it, and recorded as delivered once Telegram accepted it."""
    if reply is None:
        return
    data, message = context.bot_data, update.effective_message
    if reply.call is not None:  # the shop's system first, awaited here: the worker never waits on the network
        # Stored, and resent at the next start if a kill cuts the call short (Engine.interrupted covers answers,
        # not a question's buttons): nobody else's update waits behind this call (delivery.py).
        if update.callback_query is None and reply.action == Action.ANSWER:
            context.bot.release(update.update_id)
        reply = await data.worker.run(conversation.acted, reply, *await timed_call(data.actions, reply.call))
    if reply.action == Action.RELAY:
        await relay_to_staff(context, reply, message)
        return
    await answer_chat(context, update.effective_chat.id, reply, update.effective_user.first_name,
                      delivered=update.callback_query is None)


async def answer_chat(context: Context, chat_id: int, reply: Reply, display_name: str, delivered: bool = True) -> None:
    """Send a reply (opening the handoff it announces first), and record its message as answered."""
    if reply.handoff_id is not None:
        reply = await hand_over(context, reply, display_name)
    await send(context, chat_id, reply.text, keyboard(reply))
    if reply.message_id is not None and delivered:
        await context.bot_data.worker.run(conversation.delivered, reply.message_id)


async def send_interrupted(context: Context) -> None:
    """At start, before any update: the answers through the shop's system that a crash cut short or left
    unsent. Their updates were confirmed early, so Telegram will not deliver them again."""
    for chat_id, reply in await context.bot_data.worker.run(conversation.interrupted, CHANNEL):
        try:
            name = (await context.bot.get_chat(chat_id)).first_name if reply.handoff_id is not None else ""
            await answer_chat(context, int(chat_id), reply, name or "")
        except TelegramError as exc:  # blocked since, or gone: tried again at the next start, for a day
            log.warning("an interrupted answer to chat %s could not be sent: %s", chat_id, exc)


def addressed_text(message: Message, bot_username: str, bot_id: int) -> str | None:
    """The text to answer: everything in private chats; in groups only when the bot is addressed."""
    text = message.text or ""
    if message.chat.type == "private":
        return text
    mention = f"@{bot_username}"
    if mention.lower() in text.lower():
        return re.sub(re.escape(mention), "", text, flags=re.IGNORECASE).strip()
    replied = message.reply_to_message
    if replied and replied.from_user and replied.from_user.id == bot_id:
        return text
    return None


async def on_text(update: Update, context: Context) -> None:
    """A question: stored, classified and answered; a flood is stored and noticed once."""
    data, message = context.bot_data, update.effective_message
    if update.edited_message and data.config.telegram.edited_messages == EditedMessages.IGNORE:
        return
    text = addressed_text(message, context.bot.username, context.bot.id)
    if text is None:
        return
    incoming = incoming_of(update, text)
    allowed, notify = data.flood.hit(incoming.user)
    if not allowed:
        await data.worker.run(conversation.record_only, incoming)
        if notify:
            await send(context, message.chat_id, data.domain.message("rate_limited", language_of_user(update)))
        return
    answered = await data.worker.run(conversation.answer, incoming)
    await deliver(update, context, answered.reply)
    if answered.alert:
        await alert_admins(context, answered.alert)


async def on_human(update: Update, context: Context) -> None:
    """/human: a person, now."""
    answered = await context.bot_data.worker.run(conversation.ask_for_person, incoming_of(update, "/human"))
    await deliver(update, context, answered.reply)
    if answered.alert:
        await alert_admins(context, answered.alert)


async def on_cancel(update: Update, context: Context) -> None:
    """/cancel: drop the question the bot asked ("Which order is it about?")."""
    answered = await context.bot_data.worker.run(conversation.cancel, incoming_of(update, "/cancel"))
    await deliver(update, context, answered.reply)
    if answered.alert:
        await alert_admins(context, answered.alert)


async def on_other(update: Update, context: Context) -> None:
    """Photos, stickers, voice, files: relayed while a person holds the conversation; otherwise we read text only."""
    incoming = incoming_of(update, media_text(update.effective_message))
    reply = await context.bot_data.worker.run(conversation.relay_media, incoming)
    if reply is not None:
        await deliver(update, context, reply)
        return
    await send(context, update.effective_chat.id, context.bot_data.domain.message("text_only", language_of_user(update)))


async def on_choice(update: Update, context: Context) -> None:
    """A suggestion, 👍/👎 or "talk to a person" under one of the bot's replies."""
    query, data = update.callback_query, context.bot_data
    pressed = callbacks.parse_choice(query.data)
    reply = await data.worker.run(conversation.press, pressed.message_id, CHANNEL, str(query.from_user.id), pressed.choice)
    if reply.action == Action.REFUSED:
        await query.answer(reply.text)
        return
    await query.answer()
    try:
        await query.edit_message_reply_markup(reply_markup=None)
    except BadRequest as exc:  # already edited by a concurrent press
        log.info("keyboard of message %s not removed: %s", pressed.message_id, exc)
    await deliver(update, context, reply)


async def on_unknown_button(update: Update, context: Context) -> None:
    """Forged or stale callback data: answered (so the client stops waiting), nothing else."""
    log.warning("unknown callback data from %s", update.callback_query.from_user.id)
    await update.callback_query.answer(context.bot_data.domain.message("choice_expired", language_of_user(update)))


async def on_forget(update: Update, context: Context) -> None:
    """Ask before erasing: one tap on a button nobody else can see (private chat only)."""
    domain, lang = context.bot_data.domain, language_of_user(update)
    buttons = [
        InlineKeyboardButton(domain.message("forget_yes", lang), callback_data=callbacks.forget(True)),
        InlineKeyboardButton(domain.message("forget_no", lang), callback_data=callbacks.forget(False)),
    ]
    await send(context, update.effective_chat.id, domain.message("forget_ask", lang), InlineKeyboardMarkup([buttons]))


async def on_forget_button(update: Update, context: Context) -> None:
    """Erase the presser's data, or not. The reply is sent directly, so it is never stored."""
    query, data, lang = update.callback_query, context.bot_data, language_of_user(update)
    if query.message is None or query.message.chat.id != query.from_user.id:  # only their own private chat
        await query.answer(data.domain.message("choice_expired", lang))
        return
    await query.answer()
    try:
        await query.edit_message_reply_markup(reply_markup=None)
    except BadRequest as exc:  # a second press on the same prompt
        log.info("forget keyboard not removed: %s", exc)
    if not callbacks.parse_forget(query.data):
        await send(context, query.message.chat_id, data.domain.message("forget_cancelled", lang))
        return
    user = str(query.from_user.id)
    topic = await data.worker.run(handoff.staff_topic, CHANNEL, user)
    counts = await data.worker.run(conversation.forget, Actor(CHANNEL), CHANNEL, user)
    await delete_topic(context, topic)
    await send(context, query.message.chat_id, data.domain.message("forget_done", lang).format(**counts))


async def on_error(update: object, context: Context) -> None:
    """Log with the update id; tell the customer something went wrong, never how."""
    update_id = update.update_id if isinstance(update, Update) else None
    log.error("error while handling update %s", update_id, exc_info=context.error)
    if isinstance(update, Update) and update.effective_chat:
        try:
            await context.bot.send_message(update.effective_chat.id, context.bot_data.domain.message("error", language_of_user(update)))
        except Exception:  # noqa: BLE001 - the error handler must never raise
            log.exception("could not tell chat %s about the error", update.effective_chat.id)
