"""Xero's Accounting API spec (xero/xero_accounting.yaml, 16.1.0) with the corrections that
real Xero answers need, each with its reason, and the check every Xero test runs.

Correction: the spec lists only 200 and 400 for the operations we use, but Xero answers
others on every one of them (developer.xero.com "HTTP response codes"; the bodies as Xero
sent them to other clients):

- 401 Unauthorized / 403 Forbidden come from Xero's API gateway as problem details
  {"Type": null, "Title", "Status", "Detail": "AuthenticationUnsuccessful", "Instance",
  "Extensions"} (403 for a missing or unknown xero-tenant-id);
- 404 Not Found is the plain text "The resource you're looking for cannot be found";
- 429 Too Many Requests (with X-Rate-Limit-Problem and Retry-After) and 5xx have no
  documented body, so any body is accepted;
- a GET whose `where` or `order` Xero cannot parse is answered 400 with the spec's own
  `Error` shape (Type QueryParseException), though the spec lists 400 for writes only.
"""

from __future__ import annotations

import functools
import warnings
from typing import Any

import yaml

from tests.conformance import SpecRecorder
from tests.specs import spec_path, specs_dir

SPEC = "xero/xero_accounting.yaml"
HOST = "https://api.xero.com"  # servers: https://api.xero.com/api.xro/2.0
_PATHS = ("/ManualJournals", "/ManualJournals/{ManualJournalID}", "/Accounts")
_BAD_REQUEST = "#/components/responses/400Error"

_GATEWAY_PROBLEM = {
    "type": "object",
    "required": ["Title", "Status"],
    "properties": {
        "Type": {"type": "string", "nullable": True},
        "Title": {"type": "string"},
        "Status": {"type": "integer"},
        "Detail": {"type": "string"},
        "Instance": {"type": "string"},
        "Extensions": {"type": "object"},
    },
}
_ANY_BODY = {
    "application/json": {"schema": {}},
    "text/plain": {"schema": {"type": "string"}},
    "text/html": {"schema": {"type": "string"}},
}
_UNDOCUMENTED_RESPONSES: dict[str, Any] = {
    "401": {
        "description": "Unauthorized (gateway problem details)",
        "content": {"application/json": {"schema": _GATEWAY_PROBLEM}},
    },
    "403": {
        "description": "Forbidden: missing or unknown xero-tenant-id (gateway problem details)",
        "content": {"application/json": {"schema": _GATEWAY_PROBLEM}},
    },
    "404": {
        "description": "Not Found, as plain text",
        "content": {"text/plain": {"schema": {"type": "string"}}},
    },
    "429": {"description": "Too Many Requests; body undocumented", "content": _ANY_BODY},
    "500": {"description": "Internal error; body undocumented", "content": _ANY_BODY},
    "503": {"description": "Unavailable; body undocumented", "content": _ANY_BODY},
}


def spec_available() -> bool:
    return (specs_dir() / SPEC).is_file()


@functools.cache
def xero_openapi() -> Any:
    """The spec with the corrections above (skips the test when the spec is absent)."""
    from openapi_core import Config, OpenAPI

    with spec_path(SPEC).open() as handle:
        safe_loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
        spec = yaml.load(handle, Loader=safe_loader)  # noqa: S506 - a safe loader, the fast one
    for path in _PATHS:
        for method, operation in spec["paths"][path].items():
            if method in ("get", "put", "post"):
                for status, response in _UNDOCUMENTED_RESPONSES.items():
                    operation["responses"].setdefault(status, response)
                operation["responses"].setdefault("400", {"$ref": _BAD_REQUEST})
    # Xero's own file does not pass the strict OpenAPI validator (as tests.specs notes).
    return OpenAPI.from_dict(spec, config=Config(spec_validator_cls=None))


def spec_problems(recorder: SpecRecorder) -> list[str]:
    """Every recorded Xero request or answer the corrected spec rejects."""
    with warnings.catch_warnings():
        # openapi-core cannot check the `oauth2` scheme and says so once per request.
        warnings.filterwarnings("ignore", "Unsupported scheme type", UserWarning)
        return recorder.problems(xero_openapi(), HOST)
