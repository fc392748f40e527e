"""Wire the parts of a running bot together from one Config, in one place."""

from __future__ import annotations

import asyncio
import functools
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import TypeVar

from sqlite_utils import Database

from bot.engine import Engine
from storage.conversations import Conversations
from storage.db import open_db
from storage.registry import ModelRegistry
from training.config import Config
from training.domain import Domain, load_domain
from training.serving import LiveModel

T = TypeVar("T")


@dataclass
class Runtime:
    config: Config
    db: Database
    registry: ModelRegistry
    model: LiveModel
    domain: Domain
    engine: Engine
    # One thread for everything that touches the database or the model, so that the event loop
    # never waits on disk or on the model, and the connection's transactions never interleave.
    # SQLite's steps and LiteRT's Invoke release the GIL: the loop serves Telegram meanwhile.
    worker: ThreadPoolExecutor = field(default_factory=lambda: ThreadPoolExecutor(1, thread_name_prefix="supportbot-store"))

    async def call(self, fn: Callable[..., T], *args: object, **kwargs: object) -> T:
        """Run `fn` on the storage thread and wait for it without blocking the event loop."""
        return await asyncio.get_running_loop().run_in_executor(self.worker, functools.partial(fn, *args, **kwargs))

    def close(self) -> None:
        self.worker.shutdown(wait=True)
        self.db.close()


def open_runtime(config: Config) -> Runtime:
    db = open_db(config.db_path)
    registry = ModelRegistry(db, config.models_dir)
    model = LiveModel(registry)
    model.load()
    domain = load_domain(config.data_dir)
    engine = Engine(Conversations(db), model, domain, config)
    return Runtime(config, db, registry, model, domain, engine)
