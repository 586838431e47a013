"""The webhook receiver: an ASGI app with one POST route per webshop.

Each request is handled in the same order, whatever the source: refuse a body over the
limit (413); answer a ping; refuse anything not signed with our secret (401); parse the
body and read it (400 if it cannot be read); skip topics we do not act on; drop a
delivery already seen; hand the notice to a background thread and answer 200 at once.
Nothing is recorded or triggered before a delivery is signed and readable.

Three rules hold for every source, here and nowhere else: a delivery is deduplicated on
what its signature covers, the body's bytes (`body:<sha256>`, plus the source's own keys
from fields of that body, such as the order's version), never on a header; a body that
cannot be read is
a 4xx (`json_object` turns whatever the parser fails with into BadPayload, and so do the
sources' field readers); anything else that goes wrong is our own fault, answered 500
and logged with its type and traceback but never its message, which may quote the body
(customer data) or a secret.
"""

from __future__ import annotations

import hashlib
import logging
import threading
import traceback
from collections.abc import AsyncIterator, Callable, Sequence
from contextlib import asynccontextmanager

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse
from starlette.concurrency import run_in_threadpool
from starlette.requests import ClientDisconnect

from possync.webhooks.notices import DeliveryLog, NoticeWorker, OrderNotice
from possync.webhooks.sources import (
    BadPayload,
    Headers,
    Reading,
    WebhookSource,
    json_object,
)

__all__ = ["MAX_BODY_BYTES", "create_webhook_app"]

logger = logging.getLogger("possync.webhooks")

# Above anything the vendors send, with margin: an order's webhook body is a few KB plus
# ~1-2 KB per line item (a WooCommerce order of 500 lines is about 1 MB); Shopify's
# largest webhook bodies are around 1 MB (its EventBridge deliveries stop at 1,000,000
# bytes and send a stub above that). A bigger body is refused with 413 before it is read
# whole; the order still arrives with the order flows' schedule.
MAX_BODY_BYTES = 5 * 1024 * 1024


def create_webhook_app(
    *,
    sources: Sequence[WebhookSource],
    deliveries: DeliveryLog,
    on_notice: Callable[[OrderNotice], None],
    max_body_bytes: int = MAX_BODY_BYTES,
) -> FastAPI:
    """The receiver; `app.state.notice_worker` is the thread that calls `on_notice`.

    Each source gets the route /webhooks/{source.name}; sources read their secret per
    request, so a rotated secret applies at once.
    The worker stops with the app's lifespan; call `notice_worker.close()` yourself when
    the server runs without one.
    """
    worker = NoticeWorker(on_notice)

    @asynccontextmanager
    async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
        yield
        await run_in_threadpool(worker.close, 10.0)

    app = FastAPI(
        title="possync webhooks", docs_url=None, redoc_url=None, openapi_url=None, lifespan=lifespan
    )
    app.state.notice_worker = worker
    dedupe = _Dedupe(deliveries)
    for source in sources:
        _add_route(app, source, dedupe, worker, max_body_bytes)
    return app


def _add_route(
    app: FastAPI,
    source: WebhookSource,
    dedupe: _Dedupe,
    worker: NoticeWorker,
    max_body_bytes: int,
) -> None:
    @app.post(f"/webhooks/{source.name}")
    async def receive(request: Request) -> JSONResponse:
        try:
            return await _handle(request, source, dedupe, worker, max_body_bytes)
        except Exception as exc:  # noqa: BLE001 - logged below, without its message
            _log_own_fault(source.name, exc)
            return _error(500, "internal error; the delivery was not acted on")


async def _handle(
    request: Request,
    source: WebhookSource,
    dedupe: _Dedupe,
    worker: NoticeWorker,
    max_body_bytes: int,
) -> JSONResponse:
    try:
        body = await _read_body(request, max_body_bytes)
    except ClientDisconnect:
        logger.info("%s webhook sender hung up before its body arrived", source.name)
        return _error(400, "the body did not arrive")
    if body is None:
        return _error(413, f"body larger than {max_body_bytes} bytes")
    headers = request.headers
    if source.is_ping(headers, body):
        logger.info("%s webhook ping answered", source.name)
        return JSONResponse({"ok": True, "ping": True})
    refused = source.check_signature(headers, body)
    if refused is not None:
        logger.warning("%s webhook refused: %s", source.name, refused)
        return _error(401, refused)
    try:
        reading = _reading(source, headers, body)
    except BadPayload as exc:
        logger.warning("%s webhook with a bad body refused: %s", source.name, exc)
        return _error(400, str(exc))
    if reading.notice is None:
        logger.info("%s webhook topic %r ignored", source.name, reading.topic[:64])
        return JSONResponse({"ok": True, "ignored": reading.topic[:64]})
    notice = reading.notice
    keys = (body_key(body), *reading.delivery_keys)
    if not await run_in_threadpool(dedupe.first_sight, source.name, keys):
        logger.info(
            "%s webhook %s for order %s already seen (delivery %s)",
            source.name, notice.topic, notice.order_id, notice.delivery_id,
        )  # fmt: skip
        return JSONResponse({"ok": True, "duplicate": True})
    worker.submit(notice)
    logger.info("%s webhook %s for order %s accepted", source.name, notice.topic, notice.order_id)
    return JSONResponse({"ok": True})


def body_key(body: bytes) -> str:
    """The delivery key every delivery has: a hash of the exact bytes that were signed."""
    return f"body:{hashlib.sha256(body).hexdigest()}"


def _reading(source: WebhookSource, headers: Headers, body: bytes) -> Reading:
    """The one place a signed body is parsed and read; BadPayload when it cannot be."""
    return source.read(headers, json_object(body))


def _log_own_fault(source: str, exc: Exception) -> None:
    """Log an unexpected error with its type and where it happened, not its message: the
    message may quote the body (customer data) or a secret."""
    where = "".join(traceback.format_tb(exc.__traceback__))
    logger.error(
        "%s webhook: internal error %s (message withheld); the delivery was not acted on "
        "and the sender will retry or the schedule picks the order up\n%s",
        source, type(exc).__name__, where,
    )  # fmt: skip


class _Dedupe:
    """Checks every delivery key of a delivery, recording each on first sight.

    A delivery counts only when all its keys are new. The lock makes the check of the
    keys one step: two copies of one delivery racing through two threads could
    otherwise each find one key already taken, and neither would be acted on.
    """

    def __init__(self, deliveries: DeliveryLog) -> None:
        self._deliveries = deliveries
        self._lock = threading.Lock()

    def first_sight(self, source: str, keys: Sequence[str]) -> bool:
        try:
            with self._lock:
                fresh = [self._deliveries.first_delivery(source, key) for key in keys]
        except Exception:
            # Acting twice is harmless (the sync is idempotent and reads by cursor);
            # losing a notice is not, so an unreadable log lets the delivery through.
            logger.exception("%s delivery log failed; acting on the delivery anyway", source)
            return True
        return all(fresh)


async def _read_body(request: Request, limit: int) -> bytes | None:
    """The raw body (the signature covers these exact bytes); None when over `limit`."""
    declared = request.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > limit:
        return None
    chunks: list[bytes] = []
    size = 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            return None
        chunks.append(chunk)
    return b"".join(chunks)


def _error(status: int, message: str) -> JSONResponse:
    return JSONResponse({"error": message}, status_code=status)
