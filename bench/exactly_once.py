"""Benchmark: every paid web order in the POS exactly once, through faults and `kill -9`.

    .venv/bin/python bench/exactly_once.py [--orders 10000]
        [--webshop woocommerce|shopify|magento|all] [--database sqlite|postgres]
        [--kills 2] [--skus 2000] [--seed 1] [--shopify-plan plus] [--json]

For each webshop: fresh Square and webshop emulators on real sockets (in this process, so
the shop's customers can check out as each webshop allows), `--orders` paid orders placed
through the webshop with its real id format (Shopify order gids of 13 digits, Magento
entity ids with their "000000123" increment ids, WooCommerce integer ids), 1 to 3 lines of
1 or 2 units each. Then the `transfer-orders` flow, each run a child process of its own,
against the emulators with injected faults: 429 with Retry-After, 500, stalls past the
client's timeout (the write still happens, late) and answers dropped after the write was
committed, on every Square call and (429/500) on the webshop's. The first `--kills` runs
are killed with SIGKILL part-way (a third of the remaining orders paid); then the flow is
rerun, faults still on, until every order is `transferred` and a run finishes clean.

Shopify's orders are read under its cost bucket: a page of 25 orders asks for 777 points,
so reading 10,000 orders takes ~52 minutes on the Standard plan (100 points/s) and ~5 on
Plus (1,000 points/s). A shop taking 10,000 web orders a day is a Plus shop, so Plus is the
default (`--shopify-plan standard|advanced|plus`). Every run after a killed or failed one
reads all orders since the cursor again, as the flow does.

Counted from the POS itself: orders placed, orders with a completed sale in the POS, lost
(none), doubled (more than one sale or payment), the ledger's document for each order
against the sale that carries its reference, the stock drawn per SKU against the units
ordered, and the wall time. Target: 0 lost and 0 doubled (and the ledger and stock agree).
"""

from __future__ import annotations

import argparse
import json
import os
import random
import signal
import subprocess
import sys
import tempfile
import time
import uuid
from collections import Counter
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field, replace
from decimal import Decimal
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from emulators.control import EmulatorControl, FaultConfig  # noqa: E402
from emulators.demo import DemoProduct, demo_catalogue  # noqa: E402
from emulators.square import SquareState, create_square_app  # noqa: E402
from emulators.webshops import EmulatedWebshop, start_webshop  # noqa: E402
from possync.domain.references import fit_reference, order_reference  # noqa: E402
from possync.planning.orders import order_key  # noqa: E402
from possync.serving import RunningServer, free_port, serve_in_thread  # noqa: E402
from possync.vendors.square.pos import REFERENCE_ID_MAX  # noqa: E402

TOKEN, LOCATION = "sq-bench-token", "L-BENCH"
WEBSHOPS = ("woocommerce", "shopify", "magento")
SQUARE_TIMEOUT_S = 2.0  # the bench's Square client timeout, so a stall is a timeout
STALL_S = 2.5  # longer than the timeout: the client gives up, the write lands later
MAX_RUNS = 12
RUN_CODE = (
    "import json\n"
    "from flows.orders import transfer_orders\n"
    "print('SUMMARY ' + json.dumps(transfer_orders()), flush=True)\n"
)


@dataclass
class Run:
    number: int
    killed: bool
    exit_code: int | None
    seconds: float
    summary: dict[str, int] | None
    error: str = ""


@dataclass
class Figures:
    webshop: str
    placed: int
    in_pos: int
    lost: int
    doubled: int
    unpaid_pos_orders: int
    ledger_not_transferred: int
    ledger_mismatches: int
    stock_mismatches: int
    kills: int
    runs: int
    faults: dict[str, int]
    wall_seconds: float
    place_seconds: float
    sample_order_ids: list[str] = field(default_factory=list)
    run_log: list[dict[str, object]] = field(default_factory=list)

    @property
    def met(self) -> bool:
        return (
            self.lost == 0
            and self.doubled == 0
            and self.ledger_mismatches == 0
            and self.ledger_not_transferred == 0
            and self.stock_mismatches == 0
            and self.kills >= 1
        )


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--orders", type=int, default=10_000)
    parser.add_argument("--webshop", choices=[*WEBSHOPS, "all"], default="all")
    parser.add_argument("--database", choices=["sqlite", "postgres"], default="sqlite")
    parser.add_argument(
        "--postgres-url",
        default=os.environ.get("POSSYNC_TEST_POSTGRES_URL")
        or "postgresql+psycopg://postgres@127.0.0.1:5432/postgres",
        help="a server the bench may create (and drop) a database on",
    )
    parser.add_argument("--kills", type=int, default=2, help="runs killed with SIGKILL")
    parser.add_argument("--skus", type=int, default=2000)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--shopify-plan", choices=["standard", "advanced", "plus"], default="plus")
    parser.add_argument("--json", action="store_true", help="also print the figures as JSON")
    args = parser.parse_args()
    if args.kills < 1:
        parser.error("--kills must be at least 1")
    webshops = WEBSHOPS if args.webshop == "all" else (args.webshop,)
    results: list[Figures] = []
    with prefect_server() as work:
        for webshop in webshops:
            with database(args, work, webshop) as db_url:
                figures = measure(webshop, db_url, work, args)
            report(figures, args)
            results.append(figures)
    if args.json:
        print("FIGURES " + json.dumps([{**asdict(f), "met": f.met} for f in results]))
    if not all(f.met for f in results):
        sys.exit(1)


@contextmanager
def prefect_server() -> Iterator[Path]:
    """A local Prefect server for the bench's flow runs (each in a child process)."""
    from possync.localprefect import prefect_env, start_server

    work = Path(tempfile.mkdtemp(prefix="possync-exactly-once-"))
    port = free_port()
    os.environ.update(
        {**prefect_env(work, port), "POSSYNC_HOME": str(work), "PREFECT_LOGGING_LEVEL": "WARNING"}
    )
    print(f"starting a Prefect server ({work}) …", flush=True)
    server = start_server(work, port)
    try:
        from blocks.register import register_block_types

        register_block_types()
        yield work
    finally:
        server.stop()


@contextmanager
def database(args: argparse.Namespace, work: Path, webshop: str) -> Iterator[str]:
    """A fresh, empty state store for one webshop's run: a SQLite file, or a new PostgreSQL
    database dropped afterwards."""
    if args.database == "sqlite":
        yield f"sqlite:///{work / f'{webshop}.db'}"
        return
    from sqlalchemy import create_engine, text
    from sqlalchemy.engine import make_url
    from sqlalchemy.pool import NullPool

    server = make_url(args.postgres_url)
    name = f"possync_bench_{uuid.uuid4().hex[:12]}"
    admin = create_engine(server, isolation_level="AUTOCOMMIT", poolclass=NullPool)
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    try:
        yield server.set(database=name).render_as_string(hide_password=False)
    finally:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


def catalogue(skus: int, orders: int, seed: int) -> list[DemoProduct]:
    """The demo catalogue with stock for every order (a run must not stop on stock)."""
    stock = max(100, 8 * orders // max(1, skus) + 50)
    return [
        replace(p, variants=[replace(v, stock=stock) for v in p.variants])
        for p in demo_catalogue(skus, seed=seed)
    ]


def measure(webshop: str, db_url: str, work: Path, args: argparse.Namespace) -> Figures:
    products = catalogue(args.skus, args.orders, args.seed)
    skus = [v.sku for p in products for v in p.variants]
    square = SquareState(location_id=LOCATION)
    square.seed(products)
    square_app = create_square_app(square, access_token=TOKEN)
    square_server = serve_in_thread(square_app)
    square_control: EmulatorControl = square_app.state.control
    web = start_web(webshop, products, args.shopify_plan)
    env = {**os.environ, "POSSYNC_DATABASE_URL": db_url}
    try:
        save_blocks(square_server, web)
        print(f"\n[{webshop}] linking {len(skus):,} SKUs (stock-sync) …", flush=True)
        child(["from flows.stock import sync_stock", "sync_stock()"], env, work / "stock.log")
        before = {sku: square.count(square.variation_id_for_sku(sku)) for sku in skus}
        print(f"[{webshop}] placing {args.orders:,} paid orders …", flush=True)
        t_place = time.perf_counter()
        placed = place_orders(web, skus, args.orders, args.seed)
        place_seconds = time.perf_counter() - t_place
        print(
            f"[{webshop}] placed in {place_seconds:.0f} s, ids "
            f"{next(iter(placed))} … {list(placed)[-1]}",
            flush=True,
        )
        square_control.set_faults(square_faults(args.seed))
        web.control.set_faults(webshop_faults(args.seed))
        t0 = time.perf_counter()
        runs = transfer_until_settled(square, web, placed, env, work, args)
        wall = time.perf_counter() - t0
        square_control.set_faults(FaultConfig())
        web.control.set_faults(FaultConfig())
        faults = Counter[str]()
        faults.update({f"square {k}": n for k, n in square_control.injected.items()})
        faults.update({f"{webshop} {k}": n for k, n in web.control.injected.items()})
        return count(webshop, db_url, square, placed, before, runs, dict(faults), wall,
                     place_seconds)  # fmt: skip
    finally:
        web.stop()
        square_server.stop()


def start_web(webshop: str, products: list[DemoProduct], plan: str) -> EmulatedWebshop:
    if webshop != "shopify":
        return start_webshop(webshop, products, currency="DKK")
    from emulators.shopify_shop import start_shopify
    from emulators.shopify_state import Bucket

    return start_shopify(products, currency="DKK", bucket=Bucket.for_plan(plan))


def save_blocks(square_server: RunningServer, web: EmulatedWebshop) -> None:
    from pydantic import SecretStr

    from blocks import SETTINGS_BLOCK, SquareCredentials, SyncSettings, credentials_for

    SquareCredentials(
        base_url=square_server.url,
        access_token=SecretStr(TOKEN),
        location_id=LOCATION,
        timeout_seconds=SQUARE_TIMEOUT_S,
    ).save("possync-square", overwrite=True)
    credentials_for(web.config()).save(f"possync-{web.system}", overwrite=True)
    SyncSettings(webshop=web.system).save(SETTINGS_BLOCK, overwrite=True)


def square_faults(seed: int) -> FaultConfig:
    """Every Square call: 3 % 429, 3 % 500, 0.3 % stalled past the timeout, 3 % answers
    dropped after the write was committed."""
    return FaultConfig(
        rate_429=0.03,
        rate_500=0.03,
        rate_timeout=0.003,
        rate_drop_after_commit=0.03,
        retry_after_seconds=0.05,
        stall_seconds=STALL_S,
        seed=seed,
    )


def webshop_faults(seed: int) -> FaultConfig:
    """The webshop's reads: 5 % 429 and 5 % 500 (its client waits 30 s, so no stalls)."""
    return FaultConfig(rate_429=0.05, rate_500=0.05, retry_after_seconds=0.05, seed=seed + 1)


def place_orders(
    web: EmulatedWebshop, skus: list[str], n: int, seed: int
) -> dict[str, Counter[str]]:
    """`n` paid orders of 1 to 3 random SKUs, 1 or 2 units each, placed 4 at a time through
    the webshop; order id (as the connector names it) → units per SKU."""
    rng = random.Random(seed)
    baskets = [
        Counter({sku: rng.randint(1, 2) for sku in rng.sample(skus, rng.randint(1, 3))})
        for _ in range(n)
    ]

    def place(basket: Counter[str]) -> tuple[str, Counter[str]]:
        for attempt in range(5):
            try:
                return web.place_order(dict(basket)), basket
            except Exception:  # a throttled admin call: the customer tries again
                if attempt == 4:
                    raise
                time.sleep(0.5 * (attempt + 1))
        raise AssertionError("unreachable")

    with ThreadPoolExecutor(4) as pool:
        return dict(pool.map(place, baskets))


def transfer_until_settled(
    square: SquareState,
    web: EmulatedWebshop,
    placed: dict[str, Counter[str]],
    env: dict[str, str],
    work: Path,
    args: argparse.Namespace,
) -> list[Run]:
    """Run the flow in child processes: the first `--kills` runs killed part-way, then
    reruns (faults still on) until every order is transferred and a run ends clean."""
    runs: list[Run] = []
    for number in range(1, MAX_RUNS + 1):
        kill = number <= args.kills
        remaining = len(placed) - len(square.sales.payments)
        threshold = len(square.sales.payments) + max(1, remaining // 3) if kill else None
        run = run_flow(number, square, threshold, env, work / f"{web.system}-run{number}.log")
        runs.append(run)
        states = ledger_states(env["POSSYNC_DATABASE_URL"], web.system, list(placed))
        done = sum(1 for s in states.values() if s == "transferred")
        what = "killed (SIGKILL)" if run.killed else f"exit {run.exit_code}"
        print(
            f"  run {number}: {what} after {run.seconds:.1f} s; POS payments "
            f"{len(square.sales.payments):,}; ledger transferred {done:,}/{len(placed):,}"
            + (f"; {run.summary}" if run.summary else "")
            + (f"; {run.error}" if run.exit_code and not run.killed else ""),
            flush=True,
        )
        if number > args.kills and run.exit_code == 0 and done == len(placed):
            return runs
    return runs


def run_flow(
    number: int, square: SquareState, kill_at: int | None, env: dict[str, str], log: Path
) -> Run:
    """One transfer-orders run in a child process; SIGKILL once the POS holds `kill_at`
    payments (None: let it finish)."""
    start = time.perf_counter()
    with log.open("w") as out:
        process = subprocess.Popen(
            [sys.executable, "-c", RUN_CODE], cwd=ROOT, env=env, stdout=out, stderr=out
        )
        killed = False
        while process.poll() is None:
            if kill_at is not None and len(square.sales.payments) >= kill_at:
                os.kill(process.pid, signal.SIGKILL)
                killed = True
                process.wait()
                break
            time.sleep(0.02)
    seconds = time.perf_counter() - start
    text = log.read_text(errors="replace")
    summary = None
    for line in text.splitlines():
        if line.startswith("SUMMARY "):
            summary = json.loads(line.removeprefix("SUMMARY "))
    error = next(
        (line for line in reversed(text.splitlines()) if "Error" in line or "error" in line), ""
    )
    return Run(number, killed, process.returncode, seconds, summary, error[:300])


def child(lines: list[str], env: dict[str, str], log: Path) -> None:
    with log.open("w") as out:
        done = subprocess.run(
            [sys.executable, "-c", "\n".join(lines)], cwd=ROOT, env=env, stdout=out, stderr=out
        )
    if done.returncode != 0:
        raise SystemExit(f"{lines[-1]} failed; see {log}")


def ledger_states(db_url: str, system: str, order_ids: list[str]) -> dict[str, str]:
    from possync.store import Store

    store = Store.open(db_url)
    try:
        return {oid: r.state for oid, r in store.orders(system, order_ids).items()}
    finally:
        store.close()


def count(
    webshop: str,
    db_url: str,
    square: SquareState,
    placed: dict[str, Counter[str]],
    before: dict[str, Decimal],
    runs: list[Run],
    faults: dict[str, int],
    wall: float,
    place_seconds: float,
) -> Figures:
    """The figures, from the POS's own orders, payments and counts, and the ledger."""
    from possync.store import Store

    sales = square.sales
    completed = [o for o in sales.orders.values() if o.state == "COMPLETED"]
    by_reference: dict[str | None, list[str]] = {}
    for order in completed:
        by_reference.setdefault(order.reference_id, []).append(order.id)
    payments = Counter(str(p.data.get("order_id")) for p in sales.payments.values())
    store = Store.open(db_url)
    try:
        records = store.orders(webshop, list(placed))
    finally:
        store.close()
    in_pos = lost = doubled = mismatched = 0
    for order_id in placed:
        reference = fit_reference(
            order_reference(webshop, order_id), order_key(webshop, order_id), REFERENCE_ID_MAX
        )
        found = by_reference.get(reference, [])
        in_pos += bool(found)
        lost += not found
        doubled += len(found) > 1 or any(payments[sale] > 1 for sale in found)
        record = records.get(order_id)
        if found and (record is None or record.pos_document not in found):
            mismatched += 1
    drawn: Counter[str] = Counter()
    for basket in placed.values():
        drawn.update(basket)
    stock_off = sum(
        1
        for sku, was in before.items()
        if was - square.count(square.variation_id_for_sku(sku)) != drawn.get(sku, 0)
    )
    return Figures(
        webshop=webshop,
        placed=len(placed),
        in_pos=in_pos,
        lost=lost,
        doubled=doubled,
        unpaid_pos_orders=sum(1 for o in sales.orders.values() if o.state != "COMPLETED"),
        ledger_not_transferred=sum(
            1 for oid in placed if (r := records.get(oid)) is None or r.state != "transferred"
        ),
        ledger_mismatches=mismatched,
        stock_mismatches=stock_off,
        kills=sum(r.killed for r in runs),
        runs=len(runs),
        faults=faults,
        wall_seconds=round(wall, 1),
        place_seconds=round(place_seconds, 1),
        sample_order_ids=list(placed)[:3],
        run_log=[
            {
                "run": r.number,
                "killed": r.killed,
                "exit": r.exit_code,
                "seconds": round(r.seconds, 1),
            }
            for r in runs
        ],
    )


def report(f: Figures, args: argparse.Namespace) -> None:
    plan = f", {args.shopify_plan} plan" if f.webshop == "shopify" else ""
    faults = ", ".join(f"{k} {n:,}" for k, n in sorted(f.faults.items())) or "none"
    print(
        f"\nexactly once, {f.webshop}{plan} ({args.database}): {f.placed:,} paid orders "
        f"(ids like {f.sample_order_ids[0]}), {f.runs} runs, {f.kills} killed with SIGKILL\n"
        f"  orders placed {f.placed:,}; in the POS {f.in_pos:,}; lost {f.lost:,}; "
        f"doubled {f.doubled:,}\n"
        f"  ledger: not transferred {f.ledger_not_transferred:,}, document differs from the "
        f"POS sale {f.ledger_mismatches:,}; SKUs whose POS stock moved other than ordered "
        f"{f.stock_mismatches:,}; unpaid POS orders left {f.unpaid_pos_orders:,}\n"
        f"  faults injected: {faults}\n"
        f"  wall time {f.wall_seconds:,.0f} s from the first run to settled "
        f"(placing the orders took {f.place_seconds:,.0f} s)\n"
        f"  target: [{'met' if f.met else 'NOT MET'}] 0 lost and 0 doubled, ledger and stock "
        "in agreement, after at least one kill -9",
        flush=True,
    )


if __name__ == "__main__":
    main()
