"""A local Prefect server as a child process, for the embedded default (`possync run`).

Its database and settings live under POSSYNC_HOME/prefect, so the demo never touches the
user's own Prefect profile. No Prefect import here: it is a process we start and watch.

The home is private to the user who runs it (folders 0700, files 0600): Prefect's SQLite
database holds the Blocks' encrypted secrets *and* the key that decrypts them (the
ENCRYPTION_KEY row, unless PREFECT_SERVER_ENCRYPTION_KEY is set), so whoever can read
`prefect.db` can read every credential; possync's own SQLite store sits beside it.
"""

from __future__ import annotations

import os
import signal
import stat
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import httpx

PRIVATE_UMASK = 0o077  # new files 0600, new folders 0700
PRIVATE_FOLDER = 0o700
PRIVATE_FILE = 0o600


def prepare_home(home: Path) -> Path:
    """Make `home` private before anything writes to it, and keep it so.

    Sets this process's umask to 077, so every file it or its children (the Prefect
    server, SQLite's -wal and -shm files, logs) create later is 0600 and every folder
    0700; creates `home` 0700; and takes group and other access away from what an
    earlier run (before this rule) left there.
    """
    os.umask(PRIVATE_UMASK)
    home.mkdir(mode=PRIVATE_FOLDER, parents=True, exist_ok=True)
    make_private(home)
    return home


def make_private(folder: Path) -> None:
    """chmod `folder` and everything under it: folders 0700, files 0600. Symlinks are left
    alone (chmod would follow them out of the folder), and so are files that vanish while
    we walk (SQLite's -shm and -journal files come and go)."""
    folder.chmod(PRIVATE_FOLDER)
    for root, folders, files in os.walk(folder):
        entries = [(name, PRIVATE_FOLDER) for name in folders]
        entries += [(name, PRIVATE_FILE) for name in files]
        for name, mode in entries:
            path = Path(root, name)
            try:
                if not path.is_symlink() and stat.S_IMODE(path.lstat().st_mode) != mode:
                    path.chmod(mode)
            except FileNotFoundError:
                continue


def prefect_env(home: Path, port: int, host: str = "127.0.0.1") -> dict[str, str]:
    """Environment for the server and every process that talks to it."""
    prefect_home = home / "prefect"
    prefect_home.mkdir(mode=PRIVATE_FOLDER, parents=True, exist_ok=True)
    return {
        "PREFECT_HOME": str(prefect_home),
        "PREFECT_API_URL": f"http://{host}:{port}/api",
        "PREFECT_SERVER_API_HOST": host,
        "PREFECT_SERVER_API_PORT": str(port),
        "PREFECT_SERVER_ANALYTICS_ENABLED": "false",
        "PREFECT_SERVER_UI_SHOW_PROMOTIONAL_CONTENT": "false",
        "DO_NOT_TRACK": "1",
    }


@dataclass
class PrefectServer:
    process: subprocess.Popen[bytes]
    api_url: str
    log_path: Path

    @property
    def ui_url(self) -> str:
        return self.api_url.removesuffix("/api")

    def stop(self, timeout: float = 20.0) -> int:
        """SIGTERM, then SIGKILL if it has not exited within `timeout`."""
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(5)
        return int(self.process.returncode or 0)


def healthy(api_url: str) -> bool:
    try:
        return httpx.get(f"{api_url}/health", timeout=2).status_code == 200
    except httpx.HTTPError:
        return False


def start_server(home: Path, port: int, timeout: float = 120.0) -> PrefectServer:
    """Start `prefect server start` and wait for /api/health; fail clearly if the port is taken.

    The server runs with umask 077 whatever the caller's, and once it is up the home is
    made private again: at start Prefect copies its UI into PREFECT_HOME and chmods those
    files 0700 itself."""
    env = {**os.environ, **prefect_env(home, port)}
    api_url = env["PREFECT_API_URL"]
    if healthy(api_url):
        raise RuntimeError(
            f"a Prefect server already answers on {api_url}; stop it or set POSSYNC_PREFECT_PORT"
        )
    logs = home / "logs"
    logs.mkdir(mode=PRIVATE_FOLDER, parents=True, exist_ok=True)
    log_path = logs / "prefect-server.log"
    descriptor = os.open(log_path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, PRIVATE_FILE)
    with os.fdopen(descriptor, "ab") as log_file:
        process = subprocess.Popen(
            [sys.executable, "-m", "prefect", "server", "start", "--analytics-off"],
            env=env,
            stdout=log_file,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            # Its own session: Ctrl-C reaches only the main job, which stops the server
            # after the runner has shut down (the runner still talks to it while stopping).
            start_new_session=True,
            umask=PRIVATE_UMASK,
        )
    server = PrefectServer(process=process, api_url=api_url, log_path=log_path)
    deadline = time.monotonic() + timeout
    while not healthy(api_url):
        if process.poll() is not None:
            raise RuntimeError(f"Prefect server exited with {process.returncode}; see {log_path}")
        if time.monotonic() > deadline:
            server.stop()
            raise TimeoutError(f"Prefect server not healthy after {timeout}s; see {log_path}")
        time.sleep(0.5)
    make_private(home)
    return server
