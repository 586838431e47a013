"""The connectors' exception tree; every vendor call raises only these.

    ApiError                    any failed call to an external system
    ├── RetriableError          worth trying again: the call may succeed later
    │   ├── RateLimited         429; `retry_after` seconds if the vendor said so
    │   ├── ServerError         5xx
    │   └── TransportError      timeout, refused or dropped connection
    └── FatalError              4xx other than 429: retrying cannot help;
                                the vendor's own message is kept

Messages name the system, method, path and status and the vendor's message; they never
contain credentials, query strings or request bodies.
"""

from __future__ import annotations


class ApiError(Exception):
    """A call to an external system failed."""

    def __init__(
        self,
        system: str,
        method: str,
        path: str,
        message: str,
        *,
        status: int | None = None,
        code: str | None = None,
    ) -> None:
        self.system = system
        self.method = method
        self.path = path
        self.status = status
        self.code = code
        self.vendor_message = message
        status_text = f" {status}" if status is not None else ""
        code_text = f" [{code}]" if code else ""
        super().__init__(f"{system} {method} {path}{status_text}{code_text}: {message}")


class RetriableError(ApiError):
    """The call may succeed if tried again later."""


class RateLimited(RetriableError):
    """The vendor asked us to slow down (HTTP 429)."""

    def __init__(
        self,
        system: str,
        method: str,
        path: str,
        message: str,
        *,
        status: int | None = 429,
        code: str | None = None,
        retry_after: float | None = None,
    ) -> None:
        super().__init__(system, method, path, message, status=status, code=code)
        self.retry_after = retry_after


class ServerError(RetriableError):
    """The vendor failed (HTTP 5xx)."""


class TransportError(RetriableError):
    """No answer: timeout, refused or dropped connection."""


class FatalError(ApiError):
    """The vendor refused the request (4xx); retrying the same request cannot help."""


def is_retriable(exc: BaseException) -> bool:
    """True for errors a task may retry (used by Prefect retry conditions)."""
    return isinstance(exc, RetriableError)
