"""The `supportbot` command as a user runs it: real subprocesses, real files."""

import json
import os
import subprocess
import sys

import pytest

from storage.db import open_db

from conftest import write_config

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
    assert [(l["source"], l["intent"]) for l in labels] == [("admin", "refund_request"), ("admin", "order_status")]
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
    assert status.returncode == 0 and "Live model" in status.stdout and "Next scheduled run" in status.stdout
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
    assert cv["k"] == 2 and len(cv["accuracy"]["folds"]) == 2 and 0 <= cv["macro_f1"]["mean"] <= 1
