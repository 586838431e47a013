"""`possync run`'s home is private to its user: the folder and every folder in it 0700,
every file 0600. Prefect's SQLite database there holds the Blocks' encrypted secrets and
the key that decrypts them, so one world-readable file would hand out every credential.

This starts what `possync run` starts for its home (prepare_home, a real Prefect server,
possync's SQLite store, a Block with a secret saved through the API), from a home an
earlier run left world-readable, with the usual umask 022."""

from __future__ import annotations

import os
import stat
from collections.abc import Iterator
from pathlib import Path

import pytest
from prefect.blocks.system import Secret
from prefect.settings import PREFECT_API_URL, temporary_settings

from possync.localprefect import make_private, prepare_home, start_server
from possync.serving import free_port
from possync.store import Store

pytestmark = pytest.mark.slow

SECRET_VALUE = "sq0atp-demo-secret-7Gq2"


@pytest.fixture
def usual_umask() -> Iterator[None]:
    """The common login umask (022: new files 0644), restored afterwards, since
    prepare_home sets the process's umask as `possync run` does."""
    before = os.umask(0o022)
    try:
        yield
    finally:
        os.umask(before)


def modes(home: Path) -> dict[str, int]:
    """Permission bits of `home` and of everything under it (not following symlinks)."""
    found = {".": stat.S_IMODE(home.lstat().st_mode)}
    for path in home.rglob("*"):
        if not path.is_symlink():
            found[str(path.relative_to(home))] = stat.S_IMODE(path.lstat().st_mode)
    return found


def assert_private(home: Path) -> None:
    wrong = {
        name: oct(mode)
        for name, mode in modes(home).items()
        if mode != (0o700 if (home / name).is_dir() else 0o600)
    }
    assert not wrong, f"not private (folders must be 0700, files 0600): {wrong}"


def earlier_run(home: Path) -> None:
    """What a run before this rule left: a 0755 home with 0644 logs and store."""
    (home / "logs").mkdir(parents=True)
    (home / "logs" / "prefect-server.log").write_text("an old log\n")
    (home / "demo.db-wal").write_bytes(b"")
    for path in (home, home / "logs"):
        path.chmod(0o755)
    for path in (home / "logs" / "prefect-server.log", home / "demo.db-wal"):
        path.chmod(0o644)


def test_the_home_of_possync_run_and_every_file_in_it_are_private(
    tmp_path: Path, usual_umask: None
) -> None:
    home = tmp_path / "home"
    earlier_run(home)
    prepare_home(home)
    server = start_server(home, free_port())
    try:
        with Store.open(f"sqlite:///{home / 'demo.db'}") as store:
            assert store.first_delivery("woocommerce", "body:written-by-this-test")
        with temporary_settings({PREFECT_API_URL: server.api_url}):
            Secret(value=SECRET_VALUE).save("possync-privacy-test")  # writes the key, too
            loaded = Secret.load("possync-privacy-test")
            assert isinstance(loaded, Secret) and loaded.get() == SECRET_VALUE
        files = set(modes(home))
        assert {"prefect/prefect.db", "demo.db", "logs/prefect-server.log"} <= files, files
        assert_private(home)  # while the server runs
    finally:
        server.stop()
    assert_private(home)  # and after it wrote its last


def test_make_private_fixes_an_existing_tree_and_leaves_symlinks_alone(tmp_path: Path) -> None:
    home = tmp_path / "home"
    (home / "prefect" / "ui_build").mkdir(parents=True)
    (home / "prefect" / "ui_build" / "index.html").write_text("<html></html>")
    (home / "prefect" / "ui_build" / "index.html").chmod(0o755)
    (home / "prefect").chmod(0o777)
    outside = tmp_path / "outside.txt"
    outside.write_text("not ours")
    outside.chmod(0o644)
    (home / "link").symlink_to(outside)
    make_private(home)
    assert modes(home) == {
        ".": 0o700,
        "prefect": 0o700,
        "prefect/ui_build": 0o700,
        "prefect/ui_build/index.html": 0o600,
    }
    assert stat.S_IMODE(outside.stat().st_mode) == 0o644
