"""Training runs started by the bot: a supervised child process per run.

The run itself is a child process (`python -m training.pipeline`), so TensorFlow never enters the
bot process and the event loop keeps answering customers while it trains. When the child ends, the
bot swaps in whatever model is now live: no restart.
"""

from __future__ import annotations

import asyncio
import logging
import sys
from collections.abc import Awaitable, Callable
from pathlib import Path

from bot.usecases import training
from bot.usecases.access import Actor
from bot.worker import Worker
from storage.runs import RunTrigger
from training.child_env import child_env

log = logging.getLogger(__name__)
Finished = Callable[[dict], Awaitable[None]]


class Retrainer:
    def __init__(self, worker: Worker, config_path: Path, var_dir: Path) -> None:
        self.worker = worker
        self.config_path = config_path
        self.var_dir = var_dir
        self.tasks: dict[int, asyncio.Task] = {}  # runs being supervised; each removes itself when done

    async def start(self, trigger: RunTrigger, actor: Actor, on_finish: Finished | None = None) -> int:
        """Take the lock, spawn the training process and return the run id at once.

        Raises storage.runs.RunInProgress when a run (from any process) holds the lock, and
        bot.usecases.access.NotAllowed when `actor` is not an admin.
        """
        run_id = await self.worker.run(training.begin_run, actor, trigger)
        try:
            process = await asyncio.create_subprocess_exec(
                sys.executable, "-m", "training.pipeline", "--config", str(self.config_path), "--run-id", str(run_id),
                env=child_env(SUPPORTBOT_VAR=str(self.var_dir)),
            )
        except OSError:
            await self.worker.run(training.end_run, run_id)
            raise
        log.info("training run %s started (%s, pid %s)", run_id, trigger, process.pid)
        task = asyncio.create_task(self._supervise(run_id, process, on_finish), name=f"training-run-{run_id}")
        self.tasks[run_id] = task
        task.add_done_callback(lambda _: self.tasks.pop(run_id, None))
        return run_id

    async def _supervise(self, run_id: int, process: asyncio.subprocess.Process, on_finish: Finished | None) -> None:
        code = await process.wait()
        run = await self.worker.run(training.end_run, run_id)
        log.info("training run %s ended: %s (exit code %s)", run_id, run["status"], code)
        if on_finish:
            await on_finish(run)

    async def wait(self, run_id: int) -> dict:
        """The run's final row, once its supervision (and `on_finish`) is over."""
        task = self.tasks.get(run_id)
        if task is not None:
            await task
        return await self.worker.run(training.run_row, run_id)

