"""What every emulator shares: request counting and fault injection.

`EmulatorControl.install(app)` adds a middleware that counts requests per route template
(`"POST /wp-json/wc/v3/products/batch"`) and, when faults are configured, answers a share
of requests with 429 (with Retry-After), 500, or a stall longer than the client's timeout.
The same numbers are readable over HTTP at `GET /_emulator/stats`; faults are set with
`PUT /_emulator/faults` and counts cleared with `POST /_emulator/reset`.
"""

from __future__ import annotations

import asyncio
import random
import threading
from collections import Counter
from collections.abc import Awaitable, Callable

from fastapi import FastAPI, Request, Response
from fastapi.responses import JSONResponse
from pydantic import BaseModel, Field

ErrorBody = Callable[[int], dict[str, object]]


class FaultConfig(BaseModel):
    """Shares (0..1) of matching requests to fail, and how."""

    rate_429: float = Field(0.0, ge=0, le=1)
    rate_500: float = Field(0.0, ge=0, le=1)
    rate_timeout: float = Field(0.0, ge=0, le=1)
    retry_after_seconds: float = Field(0.05, ge=0)
    stall_seconds: float = Field(30.0, ge=0)
    latency_seconds: float = Field(
        0.0, ge=0, description="added to every answer, as a remote shop's round trip would"
    )
    only_paths: list[str] = Field(default_factory=list, description="route templates; empty = all")
    seed: int | None = None


class EmulatorControl:
    """Counts and faults for one emulator app; safe to read from another thread."""

    def __init__(self, error_body: ErrorBody) -> None:
        self._lock = threading.Lock()
        self.counts: Counter[str] = Counter()
        self.faults = FaultConfig()
        self._rng = random.Random()
        self._error_body = error_body

    def set_faults(self, faults: FaultConfig) -> None:
        with self._lock:
            self.faults = faults
            self._rng = random.Random(faults.seed)

    def reset(self) -> None:
        with self._lock:
            self.counts.clear()
            self.faults = FaultConfig()

    def count(self, prefix: str = "") -> int:
        """Requests so far whose key starts with `prefix` (e.g. "PUT ", "POST /v2/inventory")."""
        with self._lock:
            return sum(n for key, n in self.counts.items() if key.startswith(prefix))

    def _pick_fault(self, key: str) -> str | None:
        with self._lock:
            f = self.faults
            if f.only_paths and not any(key.endswith(" " + p) for p in f.only_paths):
                return None
            roll = self._rng.random()
        if roll < f.rate_429:
            return "429"
        if roll < f.rate_429 + f.rate_500:
            return "500"
        if roll < f.rate_429 + f.rate_500 + f.rate_timeout:
            return "timeout"
        return None

    def install(self, app: FastAPI) -> None:
        @app.middleware("http")
        async def count_and_fault(
            request: Request, call_next: Callable[[Request], Awaitable[Response]]
        ) -> Response:
            if request.url.path.startswith("/_emulator"):
                return await call_next(request)
            key = f"{request.method} {_route_template(app, request)}"
            with self._lock:
                self.counts[key] += 1
            if self.faults.latency_seconds:
                await asyncio.sleep(self.faults.latency_seconds)
            fault = self._pick_fault(key)
            if fault == "429":
                return JSONResponse(
                    self._error_body(429),
                    status_code=429,
                    headers={"Retry-After": f"{self.faults.retry_after_seconds:g}"},
                )
            if fault == "500":
                return JSONResponse(self._error_body(500), status_code=500)
            if fault == "timeout":
                await asyncio.sleep(self.faults.stall_seconds)
            return await call_next(request)

        @app.get("/_emulator/stats", include_in_schema=False)
        def stats() -> dict[str, object]:
            with self._lock:
                return {"counts": dict(self.counts), "total": sum(self.counts.values())}

        @app.post("/_emulator/reset", include_in_schema=False)
        def reset() -> dict[str, bool]:
            self.reset()
            return {"ok": True}

        @app.put("/_emulator/faults", include_in_schema=False)
        def put_faults(faults: FaultConfig) -> FaultConfig:
            self.set_faults(faults)
            return self.faults


def _route_template(app: FastAPI, request: Request) -> str:
    """The matched route's path template, so counts group `/products/17` as `/products/{id}`."""
    from starlette.routing import Match

    for route in app.router.routes:
        match, _ = route.matches(request.scope)
        if match == Match.FULL:
            return str(getattr(route, "path", request.url.path))
    return request.url.path
