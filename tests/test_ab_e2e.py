"""An A/B test end to end through PTB and the local Bot API server: simulated customers ask the starter domain's
questions, half of them answered by a candidate that gets most of them wrong; each presses 👍 on a right answer
and 👎 on a wrong one; /ab shows it; the nightly job's look rolls the candidate back and tells the admin."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from bench.ab_simulation import Questions
from storage.db import stamp
from storage.experiments import Arm, Experiments, ExperimentStatus
from storage.registry import ModelStatus
from storage.runs import RunTrigger
from tests.botapi import BotAPIServer
from tests.conftest import copy_live
from tests.harness import configure, running_bot
from training.canary import Placement, carry_out
from training.serving import Canary

pytestmark = pytest.mark.e2e
CUSTOMERS = 60  # user ids 1-60: 29 on live, 31 on the candidate in test 1 at share 0.5
UP, DOWN = 0, 1  # the rating buttons' places under an answer


class Confused:
    """A candidate that answers with the runner-up intent, confidently: wrong wherever the model is right."""

    def __init__(self, model) -> None:
        self.model, self.version = model, model.version

    def predict(self, text: str, k: int = 5, out_of_scope_weight: float = 1.0) -> list[tuple[str, float]]:
        ranked = self.model.predict(text, k, out_of_scope_weight)
        return [(ranked[1][0], 0.9), (ranked[0][0], 0.05), *((intent, 0.05 / k) for intent, _ in ranked[2:])]


@pytest.fixture
async def server():
    async with BotAPIServer() as srv:
        yield srv


def questions(runtime) -> list[tuple[str, str]]:
    """(text, intent) a customer can tell was answered right: intents with a plain answer, no person, no order."""
    asked = Questions.of(runtime.domain)
    plain = {name for name, intent in runtime.domain.intents.items() if intent.action is None} - {"contact_human"}
    return [(t, i) for t, i, lang in zip(asked.texts, asked.intents, asked.languages) if i in plain and lang == "en"]


def rating_buttons(answer: dict) -> list[dict]:
    """The 👍/👎 pair under an answer (its last row of two); none under suggestions or a fallback."""
    rows = (answer.get("reply_markup") or {}).get("inline_keyboard") or [[]]
    return rows[-1] if len(rows[-1]) == 2 else []


def start_test(runtime) -> None:
    """What the nightly run does with a candidate that passed the gate at canary_share 0.5; its model is confused."""
    candidate = copy_live(runtime.registry)
    carry_out(Placement.TEST, runtime.registry, Experiments(runtime.db), runtime.config.promotion, candidate,
              runtime.registry.live()["version"], run_id=None)
    runtime.model.refresh()
    canary = runtime.model.canary
    runtime.model.canary = Canary(canary.experiment, Confused(canary.classifier))


async def test_non_admins_are_refused_ab(trained_config, server):
    async with running_bot(configure(trained_config, server), server) as bot:
        eve = server.create_user("Eve")
        server.send_text(eve, "/ab")
        server.send_text(eve, "/ab promote")
        replies = await server.wait_for_messages(eve, 2)
        assert {m["text"] for m in replies} == {bot.runtime.domain.message("admin_only", "en")}
        rows = list(bot.runtime.db["audit"].rows_where("action LIKE 'ab%'"))
        assert [(r["actor"], r["action"], r["allowed"]) for r in rows] == [
            (f"telegram:{eve.id}", "ab", 0), (f"telegram:{eve.id}", "ab-promote", 0)]


async def test_customers_rate_both_arms_and_the_nightly_look_rolls_a_worse_candidate_back(trained_config, server):
    extra = "\n[promotion]\ncanary_share = 0.5\nab_max_days = 1\n"  # one night: decided by tonight's look
    async with running_bot(configure(trained_config, server, extra, "outgoing_rate_limit = false\n"), server) as bot:
        worker, admin = bot.app.bot_data.worker, bot.admin
        await worker.run(start_test)
        asked = questions(bot.runtime)
        customers = [server.create_user(f"C{i}") for i in range(CUSTOMERS)]
        truth = {}
        for i, customer in enumerate(customers):
            truth[customer.id] = asked[(7 * i) % len(asked)]
            server.send_text(customer, truth[customer.id][0])
        await server.wait_for(lambda: all(server.sent_messages(c) for c in customers), timeout=30)
        rated = 0
        for customer in customers:
            [answer] = server.sent_messages(customer)
            ratings = rating_buttons(answer)
            if ratings:  # an answer, rated: 👍 when it is the question's own answer ("did you mean" has none)
                right = answer["text"] == bot.runtime.engine.response(truth[customer.id][1], "en")
                server.press_button(customer, answer, ratings[UP if right else DOWN]["callback_data"])
                rated += 1
        await server.wait_for(lambda: len(server.callback_answers) >= rated, timeout=30)

        server.send_text(admin, "/ab")
        [shown] = await server.wait_for_messages(admin, 1, timeout=10)
        assert "A/B test 1: candidate" in shown["text"] and "50% of customers on the candidate" in shown["text"]
        decided = await worker.run(lambda rt: Experiments(rt.db).customer_outcomes(Experiments(rt.db).running()))
        per_arm = {arm: [r for r in decided if r.arm == arm] for arm in Arm}
        assert min(len(rows) for rows in per_arm.values()) >= 20
        resolved = {arm: sum(r.resolved for r in rows) / sum(r.decided for r in rows) for arm, rows in per_arm.items()}
        assert resolved[Arm.LIVE] > 0.8 > 0.2 > resolved[Arm.CANDIDATE]

        yesterday = stamp(datetime.now(UTC) - timedelta(days=1))  # as if the test had started last night
        await worker.run(lambda rt: rt.db.execute("UPDATE experiments SET started_at = ?", [yesterday]))
        held = await worker.run(lambda rt: rt.runs.start(RunTrigger.ADMIN, "telegram:1"))  # a /retrain in progress:
        [nightly] = bot.app.job_queue.get_jobs_by_name("nightly-retrain")  # tonight's run cannot start, the look does
        await nightly.run(bot.app)
        told = await server.wait_for_messages(admin, 2, timeout=10)
        assert told[1]["text"].startswith("A/B test 1 rolled back:") and "resolves fewer" in told[1]["text"]
        test = await worker.run(lambda rt: Experiments(rt.db).get(1))
        assert (test.status, test.ended_by) == (ExperimentStatus.ROLLED_BACK, "nightly")
        assert bot.runtime.registry.get(test.candidate_version)["status"] == ModelStatus.REJECTED
        assert bot.runtime.model.canary is None
        assert [r["id"] for r in bot.runtime.runs.recent()] == [held]  # no nightly run beside the one in progress
        await worker.run(lambda rt: rt.runs.release(held))
