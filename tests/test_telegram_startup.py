"""Starting on Telegram: a refused token, an admin Telegram does not know, a live model that does not load.

The first runs `supportbot run` as a real child process against the local Bot API server; the others
run the real application in the test's loop (tests.harness).
"""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys

import pytest

from storage.db import open_db
from storage.registry import ModelRegistry
from tests.botapi import BotAPIServer
from tests.conftest import ROOT
from tests.harness import ADMIN_ID, configure, running_bot
from training.config import Config, load_config

CANARY = "123456:CANARY-do-not-print-7f3a9c"  # well formed, so the server answers 401 as Telegram does
SECRET = CANARY.split(":", 1)[1]
NEVER_STARTED = 999999


@pytest.fixture
async def server():
    async with BotAPIServer() as srv:
        yield srv


async def supportbot_run(config: Config, token: str) -> tuple[int, str, str]:
    """`python -m bot.cli run` with this token; its exit code, stdout and stderr."""
    env = {**{k: v for k, v in os.environ.items() if k != "SUPPORTBOT_VAR"}, "TELEGRAM_BOT_TOKEN": token}
    child = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "bot.cli", "run", "--config", str(config.source), cwd=ROOT, env=env,
        stdout=subprocess.PIPE, stderr=subprocess.PIPE,
    )
    try:
        out, err = await asyncio.wait_for(child.communicate(), 60)
    finally:
        if child.returncode is None:
            child.kill()
            await child.wait()
    return child.returncode, out.decode(), err.decode()


async def test_a_refused_token_ends_with_one_line_and_is_never_shown(config, server):
    code, out, err = await supportbot_run(configure(config, server), CANARY)
    assert SECRET not in out + err
    assert "Traceback" not in err, err
    assert err.strip().splitlines()[-1] == "error: Telegram refused the bot token (check TELEGRAM_BOT_TOKEN)"
    assert err.count("refused the bot token") == 1
    assert code == 2


MASKED_EXITS = f"""
import asyncio, logging, sys, threading
from bot.masking import mask_everywhere

mask_everywhere("{CANARY}")
logging.getLogger("some.library").error("url /bot{CANARY}/getMe")
try:
    raise RuntimeError("token {CANARY} in a handled error")
except RuntimeError:
    logging.getLogger("bot.channels.telegram_customer").exception("error while handling update 1")
def fail():
    raise ValueError("thread {CANARY}")
thread = threading.Thread(target=fail, name="t1")
thread.start()
thread.join()
loop = asyncio.new_event_loop()
loop.call_exception_handler({{"message": "loop {CANARY}", "exception": OSError("loop error {CANARY}")}})
loop.close()
class Finaliser:
    def __del__(self):
        raise KeyError("unraisable {CANARY}")
Finaliser()
raise SystemError("uncaught {CANARY}")
"""


def test_every_way_out_of_the_process_masks_the_token():
    """Logging (any logger, with tracebacks), a thread's exception, asyncio's handler, an exception in
    __del__, and the uncaught one that ends the process: each is shown, none shows the secret."""
    done = subprocess.run([sys.executable, "-c", MASKED_EXITS], cwd=ROOT, capture_output=True, text=True, timeout=60)
    assert SECRET not in done.stdout + done.stderr
    for shown in ("url /bot123456:***/getMe", "token 123456:*** in a handled error", "error while handling update 1",
                  "Exception in thread t1", "ValueError: thread 123456:***", "loop 123456:***",
                  "OSError: loop error 123456:***", "KeyError: 'unraisable 123456:***'",
                  "SystemError: uncaught 123456:***"):
        assert shown in done.stderr, (shown, done.stderr)
    assert done.returncode == 1


def with_admins(config: Config, server: BotAPIServer, *admins: int) -> Config:
    """The harness's config with these admin ids instead of its one admin."""
    config = configure(config, server)
    text = config.source.read_text().replace(f"admin_ids = [{ADMIN_ID}]", f"admin_ids = {list(admins)}")
    config.source.write_text(text)
    return load_config(config.source)


@pytest.mark.e2e
async def test_an_admin_who_never_opened_a_chat_does_not_stop_the_bot(config, server, caplog):
    async with running_bot(with_admins(config, server, ADMIN_ID, NEVER_STARTED), server) as bot:
        ann = server.create_user("Ann")
        server.send_text(ann, "where is my order?")
        assert await server.wait_for_messages(ann, 1)
        [notice] = [m["text"] for m in server.sent_messages(bot.admin) if str(NEVER_STARTED) in m["text"]]
    assert "open a chat with this bot and press Start" in notice
    assert "chat not found" in notice.lower()
    assert server.commands({"type": "chat", "chat_id": ADMIN_ID})  # the reachable admin still has the menu
    assert any(str(NEVER_STARTED) in r.getMessage() and r.levelname == "WARNING" for r in caplog.records)


def truncate_live_model(config: Config) -> str:
    registry = ModelRegistry(open_db(config.db_path), config.models_dir)
    version = registry.live()["version"]
    registry.db.close()
    model = config.models_dir / version / "model.tflite"
    model.write_bytes(model.read_bytes()[:100])
    return version


@pytest.mark.e2e
async def test_admins_are_told_once_when_the_live_model_does_not_load(trained_config, server):
    version = truncate_live_model(trained_config)
    async with running_bot(configure(trained_config, server), server) as bot:
        ann = server.create_user("Ann")
        server.send_text(ann, "where is my order?")
        await server.wait_for_messages(ann, 1)
        await asyncio.sleep(1.2)  # two model checks (model_check_seconds = 0.5): no second alert
        told = [m["text"] for m in server.sent_messages(bot.admin) if version in m["text"]]
    assert len(told) == 1, told
    assert "does not load" in told[0]
