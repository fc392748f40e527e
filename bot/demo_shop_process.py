"""The demo shop beside the bot: `supportbot run` starts it as a child process and stops it at exit.

A child process, not a task in the bot's loop, because the demo shop is the shop's side of the
contract: it shares nothing with the bot but the URL and the secret. Without SUPPORTBOT_ACTIONS_SECRET
a secret is made up for this run and given to both, so `make run` answers live on a fresh clone.
A demo shop that does not come up is said in the log and the bot runs anyway: its actions fail, and
customers get the intents' static answers.
"""

from __future__ import annotations

import logging
import os
import secrets
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx

from bot.masking import mask_in_logs
from training.config import Config

log = logging.getLogger(__name__)

SECRET_VARIABLE = "SUPPORTBOT_ACTIONS_SECRET"
READY_SECONDS = 15.0  # a cold start (imports, seeding the database) takes about a second
STOP_SECONDS = 5.0


@contextmanager
def beside(config: Config) -> Iterator[None]:
    """With `[demo_shop] start`, the demo shop runs (if it could start) until the block ends, however it ends."""
    if not config.demo_shop.start:
        yield
        return
    with _shared_secret() as secret:
        child = _spawn(config, secret)
        try:
            _wait_until_ready(child, config)
            yield
        finally:
            _stop(child)


@contextmanager
def _shared_secret() -> Iterator[str]:
    """The environment's secret, or a one-run secret set in os.environ for the bot's side until the end."""
    secret = os.environ.get(SECRET_VARIABLE)
    if secret:
        yield secret
        return
    secret = secrets.token_hex(32)
    mask_in_logs(secret)
    os.environ[SECRET_VARIABLE] = secret
    log.info("demo shop: generated a one-run actions secret")
    try:
        yield secret
    finally:
        os.environ.pop(SECRET_VARIABLE, None)


def _spawn(config: Config, secret: str) -> subprocess.Popen:
    """`python -m demo_shop` in its own session (a Ctrl-C in the terminal is the bot's to handle), its
    output in var/demo_shop.log (not over the local chat), told to stop if the bot dies without stopping it."""
    shop = config.demo_shop
    command = [sys.executable, "-m", "demo_shop", "--host", shop.host, "--port", str(shop.port),
               "--database", str(config.demo_shop_db), "--parent", str(os.getpid())]
    config.var_dir.mkdir(parents=True, exist_ok=True)
    with _log_path(config).open("ab") as output:
        return subprocess.Popen(command, env={**os.environ, SECRET_VARIABLE: secret}, stdout=output, stderr=subprocess.STDOUT,
                                stdin=subprocess.DEVNULL, start_new_session=True, cwd=Path(__file__).resolve().parent.parent)


def _log_path(config: Config) -> Path:
    return config.var_dir / "demo_shop.log"


def _wait_until_ready(child: subprocess.Popen, config: Config) -> None:
    """Until GET /health answers, the child exits or READY_SECONDS pass; says which in the log."""
    url = f"http://{config.demo_shop.host}:{config.demo_shop.port}/health"
    until = time.monotonic() + READY_SECONDS
    while time.monotonic() < until:
        if child.poll() is not None:
            log.warning("demo shop: exited at start (code %s; is port %d in use? see %s); actions will fail",
                        child.returncode, config.demo_shop.port, _log_path(config))
            return
        try:
            if httpx.get(url, timeout=0.5, trust_env=False).status_code == 200:  # a local child: no proxy
                log.info("demo shop: answering on http://%s:%d", config.demo_shop.host, config.demo_shop.port)
                return
        except httpx.TransportError:
            pass
        time.sleep(0.1)
    log.warning("demo shop: no answer on %s within %g s (see %s); actions will fail", url, READY_SECONDS, _log_path(config))


def _stop(child: subprocess.Popen) -> None:
    """SIGTERM (aiohttp stops gracefully), SIGKILL if it has not gone within STOP_SECONDS."""
    if child.poll() is not None:
        return
    child.terminate()
    try:
        child.wait(STOP_SECONDS)
    except subprocess.TimeoutExpired:
        child.kill()
        child.wait()
