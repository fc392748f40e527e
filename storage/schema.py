"""The schema: every table, as sqlite-utils migrations applied in order at each start (storage.db.open_db).

A migration is never edited once released: a change to the schema, or to what existing rows hold,
is a new migration, so every database, however old, ends up the same.
"""

from __future__ import annotations

from sqlite_utils import Database
from sqlite_utils.migrations import Migrations

migrations = Migrations("supportbot")


@migrations()
def m001_conversations(db: Database) -> None:
    db["users"].create(
        {"id": int, "channel": str, "external_id": str, "language": str, "created_at": str},
        pk="id",
        not_null={"channel", "external_id", "created_at"},
    )
    db["users"].create_index(["channel", "external_id"], unique=True)
    db["messages"].create(
        {
            "id": int,
            "user_id": int,
            "chat_id": str,
            "channel": str,
            "direction": str,  # storage.messages.Direction: in from the customer, out from the bot
            "text": str,
            "language": str,
            "reply_to": int,  # for 'out': the incoming message answered
            "external_key": str,  # channel's own id of the update, for exactly-once storage
            "created_at": str,
        },
        pk="id",
        foreign_keys=[("user_id", "users", "id"), ("reply_to", "messages", "id")],
        not_null={"user_id", "chat_id", "channel", "direction", "text", "created_at"},
    )
    db["messages"].create_index(["user_id", "created_at"])
    db["messages"].create_index(["external_key"], unique=True)
    db["messages"].create_index(["created_at"])
    db["predictions"].create(
        {
            "message_id": int,
            "model_version": str,
            "intent": str,
            "confidence": float,
            "topk": str,  # JSON [[intent, probability], ...]
            "action": str,  # training.policy.Action
            "created_at": str,
        },
        pk="message_id",
        foreign_keys=[("message_id", "messages", "id")],
        not_null={"model_version", "intent", "confidence", "topk", "action", "created_at"},
    )
    db["labels"].create(
        {
            "id": int,
            "message_id": int,  # NULL for imported rows and anonymised training data
            "text": str,  # the (redacted) text the label applies to
            "intent": str,
            "source": str,  # storage.labels.LabelSource
            "labelled_by": str,
            "created_at": str,
        },
        pk="id",
        foreign_keys=[("message_id", "messages", "id")],
        not_null={"text", "intent", "source", "created_at"},
    )
    db["labels"].create_index(["message_id"])
    db["labels"].create_index(["created_at"])
    db["feedback"].create(
        {"message_id": int, "positive": int, "created_at": str},
        pk="message_id",
        foreign_keys=[("message_id", "messages", "id")],
        not_null={"positive", "created_at"},
    )
    db["models"].create(
        {
            "version": str,
            "path": str,
            "status": str,  # storage.registry.ModelStatus
            "metrics": str,  # JSON
            "created_at": str,
            "promoted_at": str,
        },
        pk="version",
        not_null={"path", "status", "created_at"},
    )
    db.execute("CREATE UNIQUE INDEX idx_models_one_live ON models(status) WHERE status = 'live'")


@migrations()
def m002_training_runs(db: Database) -> None:
    db["training_runs"].create(
        {
            "id": int,
            "trigger": str,  # storage.runs.RunTrigger
            "requested_by": str,
            "status": str,  # storage.runs.RunStatus
            "stage": str,  # collect | clean | train | evaluate | promote | done
            "progress": str,  # human-readable, e.g. "epoch 3/40"
            "counts": str,  # JSON {stage: {name: n}}
            "candidate_version": str,
            "live_version": str,
            "metrics": str,  # JSON {"candidate": {...}, "live": {...}}
            "report_path": str,
            "error": str,
            "started_at": str,
            "finished_at": str,
        },
        pk="id",
        not_null={"trigger", "status", "started_at"},
    )
    db["training_runs"].create_index(["started_at"])
    # One row per named lock; owner_pid lets a later process see that the owner died.
    db["locks"].create(
        {"name": str, "owner_pid": int, "run_id": int, "acquired_at": str},
        pk="name",
        not_null={"owner_pid", "acquired_at"},
    )


@migrations()
def m003_review_and_audit(db: Database) -> None:
    # Messages an admin looked at in review and chose not to label.
    db["review_skips"].create(
        {"message_id": int, "skipped_by": str, "created_at": str},
        pk="message_id",
        foreign_keys=[("message_id", "messages", "id")],
    )
    # Who did what (action: storage.audit.AuditAction), for admin actions and refused attempts.
    db["audit"].create(
        {"id": int, "actor": str, "action": str, "detail": str, "allowed": int, "created_at": str},
        pk="id",
        not_null={"actor", "action", "allowed", "created_at"},
    )
    db["audit"].create_index(["created_at"])


@migrations()
def m004_answered_at(db: Database) -> None:
    # For incoming messages: when the channel confirmed it delivered the bot's answer (Telegram accepted
    # sendMessage). NULL while unconfirmed: a redelivered update whose stored answer never went out is
    # answered then, not dropped as a duplicate.
    db["messages"].add_column("answered_at", str)


@migrations()
def m005_offers(db: Database) -> None:
    # The buttons sent under the bot's replies to an incoming message (storage/offers.py): a press is
    # accepted only for a choice offered there. Replies stored before this have none: their buttons expire.
    db["offers"].create(
        {"message_id": int, "choice": str, "created_at": str},
        pk=("message_id", "choice"),
        foreign_keys=[("message_id", "messages", "id")],
        not_null={"created_at"},
    )


@migrations()
def m006_model_paths_relative(db: Database) -> None:
    # A version's directory is stored relative to the var dir (storage.registry), so a copied or
    # restored var dir uses its own model files, never the original's.
    db.execute("UPDATE models SET path = 'models/' || version")


@migrations()
def m007_audit_without_text(db: Database) -> None:
    # Earlier versions copied the Telegram message into the audit detail: a refused command's whole text
    # (a customer's phone or card) and the review card (a customer's message). Those rows keep who, what,
    # when and allowed; the text goes. Rows written since name ids and counts only (bot/usecases/access.py).
    db.execute("UPDATE audit SET detail = '' WHERE actor LIKE 'telegram:%'")


@migrations()
def m008_handoffs(db: Database) -> None:
    # Who wrote an outgoing message: NULL for the bot, "telegram:<user id>" for a member of staff. A staff
    # reply is stored like the bot's (direction 'out', the customer's user and chat, its update's key);
    # answered_at on it is when it reached the customer.
    db["messages"].add_column("author", str)
    # A reply found from the message it answers (a redelivery's stored answer, a revised reply, erasure)
    # without a scan of every message.
    db["messages"].create_index(["reply_to"])
    # Conversations handed to a person (storage/handoffs.py for the states and reasons).
    db["handoffs"].create(
        {
            "id": int, "user_id": int, "channel": str, "chat_id": str, "reason": str, "status": str,
            "message_id": int,  # the customer's message that led here (NULL once purged)
            "question_id": int,  # the customer's question, for staff to label (NULL once purged)
            "proposed_intent": str, "staff_chat_id": str, "thread_id": int, "claimed_by": str, "claimed_name": str,
            "opened_at": str, "claimed_at": str, "first_reply_at": str, "last_activity_at": str, "pinged_at": str,
            "closed_at": str, "closed_by": str, "note": str,
        },
        pk="id",
        foreign_keys=[("user_id", "users", "id"), ("message_id", "messages", "id"), ("question_id", "messages", "id")],
        not_null={"user_id", "channel", "chat_id", "reason", "status", "opened_at"},
    )
    db["handoffs"].create_index(["user_id", "status"])
    db["handoffs"].create_index(["staff_chat_id", "thread_id"])
    db["handoffs"].create_index(["opened_at"])
    db["handoffs"].create_index(["message_id"])
    db["handoffs"].create_index(["status"])  # the clock's look at held handoffs, every few seconds
    # One handoff under way per customer, whatever races: a second request finds the first.
    db.execute("CREATE UNIQUE INDEX idx_handoffs_one_active ON handoffs(user_id) "
               "WHERE status IN ('opening', 'open', 'claimed')")
    # Each customer's topic in the staff group, reused when they come back. The title holds their first
    # name: personal data, deleted with them (/forget, purge).
    db["staff_topics"].create(
        {"user_id": int, "staff_chat_id": str, "thread_id": int, "title": str, "closed": int, "created_at": str},
        pk="user_id",
        foreign_keys=[("user_id", "users", "id")],
        not_null={"staff_chat_id", "thread_id", "title", "closed", "created_at"},
    )
    # A message copied to the other side of a handoff, and the copy's Telegram message id there.
    db["relays"].create(
        {"message_id": int, "handoff_id": int, "copy_chat_id": str, "copy_id": int, "created_at": str},
        pk="message_id",
        foreign_keys=[("message_id", "messages", "id"), ("handoff_id", "handoffs", "id")],
        not_null={"handoff_id", "copy_chat_id", "copy_id", "created_at"},
    )
    db["relays"].create_index(["copy_chat_id", "copy_id"])


@migrations()
def m009_dialogue_and_actions(db: Database) -> None:
    # Which entities a prediction's message held: JSON [[type, value], ...], the value NULL for personal
    # data (an e-mail, a phone, a postcode), which is used for one call and never stored (training.entities).
    db["predictions"].add_column("entities", str)
    # A question the bot is waiting to have answered (storage/dialogue.py), one per customer, so a
    # restart in the middle of it continues it. `filled` holds only slots whose values are not personal data.
    db["dialogue_state"].create(
        {"user_id": int, "intent": str, "slot": str, "filled": str, "message_id": int, "attempts": int,
         "expires_at": str, "created_at": str},
        pk="user_id",
        foreign_keys=[("user_id", "users", "id"), ("message_id", "messages", "id")],
        not_null={"intent", "slot", "filled", "attempts", "expires_at", "created_at"},
    )
    # Each call to the shop's system (bot/actions): which endpoint, how it ended, how long it took. No slot
    # values and no response: those can be personal data; `reason` is the client's own wording of a failure.
    db["action_calls"].create(
        {"message_id": int, "endpoint": str, "outcome": str, "latency_ms": float, "reason": str, "created_at": str},
        pk="message_id",
        foreign_keys=[("message_id", "messages", "id")],
        not_null={"endpoint", "outcome", "latency_ms", "created_at"},
    )
    db["action_calls"].create_index(["created_at"])


@migrations()
def m010_outcomes(db: Database) -> None:
    # What became of each answer the model gave (storage/outcomes.py; the rules are bot/outcomes.py): one row per
    # customer message the model classified, open (outcome NULL) until what came next decided it. `day` is the
    # answer's date in [telegram] timezone, so stats group by an indexed column; `rating` the 👍 (1) or 👎 (0);
    # `said`, for a fallback, a fingerprint of the message's words, so the list of what the bot could not answer
    # groups repeats without reading their text.
    db["outcomes"].create(
        {
            "message_id": int, "user_id": int, "model_version": str, "arm": str, "intent": str, "language": str,
            "day": str, "outcome": str, "asked": int, "rating": int, "said": int, "answered_at": str, "due_at": str,
            "decided_at": str,
        },
        pk="message_id",
        foreign_keys=[("message_id", "messages", "id"), ("user_id", "users", "id")],
        not_null={"user_id", "model_version", "intent", "day", "asked", "answered_at", "due_at"},
    )
    # One open row per customer, found by who wrote (every message, 👍/👎 and handoff looks it up).
    db.execute("CREATE UNIQUE INDEX idx_outcomes_open ON outcomes(user_id) WHERE outcome IS NULL")
    # The clock's look at open rows whose window passed: only open rows are in it.
    db.execute("CREATE INDEX idx_outcomes_due ON outcomes(due_at) WHERE outcome IS NULL")
    # Stats read these alone (covering): outcomes per day and model version, volume per intent and language,
    # and the messages the bot could not answer.
    db["outcomes"].create_index(["day", "model_version", "outcome", "rating"])
    db["outcomes"].create_index(["day", "intent", "language"])
    db["outcomes"].create_index(["outcome", "day", "said"])


@migrations()
def m011_experiments(db: Database) -> None:
    # A/B tests of candidate models on live traffic (storage/experiments.py): the design (share, margins,
    # alphas, days) fixed at the start as JSON, how and why it ended. At most one runs at a time.
    db["experiments"].create(
        {
            "id": int, "candidate_version": str, "live_version": str, "design": str, "status": str, "started_at": str,
            "run_id": int, "ended_at": str, "ended_by": str, "reason": str,
        },
        pk="id",
        foreign_keys=[("candidate_version", "models", "version"), ("live_version", "models", "version"),
                      ("run_id", "training_runs", "id")],
        not_null={"candidate_version", "live_version", "design", "status", "started_at"},
    )
    db.execute("CREATE UNIQUE INDEX idx_experiments_one_running ON experiments(status) WHERE status = 'running'")
    # Each night's look at a test (at most one per night): verdict and the figures it was made on, no customer.
    db["experiment_looks"].create(
        {"experiment_id": int, "day": int, "verdict": str, "figures": str, "created_at": str},
        pk=("experiment_id", "day"),
        foreign_keys=[("experiment_id", "experiments", "id")],
        not_null={"verdict", "figures", "created_at"},
    )
    # Which arm of a running test answered (storage.experiments.Arm); NULL when no test ran.
    db["predictions"].add_column("arm", str)
    # The nightly look reads a test's outcomes per arm and customer: only rows answered in a test are indexed.
    db.execute("CREATE INDEX idx_outcomes_arm ON outcomes(arm, user_id) WHERE arm IS NOT NULL")


@migrations()
def m012_account_links(db: Database) -> None:
    # A customer's chat linked to their account at the shop through a /start deep link (bot/account_link.py):
    # the shop's own opaque reference, sent with each action call so the shop can answer without proof.
    db["account_links"].create(
        {"user_id": int, "account": str, "linked_at": str},
        pk="user_id",
        foreign_keys=[("user_id", "users", "id")],
        not_null={"account", "linked_at"},
    )
    # Link tokens already used, as digests, until they expire: a token links once.
    db["used_link_tokens"].create({"digest": str, "expires_at": str}, pk="digest", not_null={"expires_at"})
