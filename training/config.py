"""Load config.toml into typed settings; every process reads configuration through here.

Each value is checked at load, its type and its meaning (the rules in `training.config_checks`,
named beside each field), so a bad value stops the start with an error naming the file and the key.
Keys with a fixed set of values are StrEnums, converted at load, so the code compares members.
"""

from __future__ import annotations

import os
import tomllib
from collections.abc import Callable
from dataclasses import asdict, dataclass, field, fields, replace
from datetime import time
from enum import StrEnum
from pathlib import Path
from typing import Any, TypeVar, get_type_hints

from training.config_checks import (
    NOT_NEGATIVE,
    POSITIVE,
    PROBABILITY,
    Rule,
    above,
    at_least,
    at_least_a_second,
    at_most,
    below,
    crontab,
    empty_or_email,
    empty_or_host_port,
    empty_or_http_url,
    empty_or_phone,
    endpoint_urls,
    file_name_under,
    host_ports,
    is_url,
    not_empty,
    opening_hours,
    shown,
    staff_chat,
    time_zone,
    typed,
    user_ids,
    within,
)

T = TypeVar("T")


def setting(default: Any, *rules: Rule) -> Any:
    """A field with its default and the rules its value must pass at load."""
    return field(default=default, metadata={"rules": rules})


class LrSchedule(StrEnum):
    """[model] lr_schedule: how the learning rate moves over the epochs."""

    COSINE = "cosine"  # decays from learning_rate to 5% of it over max_epochs
    CONSTANT = "constant"


class Recurrent(StrEnum):
    """[model] recurrent: how the members' BiLSTMs run (the same function either way, training/stacked_lstm.py)."""

    PER_MEMBER = "per_member"  # one Keras Bidirectional(LSTM) per member: a loop each in the LiteRT export
    STACKED = "stacked"  # every member's LSTMs in one loop (StackedBiLSTM): fewer ops per step to serve


class TelegramMode(StrEnum):
    """[telegram] mode: how updates reach the bot."""

    POLLING = "polling"  # getUpdates: works behind NAT
    WEBHOOK = "webhook"  # Telegram POSTs updates to webhook_url


class Language(StrEnum):
    """The languages the bot speaks (every intent and phrase in data/ has both)."""

    EN = "en"
    ZH = "zh"


class EditedMessages(StrEnum):
    """[telegram] edited_messages: what an edited customer message gets."""

    ANSWER = "answer"  # like a new message
    IGNORE = "ignore"


@dataclass(frozen=True)
class ModelSettings:
    max_len: int = setting(32, POSITIVE)
    max_vocab: int = setting(20000, at_least(3))  # counts the padding and out-of-vocabulary ids
    embedding_dim: int = setting(96, POSITIVE)
    ngram_buckets: int = setting(40000, at_least(2))  # bucket 0 is padding
    max_ngrams: int = setting(256, POSITIVE)
    ngram_dim: int = setting(64, POSITIVE)
    lstm_units: int = setting(64, POSITIVE)
    members: int = setting(2, POSITIVE)
    recurrent: Recurrent = Recurrent.PER_MEMBER
    dropout: float = setting(0.3, NOT_NEGATIVE, below(1))
    label_smoothing: float = setting(0.05, NOT_NEGATIVE, below(1))
    learning_rate: float = setting(0.02, above(0))
    lr_schedule: LrSchedule = LrSchedule.COSINE
    batch_size: int = setting(64, POSITIVE)
    max_epochs: int = setting(6, POSITIVE)
    patience: int = setting(6, NOT_NEGATIVE)
    validation_fraction: float = setting(0.05, above(0), below(1))
    seed: int = setting(1234, NOT_NEGATIVE, at_most(2**32 - 1))  # NumPy's range


@dataclass(frozen=True)
class PolicySettings:
    confident: float = setting(0.6, PROBABILITY)
    suggest: float = setting(0.2, PROBABILITY)
    max_suggestions: int = setting(3, POSITIVE)
    min_suggestion: float = setting(0.05, PROBABILITY)
    top_k: int = setting(5, POSITIVE)
    out_of_scope_weight: float = setting(1.0, above(0))


@dataclass(frozen=True)
class PromotionSettings:
    tolerance: float = setting(0.005, PROBABILITY)
    recall_floor: float = setting(0.5, PROBABILITY)
    # An A/B test of a candidate that passed the gate, on live traffic (training/ab_decision.py).
    canary_share: float = setting(0.0, within(0, 0.5))  # of customers answered by the candidate; 0: promote at once
    ab_margin: float = setting(0.02, NOT_NEGATIVE, below(1))  # resolved rate the candidate may lose and be promoted
    ab_handoff_margin: float = setting(0.02, NOT_NEGATIVE, below(1))  # handoff rate it may add before a rollback
    ab_thumbs_down_margin: float = setting(0.02, NOT_NEGATIVE, below(1))  # 👎 rate it may add before a rollback
    ab_alpha_promote: float = setting(0.05, above(0), at_most(0.5))
    ab_alpha_rollback: float = setting(0.05, above(0), at_most(0.5))
    ab_alpha_guards: float = setting(0.01, above(0), at_most(0.5))  # each guard's
    ab_max_days: int = setting(28, POSITIVE, at_most(365))


@dataclass(frozen=True)
class LearningSettings:
    schedule: str = setting("0 3 * * *", crontab)
    misfire_grace_hours: float = setting(6.0, at_least_a_second)
    retrain_without_new_data: bool = False
    include_predictions: bool = False
    prediction_confidence: float = setting(0.9, PROBABILITY)


@dataclass(frozen=True)
class CleanSettings:
    max_chars: int = setting(500, POSITIVE)
    min_tokens: int = setting(1, NOT_NEGATIVE)
    majority: float = setting(0.7, PROBABILITY)
    max_per_intent: int = setting(300, NOT_NEGATIVE)


@dataclass(frozen=True)
class LimitSettings:
    max_text_chars: int = setting(2000, POSITIVE)
    max_pending_writes: int = setting(10000, POSITIVE)


@dataclass(frozen=True)
class TelegramSettings:
    mode: TelegramMode = TelegramMode.POLLING
    api_base_url: str = setting("", empty_or_http_url)
    timezone: str = setting("UTC", time_zone)
    edited_messages: EditedMessages = EditedMessages.ANSWER
    rate_limit_messages: int = setting(8, POSITIVE)
    rate_limit_seconds: float = setting(10.0, above(0))
    send_retries: int = setting(4, POSITIVE)  # attempts, the first one included
    outgoing_rate_limit: bool = True
    progress_seconds: float = setting(5.0, above(0))
    model_check_seconds: float = setting(30.0, above(0))
    admin_ids: tuple[int, ...] = setting((), user_ids)
    webhook_listen: str = setting("127.0.0.1", not_empty)
    webhook_port: int = setting(8443, POSITIVE, at_most(65535))
    webhook_path: str = "telegram"
    webhook_url: str = ""


@dataclass(frozen=True)
class PrivacySettings:
    retention_days: int = setting(365, NOT_NEGATIVE)  # 0 keeps messages forever
    keep_anonymous_labels: bool = True
    purge_time: time = time(4, 30)  # daily, in [telegram] timezone; written "HH:MM"


@dataclass(frozen=True)
class ShopSettings:
    """How customers reach the shop's people: said wherever the bot offers a person."""

    name: str = setting("Our shop", not_empty)
    email: str = setting("", empty_or_email)
    phone: str = setting("", empty_or_phone)
    url: str = setting("", empty_or_http_url)
    hours: str = setting("Mon–Fri 9:00–18:00", not_empty)  # as customers should read it
    timezone: str = setting("UTC", time_zone)  # the hours' time zone
    default_language: Language = Language.EN  # for messages in a language the bot does not speak

    @property
    def contact(self) -> str:
        """E-mail, phone and web page, those that are set, one per line."""
        return "\n".join(v for v in (self.email, self.phone, self.url) if v)


@dataclass(frozen=True)
class HandoffSettings:
    """Handing a customer to a person: the staff group, the triggers, the hours and the clocks."""

    staff_chat_id: int = setting(0, staff_chat)  # 0: none (customers asking for a person get [shop]'s contact)
    hours: tuple[str, ...] = setting((), opening_hours)  # when staff answer, in [shop] timezone; () = always
    on_request: bool = True  # the contact_human intent, answered confidently
    on_button: bool = True  # the "talk to a person" button
    on_command: bool = True  # /human
    fallbacks_in_a_row: int = setting(2, NOT_NEGATIVE)  # 0: off
    thumbs_down_in_a_row: int = setting(2, NOT_NEGATIVE)  # 0: off
    reply_within_minutes: int = setting(15, NOT_NEGATIVE)  # 0: never ping
    release_after_hours: float = setting(24.0, above(0))
    estimate_min_handoffs: int = setting(5, POSITIVE)
    transcript_messages: int = setting(12, POSITIVE)
    check_seconds: float = setting(60.0, above(0))  # how often the timeouts are looked at


@dataclass(frozen=True)
class ActionsSettings:
    """Calls to the shop's own system (bot/actions, docs/actions.md): how long to wait, how often to retry, when to stop trying.

    The signing secret is no setting: it comes from SUPPORTBOT_ACTIONS_SECRET only.
    """

    connect_timeout: float = setting(2.0, above(0))  # seconds to open a connection
    deadline: float = setting(4.0, above(0))  # seconds per call, retries and backoff included
    retries: int = setting(2, NOT_NEGATIVE)  # further attempts, only for idempotent actions
    backoff: float = setting(0.2, NOT_NEGATIVE)  # seconds before the first retry, doubled for each next one
    breaker_failures: int = setting(5, POSITIVE)  # failures in a row that open an endpoint's circuit
    breaker_seconds: float = setting(60.0, above(0))  # how long an open circuit skips calls
    max_response_bytes: int = setting(16384, POSITIVE)
    # name -> URL; intents name the endpoint, so a shop moves its system in one place. Empty: no actions.
    endpoints: dict[str, str] = field(default_factory=dict, metadata={"rules": (endpoint_urls,)})


@dataclass(frozen=True)
class DemoShopSettings:
    """The demo of the shop's side (demo_shop/), started beside the bot so a new user sees live answers."""

    start: bool = False  # beside `supportbot run`; off unless a config asks (the shipped one does)
    host: str = setting("127.0.0.1", not_empty)
    port: int = setting(8765, POSITIVE, at_most(65535))
    database: str = setting("demo_shop.db", file_name_under)  # under var_dir


@dataclass(frozen=True)
class SlotSettings:
    """Asking a customer for what an intent's action needs (an order number): how long and how often."""

    timeout_minutes: float = setting(10.0, above(0))  # an unanswered question lapses; the next message is new
    max_attempts: int = setting(2, POSITIVE)  # replies that do not answer it before the bot gives the general answer


@dataclass(frozen=True)
class OutcomeSettings:
    """What became of each answer (bot/outcomes.py): how long a quiet customer takes to count as helped."""

    window_minutes: float = setting(10.0, above(0))  # quiet this long after an answer: resolved
    check_seconds: float = setting(60.0, above(0))  # how often the bot resolves rows whose window passed


@dataclass(frozen=True)
class TrainingSettings:
    """Where the train stage runs: this machine, or several under TensorFlow's multi-worker strategy
    (training/cluster_run.py; README "Training on a cluster")."""

    workers: tuple[str, ...] = setting((), host_ports)  # the other machines' `supportbot worker` addresses
    chief: str = setting("", empty_or_host_port)  # this machine's address as the workers reach it
    shared_dir: str = setting("cluster", not_empty)  # training sets and jobs; relative: under var_dir
    shards: int = setting(8, POSITIVE)  # files per training set (at least one per machine is used)
    join_timeout_seconds: float = setting(300.0, above(0))  # every worker started, connected, first step taken
    step_timeout_seconds: float = setting(120.0, above(0))  # each later step takes at most this

    @property
    def distributed(self) -> bool:
        return bool(self.workers)

    def cluster(self) -> tuple[str, ...]:
        """TF_CONFIG's worker list: the chief (task 0), then the workers in order (task N = --index N)."""
        return (self.chief, *self.workers)


@dataclass(frozen=True)
class _Paths:
    var_dir: str = setting("var", not_empty)
    data_dir: str = setting("data", not_empty)


def _some_contact(s: ShopSettings) -> tuple[str, str] | None:
    """The bot tells customers how to reach a person; with no way set it could only pretend to."""
    return None if s.contact else ("email", "set (or phone, or url): customers need one way to reach the shop")


def _suggest_band(p: PolicySettings) -> tuple[str, str] | None:
    """Between suggest and confident the bot offers buttons: a suggest above confident is a mistake."""
    return ("suggest", f"at most confident ({p.confident})") if p.suggest > p.confident else None


def _webhook_target(t: TelegramSettings) -> tuple[str, str] | None:
    """Telegram's servers deliver only to https; a local Bot API server (api_base_url set) also to http."""
    local = bool(t.api_base_url)
    if t.mode != TelegramMode.WEBHOOK or is_url(t.webhook_url, ("http", "https") if local else ("https",)):
        return None
    return "webhook_url", 'an https:// URL when mode is "webhook"' + (" (or http:// for a local Bot API server)" if local else "")


def _chief_for_workers(t: TrainingSettings) -> tuple[str, str] | None:
    """Workers must be told where the chief listens."""
    return ("chief", 'set (host:port) when workers are') if t.workers and not t.chief else None


def _connect_within_deadline(a: ActionsSettings) -> tuple[str, str] | None:
    """The deadline bounds the whole call: a longer connect timeout could never run out."""
    return ("connect_timeout", f"at most deadline ({a.deadline})") if a.connect_timeout > a.deadline else None


# Rules that relate two keys of one table, checked after each key's own rules.
_RELATIONS: dict[type, Callable[[Any], tuple[str, str] | None]] = {
    PolicySettings: _suggest_band,
    TelegramSettings: _webhook_target,
    ShopSettings: _some_contact,
    ActionsSettings: _connect_within_deadline,
    TrainingSettings: _chief_for_workers,
}


@dataclass(frozen=True)
class Config:
    var_dir: Path
    data_dir: Path
    model: ModelSettings = field(default_factory=ModelSettings)
    policy: PolicySettings = field(default_factory=PolicySettings)
    promotion: PromotionSettings = field(default_factory=PromotionSettings)
    limits: LimitSettings = field(default_factory=LimitSettings)
    learning: LearningSettings = field(default_factory=LearningSettings)
    clean: CleanSettings = field(default_factory=CleanSettings)
    telegram: TelegramSettings = field(default_factory=TelegramSettings)
    privacy: PrivacySettings = field(default_factory=PrivacySettings)
    shop: ShopSettings = field(default_factory=ShopSettings)
    handoff: HandoffSettings = field(default_factory=HandoffSettings)
    actions: ActionsSettings = field(default_factory=ActionsSettings)
    demo_shop: DemoShopSettings = field(default_factory=DemoShopSettings)
    slots: SlotSettings = field(default_factory=SlotSettings)
    outcomes: OutcomeSettings = field(default_factory=OutcomeSettings)
    training: TrainingSettings = field(default_factory=TrainingSettings)
    source: Path | None = None

    @property
    def db_path(self) -> Path:
        return self.var_dir / "supportbot.db"

    @property
    def models_dir(self) -> Path:
        return self.var_dir / "models"

    @property
    def shared_dir(self) -> Path:
        """Training sets and multi-worker jobs: [training] shared_dir, relative paths under var_dir."""
        return self.var_dir / self.training.shared_dir

    @property
    def reports_dir(self) -> Path:
        return self.var_dir / "reports"

    @property
    def demo_shop_db(self) -> Path:
        return self.var_dir / self.demo_shop.database


# The tables of config.toml beside [paths], and the settings each becomes.
SECTIONS: dict[str, type] = {
    "model": ModelSettings,
    "policy": PolicySettings,
    "promotion": PromotionSettings,
    "limits": LimitSettings,
    "learning": LearningSettings,
    "clean": CleanSettings,
    "telegram": TelegramSettings,
    "privacy": PrivacySettings,
    "shop": ShopSettings,
    "handoff": HandoffSettings,
    "actions": ActionsSettings,
    "demo_shop": DemoShopSettings,
    "slots": SlotSettings,
    "outcomes": OutcomeSettings,
    "training": TrainingSettings,
}


class ConfigError(ValueError):
    """A config file that cannot be used; the message names the file and the key."""


def _section(cls: type[T], raw: dict[str, Any], name: str, source: Path) -> T:
    """The [name] table as `cls`: unknown keys, wrong types and values that break a rule are refused."""
    table = raw.get(name, {})
    if not isinstance(table, dict):
        raise ConfigError(f"{source}: [{name}] must be a table, got {shown(table)}")
    unknown = set(table) - {f.name for f in fields(cls)}  # type: ignore[arg-type]
    if unknown:
        raise ConfigError(f"{source}: unknown key(s) in [{name}]: {', '.join(sorted(unknown))}")
    types = get_type_hints(cls)
    values = {}
    for key, value in table.items():
        try:
            values[key] = typed(value, types[key])
        except ValueError as exc:
            raise ConfigError(f"{source}: [{name}] {key} must be {exc}, got {shown(value)}") from None
    settings = cls(**values)
    broken = _broken_rule(settings)
    if broken:
        key, what = broken
        raise ConfigError(f"{source}: [{name}] {key} must be {what}, got {shown(getattr(settings, key))}")
    return settings


def with_workers(config: Config, workers: list[str]) -> Config:
    """`config` with [training] workers replaced (`supportbot train --workers`), checked as at load."""
    table = {k: list(v) if isinstance(v, tuple) else v for k, v in asdict(config.training).items()}
    training = settings_from(TrainingSettings, {**table, "workers": workers}, config.source or Path("--workers"),
                             "training")
    return replace(config, training=training)


def settings_from(cls: type[T], values: dict[str, Any], source: Path, name: str) -> T:
    """Settings written out as a table elsewhere (a multi-worker job names its [model] settings),
    read back through the same conversions and checks as config.toml's [name]."""
    return _section(cls, {name: values}, name, source)


def _broken_rule(settings: Any) -> tuple[str, str] | None:
    """The first key whose value breaks a rule, and what it must be; None when every value is fine."""
    for f in fields(settings):
        for rule in f.metadata.get("rules", ()):
            if (what := rule(getattr(settings, f.name))) is not None:
                return f.name, what
    relation = _RELATIONS.get(type(settings))
    return relation(settings) if relation else None


def _read(source: Path) -> dict[str, Any]:
    try:
        with source.open("rb") as fh:
            return tomllib.load(fh)
    except FileNotFoundError:
        raise ConfigError(f"config file not found: {source}") from None
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{source}: {exc}") from None


def load_config(path: str | Path = "config.toml") -> Config:
    """Read and check the TOML file; SUPPORTBOT_VAR, when set, overrides where state lives."""
    source = Path(path).resolve()
    raw = _read(source)
    unknown = set(raw) - {"paths", *SECTIONS}
    if unknown:
        raise ConfigError(f"{source}: unknown table(s): {', '.join(f'[{name}]' for name in sorted(unknown))}")
    paths = _section(_Paths, raw, "paths", source)
    base = source.parent
    var_dir = Path(os.environ.get("SUPPORTBOT_VAR") or base / paths.var_dir)
    sections = {name: _section(cls, raw, name, source) for name, cls in SECTIONS.items()}
    return Config(var_dir=var_dir.resolve(), data_dir=(base / paths.data_dir).resolve(), source=source, **sections)
