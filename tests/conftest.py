"""Shared fixtures: real config files, real SQLite in temp dirs, one real model per session."""

from __future__ import annotations

import os
import shutil
import socket
from pathlib import Path

import pytest
from hypothesis import settings

from training.config import Config, load_config

ROOT = Path(__file__).resolve().parent.parent
DATA = ROOT / "data"

settings.register_profile("default", max_examples=200, deadline=None)
settings.register_profile("soak", max_examples=10_000, deadline=None)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "default"))

# Every config needs a way for customers to reach the shop ([shop] is validated at load).
SHOP = '[shop]\nname = "Test shop"\nemail = "help@shop.test"\nphone = "+44 20 7946 0000"\n'

# Small enough to train in well under a minute on two cores, big enough to answer well.
TEST_MODEL = """
[model]
embedding_dim = 64
lstm_units = 48
members = 1
max_epochs = 10
patience = 10
"""


def free_port() -> int:
    """A TCP port nothing listens on right now (for a webhook)."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def write_config(directory: Path, extra: str = "", data_dir: Path = DATA, model: str = TEST_MODEL) -> Path:
    directory.mkdir(parents=True, exist_ok=True)
    path = directory / "config.toml"
    path.write_text(f'[paths]\nvar_dir = "{directory / "var"}"\ndata_dir = "{data_dir}"\n{model}\n{SHOP}\n{extra}')
    return path


@pytest.fixture
def config_path(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.delenv("SUPPORTBOT_VAR", raising=False)
    return write_config(tmp_path)


@pytest.fixture
def config(config_path: Path) -> Config:
    return load_config(config_path)


@pytest.fixture(scope="session")
def trained_var(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A var/ directory holding one live model trained on the starter domain (once per session).

    SUPPORTBOT_TEST_CACHE=DIR keeps it between local runs (delete DIR after changing the model).
    """
    from storage.db import open_db
    from storage.registry import ModelRegistry
    from training.domain import load_domain
    from training.release import train_release

    cache = os.environ.get("SUPPORTBOT_TEST_CACHE")
    if cache and (Path(cache) / "var" / "supportbot.db").exists():
        return Path(cache) / "var"
    config = load_config(write_config(Path(cache) if cache else tmp_path_factory.mktemp("session")))
    domain = load_domain(config.data_dir)
    registry = ModelRegistry(open_db(config.db_path), config.models_dir)
    release = train_release(domain.training_examples(), domain.gold, config.model, registry, config.policy,
                            verbose=0)
    registry.promote(release.version)
    registry.db.close()
    return config.var_dir


def copy_live(registry) -> str:
    """A new candidate version, a copy of the live one, as a retrain would make it; returns its version."""
    live = registry.live()
    copy = registry.new_version()
    with registry.writing(copy) as scratch:
        for item in Path(live["path"]).iterdir():
            shutil.copy(item, scratch / item.name)
    registry.register(copy, live["metrics"])
    return copy


def promote_copy(registry) -> str:
    """Make a second live version (a copy of the live one), as a retrain would; returns its version."""
    copy = copy_live(registry)
    registry.promote(copy)
    return copy


@pytest.fixture
def trained_config(config: Config, trained_var: Path) -> Config:
    """A fresh copy of the trained var/ for one test: its own database, the session's model."""
    shutil.copytree(trained_var, config.var_dir)
    return config
