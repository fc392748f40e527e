"""The local chat, driven as a real subprocess through stdin/stdout."""

import os
import subprocess
import sys

from storage.db import open_db
from training.domain import load_domain

ALWAYS_SUGGEST = "\n[policy]\nconfident = 1.0\nsuggest = 0.0\n"  # every question gets a numbered list


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
    path.write_text(path.read_text() + ALWAYS_SUGGEST)
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


def test_console_answers_help_and_start_like_telegram_without_classifying_them(trained_config):
    """Before: "/help" was a question for the model (stored, classified, a "did you mean")."""
    domain = load_domain(trained_config.data_dir)
    out = chat(trained_config, ["/help", "/start", "/quit"])
    assert domain.message("help", "en") in out and domain.message("help_footer", "en") in out
    assert f"• {domain.intents['order_status'].title['en']}" in out
    assert f"• {domain.intents['out_of_scope'].title['en']}" not in out
    assert domain.message("start", "en") in out
    assert domain.message("did_you_mean", "en") not in out
    db = open_db(trained_config.db_path)
    assert db["messages"].count == 0 and db["predictions"].count == 0


def test_console_out_of_range_number_says_so_and_shows_the_choices_again(trained_config):
    """Before: "9" under a list of four was stored and classified as a new message."""
    path = trained_config.source
    path.write_text(path.read_text() + ALWAYS_SUGGEST)
    out = chat(trained_config, ["I want my money back", "9", "0", "1"])
    assert "9 is not one of the choices" in out and "0 is not one of the choices" in out
    assert out.count("  1) ") == 3  # the list, shown again after each wrong number
    db = open_db(trained_config.db_path)
    assert [r["text"] for r in db["messages"].rows_where("direction = 'in'")] == ["I want my money back"]
    assert [r["source"] for r in db["labels"].rows] == ["suggestion"]  # the list still works after it


def test_console_long_number_under_a_list_is_a_new_message(trained_config):
    """An order number after a suggestion list is a question, not a wrong choice."""
    path = trained_config.source
    path.write_text(path.read_text() + ALWAYS_SUGGEST)
    out = chat(trained_config, ["I want my money back", "48213"])
    assert "not one of the choices" not in out
    db = open_db(trained_config.db_path)
    assert [r["text"] for r in db["messages"].rows_where("direction = 'in'", order_by="id")] == ["I want my money back", "48213"]


def test_console_offers_a_person_once_when_contact_human_is_likely(trained_config):
    """Before: contact_human was a suggestion and the person button came too: two "Talk to a person"."""
    domain = load_domain(trained_config.data_dir)
    path = trained_config.source
    path.write_text(path.read_text() + ALWAYS_SUGGEST)
    out = chat(trained_config, ["I want to talk to a real person"])
    assert domain.message("did_you_mean", "en") in out
    assert out.count(domain.message("talk_to_person", "en")) == 1
