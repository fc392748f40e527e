"""Staff on Telegram: replies in a customer's topic go to the customer; buttons and commands end it.

Only members of the staff group speak for the shop, and only in a topic that holds a handoff:
messages from bots, outside a topic, in a topic whose handoff is over or whose customer ran
/forget, are ignored. The staff group is never a customer chat (its handlers are the only ones
that see it), so a staff message that Telegram marks as a reply to the topic's first message, the
bot's, is never answered by the model. Lines starting with // are notes for staff, not relayed. A text
staff edit after it reached the customer is edited in the customer's chat too.
"""

from __future__ import annotations

import html
import logging

from telegram import InlineKeyboardButton, InlineKeyboardMarkup, Message, Update
from telegram.error import BadRequest, Forbidden, TelegramError

from bot.channels import callbacks
from bot.channels.callbacks import StaffVerb
from bot.channels.telegram_context import CHANNEL, Context
from bot.channels.telegram_handover import media_text
from bot.channels.telegram_send import send, with_retries
from bot.usecases import handoff
from bot.usecases.access import Actor
from bot.usecases.handoff import Change

log = logging.getLogger(__name__)
NOTE = "//"
BLOCKED = "⚠️ The customer has blocked the bot: they did not get this message."
NOT_HELD = "This topic holds no open handoff (resolved, handed back, or the customer asked to be forgotten)."
CORRECTED = "{name} (correction): {text}"
NOT_MODIFIED = "message is not modified"
LABEL_USAGE = "Unknown intent {intent!r}. /label without an intent shows the list."


def staff_actor(update: Update) -> Actor:
    return Actor(f"{CHANNEL}:{update.effective_user.id}")


async def _may_speak(update: Update, context: Context) -> bool:
    """A person (not a bot), in a topic of the staff group, who is a member of it."""
    message, user, staff = update.effective_message, update.effective_user, context.bot_data.staff
    if user is None or user.is_bot or message is None or not message.is_topic_message:
        return False
    if not await staff.is_member(context.bot, user.id):
        log.warning("ignored a message in the staff group from %s, who is not a member", user.id)
        return False
    return True


def _relayed_text(message: Message) -> str | None:
    """What of a staff message goes to the customer: a text without its note lines, a caption as it is
    ("" for none); None for a note (a text of note lines only, or a caption starting with //)."""
    if message.text is None:
        caption = message.caption or ""
        return None if caption.lstrip().startswith(NOTE) else caption
    kept = [line for line in message.text.splitlines() if not line.lstrip().startswith(NOTE)]
    return "\n".join(kept).strip() or None


async def on_staff_message(update: Update, context: Context) -> None:
    """A member of staff wrote in a topic: stored, then sent to the customer (text with their name)."""
    message, data, user = update.effective_message, context.bot_data, update.effective_user
    if not await _may_speak(update, context) or (text := _relayed_text(message)) is None:
        return
    relay = await data.worker.run(handoff.staff_message, message.chat_id, message.message_thread_id, staff_actor(update),
                                  text if message.text is not None else media_text(message, text), staff_key(message))
    if relay is None:
        return
    try:
        if message.text is not None:
            sent = await send(context, int(relay.to_chat_id), f"{user.first_name}: {text}")
        else:
            sent = await with_retries(lambda: context.bot.copy_message(int(relay.to_chat_id), message.chat_id, message.message_id),
                                      data.config.telegram.send_retries)
    except Forbidden:
        await send(context, message.chat_id, BLOCKED, thread_id=message.message_thread_id)
        return
    await data.worker.run(handoff.relayed, relay, sent.message_id, True)


async def on_staff_edit(update: Update, context: Context) -> None:
    """A member of staff corrected a text the customer got: their copy is edited the same way, or, where
    Telegram refuses (the customer deleted it, or it is too old to edit), the correction is sent."""
    message, data, user = update.effective_message, context.bot_data, update.effective_user
    if not await _may_speak(update, context) or (text := _relayed_text(message)) is None:
        return
    copy = await data.worker.run(handoff.staff_edit, message.chat_id, message.message_thread_id, staff_key(message), text)
    if copy is None:
        return
    shown = f"{user.first_name}: {text}"
    try:
        await with_retries(lambda: context.bot.edit_message_text(html.escape(shown, quote=False), int(copy.chat_id),
                                                                 copy.message_id), data.config.telegram.send_retries)
    except BadRequest as exc:
        if NOT_MODIFIED in exc.message.lower():  # a redelivered edit: done before
            return
        log.info("the customer's copy was not edited (%s): the correction is sent", exc.message)
        await send(context, int(copy.chat_id), CORRECTED.format(name=user.first_name, text=text))
    except Forbidden:
        await send(context, message.chat_id, BLOCKED, thread_id=message.message_thread_id)


def staff_key(message: Message) -> str:
    """A staff message's key: its place in the staff group, which its redelivery and its edits both carry."""
    return f"{CHANNEL}:staff:{message.chat_id}:{message.message_id}"


async def tell_change(context: Context, change: Change) -> None:
    """The customer hears of the change (unless they blocked the bot); the topic's title follows it."""
    if change.customer_text:
        try:
            await send(context, int(change.customer_chat_id), change.customer_text)
        except Forbidden:
            await send(context, change.staff_chat_id, BLOCKED, thread_id=change.thread_id)
    if change.title:
        await _quietly(context.bot.edit_forum_topic(change.staff_chat_id, change.thread_id, name=change.title))


async def close_change(context: Context, change: Change) -> None:
    await tell_change(context, change)
    await _quietly(context.bot.close_forum_topic(change.staff_chat_id, change.thread_id))


async def _quietly(call) -> None:
    """Topic housekeeping (rename, close) that failing must not undo what was done: logged only."""
    try:
        await call
    except TelegramError as exc:
        log.info("staff topic not updated: %s", exc)


async def _act(update: Update, context: Context, verb: StaffVerb, handoff_id: int | None,
               intent: str | None) -> str:
    """One staff action, from a button or a command; what staff are told."""
    message, data = update.effective_message, context.bot_data
    where = (message.chat_id, message.message_thread_id)
    actor = staff_actor(update)
    if verb == StaffVerb.CLAIM:
        change = await data.worker.run(handoff.claim, actor, *where, handoff_id, update.effective_user.first_name)
        if change:
            await tell_change(context, change)
        return f"Claimed by {update.effective_user.first_name}." if change else NOT_HELD
    if verb in (StaffVerb.RESOLVE, StaffVerb.BOT):
        usecase = handoff.resolve if verb == StaffVerb.RESOLVE else handoff.hand_back
        args = (intent,) if verb == StaffVerb.RESOLVE else ()
        change = await data.worker.run(usecase, actor, *where, handoff_id, *args)
        if change:
            await close_change(context, change)
        done = "Resolved" + (f", labelled {intent}" if intent else "") if verb == StaffVerb.RESOLVE else "Handed back to the bot"
        return f"{done}." if change else NOT_HELD
    labelled = await data.worker.run(handoff.label, actor, *where, intent)
    return f"Labelled {intent}: it goes into tonight's training." if labelled else NOT_HELD


async def on_staff_button(update: Update, context: Context) -> None:
    """The header's buttons and the label picker."""
    query = update.callback_query
    pressed = callbacks.parse_staff(query.data)
    if not context.bot_data.staff.is_staff_chat(query.message.chat_id if query.message else None) \
            or not await context.bot_data.staff.is_member(context.bot, query.from_user.id):
        await query.answer(NOT_HELD)
        return
    if pressed.verb == StaffVerb.PICK:
        await query.answer()
        await _picker(update, context, pressed.handoff_id)
        return
    try:
        text = await _act(update, context, pressed.verb, pressed.handoff_id, pressed.intent)
    except ValueError:
        text = LABEL_USAGE.format(intent=pressed.intent)
    await query.answer(text[:200])
    if text != NOT_HELD and pressed.verb != StaffVerb.CLAIM:  # done: its buttons go
        await _quietly(query.edit_message_reply_markup(reply_markup=None))


async def _picker(update: Update, context: Context, handoff_id: int) -> None:
    """A button per intent; `handoff_id` 0 (from /label) stands for the topic's current handoff."""
    names = await context.bot_data.worker.run(handoff.intents)
    buttons = [InlineKeyboardButton(n, callback_data=callbacks.staff(handoff_id, StaffVerb.LABEL, n)) for n in names]
    rows = [buttons[i:i + 2] for i in range(0, len(buttons), 2)]
    message = update.effective_message
    await send(context, message.chat_id, "Which intent was the customer's question?", InlineKeyboardMarkup(rows),
               thread_id=message.message_thread_id)


async def _command(update: Update, context: Context, verb: StaffVerb, intent: str | None = None) -> None:
    if not await _may_speak(update, context):
        return
    message = update.effective_message
    try:
        text = await _act(update, context, verb, None, intent)
    except ValueError:
        text = LABEL_USAGE.format(intent=intent)
    await send(context, message.chat_id, text, thread_id=message.message_thread_id)


async def on_resolve(update: Update, context: Context) -> None:
    await _command(update, context, StaffVerb.RESOLVE)


async def on_bot(update: Update, context: Context) -> None:
    await _command(update, context, StaffVerb.BOT)


async def on_label(update: Update, context: Context) -> None:
    """/label INTENT labels the customer's question (or, as a reply, the relayed message); /label alone shows the list."""
    if not context.args:
        if await _may_speak(update, context):
            await _picker(update, context, 0)
        return
    replied = update.effective_message.reply_to_message
    copy_id = replied.message_id if replied is not None and replied.message_id != update.effective_message.message_thread_id else None
    if not await _may_speak(update, context):
        return
    message = update.effective_message
    try:
        labelled = await context.bot_data.worker.run(handoff.label, staff_actor(update), message.chat_id,
                                                     message.message_thread_id, context.args[0], copy_id)
        text = f"Labelled {context.args[0]}: it goes into tonight's training." if labelled else NOT_HELD
    except ValueError:
        text = LABEL_USAGE.format(intent=context.args[0])
    await send(context, message.chat_id, text, thread_id=message.message_thread_id)


async def delete_topic(context: Context, topic: tuple[int, int] | None) -> None:
    """/forget: the customer's staff conversation goes too (Telegram's copy of it)."""
    if topic is None:
        return
    try:
        await context.bot.delete_forum_topic(*topic)
    except (BadRequest, Forbidden) as exc:
        log.warning("the staff topic of a forgotten customer was not deleted: %s", exc)
