"""e-conomic REST request/answer shapes as JSON-schema dicts, and a checker for recorded traffic.

There is no e-conomic spec file in ../shared/specs, and the JSON schemas e-conomic serves at
https://restapi.e-conomic.com/schema/<name>.schema.json are not in the reference corpus. The
shapes below are transcribed from the property tables e-conomic's docs render from those
schemas (source of the REST docs: github.com/e-conomic/slate at commit f6bf5a4b, folder
source/includes/; each shape names its file and schema). Where the docs are silent a shape
says so and where it is taken from. e-conomic's schemas are JSON-schema draft 3; these dicts
are draft 7 (`required` lists instead of `required: true`), validated with jsonschema.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable
from typing import Any

import httpx
from jsonschema import Draft7Validator, FormatChecker  # type: ignore[import-untyped]

JsonSchema = dict[str, Any]

_STRING: JsonSchema = {"type": "string"}
_NUMBER: JsonSchema = {"type": "number"}
_DATE: JsonSchema = {"type": "string", "format": "date"}  # "full-date" in e-conomic's tables
_URI: JsonSchema = {"type": "string"}


def _handle(key: str | None, key_schema: JsonSchema | None = None, *, read: bool) -> JsonSchema:
    """A reference to another resource: its id and/or `self`; read shapes require `self`
    (the "Required properties" lists of the GET schemas name every `<handle>.self`)."""
    properties: JsonSchema = {"self": _URI}
    if key is not None:
        properties[key] = key_schema or {"type": "integer", "minimum": 1}
    schema: JsonSchema = {"type": "object", "properties": properties}
    if read:
        schema["required"] = ["self"]
    return schema


# -- POST /journals/{journalNumber}/vouchers -------------------------------------------------
# _journals.md @ f6bf5a4b, "POST /journals-experimental/:journalNumber/vouchers", schema
# journals-experimental.journalNumber.vouchers.post.schema.json. Required properties:
# accountingYear, entries.financeVouchers.amount, entries.financeVouchers.date.
# "Bulk creation is supported" -> one voucher object or an array of them.


def _finance_voucher(*, read: bool) -> JsonSchema:
    """entries.financeVouchers[] (same table in the POST, GET-voucher and GET-vouchers docs)."""
    voucher_number: JsonSchema = {"type": "number", "minimum": 1, "maximum": 999_999_999}
    properties: JsonSchema = {
        "account": _handle("accountNumber", read=read),
        "amount": _NUMBER,  # "prefixing the amount with the '-' sign" makes a credit
        "amountBaseCurrency": _NUMBER,
        "contraAccount": _handle("accountNumber", read=read),
        "contraVatAccount": _handle("vatCode", {"type": "string", "maxLength": 5}, read=read),
        "contraVatAmount": _NUMBER,
        "contraVatAmountInBaseCurrency": _NUMBER,
        "currency": _handle("code", _STRING, read=read),
        "date": _DATE,
        "departmentalDistribution": _handle("departmentalDistributionNumber", read=read),
        "employee": _handle("employeeNumber", read=read),
        "entryType": {"enum": ["financeVoucher"]},
        "exchangeRate": _NUMBER,
        "journal": _handle("journalNumber", {"type": "number", "minimum": 1}, read=read),
        "project": _handle("projectNumber", read=read),
        "quantity1": _NUMBER,
        "quantity2": _NUMBER,
        "remainder": _NUMBER,
        "remainderInDefaultCurrency": _NUMBER,
        "text": {"type": "string", "maxLength": 250},
        "unit1": _handle("unitNumber", {"type": "integer", "minimum": 0}, read=read),
        "unit2": _handle("unitNumber", {"type": "integer", "minimum": 0}, read=read),
        "vatAccount": _handle("vatCode", {"type": "string", "maxLength": 5}, read=read),
        "vatAmount": _NUMBER,
        "vatAmountBaseCurrency": _NUMBER,
        "voucher": _handle("voucherNumber", voucher_number, read=read),
    }
    if read:
        # The GET-voucher answers of real agreements also carry journalEntryNumber and
        # metaData (github.com/omniboost/go-economic journals_vouchers_by_number_get.go).
        properties["journalEntryNumber"] = {"type": "integer"}
        properties["metaData"] = {"type": "object"}
        properties["self"] = _URI
        voucher = properties["voucher"]
        voucher["properties"]["accountingYear"] = _handle("year", _STRING, read=True)
    schema: JsonSchema = {
        "type": "object",
        "properties": properties,
        "additionalProperties": read,  # our requests may only use documented properties
    }
    if not read:
        schema["required"] = ["amount", "date"]
    return schema


def _voucher(*, read: bool) -> JsonSchema:
    properties: JsonSchema = {
        "accountingYear": _handle("year", _STRING, read=read),
        "entries": {
            "type": "object",
            "properties": {
                "financeVouchers": {"type": "array", "items": _finance_voucher(read=read)}
            },
        },
        "journal": _handle("journalNumber", {"type": "number", "minimum": 1}, read=read),
        "self": _URI,
        "voucherNumber": {"type": "number", "minimum": 1, "maximum": 999_999_999},
    }
    if read:
        properties["attachment"] = _URI
    schema: JsonSchema = {
        "type": "object",
        "properties": properties,
        "required": ["accountingYear", "journal", "self"] if read else ["accountingYear"],
        "additionalProperties": read,
    }
    return schema


VOUCHER_WRITE = _voucher(read=False)
VOUCHERS_POST_REQUEST: JsonSchema = {
    "oneOf": [VOUCHER_WRITE, {"type": "array", "items": VOUCHER_WRITE, "minItems": 1}]
}

# GET /journals/{n}/vouchers/{accountingYear}-{voucherNumber}: _journals.md @ f6bf5a4b, schema
# journals-experimental.journalNumber.vouchers.accountingYear-voucherNumber.get.schema.json.
VOUCHER_READ = _voucher(read=True)

# The POST answer: the created vouchers. e-conomic's docs table says "returns a single object";
# the client generated from e-conomic's JSON schemas types it as an array of Voucher
# (github.com/spysystem/economic-rest docs/Api/JournalVouchersApi.md, createVoucher(): Voucher[]).
VOUCHERS_POST_RESPONSE: JsonSchema = {"type": "array", "items": VOUCHER_READ, "minItems": 1}

# -- collections -----------------------------------------------------------------------------
# _introduction.md @ f6bf5a4b, "Pagination"; field names and which are always present from
# the generated Pagination model (spysystem/economic-rest docs/Model/Pagination.md).
PAGINATION: JsonSchema = {
    "type": "object",
    "required": ["maxPageSizeAllowed", "skipPages", "pageSize", "results", "resultsWithoutFilter"],
    "properties": {
        "maxPageSizeAllowed": {"type": "integer", "maximum": 1000},
        "skipPages": {"type": "integer", "minimum": 0},
        "pageSize": {"type": "integer", "minimum": 1, "maximum": 1000},
        "results": {"type": "integer", "minimum": 0},
        "resultsWithoutFilter": {"type": "integer", "minimum": 0},
        "firstPage": _URI,
        "nextPage": _URI,
        "lastPage": _URI,
    },
}


def collection_of(item: JsonSchema) -> JsonSchema:
    """A collection document: `collection`, `pagination`, `self`."""
    return {
        "type": "object",
        "required": ["collection", "self"],
        "properties": {
            "collection": {"type": "array", "items": item},
            "pagination": PAGINATION,
            "self": _URI,
        },
    }


# GET /accounting-years(/:accountingYear): _accounting-years.md @ f6bf5a4b, schemas
# accounting-years.get.schema.json and accounting-years.accountingYear.get.schema.json.
ACCOUNTING_YEAR: JsonSchema = {
    "type": "object",
    "required": ["self"],
    "properties": {
        "closed": {"type": "boolean"},
        "entries": _URI,
        "fromDate": _DATE,
        "periods": _URI,
        "self": _URI,
        "toDate": _DATE,
        "totals": _URI,
        "vouchers": _URI,
        "year": _STRING,  # "YYYY or YYYY/YYYY"
    },
}

# GET /accounting-years/:accountingYear/entries (booked entries): _accounting-years.md @
# f6bf5a4b, schema accounting-years.accountingYear.entries.get.schema.json.
BOOKED_ENTRY: JsonSchema = {
    "type": "object",
    "required": ["self"],
    "properties": {
        "account": _handle("accountNumber", read=True),
        "amount": _NUMBER,
        "amountInBaseCurrency": _NUMBER,
        "currency": _STRING,
        "date": _DATE,
        "entryNumber": {"type": "integer"},
        "entryType": {
            "enum": [
                "customerInvoice",
                "customerPayment",
                "supplierInvoice",
                "supplierPayment",
                "financeVoucher",
                "reminder",
                "openingEntry",
                "transferredOpeningEntry",
                "systemEntry",
                "manualDebtorInvoice",
            ]
        },
        "self": _URI,
        "text": {"type": "string", "maxLength": 255},
        "vatAccount": _handle("vatCode", {"type": "string", "maxLength": 5}, read=True),
        "voucherNumber": {"type": "integer"},
    },
}

# GET /journals(/:journalNumber): _journals.md @ f6bf5a4b, journals-experimental.get.schema.json.
JOURNAL: JsonSchema = {
    "type": "object",
    "required": ["self"],
    "properties": {
        "entries": _URI,
        "journalNumber": {"type": "integer"},
        "name": _STRING,
        "self": _URI,
        "settings": {
            "type": "object",
            "properties": {
                "voucherNumbers": {
                    "type": "object",
                    "properties": {
                        "maximumVoucherNumber": {"type": "integer", "maximum": 999_999_999},
                        "minimumVoucherNumber": {"type": "integer", "minimum": 0},
                    },
                }
            },
        },
        "vouchers": _URI,
    },
}

# GET /journals/:journalNumber/entries: _journals.md @ f6bf5a4b, schema
# journals-experimental.journalNumber.entries.get.schema.json. Required properties include
# self, voucher.self, voucher.accountingYear.self and every present handle's self.
_entry_voucher = _handle(
    "voucherNumber", {"type": "number", "minimum": 1, "maximum": 999_999_999}, read=True
)
_entry_voucher["properties"]["accountingYear"] = _handle("year", _STRING, read=True)
JOURNAL_ENTRY: JsonSchema = {
    "type": "object",
    "required": ["self"],
    "properties": {
        "account": _handle("accountNumber", read=True),
        "amount": _NUMBER,
        "amountDefaultCurrency": _NUMBER,
        "contraAccount": _handle("accountNumber", read=True),
        "contraVatAccount": _handle("vatCode", {"type": "string", "maxLength": 5}, read=True),
        "currency": _handle("code", _STRING, read=True),
        "date": _DATE,
        "entryType": {
            "enum": [
                "financeVoucher",
                "supplierInvoice",
                "supplierPayment",
                "customerPayment",
                "manualCustomerInvoice",
            ]
        },
        "exchangeRate": _NUMBER,
        "journal": _handle("journalNumber", {"type": "number", "minimum": 1}, read=True),
        "journalEntryNumber": {"type": "integer"},
        "self": _URI,
        "text": _STRING,
        "voucher": _entry_voucher,
    },
}

# -- errors ----------------------------------------------------------------------------------
# _introduction.md @ f6bf5a4b, "Annotated errors": message, developerHint, logId,
# httpStatusCode, errors (annotated like the payload), logTime; errorCode from the generated
# Error model (spysystem/economic-rest docs/Model/Error.md).
ERROR: JsonSchema = {
    "type": "object",
    "required": ["message"],
    "properties": {
        "message": _STRING,
        "errorCode": _STRING,
        "developerHint": _STRING,
        "logId": _STRING,
        "httpStatusCode": {"type": "integer"},
        "logTime": _STRING,
        "errors": {"type": ["object", "array"]},
    },
}

# One annotated property error: {"errors": [{"errorCode", "message", "value", "developerHint"}]}
PROPERTY_ERROR: JsonSchema = {
    "type": "object",
    "required": ["errors"],
    "properties": {
        "errors": {
            "type": "array",
            "minItems": 1,
            "items": {
                "type": "object",
                "required": ["message"],
                "properties": {
                    "errorCode": {"type": "string", "pattern": "^E\\d{5}$"},
                    "message": _STRING,
                    "developerHint": _STRING,
                },
            },
        }
    },
}

# (method, path pattern, request shape, 2xx answer shape)
ROUTES: list[tuple[str, re.Pattern[str], JsonSchema | None, JsonSchema | None]] = [
    ("GET", re.compile(r"^/accounting-years$"), None, collection_of(ACCOUNTING_YEAR)),
    ("GET", re.compile(r"^/accounting-years/[^/]+$"), None, ACCOUNTING_YEAR),
    ("GET", re.compile(r"^/accounting-years/[^/]+/entries$"), None, collection_of(BOOKED_ENTRY)),
    ("GET", re.compile(r"^/journals$"), None, collection_of(JOURNAL)),
    ("GET", re.compile(r"^/journals/\d+$"), None, JOURNAL),
    ("GET", re.compile(r"^/journals/\d+/vouchers$"), None, collection_of(VOUCHER_READ)),
    (
        "POST",
        re.compile(r"^/journals/\d+/vouchers$"),
        VOUCHERS_POST_REQUEST,
        VOUCHERS_POST_RESPONSE,
    ),
    ("GET", re.compile(r"^/journals/\d+/vouchers/[^/]+-\d+$"), None, VOUCHER_READ),
    ("GET", re.compile(r"^/journals/\d+/entries$"), None, collection_of(JOURNAL_ENTRY)),
    ("DELETE", re.compile(r"^/journals/\d+/entries/\d+$"), None, None),
]


def validate(instance: Any, schema: JsonSchema) -> list[str]:
    """Every violation of `schema`, as 'path: message' lines."""
    validator = Draft7Validator(schema, format_checker=FormatChecker())
    return [
        f"{'/'.join(str(p) for p in error.absolute_path) or '<root>'}: {error.message}"
        for error in validator.iter_errors(instance)
    ]


def problems(
    exchanges: Iterable[tuple[httpx.Request, httpx.Response]], *, requests: bool = True
) -> list[str]:
    """Every request or answer in the recorded traffic that breaks the shapes above; requests
    must also carry both of e-conomic's token headers (_tldr.md @ f6bf5a4b). With
    `requests=False` only answers are checked (for tests that send bad requests on purpose)."""
    found: list[str] = []
    for request, response in exchanges:
        path = request.url.path
        if path.startswith("/_emulator"):
            continue
        where = f"{request.method} {path}"
        route = next((r for r in ROUTES if r[0] == request.method and r[1].match(path)), None)
        if route is None and response.is_success:
            found.append(f"{where}: no documented shape for this route")
            continue
        for header in ("X-AppSecretToken", "X-AgreementGrantToken"):
            if requests and header not in request.headers:
                found.append(f"{where}: request lacks the {header} header")
        _method, _pattern, request_shape, answer_shape = route or ("", None, None, None)
        if requests and request_shape is not None:
            found += [
                f"{where}: request: {p}" for p in validate(_json(request.content), request_shape)
            ]
        if response.is_success:
            if answer_shape is not None:
                answer = _json(response.content)
                found += [
                    f"{where} -> {response.status_code}: {p}"
                    for p in validate(answer, answer_shape)
                ]
        else:
            error = _json(response.content)
            found += [
                f"{where} -> {response.status_code}: error: {p}" for p in validate(error, ERROR)
            ]
    return found


def _json(raw: bytes) -> Any:
    try:
        return json.loads(raw) if raw else None
    except ValueError:
        return "<not JSON>"
