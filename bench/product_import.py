"""Benchmark: the initial product import of a large catalogue, register → empty webshop,
against the emulators over real sockets, then a second run (which should write nothing).

    .venv/bin/python bench/product_import.py [--skus 75000] [--variable-share 0.2]
                                              [--latency-ms 0]

75,000 SKUs make about 50,000 products (a fifth of them with 2 to 5 sizes). Each run is a
fresh child process (`possync products import`, then the product-sync flow), so its peak
RSS is its own; the emulators run in another process, a local Prefect server in a third.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parent))

from harness import running_shop


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--skus", type=int, default=75_000)
    parser.add_argument("--variable-share", type=float, default=0.2)
    parser.add_argument("--latency-ms", type=float, default=0.0, help="added per webshop call")
    parser.add_argument("--phase", choices=["import", "again"], help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.phase:
        print(json.dumps(run_phase(args.phase)))
        return
    with running_shop(args.skus, args.variable_share, empty_webshop=True) as bench:
        if args.latency_ms:
            faults = {"latency_seconds": args.latency_ms / 1000}
            httpx.put(f"{bench.woo}/_emulator/faults", json=faults).raise_for_status()
        catalogue = 0
        for phase in ("import", "again"):
            for url in (bench.square, bench.woo):
                httpx.post(f"{url}/_emulator/reset").raise_for_status()
            if args.latency_ms:
                httpx.put(f"{bench.woo}/_emulator/faults", json=faults).raise_for_status()
            result = child(phase)
            catalogue = catalogue or result["summary"]["read"]
            report(phase, result, calls(bench.square), calls(bench.woo), catalogue)


def calls(url: str) -> dict[str, int]:
    counts: dict[str, int] = httpx.get(f"{url}/_emulator/stats").json()["counts"]
    return counts


def report(
    phase: str,
    result: dict[str, Any],
    square: dict[str, int],
    woo: dict[str, int],
    catalogue: int,
) -> None:
    summary = result["summary"]
    products = max(catalogue, 1)
    square_calls, woo_calls = sum(square.values()), sum(woo.values())
    woo_writes = sum(n for k, n in woo.items() if k.split(" ")[0] in {"POST", "PUT", "DELETE"})
    print(
        f"{phase}: {result['wall_s']:.1f} s wall, {summary['read']:,} products read, "
        f"{summary['created']:,} created, {summary['updated']:,} updated, "
        f"{summary['quarantined']} quarantined, {summary['own_writes_seen_back']:,} own writes "
        f"seen back, peak RSS {result['rss_mb']:.0f} MB\n"
        f"  calls: {square_calls:,} to Square, {woo_calls:,} to WooCommerce "
        f"({woo_writes:,} writes); {(square_calls + woo_calls) / products:.3f} calls per "
        f"product of the catalogue\n"
        f"  busiest routes: "
        + ", ".join(f"{k} x{n}" for k, n in sorted(woo.items(), key=lambda x: -x[1])[:3]),
        flush=True,
    )


def child(phase: str) -> dict[str, Any]:
    cmd = [sys.executable, __file__, "--phase", phase]
    out = subprocess.run(cmd, capture_output=True, text=True, env=os.environ)
    if out.returncode != 0:
        raise SystemExit(f"phase {phase} failed ({out.returncode}):\n{out.stderr[-4000:]}")
    return dict(json.loads(out.stdout.strip().splitlines()[-1]))


def run_phase(phase: str) -> dict[str, Any]:
    start = time.perf_counter()
    if phase == "import":
        from possync.cli import products_import_result

        summary = products_import_result(show_progress=False)
    else:
        from flows.products import sync_products

        summary = sync_products()
    wall = time.perf_counter() - start
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    return {"wall_s": wall, "rss_mb": rss, "summary": summary}


if __name__ == "__main__":
    main()
