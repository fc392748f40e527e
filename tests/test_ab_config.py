"""[promotion]'s A/B keys: 0 keeps promoting at once; a value outside its meaning stops the start, naming the key."""

import subprocess
import sys

import pytest

from tests.conftest import ROOT, write_config
from tests.test_config import refusal
from training.config import load_config


def test_without_the_keys_a_candidate_goes_live_at_once_and_the_design_has_its_defaults(tmp_path):
    promotion = load_config(write_config(tmp_path)).promotion
    assert promotion.canary_share == 0
    assert (promotion.ab_margin, promotion.ab_alpha_promote, promotion.ab_alpha_rollback, promotion.ab_max_days) == (
        0.02, 0.05, 0.05, 28)


@pytest.mark.parametrize("key, value, what", [
    ("canary_share", "0.6", "between 0 and 0.5"), ("canary_share", "-0.1", "between 0 and 0.5"),
    ("ab_margin", "1.0", "below 1"), ("ab_handoff_margin", "-0.01", "at least 0"), ("ab_thumbs_down_margin", "1.5", "below 1"),
    ("ab_alpha_promote", "0.0", "above 0"), ("ab_alpha_rollback", "0.6", "at most 0.5"), ("ab_alpha_guards", "-1.0", "above 0"),
    ("ab_max_days", "0", "at least 1"), ("ab_max_days", "400", "at most 365"),
])
def test_a_test_design_outside_its_meaning_is_refused(tmp_path, key, value, what):
    assert refusal(tmp_path, f"[promotion]\n{key} = {value}\n") == f"[promotion] {key} must be {what}, got {value}"


@pytest.mark.parametrize("written, what", [('"0.1"', "float (a number)"), ("true", "float (a number)"), ("28.5", "int")])
def test_a_test_design_of_the_wrong_type_is_refused(tmp_path, written, what):
    key = "ab_max_days" if what == "int" else "canary_share"
    assert refusal(tmp_path, f"[promotion]\n{key} = {written}\n").startswith(f"[promotion] {key} must be {what}")


def test_every_command_stops_with_the_error_and_exit_code_2(tmp_path):
    path = write_config(tmp_path, "[promotion]\ncanary_share = 0.9\n")
    done = subprocess.run([sys.executable, "-m", "bot.cli", "ab", "--config", str(path)], capture_output=True,
                          text=True, cwd=ROOT, timeout=120)
    assert done.returncode == 2
    assert done.stderr.strip() == f"error: {path}: [promotion] canary_share must be between 0 and 0.5, got 0.9"
