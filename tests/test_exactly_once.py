"""The exactly-once benchmark in short: 150 paid orders on each webshop, with its real id
format, through injected 429/500, timeouts and answers dropped after commit on every Square
call (429/500 on the webshop's), one run killed with SIGKILL part-way, rerun until settled:
every order in the POS once, the ledger and the stock in agreement. `bench/exactly_once.py`
runs once for the module, as a child process exactly as it is run by hand (one Prefect
server for the three webshops); each webshop's figures are checked by its own test."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

# One group: the module's fixture runs the bench, and xdist would run it once per worker.
pytestmark = [pytest.mark.slow, pytest.mark.xdist_group("exactly_once")]

ROOT = Path(__file__).resolve().parent.parent
ORDERS = 150
ID_FORMATS = {
    "shopify": re.compile(r"^gid://shopify/Order/\d{13,}$"),
    "magento": re.compile(r"^[1-9]\d*$"),  # the entity id (the increment id is "000000123")
    "woocommerce": re.compile(r"^[1-9]\d*$"),
}


@pytest.fixture(scope="module")
def bench() -> tuple[dict[str, dict[str, Any]], str]:
    """Each webshop's figures, and the bench's printed report."""
    command = [
        sys.executable, "bench/exactly_once.py", "--orders", str(ORDERS), "--webshop", "all",
        "--kills", "1", "--skus", "300", "--json",
    ]  # fmt: skip
    env = {**os.environ, "PREFECT_SERVER_ANALYTICS_ENABLED": "false"}
    env.pop("PREFECT_API_URL", None)  # the bench starts its own server
    done = subprocess.run(command, cwd=ROOT, env=env, capture_output=True, text=True, timeout=600)
    lines = [line for line in done.stdout.splitlines() if line.startswith("FIGURES ")]
    assert lines, f"no figures (exit {done.returncode}):\n{done.stdout}\n{done.stderr[-3000:]}"
    figures = json.loads(lines[-1].removeprefix("FIGURES "))
    return {f["webshop"]: f for f in figures}, done.stdout


@pytest.mark.parametrize("webshop", ["woocommerce", "shopify", "magento"])
def test_every_order_reaches_the_pos_once_through_faults_and_a_kill(
    bench: tuple[dict[str, dict[str, Any]], str], webshop: str
) -> None:
    by_webshop, report = bench
    figures = by_webshop[webshop]
    assert all(ID_FORMATS[webshop].match(i) for i in figures["sample_order_ids"]), report
    assert figures["placed"] == ORDERS
    assert (figures["in_pos"], figures["lost"], figures["doubled"]) == (ORDERS, 0, 0), report
    assert figures["ledger_not_transferred"] == 0, report
    assert figures["ledger_mismatches"] == 0, report
    assert figures["stock_mismatches"] == 0, report
    assert figures["unpaid_pos_orders"] == 0, report
    assert figures["kills"] == 1 and figures["runs"] >= 2, report
    faults: dict[str, Any] = figures["faults"]
    for kind in ("429", "500", "drop_after_commit"):
        assert faults.get(f"square {kind}", 0) > 0, (kind, faults)
    assert figures["met"] is True, report
