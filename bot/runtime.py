"""The parts of a running supportbot, wired together from one Config in one place.

A `Runtime` is what a use case works with (bot/usecases). It is not thread-safe: in the Telegram
bot only the worker thread touches it (bot/worker.py); the CLI, single-threaded, uses it directly.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlite_utils import Database

from bot.engine import Engine
from storage.audit import Audit
from storage.db import open_db
from storage.registry import ModelRegistry
from storage.review import ReviewQueue
from storage.runs import Runs
from training.config import Config
from training.domain import Domain, load_domain
from training.serving import LiveModel


@dataclass
class Runtime:
    config: Config
    db: Database
    registry: ModelRegistry
    model: LiveModel
    domain: Domain
    engine: Engine
    runs: Runs
    review: ReviewQueue
    audit: Audit

    def close(self) -> None:
        self.db.close()


def open_runtime(config: Config) -> Runtime:
    """Open the database (refusing a damaged or newer one), load the domain and the live model."""
    db = open_db(config.db_path)
    registry = ModelRegistry(db, config.models_dir)
    model = LiveModel(registry)
    model.load()
    domain = load_domain(config.data_dir)
    engine = Engine(db, model, domain, config)
    return Runtime(config, db, registry, model, domain, engine, Runs(db), ReviewQueue(db), Audit(db))
