"""Admins on Telegram: /retrain, /status, /stats, /rollback, /review and its buttons, /ab.

Whether the sender is an admin is decided here (`actor_of`: a configured id, in a private chat);
the use case refuses and audits everyone else, and `admin_command` turns that refusal into a reply.
"""

from __future__ import annotations

import asyncio
import functools
import logging
from collections.abc import Awaitable, Callable
from pathlib import Path

from telegram import InlineKeyboardButton, InlineKeyboardMarkup, Message, Update
from telegram.error import BadRequest
from telegram.ext import Application

from bot.ab_summary import ab_text, ending_text
from bot.channels import callbacks
from bot.channels.telegram_context import Context, actor_of, language_of_user
from bot.channels.telegram_send import send, with_retries
from bot.stats_chart import chart_png
from bot.stats_report import stats_text
from bot.summaries import run_line, run_result, status_text
from bot.usecases import ab, models, outcomes, review, training
from bot.usecases.access import NotAllowed
from storage.registry import RegistryError
from storage.runs import RunInProgress, RunStatus, RunTrigger

log = logging.getLogger(__name__)
ADMIN_COMMANDS = [
    ("retrain", "Retrain now and promote if at least as good"),
    ("status", "Live model, recent runs, next run"),
    ("rollback", "Make the previous (or a given) model live"),
    ("review", "Label messages customers marked 👎"),
    ("ab", "The A/B test of a candidate model; /ab stop|promote|rollback"),
    ("stats", "Is the bot helping? Outcomes per day and model, with a chart"),
]
Handler = Callable[[Update, Context], Awaitable[None]]


def admin_command(handler: Handler) -> Handler:
    """Answer a refused (and already audited) admin use case with the admin-only notice."""

    @functools.wraps(handler)
    async def wrapper(update: Update, context: Context) -> None:
        try:
            await handler(update, context)
        except NotAllowed:
            notice = context.bot_data.domain.message("admin_only", language_of_user(update))
            if update.callback_query:
                await update.callback_query.answer(notice)
            else:
                await send(context, update.effective_chat.id, notice)

    return wrapper


@admin_command
async def on_retrain(update: Update, context: Context) -> None:
    """Start a run now; progress is edited into one message, the result posted when it ends."""
    data, chat_id = context.bot_data, update.effective_chat.id
    try:
        run_id = await data.retrainer.start(RunTrigger.ADMIN, actor_of(update, data.config),
                                            on_finish=functools.partial(announce, context.application, [chat_id]))
    except RunInProgress as exc:
        await send(context, chat_id, f"A training run is already in progress (run {exc.run_id}); try again when it ends.")
        return
    message = await send(context, chat_id, f"Training run {run_id} started. I'll post progress here.")
    context.application.create_task(_follow(context, run_id, message), name=f"follow-run-{run_id}")


async def _follow(context: Context, run_id: int, message: Message | None) -> None:
    """Edit the progress message while the run goes on."""
    data, shown = context.bot_data, None
    while (run := await data.worker.run(training.run_row, run_id))["status"] == RunStatus.RUNNING:
        text = run_line(run)
        if text != shown and message is not None:
            try:
                await message.edit_text(text)
                shown = text
            except BadRequest as exc:
                log.info("progress edit skipped: %s", exc)
        await asyncio.sleep(data.config.telegram.progress_seconds)


async def announce(app: Application, chat_ids: list[int], run: dict) -> None:
    """Tell admins how a run ended, with the confusion matrix when there is one."""
    text = run_result(run)
    image = Path(run["report_path"]) / "confusion.png" if run.get("report_path") else None
    for chat_id in chat_ids:
        await app.bot.send_message(chat_id, text, parse_mode=None)
        if image and image.exists():
            with image.open("rb") as fh:
                await app.bot.send_photo(chat_id, fh, caption=f"Run {run['id']}: confusion matrix on the gold set")


@admin_command
async def on_status(update: Update, context: Context) -> None:
    """Live model, labels waiting, review queue, recent runs and when the next one fires."""
    jobs = context.job_queue.get_jobs_by_name("nightly-retrain") if context.job_queue else ()
    next_run = jobs[0].next_t if jobs else None
    status = await context.bot_data.worker.run(models.status, actor_of(update, context.bot_data.config), next_run, True)
    await send(context, update.effective_chat.id, status_text(status, context.bot_data.actions.breakers()))


@admin_command
async def on_stats(update: Update, context: Context) -> None:
    """/stats [days]: what became of the bot's answers, per day and model version, as text, then the chart
    (drawn off the event loop and off the worker, which keep serving customers meanwhile)."""
    data, chat_id = context.bot_data, update.effective_chat.id
    try:
        days = int(context.args[0]) if context.args else outcomes.DEFAULT_DAYS
        figures = await data.worker.run(outcomes.stats, actor_of(update, data.config), days)
    except ValueError:
        await send(context, chat_id, "Usage: /stats [days], days a whole number, 1 or more (default "
                   f"{outcomes.DEFAULT_DAYS}): the last N days, today included.")
        return
    await send(context, chat_id, stats_text(figures))
    if figures.total.answered:
        png = await asyncio.to_thread(chart_png, figures)
        await with_retries(lambda: context.bot.send_photo(chat_id, png, caption="Outcomes per day", filename="stats.png"),
                           data.config.telegram.send_retries)


async def on_chatid(update: Update, context: Context) -> None:
    """An admin finds a group's id (for [handoff] staff_chat_id) by typing /chatid in it; others get nothing."""
    user, chat = update.effective_user, update.effective_chat
    if user is None or user.id not in context.bot_data.config.telegram.admin_ids:
        return
    topics = "topics are on" if chat.is_forum else "topics are off: enable them in the group's settings"
    await send(context, chat.id, f"This chat's id is {chat.id} ({chat.type}; {topics}). "
               f"For a staff group put staff_chat_id = {chat.id} under [handoff] in config.toml.",
               thread_id=update.effective_message.message_thread_id if update.effective_message.is_topic_message else None)


@admin_command
async def on_rollback(update: Update, context: Context) -> None:
    """Make the previous (or given) version live; the bot answers with it at once."""
    version = context.args[0] if context.args else None
    try:
        restored = await context.bot_data.worker.run(models.rollback, actor_of(update, context.bot_data.config), version)
    except RegistryError as exc:
        await send(context, update.effective_chat.id, f"Rollback refused: {exc}")
        return
    await send(context, update.effective_chat.id, f"Rolled back: {restored} is live and answering now.")


@admin_command
async def on_ab(update: Update, context: Context) -> None:
    """/ab: the running A/B test and what it says so far; /ab stop|promote|rollback acts on it at once."""
    data, chat_id = context.bot_data, update.effective_chat.id
    actor, action = actor_of(update, data.config), context.args[0].lower() if context.args else None
    if action is None:
        await send(context, chat_id, ab_text(await data.worker.run(ab.show, actor)))
        return
    if action not in set(ab.AbAction):
        await send(context, chat_id, f"Usage: /ab, or /ab {'|'.join(ab.AbAction)}")
        return
    try:
        ending = await data.worker.run(ab.ACTIONS[ab.AbAction(action)], actor)
    except ab.NoTest as exc:
        await send(context, chat_id, f"Nothing to {action}: {exc}.")
        return
    await send(context, chat_id, ending_text(ending))


def _review_keyboard(item: review.ReviewItem) -> InlineKeyboardMarkup:
    message_id = item.message.id
    buttons = [InlineKeyboardButton(n, callback_data=callbacks.review(message_id, n)) for n in item.choices]
    rows = [buttons[i : i + 2] for i in range(0, len(buttons), 2)]
    rows.append([InlineKeyboardButton("Skip", callback_data=callbacks.review(message_id, callbacks.SKIP))])
    return InlineKeyboardMarkup(rows)


async def _show_next_review(update: Update, context: Context, chat_id: int) -> None:
    item = await context.bot_data.worker.run(review.next_for_review, actor_of(update, context.bot_data.config))
    if item is None:
        await send(context, chat_id, "The review queue is empty.")
        return
    guess = f" (the model said {item.guess})" if item.guess else ""
    await send(context, chat_id, f"Message {item.message.id}{guess}:\n{item.message.text}", _review_keyboard(item))


@admin_command
async def on_review(update: Update, context: Context) -> None:
    """The oldest 👎 message, with a button per intent and Skip."""
    await _show_next_review(update, context, update.effective_chat.id)


@admin_command
async def on_review_button(update: Update, context: Context) -> None:
    """Store the admin's label (or skip), then show the next message."""
    query, data = update.callback_query, context.bot_data
    pressed, actor = callbacks.parse_review(query.data), actor_of(update, data.config)
    try:
        if pressed.choice == callbacks.SKIP:
            await data.worker.run(review.skip, actor, pressed.message_id)
        else:
            await data.worker.run(review.label, actor, pressed.message_id, pressed.choice)
    except ValueError:
        await query.answer("Unknown choice")
        return
    except KeyError:
        await query.answer("That message no longer exists")
        return
    await query.answer("Saved")
    await query.edit_message_reply_markup(reply_markup=None)
    await _show_next_review(update, context, query.message.chat_id)
