"""Admin commands on Telegram: /retrain, /status, /rollback, /review, and the nightly jobs.

Admins are the Telegram user ids in config, and only in a private chat with the bot; every
attempt, allowed or refused, goes to the audit table.
"""

from __future__ import annotations

import asyncio
import functools
import logging
import re
from datetime import UTC, datetime, time, timedelta
from pathlib import Path

from telegram import InlineKeyboardButton, InlineKeyboardMarkup, Update
from telegram.error import BadRequest
from telegram.ext import Application, CallbackQueryHandler, CommandHandler, ContextTypes, filters

from bot.retrain import Retrainer, missed_fire_time, nightly_trigger
from bot.runtime import Runtime
from bot.summaries import run_line, run_result, status_text
from bot.telegram_send import language_of_user, send
from storage.conversations import Conversations
from storage.registry import RegistryError
from storage.runs import RunInProgress, Runs
from training.domain import OUT_OF_SCOPE

log = logging.getLogger(__name__)
ADMIN_COMMANDS = [
    ("retrain", "Retrain now and promote if at least as good"),
    ("status", "Live model, recent runs, next run"),
    ("rollback", "Make the previous (or a given) model live"),
    ("review", "Label messages customers marked 👎"),
]
_REVIEW = re.compile(r"^r:(\d{1,15}):([a-z_]{1,40})$")


def _runtime(context: ContextTypes.DEFAULT_TYPE) -> Runtime:
    return context.bot_data["runtime"]


def is_admin(update: Update, runtime: Runtime) -> bool:
    user, chat = update.effective_user, update.effective_chat
    return bool(user and chat and chat.type == "private" and user.id in runtime.config.telegram.admin_ids)


def admin_only(action: str):
    """Refuse and audit anyone who is not an admin in a private chat."""

    def decorate(handler):
        @functools.wraps(handler)
        async def wrapper(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
            runtime = _runtime(context)
            allowed = is_admin(update, runtime)
            detail = (update.effective_message.text or "") if update.effective_message else ""
            actor = f"telegram:{update.effective_user.id if update.effective_user else '?'}"
            await runtime.call(Conversations(runtime.db).audit, actor, action, detail[:200], allowed)
            if not allowed:
                log.warning("refused %s from %s in chat %s", action, actor, update.effective_chat.id)
                if update.callback_query:
                    await update.callback_query.answer(runtime.domain.message("admin_only", "en"))
                else:
                    await send(context, update.effective_chat.id, runtime.domain.message("admin_only", language_of_user(update)))
                return
            await handler(update, context)

        return wrapper

    return decorate


@admin_only("retrain")
async def on_retrain(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    chat_id = update.effective_chat.id
    retrainer: Retrainer = context.bot_data["retrainer"]
    try:
        run_id = await retrainer.start(
            "admin", f"telegram:{update.effective_user.id}", on_finish=functools.partial(announce, context.application, [chat_id])
        )
    except RunInProgress as exc:
        await send(context, chat_id, f"A training run is already in progress (run {exc.run_id}); try again when it ends.")
        return
    message = await send(context, chat_id, f"Training run {run_id} started. I'll post progress here.")
    context.application.create_task(_follow(context, run_id, message), name=f"follow-run-{run_id}")


async def _follow(context: ContextTypes.DEFAULT_TYPE, run_id: int, message) -> None:
    """Edit the progress message while the run goes on."""
    runtime = _runtime(context)
    runs = Runs(runtime.db)
    interval = runtime.config.telegram.progress_seconds
    shown = None
    while (run := await runtime.call(runs.get, run_id))["status"] == "running":
        text = run_line(run)
        if text != shown and message is not None:
            try:
                await message.edit_text(text)
                shown = text
            except BadRequest as exc:
                log.info("progress edit skipped: %s", exc)
        await asyncio.sleep(interval)


async def announce(app: Application, chat_ids: list[int], run: dict) -> None:
    """Tell admins how a run ended, with the confusion matrix when there is one."""
    text = run_result(run)
    image = Path(run["report_path"]) / "confusion.png" if run.get("report_path") else None
    for chat_id in chat_ids:
        await app.bot.send_message(chat_id, text, parse_mode=None)
        if image and image.exists():
            with image.open("rb") as fh:
                await app.bot.send_photo(chat_id, fh, caption=f"Run {run['id']}: confusion matrix on the gold set")


@admin_only("status")
async def on_status(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    runtime = _runtime(context)
    jobs = context.job_queue.get_jobs_by_name("nightly-retrain") if context.job_queue else ()
    next_run = jobs[0].next_t if jobs else None
    text = await runtime.call(status_text, runtime.registry, Runs(runtime.db), Conversations(runtime.db), next_run)
    await send(context, update.effective_chat.id, text)


@admin_only("rollback")
async def on_rollback(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    runtime = _runtime(context)
    version = context.args[0] if context.args else None
    try:
        restored = await runtime.call(_rollback, runtime, version)
    except RegistryError as exc:
        await send(context, update.effective_chat.id, f"Rollback refused: {exc}")
        return
    await send(context, update.effective_chat.id, f"Rolled back: {restored} is live and answering now.")


def _rollback(runtime: Runtime, version: str | None) -> str:
    """On the storage thread: make the previous (or given) version live and answer with it at once."""
    restored = runtime.registry.rollback(version)
    runtime.model.refresh()
    return restored


def _next_review(conversations: Conversations) -> tuple[list, dict | None]:
    """On the storage thread: the oldest message waiting for review, and what the model said of it."""
    queue = conversations.review_queue(limit=1)
    return queue, conversations.prediction(queue[0].id) if queue else None


def _review_keyboard(message_id: int, runtime: Runtime) -> InlineKeyboardMarkup:
    names = [n for n in runtime.domain.names if n != OUT_OF_SCOPE] + [OUT_OF_SCOPE]
    buttons = [InlineKeyboardButton(n, callback_data=f"r:{message_id}:{n}") for n in names]
    rows = [buttons[i : i + 2] for i in range(0, len(buttons), 2)]
    rows.append([InlineKeyboardButton("Skip", callback_data=f"r:{message_id}:skip")])
    return InlineKeyboardMarkup(rows)


async def _show_next_review(context: ContextTypes.DEFAULT_TYPE, chat_id: int) -> None:
    runtime = _runtime(context)
    queue, prediction = await runtime.call(_next_review, Conversations(runtime.db))
    if not queue:
        await send(context, chat_id, "The review queue is empty.")
        return
    message = queue[0]
    guess = f" (the model said {prediction['intent']})" if prediction else ""
    await send(context, chat_id, f"Message {message.id}{guess}:\n{message.text}", _review_keyboard(message.id, runtime))


@admin_only("review")
async def on_review(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    await _show_next_review(context, update.effective_chat.id)


@admin_only("review-label")
async def on_review_button(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    query = update.callback_query
    runtime = _runtime(context)
    match = _REVIEW.match(query.data or "")
    conversations = Conversations(runtime.db)
    if not match or (match[2] != "skip" and match[2] not in runtime.domain.intents):
        await query.answer("Unknown choice")
        return
    message_id, choice = int(match[1]), match[2]
    admin = f"telegram:{query.from_user.id}"
    try:
        if choice == "skip":
            await runtime.call(conversations.skip_review, message_id, admin)
        else:
            await runtime.call(conversations.add_label, message_id, choice, "admin", admin)
    except KeyError:
        await query.answer("That message no longer exists")
        return
    await query.answer("Saved")
    await query.edit_message_reply_markup(reply_markup=None)
    await _show_next_review(context, query.message.chat_id)


async def nightly(context: ContextTypes.DEFAULT_TYPE) -> None:
    runtime = _runtime(context)
    admins = list(runtime.config.telegram.admin_ids)
    try:
        await context.bot_data["retrainer"].start(
            "nightly", None, on_finish=functools.partial(announce, context.application, admins)
        )
    except RunInProgress as exc:
        log.info("nightly run not started: run %s is in progress", exc.run_id)


def schedule_nightly(app: Application, runtime: Runtime) -> None:
    """Cron job with coalescing, one instance, a grace time, and a catch-up after downtime."""
    learning = runtime.config.learning
    trigger = nightly_trigger(learning.schedule, runtime.config.telegram.timezone)
    grace = timedelta(hours=learning.misfire_grace_hours)
    app.job_queue.run_custom(
        nightly,
        job_kwargs={"trigger": trigger, "misfire_grace_time": int(grace.total_seconds()), "coalesce": True, "max_instances": 1},
        name="nightly-retrain",
    )
    last = runtime.db.execute("SELECT MAX(started_at) FROM training_runs WHERE trigger = 'nightly'").fetchone()[0]
    missed = missed_fire_time(trigger, datetime.fromisoformat(last) if last else None, datetime.now(UTC), grace)
    if missed:
        log.info("the nightly run of %s was missed; starting it now", missed.isoformat())
        app.job_queue.run_once(nightly, when=0, name="nightly-catch-up")


async def purge_old(context: ContextTypes.DEFAULT_TYPE) -> None:
    """Retention: delete what is older than [privacy] retention_days (audited by `purge`).

    Runs on the storage thread, on the bot's own connection, so its transaction never interleaves with
    the handlers' writes and the event loop keeps answering meanwhile.
    """
    runtime = _runtime(context)
    privacy = runtime.config.privacy
    counts = await runtime.call(Conversations(runtime.db).purge, privacy.retention_days, privacy.keep_anonymous_labels, actor="nightly")
    log.info("retention purge: %s", counts)


def schedule_purge(app: Application, runtime: Runtime) -> None:
    """Daily at 04:30 in [telegram] timezone (after the 03:00 retrain); not at all when retention is off."""
    if runtime.config.privacy.retention_days > 0:
        app.job_queue.run_daily(purge_old, time=time(4, 30), name="retention-purge")


def register_admin(app: Application, runtime: Runtime) -> None:
    messages = filters.UpdateType.MESSAGES
    app.bot_data["retrainer"] = Retrainer(runtime)
    app.bot_data["admin_commands"] = ADMIN_COMMANDS
    app.add_handler(CommandHandler("retrain", on_retrain, filters=messages))
    app.add_handler(CommandHandler("status", on_status, filters=messages))
    app.add_handler(CommandHandler("rollback", on_rollback, filters=messages))
    app.add_handler(CommandHandler("review", on_review, filters=messages))
    app.add_handler(CallbackQueryHandler(on_review_button, pattern=_REVIEW))
    schedule_nightly(app, runtime)
    schedule_purge(app, runtime)
