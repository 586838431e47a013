"""What the Xero emulator's parts share: Xero's error answers and its date formats.

Error shapes, each from Xero's spec or from answers Xero gave other clients:

- 400 ValidationException (spec `Error`/`Element`; Xero's HTTP response codes page):
  {"ErrorNumber": 10, "Type": "ValidationException", "Message": "A validation exception
  occurred", "Elements": [{...the element..., "ValidationErrors": [{"Message": ...}]}]}
- 400 for a body Xero cannot read: {"ErrorNumber": 14, "Type": "PostDataInvalidException",
  "Message": ...}; for a `where` it cannot read: ErrorNumber 16, QueryParseException.
- 401 / 403 from Xero's API gateway (bad token; missing or unknown xero-tenant-id):
  {"Type": null, "Title": "Unauthorized"|"Forbidden", "Status": 401|403,
  "Detail": "AuthenticationUnsuccessful", "Instance": <uuid>, "Extensions": {}}.
- 404: the plain text "The resource you're looking for cannot be found".
- 429 and 500 bodies are not documented; the emulator answers them in the gateway's shape
  above, which a client must not depend on (Xero's 429 is read from its headers). So is
  the 400 for a reused Idempotency-Key, whose message alone Xero documents.

Dates leave as Microsoft JSON dates, "/Date(1552348800000+0000)/", as Xero's answers show.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping, Sequence
from datetime import UTC, date, datetime, time
from http import HTTPStatus
from typing import Any

NOT_FOUND_TEXT = "The resource you're looking for cannot be found"

Json = dict[str, Any]


class XeroError(Exception):
    """An answer other than 200: status, a JSON body (or Xero's plain text), headers."""

    def __init__(
        self, status: int, body: Json | str, headers: Mapping[str, str] | None = None
    ) -> None:
        super().__init__(f"{status}: {body}")
        self.status = status
        self.body = body
        self.headers = dict(headers or {})


def gateway_body(status: int, detail: str) -> Json:
    """The gateway's problem-details body (401, 403, and the emulator's 429/500)."""
    return {
        "Type": None,
        "Title": HTTPStatus(status).phrase,
        "Status": status,
        "Detail": detail,
        "Instance": str(uuid.uuid4()),
        "Extensions": {},
    }


def idempotency_refusal(detail: str) -> XeroError:
    """400 for a reused or overlong Idempotency-Key. Xero documents the message, not the
    body: the emulator sends the gateway's Title/Status/Detail, without the null `Type`
    that would contradict the spec's 400 `Error` schema."""
    return XeroError(400, {"Title": "Bad Request", "Status": 400, "Detail": detail})


def fault_body(status: int) -> Json:
    """What EmulatorControl answers when it injects a 429 or 5xx in front of Xero."""
    if status == 429:
        return gateway_body(429, "Rate limit exceeded, please wait before retrying the Xero API")
    return gateway_body(status, "An error occurred in Xero. Please try again later.")


def validation_error(elements: Sequence[Json]) -> XeroError:
    """400 ValidationException over elements that each carry their `ValidationErrors`."""
    return XeroError(
        400,
        {
            "ErrorNumber": 10,
            "Type": "ValidationException",
            "Message": "A validation exception occurred",
            "Elements": list(elements),
        },
    )


def post_data_invalid(message: str) -> XeroError:
    return XeroError(
        400, {"ErrorNumber": 14, "Type": "PostDataInvalidException", "Message": message}
    )


def query_invalid(message: str) -> XeroError:
    return XeroError(400, {"ErrorNumber": 16, "Type": "QueryParseException", "Message": message})


def not_found() -> XeroError:
    return XeroError(404, NOT_FOUND_TEXT)


def messages(texts: Sequence[str]) -> list[Json]:
    """["a", "b"] -> [{"Message": "a"}, {"Message": "b"}] (ValidationErrors, Warnings)."""
    return [{"Message": text} for text in texts]


def ms_datetime(moment: datetime) -> str:
    """An aware datetime as "/Date(<ms since epoch>+0000)/"."""
    return f"/Date({round(moment.timestamp() * 1000)}+0000)/"


def ms_date(day: date) -> str:
    """A calendar day as Xero sends it: midnight UTC as a Microsoft JSON date."""
    return ms_datetime(datetime.combine(day, time(), tzinfo=UTC))


def ms_now(moment: datetime) -> str:
    """DateTimeUTC of an answer envelope (no offset, as in Xero's examples)."""
    return f"/Date({round(moment.timestamp() * 1000)})/"


def envelope(now: datetime, app_name: str, key: str, items: list[Json], **extra: Any) -> Json:
    """Xero's answer envelope: Id, Status, ProviderName, DateTimeUTC, then the items."""
    return {
        "Id": str(uuid.uuid4()),
        "Status": "OK",
        "ProviderName": app_name,
        "DateTimeUTC": ms_now(now),
        **extra,
        key: items,
    }
