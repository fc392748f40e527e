"""The `supportbot` command as a user runs it: real subprocesses, real files."""

import json
import os
import subprocess
import sys
import time

import pytest

from storage.db import open_db
from tests.conftest import write_config
from training.config import load_config

# Two members: the nightly chain trains, exports and serves an averaged model end to end.
TINY = "[model]\nmax_epochs = 2\nembedding_dim = 16\nlstm_units = 8\nngram_dim = 16\nmembers = 2\n"


def cli(config, *args, stdin: str | None = None) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "bot.cli", *args, "--config", str(config.source)],
        input=stdin, capture_output=True, text=True, timeout=600,
        env={**os.environ, "SUPPORTBOT_VAR": str(config.var_dir)},
    )


def test_import_reports_bad_rows_by_line_and_imports_nothing(trained_config, tmp_path):
    bad = tmp_path / "bad.csv"
    bad.write_text("text,label\nwhere is my order,order_status\nhello,no_such_intent\n,greet\nonly one column\n")
    done = cli(trained_config, "import", str(bad))
    assert done.returncode == 1
    assert "line 3: unknown label 'no_such_intent'" in done.stderr
    assert "line 4: empty text" in done.stderr and "line 5: expected 2 columns" in done.stderr
    assert "nothing imported" in done.stderr
    assert open_db(trained_config.db_path)["labels"].count == 0


def test_import_then_export_round_trips_with_redaction(trained_config, tmp_path):
    good = tmp_path / "good.csv"
    good.write_text('text,label\n"refund to jane@example.com, please",refund_request\n我的快递到哪了,order_status\n')
    assert cli(trained_config, "import", str(good)).returncode == 0
    labels = list(open_db(trained_config.db_path)["labels"].rows)
    assert [(l["source"], l["intent"]) for l in labels] == [("import", "refund_request"), ("import", "order_status")]
    out = cli(trained_config, "export")
    assert out.returncode == 0
    assert out.stdout.splitlines() == ["text,label", '"refund to <EMAIL>, please",refund_request', "我的快递到哪了,order_status"]


def test_import_refuses_a_file_without_the_header(trained_config, tmp_path):
    path = tmp_path / "x.csv"
    path.write_text("where is my order,order_status\n")
    done = cli(trained_config, "import", str(path))
    assert done.returncode == 1 and "line 1: the header must be: text,label" in done.stderr


def test_status_runs_and_evaluate_json(trained_config):
    status = cli(trained_config, "status")
    assert status.returncode == 0 and "Live model" in status.stdout and "Next nightly run" in status.stdout
    assert cli(trained_config, "runs").returncode == 0
    result = json.loads(cli(trained_config, "evaluate", "--json").stdout)
    assert {"accuracy", "macro_f1", "oos_recall", "n_intents", "per_language"} <= set(result)
    assert set(result["per_language"]) == {"en", "zh"}
    assert {"accuracy", "macro_f1", "n_train", "n_gold"} <= set(result["per_language"]["en"])
    assert result["n_intents"] == 28


def test_rollback_without_an_earlier_model_is_refused(trained_config):
    done = cli(trained_config, "rollback")
    assert done.returncode == 1 and "no earlier model" in done.stderr


def test_a_broken_config_gets_a_clear_error(tmp_path):
    path = tmp_path / "config.toml"
    path.write_text("[model]\nmax_len = 'long'\n")
    done = subprocess.run([sys.executable, "-m", "bot.cli", "status", "--config", str(path)],
                          capture_output=True, text=True, timeout=60)
    assert done.returncode == 2 and "[model] max_len must be int" in done.stderr
    path.write_text('[model]\nlr_schedule = "linear"\n')
    done = subprocess.run([sys.executable, "-m", "bot.cli", "status", "--config", str(path)],
                          capture_output=True, text=True, timeout=60)
    assert done.returncode == 2 and 'lr_schedule must be "cosine" or "constant"' in done.stderr
    path.write_text("[policy]\nout_of_scope_weight = 0\n")
    done = subprocess.run([sys.executable, "-m", "bot.cli", "status", "--config", str(path)],
                          capture_output=True, text=True, timeout=60)
    assert done.returncode == 2 and "out_of_scope_weight must be above 0" in done.stderr


@pytest.mark.slow
def test_retrain_json_and_cross_validation(trained_config):
    write_config(trained_config.source.parent, model=TINY)
    done = cli(trained_config, "retrain", "--json")
    assert done.returncode == 0, done.stderr
    result = json.loads(done.stdout)
    assert {"run_id", "status", "candidate", "live", "counts", "report"} <= set(result)
    assert result["status"] in ("promoted", "rejected")
    assert set(result["counts"]) == {"collect", "clean", "train"}
    assert os.path.exists(os.path.join(result["report"], "report.md"))
    cv = json.loads(cli(trained_config, "evaluate", "--cross-validate", "2", "--json").stdout)
    assert cv["k"] == 2 and set(cv) == {"k", "top_intent", "answered"}
    for scored in ("top_intent", "answered"):
        for figure in ("accuracy", "macro_f1"):
            r = cv[scored][figure]
            assert len(r["folds"]) == 2 and r["mean"] == pytest.approx(sum(r["folds"]) / 2, abs=1e-4), (scored, figure)


def test_config_before_the_command_is_the_config_used(trained_config, tmp_path):
    """`supportbot --config X status` once silently read ./config.toml instead of X."""
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    for args in (["--config", str(trained_config.source), "status"], ["status", "--config", str(trained_config.source)]):
        done = subprocess.run([sys.executable, "-m", "bot.cli", *args], cwd=elsewhere, capture_output=True, text=True,
                              timeout=60, env={k: v for k, v in os.environ.items() if k != "SUPPORTBOT_VAR"})
        assert done.returncode == 0, done.stderr
        assert "Live model" in done.stdout


def test_classify_says_what_the_bot_would_do_without_storing_anything(trained_config):
    done = cli(trained_config, "classify", "--json", stdin="where is my order\n\n我想退货\n")
    assert done.returncode == 0, done.stderr
    rows = [json.loads(line) for line in done.stdout.splitlines()]
    assert [set(r) for r in rows] == [{"text", "intent", "confidence", "action", "topk"}] * 3
    assert (rows[0]["intent"], rows[0]["action"]) == ("order_status", "answer")
    assert rows[1]["action"] == "empty" and rows[1]["topk"] == []
    assert rows[2]["intent"] == "return_item" and len(rows[2]["topk"]) == 5
    assert rows[2]["topk"][0][0] == "return_item" and rows[2]["topk"][0][1] == rows[2]["confidence"]
    assert open_db(trained_config.db_path)["messages"].count == 0
    text = cli(trained_config, "classify", "where is my order")
    assert text.returncode == 0 and "order_status" in text.stdout and "answer" in text.stdout


def test_classify_without_a_model_is_a_clear_error(config):
    done = cli(config, "classify", "hello")
    assert done.returncode == 2 and done.stderr.strip().splitlines()[-1] == "error: no model is live: run `supportbot train` first"


def test_redact_prints_each_line_as_it_would_be_stored(config):
    done = cli(config, "redact", stdin="mail jane.doe@example.com\ncard 4111 1111 1111 1111 ok\norder SO-2024-118833\n")
    assert done.returncode == 0, done.stderr
    assert done.stdout.splitlines() == ["mail <EMAIL>", "card <CARD> ok", "order SO-2024-118833"]


def test_train_while_a_run_holds_the_lock_is_refused(trained_config):
    from storage.runs import Runs, RunTrigger

    run_id = Runs(open_db(trained_config.db_path)).start(RunTrigger.CLI)
    done = cli(trained_config, "train")
    assert done.returncode == 2 and f"training run {run_id} is in progress" in done.stderr


@pytest.mark.slow
def test_train_is_a_recorded_run_under_the_lock_with_a_report(config):
    write_config(config.source.parent, model=TINY)
    done = cli(config, "train", "--quiet")
    assert done.returncode == 0, done.stderr
    runs = cli(config, "runs").stdout.splitlines()
    assert len(runs) == 1 and "[starter] promoted" in runs[0]
    db = open_db(config.db_path)
    run = db["training_runs"].get(1)
    assert run["trigger"] == "starter" and os.path.exists(os.path.join(run["report_path"], "report.md"))
    assert db["locks"].count == 0
    assert [(a["action"], a["detail"]) for a in db["audit"].rows] == [("train", f"run 1 promoted {run['candidate_version']}")]
    assert "is present; not training" in cli(config, "train", "--if-missing").stdout


def test_link_account_prints_a_link_the_bot_accepts_or_says_what_is_missing(tmp_path):
    from bot.account_link import LinkToken, read_token

    config = load_config(write_config(tmp_path))
    unset = subprocess.run([sys.executable, "-m", "bot.cli", "link-account", "weizhang", "--config", str(config.source)],
                           capture_output=True, text=True, timeout=120,
                           env={k: v for k, v in os.environ.items() if k != "SUPPORTBOT_ACTIONS_SECRET"})
    assert unset.returncode == 2 and "SUPPORTBOT_ACTIONS_SECRET is not set" in unset.stderr
    env = {**os.environ, "SUPPORTBOT_ACTIONS_SECRET": "cli-secret"}
    made = subprocess.run([sys.executable, "-m", "bot.cli", "link-account", "weizhang", "--bot", "@shop_bot",
                           "--config", str(config.source)], capture_output=True, text=True, timeout=120, env=env)
    assert made.returncode == 0 and made.stdout.startswith("https://t.me/shop_bot?start=weizhang_")
    token = made.stdout.strip().split("start=")[1]
    assert isinstance(read_token(b"cli-secret", token, time.time()), LinkToken)
    bad = subprocess.run([sys.executable, "-m", "bot.cli", "link-account", "wei.zhang", "--config", str(config.source)],
                         capture_output=True, text=True, timeout=120, env=env)
    assert bad.returncode == 2 and "1 to 24 letters and digits" in bad.stderr
