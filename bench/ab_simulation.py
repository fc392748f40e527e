"""A/B tests simulated night by night, decided by the bot's own code, to see how often they decide right.

Simulated customers ask the starter domain's questions (training examples and gold set, data/): each
conversation draws one, in its language. The arm answering is the bot's own sticky assignment
(training/assignment.py); the answer is right with the arm's accuracy, chosen so that the arm resolves
the share of answers the case asks for. Customers react (`Reactions`):

- a right answer is resolved (👍 or a quiet customer) with probability p, else the customer asks for a person;
- a wrong answer is rephrased or 👎'd with probability q (a share of those 👎), else the customer goes
  quiet, which the outcome rules count as resolved, as they would in the bot;
- after a rephrase or 👎 the customer asks the same question again, answered afresh; a conversation
  whose last allowed answer still fails ends with a request for a person.

So an answer is resolved with probability r = a·p + (1 − a)(1 − q) for accuracy a. Each night the
customers' tallies go through `training.ab_decision.look`, the function the bot's nightly look calls on
the rows it reads from the outcomes table; the first verdict other than "continue" ends the run.
"""

from __future__ import annotations

import statistics
from dataclasses import asdict, dataclass

import numpy as np

from storage.experiments import Arm
from storage.outcomes import Outcome
from training.ab_decision import Design, Look, Tallies, Verdict, look
from training.assignment import arm_of
from training.domain import OUT_OF_SCOPE, Domain

COLUMNS = {Outcome.RESOLVED: 1, Outcome.HANDOFF: 2, Outcome.THUMBS_DOWN: 3}  # of a tally row, after `decided`


@dataclass(frozen=True)
class Reactions:
    right_resolved: float = 0.9  # p
    wrong_complains: float = 0.8  # q
    thumbs_down_share: float = 0.3  # of the complaints, 👎 rather than a rephrase
    max_answers: int = 3  # per conversation

    def accuracy(self, resolved: float) -> float:
        """The accuracy a that resolves `resolved` of the answers: r = a·p + (1 − a)(1 − q)."""
        quiet = 1 - self.wrong_complains
        a = (resolved - quiet) / (self.right_resolved - quiet)
        if not 0 <= a <= 1:
            raise ValueError(f"a resolved rate of {resolved} needs accuracy {a:.3f}; these reactions reach "
                             f"{quiet:.2f} to {self.right_resolved:.2f}")
        return a


@dataclass(frozen=True)
class Traffic:
    conversations_per_day: int = 300
    returning: float = 0.3  # share of conversations by a customer seen before (in their same arm)


@dataclass(frozen=True)
class Case:
    name: str
    live_resolved: float
    candidate_resolved: float


@dataclass(frozen=True)
class Questions:
    """What customers ask: the starter domain's in-scope examples, training and gold, with intent and language."""

    texts: tuple[str, ...]
    intents: tuple[str, ...]
    languages: tuple[str, ...]

    @classmethod
    def of(cls, domain: Domain) -> Questions:
        examples = [e for e in (*domain.training_examples(), *domain.gold) if e.intent != OUT_OF_SCOPE]
        return cls(*(tuple(column) for column in zip(*((e.text, e.intent, e.language) for e in examples))))


@dataclass(frozen=True)
class Answer:
    """One simulated answered message: who asked what, which arm answered, and its outcome."""

    customer: int
    arm: Arm
    question: int  # index into Questions
    outcome: Outcome


@dataclass(frozen=True)
class RunResult:
    verdict: Verdict
    day: int
    conversations: int  # both arms, until the night that decided
    candidate_conversations: int


class Simulation:
    """One A/B test of `case` with its own seed: customers, their arms and their tallies so far."""

    def __init__(self, case: Case, design: Design, questions: Questions, seed: int,
                 reactions: Reactions = Reactions(), traffic: Traffic = Traffic()) -> None:
        self.design, self.questions, self.reactions, self.traffic = design, questions, reactions, traffic
        self.rng = np.random.default_rng(seed)
        self.experiment_id = seed  # each run is another test: everyone is drawn afresh
        self.accuracy = {Arm.LIVE: reactions.accuracy(case.live_resolved),
                         Arm.CANDIDATE: reactions.accuracy(case.candidate_resolved)}
        self.arms: list[Arm] = []  # per customer, in order of arrival
        self.tallies = np.zeros((0, 4))  # per customer: decided, resolved, handoff, thumbs_down
        self.candidate_conversations = 0

    def run(self) -> RunResult:
        for day in range(1, self.design.max_days + 1):
            self.day()
            verdict = self.look(day).verdict
            if verdict != Verdict.CONTINUE:
                break
        per_day = self.traffic.conversations_per_day
        return RunResult(verdict, day, day * per_day, self.candidate_conversations)

    def look(self, day: int) -> Look:
        arms = np.array([a == Arm.CANDIDATE for a in self.arms])
        return look(self.design, day, Tallies.from_rows(self.tallies[~arms]), Tallies.from_rows(self.tallies[arms]))

    def day(self) -> list[Answer]:
        """One day's conversations: who comes, what they ask, what they get and how they react."""
        customers = self._customers(self.traffic.conversations_per_day)
        arms = [self.arms[c] for c in customers]
        self.candidate_conversations += sum(a == Arm.CANDIDATE for a in arms)
        questions = self.rng.integers(0, len(self.questions.texts), len(customers))
        answers = []
        for customer, arm, question in zip(customers, arms, questions):
            for outcome in self._conversation(self.accuracy[arm]):
                answers.append(Answer(int(customer), arm, int(question), outcome))
                self._tally(int(customer), outcome)
        return answers

    def _customers(self, n: int) -> np.ndarray:
        """Who writes today: returning customers drawn from those seen before, the rest new (and assigned)."""
        known = len(self.arms)
        returning = (self.rng.random(n) < self.traffic.returning) & (known > 0)
        who = np.where(returning, self.rng.integers(0, max(known, 1), n), -1)
        fresh = np.flatnonzero(~returning)
        who[fresh] = known + np.arange(len(fresh))
        self.arms += [arm_of(self.experiment_id, c, self.design.share) for c in who[fresh]]
        self.tallies = np.vstack([self.tallies, np.zeros((len(fresh), 4))])
        return who

    def _conversation(self, accuracy: float) -> list[Outcome]:
        """The outcomes of one conversation's answers, in order."""
        r, outcomes = self.reactions, []
        for answer in range(1, r.max_answers + 1):
            draw = self.rng.random(3)
            if draw[0] < accuracy:  # right
                outcomes.append(Outcome.RESOLVED if draw[1] < r.right_resolved else Outcome.HANDOFF)
                return outcomes
            if draw[1] >= r.wrong_complains:  # wrong, and the customer went quiet
                outcomes.append(Outcome.RESOLVED)
                return outcomes
            if answer == r.max_answers:
                outcomes.append(Outcome.HANDOFF)
                return outcomes
            outcomes.append(Outcome.THUMBS_DOWN if draw[2] < r.thumbs_down_share else Outcome.REPHRASED)
        return outcomes

    def _tally(self, customer: int, outcome: Outcome) -> None:
        row = self.tallies[customer]
        row[0] += 1
        if (column := COLUMNS.get(outcome)) is not None:
            row[column] += 1


def share_of(results: list[RunResult], verdict: Verdict) -> float:
    return sum(r.verdict == verdict for r in results) / len(results)


CASES = (Case("worse", 0.80, 0.75), Case("better", 0.80, 0.85), Case("same", 0.80, 0.80))


def simulate(case: Case, design: Design, questions: Questions, runs: int, reactions: Reactions = Reactions(),
             traffic: Traffic = Traffic()) -> list[RunResult]:
    """`runs` tests of one case, each with its own seed (so its own customers, arms and reactions)."""
    first = 1_000_000 * CASES.index(case) if case in CASES else 0
    return [Simulation(case, design, questions, first + seed, reactions, traffic).run() for seed in range(runs)]


def figures(design: Design, questions: Questions, runs: int, reactions: Reactions = Reactions(),
            traffic: Traffic = Traffic()) -> dict:
    """The three cases, `runs` tests each, as bench/results.json `ab` holds them."""
    results = {case.name: simulate(case, design, questions, runs, reactions, traffic) for case in CASES}
    cases = {case.name: _case_figures(case, results[case.name]) for case in CASES}
    return {
        "worse_rollback_rate": share_of(results["worse"], Verdict.ROLLBACK),
        "better_promote_rate": share_of(results["better"], Verdict.PROMOTE),
        "same_false_rollback_rate": share_of(results["same"], Verdict.ROLLBACK),
        "median_conversations": {name: c["median_conversations"] for name, c in cases.items()},
        "cases": cases,
        "runs_per_case": runs,
        "design": design.as_dict(),
        "reactions": asdict(reactions),
        "traffic": asdict(traffic),
    }


def _case_figures(case: Case, results: list[RunResult]) -> dict:
    return {
        "live_resolved": case.live_resolved,
        "candidate_resolved": case.candidate_resolved,
        "verdicts": {v.value: share_of(results, v) for v in Verdict if v != Verdict.CONTINUE},
        "median_conversations": statistics.median(r.conversations for r in results),
        "median_candidate_conversations": statistics.median(r.candidate_conversations for r in results),
        "median_days": statistics.median(r.day for r in results),
    }
