"""Run the real Telegram application against the local Bot API server, inside a test's loop."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass

from telegram import Update
from telegram.ext import AIORateLimiter, Application

from bot.channels.telegram_app import build_application, webhook_options
from bot.runtime import Runtime, open_runtime
from tests.botapi import BotAPIServer, User
from training.config import Config, TelegramMode, load_config

ADMIN_ID = 4242


def configure(config: Config, server: BotAPIServer, extra: str = "", telegram: str = "") -> Config:
    """The test's config pointed at the local server, with fast progress and an admin;
    `telegram` adds keys to the [telegram] table, `extra` adds tables."""
    telegram = (
        f'\n[telegram]\napi_base_url = "{server.base_url}"\nadmin_ids = [{ADMIN_ID}]\n'
        f"progress_seconds = 0.2\nmodel_check_seconds = 0.5\nsend_retries = 5\n{telegram}\n"
    )
    config.source.write_text(config.source.read_text() + telegram + extra)
    return load_config(config.source)


@dataclass
class RunningBot:
    app: Application
    runtime: Runtime
    server: BotAPIServer
    admin: User


@asynccontextmanager
async def running_bot(config: Config, server: BotAPIServer, limiter: AIORateLimiter | None = None) -> AsyncIterator[RunningBot]:
    """What run_polling/run_webhook do, minus signal handling: initialise, post_init, start, stop.
    `limiter`: Telegram's pace, scaled (build_application)."""
    admin = server.state.users.get(ADMIN_ID) or server.create_user("Admin", user_id=ADMIN_ID, started=True)  # a restart keeps them
    runtime = open_runtime(config)
    app = build_application(runtime, server.token, limiter)
    await app.initialize()
    await app.post_init(app)
    if config.telegram.mode == TelegramMode.WEBHOOK:
        await app.updater.start_webhook(**webhook_options(config.telegram))
    else:
        await app.updater.start_polling(poll_interval=0.0, timeout=1, allowed_updates=Update.ALL_TYPES)
    await app.start()
    try:
        yield RunningBot(app, runtime, server, admin)
    finally:
        if app.updater.running:
            await app.updater.stop()
        if app.running:
            await app.stop()
        await app.shutdown()
        await app.post_shutdown(app)
