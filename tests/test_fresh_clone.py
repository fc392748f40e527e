"""`make run` on a fresh clone, as a new user runs it: the README's first command, nothing prepared.

A clone of HEAD (committed files only: no .venv, no var/, no model, no database). `make run` builds the
venv from the package registries, trains the starter model and starts the local chat with the demo
shop beside it; an order question typed into it must be answered with the demo shop's live data.
Only `make fresh` runs it: the venv and the starter model take minutes, and CI's `make test` already
builds both on its own clean clone.
"""

from __future__ import annotations

import os
import subprocess

import pytest

from tests.conftest import ROOT

pytestmark = pytest.mark.fresh
# What a new user's shell has: none of the bot's settings, no venv active.
UNSET = ("TELEGRAM_BOT_TOKEN", "SUPPORTBOT_VAR", "SUPPORTBOT_CONFIG", "SUPPORTBOT_ACTIONS_SECRET", "VIRTUAL_ENV",
         "SUPPORTBOT_TEST_CACHE")


def test_make_run_on_a_fresh_clone_answers_an_order_question_with_the_demo_shops_live_data(tmp_path):
    clone = tmp_path / "supportbot"
    subprocess.run(["git", "clone", "--quiet", str(ROOT), str(clone)], check=True, timeout=120)
    env = {k: v for k, v in os.environ.items() if k not in UNSET}
    run = subprocess.run(["make", "run"], cwd=clone, input="where is my order 10023?\nwei.zhang@example.org\n",
                         capture_output=True, text=True, timeout=3600, env=env)
    assert run.returncode == 0, run.stderr[-3000:]
    assert "Here is order 10023" in run.stdout and "track.example.com" in run.stdout, run.stdout[-3000:]
