"""Which arm of an A/B test a customer is in: random, but the same every time for the same customer and test.

A hash of the test's id and the customer's stored id, read as a number in [0, 1): below the test's share
means the candidate. Nothing is stored, so a restart, a second process or the simulation
(bench/ab_simulation.py) all put a customer in the same arm, and a new test draws everyone afresh.
SHA-256 rather than Python's hash(), which is salted per process.
"""

from __future__ import annotations

import hashlib

from storage.experiments import Arm


def arm_of(experiment_id: int, customer: int, share: float) -> Arm:
    """The arm of `customer` (users.id) in test `experiment_id` with `share` of customers on the candidate."""
    digest = hashlib.sha256(f"{experiment_id}:{customer}".encode()).digest()
    return Arm.CANDIDATE if int.from_bytes(digest[:8], "big") / 2**64 < share else Arm.LIVE
