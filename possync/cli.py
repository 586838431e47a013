"""The `possync` command. Prefect and the emulators are imported only by the commands that
need them, so `possync --help` stays fast."""

from __future__ import annotations

import json
import logging
import os
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Protocol, cast

import typer
from pydantic import SecretStr

from possync.vendors.registry import names

if TYPE_CHECKING:
    from emulators.demo import DemoProduct
    from emulators.webshops import EmulatedWebshop
    from flows.receiver import Receiver
    from possync.serving import RunningServer
    from possync.settings import RunSettings

app = typer.Typer(help="possync: POS ↔ webshop ↔ accounting, as Prefect flows.")
emulators_app = typer.Typer(help="The vendor emulators.")
sync_app = typer.Typer(help="Run one flow now (needs the Blocks, e.g. from `possync run`).")
webhooks_app = typer.Typer(help="The webhook receiver.")
products_app = typer.Typer(help="Products between the POS and the webshop.")
turnover_app = typer.Typer(help="The POS's daily turnover and its vouchers.")
app.add_typer(emulators_app, name="emulators")
app.add_typer(sync_app, name="sync")
app.add_typer(webhooks_app, name="webhooks")
app.add_typer(products_app, name="products")
app.add_typer(turnover_app, name="turnover")

DEMO_SQUARE_TOKEN = "sq-demo-token"  # noqa: S105 - the emulator's demo credential
DEMO_LOCATION = "L-DEMO"
# Exit status of `possync sync …` when another run of that flow holds the shop's run slot
# (EX_TEMPFAIL: nothing was done, try again later).
EXIT_SLOT_TAKEN = 75


class _Stoppable(Protocol):
    def stop(self) -> object: ...


@app.command()
def run() -> None:
    """The main job on the embedded default: emulated Square and WooCommerce with a demo
    catalogue, a local Prefect server with its UI, the stock-sync deployment served on its
    schedule, and a store simulator selling at the register. Ctrl-C stops everything."""
    from possync.settings import RunSettings

    settings = RunSettings()
    from possync.localprefect import prefect_env, prepare_home, start_server

    # Before anything writes there: Prefect's database holds every secret and its key.
    prepare_home(settings.home)
    _configure_logging()

    os.environ.update(prefect_env(settings.home, settings.prefect_port, settings.host))
    if "POSSYNC_DATABASE_URL" not in os.environ:
        # The emulators start fresh each time, so the demo's state store does too.
        demo_db = settings.home / "demo.db"
        for suffix in ("", "-wal", "-shm"):
            demo_db.with_name(demo_db.name + suffix).unlink(missing_ok=True)
        os.environ["POSSYNC_DATABASE_URL"] = f"sqlite:///{demo_db.resolve()}"

    typer.echo("possync: starting the local Prefect server …")
    server = start_server(settings.home, settings.prefect_port)
    running: list[_Stoppable] = []
    try:
        square, web, catalogue = _start_emulators(settings)
        running += [square, web]
        xero = _start_xero(settings)
        running.append(xero)
        from blocks.register import save_demo_blocks
        from emulators.xero import DEMO_TOKEN, PREFIX
        from emulators.xero_state import DEMO_TENANT_ID

        save_demo_blocks(
            square.url,
            DEMO_SQUARE_TOKEN,
            DEMO_LOCATION,
            web.system,
            web.config(),
            xero=(f"{xero.url}{PREFIX}", DEMO_TOKEN, DEMO_TENANT_ID),
        )
        from emulators.simulator import StoreSimulator

        simulator = StoreSimulator(
            square.url, DEMO_SQUARE_TOKEN, DEMO_LOCATION, every_seconds=settings.simulator_every
        )
        simulator.start()
        running.append(simulator)
        receiver, receiver_url = _start_webhooks(settings, web)
        running.append(receiver)
        from emulators.simulator import WebShopper

        skus = [v.sku for p in catalogue for v in p.variants]
        shopper = WebShopper(web, skus, every_seconds=settings.web_order_every)
        shopper.start()
        running.append(shopper)
        from emulators.catalogue_editors import PosProductEditor, WebProductEditor

        editors = [
            PosProductEditor(
                square.url, DEMO_SQUARE_TOKEN, every_seconds=settings.product_edit_every
            ),
            WebProductEditor(web, skus, every_seconds=settings.product_edit_every),
        ]
        for editor in editors:
            editor.start()
            running.append(editor)
        typer.echo(
            f"\npossync is running.\n"
            f"  Prefect UI:            {server.ui_url}\n"
            f"  Square emulator:       {square.url}\n"
            f"  {web.system} emulator: {web.server.url} (POSSYNC_WEBSHOP: "
            f"{', '.join(names('webshop'))})\n"
            f"  Webhook receiver:      {receiver_url}\n"
            f"  Xero emulator:         {xero.url}/api.xro/2.0 (daily-turnover posts here; "
            f"run it from the UI with any `day`)\n"
            f"  stock-sync every {settings.stock_interval:g} s (POSSYNC_STOCK_INTERVAL); "
            f"orders and refunds on webhooks, and every {settings.orders_interval:g} s\n"
            f"  product-sync every {settings.products_interval:g} s (POSSYNC_PRODUCTS_INTERVAL); "
            f"switch who is master in the Block 'possync-settings' (field setup)\n"
            f"  a POS sale every {settings.simulator_every:g} s, "
            f"a web order every {settings.web_order_every:g} s, "
            f"a price edit on each side every {settings.product_edit_every:g} s\n"
            f"  Logs: {server.log_path.parent}. Press Ctrl-C to stop.\n"
        )
        from blocks import SETTINGS_BLOCK, SyncSettings
        from flows.serve import serve_all

        shop_settings = cast(SyncSettings, SyncSettings.load(SETTINGS_BLOCK))
        serve_all(
            settings.stock_interval,
            settings.orders_interval,
            settings.products_interval,
            timezone=shop_settings.timezone,
        )
    except KeyboardInterrupt:
        typer.echo("possync: stopping …")
    finally:
        for part in reversed(running):
            part.stop()
        server.stop()
        typer.echo("possync: stopped.")


@emulators_app.command("serve")
def emulators_serve(
    skus: Annotated[int, typer.Option(help="catalogue size (sellable SKUs)")] = 500,
    square_port: Annotated[int, typer.Option()] = 8701,
    webshop: Annotated[str, typer.Option(help=" or ".join(names("webshop")))] = "woocommerce",
    webshop_port: Annotated[int, typer.Option()] = 8702,
    seed: Annotated[int, typer.Option()] = 7,
    variable_share: Annotated[float, typer.Option(help="share of products with sizes")] = 0.2,
    empty_webshop: Annotated[
        bool, typer.Option(help="seed the POS only (an initial product import)")
    ] = False,
) -> None:
    """Serve the Square emulator and a webshop's with the demo catalogue until Ctrl-C; prints
    each emulator's address, then the webshop's connection settings as JSON."""
    from possync.settings import RunSettings

    settings = RunSettings(
        demo_skus=skus,
        square_port=square_port,
        webshop=webshop,
        webshop_port=webshop_port,
        seed=seed,
        variable_share=variable_share,
    )
    square, web, _ = _start_emulators(settings, seed_webshop=not empty_webshop)
    config = web.config().model_dump(mode="json")
    secrets = {k: v.get_secret_value() for k, v in web.config() if isinstance(v, SecretStr)}
    typer.echo(f"square {square.url}\n{web.system} {web.server.url}", color=False)
    typer.echo(json.dumps({**config, **secrets}), color=False)
    sys.stdout.flush()
    _until_ctrl_c(square, web)


def _run_once(run: Callable[[], object]) -> None:
    """Run a flow in this process and print what it returns. A run that found another run
    of its flow holding the shop's slot ended Cancelled: say so, exit 75, no traceback."""
    from prefect.exceptions import CancelledRun

    try:
        typer.echo(run())
    except CancelledRun as exc:
        typer.echo(f"not run: {exc}", err=True)
        raise typer.Exit(EXIT_SLOT_TAKEN) from exc


@sync_app.command("stock")
def sync_stock_now(
    full: Annotated[bool, typer.Option(help="re-read all stock (reconciliation)")] = False,
) -> None:
    """Run the stock-sync flow once in this process."""
    from flows.stock import sync_stock

    _run_once(lambda: sync_stock(full=full))


@sync_app.command("products")
def sync_products_now(
    full: Annotated[bool, typer.Option(help="re-read both catalogues")] = False,
) -> None:
    """Run the product-sync flow once in this process."""
    from flows.products import sync_products

    _run_once(lambda: sync_products(full=full))


@products_app.command("import")
def products_import() -> None:
    """The initial import: read both catalogues whole, link what exists by SKU then barcode,
    create the rest on the other side, with a progress bar. Safe to run again after a crash:
    what was committed is skipped, what was written but not recorded is linked, not doubled."""
    _run_once(lambda: products_import_result(show_progress=True))


def products_import_result(show_progress: bool) -> dict[str, int]:
    """Run the product-sync flow over both whole catalogues, showing its progress."""
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TimeRemainingColumn

    from flows.products import sync_products
    from tasks import products as product_tasks

    with Progress(
        "[progress.description]{task.description}",
        BarColumn(),
        MofNCompleteColumn(),
        TimeRemainingColumn(),
        disable=not show_progress,
    ) as bar:
        task = bar.add_task("products", total=None)

        def show(done: int, total: int) -> None:
            bar.update(task, completed=done, total=total)

        product_tasks.PROGRESS_LISTENERS.append(show)
        try:
            return sync_products(full=True)
        finally:
            product_tasks.PROGRESS_LISTENERS.remove(show)


@turnover_app.command("report")
def turnover_report_command(
    start: Annotated[str, typer.Option("--from", help="first day, YYYY-MM-DD")],
    end: Annotated[str, typer.Option("--to", help="last day, YYYY-MM-DD (inclusive)")],
    out: Annotated[Path, typer.Option(help="folder for turnover.csv and turnover.png")] = Path("."),
) -> None:
    """Daily turnover by tender from the POS, as a CSV and a PNG chart (nothing is posted)."""
    from datetime import date

    from flows.reports import turnover as turnover_report
    from tasks import turnover as turnover_tasks
    from tasks.common import connect

    days = turnover_tasks.days_to_post(date.fromisoformat(start), date.fromisoformat(end), "UTC")
    c = connect()
    try:
        journal = turnover_tasks.sales_journal(c.pos)
        figures = [
            turnover_tasks.figures_of(
                turnover_tasks.read_day.fn(journal, d, c.settings, ""), c.settings.web_sales
            )
            for d in days
        ]
    finally:
        c.close()
    out.mkdir(parents=True, exist_ok=True)
    turnover_report.write_csv(figures, out / "turnover.csv")
    turnover_report.write_chart(figures, out / "turnover.png")
    typer.echo(f"{len(days)} days: {out / 'turnover.csv'}, {out / 'turnover.png'}")


@sync_app.command("orders")
def sync_orders_now() -> None:
    """Run the transfer-orders flow once in this process."""
    from flows.orders import transfer_orders

    _run_once(transfer_orders)


@sync_app.command("refunds")
def sync_refunds_now() -> None:
    """Run the process-refunds flow once in this process."""
    from flows.refunds import process_refunds

    _run_once(process_refunds)


@webhooks_app.command("serve")
def webhooks_serve(
    host: Annotated[str, typer.Option()] = "127.0.0.1",
    port: Annotated[int, typer.Option()] = 8703,
) -> None:
    """Serve the webhook receiver (POST /webhooks/<webshop>) for the settings Block's webshop
    until Ctrl-C; the secret is the Block's `webhook_secret`, read on every delivery."""
    from blocks import SETTINGS_BLOCK, SyncSettings
    from flows.receiver import start_receiver

    block = SyncSettings.load(SETTINGS_BLOCK)
    assert isinstance(block, SyncSettings)
    _configure_logging()
    receiver = start_receiver(host, port, block.webshop)
    typer.echo(f"webhook receiver on {receiver.url}")
    _until_ctrl_c(receiver)


def _until_ctrl_c(*parts: _Stoppable) -> None:
    """Keep serving until Ctrl-C (the intended way to stop), then stop every part."""
    try:
        while True:
            time.sleep(3600)
    except KeyboardInterrupt:
        typer.echo("stopping …")
    finally:
        for part in parts:
            part.stop()


def _start_emulators(
    settings: RunSettings, seed_webshop: bool = True
) -> tuple[RunningServer, EmulatedWebshop, list[DemoProduct]]:
    from emulators.demo import demo_catalogue
    from emulators.square import SquareState, create_square_app
    from emulators.webshops import start_webshop
    from possync.serving import serve_in_thread

    catalogue = demo_catalogue(
        settings.demo_skus, seed=settings.seed, variable_share=settings.variable_share
    )
    square_state = SquareState(location_id=DEMO_LOCATION)
    square_state.seed(catalogue)
    square = serve_in_thread(
        create_square_app(square_state, access_token=DEMO_SQUARE_TOKEN),
        settings.host,
        settings.square_port,
    )
    web = start_webshop(
        settings.webshop,
        catalogue if seed_webshop else [],
        host=settings.host,
        port=settings.webshop_port,
    )
    return square, web, catalogue


def _start_xero(settings: RunSettings) -> RunningServer:
    """The accounting side of the demo: an emulated Xero organisation."""
    from emulators.xero import create_xero_app
    from possync.serving import serve_in_thread

    return serve_in_thread(create_xero_app(), settings.host, settings.xero_port)


def _start_webhooks(settings: RunSettings, web: EmulatedWebshop) -> tuple[Receiver, str]:
    """The receiver, and the emulated shop's order webhooks pointing at it; the secret they
    are signed with goes to the settings Block. A webshop without webhooks (Magento) is
    polled by the scheduled order flows only."""
    from blocks import SETTINGS_BLOCK, SyncSettings
    from flows.receiver import start_receiver

    receiver = start_receiver(settings.host, settings.webhook_port, web.system)
    secret = web.subscribe_webhooks(receiver.url)
    block = SyncSettings.load(SETTINGS_BLOCK)
    assert isinstance(block, SyncSettings)
    block.webshop = settings.webshop
    block.webhook_secret = SecretStr(secret) if secret else None
    block.save(SETTINGS_BLOCK, overwrite=True)
    return receiver, receiver.url if secret else "(none: this webshop has no webhooks; polled)"


def _configure_logging() -> None:
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s: %(message)s")
    for noisy in ("httpx", "alembic"):
        logging.getLogger(noisy).setLevel(logging.WARNING)


if __name__ == "__main__":
    app()
