"""Storage that cannot be written at start (read-only mount, full disk, no permission): one `error:` line, exit 2.

Real file systems, not flags: each command runs in its own user and mount namespace (`unshare`),
where the var dir is bind-mounted read-only or replaced by a tiny tmpfs filled to the last byte.
Root ignores file modes, so chmod alone would not do; inside a user namespace that does not map
the files' owner, file modes bind the command as they bind any user. Nothing outside changes.
"""

from __future__ import annotations

import shlex
import shutil
import subprocess
import sys

import pytest

from storage.db import open_db
from tests.conftest import ROOT


def _namespaces_work() -> bool:
    """Whether this machine lets us make a private mount namespace (user namespaces, or root)."""
    if shutil.which("unshare") is None:
        return False
    probe = subprocess.run(["unshare", "--map-root-user", "--mount", "true"], capture_output=True)
    return probe.returncode == 0


pytestmark = pytest.mark.skipif(not _namespaces_work(), reason="needs `unshare` for a private mount namespace")


def status_in_namespace(config, prepare: str, map_root: bool = True) -> subprocess.CompletedProcess:
    """`supportbot status` after the shell lines in `prepare` changed the mounts (only for this command).

    `map_root=False`: a user namespace where the files' owner is unmapped, so no capability
    overrides their modes (not even for root outside it).
    """
    cli = shlex.join([sys.executable, "-m", "bot.cli", "status", "--config", str(config.source)])
    script = f"set -e\n{prepare}\nexec {cli}"
    namespace = ["--map-root-user", "--mount"] if map_root else ["--user"]
    return subprocess.run(["unshare", *namespace, "sh", "-c", script],
                          cwd=ROOT, capture_output=True, text=True, timeout=120)


def read_only(var) -> str:
    return f"mount --bind -o ro {var} {var}"


def full(var, saved=None) -> str:
    """A 256 KiB tmpfs over the var dir (holding the saved database, if any), then filled."""
    copy = f"cp {saved} {var}/supportbot.db\n" if saved else ""
    return f"mount -t tmpfs -o size=256k tmpfs {var}\n{copy}head -c 1M /dev/zero > {var}/filler 2>/dev/null || true"


def existing_db(config, tmp_path):
    """A migrated database in the var dir, closed as the bot leaves it, and a copy outside it."""
    open_db(config.db_path).close()
    saved = tmp_path / "saved.db"
    shutil.copy(config.db_path, saved)
    return saved


@pytest.mark.parametrize("has_db", [True, False], ids=["existing", "new"])
def test_a_read_only_var_dir_is_one_error_line_naming_the_path_and_the_cause(config, tmp_path, has_db):
    if has_db:
        existing_db(config, tmp_path)
    else:
        config.var_dir.mkdir(parents=True)
    done = status_in_namespace(config, read_only(config.var_dir))
    assert "Traceback" not in done.stderr
    assert done.returncode == 2, done.stderr
    [line] = done.stderr.splitlines()
    assert line.startswith(
        f"error: database {config.db_path} cannot be written: {config.var_dir} is on a read-only file system"
    )
    assert "Mount it read-write" in line and "then start again" in line


@pytest.mark.parametrize("has_db", [True, False], ids=["existing", "new"])
def test_a_full_disk_is_one_error_line_naming_the_path_and_the_cause(config, tmp_path, has_db):
    config.var_dir.mkdir(parents=True)
    saved = existing_db(config, tmp_path) if has_db else None
    done = status_in_namespace(config, full(config.var_dir, saved))
    assert "Traceback" not in done.stderr
    assert done.returncode == 2, done.stderr
    [line] = done.stderr.splitlines()
    assert line.startswith(f"error: database {config.db_path} cannot be written: {config.var_dir} is on a full disk")
    assert "Free some space there" in line


@pytest.mark.parametrize("has_db", [True, False], ids=["existing", "new"])
def test_no_permission_is_one_error_line_naming_the_path_and_the_cause(config, tmp_path, has_db):
    if has_db:
        existing_db(config, tmp_path)
    else:
        config.var_dir.mkdir(parents=True)
    config.var_dir.chmod(0o500)  # read and enter, not write: SQLite cannot create the database or its -shm
    try:
        done = status_in_namespace(config, "true", map_root=False)
    finally:
        config.var_dir.chmod(0o700)
    assert "Traceback" not in done.stderr
    assert done.returncode == 2, done.stderr
    [line] = done.stderr.splitlines()
    assert line.startswith(f"error: database {config.db_path} cannot be written: {config.var_dir} is not writable")
    assert "read and write it" in line


def test_the_same_command_works_once_the_storage_is_writable(config):
    """The refusal is about the storage: on a writable var dir the same command runs."""
    done = status_in_namespace(config, "true")
    assert done.returncode == 0, done.stderr
    assert "Traceback" not in done.stderr
