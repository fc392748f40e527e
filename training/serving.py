"""The live model inside a running bot: loaded at start with fallback, swapped without restart."""

from __future__ import annotations

import logging
from pathlib import Path

from storage.registry import ModelRegistry
from training.classifier import Classifier, ModelLoadError

log = logging.getLogger(__name__)


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

    def load(self) -> Classifier | None:
        """Load the live version, else the most recent earlier one that loads, saying why."""
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
        """Swap in the registry's live version if it changed (promotion or rollback elsewhere)."""
        live = self.registry.live()
        if live is None or (self.current and self.current.version == live["version"]):
            return False
        previous = self.current.version if self.current else None
        loaded = self.load()
        changed = loaded is not None and loaded.version != previous
        if changed:
            log.info("now serving model %s (was %s)", loaded.version, previous)
        return changed
