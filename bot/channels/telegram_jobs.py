"""What the Telegram bot does on its own clock (PTB's JobQueue, APScheduler underneath): the nightly
look at an A/B test and the nightly run, with their catch-up after downtime, the retention purge,
picking up models promoted elsewhere, the handoffs' timeouts (a ping when nobody answered, back to the
bot when idle), and answers gone quiet."""

from __future__ import annotations

import functools
import logging
from datetime import UTC, datetime, timedelta

from telegram.ext import Application

from bot.ab_summary import ending_text
from bot.channels.telegram_admin import announce
from bot.channels.telegram_context import Context
from bot.channels.telegram_send import send
from bot.channels.telegram_staff import close_change, tell_change
from bot.schedule import missed_fire_time, nightly_trigger
from bot.usecases import ab, data, handoff, outcomes, training
from bot.usecases.access import Actor
from storage.runs import RunInProgress, RunTrigger
from training.experiment import Ending

log = logging.getLogger(__name__)
NIGHTLY = Actor("nightly", admin=True)  # the bot's own clock: the nightly run and the purge


async def nightly(context: Context) -> None:
    """Tonight's look at the A/B test first (so a test that ends frees the way for tonight's candidate), then
    the learning loop, each reported to every admin."""
    admins = list(context.bot_data.config.telegram.admin_ids)
    await ab_look(context, admins)
    try:
        await context.bot_data.retrainer.start(RunTrigger.NIGHTLY, NIGHTLY,
                                               on_finish=functools.partial(announce, context.application, admins))
    except RunInProgress as exc:
        log.info("nightly run not started: run %s is in progress", exc.run_id)


async def ab_look(context: Context, admins: list[int]) -> None:
    """The nightly look at a running A/B test (bot/usecases/ab.py); admins are told when it ends the test."""
    if not await context.bot_data.worker.run(ab.running):
        return
    result = await context.bot_data.worker.run(ab.look_tonight, NIGHTLY)
    if isinstance(result, Ending):
        for admin in admins:
            await send(context, admin, ending_text(result))


async def purge_old(context: Context) -> None:
    """Retention: delete what is older than [privacy] retention_days, on the worker like every write."""
    counts = await context.bot_data.worker.run(data.purge, NIGHTLY)
    log.info("retention purge: %s", counts)


async def refresh_model(context: Context) -> None:
    """Pick up a promotion or rollback made by another process (CLI, a training run)."""
    await context.bot_data.worker.run(training.refresh_model)


async def resolve_quiet(context: Context) -> None:
    """Answers whose window passed with nothing after them count as resolved (bot/outcomes.py)."""
    await context.bot_data.worker.run(outcomes.resolve_quiet)


async def handoff_timeouts(context: Context) -> None:
    """Ping a topic nobody answered (once, the customer told it takes longer); release idle ones."""
    due = await context.bot_data.worker.run(handoff.due)
    minutes = context.bot_data.config.handoff.reply_within_minutes
    for change in due.pings:
        await send(context, change.staff_chat_id, f"⏰ Nobody has answered this customer for {minutes} minutes.",
                   thread_id=change.thread_id)
        await tell_change(context, change)
    hours = context.bot_data.config.handoff.release_after_hours
    for change in due.releases:
        await send(context, change.staff_chat_id, f"🤖 Back to the bot: no message for {hours:g} hours.",
                   thread_id=change.thread_id)
        await close_change(context, change)


def schedule(app: Application) -> None:
    """Cron job with coalescing, one instance and a grace time; the daily purge; the model check; the outcomes' clock."""
    config = app.bot_data.config
    learning = config.learning
    grace = timedelta(hours=learning.misfire_grace_hours)
    app.job_queue.run_custom(
        nightly,
        job_kwargs={"trigger": nightly_trigger(learning.schedule, config.telegram.timezone),
                    "misfire_grace_time": int(grace.total_seconds()), "coalesce": True, "max_instances": 1},
        name="nightly-retrain",
    )
    if config.privacy.retention_days > 0:
        app.job_queue.run_daily(purge_old, time=config.privacy.purge_time, name="retention-purge")
    app.job_queue.run_repeating(refresh_model, interval=config.telegram.model_check_seconds, name="model-refresh")
    app.job_queue.run_repeating(resolve_quiet, interval=config.outcomes.check_seconds, name="outcome-windows")
    if config.handoff.staff_chat_id:
        app.job_queue.run_repeating(handoff_timeouts, interval=config.handoff.check_seconds, name="handoff-timeouts")


async def catch_up(app: Application) -> None:
    """APScheduler's memory job store forgets misfires across restarts: run a missed night once."""
    config = app.bot_data.config
    last = await app.bot_data.worker.run(training.last_nightly_start)
    trigger = nightly_trigger(config.learning.schedule, config.telegram.timezone)
    grace = timedelta(hours=config.learning.misfire_grace_hours)
    missed = missed_fire_time(trigger, datetime.fromisoformat(last) if last else None, datetime.now(UTC), grace)
    if missed:
        log.info("the nightly run of %s was missed; starting it now", missed.isoformat())
        app.job_queue.run_once(nightly, when=0, name="nightly-catch-up")
