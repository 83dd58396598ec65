"""Signed but malformed webhook events: refused with a 400 at the boundary (or, when
at odds with our records, by their job), nothing written to the ledger, and each
one recorded for the admin to look into."""

import copy
import json
import math

import pytest
from django.urls import reverse
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from payments.models import RejectedStripeEvent, StripeEvent, Transaction

NUL = "\x00"


def _paid_event(fake_stripe, checkout) -> dict:
    fake_stripe.pay(checkout.session_id)
    return fake_stripe.session_event("checkout.session.completed", checkout.session_id)


def _set(path: str, value):
    """A change to an event: ``path`` names the field (``data.object.amount_total``)."""

    def change(event):
        *parents, last = path.split(".")
        node = event
        for name in parents:
            node = node[int(name)] if isinstance(node, list) else node[name]
        node[int(last) if isinstance(node, list) else last] = value
        return event

    return change


SESSION_DEFECTS = {
    "nul-in-event-id": _set("id", f"evt_{NUL}1"),
    "nul-in-metadata": _set("data.object.metadata.note", f"a{NUL}b"),
    "nul-in-a-key": _set("data.object.metadata", {f"k{NUL}": "v"}),
    "nan-amount": _set("data.object.amount_total", math.nan),
    "infinite-amount": _set("data.object.amount_total", math.inf),
    "amount-as-text": _set("data.object.amount_total", "1360"),
    "amount-as-float": _set("data.object.amount_total", 13.6),
    "amount-as-boolean": _set("data.object.amount_total", True),
    "negative-amount": _set("data.object.amount_total", -1360),
    "huge-amount": _set("data.object.amount_total", 10**30),
    "intent-as-list": _set("data.object.payment_intent", ["pi_1"]),
    "status-as-object": _set("data.object.status", {"complete": True}),
    "metadata-as-list": _set("data.object.metadata", ["payment_id"]),
    "metadata-value-as-object": _set("data.object.metadata.payment_id", {"id": 1}),
    "id-as-number": _set("data.object.id", 12),
    "type-as-number": _set("type", 3),
    "nested-too-deep": _set("data.object.metadata", json.loads("[" * 200 + "]" * 200)),
}


@pytest.fixture
def malformed_deliver(deliver):
    """``malformed_deliver(event)``: delivered properly signed; checks nothing was written."""

    def _deliver(event):
        postings, handled = Transaction.objects.count(), StripeEvent.objects.count()
        response = deliver(event)
        assert response.status_code == 400
        assert (Transaction.objects.count(), StripeEvent.objects.count()) == (postings, handled)
        return RejectedStripeEvent.objects.order_by("-pk").first()

    return _deliver


@pytest.fixture
def rejected_by_its_job(deliver):
    """``rejected_by_its_job(event)``: well shaped, so stored (200), but at odds with
    our records: its job applies nothing and keeps it for the admin."""

    def _deliver(event):
        postings = Transaction.objects.count()
        response = deliver(event)
        assert response.status_code == 200
        assert [ran.outcome for ran in response.jobs] == ["succeeded"]  # done with it: no retry
        stored = StripeEvent.objects.get(event_id=event["id"])
        assert stored.applied_at is None and "ImpossibleRefund" in stored.last_error
        assert Transaction.objects.count() == postings
        return RejectedStripeEvent.objects.get(event_id=event["id"])

    return _deliver


@pytest.mark.parametrize("defect", list(SESSION_DEFECTS), ids=list(SESSION_DEFECTS))
def test_a_signed_session_event_of_the_wrong_shape_is_refused_and_recorded(
    checkout, fake_stripe, malformed_deliver, defect
):
    event = SESSION_DEFECTS[defect](_paid_event(fake_stripe, checkout))

    rejected = malformed_deliver(event)

    assert rejected is not None and rejected.reason
    assert checkout.payment.status == "pending"


def _refunded_event(fake_stripe, checkout, deliver) -> dict:
    assert deliver(_paid_event(fake_stripe, checkout)).status_code == 200
    fake_stripe.refund_from_dashboard(checkout.session_id, 500)
    return fake_stripe.refunded_event(checkout.session_id)


REFUND_DEFECTS = {
    "refunds-as-text": _set("data.object.refunds", "re_1"),
    "refund-list-as-object": _set("data.object.refunds.data", {"id": "re_1"}),
    "refund-amount-as-text": _set("data.object.refunds.data.0.amount", "500"),
    "refund-amount-nan": _set("data.object.refunds.data.0.amount", math.nan),
    "refund-status-as-number": _set("data.object.refunds.data.0.status", 1),
    "refund-made-in-year-ten-thousand": _set("data.object.refunds.data.0.created", 10**12),
    "refund-nul-in-id": _set("data.object.refunds.data.0.id", f"re_{NUL}"),
    "refund-intent-as-object": _set("data.object.refunds.data.0.payment_intent", {"id": "pi"}),
}


@pytest.mark.parametrize("defect", list(REFUND_DEFECTS), ids=list(REFUND_DEFECTS))
def test_a_signed_refund_event_of_the_wrong_shape_is_refused_and_recorded(
    checkout, fake_stripe, deliver, malformed_deliver, defect
):
    event = REFUND_DEFECTS[defect](_refunded_event(fake_stripe, checkout, deliver))

    rejected = malformed_deliver(event)

    assert rejected is not None and rejected.reason
    checkout.refresh_from_db()
    assert checkout.refunded == 0


def test_a_refund_larger_than_its_session_is_rejected_by_its_job_and_recorded(
    checkout, fake_stripe, deliver, rejected_by_its_job
):
    event = _set("data.object.refunds.data.0.amount", 1_000_000)(
        _refunded_event(fake_stripe, checkout, deliver)
    )

    rejected = rejected_by_its_job(event)

    assert rejected.reason
    checkout.refresh_from_db()
    assert checkout.refunded == 0


def test_a_refund_update_larger_than_its_session_is_rejected_by_its_job_and_recorded(
    checkout, fake_stripe, deliver, rejected_by_its_job
):
    _refunded_event(fake_stripe, checkout, deliver)
    refund = copy.deepcopy(next(iter(fake_stripe.refunds.values())))
    refund["amount"] = 1_000_000

    rejected = rejected_by_its_job(fake_stripe.event("refund.updated", refund))

    assert "10000.00" in rejected.reason and "13.60" in rejected.reason


def test_a_refund_update_naming_its_intent_as_an_object_is_refused(
    checkout, fake_stripe, deliver, malformed_deliver
):
    _refunded_event(fake_stripe, checkout, deliver)
    refund = copy.deepcopy(next(iter(fake_stripe.refunds.values())))
    refund["payment_intent"] = {"id": refund["payment_intent"]}

    assert malformed_deliver(fake_stripe.event("refund.updated", refund)) is not None


def test_a_rejected_event_keeps_what_came_for_the_admin(checkout, fake_stripe, malformed_deliver):
    event = _set("data.object.metadata.note", f"a{NUL}b")(_paid_event(fake_stripe, checkout))

    rejected = malformed_deliver(event)

    assert rejected.event_id == event["id"]
    assert rejected.type == "checkout.session.completed"
    assert "note" in rejected.payload and NUL not in rejected.payload
    assert rejected.deliveries == 1
    malformed_deliver(event)  # Stripe delivers it again: the same record
    rejected.refresh_from_db()
    assert rejected.deliveries == 2
    assert RejectedStripeEvent.objects.count() == 1


def test_an_unsigned_malformed_body_is_refused_but_not_recorded(client, db):
    response = client.post(
        reverse("stripe_webhook"),
        "{bad",
        content_type="application/json",
        HTTP_STRIPE_SIGNATURE="x",
    )

    assert response.status_code in (400, 404)
    assert not RejectedStripeEvent.objects.exists()


# -- Fuzzing: whatever a signed event holds, never a 500 ------------------------------------

SCALARS = (
    st.none()
    | st.booleans()
    | st.integers(min_value=-(10**20), max_value=10**20)
    | st.floats(allow_nan=True, allow_infinity=True)
    | st.text(max_size=20)
)


def _nested(children):
    return st.one_of(
        st.lists(children, max_size=3),
        st.dictionaries(st.text(max_size=8), children, max_size=3),
    )


JSON_VALUES = st.recursive(SCALARS, _nested, max_leaves=8)
SESSION_FIELDS = ["id", "amount_total", "status", "payment_status", "payment_intent", "metadata"]
REFUND_FIELDS = ["id", "amount", "status", "charge", "payment_intent", "metadata", "created"]


@settings(
    max_examples=40,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(
    kind=st.sampled_from(["checkout.session.completed", "refund.updated", "charge.refunded"]),
    field=st.sampled_from(sorted(set(SESSION_FIELDS + REFUND_FIELDS + ["refunds"]))),
    value=JSON_VALUES,
)
def test_a_signed_event_with_any_value_anywhere_never_answers_a_500(
    checkout, fake_stripe, deliver, kind, field, value
):
    if not StripeEvent.objects.exists():  # once: the session is paid, a refund made
        _refunded_event(fake_stripe, checkout, deliver)
    refund = next(iter(fake_stripe.refunds.values()))
    obj = fake_stripe.charge_for(checkout.session_id) if kind == "charge.refunded" else refund
    if kind == "checkout.session.completed":
        obj = fake_stripe.sessions[checkout.session_id]
    obj = {k: v for k, v in copy.deepcopy(obj).items() if not k.startswith("_")}
    obj[field] = value
    postings = Transaction.objects.count()

    response = deliver(fake_stripe.event(kind, obj))  # its job crashing would raise here

    assert response.status_code in (200, 400)
    assert {ran.outcome for ran in response.jobs} <= {"succeeded", "retry"}  # retry: not yet
    if response.status_code == 400:
        assert Transaction.objects.count() == postings


def test_the_admin_lists_the_rejected_events(admin_client, checkout, fake_stripe, deliver):
    event = _set("data.object.amount_total", "1360")(_paid_event(fake_stripe, checkout))
    assert deliver(event).status_code == 400

    response = admin_client.get(reverse("admin:payments_rejectedstripeevent_changelist"))

    assert response.status_code == 200
    assert event["id"] in response.content.decode()
