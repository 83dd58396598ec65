"""A small fake of Stripe's HTTP API, for tests that must not need the internet.

The real `stripe` library talks to it (``settings.STRIPE_API_BASE``). It
implements only what the app uses: Checkout Sessions (create, list, retrieve,
expire), PaymentIntents (retrieve), charges (list, retrieve), refunds
(create, list, retrieve; each listed on its charge), transfers (create, list,
retrieve) and their reversals, and events, keeps their state, honours
idempotency keys the way Stripe does (same key → same answer; same key with
other parameters → an error), and records every request with its headers and
its form-decoded parameters so tests can check amounts, keys and metadata.

Idempotency keys are kept as Stripe keeps them: for 24 hours
(``key_lifetime``), then forgotten, so a request sent again a day later is
carried out again. ``later(hours=25)`` moves the fake's clock on. A 500
(Stripe failed while carrying the request out) is saved under its key like
any answer and replayed until the key is forgotten.

``GET /pay/<session id>`` is a stand-in for Stripe's hosted payment page: its
« Payer » button marks the session paid and sends the browser to the
session's ``success_url``. Tests build signed webhook events with `event`
and `signed` (the ``Stripe-Signature`` header Stripe computes:
``t=<timestamp>,v1=HMAC-SHA256(secret, "<timestamp>.<payload>")``).

The ``fake_stripe`` fixture starts a server on a random port of 127.0.0.1,
configures the app for it, and stops it afterwards.
"""

import hashlib
import hmac
import html
import json
import re
import threading
import time
import urllib.request
import uuid
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qsl, urlsplit

import pytest

SECRET_KEY = "sk_test_fake"
PUBLISHABLE_KEY = "pk_test_fake"
WEBHOOK_SECRET = "whsec_test"


@dataclass
class Recorded:
    """One request the fake received."""

    method: str
    path: str
    headers: dict  # lower-case names
    params: dict  # nested, as Stripe reads the form
    raw: list = field(default_factory=list)  # the (name, value) pairs as sent

    @property
    def idempotency_key(self) -> str | None:
        return self.headers.get("idempotency-key")

    @property
    def metadata(self) -> dict:
        return self.params.get("metadata", {})


def _nest(pairs) -> dict:
    """Form pairs as Stripe reads them.

    ``[("metadata[a]", "1"), ("items[0][x]", "2")]`` →
    ``{"metadata": {"a": "1"}, "items": [{"x": "2"}]}``.
    """
    root: dict = {}
    for name, value in pairs:
        keys = re.findall(r"[^\[\]]+", name)
        node = root
        for key in keys[:-1]:
            node = node.setdefault(key, {})
        node[keys[-1]] = value
    return _lists(root)


def _lists(node):
    if not isinstance(node, dict):
        return node
    node = {key: _lists(value) for key, value in node.items()}
    if node and all(key.isdigit() for key in node):
        return [node[key] for key in sorted(node, key=int)]
    return node


def _new_id(prefix: str) -> str:
    return f"{prefix}_test_{uuid.uuid4().hex[:24]}"


class StripeError(Exception):
    def __init__(self, status: int, message: str, code: str = "", kind="invalid_request_error"):
        super().__init__(message)
        self.status, self.code, self.kind = status, code, kind

    def body(self) -> dict:
        return {"error": {"type": self.kind, "message": str(self), "code": self.code}}


class FakeStripe:
    """The server's state, its routes, and the helpers tests use."""

    def __init__(self, *, secret_key=SECRET_KEY, webhook_secret=WEBHOOK_SECRET):
        self.secret_key = secret_key
        self.webhook_secret = webhook_secret
        self.sessions: dict[str, dict] = {}
        self.payment_intents: dict[str, dict] = {}
        self.charges: dict[str, dict] = {}
        self.refunds: dict[str, dict] = {}
        self.transfers: dict[str, dict] = {}
        self.transfer_reversals: dict[str, dict] = {}
        # Connected accounts Stripe does not know (deleted, disconnected, mistyped).
        self.unknown_accounts: set[str] = set()
        self.events: dict[str, dict] = {}
        self.requests: list[Recorded] = []
        self.fail_next: list[int] = []  # HTTP statuses to answer the next API calls with
        # (method, path pattern, HTTP status, error code, plain-text body or None):
        # the next call matching it fails so.
        self.fail_on: list[tuple[str, str, int, str, str | None]] = []
        # The next N requests are carried out, but their answer is lost (a 500
        # in its place): what a timeout looks like from our side.
        self.lose_answers = 0
        # (method, path pattern): the next call matching it is carried out, its answer lost.
        self.lose_on: list[tuple[str, str]] = []
        self.refund_status = "succeeded"  # what a new refund starts as ("pending" for slow cards)
        self.key_lifetime = 24 * 3600  # seconds Stripe remembers an idempotency key
        self._clock = 0.0  # seconds added to the real time (`later`)
        self._replies: dict[str, tuple[list, int, dict, float]] = {}
        self._lock = threading.RLock()
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), _handler_for(self))
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    @property
    def url(self) -> str:
        host, port = self._server.server_address[:2]
        return f"http://{host}:{port}"

    def start(self) -> "FakeStripe":
        self._thread.start()
        return self

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(timeout=5)

    def now(self) -> float:
        """The fake's time: the real one, moved on by `later`."""
        return time.time() + self._clock

    def later(self, *, hours: float = 0, seconds: float = 0) -> None:
        """Time passes at Stripe (idempotency keys older than ``key_lifetime`` are forgotten)."""
        self._clock += hours * 3600 + seconds

    # -- What tests read -------------------------------------------------------------

    def calls(self, method: str, path: str) -> list[Recorded]:
        """The requests made to ``path`` (a regex, so a plain path matches itself)."""
        return [r for r in self.requests if r.method == method and re.fullmatch(path, r.path)]

    # -- The API -----------------------------------------------------------------------

    def api(self, method: str, path: str, headers: dict, pairs: list) -> tuple[int, dict | str]:
        """Answer one API request: ``(HTTP status, JSON body, or a text one)``."""
        with self._lock:
            params = _nest(pairs)
            self.requests.append(Recorded(method, path, headers, params, list(pairs)))
            if headers.get("authorization") != f"Bearer {self.secret_key}":
                error = StripeError(401, "Invalid API Key provided.", kind="authentication_error")
                return 401, error.body()
            key = headers.get("idempotency-key") if method == "POST" else None
            replay = self._replay(key, pairs)
            if replay:
                return replay
            failure = self._failure(method, path)
            if failure and failure[2] is not None:
                return failure[0], failure[2]  # not JSON: a proxy's page, say
            if failure:
                status, code, _text = failure
                error = StripeError(status, "Something went wrong.", code=code, kind="api_error")
                if key and status == 500:  # it failed while carrying it out: saved, as Stripe does
                    self._replies[key] = (list(pairs), status, error.body(), self.now())
                return status, error.body()
            try:
                status, body = 200, self._route(method, path, params)
            except StripeError as error:
                status, body = error.status, error.body()
            if key:
                self._replies[key] = (list(pairs), status, body, self.now())
            if self._answer_lost(method, path):
                return 500, StripeError(500, "Timed out.", kind="api_error").body()
            return status, body

    def lose_answer(self, method: str, path: str) -> None:
        """The next ``method`` call to a path matching ``path`` (a regex) is carried
        out, but its answer is lost: what a timeout looks like from our side."""
        self.lose_on.append((method, path))

    def _answer_lost(self, method: str, path: str) -> bool:
        if self.lose_answers:
            self.lose_answers -= 1
            return True
        for i, (verb, pattern) in enumerate(self.lose_on):
            if verb == method and re.fullmatch(pattern, path):
                del self.lose_on[i]
                return True
        return False

    def _replay(self, key: str | None, pairs: list) -> tuple[int, dict] | None:
        """The saved answer for a key seen in the last ``key_lifetime`` seconds."""
        if not key or key not in self._replies:
            return None
        first_pairs, status, body, saved_at = self._replies[key]
        if self.now() - saved_at >= self.key_lifetime:
            del self._replies[key]  # forgotten: the request is carried out again
            return None
        if sorted(first_pairs) != sorted(pairs):
            error = StripeError(
                400,
                "Keys for idempotent requests can only be used with the same "
                "parameters they were first used with.",
                kind="idempotency_error",
            )
            return 400, error.body()
        return status, body

    def fail(
        self, method: str, path: str, status: int, code: str = "", *, text: str | None = None
    ) -> None:
        """The next ``method`` call to a path matching ``path`` (a regex) answers ``status``
        (with Stripe's error ``code``, e.g. ``balance_insufficient``; or, given ``text``,
        that plain-text body instead of Stripe's JSON)."""
        self.fail_on.append((method, path, status, code, text))

    def _failure(self, method: str, path: str) -> tuple[int, str, str | None] | None:
        if self.fail_next:
            return self.fail_next.pop(0), "", None
        for i, (verb, pattern, status, code, text) in enumerate(self.fail_on):
            if verb == method and re.fullmatch(pattern, path):
                del self.fail_on[i]
                return status, code, text
        return None

    def _route(self, method: str, path: str, params: dict) -> dict:
        routes = [
            ("POST", r"/v1/checkout/sessions", self._session_create),
            ("GET", r"/v1/checkout/sessions", self._session_list),
            ("GET", r"/v1/checkout/sessions/([\w-]+)", self._session_retrieve),
            ("POST", r"/v1/checkout/sessions/([\w-]+)/expire", self._session_expire),
            ("POST", r"/v1/refunds", self._refund_create),
            ("GET", r"/v1/refunds", self._refund_list),
            ("GET", r"/v1/refunds/([\w-]+)", self._get(self.refunds, "refund")),
            ("GET", r"/v1/charges", self._charge_list),
            ("GET", r"/v1/charges/([\w-]+)", self._get(self.charges, "charge")),
            (
                "GET",
                r"/v1/payment_intents/([\w-]+)",
                self._get(self.payment_intents, "payment_intent"),
            ),
            ("POST", r"/v1/transfers", self._transfer_create),
            ("GET", r"/v1/transfers", self._transfer_list),
            ("GET", r"/v1/transfers/([\w-]+)", self._get(self.transfers, "transfer")),
            ("POST", r"/v1/transfers/([\w-]+)/reversals", self._transfer_reverse),
            ("GET", r"/v1/events", lambda p: self._list(list(self.events.values()))),
            ("GET", r"/v1/events/([\w-]+)", self._get(self.events, "event")),
        ]
        for verb, pattern, handler in routes:
            match = re.fullmatch(pattern, path)
            if verb == method and match:
                return handler(*match.groups(), params)
        raise StripeError(404, f"Unrecognized request URL ({method}: {path}).")

    def _get(self, store: dict, name: str):
        def handler(object_id, params):
            if object_id not in store:
                raise StripeError(404, f"No such {name}: '{object_id}'", code="resource_missing")
            return store[object_id]

        return handler

    @staticmethod
    def _list(items: list) -> dict:
        return {"object": "list", "data": items, "has_more": False, "url": ""}

    def _session_create(self, params: dict) -> dict:
        for name in ("mode", "success_url", "line_items"):
            if name not in params:
                raise StripeError(400, f"Missing required param: {name}.", code="parameter_missing")
        amount = sum(
            int(item["price_data"]["unit_amount"]) * int(item.get("quantity", 1))
            for item in params["line_items"]
        )
        if amount < 50:  # Stripe's minimum charge in euros
            raise StripeError(
                400,
                "The Checkout Session's total amount due must add up to at least €0.50 eur",
                code="amount_too_small",
            )
        session_id = _new_id("cs")
        now = int(time.time())
        session = {
            "id": session_id,
            "object": "checkout.session",
            "mode": params["mode"],
            "amount_total": amount,
            "currency": params["line_items"][0]["price_data"]["currency"],
            "status": "open",
            "payment_status": "unpaid",
            "payment_intent": None,
            "metadata": params.get("metadata", {}),
            "client_reference_id": params.get("client_reference_id"),
            "customer_email": params.get("customer_email"),
            "success_url": params["success_url"],
            "cancel_url": params.get("cancel_url"),
            "url": f"{self.url}/pay/{session_id}",
            "created": now,
            "expires_at": now + 24 * 3600,
        }
        self.sessions[session_id] = session
        # Kept aside, as Stripe does, for the PaymentIntent made at payment time.
        session["_payment_intent_data"] = params.get("payment_intent_data", {})
        return self._public(session)

    def _session_list(self, params: dict) -> dict:
        sessions = [self._public(s) for s in self.sessions.values()]
        if "payment_intent" in params:
            sessions = [s for s in sessions if s["payment_intent"] == params["payment_intent"]]
        return self._list(sessions)

    def _session(self, session_id: str) -> dict:
        if session_id not in self.sessions:
            raise StripeError(
                404, f"No such checkout.session: '{session_id}'", code="resource_missing"
            )
        return self.sessions[session_id]

    def _session_retrieve(self, session_id: str, params: dict) -> dict:
        session = self._public(self._session(session_id))
        if "payment_intent" in params.get("expand", []) and session["payment_intent"]:
            session["payment_intent"] = self.payment_intents[session["payment_intent"]]
        return session

    def _session_expire(self, session_id: str, params: dict) -> dict:
        session = self._session(session_id)
        if session["status"] != "open":
            raise StripeError(
                400,
                f'Only Checkout Sessions with a status in ["open"] can be expired. '
                f'This Checkout Session has a status of "{session["status"]}".',
            )
        session["status"] = "expired"
        return self._public(session)

    @staticmethod
    def _public(session: dict) -> dict:
        return {k: v for k, v in session.items() if not k.startswith("_")}

    def _refund_create(self, params: dict) -> dict:
        charge = self._charge_of(params)
        remaining = charge["amount"] - charge["amount_refunded"]
        amount = int(params.get("amount", remaining))
        if remaining <= 0:
            raise StripeError(
                400, f"Charge {charge['id']} has already been refunded.", "charge_already_refunded"
            )
        if not 0 < amount <= remaining:
            raise StripeError(
                400,
                f"Refund amount ({amount}) is greater than unrefunded amount on charge "
                f"({remaining})",
                code="amount_too_large",
            )
        refund = {
            "id": _new_id("re"),
            "object": "refund",
            "amount": amount,
            "currency": charge["currency"],
            "charge": charge["id"],
            "payment_intent": charge["payment_intent"],
            "metadata": params.get("metadata", {}),
            "status": self.refund_status,
            "created": int(time.time()),
        }
        self.refunds[refund["id"]] = refund
        charge["refunds"]["data"].insert(0, refund)  # newest first, as Stripe lists them
        charge["refunds"]["total_count"] += 1
        charge["amount_refunded"] += amount
        charge["refunded"] = charge["amount_refunded"] == charge["amount"]
        return refund

    def _refund_list(self, params: dict) -> dict:
        found = [r for r in reversed(self.refunds.values())]
        if "payment_intent" in params:
            found = [r for r in found if r["payment_intent"] == params["payment_intent"]]
        return self._list(found)

    def _charge_list(self, params: dict) -> dict:
        found = list(self.charges.values())
        if "payment_intent" in params:
            found = [c for c in found if c["payment_intent"] == params["payment_intent"]]
        return self._list(found)

    def _charge_of(self, params: dict) -> dict:
        if "charge" in params and params["charge"] in self.charges:
            return self.charges[params["charge"]]
        intent = self.payment_intents.get(params.get("payment_intent", ""))
        if intent is None or not intent.get("latest_charge"):
            raise StripeError(400, "This PaymentIntent has no successful charge to refund.")
        return self.charges[intent["latest_charge"]]

    def _transfer_create(self, params: dict) -> dict:
        for name in ("amount", "currency", "destination"):
            if name not in params:
                raise StripeError(400, f"Missing required param: {name}.", code="parameter_missing")
        if params["destination"] in self.unknown_accounts:
            raise StripeError(
                400, f"No such destination: '{params['destination']}'", code="resource_missing"
            )
        source = params.get("source_transaction")
        if source is not None and source not in self.charges:
            raise StripeError(400, f"No such charge: '{source}'", code="resource_missing")
        transfer = {
            "id": _new_id("tr"),
            "object": "transfer",
            "amount": int(params["amount"]),
            "amount_reversed": 0,
            "reversed": False,
            "currency": params["currency"],
            "destination": params["destination"],
            "transfer_group": params.get("transfer_group"),
            "source_transaction": source,
            "metadata": params.get("metadata", {}),
            "created": int(time.time()),
        }
        self.transfers[transfer["id"]] = transfer
        return transfer

    def _transfer_list(self, params: dict) -> dict:
        found = [
            transfer
            for transfer in self.transfers.values()
            if all(
                transfer.get(name) == params[name]
                for name in ("transfer_group", "destination")
                if name in params
            )
        ]
        return self._list(found)

    def _transfer_reverse(self, transfer_id: str, params: dict) -> dict:
        transfer = self._get(self.transfers, "transfer")(transfer_id, params)
        remaining = transfer["amount"] - transfer["amount_reversed"]
        amount = int(params.get("amount", remaining))
        if not 0 < amount <= remaining:
            raise StripeError(
                400,
                f"Amount ({amount}) is greater than the unreversed amount ({remaining}).",
                code="amount_too_large",
            )
        reversal = {
            "id": _new_id("trr"),
            "object": "transfer_reversal",
            "amount": amount,
            "currency": transfer["currency"],
            "transfer": transfer_id,
            "metadata": params.get("metadata", {}),
            "created": int(time.time()),
        }
        self.transfer_reversals[reversal["id"]] = reversal
        transfer["amount_reversed"] += amount
        transfer["reversed"] = transfer["amount_reversed"] == transfer["amount"]
        return reversal

    # -- What happens on the payment page (and in tests that skip the browser) ---------

    def pay(self, session_id: str, *, later: bool = False) -> dict:
        """The client pays: at once by card, or ``later`` (a debit the bank confirms later)."""
        with self._lock:
            session = self._session(session_id)
            if session["status"] != "open":
                raise StripeError(400, "This Checkout Session is no longer open.")
            data = session["_payment_intent_data"]
            intent = {
                "id": _new_id("pi"),
                "object": "payment_intent",
                "amount": session["amount_total"],
                "currency": session["currency"],
                "status": "processing" if later else "succeeded",
                "metadata": data.get("metadata", {}),
                "transfer_group": data.get("transfer_group"),
                "latest_charge": None,
            }
            self.payment_intents[intent["id"]] = intent
            session.update(status="complete", payment_intent=intent["id"])
            session["payment_status"] = "unpaid" if later else "paid"
            if not later:
                self._charge(intent)
            return self._public(session)

    def settle_later_payment(self, session_id: str, *, succeeded: bool = True) -> dict:
        """The bank's answer for a payment made ``later``."""
        with self._lock:
            session = self._session(session_id)
            intent = self.payment_intents[session["payment_intent"]]
            intent["status"] = "succeeded" if succeeded else "requires_payment_method"
            if succeeded:
                session["payment_status"] = "paid"
                self._charge(intent)
            return self._public(session)

    def _charge(self, intent: dict) -> None:
        charge = {
            "id": _new_id("ch"),
            "object": "charge",
            "amount": intent["amount"],
            "amount_refunded": 0,
            "refunded": False,
            "status": "succeeded",
            "refunds": {"object": "list", "data": [], "has_more": False, "total_count": 0},
            "currency": intent["currency"],
            "payment_intent": intent["id"],
            "transfer_group": intent["transfer_group"],
            "metadata": {},
        }
        self.charges[charge["id"]] = charge
        intent["latest_charge"] = charge["id"]

    def expire(self, session_id: str) -> dict:
        """The session times out (Stripe does it after 24 hours)."""
        with self._lock:
            return self._session_expire(session_id, {})

    def charge_for(self, session_id: str) -> dict:
        intent = self.payment_intents[self.sessions[session_id]["payment_intent"]]
        return self.charges[intent["latest_charge"]]

    # -- Webhook events ----------------------------------------------------------------

    def event(self, type_: str, obj: dict, *, event_id: str | None = None) -> dict:
        """An event as Stripe sends it (and as ``GET /v1/events/<id>`` returns it)."""
        event = {
            "id": event_id or _new_id("evt"),
            "object": "event",
            "api_version": "2026-10-28.endive",
            "created": int(time.time()),
            "type": type_,
            "livemode": False,
            "pending_webhooks": 1,
            "request": {"id": None, "idempotency_key": None},
            "data": {"object": json.loads(json.dumps(obj))},
        }
        with self._lock:
            self.events[event["id"]] = event
        return event

    def session_event(self, type_: str, session_id: str) -> dict:
        with self._lock:
            return self.event(type_, self._public(self._session(session_id)))

    def refunded_event(self, session_id: str) -> dict:
        with self._lock:
            return self.event("charge.refunded", self.charge_for(session_id))

    def refund_from_dashboard(self, session_id: str, cents: int) -> dict:
        """Someone refunds the payment from Stripe's dashboard (no request of ours)."""
        with self._lock:
            intent = self.sessions[session_id]["payment_intent"]
            return self._refund_create({"payment_intent": intent, "amount": str(cents)})

    def refund_ends(self, refund_id: str, status: str) -> dict:
        """The card network's answer: ``succeeded``, or ``failed`` (the money comes back)."""
        with self._lock:
            refund = self.refunds[refund_id]
            if status in ("failed", "canceled") and refund["status"] not in ("failed", "canceled"):
                charge = self.charges[refund["charge"]]
                charge["amount_refunded"] -= refund["amount"]
                charge["refunded"] = False
            refund["status"] = status
            return refund

    def refund_event(self, refund_id: str, type_: str = "refund.updated") -> dict:
        with self._lock:
            return self.event(type_, self.refunds[refund_id])

    def sign(self, payload: str, *, timestamp: int | None = None, secret: str | None = None):
        timestamp = int(time.time()) if timestamp is None else timestamp
        signed = f"{timestamp}.{payload}".encode()
        digest = hmac.new((secret or self.webhook_secret).encode(), signed, hashlib.sha256)
        return f"t={timestamp},v1={digest.hexdigest()}"

    def signed(self, event: dict, **kwargs) -> tuple[str, str]:
        """``(payload, Stripe-Signature header)`` for ``event``."""
        payload = json.dumps(event)
        return payload, self.sign(payload, **kwargs)

    def deliver(self, url: str, event: dict, **kwargs) -> int:
        """POST the signed event to a webhook URL, as Stripe does; return the status."""
        payload, signature = self.signed(event, **kwargs)
        request = urllib.request.Request(
            url,
            data=payload.encode(),
            headers={"Content-Type": "application/json", "Stripe-Signature": signature},
            method="POST",
        )
        try:
            with urllib.request.urlopen(request, timeout=30) as response:
                return response.status
        except urllib.error.HTTPError as error:
            return error.code

    # -- The hosted payment page ----------------------------------------------------------

    def page(self, session_id: str) -> tuple[int, str]:
        with self._lock:
            session = self.sessions.get(session_id)
        if session is None:
            return 404, "<h1>Session inconnue</h1>"
        amount = f"{session['amount_total'] / 100:.2f}".replace(".", ",")
        if session["status"] != "open":
            return 200, "<h1>Cette session de paiement n'est plus ouverte.</h1>"
        cancel = html.escape(session["cancel_url"] or "")
        return 200, (
            f'<h1>Paiement (test)</h1><p id="amount">{amount} €</p>'
            f'<form method="post" action="/pay/{session_id}">'
            '<button name="outcome" value="card">Payer</button> '
            '<button name="outcome" value="later">Payer par prélèvement</button>'
            f'</form><p><a href="{cancel}">Retour au marché</a></p>'
        )

    def page_submit(self, session_id: str, outcome: str) -> str:
        """Pay from the page; the URL to send the browser to."""
        session = self.pay(session_id, later=outcome == "later")
        return session["success_url"].replace("{CHECKOUT_SESSION_ID}", session_id)


def _handler_for(fake: FakeStripe):
    class Handler(BaseHTTPRequestHandler):
        def log_message(self, *args):  # quiet: tests read `fake.requests`
            pass

        def do_GET(self):
            self._serve("GET")

        def do_POST(self):
            self._serve("POST")

        def _serve(self, method):
            parts = urlsplit(self.path)
            body = self.rfile.read(int(self.headers.get("Content-Length") or 0)).decode()
            pairs = parse_qsl(parts.query if method == "GET" else body, keep_blank_values=True)
            if parts.path.startswith("/pay/"):
                return self._page(method, parts.path.removeprefix("/pay/"), dict(pairs))
            headers = {name.lower(): value for name, value in self.headers.items()}
            status, payload = fake.api(method, parts.path, headers, pairs)
            # Tell the library not to retry a failure we made on purpose.
            extra = {"Stripe-Should-Retry": "false"} if status >= 500 else {}
            if isinstance(payload, str):
                return self._reply(status, payload, "text/plain", extra)
            return self._reply(status, json.dumps(payload), "application/json", extra)

        def _page(self, method, session_id, form):
            if method == "POST":
                try:
                    target = fake.page_submit(session_id, form.get("outcome", "card"))
                except StripeError as error:
                    return self._reply(400, f"<p>{html.escape(str(error))}</p>", "text/html")
                self.send_response(303)
                self.send_header("Location", target)
                self.send_header("Content-Length", "0")
                self.end_headers()
                return None
            status, text = fake.page(session_id)
            document = f'<!doctype html><html lang="fr"><meta charset="utf-8"><body>{text}</body>'
            return self._reply(status, document, "text/html; charset=utf-8")

        def _reply(self, status, text, content_type, extra=None):
            data = text.encode()
            self.send_response(status)
            for name, value in (extra or {}).items():
                self.send_header(name, value)
            self.send_header("Content-Type", content_type)
            self.send_header("Content-Length", str(len(data)))
            self.send_header("Request-Id", f"req_{uuid.uuid4().hex[:14]}")
            self.end_headers()
            self.wfile.write(data)

    return Handler


@pytest.fixture(name="fake_stripe")
def fake_stripe_fixture(settings):
    """A running fake Stripe, and the app configured to use it."""
    fake = FakeStripe().start()
    settings.STRIPE_SECRET_KEY = SECRET_KEY
    settings.STRIPE_PUBLISHABLE_KEY = PUBLISHABLE_KEY
    settings.STRIPE_WEBHOOK_SECRET = WEBHOOK_SECRET
    settings.STRIPE_API_BASE = fake.url
    yield fake
    fake.stop()
