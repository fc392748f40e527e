"""The Telegram channel: a python-telegram-bot Application over the dialogue engine.

Handlers are small and registered in one place (`build_application`). The token comes from
the environment only and is never logged.
"""

from __future__ import annotations

import logging
import os
import re
from zoneinfo import ZoneInfo

from telegram import (
    BotCommand,
    BotCommandScopeChat,
    BotCommandScopeDefault,
    InlineKeyboardButton,
    InlineKeyboardMarkup,
    Message,
    Update,
)
from telegram.constants import ParseMode
from telegram.error import BadRequest
from telegram.ext import (
    AIORateLimiter,
    Application,
    ApplicationBuilder,
    CallbackQueryHandler,
    CommandHandler,
    ContextTypes,
    Defaults,
    MessageHandler,
    filters,
)

from bot.admin import register_admin
from bot.delivery import at_least_once_bot
from bot.engine import DOWN, UP, Incoming, Reply
from bot.flood import FloodGuard
from bot.masking import mask_in_logs
from bot.runtime import Runtime, open_runtime
from bot.telegram_send import language_of_user, send
from storage.conversations import Conversations
from training.config import Config, TelegramSettings
from training.domain import OUT_OF_SCOPE

log = logging.getLogger(__name__)
CHANNEL = "telegram"
_CALLBACK = re.compile(r"^(\d{1,15}):([a-z_]{1,40})$")
_FORGET = re.compile(r"^f:(yes|no)$")
USER_COMMANDS = [
    ("start", "Start the conversation"),
    ("help", "What I can help with"),
    ("forget", "Delete everything stored about me"),
]


# --- pure helpers --------------------------------------------------------------------------


def encode_choice(message_id: int, choice: str) -> str:
    """Button payload: the stored message and the choice, well inside Telegram's 64 bytes."""
    data = f"{message_id}:{choice}"
    if len(data.encode()) > 64:
        raise ValueError(f"callback data too long: {data!r}")
    return data


def decode_choice(data: str | None) -> tuple[int, str] | None:
    """Inverse of encode_choice; None for anything malformed (forged or stale buttons)."""
    match = _CALLBACK.match(data or "")
    return (int(match[1]), match[2]) if match else None


def keyboard(reply: Reply) -> InlineKeyboardMarkup | None:
    if not reply.buttons or reply.message_id is None:
        return None
    feedback = [b for b in reply.buttons if b.choice in (UP, DOWN)]
    others = [b for b in reply.buttons if b.choice not in (UP, DOWN)]
    rows = [[InlineKeyboardButton(b.label, callback_data=encode_choice(reply.message_id, b.choice))] for b in others]
    if feedback:
        rows.append([InlineKeyboardButton(b.label, callback_data=encode_choice(reply.message_id, b.choice)) for b in feedback])
    return InlineKeyboardMarkup(rows)


# --- handlers ------------------------------------------------------------------------------


def _runtime(context: ContextTypes.DEFAULT_TYPE) -> Runtime:
    return context.bot_data["runtime"]


async def on_start(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    domain = _runtime(context).domain
    await send(context, update.effective_chat.id, domain.message("start", language_of_user(update)))


async def on_help(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    domain = _runtime(context).domain
    lang = language_of_user(update)
    topics = [f"• {i.title[lang]}" for name, i in sorted(domain.intents.items()) if name != OUT_OF_SCOPE]
    text = "\n".join([domain.message("help", lang), *topics, "", domain.message("help_footer", lang)])
    await send(context, update.effective_chat.id, text)


def _addressed_text(message: Message, bot_username: str, bot_id: int) -> str | None:
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


async def on_text(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    runtime = _runtime(context)
    message = update.effective_message
    if update.edited_message and runtime.config.telegram.edited_messages == "ignore":
        return
    text = _addressed_text(message, context.bot.username, context.bot.id)
    if text is None:
        return
    user = update.effective_user
    incoming = Incoming(
        CHANNEL, str(user.id), str(message.chat_id), text, user.language_code, f"{CHANNEL}:{update.update_id}"
    )
    allowed, notify = context.bot_data["flood"].hit(str(user.id))
    if not allowed:
        await runtime.call(runtime.engine.record, incoming)
        if notify:
            await send(context, message.chat_id, runtime.domain.message("rate_limited", language_of_user(update)))
        return
    reply, alert = await runtime.call(_answer, runtime, incoming)
    if reply is not None:
        await send(context, message.chat_id, reply.text, keyboard(reply))
        if reply.message_id is not None:  # delivered: a redelivery of this update is now a duplicate
            await runtime.call(runtime.engine.conversations.mark_answered, reply.message_id)
    if alert:
        for admin in runtime.config.telegram.admin_ids:
            await send(context, admin, alert)


def _answer(runtime: Runtime, incoming: Incoming) -> tuple[Reply | None, str | None]:
    """On the storage thread: a new update's answer, or a redelivered one's if it never reached the
    customer; and the storage-failure alert for admins, if this message raised one."""
    reply = runtime.engine.handle(incoming) or runtime.engine.unanswered(incoming.external_key)
    return reply, runtime.engine.pending.take_alert()


async def on_other(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """Photos, stickers, voice, files, locations, contacts: we read text only."""
    domain = _runtime(context).domain
    await send(context, update.effective_chat.id, domain.message("text_only", language_of_user(update)))


async def on_button(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    query = update.callback_query
    runtime = _runtime(context)
    decoded = decode_choice(query.data)
    if decoded is None:
        await query.answer(runtime.domain.message("choice_expired", language_of_user(update)))
        return
    message_id, choice = decoded
    reply = await runtime.call(runtime.engine.choose, message_id, CHANNEL, str(query.from_user.id), choice)
    if reply.action == "refused":
        await query.answer(reply.text, show_alert=False)
        return
    await query.answer()
    try:
        await query.edit_message_reply_markup(reply_markup=None)
    except BadRequest as exc:  # already edited by a concurrent press
        log.info("keyboard of message %s not removed: %s", message_id, exc)
    await send(context, query.message.chat_id, reply.text, keyboard(reply))


async def on_forget(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """Ask before erasing: one tap on a button nobody else can see (private chat only)."""
    domain, lang = _runtime(context).domain, language_of_user(update)
    buttons = [
        InlineKeyboardButton(domain.message("forget_yes", lang), callback_data="f:yes"),
        InlineKeyboardButton(domain.message("forget_no", lang), callback_data="f:no"),
    ]
    await send(context, update.effective_chat.id, domain.message("forget_ask", lang), InlineKeyboardMarkup([buttons]))


async def on_forget_button(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """Erase the presser's data, or not. The reply is sent directly, so it is never stored."""
    query = update.callback_query
    runtime, lang = _runtime(context), language_of_user(update)
    if query.message is None or query.message.chat.id != query.from_user.id:  # only their own private chat
        await query.answer(runtime.domain.message("choice_expired", lang))
        return
    await query.answer()
    try:
        await query.edit_message_reply_markup(reply_markup=None)
    except BadRequest as exc:  # a second press on the same prompt
        log.info("forget keyboard not removed: %s", exc)
    if query.data == "f:no":
        await send(context, query.message.chat_id, runtime.domain.message("forget_cancelled", lang))
        return
    counts = await runtime.call(Conversations(runtime.db).forget, CHANNEL, str(query.from_user.id))
    await send(context, query.message.chat_id, runtime.domain.message("forget_done", lang).format(**counts))


async def on_error(update: object, context: ContextTypes.DEFAULT_TYPE) -> None:
    """Log with the update id; tell the customer something went wrong, never how."""
    update_id = update.update_id if isinstance(update, Update) else None
    log.error("error while handling update %s", update_id, exc_info=context.error)
    if isinstance(update, Update) and update.effective_chat:
        lang = language_of_user(update)
        try:
            await context.bot.send_message(update.effective_chat.id, _runtime(context).domain.message("error", lang))
        except Exception:  # noqa: BLE001 - the error handler must never raise
            log.exception("could not tell chat %s about the error", update.effective_chat.id)


# --- application ---------------------------------------------------------------------------


async def refresh_model(context: ContextTypes.DEFAULT_TYPE) -> None:
    """Pick up a promotion or rollback made by another process (CLI, a training run)."""
    runtime = _runtime(context)
    await runtime.call(runtime.model.refresh)


async def _post_init(app: Application) -> None:
    commands = [BotCommand(name, text) for name, text in USER_COMMANDS]
    await app.bot.set_my_commands(commands, scope=BotCommandScopeDefault())
    admin_commands = commands + [BotCommand(name, text) for name, text in app.bot_data.get("admin_commands", [])]
    for admin in app.bot_data["runtime"].config.telegram.admin_ids:
        await app.bot.set_my_commands(admin_commands, scope=BotCommandScopeChat(admin))


async def _post_shutdown(app: Application) -> None:
    app.bot_data["runtime"].close()


def build_application(runtime: Runtime, token: str) -> Application:
    """The one place the Telegram application is assembled from config."""
    mask_in_logs(token)
    t = runtime.config.telegram
    defaults = Defaults(parse_mode=ParseMode.HTML, tzinfo=ZoneInfo(t.timezone))
    limiter = AIORateLimiter(max_retries=3) if t.outgoing_rate_limit else None
    bot, processor, webhook_queue = at_least_once_bot(token, t.api_base_url, defaults, limiter)
    builder = ApplicationBuilder().update_queue(webhook_queue) if t.mode == "webhook" else ApplicationBuilder()
    app = (
        builder
        .bot(bot)
        .concurrent_updates(processor)
        .post_init(_post_init)
        .post_shutdown(_post_shutdown)
        .build()
    )
    app.bot_data["runtime"] = runtime
    app.bot_data["flood"] = FloodGuard(t.rate_limit_messages, t.rate_limit_seconds)
    messages = filters.UpdateType.MESSAGES  # channel posts are ignored
    app.add_handler(CommandHandler("start", on_start, filters=messages))
    app.add_handler(CommandHandler("help", on_help, filters=messages))
    app.add_handler(CommandHandler("forget", on_forget, filters=messages & filters.ChatType.PRIVATE))
    app.add_handler(MessageHandler(messages & filters.TEXT & ~filters.COMMAND, on_text))
    app.add_handler(MessageHandler(messages & filters.ChatType.PRIVATE & ~filters.TEXT, on_other))
    register_admin(app, runtime)  # before on_button: its review buttons have their own pattern
    app.job_queue.run_repeating(refresh_model, interval=t.model_check_seconds, name="model-refresh")
    app.add_handler(CallbackQueryHandler(on_forget_button, pattern=_FORGET))  # before on_button, which takes all
    app.add_handler(CallbackQueryHandler(on_button))
    app.add_error_handler(on_error)
    return app


def webhook_options(t: TelegramSettings) -> dict:
    """run_webhook's arguments from config; the secret Telegram must send only from the environment."""
    return {"listen": t.webhook_listen, "port": t.webhook_port, "url_path": t.webhook_path,
            "webhook_url": t.webhook_url, "secret_token": os.environ.get("TELEGRAM_WEBHOOK_SECRET"),
            "allowed_updates": Update.ALL_TYPES}


def run_telegram(config: Config) -> int:
    """Run until SIGINT/SIGTERM: PTB stops fetching, finishes updates in flight, then closes."""
    runtime = open_runtime(config)
    app = build_application(runtime, os.environ["TELEGRAM_BOT_TOKEN"])
    if config.telegram.mode == "webhook":
        app.run_webhook(**webhook_options(config.telegram))
    else:
        app.run_polling(allowed_updates=Update.ALL_TYPES)
    return 0
