"""Start and supervise training runs from the bot, and schedule the nightly one.

The run itself is a child process (`python -m training.pipeline`), so TensorFlow never
enters the bot process and the event loop keeps answering customers while it trains. When
the child ends, the bot swaps in whatever model is now live: no restart.
"""

from __future__ import annotations

import asyncio
import logging
import os
import sys
from collections.abc import Awaitable, Callable
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from apscheduler.triggers.cron import CronTrigger

from bot.runtime import Runtime
from storage.runs import Runs

log = logging.getLogger(__name__)
Finished = Callable[[dict], Awaitable[None]]


class Retrainer:
    def __init__(self, runtime: Runtime) -> None:
        self.runtime = runtime
        self.runs = Runs(runtime.db)
        self.tasks: dict[int, asyncio.Task] = {}

    async def start(self, trigger: str, requested_by: str | None = None, on_finish: Finished | None = None) -> int:
        """Take the lock, spawn the training process and return the run id at once.

        Raises storage.runs.RunInProgress when a run (from any process) holds the lock.
        """
        run_id = await self.runtime.call(self.runs.start, trigger, requested_by)
        config = self.runtime.config
        try:
            process = await asyncio.create_subprocess_exec(
                sys.executable, "-m", "training.pipeline", "--config", str(config.source), "--run-id", str(run_id),
                env={**_child_env(), "SUPPORTBOT_VAR": str(config.var_dir)},
            )
        except OSError:
            await self.runtime.call(self.runs.release, run_id)
            raise
        log.info("training run %s started (%s, pid %s)", run_id, trigger, process.pid)
        self.tasks[run_id] = asyncio.create_task(self._supervise(run_id, process, on_finish))
        return run_id

    async def _supervise(self, run_id: int, process: asyncio.subprocess.Process, on_finish: Finished | None) -> None:
        code = await process.wait()
        run = await self.runtime.call(self._finished, run_id)
        log.info("training run %s ended: %s (exit code %s)", run_id, run["status"], code)
        if on_finish:
            await on_finish(run)

    def _finished(self, run_id: int) -> dict:
        """On the storage thread: release the lock (a child that died mid-way marks its run failed), swap
        in whatever model is live now, and read how the run ended."""
        self.runs.release(run_id)
        self.runtime.model.refresh()
        return self.runs.get(run_id)

    async def wait(self, run_id: int) -> dict:
        await self.tasks[run_id]
        return await self.runtime.call(self.runs.get, run_id)


def _child_env() -> dict[str, str]:
    """The training process needs no Telegram secrets."""
    return {k: v for k, v in os.environ.items() if k not in ("TELEGRAM_BOT_TOKEN", "TELEGRAM_WEBHOOK_SECRET")}


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
