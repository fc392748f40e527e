"""The live model inside a running bot: loaded at start with fallback, swapped without restart; and the
candidate of a running A/B test beside it, answering its share of customers."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path

from storage.experiments import Arm, Experiment, Experiments
from storage.registry import ModelRegistry
from training.assignment import arm_of
from training.classifier import Classifier, ModelLoadError

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Canary:
    """A running A/B test and its candidate; `classifier` None when the candidate does not load (`problem`
    says why), and then everyone gets the live model."""

    experiment: Experiment
    classifier: Classifier | None
    problem: str | None = None


class LiveModel:
    """Holds the classifier the bot serves, and what went wrong loading it.

    The reference is replaced whole, so a message being classified keeps the model it started
    with while the next message gets the new one: no lock, nothing dropped.
    """

    def __init__(self, registry: ModelRegistry) -> None:
        self.registry = registry
        self.current: Classifier | None = None
        # Why the live version is not the one answering (it failed to load, and which other one does,
        # if any); None while the live version serves, and before any model was ever trained.
        self.problem: str | None = None
        self.experiments = Experiments(registry.db)
        self.canary: Canary | None = None

    def for_customer(self, customer: int | None) -> tuple[Classifier | None, Arm | None]:
        """The model that answers `customer` (users.id), and their arm when a test runs and that arm's own model
        answers (None otherwise: no test, the customer is not known, or the candidate does not load)."""
        canary, live = self.canary, self.current
        if canary is None or customer is None or live is None:
            return live, None
        test = canary.experiment
        arm = arm_of(test.id, customer, test.share)
        if arm == Arm.CANDIDATE:
            return (canary.classifier, arm) if canary.classifier is not None else (live, None)
        return live, arm if live.version == test.live_version else None

    def load(self) -> Classifier | None:
        """Load the live version, else the most recent earlier one that loads, saying why; and the candidate of
        a running A/B test (unless it is loaded already)."""
        self._follow_test()
        failures = []
        for model in self.registry.serving_order():
            try:
                classifier = Classifier(Path(model["path"]))
            except ModelLoadError as exc:
                log.error("model %s is unusable (%s); trying the previous version", model["version"], exc)
                failures.append(f"model {model['version']} does not load ({exc})")
                continue
            if model["status"] != "live":
                log.warning("serving fallback model %s instead of the live one", model["version"])
            self.current = classifier
            self.problem = "; ".join([*failures, f"answering with {classifier.version}"]) if failures else None
            return classifier
        self.current = None
        if failures:
            self.problem = "; ".join(failures) + "; no model can answer"
            log.error("no loadable model: %s", self.problem)
        else:
            self.problem = None
            log.info("no model has been trained yet")
        return None

    def refresh(self) -> bool:
        """Swap in the registry's live version if it changed (promotion or rollback elsewhere), and the
        candidate of an A/B test that started or ended; True when the live version changed."""
        self._follow_test()
        live = self.registry.live()
        if live is None or (self.current and self.current.version == live["version"]):
            return False
        previous = self.current.version if self.current else None
        loaded = self.load()
        changed = loaded is not None and loaded.version != previous
        if changed:
            log.info("now serving model %s (was %s)", loaded.version, previous)
        return changed

    def _follow_test(self) -> None:
        """Load the candidate when the running A/B test changed (started, ended, replaced), never twice."""
        running = self.experiments.running()
        if (running.id if running else None) != (self.canary.experiment.id if self.canary else None):
            self._load_canary(running)

    def _load_canary(self, test: Experiment | None) -> None:
        """The candidate of `test` beside the live model, or nothing when no test runs; a candidate that does not
        load is said in the log and in /status, and its customers get the live model."""
        if test is None:
            if self.canary is not None:
                log.info("A/B test %s ended; the live model answers everyone", self.canary.experiment.id)
            self.canary = None
            return
        try:
            classifier = Classifier(Path(self.registry.get(test.candidate_version)["path"]))
        except ModelLoadError as exc:
            problem = f"candidate {test.candidate_version} of A/B test {test.id} does not load ({exc}); everyone gets the live model"
            log.error("%s", problem)
            self.canary = Canary(test, None, problem)
            return
        log.info("A/B test %s: candidate %s answers %.0f%% of customers", test.id, test.candidate_version, 100 * test.share)
        self.canary = Canary(test, classifier)
