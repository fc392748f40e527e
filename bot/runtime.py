"""Wire the parts of a running bot together from one Config, in one place."""

from __future__ import annotations

from dataclasses import dataclass

from sqlite_utils import Database

from bot.engine import Engine
from storage.conversations import Conversations
from storage.db import open_db
from storage.registry import ModelRegistry
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

    def close(self) -> None:
        self.db.close()


def open_runtime(config: Config) -> Runtime:
    db = open_db(config.db_path)
    registry = ModelRegistry(db, config.models_dir)
    model = LiveModel(registry)
    model.load()
    domain = load_domain(config.data_dir)
    engine = Engine(Conversations(db), model, domain, config)
    return Runtime(config, db, registry, model, domain, engine)
