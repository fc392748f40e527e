"""The environment a child process of ours (a training run, a cluster task) starts with.

Training needs none of the bot's secrets, and a child's environment can surface in its crash
reports and logs: every process the bot or the pipeline spawns gets this environment, without them.
"""

from __future__ import annotations

import os

SECRETS = ("TELEGRAM_BOT_TOKEN", "TELEGRAM_WEBHOOK_SECRET", "SUPPORTBOT_ACTIONS_SECRET")


def child_env(**extra: str) -> dict[str, str]:
    """This process's environment less SECRETS, plus `extra`."""
    return {**{k: v for k, v in os.environ.items() if k not in SECRETS}, **extra}
