"""Plain-text views of the A/B test, shared by `supportbot ab` and /ab, and what admins are told when it ends."""

from __future__ import annotations

import math

from bot.usecases.ab import AbView
from storage.experiments import Experiment, ExperimentStatus
from training.ab_decision import Estimate, Look, Measure, Rate
from training.experiment import Ending

NAMES = {Measure.RESOLVED: "Resolved", Measure.HANDOFF: "Handed to a person", Measure.THUMBS_DOWN: "👎"}


def _pct(value: float) -> str:
    return "—" if math.isnan(value) else f"{100 * value:.1f}%"


def _rate(rate: Rate) -> str:
    if math.isnan(rate.se):
        return _pct(rate.mean)
    low, high = rate.interval()
    return f"{_pct(rate.mean)} (95% {_pct(max(low, 0))}–{_pct(min(high, 1))})"


def _measure_line(measure: Measure, e: Estimate) -> str:
    diff = "" if math.isnan(e.diff) else f"; difference {100 * e.diff:+.1f} points"
    return f"{NAMES[measure]}: live {_rate(e.live)}, candidate {_rate(e.candidate)}{diff}"


def _verdict_lines(test: Experiment, figures: Look) -> list[str]:
    low, high = figures.interval()
    margin = 100 * test.design["margin"]
    if math.isinf(low) or math.isinf(high) or math.isnan(low):
        where = f"Night {figures.day} cannot decide yet (its boundaries are open)."
    else:
        where = f"Sequential interval of the resolved difference: {100 * low:+.1f} to {100 * high:+.1f} points."
    return [where, f"Promoted once its lower end is above −{margin:g} points; rolled back once its upper end is below 0 "
                   "(or a guard is worse beyond its margin).", f"So far: {figures.reason}."]


def ab_text(view: AbView) -> str:
    """The running test with its figures, or the last test and how it ended."""
    test = view.experiment
    if test is None:
        return "No A/B test has run. With [promotion] canary_share above 0, a candidate that passes the gate is tested first."
    head = (f"A/B test {test.id}: candidate {test.candidate_version} against live {test.live_version}, "
            f"{test.share:.0%} of customers on the candidate, at most {test.design['max_days']} days; started {test.started_at[:16]}")
    if test.status != ExperimentStatus.RUNNING:
        return f"{head}.\nEnded {test.ended_at[:16]}: {test.status.replace('_', ' ')} by {test.ended_by}: {test.reason}."
    lines = [f"{head}; night {view.figures.day} now."]
    if view.problem:
        lines.append(f"CANDIDATE NOT ANSWERING: {view.problem}")
    live, candidate = view.figures.customers
    lines.append(f"Customers with a decided answer: live {live}, candidate {candidate}")
    lines += [_measure_line(m, e) for m, e in view.figures.estimates.items()]
    lines += _verdict_lines(test, view.figures)
    if view.looks:
        lines.append(f"Nights looked at: {len(view.looks)} (last, night {view.looks[-1]['day']}: {view.looks[-1]['verdict']})")
    return "\n".join(lines)


def ending_text(ending: Ending) -> str:
    """What admins are told when a test ends."""
    test, status = ending.experiment, ending.status
    outcome = {
        ExperimentStatus.PROMOTED: f"promoted: {test.candidate_version} is live for everyone",
        ExperimentStatus.ROLLED_BACK: f"rolled back: {test.live_version} answers everyone again",
        ExperimentStatus.EXPIRED: f"ended undecided: {test.candidate_version} is set aside, the live model stays",
        ExperimentStatus.STOPPED: f"stopped: {test.candidate_version} is set aside",
    }[status]
    return f"A/B test {test.id} {outcome} ({ending.reason})."
