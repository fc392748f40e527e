"""The `supportbot` command group: options shared by every command, and how errors end.

Like sqlite-utils' CLI, each command (bot/cli/*_commands.py) declares its own options, opens what
it needs and calls one use case (bot/usecases); nothing else happens here. `--config` works before
and after the command name. Known failures end with one `error: ...` line and exit code 2.
TensorFlow is imported only by the commands that train; chatting and serving never load it.
"""

from __future__ import annotations

import getpass
import logging
import os
from collections.abc import Iterator
from contextlib import contextmanager

import click

from bot.masking import TokenRefused, mask_everywhere
from bot.runtime import Runtime, open_runtime
from bot.usecases.access import Actor
from storage.db import DatabaseRefused
from training.config import Config, ConfigError, load_config, with_workers
from training.domain import DomainError

REFUSED = (ConfigError, DomainError, DatabaseRefused, TokenRefused)


class Failed(click.ClickException):
    """A command that cannot do what was asked: one `error: ...` line, exit code 2."""

    exit_code = 2

    def show(self, file=None) -> None:
        click.echo(f"error: {self.format_message()}", err=True, file=file)


def _remember_config(ctx: click.Context, _param: click.Parameter, value: str | None) -> None:
    if value is not None:
        ctx.ensure_object(dict)["config"] = value


config_option = click.option(
    "--config", type=click.Path(dir_okay=False), expose_value=False, is_eager=True, callback=_remember_config,
    help="config file (default: $SUPPORTBOT_CONFIG or ./config.toml)",
)


def _remember_workers(ctx: click.Context, _param: click.Parameter, value: str | None) -> None:
    if value is not None:
        ctx.ensure_object(dict)["workers"] = [w.strip() for w in value.split(",") if w.strip()]


workers_option = click.option(
    "--workers", metavar="HOST:PORT,...", expose_value=False, callback=_remember_workers,
    help="train across these `supportbot worker` machines instead of [training] workers (\"\" for this machine alone)",
)


def config_of(ctx: click.Context) -> Config:
    """The config named by --config (wherever it was given), $SUPPORTBOT_CONFIG, or ./config.toml;
    with a command's --workers in place of [training] workers."""
    path = (ctx.obj or {}).get("config") or os.environ.get("SUPPORTBOT_CONFIG", "config.toml")
    config = load_config(path)
    workers = (ctx.obj or {}).get("workers")
    return config if workers is None else with_workers(config, workers)


@contextmanager
def opened(ctx: click.Context) -> Iterator[Runtime]:
    """The runtime for one command, closed afterwards."""
    runtime = open_runtime(config_of(ctx))
    try:
        yield runtime
    finally:
        runtime.close()


def operator() -> Actor:
    """Whoever runs the command: an admin, since they have the files anyway."""
    return Actor(f"cli:{getpass.getuser()}", admin=True)


HELP = ("supportbot: a self-hosted customer-service bot that learns from its own conversations. "
        "Every command takes --config FILE, before or after its name.")


@click.group(help=HELP)
@config_option
def cli() -> None:
    _setup_logging()


def command(name: str | None = None):
    """A subcommand of `supportbot` that also takes --config after its name."""

    def decorate(fn):
        return cli.command(name)(config_option(fn))

    return decorate


def _setup_logging() -> None:
    """INFO to stderr, httpx's per-request URL lines off, and the secrets masked on every way out."""
    mask_everywhere(os.environ.get("TELEGRAM_BOT_TOKEN"), os.environ.get("TELEGRAM_WEBHOOK_SECRET"),
                    os.environ.get("SUPPORTBOT_ACTIONS_SECRET"))
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    logging.getLogger("httpx").setLevel(logging.WARNING)  # one line per request, the token in its URL
    logging.getLogger("apscheduler").setLevel(logging.WARNING)  # a line per job added or run, every start


def main(argv: list[str] | None = None) -> int:
    """Run one command; its exit code (0 ok, 1 refused by the bot's own rules, 2 cannot run)."""
    try:
        code = cli.main(args=argv, prog_name="supportbot", standalone_mode=False)
    except REFUSED as exc:
        Failed(str(exc)).show()
        return Failed.exit_code
    except click.ClickException as exc:
        exc.show()
        return exc.exit_code
    except (click.Abort, KeyboardInterrupt):
        click.echo("\ninterrupted", err=True)
        return 130
    return code if isinstance(code, int) else 0


