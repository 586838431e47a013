"""prefect.yaml works with a real Prefect server and a process worker: deploy, run, done.
(`make run` serves the same deployments from one process; this is the production path.)"""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest
from prefect.settings import PREFECT_API_URL, temporary_settings

from emulators.demo import demo_catalogue
from possync.localprefect import prefect_env, start_server
from possync.serving import free_port
from tests.shop import running_shop

pytestmark = pytest.mark.slow

ROOT = Path(__file__).resolve().parent.parent


def prefect(*args: str, env: dict[str, str], timeout: float = 120) -> str:
    command = [str(Path(sys.executable).with_name("prefect")), *args]
    done = subprocess.run(
        command, cwd=ROOT, env=env, capture_output=True, text=True, timeout=timeout
    )
    assert done.returncode == 0, f"{' '.join(args)}:\n{done.stdout[-2000:]}\n{done.stderr[-2000:]}"
    return done.stdout


def test_deploy_from_prefect_yaml_and_run_on_a_process_worker(tmp_path: Path) -> None:
    server = start_server(tmp_path / "home", free_port())
    env = {
        **os.environ,
        **prefect_env(tmp_path / "home", int(server.api_url.rsplit(":", 1)[1].split("/")[0])),
        "POSSYNC_DATABASE_URL": f"sqlite:///{tmp_path / 'possync.db'}",
        "PREFECT_LOGGING_LEVEL": "WARNING",
    }
    try:
        with temporary_settings({PREFECT_API_URL: server.api_url}):
            catalogue = demo_catalogue(30, seed=4)
            sku = next(v.sku for p in catalogue for v in p.variants if v.stock > 2)
            for shop in running_shop(catalogue):
                shop.sell_at_pos(sku, 2)  # the webshop is now 2 above the register
                prefect("work-pool", "create", "possync", "--type", "process", env=env)
                prefect("--no-prompt", "deploy", "--all", env=env)
                run = prefect("deployment", "run", "stock-sync/stock-sync", env=env)
                assert "Created flow run" in run
                prefect("worker", "start", "--pool", "possync", "--run-once", env=env, timeout=240)
                states = completed_runs(server.api_url)
                assert "stock-sync" in states, states
                assert shop.web_stock(sku) == int(shop.pos_count(sku))
    finally:
        server.stop()


def completed_runs(api_url: str) -> dict[str, str]:
    """Flow name → state of the runs the worker executed, after it has exited."""
    deadline = time.monotonic() + 30
    while True:
        runs = httpx.post(f"{api_url}/flow_runs/filter", json={}).json()
        flows = {f["id"]: f["name"] for f in httpx.post(f"{api_url}/flows/filter", json={}).json()}
        done = {
            flows[r["flow_id"]]: r["state_type"] for r in runs if r["state_type"] == "COMPLETED"
        }
        if done or time.monotonic() > deadline:
            return done
        time.sleep(1)
