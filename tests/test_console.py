"""The local chat, driven as a real subprocess through stdin/stdout."""

import os
import subprocess
import sys

from storage.db import open_db


def chat(config, lines: list[str]) -> str:
    env = {**os.environ, "SUPPORTBOT_VAR": str(config.var_dir)}
    done = subprocess.run(
        [sys.executable, "-m", "bot.cli", "chat", "--config", str(config.source)],
        input="\n".join(lines) + "\n",
        capture_output=True,
        text=True,
        timeout=120,
        env=env,
        check=True,
    )
    return done.stdout


def test_console_answers_and_logs_every_message(trained_config):
    out = chat(trained_config, ["where is my order?", "我要退款", "/quit"])
    assert "supportbot local chat" in out
    assert out.count("bot> ") == 2
    db = open_db(trained_config.db_path)
    texts = [r["text"] for r in db["messages"].rows_where("direction = 'in'", order_by="id")]
    assert texts == ["where is my order?", "我要退款"]
    assert db["predictions"].count == 2


def test_console_numbered_suggestion_becomes_a_label(trained_config):
    path = trained_config.source
    path.write_text(path.read_text() + "\n[policy]\nconfident = 1.0\nsuggest = 0.0\n")
    out = chat(trained_config, ["I want my money back", "1"])
    assert "  1) " in out and "  2) " in out
    db = open_db(trained_config.db_path)
    labels = list(db["labels"].rows)
    assert len(labels) == 1 and labels[0]["source"] == "suggestion" and labels[0]["text"] == "I want my money back"


def test_console_rating_and_end_of_input(trained_config):
    out = chat(trained_config, ["where is my order", "+"])
    assert "(rate this answer: + or -)" in out
    db = open_db(trained_config.db_path)
    assert [r["positive"] for r in db["feedback"].rows] == [1]
