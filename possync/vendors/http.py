"""One HTTP client factory for every connector.

`ApiClient` wraps an httpx.Client with what every vendor call needs: timeouts, retries with
exponential back-off and full jitter, Retry-After on 429, and translation of failures into
the error tree in `errors.py` with the vendor's own message. Only requests marked safe to
repeat are retried after a timeout (the caller says so: absolute writes and writes that carry
an idempotency key are safe; a plain create is not).
"""

from __future__ import annotations

import logging
import random
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

import httpx

from possync.vendors.errors import (
    ApiError,
    FatalError,
    RateLimited,
    RetriableError,
    ServerError,
    TransportError,
)

__all__ = ["ApiClient", "ErrorParser", "RetryPolicy"]

log = logging.getLogger(__name__)

# Reads (code, message) out of a vendor's error response.
ErrorParser = Callable[[httpx.Response], tuple[str | None, str]]


@dataclass(frozen=True)
class RetryPolicy:
    """How often and how patiently one call is retried inside the client."""

    attempts: int = 4
    base_delay: float = 0.2
    max_delay: float = 10.0
    max_retry_after: float = 60.0

    def delay(self, attempt: int, retry_after: float | None = None) -> float:
        """Seconds to wait before try `attempt + 1`: Retry-After if given, else full jitter."""
        if retry_after is not None:
            return min(retry_after, self.max_retry_after)
        ceiling = min(self.max_delay, self.base_delay * 2**attempt)
        return random.uniform(0, ceiling)


def default_error_parser(response: httpx.Response) -> tuple[str | None, str]:
    """Best effort for vendors without a parser: the body's text, shortened."""
    text = response.text.strip()
    return None, (text[:300] or response.reason_phrase)


class ApiClient:
    """A vendor's HTTP client: base URL, auth, timeouts, retries and the error tree."""

    def __init__(
        self,
        system: str,
        base_url: str,
        *,
        auth: httpx.Auth | None = None,
        headers: Mapping[str, str] | None = None,
        timeout: float = 30.0,
        retry: RetryPolicy | None = None,
        error_parser: ErrorParser = default_error_parser,
        event_hooks: Mapping[str, list[Callable[..., Any]]] | None = None,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self.system = system
        self.retry = retry or RetryPolicy()
        self._parse_error = error_parser
        self._sleep = sleep
        self._http = httpx.Client(
            base_url=base_url,
            auth=auth,
            headers=dict(headers or {}),
            timeout=httpx.Timeout(timeout, connect=min(timeout, 10.0)),
            limits=httpx.Limits(max_connections=20, max_keepalive_connections=10),
            event_hooks=dict(event_hooks or {}),
        )

    def __enter__(self) -> ApiClient:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def close(self) -> None:
        self._http.close()

    def request(
        self,
        method: str,
        path: str,
        *,
        params: Mapping[str, Any] | None = None,
        json: Any = None,
        headers: Mapping[str, str] | None = None,
        safe_to_repeat: bool | None = None,
    ) -> httpx.Response:
        """Send one request, retrying retriable failures; return a 2xx response or raise.

        `safe_to_repeat` defaults to True for GET/HEAD/PUT/DELETE and False otherwise: an
        unsafe request is still retried on 429 and on 5xx answers that prove it was refused
        (503), but not after a timeout or 500, where the write may have happened.
        """
        if safe_to_repeat is None:
            safe_to_repeat = method.upper() in {"GET", "HEAD", "PUT", "DELETE", "OPTIONS"}
        attempt = 0
        while True:
            try:
                return self._send_once(method, path, params=params, json=json, headers=headers)
            except RetriableError as exc:
                attempt += 1
                repeatable = safe_to_repeat or _proved_not_applied(exc)
                if attempt >= self.retry.attempts or not repeatable:
                    raise
                retry_after = exc.retry_after if isinstance(exc, RateLimited) else None
                wait = self.retry.delay(attempt - 1, retry_after)
                log.warning("%s; retry %d/%d in %.2fs", exc, attempt, self.retry.attempts - 1, wait)
                self._sleep(wait)

    def get(self, path: str, **kwargs: Any) -> httpx.Response:
        return self.request("GET", path, **kwargs)

    def post(self, path: str, **kwargs: Any) -> httpx.Response:
        return self.request("POST", path, **kwargs)

    def put(self, path: str, **kwargs: Any) -> httpx.Response:
        return self.request("PUT", path, **kwargs)

    def _send_once(
        self,
        method: str,
        path: str,
        *,
        params: Mapping[str, Any] | None,
        json: Any,
        headers: Mapping[str, str] | None,
    ) -> httpx.Response:
        try:
            response = self._http.request(
                method, path, params=params, json=json, headers=dict(headers or {})
            )
        except httpx.TimeoutException as exc:
            raise TransportError(
                self.system, method, path, f"timed out ({type(exc).__name__})"
            ) from exc
        except httpx.TransportError as exc:
            raise TransportError(
                self.system, method, path, f"no answer ({type(exc).__name__})"
            ) from exc
        if response.is_success:
            return response
        raise self._error_for(method, path, response)

    def _error_for(self, method: str, path: str, response: httpx.Response) -> ApiError:
        try:
            code, message = self._parse_error(response)
        except ValueError:
            code, message = default_error_parser(response)
        status = response.status_code
        if status == 429:
            return RateLimited(
                self.system,
                method,
                path,
                message,
                code=code,
                retry_after=_retry_after_seconds(response.headers.get("Retry-After")),
            )
        if status >= 500:
            return ServerError(self.system, method, path, message, status=status, code=code)
        return FatalError(self.system, method, path, message, status=status, code=code)


def _proved_not_applied(exc: RetriableError) -> bool:
    """429 and 503 mean the vendor did not process the request, so even a create may repeat."""
    return isinstance(exc, RateLimited) or exc.status == 503


def _retry_after_seconds(value: str | None) -> float | None:
    """Retry-After as seconds (delta-seconds form; an HTTP date is read as 'soon')."""
    if not value:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        from email.utils import parsedate_to_datetime

        try:
            when = parsedate_to_datetime(value)
        except (TypeError, ValueError):
            return None
        return max(0.0, when.timestamp() - time.time())
