"""The shop's data: labelled examples in and out, a backup, and the retention purge."""

from __future__ import annotations

import json
from pathlib import Path
from typing import TextIO

from bot.runtime import Runtime
from bot.usecases.access import Actor, audited
from storage.audit import AuditAction
from storage.db import backup as online_backup
from storage.labels_csv import ImportProblem, export_labels, import_labels
from storage.privacy import purge as delete_old
from training.redact import redact


class ImportRefused(ValueError):
    """A CSV with at least one bad row: nothing was imported."""

    def __init__(self, problems: list[ImportProblem]) -> None:
        super().__init__(f"{len(problems)} bad row(s); nothing imported")
        self.problems = problems


@audited(AuditAction.EXPORT, detail=lambda n, out: f"{n} rows to {getattr(out, 'name', 'a stream')}")
def export(runtime: Runtime, actor: Actor, out: TextIO) -> int:
    """Every labelled example as text,label CSV."""
    return export_labels(runtime.db, out)


@audited(AuditAction.IMPORT, detail=lambda n, path: f"{n} rows from {path}")
def import_csv(runtime: Runtime, actor: Actor, path: Path) -> int:
    """A text,label CSV as labels (redacted like customer text): every row, or none (ImportRefused)."""
    n, problems = import_labels(runtime.db, path, set(runtime.domain.intents), redact, f"import:{path.name}")
    if problems:
        raise ImportRefused(problems)
    return n


@audited(AuditAction.BACKUP, detail=lambda dest, *_: str(dest))
def backup(runtime: Runtime, actor: Actor, dest: Path, force: bool = False) -> Path:
    """A consistent copy of the database (SQLite online backup), safe while the bot runs; an existing
    file is replaced only with `force` (FileExistsError otherwise), a missing folder is an error."""
    if dest.exists() and not force:
        raise FileExistsError(f"{dest} exists; choose another path or replace it with --force")
    if not dest.parent.is_dir():
        raise FileNotFoundError(f"folder {dest.parent} does not exist")
    return online_backup(runtime.db, dest)


@audited(AuditAction.PURGE, detail=lambda result, *_: json.dumps(result))
def purge(runtime: Runtime, actor: Actor, days: int | None = None) -> dict[str, int | bool]:
    """Delete what is older than `days` (default [privacy] retention_days; 0 keeps everything).
    Returns the settings it ran with and the rows deleted per table."""
    privacy = runtime.config.privacy
    days = privacy.retention_days if days is None else days
    if days < 0:
        raise ValueError("days must be 0 (keep forever) or more")
    counts = delete_old(runtime.db, days, privacy.keep_anonymous_labels)
    return {"older_than_days": days, "keep_labels": privacy.keep_anonymous_labels, **counts}
