"""Check real HTTP exchanges against a vendor's OpenAPI spec with openapi-core.

`SpecRecorder` is a pair of httpx event hooks: give it to any httpx client (ours or a
test's), let the traffic flow over real sockets, then `recorder.problems(openapi, ...)`
lists every request or response that the spec rejects. The emulators run on 127.0.0.1,
so each request is presented to openapi-core under the spec's own server URL.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qs

import httpx
from openapi_core.datatypes import RequestParameters
from werkzeug.datastructures import Headers, ImmutableMultiDict


class OpenAPIRequestAdapter:
    """An httpx.Request in openapi-core's Request protocol, re-homed to `host_url`."""

    def __init__(self, request: httpx.Request, host_url: str, path_prefix: str = "") -> None:
        self._request = request
        self._host_url = host_url
        self._path = path_prefix + request.url.path
        self.parameters = RequestParameters(
            query=ImmutableMultiDict(parse_qs(request.url.query.decode())),
            header=Headers(dict(request.headers)),
            cookie=ImmutableMultiDict({}),
        )

    @property
    def host_url(self) -> str:
        return self._host_url

    @property
    def path(self) -> str:
        return self._path

    @property
    def method(self) -> str:
        return self._request.method.lower()

    @property
    def body(self) -> bytes | None:
        return self._request.content or None

    @property
    def content_type(self) -> str:
        return str(self._request.headers.get("content-type", "application/json")).lower()


class OpenAPIResponseAdapter:
    """An httpx.Response in openapi-core's Response protocol."""

    def __init__(self, response: httpx.Response) -> None:
        self._response = response

    @property
    def data(self) -> bytes:
        return self._response.content

    @property
    def status_code(self) -> int:
        return self._response.status_code

    @property
    def content_type(self) -> str:
        return str(self._response.headers.get("content-type", "")).split(";")[0].lower()

    @property
    def headers(self) -> Headers:
        return Headers(dict(self._response.headers))


@dataclass
class SpecRecorder:
    """Collects exchanges from httpx event hooks for validation after the fact."""

    exchanges: list[tuple[httpx.Request, httpx.Response]] = field(default_factory=list)

    def hooks(self) -> dict[str, list[Callable[..., Any]]]:
        return {"response": [self._on_response]}

    def _on_response(self, response: httpx.Response) -> None:
        response.read()
        self.exchanges.append((response.request, response))

    def problems(
        self,
        openapi: Any,
        host_url: str,
        *,
        path_prefix: str = "",
        responses: bool = True,
        skip: Callable[[httpx.Request], bool] = lambda _r: False,
    ) -> list[str]:
        """Every spec violation, as 'METHOD path: error' lines (empty list = all conform)."""
        found: list[str] = []
        for request, response in self.exchanges:
            if request.url.path.startswith("/_emulator") or skip(request):
                continue
            adapted = OpenAPIRequestAdapter(request, host_url, path_prefix)
            where = f"{request.method} {request.url.path}"
            try:
                openapi.validate_request(adapted)
            except Exception as exc:  # noqa: BLE001 - the error text is the finding
                found.append(f"{where}: request: {_describe(exc)}")
                continue
            if responses:
                try:
                    openapi.validate_response(adapted, OpenAPIResponseAdapter(response))
                except Exception as exc:  # noqa: BLE001 - the error text is the finding
                    found.append(f"{where} -> {response.status_code}: response: {_describe(exc)}")
        return found


def _describe(exc: Exception) -> str:
    parts = [f"{type(exc).__name__}: {exc}"]
    cause = exc.__cause__
    for sub in getattr(cause, "schema_errors", None) or getattr(exc, "schema_errors", None) or []:
        parts.append(f"  - {getattr(sub, 'message', sub)}")
    if cause is not None and not getattr(cause, "schema_errors", None):
        parts.append(f"  cause: {cause}")
    return "\n".join(parts)
