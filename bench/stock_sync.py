"""Benchmark: one stock-sync run for a 100,000-SKU shop with 1 % of stock changed in the POS,
against the emulators over real sockets, and a naive one-call-per-SKU push of a change set
of the same size, measured in the same run.

    .venv/bin/python bench/stock_sync.py [--skus 100000] [--share 0.01] [--latency-ms 0]
                                         [--variable-share 0.2]
                                         [--webshop woocommerce|shopify|magento]

Each measured phase runs in a fresh child process, so its peak RSS is its own; the
emulators run in another process and a local Prefect server in a third.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import random
import resource
import subprocess
import sys
import time
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parent))

from harness import LOCATION, TOKEN, running_shop

from emulators.shopify_state import PLAN_RESTORE_RATES
from possync.domain.models import StockUpdate
from possync.vendors.ports import Webshop

# Items one stock write call takes: WooCommerce's batch limit, Shopify's input limit of
# inventorySetQuantities; Magento takes up to 500 in one synchronous source-items call and
# more in one async bulk request (5,000 operations at most where Adobe's limit is on).
WRITE_BATCH = {"woocommerce": 100, "shopify": 250, "magento": 5000}
TARGETS = {"wall_s": 10.0, "rss_mb": 300.0, "fewer_calls": 50.0, "faster": 20.0}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--skus", type=int, default=100_000)
    parser.add_argument("--share", type=float, default=0.01, help="share of SKUs changed")
    parser.add_argument("--latency-ms", type=float, default=0.0, help="added per webshop call")
    parser.add_argument("--variable-share", type=float, default=0.2)
    parser.add_argument(
        "--webshop", choices=["woocommerce", "shopify", "magento"], default="woocommerce"
    )
    parser.add_argument(
        "--shopify-plan",
        choices=sorted(PLAN_RESTORE_RATES),
        default="standard",
        help="the Shopify plan whose rate limit the measured runs meet (the first, linking "
        "run is given an open bucket so the benchmark finishes)",
    )
    parser.add_argument("--phase", choices=["link", "sync", "naive"], help=argparse.SUPPRESS)
    parser.add_argument("--since", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.phase:
        print(json.dumps(run_phase(args.phase, args.since)))
        return
    orchestrate(args)


# -- the parent: emulators, Prefect server, change sets, figures -------------------------


def orchestrate(args: argparse.Namespace) -> None:
    with running_shop(args.skus, args.variable_share, webshop=args.webshop) as bench:
        square, woo = bench.square, bench.woo
        shopify = args.webshop == "shopify"
        if shopify:
            set_shopify_bucket(woo, 1e12, 1e12)  # setup only: the link run is not measured
        link = child("link")
        print(
            f"  first run (links {args.skus:,} SKUs, full read): {link['wall_s']:.1f} s, "
            f"summary {link['summary']}",
            flush=True,
        )

        variations = list_variations(square)
        rng = random.Random(42)
        n_changed = max(1, round(args.skus * args.share))
        chosen = rng.sample(variations, n_changed)

        def measured(phase: str, since: str | None = None) -> tuple[dict[str, Any], Meter]:
            change_pos(square, chosen, rng)
            reset_counts(woo)  # also clears faults: the latency is set again after it
            set_latency(woo, args.latency_ms)
            if shopify:
                rate = PLAN_RESTORE_RATES[args.shopify_plan]
                set_shopify_bucket(woo, 20 * rate, rate)  # full, as after a quiet while
            before = meter(woo, args.webshop)
            result = child(phase, since)
            return result, meter(woo, args.webshop) - before

        ours, ours_meter = measured("sync")
        ours_ok = check_equal(square, chosen)
        since = datetime.now(UTC).isoformat()
        time.sleep(0.01)
        naive, naive_meter = measured("naive", since)
        naive_ok = check_equal(square, chosen)
        report(args, n_changed, ours, ours_meter.writes, ours_meter.reads, ours_ok,
               naive, naive_meter.writes, naive_meter.reads, naive_ok)  # fmt: skip
        if shopify:
            report_rate_limit(args, ours, ours_meter, naive, naive_meter)


@dataclass(frozen=True)
class Meter:
    """What the webshop counted: write and read calls; for Shopify also the points our
    app's bucket was charged, THROTTLED answers, and the plan's figures."""

    writes: int
    reads: int
    points: float = 0.0
    throttled: float = 0.0
    maximum: float = 0.0
    restore_rate: float = 0.0

    def __sub__(self, before: Meter) -> Meter:
        return Meter(
            self.writes - before.writes,
            self.reads - before.reads,
            self.points - before.points,
            self.throttled - before.throttled,
            self.maximum,
            self.restore_rate,
        )


def meter(url: str, webshop: str) -> Meter:
    if webshop == "shopify":  # every call is a POST: the emulator tells queries from mutations
        got = httpx.get(f"{url}/_emulator/shopify").raise_for_status().json()
        return Meter(
            int(got["mutations"]),
            int(got["queries"]),
            got["points_spent"],
            got["throttled"],
            got["maximum"],
            got["restore_rate"],
        )
    writes, reads = woo_calls(url)
    return Meter(writes, reads)


def set_shopify_bucket(url: str, maximum: float, restore_rate: float) -> None:
    body = {"maximum": maximum, "restore_rate": restore_rate}
    httpx.put(f"{url}/_emulator/shopify/bucket", json=body).raise_for_status()


def report_rate_limit(
    args: argparse.Namespace,
    ours: dict[str, Any],
    ours_meter: Meter,
    naive: dict[str, Any],
    naive_meter: Meter,
) -> None:
    """How much of the rate limit's ceiling each run used: the points charged against what
    the limit lets through in the run's wall time (a full bucket plus its restore)."""
    plan = f"{ours_meter.maximum:.0f} points, restoring {ours_meter.restore_rate:.0f}/s"
    lines = [f"  Shopify rate limit ({args.shopify_plan} plan, bucket {plan}):"]
    for name, result, m in (("possync", ours, ours_meter), ("naive", naive, naive_meter)):
        ceiling = m.maximum + m.restore_rate * result["wall_s"]
        share = m.points / ceiling
        lines.append(
            f"    {name:8}: {m.points:,.0f} points in {result['wall_s']:.1f} s = "
            f"{share:.0%} of the ceiling ({ceiling:,.0f}); THROTTLED answers {m.throttled:.0f}"
        )
    ceiling = ours_meter.maximum + ours_meter.restore_rate * ours["wall_s"]
    summary = ours["summary"]
    lines.append(_target(">= 90 % of the rate limit's ceiling", ours_meter.points >= 0.9 * ceiling))
    failed = summary["quarantined"]
    lines.append(_target(f"zero failed writes (quarantined {failed})", failed == 0))
    print("\n".join(lines))


def child(phase: str, since: str | None = None) -> dict[str, Any]:
    cmd = [sys.executable, __file__, "--phase", phase] + (["--since", since] if since else [])
    out = subprocess.run(cmd, capture_output=True, text=True, env=os.environ)
    if out.returncode != 0:
        raise SystemExit(f"phase {phase} failed ({out.returncode}):\n{out.stderr[-4000:]}")
    return dict(json.loads(out.stdout.strip().splitlines()[-1]))


def list_variations(square: str) -> list[str]:
    ids: list[str] = []
    cursor = None
    with httpx.Client(base_url=square, headers=_sq_headers(), timeout=60) as http:
        while True:
            params = {"types": "ITEM", **({"cursor": cursor} if cursor else {})}
            body = http.get("/v2/catalog/list", params=params).raise_for_status().json()
            for item in body.get("objects") or []:
                ids += [v["id"] for v in item["item_data"].get("variations") or []]
            cursor = body.get("cursor")
            if not cursor:
                return ids


def change_pos(square: str, variation_ids: list[str], rng: random.Random) -> None:
    """Change each chosen variation's count in the POS (a stock take or goods received),
    100 changes a call."""
    now = datetime.now(UTC).isoformat(timespec="milliseconds")
    with httpx.Client(base_url=square, headers=_sq_headers(), timeout=60) as http:
        for start in range(0, len(variation_ids), 100):
            changes = [_pos_change(vid, rng, now) for vid in variation_ids[start : start + 100]]
            http.post(
                "/v2/inventory/changes/batch-create",
                json={"idempotency_key": str(uuid.uuid4()), "changes": changes},
            ).raise_for_status()


def _pos_change(variation_id: str, rng: random.Random, now: str) -> dict[str, Any]:
    where = {"catalog_object_id": variation_id, "location_id": LOCATION, "occurred_at": now}
    if rng.random() < 0.3:
        adjustment = {**where, "from_state": "NONE", "to_state": "IN_STOCK", "quantity": "5"}
        return {"type": "ADJUSTMENT", "adjustment": adjustment}
    count = {**where, "state": "IN_STOCK", "quantity": str(rng.randint(0, 40))}
    return {"type": "PHYSICAL_COUNT", "physical_count": count}


def check_equal(square: str, variation_ids: list[str]) -> bool:
    """Every changed variation's webshop stock equals the POS count (read over HTTP)."""
    with httpx.Client(base_url=square, headers=_sq_headers(), timeout=60) as sq:
        counts: dict[str, int] = {}
        for start in range(0, len(variation_ids), 1000):
            body: dict[str, Any] = {
                "catalog_object_ids": variation_ids[start : start + 1000],
                "location_ids": [LOCATION],
                "states": ["IN_STOCK"],
                "limit": 1000,
            }
            while True:
                page = sq.post("/v2/inventory/counts/batch-retrieve", json=body).json()
                counts |= {
                    c["catalog_object_id"]: int(float(c["quantity"])) for c in page["counts"]
                }
                if not page.get("cursor"):
                    break
                body["cursor"] = page["cursor"]
        skus: dict[str, str] = {}
        for start in range(0, len(variation_ids), 1000):
            body = sq.post(
                "/v2/catalog/batch-retrieve",
                json={"object_ids": variation_ids[start : start + 1000]},
            ).json()
            skus |= {o["id"]: o["item_variation_data"]["sku"] for o in body["objects"]}
    want = {skus[v]: counts[v] for v in variation_ids}
    shop = webshop_connector()
    try:
        got = {x.sku: x.stock for x in shop.listings_by_sku(sorted(want))}
    finally:
        shop.close()
    return got == want


def webshop_connector() -> Webshop:
    """Our connector to the benchmark's webshop, from the Blocks (reads to check results)."""
    import blocks
    from possync.vendors.registry import build_webshop

    settings = blocks.SyncSettings.load(blocks.SETTINGS_BLOCK)
    assert isinstance(settings, blocks.SyncSettings)
    credentials = blocks.CREDENTIALS[settings.webshop].load(settings.webshop_block_name)
    return build_webshop(settings.webshop, credentials.config())  # type: ignore[union-attr]


def reset_counts(woo: str) -> None:
    httpx.post(f"{woo}/_emulator/reset").raise_for_status()


def set_latency(woo: str, latency_ms: float) -> None:
    body = {"latency_seconds": latency_ms / 1000}
    httpx.put(f"{woo}/_emulator/faults", json=body).raise_for_status()


def woo_calls(woo: str) -> tuple[int, int]:
    counts = httpx.get(f"{woo}/_emulator/stats").json()["counts"]
    writes = sum(n for k, n in counts.items() if not k.startswith("GET "))
    return writes, sum(counts.values()) - writes


def _sq_headers() -> dict[str, str]:
    return {"Authorization": f"Bearer {TOKEN}", "Square-Version": "2025-08-20"}


# -- the children: one measured phase each ---------------------------------------------


def run_phase(phase: str, since: str | None) -> dict[str, Any]:
    if phase == "naive":
        start = time.perf_counter()
        calls = naive_push(datetime.fromisoformat(since or "1970-01-01T00:00:00+00:00"))
        return {"wall_s": time.perf_counter() - start, "rss_mb": _peak_rss_mb(), "calls": calls}
    from flows.stock import sync_stock

    start = time.perf_counter()
    state = sync_stock(full=phase == "link", return_state=True)
    wall = time.perf_counter() - start
    return {
        "wall_s": wall,
        "rss_mb": _peak_rss_mb(),
        "summary": state.result(),
        "tasks": task_seconds(str(state.state_details.flow_run_id)),
    }


def task_seconds(flow_run_id: str) -> dict[str, float]:
    """Where a flow run's time went: seconds per task name (summed over its runs)."""
    api = os.environ["PREFECT_API_URL"]
    body = {"flow_runs": {"id": {"any_": [flow_run_id]}}}
    runs = httpx.post(f"{api}/task_runs/filter", json=body, timeout=30).json()
    spent: dict[str, float] = {}
    for run in runs:
        name = run["name"].rsplit("-", 1)[0]
        spent[name] = round(spent.get(name, 0.0) + float(run.get("total_run_time") or 0), 2)
    return spent


def naive_push(since: datetime) -> int:
    """What a naive integration does: for each changed count, find the webshop's product by
    SKU and set its stock, one call each (it reads POS changes the same way we do)."""
    import blocks
    from possync.vendors.square.pos import SquarePos

    creds = blocks.SquareCredentials.load("possync-square")
    pos = SquarePos(creds.config())  # type: ignore[union-attr]
    counts = [c for page in pos.stock_changes(since) for c in page]
    variants = pos.variants([c.pos_id for c in counts])
    calls = 0
    shop = webshop_connector()
    try:
        for count in counts:
            sku = variants[count.pos_id].sku
            found = shop.listings_by_sku([sku] if sku else [])
            calls += 1
            if not found:
                continue
            qty = int(float(count.quantity_raw))
            update = StockUpdate(
                ref=found[0].ref, quantity=qty, product_key=sku or "", pos_id=count.pos_id, sku=sku
            )
            [outcome] = shop.set_stock([update])
            if not outcome.ok:
                raise SystemExit(f"naive write of {sku} refused: {outcome.error}")
            calls += 1
    finally:
        shop.close()
    return calls


def _peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def report(
    args: argparse.Namespace, changed: int, ours: dict[str, Any], ours_writes: int,
    ours_reads: int, ours_ok: bool, naive: dict[str, Any], naive_writes: int,
    naive_reads: int, naive_ok: bool,
) -> None:  # fmt: skip
    summary = ours["summary"]
    per_call = WRITE_BATCH[args.webshop]
    ideal = math.ceil(changed / per_call)
    fewer = naive_writes / max(1, ours_writes)
    faster = naive["wall_s"] / ours["wall_s"]
    lines = [
        "",
        f"stock-sync benchmark ({args.webshop}): {args.skus:,} SKUs "
        f"({args.variable_share:.0%} of products with sizes), {changed:,} changed in the POS, "
        f"webshop latency {args.latency_ms:g} ms",
        f"  possync  : {ours['wall_s']:.2f} s wall, {ours_writes} write calls, {ours_reads} "
        f"read calls, peak RSS {ours['rss_mb']:.0f} MB, changed {summary['changed']}, "
        f"unchanged {summary['unchanged']}, quarantined {summary['quarantined']}, "
        f"webshop equals POS: {ours_ok}",
        f"  possync task seconds (summed over runs): {ours['tasks']}",
        f"  naive    : {naive['wall_s']:.2f} s wall, {naive_writes} write calls, {naive_reads} "
        f"read calls, peak RSS {naive['rss_mb']:.0f} MB, webshop equals POS: {naive_ok}",
        f"  ratios   : {fewer:.1f}x fewer write calls, {faster:.1f}x faster",
        "  targets  :",
        _target("wall <= 10 s" + (" (Shopify: its rate limit sets the pace, see below)"
                                   if args.webshop == "shopify" else ""),
                ours["wall_s"] <= TARGETS["wall_s"]),
        _target(f"write calls = ceil(changed/{per_call}) = {ideal} (got {ours_writes})",
                ours_writes == ideal),
        _target("peak RSS <= 300 MB", ours["rss_mb"] <= TARGETS["rss_mb"]),
        _target(">= 50x fewer calls than naive", fewer >= TARGETS["fewer_calls"]),
        _target(">= 20x faster than naive", faster >= TARGETS["faster"]),
    ]  # fmt: skip
    if ours_writes != ideal and args.webshop == "woocommerce":
        lines.append(
            "  note: WooCommerce's products/batch refuses variation ids; each parent's "
            "variations need their own variations/batch call, so a change set spread over "
            "many variable products costs one call per parent."
        )
    print("\n".join(lines))


def _target(text: str, met: bool) -> str:
    return f"    [{'met' if met else 'NOT MET'}] {text}"


if __name__ == "__main__":
    main()
