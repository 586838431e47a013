"""What the benchmarks share: the emulators in their own process, a local Prefect server,
a throw-away state store, and the Blocks pointing at the emulators."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from emulators.woocommerce_shop import CK as CK  # noqa: E402
from emulators.woocommerce_shop import CS as CS  # noqa: E402

TOKEN, LOCATION = "sq-demo-token", "L-DEMO"


@dataclass(frozen=True)
class Bench:
    square: str
    woo: str  # the webshop emulator's address (any webshop; the name is historical)
    work: Path
    webshop: str = "woocommerce"
    config: dict[str, Any] | None = None  # the webshop connector's config, secrets included


@contextmanager
def running_shop(
    skus: int,
    variable_share: float = 0.2,
    empty_webshop: bool = False,
    webshop: str = "woocommerce",
) -> Iterator[Bench]:
    """Emulators seeded with `skus` SKUs, a Prefect server, Blocks saved; os.environ is set
    up so that this process and its children use them."""
    from possync.localprefect import prefect_env, start_server
    from possync.serving import free_port

    work = Path(tempfile.mkdtemp(prefix="possync-bench-"))
    sq_port, woo_port, prefect_port = free_port(), free_port(), free_port()
    os.environ.update(
        {
            **prefect_env(work, prefect_port),
            "POSSYNC_DATABASE_URL": f"sqlite:///{work / 'bench.db'}",
            "POSSYNC_HOME": str(work),
            "PREFECT_LOGGING_LEVEL": "WARNING",
        }
    )
    print(f"seeding {skus:,} SKUs in the emulators …", flush=True)
    t0 = time.perf_counter()
    command = [
        sys.executable, "-m", "possync.cli", "emulators", "serve", "--skus", str(skus),
        "--square-port", str(sq_port), "--webshop", webshop, "--webshop-port", str(woo_port),
        "--variable-share", str(variable_share),
    ] + (["--empty-webshop"] if empty_webshop else [])  # fmt: skip
    emulators = subprocess.Popen(command, stdout=subprocess.PIPE, text=True)
    server = None
    try:
        assert emulators.stdout is not None
        lines = []
        for _ in range(3):  # "square URL", "<webshop> URL", its config as JSON, once up
            line = emulators.stdout.readline()
            if not line:
                raise SystemExit("the emulators exited during start-up")
            lines.append(line)
        config = json.loads(lines[2])
        print(f"  emulators up in {time.perf_counter() - t0:.1f} s", flush=True)
        server = start_server(work, prefect_port)
        bench = Bench(
            f"http://127.0.0.1:{sq_port}", f"http://127.0.0.1:{woo_port}", work, webshop, config
        )
        from blocks.register import save_demo_blocks
        from possync.vendors.registry import vendor

        web_config = vendor(webshop, "webshop").config.model_validate(config)
        save_demo_blocks(bench.square, TOKEN, LOCATION, webshop, web_config)
        from blocks import SETTINGS_BLOCK, SyncSettings

        SyncSettings(webshop=webshop).save(SETTINGS_BLOCK, overwrite=True)
        yield bench
    finally:
        emulators.terminate()
        emulators.wait(10)
        if server is not None:
            server.stop()


def percentile(values: list[float], share: float) -> float:
    """Nearest-rank percentile (share in 0..1)."""
    ordered = sorted(values)
    return ordered[max(0, min(len(ordered) - 1, round(share * len(ordered) + 0.5) - 1))]
