"""The Telegram channel assembled: a python-telegram-bot Application over the use cases.

Every handler is registered here, each callback handler with its own pattern (bot/channels/callbacks.py),
so the order below carries no meaning. The token comes from the environment only and is masked on
every way out of the process (bot/masking.py); Telegram refusing it ends the process with one line.
At start, what an admin must act on (an admin id Telegram does not know, a live model that does not
load) is told to the admins who can be reached, once.
"""

from __future__ import annotations

import logging
import os
from zoneinfo import ZoneInfo

from telegram import BotCommand, BotCommandScopeChat, BotCommandScopeDefault, Update
from telegram.constants import ParseMode
from telegram.error import BadRequest, Forbidden, InvalidToken, TelegramError
from telegram.ext import (
    AIORateLimiter,
    Application,
    ApplicationBuilder,
    CallbackQueryHandler,
    CommandHandler,
    Defaults,
    MessageHandler,
    filters,
)

from bot.actions import ActionsClient
from bot.channels import callbacks, telegram_admin, telegram_customer, telegram_jobs, telegram_staff
from bot.channels.delivery import at_least_once_bot
from bot.channels.flood import FloodGuard
from bot.channels.relay_order import RelayOrder
from bot.channels.staff_group import StaffGroup
from bot.channels.telegram_context import CHANNEL, CONTEXT_TYPES
from bot.fulfilment import SECRET_ENV
from bot.masking import TokenRefused, mask_in_logs
from bot.retrain import Retrainer
from bot.runtime import Runtime, open_runtime
from bot.usecases import handoff, models
from bot.worker import Worker
from training.config import Config, TelegramMode, TelegramSettings

log = logging.getLogger(__name__)
USER_COMMANDS = [
    ("start", "Start the conversation"),
    ("help", "What I can help with"),
    ("human", "Talk to a person"),
    ("cancel", "Cancel what I just asked you"),
    ("forget", "Delete everything stored about me"),
]


UNREACHABLE = ("Admin {admin_id} could not be reached ({reason}). They get no alerts until they open a chat "
               "with this bot and press Start; restart the bot afterwards to give them the admin menu.")
MODEL_PROBLEM = "The live model cannot answer: {problem}. /status shows every version; /rollback or /retrain fixes it."
STAFF_PROBLEM = ("Handoff to a person is off: {problem}. Until then customers who ask for a person are given the "
                 "shop's contact, and their requests are listed by `supportbot handoffs`.")


async def _post_init(app: Application) -> None:
    """The command menus (admins see theirs), what admins must know, and a nightly run missed while down."""
    commands = [BotCommand(name, text) for name, text in USER_COMMANDS]
    await app.bot.set_my_commands(commands, scope=BotCommandScopeDefault())
    reachable, notices = await _admin_menus(app, commands + [BotCommand(n, t) for n, t in telegram_admin.ADMIN_COMMANDS])
    if problem := await app.bot_data.worker.run(models.serving_problem):
        notices.append(MODEL_PROBLEM.format(problem=problem))
    if problem := await _connect_staff(app):
        notices.append(STAFF_PROBLEM.format(problem=problem))
    await _tell(app, reachable, notices)
    await telegram_customer.send_interrupted(app.context_types.context(application=app))
    await telegram_jobs.catch_up(app)


async def _connect_staff(app: Application) -> str | None:
    """Check the staff group; hand customers over only once it passed. What is wrong, if it did not."""
    staff = app.bot_data.staff
    if not staff.chat_id:
        return None
    if problem := await staff.check(app.bot):
        log.error("handoff to a person is off: %s", problem)
        return problem
    await app.bot_data.worker.run(handoff.connect_staff, CHANNEL)
    return None


async def _admin_menus(app: Application, commands: list[BotCommand]) -> tuple[list[int], list[str]]:
    """Each admin's menu; the admins reached, and a notice for each one Telegram does not know."""
    reachable, notices = [], []
    for admin in app.bot_data.config.telegram.admin_ids:
        try:
            await app.bot.set_my_commands(commands, scope=BotCommandScopeChat(admin))
        except (BadRequest, Forbidden) as exc:  # "Chat not found": they never opened a chat with the bot
            log.warning("admin %s could not be reached (%s): they must open a chat with the bot and press Start",
                        admin, exc.message)
            notices.append(UNREACHABLE.format(admin_id=admin, reason=exc.message))
        else:
            reachable.append(admin)
    return reachable, notices


async def _tell(app: Application, admins: list[int], notices: list[str]) -> None:
    """Each notice to each admin; one that fails to arrive is logged, and the bot starts anyway."""
    for admin in admins:
        for text in notices:
            try:
                await app.bot.send_message(admin, text, parse_mode=None)
            except TelegramError as exc:
                log.warning("admin %s was not told %r: %s", admin, text, exc)


async def _post_shutdown(app: Application) -> None:
    await app.bot_data.actions.aclose()
    app.bot_data.worker.close()


def _add_handlers(app: Application, staff_chat_id: int) -> None:
    """Customers everywhere but the staff group; the staff group only to its own handlers, so a staff
    message is never taken for a customer's question."""
    staff = filters.Chat(staff_chat_id) if staff_chat_id else filters.Chat(chat_id=[])
    messages = filters.UpdateType.MESSAGES & ~staff  # channel posts are ignored
    private = filters.ChatType.PRIVATE
    in_staff = filters.UpdateType.MESSAGE & staff  # new messages; an edit edits the customer's copy (on_staff_edit)
    c, a, s = telegram_customer, telegram_admin, telegram_staff
    app.add_handlers([
        CommandHandler("start", c.on_start, filters=messages),
        CommandHandler("help", c.on_help, filters=messages),
        CommandHandler("human", c.on_human, filters=messages & private),
        CommandHandler("cancel", c.on_cancel, filters=messages & private),
        CommandHandler("forget", c.on_forget, filters=messages & private),
        CommandHandler("retrain", a.on_retrain, filters=messages),
        CommandHandler("status", a.on_status, filters=messages),
        CommandHandler("stats", a.on_stats, filters=messages),
        CommandHandler("rollback", a.on_rollback, filters=messages),
        CommandHandler("review", a.on_review, filters=messages),
        CommandHandler("ab", a.on_ab, filters=messages),
        CommandHandler("chatid", a.on_chatid, filters=filters.UpdateType.MESSAGES),
        CommandHandler("resolve", s.on_resolve, filters=in_staff),
        CommandHandler("bot", s.on_bot, filters=in_staff),
        CommandHandler("label", s.on_label, filters=in_staff),
        MessageHandler(in_staff & ~filters.COMMAND & ~filters.StatusUpdate.ALL, s.on_staff_message),
        MessageHandler(filters.UpdateType.EDITED_MESSAGE & staff & filters.TEXT & ~filters.COMMAND, s.on_staff_edit),
        MessageHandler(messages & filters.TEXT & ~filters.COMMAND, c.on_text),
        MessageHandler(messages & private & ~filters.TEXT, c.on_other),
        CallbackQueryHandler(c.on_choice, pattern=callbacks.CHOICE),
        CallbackQueryHandler(c.on_forget_button, pattern=callbacks.FORGET),
        CallbackQueryHandler(a.on_review_button, pattern=callbacks.REVIEW),
        CallbackQueryHandler(s.on_staff_button, pattern=callbacks.STAFF),
        CallbackQueryHandler(c.on_unknown_button, pattern=callbacks.UNKNOWN),
    ])
    app.add_error_handler(c.on_error)


def build_application(runtime: Runtime, token: str, limiter: AIORateLimiter | None = None) -> Application:
    """The one place the Telegram application is assembled from config. `limiter`: Telegram's pace with its
    windows scaled down (tests and the bench measure a minute of a staff group in seconds); by default
    Telegram's own, when [telegram] outgoing_rate_limit is on."""
    mask_in_logs(token)
    config = runtime.config
    t = config.telegram
    defaults = Defaults(parse_mode=ParseMode.HTML, tzinfo=ZoneInfo(t.timezone))
    if limiter is None and t.outgoing_rate_limit:
        limiter = AIORateLimiter(max_retries=3)
    bot, processor, webhook_queue = at_least_once_bot(token, t.api_base_url, defaults, limiter)
    builder = ApplicationBuilder().update_queue(webhook_queue) if t.mode == TelegramMode.WEBHOOK else ApplicationBuilder()
    app = (
        builder.bot(bot).context_types(CONTEXT_TYPES).concurrent_updates(processor)
        .post_init(_post_init).post_shutdown(_post_shutdown).build()
    )
    worker = Worker(runtime)
    app.bot_data.worker, app.bot_data.config, app.bot_data.domain = worker, config, runtime.domain
    app.bot_data.flood = FloodGuard(t.rate_limit_messages, t.rate_limit_seconds)
    app.bot_data.retrainer = Retrainer(worker, config.source, config.var_dir)
    app.bot_data.staff = StaffGroup(config.handoff.staff_chat_id)
    app.bot_data.actions = ActionsClient(config.actions, os.environ.get(SECRET_ENV))
    app.bot_data.relay_order = RelayOrder()
    _add_handlers(app, config.handoff.staff_chat_id)
    telegram_jobs.schedule(app)
    return app


def webhook_options(t: TelegramSettings) -> dict:
    """run_webhook's arguments from config; the secret Telegram must send only from the environment."""
    return {"listen": t.webhook_listen, "port": t.webhook_port, "url_path": t.webhook_path,
            "webhook_url": t.webhook_url, "secret_token": os.environ.get("TELEGRAM_WEBHOOK_SECRET"),
            "allowed_updates": Update.ALL_TYPES}


def run_telegram(config: Config) -> int:
    """Run until SIGINT/SIGTERM: PTB stops fetching, finishes updates in flight, then closes.
    Raises TokenRefused when Telegram answers 401 to the token (PTB's own log of it is dropped)."""
    app = build_application(open_runtime(config), os.environ["TELEGRAM_BOT_TOKEN"])
    logging.getLogger("telegram.ext").addFilter(_not_token_refusal)
    try:
        if config.telegram.mode == TelegramMode.WEBHOOK:
            app.run_webhook(**webhook_options(config.telegram))
        else:
            app.run_polling(allowed_updates=Update.ALL_TYPES)
    except InvalidToken:
        raise TokenRefused() from None
    return 0


def _not_token_refusal(record: logging.LogRecord) -> bool:
    """PTB logs a refused token with a screen of traceback before raising it; TokenRefused says it in one line."""
    return not (record.exc_info and isinstance(record.exc_info[1], InvalidToken))
