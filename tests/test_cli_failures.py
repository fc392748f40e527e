"""What a new shop owner hits at the terminal: every failure ends with one clear line, never a traceback."""

from pathlib import Path

import pytest

from bot.cli import main
from storage.db import open_db
from storage.registry import ModelRegistry


def run(config, *args: str) -> int:
    return main([*args, "--config", str(config.source)])


def last_line(capsys) -> str:
    err = capsys.readouterr().err
    assert "Traceback" not in err
    return err.strip().splitlines()[-1]


def break_live_model(config) -> str:
    registry = ModelRegistry(open_db(config.db_path), config.models_dir)
    live = registry.live()
    (Path(live["path"]) / "model.tflite").write_bytes(b"\x00" * 64)
    return live["version"]


def test_evaluate_an_unknown_version_is_one_error_line(trained_config, capsys):
    assert run(trained_config, "evaluate", "--version", "nope") == 2
    assert last_line(capsys) == "error: no model version 'nope'"


def test_backup_into_a_missing_folder_or_over_a_file_is_refused(trained_config, tmp_path, capsys):
    assert run(trained_config, "backup", str(tmp_path / "missing" / "x.db")) == 2
    assert last_line(capsys) == f"error: folder {tmp_path / 'missing'} does not exist"
    existing = tmp_path / "old.db"
    existing.write_bytes(b"an older backup")
    assert run(trained_config, "backup", str(existing)) == 2
    assert "exists; choose another path or replace it with --force" in last_line(capsys)
    assert existing.read_bytes() == b"an older backup"
    assert run(trained_config, "backup", str(existing), "--force") == 0
    assert open_db(existing)["messages"].count == 0  # a real database now


def test_a_live_model_that_does_not_load_is_named_by_status_and_refused_by_what_needs_it(trained_config, capsys):
    version = break_live_model(trained_config)
    assert run(trained_config, "status") == 0
    out = capsys.readouterr().out
    assert f"NOT ANSWERING AS LIVE: model {version} does not load" in out
    for command in (["evaluate"], ["classify", "hello"], ["chat"]):
        assert run(trained_config, *command) == 2, command
        assert last_line(capsys).startswith(f"error: model {version} does not load"), command
    assert run(trained_config, "rollback") == 1  # still works: says why it cannot (no earlier model)
    assert "no earlier model" in last_line(capsys)


def test_chat_before_any_training_says_what_to_do(config, capsys):
    assert run(config, "chat") == 2
    assert last_line(capsys) == "error: no model is trained yet: run `supportbot train` first (`make run` does)"


def test_status_in_the_terminal_says_the_schedule_needs_the_telegram_bot(config, capsys):
    assert run(config, "status") == 0
    out = capsys.readouterr().out
    assert "No live model yet" in out
    assert "if the bot is running on Telegram then" in out and "the local chat schedules nothing" in out


def test_ctrl_c_in_the_chat_ends_with_one_line(trained_config, capsys, monkeypatch):
    def interrupted(*_args):
        raise KeyboardInterrupt

    monkeypatch.setattr("bot.channels.console.ConsoleChat.run", interrupted)
    assert run(trained_config, "chat") == 130
    assert last_line(capsys) == "interrupted"


@pytest.mark.parametrize("text", ["\x1b[2J\x1b[31mred", "bell\x07"])
def test_review_shows_control_characters_escaped(text):
    from bot.cli.data_commands import printable

    shown = printable(text)
    assert "\x1b" not in shown and "\x07" not in shown and shown.isprintable()

