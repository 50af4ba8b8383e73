"""Stripe's own Python library uses the Stripe stand-in as it uses Stripe.

Starts `switchboard serve --demo` (its Stripe stand-in prints its address, secret key and
webhook secret), points stripe-python at the stand-in, and does what Switchboard does through
the API: a Checkout Session for an invoice (bracket-encoded line items and metadata, an
Idempotency-Key replayed and misused), retrieving it, paying it on the hosted page with a test
card, reading the PaymentIntent, refunding part of it and refusing too much; Stripe's errors
arrive as the library's own exception classes. Then an event signed by stripe-python's
signature scheme is posted to Switchboard's webhook, which accepts it, and one signed with a
wrong secret, which is refused.

Run:  python3 -m venv .venv && .venv/bin/pip install -r requirements.txt
      .venv/bin/python stripe_client.py ../../target/debug/switchboard
"""

import hashlib
import hmac
import json
import re
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.parse
import urllib.request

import stripe


def fail(message):
    print(f"FAIL: {message}", file=sys.stderr)
    sys.exit(1)


def start(binary, tmp):
    proc = subprocess.Popen(
        [binary, "serve", "--demo", "--listen", "127.0.0.1:0", "--standin-listen", "127.0.0.1:0",
         "--database", f"{tmp}/sb.db", "--data-dir", f"{tmp}/data"],
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    seen, found = [], {}
    deadline = time.time() + 60
    while time.time() < deadline:
        line = proc.stdout.readline()
        if not line:
            fail("the server exited early:\n" + "".join(seen))
        seen.append(line)
        if m := re.search(r"Stripe stand-in at (http://127\.0\.0\.1:\d+)", line):
            found["standin"] = m.group(1)
        if m := re.search(r"key: (sk_test_\w+)\s+webhook secret: (whsec_\w+)", line):
            found["key"], found["secret"] = m.group(1), m.group(2)
        if m := re.search(r"switchboard listening address=(127\.0\.0\.1:\d+)", line):
            found["app"] = f"http://{m.group(1)}"
            break
    if len(found) != 4:
        fail("the stand-in's address and keys were not printed:\n" + "".join(seen))
    return proc, found


def main():
    binary = sys.argv[1]
    with tempfile.TemporaryDirectory() as tmp:
        proc, found = start(binary, tmp)
        try:
            check(found)
        finally:
            proc.terminate()
            proc.wait(timeout=20)
    print("stripe-python uses the stand-in like Stripe: sessions, idempotency, payment, refunds, errors, webhooks")


def session_params(amount):
    return dict(
        mode="payment",
        line_items=[{
            "price_data": {"currency": "usd", "unit_amount": amount, "product_data": {"name": "Invoice INV-9001"}},
            "quantity": 1,
        }],
        success_url="https://example.com/i/x?paid={CHECKOUT_SESSION_ID}",
        cancel_url="https://example.com/i/x",
        client_reference_id="INV-9001",
        customer_email="dana@example.com",
        metadata={"org_id": "1", "invoice_id": "9001"},
        payment_intent_data={"metadata": {"org_id": "1", "invoice_id": "9001"}},
    )


def check(found):
    stripe.api_key = found["key"]
    stripe.api_base = found["standin"]
    stripe.max_network_retries = 0

    session = stripe.checkout.Session.create(idempotency_key="inv-9001-v1", **session_params(21604))
    if not session.id.startswith("cs_test_") or session.status != "open" or session.payment_status != "unpaid":
        fail(f"created session: {session}")
    if session.amount_total != 21604 or session.currency != "usd" or session.metadata["invoice_id"] != "9001":
        fail(f"session amounts and metadata: {session}")
    again = stripe.checkout.Session.create(idempotency_key="inv-9001-v1", **session_params(21604))
    if again.id != session.id:
        fail(f"an idempotent replay made a second session: {again.id} != {session.id}")
    try:
        stripe.checkout.Session.create(idempotency_key="inv-9001-v1", **session_params(100))
        fail("reusing an idempotency key with other parameters was accepted")
    except stripe.error.IdempotencyError:
        pass
    try:
        params = session_params(100)
        del params["success_url"]
        stripe.checkout.Session.create(**params)
        fail("a session without success_url was accepted")
    except stripe.error.InvalidRequestError as e:
        if e.param != "success_url":
            fail(f"missing parameter named {e.param!r}")
    try:
        stripe.checkout.Session.create(api_key="sk_test_wrong", **session_params(100))
        fail("a wrong key was accepted")
    except stripe.error.AuthenticationError:
        pass
    try:
        stripe.checkout.Session.retrieve("cs_test_nope")
        fail("an unknown session was found")
    except stripe.error.InvalidRequestError as e:
        if e.http_status != 404:
            fail(f"unknown session: HTTP {e.http_status}")

    # Pay on the hosted page as a customer's browser does.
    form = urllib.parse.urlencode({"email": "dana@example.com", "card_number": "4242 4242 4242 4242",
                                   "card_expiry": "12 / 34", "card_cvc": "123"}).encode()

    class NoRedirect(urllib.request.HTTPRedirectHandler):
        def redirect_request(self, *args):
            return None

    try:
        urllib.request.build_opener(NoRedirect).open(urllib.request.Request(session.url, data=form))
        fail("paying did not redirect back")
    except urllib.error.HTTPError as e:
        if e.code != 303 or f"paid={session.id}" not in e.headers["Location"]:
            fail(f"after paying: {e.code} {e.headers.get('Location')}")
    paid = stripe.checkout.Session.retrieve(session.id)
    if paid.status != "complete" or paid.payment_status != "paid" or not paid.payment_intent:
        fail(f"paid session: {paid}")
    intent = stripe.PaymentIntent.retrieve(paid.payment_intent)
    if intent.status != "succeeded" or intent.amount != 21604 or intent.metadata["invoice_id"] != "9001":
        fail(f"payment intent: {intent}")

    refund = stripe.Refund.create(payment_intent=intent.id, amount=5000, idempotency_key="refund-9001-0")
    if refund.status != "succeeded" or refund.amount != 5000:
        fail(f"refund: {refund}")
    try:
        stripe.Refund.create(payment_intent=intent.id, amount=20000)
        fail("refunding more than remains was accepted")
    except stripe.error.InvalidRequestError:
        pass

    # Switchboard's webhook takes an event signed the way Stripe signs (and stripe-python
    # checks: HMAC-SHA256 of "t.body" with the endpoint secret), and refuses a wrong secret.
    body = json.dumps({"id": "evt_client_1", "object": "event", "type": "customer.created", "created": int(time.time()),
                       "livemode": False, "data": {"object": {"object": "customer", "id": "cus_1"}}}).encode()
    t = int(time.time())
    for secret, want in [(found["secret"], 200), ("whsec_wrong", 400)]:
        sig = hmac.new(secret.encode(), f"{t}.".encode() + body, hashlib.sha256).hexdigest()
        header = f"t={t},v1={sig}"
        if secret == found["secret"]:
            # The header is one stripe-python itself accepts.
            stripe.WebhookSignature.verify_header(body.decode(), header, secret, tolerance=300)
        req = urllib.request.Request(f"{found['app']}/webhooks/stripe", data=body,
                                     headers={"Stripe-Signature": header, "Content-Type": "application/json"})
        try:
            code = urllib.request.urlopen(req).status
        except urllib.error.HTTPError as e:
            code = e.code
        if code != want:
            fail(f"webhook signed with {secret[:10]}...: HTTP {code}, want {want}")


if __name__ == "__main__":
    main()
