"""Model versions on disk and in the `models` table: which one is live, promotion and rollback.

A version's directory is written under a temporary name and renamed into place, so a crash
never leaves a half-written model where the bot looks; making a version live is one
transaction, so there is always exactly one live model or none. `models.path` is relative to
the var dir (`models/<version>`), so a copied or restored var dir uses its own files; callers get
it resolved, absolute.
"""

from __future__ import annotations

import json
import os
import secrets
import shutil
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from enum import StrEnum
from pathlib import Path

from sqlite_utils import Database

from storage.db import now


class ModelStatus(StrEnum):
    """`models.status`: a version is a candidate until the gate decides; at most one is live."""

    CANDIDATE = "candidate"
    LIVE = "live"
    RETIRED = "retired"  # was live, may be rolled back to
    REJECTED = "rejected"  # failed the gate: never made live


class RegistryError(LookupError):
    """A version that does not exist or cannot be made live."""


def _fsync_dir(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


class ModelRegistry:
    def __init__(self, db: Database, models_dir: Path) -> None:
        self.db = db
        self.models_dir = models_dir
        self.root = models_dir.parent  # the var dir: stored paths are relative to it

    @staticmethod
    def new_version() -> str:
        """Sortable by creation time, unique across processes."""
        return datetime.now(UTC).strftime("%Y%m%d-%H%M%S-") + secrets.token_hex(2)

    @contextmanager
    def writing(self, version: str) -> Iterator[Path]:
        """Yield a scratch directory; on success it is fsynced and renamed to models/<version>."""
        self.models_dir.mkdir(parents=True, exist_ok=True)
        scratch = self.models_dir / f".tmp-{version}"
        scratch.mkdir()
        try:
            yield scratch
            for item in scratch.iterdir():
                with item.open("rb") as fh:
                    os.fsync(fh.fileno())
            os.replace(scratch, self.models_dir / version)
            _fsync_dir(self.models_dir)
        finally:
            shutil.rmtree(scratch, ignore_errors=True)

    def remove_scratch(self) -> list[str]:
        """Delete scratch directories left by a killed writer; call only while holding the run lock."""
        leftovers = sorted(p.name for p in self.models_dir.glob(".tmp-*")) if self.models_dir.exists() else []
        for name in leftovers:
            shutil.rmtree(self.models_dir / name, ignore_errors=True)
        return leftovers

    def register(self, version: str, metrics: dict, status: ModelStatus = ModelStatus.CANDIDATE) -> None:
        self.db["models"].insert(
            {
                "version": version,
                "path": str((self.models_dir / version).relative_to(self.root)),
                "status": status,
                "metrics": json.dumps(metrics),
                "created_at": now(),
            }
        )

    def get(self, version: str) -> dict:
        rows = list(self.db["models"].rows_where("version = ?", [version]))
        if not rows:
            raise RegistryError(f"no model version {version!r}")
        row = rows[0]
        return {**row, "path": str(self.root / row["path"]), "metrics": json.loads(row["metrics"] or "{}")}

    def live(self) -> dict | None:
        rows = list(self.db["models"].rows_where("status = ?", [ModelStatus.LIVE]))
        return self.get(rows[0]["version"]) if rows else None

    def set_status(self, version: str, status: ModelStatus) -> None:
        self.get(version)
        self.db["models"].update(version, {"status": status})

    def promote(self, version: str) -> None:
        """Make `version` the live model and retire the previous one, atomically."""
        self.get(version)
        with self.db.atomic():
            self.db.execute("UPDATE models SET status = ? WHERE status = ?", [ModelStatus.RETIRED, ModelStatus.LIVE])
            self.db["models"].update(version, {"status": ModelStatus.LIVE, "promoted_at": now()})

    def serving_order(self) -> list[dict]:
        """Versions to try when loading: the live one, then earlier live ones, newest first."""
        rows = self.db.execute(
            "SELECT version FROM models WHERE status IN (?, ?) AND promoted_at IS NOT NULL "
            "ORDER BY status = ? DESC, promoted_at DESC",
            [ModelStatus.LIVE, ModelStatus.RETIRED, ModelStatus.LIVE],
        ).fetchall()
        return [self.get(v) for (v,) in rows]

    def rollback(self, version: str | None = None) -> str:
        """Make `version` (default: the previously live one) live again; returns it."""
        if version is None:
            previous = [m for m in self.serving_order() if m["status"] == ModelStatus.RETIRED]
            if not previous:
                raise RegistryError("no earlier model to roll back to")
            version = previous[0]["version"]
        model = self.get(version)
        if model["status"] == ModelStatus.LIVE:
            raise RegistryError(f"{version} is already live")
        if model["status"] == ModelStatus.REJECTED:
            raise RegistryError(f"{version} was rejected and cannot be made live")
        if not Path(model["path"]).is_dir():
            raise RegistryError(f"{version}: its files are missing from {model['path']}")
        self.promote(version)
        return version
