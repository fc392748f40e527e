"""A copied or restored var dir uses its own model files: `models.path` is stored relative to it."""

from __future__ import annotations

import shutil

import pytest

from storage.db import open_db
from storage.registry import ModelRegistry, ModelStatus, RegistryError
from storage.schema import migrations
from tests.conftest import promote_copy
from training.classifier import Classifier


def test_a_copied_var_dir_loads_and_rolls_back_to_its_own_models(trained_config, tmp_path):
    original = ModelRegistry(open_db(trained_config.db_path), trained_config.models_dir)
    first = original.live()["version"]
    second = promote_copy(original)  # `first` is now retired: something to roll back to
    original.db.close()
    copy_var = tmp_path / "restored" / "var"
    shutil.copytree(trained_config.var_dir, copy_var)
    shutil.rmtree(trained_config.models_dir)  # the original's files are gone; the copy's are not

    copy = ModelRegistry(open_db(copy_var / "supportbot.db"), copy_var / "models")
    live = copy.live()
    assert (live["version"], live["path"]) == (second, str(copy_var / "models" / second))
    classifier = Classifier(copy_var / "models" / second)
    assert classifier.version == second and classifier.probabilities("where is my order").sum() == pytest.approx(1)
    assert copy.db.execute("SELECT path FROM models ORDER BY version").fetchall() == [
        (f"models/{first}",), (f"models/{second}",)
    ]
    assert copy.rollback() == first  # checked the copy's files, which exist
    assert copy.get(first)["path"] == str(copy_var / "models" / first)

    shutil.rmtree(copy_var / "models" / second)  # now a file the copy lacks: refused, naming the copy's path
    with pytest.raises(RegistryError, match=f"files are missing from {copy_var / 'models' / second}"):
        copy.rollback(second)


def test_the_migration_makes_absolute_paths_of_an_older_database_relative(tmp_path):
    path = tmp_path / "var" / "supportbot.db"
    db = open_db(path)
    db.execute("DELETE FROM _sqlite_migrations WHERE name = 'm006_model_paths_relative'")  # as before it existed
    for version in ("v1", "v2"):
        db["models"].insert({"version": version, "path": f"/srv/elsewhere/var/models/{version}",
                             "status": ModelStatus.RETIRED, "created_at": "2026-01-01"})
    db.close()
    db = open_db(path)
    assert migrations.pending(db) == []
    assert db.execute("SELECT version, path FROM models ORDER BY version").fetchall() == [
        ("v1", "models/v1"), ("v2", "models/v2")
    ]
    assert ModelRegistry(db, tmp_path / "var" / "models").get("v1")["path"] == str(tmp_path / "var" / "models" / "v1")
