"""A WooCommerce shop over HTTP: the REST API `wc/v3` under /wp-json/wc/v3.

Written from ../shared/specs/woocommerce and WooCommerce's own behaviour (see the
woocommerce_* modules next to this one for the rules each part copies). Products,
variations, orders, refunds and webhooks are served; everything else answers
`rest_no_route` as WordPress does for an unknown route.

    state = WooState(); state.seed(demo_catalogue(500))
    server = serve_in_thread(create_woocommerce_app(state))   # server.url + PREFIX

Authentication is WooCommerce's for HTTPS: HTTP Basic with the consumer key as user and
the consumer secret as password, or `consumer_key`/`consumer_secret` query parameters.
(A real shop accepts those only over HTTPS and wants OAuth 1.0a over plain HTTP; the
emulator runs on loopback HTTP, so it accepts them there.)
"""

from __future__ import annotations

import base64
import binascii
import hmac
import json
from collections.abc import Callable, Iterator, Mapping
from contextlib import AbstractContextManager, contextmanager
from dataclasses import dataclass
from typing import Any, Protocol, TypeVar

from fastapi import Depends, FastAPI, Request
from fastapi.responses import JSONResponse, Response
from fastapi.types import DecoratedCallable
from starlette.exceptions import HTTPException as StarletteHTTPException

from emulators.control import EmulatorControl
from emulators.woocommerce_catalog import PRODUCT_ARGS, VARIATION_ARGS, Product
from emulators.woocommerce_orders import ORDER_ARGS, REFUND_ARGS, Refund
from emulators.woocommerce_params import (
    BOOL,
    Arg,
    Json,
    ParamErrors,
    WooError,
    arg,
    check,
    parse_list,
    php_query,
    to_bool,
    to_int,
    validate_body,
)
from emulators.woocommerce_query import (
    COLLECTION_ARGS,
    ORDER_COLLECTION_ARGS,
    PRODUCT_COLLECTION_ARGS,
    VARIATION_COLLECTION_ARGS,
    WEBHOOK_COLLECTION_ARGS,
    Page,
    Query,
    order_matches,
    order_sort_key,
    page_headers,
    paginate,
    parse_query,
    product_candidates,
    product_matches,
    product_sort_key,
)
from emulators.woocommerce_render import (
    render_order,
    render_product,
    render_refund,
    render_variation,
    render_webhook,
)
from emulators.woocommerce_state import WooState
from emulators.woocommerce_taxes import TAX_ARGS, TAX_CLASSES
from emulators.woocommerce_webhooks import WEBHOOK_ARGS

__all__ = ["PREFIX", "WooState", "create_woocommerce_app", "error_body"]

PREFIX = "/wp-json/wc/v3"
BATCH_LIMIT = 100  # woocommerce_rest_batch_items_limit

_PERMISSION_ERRORS = {
    "list": ("woocommerce_rest_cannot_view", "Sorry, you cannot list resources."),
    "view": ("woocommerce_rest_cannot_view", "Sorry, you cannot view this resource."),
    "create": ("woocommerce_rest_cannot_create", "Sorry, you are not allowed to create resources."),
    "edit": ("woocommerce_rest_cannot_edit", "Sorry, you are not allowed to edit this resource."),
    "delete": (
        "woocommerce_rest_cannot_delete",
        "Sorry, you are not allowed to delete this resource.",
    ),
    "batch": (
        "woocommerce_rest_cannot_batch",
        "Sorry, you are not allowed to batch manipulate this resource.",
    ),
}
_BASIC_REALM = (
    'Basic realm="WooCommerce API. Use a consumer key in the username field and a consumer '
    'secret in the password field."'
)
_FATAL = (
    "<p>There has been a critical error on this website.</p>"
    '<p><a href="https://wordpress.org/documentation/article/faq-troubleshooting/">'
    "Learn more about troubleshooting WordPress.</a></p>"
)


def error_body(status: int) -> dict[str, object]:
    """What the shop answers when the emulator injects a fault (see EmulatorControl)."""
    if status == 429:
        # WooCommerce's own limiter (Store API) wording; hosts in front of WordPress vary.
        message = "Too many requests. Please wait 1 seconds before trying again."
        return {"code": "rate_limit_exceeded", "message": message, "data": {"status": 429}}
    if status >= 500:
        # WordPress's fatal-error handler answer to a REST request.
        return {"code": "internal_server_error", "message": _FATAL, "data": {"status": status}}
    return {"code": "rest_error", "message": "Request failed.", "data": {"status": status}}


@dataclass(frozen=True)
class _Auth:
    consumer_key: str
    consumer_secret: str

    def check(self, request: Request, action: str) -> None:
        """WC_REST_Authentication (basic auth branch), then the controller's permission check."""
        key, secret = _credentials(request)
        if key and secret and hmac.compare_digest(key, self.consumer_key):
            if hmac.compare_digest(secret, self.consumer_secret):
                return
            error = WooError(
                "woocommerce_rest_authentication_error", "Consumer secret is invalid.", 401
            )
            error.headers["WWW-Authenticate"] = _BASIC_REALM
            raise error
        code, message = _PERMISSION_ERRORS[action]
        raise WooError(code, message, 401)


def _credentials(request: Request) -> tuple[str, str]:
    query = request.query_params
    if query.get("consumer_key") and query.get("consumer_secret"):
        return query["consumer_key"], query["consumer_secret"]
    header = request.headers.get("authorization", "")
    scheme, _, encoded = header.partition(" ")
    if scheme.lower() != "basic":
        return "", ""
    try:
        user, _, password = base64.b64decode(encoded.strip()).decode().partition(":")
    except (binascii.Error, UnicodeDecodeError):
        return "", ""
    return user, password


class _Call:
    """One authorised request: its parameters, body and the shop, inside a transaction."""

    def __init__(self, request: Request, state: WooState, body: bytes) -> None:
        self.request = request
        self.state = state
        self.params = php_query(request.url.query)
        self._body = body

    @property
    def site_url(self) -> str:
        return request_base(self.request)

    def body(self) -> Json:
        """The JSON (or form) body merged over the query string, as WP_REST_Request reads it."""
        content_type = self.request.headers.get("content-type", "")
        parsed: Any = {}
        if self._body and "json" in content_type:
            try:
                parsed = json.loads(self._body)
            except ValueError as exc:
                raise WooError(
                    "rest_invalid_json",
                    "Invalid JSON body passed.",
                    400,
                    json_error_code=4,
                    json_error_message="Syntax error",
                ) from exc
        elif self._body and "form" in content_type:
            parsed = php_query(self._body.decode(errors="replace"))
        return {**self.params, **(parsed if isinstance(parsed, dict) else {})}

    def query(self, specs: Mapping[str, Any], array_args: tuple[str, ...] = ()) -> Query:
        return parse_query(self.params, specs, self.state.site.timezone, array_args)

    def force(self) -> bool:
        errors = ParamErrors()
        value = self.params.get("force", False)
        check("force", value, BOOL, errors)
        errors.raise_if_any()
        return to_bool(value)

    def respond(
        self, data: Any, status: int = 200, headers: list[tuple[str, str]] | None = None
    ) -> Response:
        fields = parse_list(self.params.get("_fields", ""))
        if fields:
            data = (
                [_only(d, fields) for d in data] if isinstance(data, list) else _only(data, fields)
            )
        response = JSONResponse(data, status_code=status)
        for name, value in headers or []:
            response.headers.append(name, value)
        return response

    def collection(self, items: list[Json], page: Page, query: Query) -> Response:
        base = f"{self.site_url}{self.request.url.path}"
        return self.respond(items, headers=page_headers(page, query, base))


def request_base(request: Request) -> str:
    """The shop's URL as this client reaches it (links, Location and webhook source use it)."""
    return str(request.base_url).rstrip("/")


def _only(data: Json, fields: list[str]) -> Json:
    """WordPress's `_fields`: keep the named top-level keys (and `a.b` nested ones)."""
    out: Json = {}
    for name in fields:
        head, _, rest = name.partition(".")
        if head not in data:
            continue
        if rest and isinstance(data[head], dict):
            out[head] = {**out.get(head, {}), **_only(data[head], [rest])}
        else:
            out[head] = data[head]
    return out


def _path_id(value: str) -> int:
    """WordPress routes match `(?P<id>[\\d]+)`; anything else is no route at all."""
    if not value.isdigit():
        raise _no_route()
    return int(value)


def _no_route() -> WooError:
    return WooError("rest_no_route", "No route was found matching the URL and request method.", 404)


def create_woocommerce_app(
    state: WooState | None = None,
    *,
    consumer_key: str = "ck_demo",
    consumer_secret: str = "cs_demo",  # noqa: S107 - the emulator's documented demo key
) -> FastAPI:
    """The emulator app; `app.state.woo` is the shop, `app.state.control` counts and faults."""
    shop = state if state is not None else WooState()
    app = FastAPI(title="WooCommerce emulator", docs_url=None, redoc_url=None, openapi_url=None)
    control = EmulatorControl(error_body)
    app.state.woo = shop
    app.state.control = control
    auth = _Auth(consumer_key, consumer_secret)

    @contextmanager
    def call(request: Request, action: str, body: bytes = b"") -> Iterator[_Call]:
        auth.check(request, action)
        with shop.transaction(request_base(request)):
            yield _Call(request, shop, body)

    router = _Router(app)
    _product_routes(router, call)
    _variation_routes(router, call)
    _order_routes(router, call)
    _refund_routes(router, call)
    _webhook_routes(router, call)
    _tax_routes(router, call)
    _install_error_handlers(app)
    control.install(app)
    return app


class _Router:
    """Routes straight on the app under PREFIX, so EmulatorControl sees their templates."""

    def __init__(self, app: FastAPI) -> None:
        self._app = app

    def get(self, path: str) -> Callable[[DecoratedCallable], DecoratedCallable]:
        return self._app.get(PREFIX + path)

    def post(self, path: str) -> Callable[[DecoratedCallable], DecoratedCallable]:
        return self._app.post(PREFIX + path)

    def delete(self, path: str) -> Callable[[DecoratedCallable], DecoratedCallable]:
        return self._app.delete(PREFIX + path)

    def editable(self, path: str) -> Callable[[DecoratedCallable], DecoratedCallable]:
        """WP_REST_Server::EDITABLE: POST, PUT and PATCH."""
        return self._app.api_route(PREFIX + path, methods=["POST", "PUT", "PATCH"])


class CallFactory(Protocol):
    """Authorise, then hold the shop's transaction for the handler's body."""

    def __call__(
        self, request: Request, action: str, body: bytes = b""
    ) -> AbstractContextManager[_Call]: ...


async def _raw_body(request: Request) -> bytes:
    """Read the body on the event loop so the handlers themselves can stay synchronous."""
    return await request.body()


RawBody = Depends(_raw_body)
T = TypeVar("T")


def _install_error_handlers(app: FastAPI) -> None:
    @app.exception_handler(WooError)
    def woo_error(_request: Request, exc: WooError) -> Response:
        return JSONResponse(exc.body(), status_code=exc.status, headers=exc.headers)

    @app.exception_handler(StarletteHTTPException)
    def no_route(_request: Request, exc: StarletteHTTPException) -> Response:
        if exc.status_code in (404, 405):
            error = _no_route()
            return JSONResponse(error.body(), status_code=404)
        return JSONResponse(error_body(exc.status_code), status_code=exc.status_code)


# --- products --------------------------------------------------------------------------


def _list_products(c: _Call, parent_id: int | None, render: Callable[[Product], Json]) -> Response:
    specs = PRODUCT_COLLECTION_ARGS if parent_id is None else VARIATION_COLLECTION_ARGS
    query = c.query(specs)
    catalog = c.state.catalog
    key = ("products", parent_id, catalog.version, query.orderby, query.order, query.filter_key())

    def build() -> list[int]:
        candidates = product_candidates(catalog, query, parent_id)
        found = [p for p in candidates if product_matches(query, p, parent_id is not None)]
        found.sort(key=product_sort_key(catalog, query), reverse=query.order == "desc")
        return [p.id for p in found]

    page = paginate(c.state.cache.get(key, build), query)
    return c.collection([render(catalog.items[i]) for i in page.ids], page, query)


def _product_routes(router: _Router, call: CallFactory) -> None:
    def product(c: _Call, item: Product) -> Json:
        return render_product(c.state.catalog, item, c.state.site)

    @router.get("/products")
    def list_products(request: Request) -> Response:
        with call(request, "list") as c:
            return _list_products(c, None, lambda p: product(c, p))

    @router.post("/products")
    def create_product(request: Request, raw: bytes = RawBody) -> Response:
        with call(request, "create", raw) as c:
            body = c.body()
            validate_body(body, PRODUCT_ARGS)
            item = c.state.catalog.create_product(body)
            location = f"{c.site_url}{PREFIX}/products/{item.id}"
            return c.respond(product(c, item), 201, [("Location", location)])

    @router.editable("/products/batch")
    def batch_products(request: Request, raw: bytes = RawBody) -> Response:
        with call(request, "batch", raw) as c:
            catalog = c.state.catalog
            return c.respond(
                _batch(
                    c.body(),
                    create=lambda b: product(c, catalog.create_product(b)),
                    update=lambda b: product(c, catalog.update_product(_item_id(b), b)),
                    delete=lambda i: _delete_product(c, i, force=True),
                )
            )

    @router.get("/products/{id}")
    def get_product(request: Request, id: str) -> Response:
        with call(request, "view") as c:
            return c.respond(product(c, c.state.catalog.product(_path_id(id))))

    @router.editable("/products/{id}")
    def update_product(request: Request, id: str, raw: bytes = RawBody) -> Response:
        with call(request, "edit", raw) as c:
            body = c.body()
            validate_body(body, PRODUCT_ARGS)
            return c.respond(product(c, c.state.catalog.update_product(_path_id(id), body)))

    @router.delete("/products/{id}")
    def delete_product(request: Request, id: str) -> Response:
        with call(request, "delete") as c:
            return c.respond(_delete_product(c, _path_id(id), c.force()))


def _delete_product(c: _Call, item_id: int, force: bool) -> Json:
    """Answer the item as it was (deleted for good) or as it is now (trashed)."""
    catalog = c.state.catalog
    item = catalog.product(item_id)
    before = render_product(catalog, item, c.state.site)
    catalog.delete(item, force, "product")
    return before if force else render_product(catalog, item, c.state.site)


def _item_id(body: Mapping[str, Any]) -> int:
    return to_int(body.get("id") or 0)


# --- variations ----------------------------------------------------------------------


def _variation_routes(router: _Router, call: CallFactory) -> None:
    base = "/products/{product_id}/variations"

    def variation(c: _Call, item: Product) -> Json:
        return render_variation(c.state.catalog, item, c.state.site)

    def parent_of(c: _Call, product_id: str) -> int:
        parent_id = _path_id(product_id)
        if c.state.catalog.get(parent_id) is None:
            raise WooError("woocommerce_rest_product_invalid_id", "Invalid product ID.", 404)
        return parent_id

    @router.get(base)
    def list_variations(request: Request, product_id: str) -> Response:
        with call(request, "list") as c:
            return _list_products(c, _path_id(product_id), lambda p: variation(c, p))

    @router.post(base)
    def create_variation(request: Request, product_id: str, raw: bytes = RawBody) -> Response:
        with call(request, "create", raw) as c:
            body = c.body()
            validate_body(body, VARIATION_ARGS)
            parent_id = parent_of(c, product_id)
            item = c.state.catalog.create_variation(parent_id, body)
            location = f"{c.site_url}{PREFIX}/products/{parent_id}/variations/{item.id}"
            return c.respond(variation(c, item), 201, [("Location", location)])

    @router.editable(f"{base}/batch")
    def batch_variations(request: Request, product_id: str, raw: bytes = RawBody) -> Response:
        with call(request, "batch", raw) as c:
            parent_id = _path_id(product_id)
            catalog = c.state.catalog
            return c.respond(
                _batch(
                    c.body(),
                    create=lambda b: variation(c, catalog.create_variation(parent_id, b)),
                    update=lambda b: variation(
                        c, catalog.update_variation(parent_id, _item_id(b), b)
                    ),
                    delete=lambda i: _delete_variation(c, parent_id, i, force=True),
                )
            )

    @router.get(base + "/{id}")
    def get_variation(request: Request, product_id: str, id: str) -> Response:
        with call(request, "view") as c:
            item = c.state.catalog.variation(_path_id(product_id), _path_id(id))
            return c.respond(variation(c, item))

    @router.editable(base + "/{id}")
    def update_variation(
        request: Request, product_id: str, id: str, raw: bytes = RawBody
    ) -> Response:
        with call(request, "edit", raw) as c:
            body = c.body()
            validate_body(body, VARIATION_ARGS)
            item = c.state.catalog.update_variation(_path_id(product_id), _path_id(id), body)
            return c.respond(variation(c, item))

    @router.delete(base + "/{id}")
    def delete_variation(request: Request, product_id: str, id: str) -> Response:
        with call(request, "delete") as c:
            return c.respond(_delete_variation(c, _path_id(product_id), _path_id(id), c.force()))


def _delete_variation(c: _Call, parent_id: int, item_id: int, force: bool) -> Json:
    catalog = c.state.catalog
    item = catalog.variation(parent_id, item_id)
    before = render_variation(catalog, item, c.state.site)
    catalog.delete(item, force, "product_variation")
    return before if force else render_variation(catalog, item, c.state.site)


# --- batches ---------------------------------------------------------------------------


def _batch(
    body: Mapping[str, Any],
    create: Callable[[Mapping[str, Any]], Json],
    update: Callable[[Mapping[str, Any]], Json],
    delete: Callable[[int], Json],
) -> Json | list[Any]:
    """WC_REST_Controller::batch_items: per-item results; items skip argument validation."""
    actions = {
        k: body[k]
        for k in ("create", "update", "delete")
        if isinstance(body.get(k), list) and body[k]
    }
    if sum(len(v) for v in actions.values()) > BATCH_LIMIT:
        raise WooError(
            "woocommerce_rest_request_entity_too_large",
            f"Unable to accept more than {BATCH_LIMIT} items for this request.",
            413,
        )
    out: Json = {}
    for entry in actions.get("create", []):
        given = entry if isinstance(entry, dict) else {}
        out.setdefault("create", []).append(_attempt(0, create, given))
    for entry in actions.get("update", []):
        given = entry if isinstance(entry, dict) else {}
        out.setdefault("update", []).append(_attempt(given.get("id"), update, given))
    for raw_id in actions.get("delete", []):
        item_id = _item_id({"id": raw_id})
        if item_id:  # WooCommerce skips ids that cast to 0
            out.setdefault("delete", []).append(_attempt(item_id, delete, item_id))
    return out or []  # PHP's empty array is JSON []


def _attempt(item_id: Any, action: Callable[[T], Json], argument: T) -> Json:
    """One batch item; its failure becomes `{"id", "error"}` and the batch goes on."""
    try:
        return action(argument)
    except WooError as error:
        return {"id": item_id, "error": error.body()}


# --- orders ----------------------------------------------------------------------------


def _order_routes(router: _Router, call: CallFactory) -> None:
    def order_json(c: _Call, order_id: int) -> Json:
        orders = c.state.orders
        return render_order(orders, orders.orders[order_id], c.state.site)

    @router.get("/orders")
    def list_orders(request: Request) -> Response:
        with call(request, "list") as c:
            query = c.query(ORDER_COLLECTION_ARGS, array_args=("status",))
            orders = c.state.orders
            found = [
                o for o in (orders.orders[i] for i in orders.order_ids) if order_matches(query, o)
            ]
            found.sort(key=order_sort_key(query), reverse=query.order == "desc")
            page = paginate([o.id for o in found], query)
            return c.collection([order_json(c, i) for i in page.ids], page, query)

    @router.post("/orders")
    def create_order(request: Request, raw: bytes = RawBody) -> Response:
        with call(request, "create", raw) as c:
            body = c.body()
            validate_body(body, ORDER_ARGS)
            order = c.state.orders.create(body)
            location = f"{c.site_url}{PREFIX}/orders/{order.id}"
            return c.respond(order_json(c, order.id), 201, [("Location", location)])

    @router.get("/orders/{id}")
    def get_order(request: Request, id: str) -> Response:
        with call(request, "view") as c:
            return c.respond(order_json(c, c.state.orders.get(_path_id(id)).id))

    @router.editable("/orders/{id}")
    def update_order(request: Request, id: str, raw: bytes = RawBody) -> Response:
        with call(request, "edit", raw) as c:
            body = c.body()
            validate_body(body, ORDER_ARGS)
            return c.respond(order_json(c, c.state.orders.update(_path_id(id), body).id))

    @router.delete("/orders/{id}")
    def delete_order(request: Request, id: str) -> Response:
        with call(request, "delete") as c:
            orders = c.state.orders
            order = orders.get(_path_id(id))
            before = render_order(orders, order, c.state.site)
            force = c.force()
            orders.delete(order.id, force)
            return c.respond(before if force else render_order(orders, order, c.state.site))


# --- refunds ---------------------------------------------------------------------------


def _refund_routes(router: _Router, call: CallFactory) -> None:
    base = "/orders/{order_id}/refunds"

    @router.get(base)
    def list_refunds(request: Request, order_id: str) -> Response:
        with call(request, "list") as c:
            query = c.query(ORDER_COLLECTION_ARGS)
            orders = c.state.orders
            order = orders.orders.get(_path_id(order_id))
            refunds = [orders.refunds[r] for r in (order.refund_ids if order else [])]
            refunds = [r for r in refunds if _id_listed(query, r.id)]
            refunds.sort(key=lambda r: (r.date_created, r.id), reverse=query.order == "desc")
            page = paginate([r.id for r in refunds], query)
            items = [render_refund(orders.refunds[i], c.state.site) for i in page.ids]
            return c.collection(items, page, query)

    @router.post(base)
    def create_refund(request: Request, order_id: str, raw: bytes = RawBody) -> Response:
        with call(request, "create", raw) as c:
            body = c.body()
            validate_body(body, REFUND_ARGS)
            refund = c.state.orders.create_refund(_path_id(order_id), body)
            location = f"{c.site_url}{PREFIX}/orders/{refund.order_id}/refunds/{refund.id}"
            return c.respond(
                render_refund(refund, c.state.site, edit=True), 201, [("Location", location)]
            )

    @router.get(base + "/{id}")
    def get_refund(request: Request, order_id: str, id: str) -> Response:
        with call(request, "view") as c:
            refund = _refund(c.state, _path_id(order_id), _path_id(id))
            return c.respond(render_refund(refund, c.state.site))


def _refund(state: WooState, order_id: int, refund_id: int) -> Refund:
    """WC_REST_Order_Refunds_V2_Controller: its own checks pass a bare 404, so HTTP 500."""
    orders = state.orders
    refund = orders.refunds.get(refund_id)
    if refund is None and refund_id not in orders.orders:
        raise WooError("woocommerce_rest_shop_order_refund_invalid_id", "Invalid ID.", 404)
    if order_id not in orders.orders:
        raise WooError("woocommerce_rest_invalid_order_id", "Invalid order ID.", 500, bare_data=404)
    if refund is None or refund.order_id != order_id:
        raise WooError(
            "woocommerce_rest_invalid_order_refund_id",
            "Invalid order refund ID.",
            500,
            bare_data=404,
        )
    return refund


def _id_listed(query: Query, item_id: int) -> bool:
    """The `include`/`exclude` arguments for the small collections."""
    return (not query.include or item_id in query.include) and item_id not in query.exclude


# --- webhooks --------------------------------------------------------------------------


def _webhook_routes(router: _Router, call: CallFactory) -> None:
    @router.get("/webhooks")
    def list_webhooks(request: Request) -> Response:
        with call(request, "list") as c:
            query = c.query(WEBHOOK_COLLECTION_ARGS)
            wanted = query.value("status", "all")
            hooks = [
                w
                for w in c.state.webhooks.webhooks.values()
                if wanted in ("all", w.status) and _id_listed(query, w.id)
            ]
            hooks.sort(key=lambda w: (w.date_created, w.id), reverse=query.order == "desc")
            page = paginate([w.id for w in hooks], query)
            items = [render_webhook(c.state.webhooks.webhooks[i], c.state.site) for i in page.ids]
            return c.collection(items, page, query)

    @router.post("/webhooks")
    def create_webhook(request: Request, raw: bytes = RawBody) -> Response:
        with call(request, "create", raw) as c:
            body = c.body()
            validate_body(body, WEBHOOK_ARGS)
            if body.get("id"):
                raise WooError(
                    "woocommerce_rest_shop_webhook_exists",
                    "Cannot create existing shop_webhook.",
                    400,
                )
            webhook = c.state.webhooks.create(c.state.allocate_id(), body)
            location = f"{c.site_url}{PREFIX}/webhooks/{webhook.id}"
            return c.respond(
                render_webhook(webhook, c.state.site, edit=True), 201, [("Location", location)]
            )

    @router.get("/webhooks/{id}")
    def get_webhook(request: Request, id: str) -> Response:
        with call(request, "view") as c:
            webhook = c.state.webhooks.get(_path_id(id))
            return c.respond(render_webhook(webhook, c.state.site))

    @router.editable("/webhooks/{id}")
    def update_webhook(request: Request, id: str, raw: bytes = RawBody) -> Response:
        with call(request, "edit", raw) as c:
            body = c.body()
            validate_body(body, WEBHOOK_ARGS)
            webhook = c.state.webhooks.update(_path_id(id), body)
            return c.respond(render_webhook(webhook, c.state.site, edit=True))

    @router.delete("/webhooks/{id}")
    def delete_webhook(request: Request, id: str) -> Response:
        with call(request, "delete") as c:
            webhook = c.state.webhooks.delete(_path_id(id), c.force())
            return c.respond(render_webhook(webhook, c.state.site, edit=True))


# --- tax rates -------------------------------------------------------------------------


TAX_COLLECTION_ARGS: dict[str, Arg] = {
    **COLLECTION_ARGS,
    "orderby": arg("string", enum=("id", "order", "priority")),
    "class": arg("string", enum=TAX_CLASSES),
}


def _tax_routes(router: _Router, call: CallFactory) -> None:
    """GET and POST /taxes (WC_REST_Taxes_Controller): the shop's tax rates."""

    @router.get("/taxes")
    def list_taxes(request: Request) -> Response:
        with call(request, "list") as c:
            query = c.query(TAX_COLLECTION_ARGS)
            rates = sorted(c.state.orders.taxes.rates.values(), key=lambda r: (r.order, r.id))
            page = paginate([r.id for r in rates], query)
            items = [c.state.orders.taxes.rates[i].json() for i in page.ids]
            return c.collection(items, page, query)

    @router.post("/taxes")
    def create_tax(request: Request, raw: bytes = RawBody) -> Response:
        with call(request, "create", raw) as c:
            body = c.body()
            validate_body(body, TAX_ARGS)
            rate = c.state.orders.taxes.create(body)
            location = f"{c.site_url}{PREFIX}/taxes/{rate.id}"
            return c.respond(rate.json(), 201, [("Location", location)])

    @router.get("/taxes/{id}")
    def get_tax(request: Request, id: str) -> Response:
        with call(request, "view") as c:
            rate = c.state.orders.taxes.rates.get(_path_id(id))
            if rate is None:
                raise WooError("woocommerce_rest_invalid_id", "Invalid resource ID.", 404)
            return c.respond(rate.json())
