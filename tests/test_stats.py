"""`supportbot stats` and its use case: what became of the answers, per day and model version, on real SQLite.

Rows are made by the engine (a ranker of fixed probabilities, tests/test_outcomes.py) where the flow matters,
and moved to other days or model versions by hand where only the counting does.
"""

import json
from contextlib import closing
from datetime import UTC, datetime, timedelta

import pytest

from bot.cli import main
from bot.replies import Control
from bot.stats_chart import chart_png
from bot.stats_report import stats_json, stats_text
from bot.usecases import outcomes as usecase
from bot.usecases.access import Actor, NotAllowed
from storage.outcomes import Outcome
from tests.test_outcomes import ask, outcomes, pass_window, press, runtime_with

ADMIN = Actor("cli:test", admin=True)
PNG = b"\x89PNG\r\n\x1a\n"


@pytest.fixture
def runtime(tmp_path):
    with closing(runtime_with(tmp_path)) as runtime:
        yield runtime


def figures(runtime, days=usecase.DEFAULT_DAYS):
    return usecase.stats(runtime, ADMIN, days)


def move(runtime, message_id, *, days_ago=0, version=None):
    """A row as if answered `days_ago` days earlier (by `version`)."""
    day = (datetime.now(UTC) - timedelta(days=days_ago)).date().isoformat()  # [telegram] timezone is UTC here
    runtime.db.execute("UPDATE outcomes SET day = ?, model_version = COALESCE(?, model_version) WHERE message_id = ?",
                       [day, version, message_id])


def run_cli(config, *args):
    return main(["stats", *args, "--config", str(config.source)])


# --- refused and empty ---------------------------------------------------------------------------


@pytest.mark.parametrize("days", ["0", "-3"])
def test_days_below_one_are_refused_with_a_clear_error(runtime, capsys, days):
    assert run_cli(runtime.config, "--days", days) == 2
    assert f"error: --days must be 1 or more (the last N days, today included), not {days}" in capsys.readouterr().err
    with pytest.raises(ValueError, match="days must be 1 or more"):
        figures(runtime, int(days))


def test_a_chart_that_cannot_be_written_is_a_clear_error(runtime, tmp_path, capsys):
    ask(runtime, "how do I reset my password")
    target = tmp_path / "no-such-folder" / "stats.png"
    assert run_cli(runtime.config, "--plot", str(target)) == 2
    assert f"error: cannot write the chart to {target}: No such file or directory" in capsys.readouterr().err
    assert not target.exists()


def test_stats_are_for_admins_only_and_audited(runtime):
    with pytest.raises(NotAllowed):
        usecase.stats(runtime, Actor("telegram:1"), 7)
    figures(runtime, 7)
    assert [(a["actor"], a["action"], a["allowed"], a["detail"]) for a in runtime.db["audit"].rows] == [
        ("telegram:1", "stats", 0, ""), ("cli:test", "stats", 1, "7 days, 0 answers")]


def test_an_empty_database_has_no_answers_yet_and_still_a_chart(runtime, tmp_path, capsys):
    empty = figures(runtime, 7)
    assert (empty.total.answered, empty.days, empty.versions, empty.unanswered) == (0, [], [], [])
    assert (empty.until - empty.since).days == 6
    assert stats_text(empty).startswith(f"No answers from {empty.since} to {empty.until} yet")
    assert stats_json(empty)["total"]["containment"] is None
    chart = tmp_path / "empty.png"
    assert run_cli(runtime.config, "--days", "7", "--plot", str(chart)) == 0
    assert chart.read_bytes().startswith(PNG)
    assert "No answers" in capsys.readouterr().out


# --- the figures ---------------------------------------------------------------------------------


def test_rates_are_shares_of_decided_answers_and_open_ones_are_counted_apart(runtime):
    helped = ask(runtime, "how do I reset my password")
    press(runtime, helped, Control.UP)  # resolved, 👍
    down = ask(runtime, "how much is shipping", user="bo")
    press(runtime, down, Control.DOWN, user="bo")  # thumbs_down, 👎
    ask(runtime, "blah", user="cy")  # fallback
    ask(runtime, "how much is shipping", user="di")  # open
    total = figures(runtime).total
    assert (total.answered, total.decided, total.open) == (4, 3, 1)
    assert total.rate(Outcome.RESOLVED) == pytest.approx(1 / 3) and total.rate(Outcome.HANDOFF) == 0
    assert (total.rated(True), total.rated(False)) == (pytest.approx(1 / 3), pytest.approx(1 / 3))
    text = stats_text(figures(runtime))
    assert "4 answered, 1 still open: contained 33% · rephrased 0% · 👎 33% · handoff 0% · fallback 33%" in text


def test_figures_per_day_and_per_model_version_within_the_days_asked(runtime):
    today = ask(runtime, "how do I reset my password")
    yesterday = ask(runtime, "blah", user="bo")
    long_ago = ask(runtime, "how much is shipping", user="cy")
    move(runtime, yesterday.message_id, days_ago=1, version="v-old")
    move(runtime, long_ago.message_id, days_ago=10)
    two_days = figures(runtime, 2)
    assert [(t.key, t.answered) for t in two_days.days] == [
        ((datetime.now(UTC) - timedelta(days=1)).date().isoformat(), 1), (datetime.now(UTC).date().isoformat(), 1)]
    assert [(t.key, t.answered, t.rate(Outcome.FALLBACK)) for t in two_days.versions] == [
        ("fixed-1", 1, None), ("v-old", 1, 1.0)]
    assert today.message_id and figures(runtime, 11).total.answered == 3


def test_volume_per_intent_and_language(runtime):
    ask(runtime, "how do I reset my password")
    ask(runtime, "how do I reset my password", user="bo")
    runtime.db.execute("UPDATE outcomes SET language = 'zh' WHERE user_id = (SELECT id FROM users WHERE external_id = 'bo')")
    ask(runtime, "how much is shipping", user="cy")
    result = figures(runtime)
    assert result.intents == [("reset_password", {"en": 1, "zh": 1}), ("shipping_cost", {"en": 1})]
    assert result.languages == {"en": 2, "zh": 1}
    assert "reset_password 2 (en 1, zh 1) · shipping_cost 1 (en 1)" in stats_text(result)


def test_the_to_do_list_counts_unanswered_messages_normalised_and_as_stored(runtime):
    for user, text in [("a", "  DO YOU SELL GIFT CARDS!"), ("b", "do you sell gift cards"), ("c", "call me on +44 20 7946 0000"),
                       ("d", "Do you sell gift cards?")]:
        ask(runtime, text, user=user)
    assert figures(runtime).unanswered == [("Do you sell gift cards?", 3), ("call me on <PHONE>", 1)]  # the latest, as stored
    assert "  3× Do you sell gift cards?" in stats_text(figures(runtime))


def test_stats_resolve_what_went_quiet_before_counting(runtime):
    ask(runtime, "how do I reset my password")
    pass_window(runtime)
    assert figures(runtime).total.outcomes == {Outcome.RESOLVED: 1}
    assert set(outcomes(runtime).values()) == {Outcome.RESOLVED}


def test_json_and_the_chart_from_the_command(runtime, tmp_path, capsys):
    ask(runtime, "how do I reset my password")
    ask(runtime, "blah", user="bo")
    chart = tmp_path / "stats.png"
    assert run_cli(runtime.config, "--days", "3", "--json", "--plot", str(chart)) == 0
    result = json.loads(capsys.readouterr().out)
    assert result["total"]["answered"] == 2 and result["total"]["outcomes"]["fallback"] == 1
    assert result["total"]["rates"]["fallback"] == 1.0 and result["unanswered"] == [{"text": "blah", "count": 1}]
    assert [d["answered"] for d in result["days"]] == [2]
    assert chart.read_bytes().startswith(PNG) and len(chart.read_bytes()) > 10_000
    assert chart_png(figures(runtime)).startswith(PNG)
