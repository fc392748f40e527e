"""When the nightly run fires, and whether one was missed while the bot was down."""

from __future__ import annotations

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from apscheduler.triggers.cron import CronTrigger


def nightly_trigger(expression: str, timezone: str) -> CronTrigger:
    return CronTrigger.from_crontab(expression, timezone=ZoneInfo(timezone))


def missed_fire_time(trigger: CronTrigger, last_run: datetime | None, now: datetime, grace: timedelta) -> datetime | None:
    """The latest scheduled time within `grace` before `now` that had no run after it, if any.

    APScheduler's memory job store forgets misfires across restarts; this catches up once.
    A bot that never ran a nightly job (a fresh install) has missed nothing.
    """
    if last_run is None:
        return None
    fire, missed = trigger.get_next_fire_time(None, now - grace), None
    while fire is not None and fire <= now:
        if last_run < fire:
            missed = fire
        fire = trigger.get_next_fire_time(fire, fire + timedelta(seconds=1))
    return missed
