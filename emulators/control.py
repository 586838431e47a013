"""What every emulator shares: request counting and fault injection.

`EmulatorControl.install(app)` adds a middleware that counts requests per route template
(`"POST /wp-json/wc/v3/products/batch"`) and, when faults are configured, answers a share
of requests with 429 (with Retry-After), 500, or a stall longer than the client's timeout,
or lets the handler run and then drops the connection without an answer (the write is
committed but the client sees a transport error, as when a proxy or the network fails
after the shop saved the order). The same numbers, and how many faults of each kind were
injected, are readable over HTTP at `GET /_emulator/stats`; faults are set with
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

# Fault kinds, as counted in `EmulatorControl.injected` and shown by /_emulator/stats.
FAULT_429 = "429"
FAULT_500 = "500"
FAULT_TIMEOUT = "timeout"
FAULT_DROP_AFTER_COMMIT = "drop_after_commit"


class FaultConfig(BaseModel):
    """Shares (0..1) of matching requests to fail, and how."""

    rate_429: float = Field(0.0, ge=0, le=1)
    rate_500: float = Field(0.0, ge=0, le=1)
    rate_timeout: float = Field(0.0, ge=0, le=1)
    rate_drop_after_commit: float = Field(
        0.0,
        ge=0,
        le=1,
        description="the handler runs (its write is kept) but the connection is dropped "
        "without an answer, so a retrying client may write twice",
    )
    retry_after_seconds: float = Field(0.05, ge=0)
    stall_seconds: float = Field(30.0, ge=0)
    latency_seconds: float = Field(
        0.0,
        ge=0,
        description="added to every answer on the routes the faults apply to, "
        "as a remote shop's round trip would",
    )
    only_paths: list[str] = Field(
        default_factory=list,
        description="route templates, or 'METHOD template' for one method; empty = all",
    )
    seed: int | None = None


class EmulatorControl:
    """Counts and faults for one emulator app; safe to read from another thread."""

    def __init__(self, error_body: ErrorBody) -> None:
        self._lock = threading.Lock()
        self.counts: Counter[str] = Counter()
        self.injected: Counter[str] = Counter()
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
            self.injected.clear()
            self.faults = FaultConfig()

    def count(self, prefix: str = "") -> int:
        """Requests so far whose key starts with `prefix` (e.g. "PUT ", "POST /v2/inventory")."""
        with self._lock:
            return sum(n for key, n in self.counts.items() if key.startswith(prefix))

    def stats(self) -> dict[str, object]:
        """Request counts per route and injected faults per kind, as /_emulator/stats shows."""
        with self._lock:
            return {
                "counts": dict(self.counts),
                "total": sum(self.counts.values()),
                "injected": dict(self.injected),
            }

    def _faults_apply(self, key: str) -> bool:
        """Whether latency and faults reach this route ("METHOD template")."""
        paths = self.faults.only_paths
        return not paths or any(key == p or key.endswith(" " + p) for p in paths)

    def _pick_fault(self, key: str) -> str | None:
        with self._lock:
            f = self.faults
            if not self._faults_apply(key):
                return None
            roll = self._rng.random()
            fault = _fault_for(roll, f)
            if fault is not None:
                self.injected[fault] += 1
            return fault

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
            if self.faults.latency_seconds and self._faults_apply(key):
                await asyncio.sleep(self.faults.latency_seconds)
            fault = self._pick_fault(key)
            if fault == FAULT_429:
                return JSONResponse(
                    self._error_body(429),
                    status_code=429,
                    headers={"Retry-After": f"{self.faults.retry_after_seconds:g}"},
                )
            if fault == FAULT_500:
                return JSONResponse(self._error_body(500), status_code=500)
            if fault == FAULT_TIMEOUT:
                await asyncio.sleep(self.faults.stall_seconds)
            if fault == FAULT_DROP_AFTER_COMMIT:
                return await _run_then_drop(request, call_next)
            return await call_next(request)

        @app.get("/_emulator/stats", include_in_schema=False)
        def stats() -> dict[str, object]:
            return self.stats()

        @app.post("/_emulator/reset", include_in_schema=False)
        def reset() -> dict[str, bool]:
            self.reset()
            return {"ok": True}

        @app.put("/_emulator/faults", include_in_schema=False)
        def put_faults(faults: FaultConfig) -> FaultConfig:
            self.set_faults(faults)
            return self.faults


def _fault_for(roll: float, f: FaultConfig) -> str | None:
    """Which fault a roll in [0, 1) lands on; the shares are stacked in a fixed order."""
    edge = 0.0
    for kind, rate in (
        (FAULT_429, f.rate_429),
        (FAULT_500, f.rate_500),
        (FAULT_TIMEOUT, f.rate_timeout),
        (FAULT_DROP_AFTER_COMMIT, f.rate_drop_after_commit),
    ):
        edge += rate
        if roll < edge:
            return kind
    return None


async def _run_then_drop(
    request: Request, call_next: Callable[[Request], Awaitable[Response]]
) -> Response:
    """Run the handler to the end (so its write is committed), then close the connection
    without sending a byte of the answer."""
    response = await call_next(request)
    body_iterator = getattr(response, "body_iterator", None)
    if body_iterator is not None:
        async for _chunk in body_iterator:  # drain: a streamed handler finishes its work
            pass
    transport = _current_transport()
    if transport is None:
        # Not served by uvicorn (e.g. an in-process test client): fail the call instead.
        raise ConnectionAbortedError("emulator fault: connection dropped after commit")
    transport.abort()
    # Let the server see the connection is gone, so the reply below is discarded unsent.
    for _ in range(3):
        await asyncio.sleep(0)
    return Response(status_code=500)


def _current_transport() -> asyncio.Transport | None:
    """The socket transport of the request being served, or None if it cannot be found.

    ASGI has no message for "abort this connection", so the fault finds it where uvicorn
    keeps it: the request runs in a task whose coroutine is the request cycle's
    `run_asgi`, and that cycle holds the transport. Emulator-only; tests cover it.
    """
    task = asyncio.current_task()
    frame = getattr(task.get_coro(), "cr_frame", None) if task is not None else None
    owner = frame.f_locals.get("self") if frame is not None else None
    transport = getattr(owner, "transport", None)
    return transport if isinstance(transport, asyncio.Transport) else None


def _route_template(app: FastAPI, request: Request) -> str:
    """The matched route's path template, so counts group `/products/17` as `/products/{id}`.
    FastAPI 0.150 keeps an included router as one entry whose routes it resolves lazily;
    its candidates carry the templates."""
    from starlette.routing import Match

    for route in app.router.routes:
        match, _ = route.matches(request.scope)
        if match != Match.FULL:
            continue
        candidates = getattr(route, "effective_candidates", None)
        for candidate in candidates() if callable(candidates) else []:
            regex = getattr(candidate, "path_regex", None)
            methods = getattr(candidate, "methods", None) or set()
            if regex is not None and regex.match(request.url.path) and request.method in methods:
                return str(candidate.path_format)
        return str(getattr(route, "path", request.url.path))
    return request.url.path
