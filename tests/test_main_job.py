"""The main job, started the way `make run` starts it: it must bring up the Prefect server,
the emulators and the served deployments, complete a stock-sync run, carry a web order to
the POS, let a switch of setup in the settings Block turn the product flow around, post
today's turnover to the emulated Xero from a deployment run, and stop cleanly on Ctrl-C.
This keeps `make run` from rotting silently."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from pathlib import Path
from typing import Any, cast
from zoneinfo import ZoneInfo

import httpx
import pytest

from possync.serving import free_port
from tests.test_home_privacy import assert_private

pytestmark = pytest.mark.slow

ROOT = Path(__file__).resolve().parent.parent


def completed_scheduled_stock_runs(api: str) -> list[dict[str, object]]:
    """Completed stock-sync runs that the schedule created (not the one run at start)."""
    body = {
        "flow_runs": {"state": {"type": {"any_": ["COMPLETED"]}}},
        "deployments": {"name": {"any_": ["stock-sync"]}},
    }
    response = httpx.post(f"{api}/flow_runs/filter", json=body, timeout=10)
    response.raise_for_status()
    runs: list[dict[str, object]] = response.json()
    return [run for run in runs if run.get("auto_scheduled")]


def web_order_reaches_pos(woo_port: int, square_port: int) -> tuple[str, float]:
    """Place a paid web order; wait until the POS has the sale (webhook → order flow)."""
    woo = httpx.Client(
        base_url=f"http://127.0.0.1:{woo_port}/wp-json/wc/v3", auth=("ck_demo", "cs_demo")
    )
    product = next(
        p
        for p in woo.get("/products", params={"per_page": "50", "type": "simple"}).json()
        if (p.get("stock_quantity") or 0) > 0
    )
    body = {"status": "processing", "line_items": [{"product_id": product["id"], "quantity": 1}]}
    start = time.monotonic()
    order_id = str(woo.post("/orders", json=body).raise_for_status().json()["id"])
    square = httpx.Client(
        base_url=f"http://127.0.0.1:{square_port}",
        headers={"Authorization": "Bearer sq-demo-token"},
    )
    while time.monotonic() - start < 60:
        found = square.post("/v2/orders/search", json={"location_ids": ["L-DEMO"]}).json()
        refs = {o.get("reference_id") for o in found.get("orders") or []}
        if f"woocommerce order {order_id}" in refs:
            return order_id, time.monotonic() - start
        time.sleep(0.2)
    return order_id, float("inf")


def products_flow_the_other_way(api: str, woo_port: int, square_port: int) -> tuple[str, str]:
    """Switch the settings Block to webshop_products as a user would in the UI, re-price a
    webshop product, run the product-sync deployment: the POS gets the new price."""
    from prefect.client.schemas.objects import FlowRun
    from prefect.deployments import run_deployment
    from prefect.settings import PREFECT_API_URL, temporary_settings

    from blocks import SyncSettings

    woo = httpx.Client(
        base_url=f"http://127.0.0.1:{woo_port}/wp-json/wc/v3", auth=("ck_demo", "cs_demo")
    )
    product = woo.get("/products", params={"per_page": "5", "type": "simple"}).json()[0]
    with temporary_settings({PREFECT_API_URL: api}):
        settings = cast(SyncSettings, SyncSettings.load("possync-settings"))
        settings.setup = "webshop_products"
        settings.save("possync-settings", overwrite=True)
        woo.put(f"/products/{product['id']}", json={"regular_price": "777.77"}).raise_for_status()
        run = cast(FlowRun, run_deployment("product-sync/product-sync", timeout=180))
        assert run.state is not None and run.state.is_completed(), run.state
    square = httpx.Client(
        base_url=f"http://127.0.0.1:{square_port}",
        headers={"Authorization": "Bearer sq-demo-token"},
    )
    body = {
        "object_types": ["ITEM_VARIATION"],
        "query": {"exact_query": {"attribute_name": "sku", "attribute_value": product["sku"]}},
    }
    [variation] = square.post("/v2/catalog/search", json=body).json()["objects"]
    amount = variation["item_variation_data"]["price_money"]["amount"]
    return product["sku"], str(amount)


def pos_takings(square_port: int, start: datetime, end: datetime) -> Decimal:
    """What the register took in [start, end): completed orders by closed_at."""
    square = httpx.Client(
        base_url=f"http://127.0.0.1:{square_port}",
        headers={"Authorization": "Bearer sq-demo-token"},
    )
    body: dict[str, Any] = {
        "location_ids": ["L-DEMO"],
        "limit": 1000,
        "query": {
            "filter": {
                "state_filter": {"states": ["COMPLETED"]},
                "date_time_filter": {
                    "closed_at": {"start_at": start.isoformat(), "end_at": end.isoformat()}
                },
            },
            "sort": {"sort_field": "CLOSED_AT", "sort_order": "ASC"},
        },
    }
    total = Decimal(0)
    while True:
        page = square.post("/v2/orders/search", json=body).raise_for_status().json()
        for order in page.get("orders") or []:
            if order.get("line_items") and order.get("closed_at", "") < end.isoformat():
                total += Decimal(order["total_money"]["amount"]) / 100
        if not page.get("cursor"):
            return total
        body["cursor"] = page["cursor"]


def turnover_reaches_xero(
    api: str, square_port: int, xero_port: int
) -> tuple[Decimal, Decimal, Decimal, Decimal]:
    """Run the daily-turnover deployment for today, as a user would from the UI; the
    journal in the emulated Xero: (sum of its lines, its debits, POS takings before the run,
    POS takings after it)."""
    from prefect.client.schemas.objects import FlowRun
    from prefect.deployments import run_deployment
    from prefect.settings import PREFECT_API_URL, temporary_settings

    from emulators.xero_state import DEMO_TENANT_ID
    from possync.planning.turnover import day_bounds

    day = datetime.now(ZoneInfo("Europe/Copenhagen")).date()
    start, end = day_bounds(day, "Europe/Copenhagen")
    before = pos_takings(square_port, start, end)
    with temporary_settings({PREFECT_API_URL: api}):
        run = cast(
            FlowRun,
            run_deployment(
                "daily-turnover/daily-turnover", parameters={"day": day.isoformat()}, timeout=180
            ),
        )
        assert run.state is not None and run.state.is_completed(), run.state
    after = pos_takings(square_port, start, end)
    xero = httpx.Client(
        base_url=f"http://127.0.0.1:{xero_port}/api.xro/2.0",
        headers={
            "Authorization": "Bearer xero-demo-token",
            "xero-tenant-id": DEMO_TENANT_ID,
            "Accept": "application/json",
        },
    )
    where = f"Date == DateTime({day.year}, {day.month}, {day.day})"
    answer = xero.get("/ManualJournals", params={"where": where, "page": "1"}).json()
    [journal] = answer["ManualJournals"]
    amounts = [Decimal(str(line["LineAmount"])) for line in journal["JournalLines"]]
    return sum(amounts, Decimal(0)), sum((a for a in amounts if a > 0), Decimal(0)), before, after


def port_open(port: int) -> bool:
    try:
        httpx.get(f"http://127.0.0.1:{port}/", timeout=1)
        return True
    except httpx.TransportError:
        return False


@dataclass
class MainJob:
    job: subprocess.Popen[bytes]
    ports: dict[str, int]
    api: str
    log_path: Path

    def tail(self) -> str:
        return self.log_path.read_text()[-3000:]

    def wait_for_scheduled_stock_run(self) -> None:
        deadline = time.monotonic() + 240
        runs: list[dict[str, object]] = []
        while time.monotonic() < deadline and self.job.poll() is None:
            try:
                runs = completed_scheduled_stock_runs(self.api)
            except httpx.TransportError:
                runs = []
            if runs:
                break
            time.sleep(2)
        assert self.job.poll() is None, f"main job exited early:\n{self.tail()}"
        assert runs, f"no completed scheduled stock-sync run within 240 s:\n{self.tail()}"


@contextmanager
def main_job(tmp_path: Path, **settings: str) -> Iterator[MainJob]:
    """`possync run` as `make run` starts it, with POSSYNC_* settings; on exit Ctrl-C, and
    the job must stop cleanly and free every port."""
    ports = {name: free_port() for name in ("PREFECT", "SQUARE", "WEBSHOP", "WEBHOOK", "XERO")}
    env = {
        **os.environ,
        "POSSYNC_HOME": str(tmp_path / "home"),
        "POSSYNC_STOCK_INTERVAL": "10",
        "POSSYNC_DEMO_SKUS": "60",
        "POSSYNC_SIMULATOR_EVERY": "0.5",
        "POSSYNC_WEB_ORDER_EVERY": "3600",
        "POSSYNC_PRODUCT_EDIT_EVERY": "3600",
        **{f"POSSYNC_{name}_PORT": str(port) for name, port in ports.items()},
        **{f"POSSYNC_{name.upper()}": value for name, value in settings.items()},
    }
    for inherited in ("PREFECT_API_URL", "PREFECT_HOME", "POSSYNC_DATABASE_URL"):
        env.pop(inherited, None)
    possync = Path(sys.executable).with_name("possync")
    log_path = tmp_path / "main-job.log"
    with log_path.open("wb") as log:
        job = subprocess.Popen(
            [str(possync), "run"],
            cwd=ROOT,
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    try:
        yield MainJob(job, ports, f"http://127.0.0.1:{ports['PREFECT']}/api", log_path)
    finally:
        if job.poll() is None:
            os.killpg(job.pid, signal.SIGINT)  # Ctrl-C reaches the whole process group
        try:
            code = job.wait(90)
        except subprocess.TimeoutExpired as hung:
            os.killpg(job.pid, signal.SIGKILL)
            tail = log_path.read_text(errors="replace")[-4000:]
            raise AssertionError(
                f"the main job did not stop within 90 s of Ctrl-C:\n{tail}"
            ) from hung
    output = log_path.read_text()
    assert code == 0, output[-3000:]
    assert "possync: stopped." in output
    for port in ports.values():
        assert not port_open(port), f"port {port} still answers after the job stopped"
    assert_private(tmp_path / "home")  # Prefect's database holds every secret and its key


def test_make_run_main_job_completes_a_stock_sync_and_stops_cleanly(tmp_path: Path) -> None:
    with main_job(tmp_path) as run:
        run.wait_for_scheduled_stock_run()
        ports = run.ports
        assert port_open(ports["SQUARE"]) and port_open(ports["WEBSHOP"])
        order_id, seconds = web_order_reaches_pos(ports["WEBSHOP"], ports["SQUARE"])
        assert seconds < 30, f"web order {order_id} took {seconds:.1f} s to reach the POS"
        sku, amount = products_flow_the_other_way(run.api, ports["WEBSHOP"], ports["SQUARE"])
        assert amount == "77777", f"{sku}: the webshop's new price did not reach the POS"
        balance, debits, before, after = turnover_reaches_xero(
            run.api, ports["SQUARE"], ports["XERO"]
        )
        assert balance == 0, f"the voucher does not balance: {balance}"
        assert before > 0 and before <= debits <= after, (before, debits, after)


def web_orders_in_pos(square_port: int, webshop: str) -> list[str]:
    square = httpx.Client(
        base_url=f"http://127.0.0.1:{square_port}",
        headers={"Authorization": "Bearer sq-demo-token"},
    )
    found = square.post("/v2/orders/search", json={"location_ids": ["L-DEMO"]}).json()
    # The full reference is in the metadata: a Shopify gid is too long for reference_id.
    refs = [
        str((o.get("metadata") or {}).get("possync_reference") or "")
        for o in found.get("orders") or []
    ]
    return [r for r in refs if r.startswith(f"{webshop} order ")]


@pytest.mark.parametrize("webshop", ["shopify", "magento"])
def test_make_run_runs_the_whole_shop_on_another_webshop(tmp_path: Path, webshop: str) -> None:
    """POSSYNC_WEBSHOP picks the webshop: the demo's web customers order there, the order
    flows carry their orders to the register (Magento has no webhooks: the schedule does),
    stock-sync runs on schedule."""
    with main_job(tmp_path, webshop=webshop, web_order_every="2", orders_interval="10") as run:
        run.wait_for_scheduled_stock_run()
        deadline = time.monotonic() + 90
        while not web_orders_in_pos(run.ports["SQUARE"], webshop):
            assert time.monotonic() < deadline, f"no {webshop} order reached the POS:\n" + (
                run.tail()
            )
            time.sleep(1)
