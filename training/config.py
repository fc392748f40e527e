"""Load config.toml into typed settings; every process reads configuration through here."""

from __future__ import annotations

import os
import tomllib
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Any, TypeVar

T = TypeVar("T")


@dataclass(frozen=True)
class ModelSettings:
    max_len: int = 32
    max_vocab: int = 20000
    embedding_dim: int = 96
    ngram_buckets: int = 40000
    max_ngrams: int = 256
    ngram_dim: int = 64
    lstm_units: int = 64
    members: int = 2
    dropout: float = 0.3
    label_smoothing: float = 0.05
    learning_rate: float = 0.02
    lr_schedule: str = "cosine"  # or "constant"
    batch_size: int = 64
    max_epochs: int = 12
    patience: int = 12
    validation_fraction: float = 0.05
    seed: int = 1234

    def __post_init__(self) -> None:
        if self.lr_schedule not in ("cosine", "constant"):
            raise ConfigError(f"[model] lr_schedule must be \"cosine\" or \"constant\", got {self.lr_schedule!r}")
        if self.members < 1:
            raise ConfigError(f"[model] members must be at least 1, got {self.members}")


@dataclass(frozen=True)
class PolicySettings:
    confident: float = 0.6
    suggest: float = 0.2
    max_suggestions: int = 3
    min_suggestion: float = 0.05
    top_k: int = 5
    out_of_scope_weight: float = 1.0

    def __post_init__(self) -> None:
        if self.out_of_scope_weight <= 0:
            raise ConfigError(f"[policy] out_of_scope_weight must be above 0, got {self.out_of_scope_weight}")


@dataclass(frozen=True)
class PromotionSettings:
    tolerance: float = 0.005
    recall_floor: float = 0.5


@dataclass(frozen=True)
class LearningSettings:
    schedule: str = "0 3 * * *"
    misfire_grace_hours: float = 6.0
    retrain_without_new_data: bool = False
    include_predictions: bool = False
    prediction_confidence: float = 0.9


@dataclass(frozen=True)
class CleanSettings:
    max_chars: int = 500
    min_tokens: int = 1
    majority: float = 0.7
    max_per_intent: int = 300


@dataclass(frozen=True)
class LimitSettings:
    max_text_chars: int = 2000
    max_pending_writes: int = 10000


@dataclass(frozen=True)
class TelegramSettings:
    mode: str = "polling"
    api_base_url: str = ""
    timezone: str = "UTC"
    edited_messages: str = "answer"
    rate_limit_messages: int = 8
    rate_limit_seconds: float = 10.0
    send_retries: int = 4
    outgoing_rate_limit: bool = True
    progress_seconds: float = 5.0
    model_check_seconds: float = 30.0
    admin_ids: list = field(default_factory=list)
    webhook_listen: str = "127.0.0.1"
    webhook_port: int = 8443
    webhook_path: str = "telegram"
    webhook_url: str = ""


@dataclass(frozen=True)
class PrivacySettings:
    retention_days: int = 365  # 0 keeps messages forever
    keep_anonymous_labels: bool = True

    def __post_init__(self) -> None:
        if self.retention_days < 0:
            raise ConfigError(f"[privacy] retention_days must be 0 (keep forever) or more, got {self.retention_days}")


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
    source: Path | None = None
    raw: dict[str, Any] = field(default_factory=dict, repr=False)

    @property
    def db_path(self) -> Path:
        return self.var_dir / "supportbot.db"

    @property
    def models_dir(self) -> Path:
        return self.var_dir / "models"

    @property
    def reports_dir(self) -> Path:
        return self.var_dir / "reports"


class ConfigError(ValueError):
    """A config file that cannot be used; the message names the file and the key."""


def _section(cls: type[T], raw: dict[str, Any], name: str, source: Path) -> T:
    values = raw.get(name, {})
    known = {f.name: f for f in fields(cls)}  # type: ignore[arg-type]
    unknown = set(values) - set(known)
    if unknown:
        raise ConfigError(f"{source}: unknown key(s) in [{name}]: {', '.join(sorted(unknown))}")
    for key, value in values.items():
        expected = type(getattr(cls(), key))
        if expected is float and isinstance(value, int):
            values[key] = float(value)
        elif not isinstance(value, expected) or isinstance(value, bool) != (expected is bool):
            raise ConfigError(f"{source}: [{name}] {key} must be {expected.__name__}, got {value!r}")
    return cls(**values)


def load_config(path: str | Path = "config.toml") -> Config:
    """Read the TOML file; SUPPORTBOT_VAR, when set, overrides where state lives."""
    source = Path(path).resolve()
    try:
        with source.open("rb") as fh:
            raw = tomllib.load(fh)
    except FileNotFoundError:
        raise ConfigError(f"config file not found: {source}") from None
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{source}: {exc}") from None
    base = source.parent
    paths = raw.get("paths", {})
    var_dir = Path(os.environ.get("SUPPORTBOT_VAR") or base / paths.get("var_dir", "var"))
    return Config(
        var_dir=var_dir.resolve(),
        data_dir=(base / paths.get("data_dir", "data")).resolve(),
        model=_section(ModelSettings, raw, "model", source),
        policy=_section(PolicySettings, raw, "policy", source),
        promotion=_section(PromotionSettings, raw, "promotion", source),
        limits=_section(LimitSettings, raw, "limits", source),
        learning=_section(LearningSettings, raw, "learning", source),
        clean=_section(CleanSettings, raw, "clean", source),
        telegram=_section(TelegramSettings, raw, "telegram", source),
        privacy=_section(PrivacySettings, raw, "privacy", source),
        source=source,
        raw=raw,
    )
