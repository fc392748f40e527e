"""What a candidate that passed the gold gate becomes: live at once, or tested on some customers first.

With `[promotion] canary_share` 0 (or no live model to compare with) it goes live at once, as before A/B
tests existed. Above 0 it starts an A/B test instead (storage/experiments.py): the candidate answers that
share of customers until the nightly look (training/ab_decision.py) promotes or rolls it back. While a
test runs no other candidate is tested or made live, whatever the share: it would change what the running
test compares.
"""

from __future__ import annotations

from enum import StrEnum

from storage.experiments import Experiments
from storage.registry import ModelRegistry, ModelStatus
from storage.runs import RunStatus
from training.ab_decision import Design
from training.config import PromotionSettings


class Placement(StrEnum):
    """Where a trained candidate goes."""

    LIVE = "live"  # made live at once
    TEST = "test"  # an A/B test on canary_share of customers
    HELD = "held"  # passed the gate while a test runs: neither live nor tested
    REJECTED = "rejected"  # failed the gate


RUN_STATUS = {Placement.LIVE: RunStatus.PROMOTED, Placement.TEST: RunStatus.TESTING, Placement.HELD: RunStatus.REJECTED,
              Placement.REJECTED: RunStatus.REJECTED}


def plan(experiments: Experiments, promotion: PromotionSettings, live_version: str | None,
         passed: bool) -> tuple[Placement, str]:
    """Where a candidate goes after the gate (`passed`), and the reason for the run's report, if one is due."""
    if not passed:
        return Placement.REJECTED, ""
    if (running := experiments.running()) is not None:
        return Placement.HELD, (f"passed the gate but not tested: A/B test {running.id} is still running, and no "
                                "second test starts while one runs")
    if promotion.canary_share == 0 or live_version is None:
        return Placement.LIVE, ""
    return Placement.TEST, (f"an A/B test starts instead of promoting: the candidate answers {promotion.canary_share:.0%} "
                            f"of customers, for at most {promotion.ab_max_days} days")


def carry_out(placement: Placement, registry: ModelRegistry, experiments: Experiments, promotion: PromotionSettings,
              version: str, live_version: str | None, run_id: int) -> RunStatus:
    """Do what `plan` said (the caller holds the run lock, so no other test can start in between)."""
    if placement == Placement.LIVE:
        registry.promote(version)
    elif placement == Placement.TEST:
        experiments.start(version, live_version, Design.from_settings(promotion).as_dict(), run_id)
    else:
        registry.set_status(version, ModelStatus.REJECTED)
    return RUN_STATUS[placement]
