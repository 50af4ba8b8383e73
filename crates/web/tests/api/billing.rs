//! Invoices and payment end to end: drafted at Pending close from the line items, edited,
//! sent by text and email, opened and paid through the Stripe stand-in's checkout page, the
//! signed event reconciling the payment and closing the job; office payments, reminders with
//! the live amount, refunds with credit notes, void and re-issue; Stripe's events verified,
//! deduplicated and applied in any order.

use jiff::SignedDuration;
use switchboard_core::billing::{self, Status};
use switchboard_core::clock::Clock;
use switchboard_core::ids::{BrandId, CustomerId, JobId, OrgId};
use switchboard_core::jobs::{self, JobStatus};

use crate::helpers::{Browser, TestApp, spawn_app};

const DANA: &str = "+17205550111";
const BRAND_NUMBER: &str = "+17205550100";

struct Shop {
    app: TestApp,
    org: OrgId,
    brand: BrandId,
    customer: CustomerId,
    office: Browser,
    admin_email: String,
}

/// A plumbing brand that texts, with an 8.25% sales tax, and its customer Dana.
async fn shop() -> Shop {
    let app = spawn_app().await;
    let (org, admin) = app.org_with_admin("acme").await;
    let brand = app.sms_brand(org, "Acme Plumbing", BRAND_NUMBER).await;
    let office = app.signed_in(&admin.email).await;
    let r = office
        .post_form(
            &format!("/settings/billing/{}", brand.id.0),
            &[
                ("invoice_prefix", "INV-"),
                ("next_invoice_number", "1001"),
                ("credit_prefix", "CN-"),
                ("nudge_days", "3, 7"),
                ("tax_rates", "Sales tax 8.25"),
                ("footer", "Payment due on receipt."),
            ],
        )
        .await;
    assert_eq!(r.status(), 303, "billing settings saved");
    let customer = switchboard_core::customers::create(
        &app.db,
        &app.clock,
        org,
        &switchboard_core::customers::CustomerInput {
            name: "Dana Whitfield".into(),
            phone: DANA.into(),
            email: "dana@example.com".into(),
            address: "12 Elm St, Springfield".into(),
            ..Default::default()
        },
    )
    .await
    .unwrap();
    Shop { app, org, brand: brand.id, customer: customer.id, office, admin_email: admin.email.clone() }
}

impl Shop {
    /// A water heater flush booked for two hours from `start`, with nobody on it yet.
    async fn booked_job(&self, start: &str) -> JobId {
        let start: jiff::Timestamp = start.parse().unwrap();
        let input = jobs::JobInput {
            brand: self.brand,
            customer: self.customer,
            service: "Water heater flush".into(),
            service_location: None,
            address: Some("12 Elm St, Springfield".into()),
            scheduled_start: Some(start),
            scheduled_end: Some(start + SignedDuration::from_hours(2)),
            techs: vec![],
        };
        jobs::create(&self.app.db, &self.app.clock, self.org, "api", &input).await.unwrap().id
    }

    /// A job with the technician's two line items, walked to Pending close on the console.
    async fn finished_job(&self) -> JobId {
        let job = self.booked_job("2026-11-22T18:00:00Z").await;
        self.finish(job).await;
        job
    }

    /// The technician's two line items ($189.00 untaxed, 2 x $12.49 taxed) added on the job
    /// page, and the job walked to Pending close (its invoice is drafted by the engine).
    async fn finish(&self, job: JobId) {
        for (desc, qty, price, taxable) in
            [("Water heater flush", "1", "189", false), ("Anode rod", "2", "12.49", true)]
        {
            let mut fields = vec![("description", desc), ("quantity", qty), ("unit_price", price)];
            // A form sends the checkbox only when ticked: the flush is not taxable.
            if taxable {
                fields.push(("taxable", "1"));
            }
            let r = self.office.post_form(&format!("/jobs/{}/line-items", job.0), &fields).await;
            assert_eq!(r.status(), 303);
        }
        for to in ["on_site", "pending_close"] {
            let r = self.office.post_form(&format!("/jobs/{}/status", job.0), &[("to", to)]).await;
            assert_eq!(r.status(), 303, "to {to}");
        }
        self.run_engine().await;
    }

    async fn run_engine(&self) {
        for _ in 0..6 {
            self.app.engine.tick().await.unwrap();
            self.app.clock.advance(SignedDuration::from_secs(2));
        }
        self.app.stripe.set_now(Some(self.app.clock.now()));
    }

    async fn invoice_of(&self, job: JobId) -> billing::Invoice {
        let all = billing::for_job(&self.app.db, self.org, job).await.unwrap();
        if all.is_empty() {
            let errors: Vec<(String, Option<String>)> =
                sqlx::query_as("select kind, last_error from work_items where last_error is not null")
                    .fetch_all(self.app.db.pool())
                    .await
                    .unwrap();
            panic!("no invoice; engine errors: {errors:?}");
        }
        all.into_iter().next().unwrap()
    }

    /// Sends the invoice by text and email; returns the link texted to Dana.
    async fn send(&self, invoice: i64) -> String {
        let r = self.office.post_form(&format!("/invoices/{invoice}/send"), &[("text", "on"), ("email", "on")]).await;
        assert_eq!(r.status(), 303, "{}", r.text().await.unwrap_or_default());
        self.run_engine().await;
        let text = self.app.sms.sent_to(DANA).last().expect("texted").body.clone();
        link_in(&text)
    }

    /// The customer's browser: no cookies, redirects not followed.
    fn customer(&self) -> reqwest::Client {
        reqwest::Client::builder().redirect(reqwest::redirect::Policy::none()).build().unwrap()
    }

    /// Pays on the stand-in's checkout page with `card`, as a person would: Pay, then the card form.
    async fn pay(&self, link: &str, card: &str) -> reqwest::Response {
        let customer = self.customer();
        let r = customer.get(format!("{link}/pay")).send().await.unwrap();
        assert_eq!(r.status(), 303, "Pay goes to the checkout page");
        let checkout = r.headers()["location"].to_str().unwrap().to_string();
        assert!(checkout.starts_with(&self.app.stripe.base_url()), "{checkout}");
        let page = customer.get(&checkout).send().await.unwrap().text().await.unwrap();
        assert!(page.contains("Invoice INV-"), "the checkout page names the invoice");
        customer
            .post(&checkout)
            .form(&[
                ("email", "dana@example.com"),
                ("card_number", card),
                ("card_expiry", "12 / 34"),
                ("card_cvc", "123"),
            ])
            .send()
            .await
            .unwrap()
    }
}

fn link_in(text: &str) -> String {
    let at = text.find("http").expect("a link in the text");
    text[at..].split_whitespace().next().unwrap().to_string()
}

#[tokio::test]
async fn an_invoice_is_drafted_at_pending_close_sent_paid_online_and_the_job_closes() {
    let s = shop().await;
    let job = s.finished_job().await;
    let inv = s.invoice_of(job).await;
    assert_eq!(inv.number, "INV-1001");
    assert_eq!(inv.status, Status::Draft);
    // $189.00 untaxed + 2 x $12.49 taxed at 8.25% ($2.06) = $216.04.
    let rows: Vec<(String, String)> = inv.summary().into_iter().map(|(l, m)| (l, m.to_string())).collect();
    assert_eq!(
        rows,
        [
            ("Subtotal".to_string(), "$213.98".to_string()),
            ("Sales tax (8.25%)".into(), "$2.06".into()),
            ("Total".into(), "$216.04".into()),
            ("Amount due".into(), "$216.04".into()),
        ]
    );
    let code = jobs::get(&s.app.db, s.org, job).await.unwrap().code;
    let (_, html) = s.office.get_text(&format!("/jobs/{}", job.0)).await;
    assert!(html.contains("INV-1001") && html.contains("Draft"), "the job page lists its invoice");
    let (status, html) = s.office.get_text(&format!("/invoices/{}", inv.id)).await;
    assert_eq!(status, 200);
    assert!(html.contains("Anode rod") && html.contains("$216.04") && html.contains("Drafted from"), "{html}");

    let link = s.send(inv.id).await;
    let text = s.app.sms.sent_to(DANA).last().unwrap().body.clone();
    assert_eq!(
        text,
        format!(
            "Hi Dana, here is your invoice INV-1001 from Acme Plumbing for Water heater flush ({code}): $216.04 due. View and pay: {link}"
        )
    );
    assert!(link.starts_with(&format!("{}/i/", s.app.base)), "{link}");
    let mail = s.app.mail.expect_mail("dana@example.com", std::time::Duration::from_secs(5)).await.unwrap();
    assert_eq!(mail.subject, "Invoice INV-1001 from Acme Plumbing: $216.04 due");
    assert!(mail.text.contains(&format!("View and pay: {}", link.split("/i/").next().unwrap())), "{}", mail.text);
    assert_eq!(billing::get(&s.app.db, s.org, inv.id).await.unwrap().status, Status::Sent);

    // Dana opens it: viewed, and the Pay button asks for what is due.
    let page = s.customer().get(&link).send().await.unwrap();
    assert_eq!(page.status(), 200);
    assert_eq!(page.headers()["cache-control"], "no-store");
    let html = page.text().await.unwrap();
    assert!(
        html.contains("Pay $216.04") && html.contains("Sales tax (8.25%)") && html.contains("Payment due on receipt.")
    );
    assert_eq!(billing::get(&s.app.db, s.org, inv.id).await.unwrap().status, Status::Viewed);

    // A declined card changes nothing.
    let r = s.pay(&link, "4000 0000 0000 0002").await;
    assert_eq!(r.status(), 402);
    s.app.stripe.settled().await;
    assert_eq!(billing::get(&s.app.db, s.org, inv.id).await.unwrap().status, Status::Viewed);

    // The same open session is offered again (one session while it is open, for that amount).
    let again = s.customer().get(format!("{link}/pay")).send().await.unwrap();
    let first_session = again.headers()["location"].to_str().unwrap().to_string();
    let r = s.pay(&link, "4242 4242 4242 4242").await;
    assert_eq!(r.status(), 303);
    let back = r.headers()["location"].to_str().unwrap().to_string();
    assert!(back.starts_with(&format!("{link}?paid=cs_")), "back to the invoice: {back}");
    assert_eq!(s.app.stripe.sessions().len(), 1, "one session, reused: {first_session}");
    s.app.stripe.settled().await;
    let paid = billing::get(&s.app.db, s.org, inv.id).await.unwrap();
    assert_eq!((paid.status, paid.due.minor, paid.paid.minor), (Status::Paid, 0, 21604));
    let html = s.customer().get(&back).send().await.unwrap().text().await.unwrap();
    assert!(html.contains("Thank you! Your payment is received: INV-1001 is paid in full."), "{html}");
    assert!(!html.contains("Pay $"), "nothing left to pay");

    // The job closed itself, with the reason in its history; the reminders are gone.
    let detail = jobs::detail(&s.app.db, s.org, job).await.unwrap();
    assert_eq!(detail.job.status, JobStatus::Completed);
    assert!(
        detail.history.iter().any(|e| e.note.as_deref() == Some("INV-1001 paid in full ($216.04)")),
        "{:?}",
        detail.history
    );
    let (pending,): (i64,) =
        sqlx::query_as("select count(*) from work_items where group_key = $1 and status in ('pending', 'running')")
            .bind(billing::nudge_group(inv.id))
            .fetch_one(s.app.db.pool())
            .await
            .unwrap();
    assert_eq!(pending, 0, "no reminder after payment");
    // Every event was accepted once (signed, verified).
    let deliveries = s.app.stripe.deliveries();
    assert!(!deliveries.is_empty() && deliveries.iter().all(|d| d.status == Some(200)), "{deliveries:?}");

    // The PDF holds the same numbers.
    let pdf = s.customer().get(format!("{link}/pdf")).send().await.unwrap().bytes().await.unwrap();
    let lines = switchboard_core::pdf::lines_of(&pdf).unwrap().join("\n");
    for want in ["Invoice INV-1001", "Anode rod (T)", "$24.98", "Sales tax (8.25%)", "$216.04", "Amount due"] {
        assert!(lines.contains(want), "{want} in\n{lines}");
    }
}

#[tokio::test]
async fn office_payments_reminders_with_the_live_amount_and_their_end() {
    let s = shop().await;
    let job = s.finished_job().await;
    let inv = s.invoice_of(job).await;
    let link = s.send(inv.id).await;
    let texts = s.app.sms.sent_to(DANA).len();

    // An amount above what is due, or no method, is refused beside the field.
    let r =
        s.office.post_form(&format!("/invoices/{}/payments", inv.id), &[("amount", "300"), ("method", "cash")]).await;
    assert_eq!(r.status(), 422);
    assert!(r.text().await.unwrap().contains("only $216.04 is due"));
    let r = s.office.post_form(&format!("/invoices/{}/payments", inv.id), &[("amount", "100"), ("method", "")]).await;
    assert_eq!(r.status(), 422);
    assert!(r.text().await.unwrap().contains("choose how it was paid"));
    let r = s
        .office
        .post_form(
            &format!("/invoices/{}/payments", inv.id),
            &[("amount", "100"), ("method", "check"), ("note", "#1042")],
        )
        .await;
    assert_eq!(r.status(), 303);
    let part = billing::get(&s.app.db, s.org, inv.id).await.unwrap();
    assert_eq!((part.status, part.due.to_string()), (Status::PartlyPaid, "$116.04".to_string()));
    assert_eq!(jobs::get(&s.app.db, s.org, job).await.unwrap().status, JobStatus::PendingClose, "still owed");

    // Three days on, the reminder says what is due now, not what was due when it was set.
    s.app.clock.advance(SignedDuration::from_hours(72));
    s.run_engine().await;
    let sent = s.app.sms.sent_to(DANA);
    assert_eq!(sent.len(), texts + 1, "one reminder");
    let code = jobs::get(&s.app.db, s.org, job).await.unwrap().code;
    let reminder = sent.last().unwrap().body.clone();
    let reminder_link = link_in(&reminder);
    assert_eq!(
        reminder,
        format!("Hi Dana, $116.04 is still due for {code} with Acme Plumbing. Pay here: {reminder_link}")
    );
    assert_ne!(reminder_link, link, "each message has its own link");
    assert_eq!(s.customer().get(&reminder_link).send().await.unwrap().status(), 200);

    // Paid in cash (signed in again: days passed): the job closes and the day-7 reminder
    // never goes.
    let office = s.app.signed_in(&s.admin_email).await;
    let r =
        office.post_form(&format!("/invoices/{}/payments", inv.id), &[("amount", "116.04"), ("method", "cash")]).await;
    assert_eq!(r.status(), 303);
    assert_eq!(billing::get(&s.app.db, s.org, inv.id).await.unwrap().status, Status::Paid);
    assert_eq!(jobs::get(&s.app.db, s.org, job).await.unwrap().status, JobStatus::Completed);
    s.app.clock.advance(SignedDuration::from_hours(24 * 5));
    s.run_engine().await;
    assert_eq!(s.app.sms.sent_to(DANA).len(), texts + 1, "no reminder for a paid invoice");
    let office = s.app.signed_in(&s.admin_email).await;
    let (_, html) = office.get_text(&format!("/invoices/{}", inv.id)).await;
    assert!(html.contains("Paid $100.00 by check") && html.contains("Paid $116.04 in cash"), "timeline");
}

#[tokio::test]
async fn sending_is_refused_with_the_reason_when_the_customer_cannot_be_reached() {
    let s = shop().await;
    let job = s.finished_job().await;
    let inv = s.invoice_of(job).await;
    let r = s.office.post_form(&format!("/invoices/{}/send", inv.id), &[]).await;
    assert_eq!(r.status(), 422);
    assert!(r.text().await.unwrap().contains("choose text, email or both"));
    // Dana texts STOP: a text is refused by name, nothing goes.
    assert_eq!(s.app.sms.reply(DANA, BRAND_NUMBER, "STOP").await.unwrap(), 200);
    s.app.route_inbound().await;
    assert!(switchboard_core::messaging::is_opted_out(&s.app.db, s.brand, DANA).await.unwrap());
    let before = s.app.sms.sent_to(DANA).len();
    let r = s.office.post_form(&format!("/invoices/{}/send", inv.id), &[("text", "on"), ("email", "on")]).await;
    assert_eq!(r.status(), 422);
    assert!(r.text().await.unwrap().contains("Dana Whitfield opted out of texts from Acme Plumbing"));
    assert_eq!(billing::get(&s.app.db, s.org, inv.id).await.unwrap().status, Status::Draft, "nothing sent");
    s.run_engine().await;
    assert_eq!(s.app.sms.sent_to(DANA).len(), before, "nothing texted");

    // A discount larger than the subtotal is refused beside the field; a fair one is applied
    // before tax, in proportion to the taxable part.
    let r = s.office.post_form(&format!("/invoices/{}/terms", inv.id), &[("discount", "500")]).await;
    assert_eq!(r.status(), 422);
    assert!(r.text().await.unwrap().contains("the discount cannot be more than the subtotal ($213.98)"));
    let r = s
        .office
        .post_form(&format!("/invoices/{}/terms", inv.id), &[("discount", "21.40"), ("discount_label", "Loyalty 10%")])
        .await;
    assert_eq!(r.status(), 303);
    let inv = billing::get(&s.app.db, s.org, inv.id).await.unwrap();
    // 21.40 x 24.98 / 213.98 = 2.4982 -> $2.50 off the taxed part: tax on $22.48 = $1.85.
    assert_eq!(inv.totals.taxable_base.minor, 2248);
    assert_eq!(inv.totals.tax_total.minor, 185);
    assert_eq!(inv.due.to_string(), "$194.43");
}

#[tokio::test]
async fn void_and_reissue_and_the_link_stops() {
    let s = shop().await;
    let job = s.finished_job().await;
    let inv = s.invoice_of(job).await;
    let link = s.send(inv.id).await;
    let r = s.office.post_form(&format!("/invoices/{}/void", inv.id), &[("reason", "")]).await;
    assert_eq!(r.status(), 422);
    assert!(r.text().await.unwrap().contains("say why it is voided"));
    let r = s.office.post_form(&format!("/invoices/{}/void", inv.id), &[("reason", "Wrong address")]).await;
    assert_eq!(r.status(), 303);
    assert_eq!(billing::get(&s.app.db, s.org, inv.id).await.unwrap().status, Status::Void);
    assert_eq!(s.customer().get(&link).send().await.unwrap().status(), 404, "the link stops working");
    let r = s.office.post_form(&format!("/invoices/{}/reissue", inv.id), &[]).await;
    assert_eq!(r.status(), 303);
    let fresh = s.invoice_of(job).await;
    assert_eq!((fresh.number.as_str(), fresh.status, fresh.replaces_id), ("INV-1002", Status::Draft, Some(inv.id)));
    assert_eq!(fresh.totals.total.minor, 21604, "same lines");

    // A paid invoice cannot be voided before a refund.
    s.send(fresh.id).await;
    let r = s
        .office
        .post_form(&format!("/invoices/{}/payments", fresh.id), &[("amount", "216.04"), ("method", "cash")])
        .await;
    assert_eq!(r.status(), 303);
    let r = s.office.post_form(&format!("/invoices/{}/void", fresh.id), &[("reason", "Oops")]).await;
    assert_eq!(r.status(), 409);
    assert!(r.text().await.unwrap().contains("has $216.04 paid on it: refund it first"));
    // Refund the cash: a credit note, the balance reopens, the invoice reads refunded.
    let r = s
        .office
        .post_form(&format!("/invoices/{}/refund", fresh.id), &[("amount", "216.04"), ("reason", "Goodwill")])
        .await;
    assert_eq!(r.status(), 303);
    let back = billing::get(&s.app.db, s.org, fresh.id).await.unwrap();
    assert_eq!((back.status, back.due.minor), (Status::Refunded, 21604));
    let (_, html) = s.office.get_text(&format!("/invoices/{}", fresh.id)).await;
    assert!(html.contains("Refunded $216.04 (credit note CN-1001): Goodwill"), "{html}");
    // The credit note, as a PDF for the office and on the customer's page.
    let pdf = s.office.get(&format!("/invoices/{}/credit-notes/CN-1001", fresh.id)).await.bytes().await.unwrap();
    let text = switchboard_core::pdf::lines_of(&pdf).unwrap().join("\n");
    for want in [
        "Credit note CN-1001",
        "For invoice: INV-1002",
        "Refunded by the office",
        "-$216.04",
        "Reason: Goodwill",
        "Amount due: $216.04",
    ] {
        assert!(text.contains(want), "{want} in\n{text}");
    }
    assert_eq!(s.office.get(&format!("/invoices/{}/credit-notes/CN-9999", fresh.id)).await.status(), 404);
    let link = link_in(&s.app.sms.sent_to(DANA).last().unwrap().body);
    let html = s.customer().get(&link).send().await.unwrap().text().await.unwrap();
    let token = link.rsplit('/').next().unwrap();
    assert!(html.contains(&format!("href=\"/i/{token}/credit-notes/CN-1001\"")), "{html}");
    let r = s.customer().get(format!("{link}/credit-notes/CN-1001")).send().await.unwrap();
    assert_eq!((r.status().as_u16(), r.headers()["content-type"].to_str().unwrap()), (200, "application/pdf"));
}

#[tokio::test]
async fn stripe_events_are_verified_deduplicated_and_correct_in_any_order() {
    let s = shop().await;
    let job = s.finished_job().await;
    let inv = s.invoice_of(job).await;
    let link = s.send(inv.id).await;
    let secret = s.app.stripe.webhook_secret();
    let url = s.app.url("/webhooks/stripe");
    let now = s.app.clock.now().as_second();
    let body = r#"{"id":"evt_forged","object":"event","type":"charge.refunded","created":1,"data":{"object":{"object":"charge","id":"ch_x","amount":21604,"amount_refunded":21604,"currency":"usd","refunded":true,"metadata":{}}}}"#;
    // No signature, a wrong one, an old one: 400, and nothing is recorded.
    let post = |sig: Option<String>| {
        let mut r = reqwest::Client::new().post(&url).header("content-type", "application/json").body(body);
        if let Some(sig) = sig {
            r = r.header("stripe-signature", sig);
        }
        r.send()
    };
    assert_eq!(post(None).await.unwrap().status(), 400);
    let wrong = switchboard_standins::stripe::signature_header("whsec_wrong", now, body.as_bytes());
    assert_eq!(post(Some(wrong)).await.unwrap().status(), 400);
    let old = switchboard_standins::stripe::signature_header(&secret, now - 301, body.as_bytes());
    let r = post(Some(old)).await.unwrap();
    assert_eq!(r.status(), 400);
    assert!(r.text().await.unwrap().contains("old"), "the reason is given");
    let (events,): (i64,) =
        sqlx::query_as("select count(*) from stripe_events").fetch_one(s.app.db.pool()).await.unwrap();
    assert_eq!(events, 0, "nothing recorded");

    // A bank payment whose events arrive reversed and twice: succeeded first, then completed.
    let customer = s.customer();
    let r = customer.get(format!("{link}/pay")).send().await.unwrap();
    let checkout = r.headers()["location"].to_str().unwrap().to_string();
    let session = checkout.rsplit('/').next().unwrap().to_string();
    s.app.stripe.hold();
    s.app.stripe.complete_async(&session).unwrap();
    s.app.stripe.async_succeed(&session).unwrap();
    s.app.stripe.duplicate_next(1);
    s.app.stripe.release_reversed();
    s.app.stripe.settled().await;
    let paid = billing::get(&s.app.db, s.org, inv.id).await.unwrap();
    assert_eq!((paid.status, paid.paid.minor), (Status::Paid, 21604), "paid once");
    let (payments,): (i64,) = sqlx::query_as("select count(*) from invoice_payments where kind = 'payment'")
        .fetch_one(s.app.db.pool())
        .await
        .unwrap();
    assert_eq!(payments, 1);
    // A late expiry never undoes it; a redelivered event is a duplicate.
    let first = s.app.stripe.events()[0]["id"].as_str().unwrap().to_string();
    assert!(s.app.stripe.resend(&first));
    s.app.stripe.settled().await;
    assert_eq!(billing::get(&s.app.db, s.org, inv.id).await.unwrap().status, Status::Paid);
    assert_eq!(jobs::get(&s.app.db, s.org, job).await.unwrap().status, JobStatus::Completed);

    // The office refunds $50 to the card: Stripe refunds it, its charge.refunded event does
    // not count it twice, a credit note is numbered, the balance reopens.
    let r = s.office.post_form(&format!("/invoices/{}/refund", inv.id), &[("amount", "50"), ("reason", "Late")]).await;
    assert_eq!(r.status(), 303, "{}", r.text().await.unwrap_or_default());
    s.app.stripe.settled().await;
    let after = billing::get(&s.app.db, s.org, inv.id).await.unwrap();
    assert_eq!((after.status, after.paid.minor, after.due.minor), (Status::PartlyPaid, 16604, 5000));
    // Then $20 more from Stripe's dashboard: recorded from the event alone.
    let pi = s.app.stripe.sessions()[0]["payment_intent"].as_str().unwrap().to_string();
    s.app.stripe.refund(&pi, Some(2000)).unwrap();
    s.app.stripe.settled().await;
    let after = billing::get(&s.app.db, s.org, inv.id).await.unwrap();
    assert_eq!((after.paid.minor, after.due.minor), (14604, 7000));
    let credits: Vec<(String, i64)> =
        sqlx::query_as("select credit_number, amount from invoice_payments where kind = 'refund' order by id")
            .fetch_all(s.app.db.pool())
            .await
            .unwrap();
    assert_eq!(credits, [("CN-1001".to_string(), 5000), ("CN-1002".to_string(), 2000)]);
}

#[tokio::test]
async fn another_organization_sees_none_of_it() {
    let s = shop().await;
    let job = s.finished_job().await;
    let inv = s.invoice_of(job).await;
    let (_, intruder) = s.app.org_with_admin("other").await;
    let other = s.app.signed_in(&intruder.email).await;
    let id = inv.id;
    for path in
        [format!("/invoices/{id}"), format!("/invoices/{id}/pdf"), format!("/invoices/{id}/credit-notes/CN-1001")]
    {
        assert_eq!(other.get(&path).await.status(), 404, "{path}");
    }
    for (path, fields) in [
        (format!("/invoices/{id}/send"), vec![("text", "on")]),
        (format!("/invoices/{id}/lines"), vec![("description", "x"), ("unit_price", "1")]),
        (format!("/invoices/{id}/lines/0/delete"), vec![]),
        (format!("/invoices/{id}/terms"), vec![("discount", "1")]),
        (format!("/invoices/{id}/payments"), vec![("amount", "1"), ("method", "cash")]),
        (format!("/invoices/{id}/refund"), vec![("amount", "1")]),
        (format!("/invoices/{id}/void"), vec![("reason", "x")]),
        (format!("/invoices/{id}/reissue"), vec![]),
        (format!("/jobs/{}/invoice", job.0), vec![]),
        (format!("/jobs/{}/deposit", job.0), vec![("amount", "10")]),
        (
            format!("/settings/billing/{}", s.brand.0),
            vec![
                ("invoice_prefix", "X-"),
                ("next_invoice_number", "1"),
                ("credit_prefix", "C-"),
                ("nudge_days", ""),
                ("footer", ""),
                ("tax_rates", ""),
            ],
        ),
    ] {
        let r = other.post_form(&path, &fields).await;
        assert_eq!(r.status(), 404, "{path}");
    }
    let (_, list) = other.get_text("/invoices").await;
    assert!(!list.contains("INV-1001"));
    let after = billing::get(&s.app.db, s.org, id).await.unwrap();
    assert_eq!((after.status, after.lines.len(), after.totals.discount.minor), (Status::Draft, 2, 0));
}

#[tokio::test]
async fn a_deposit_before_the_work_is_credited_on_the_final_invoice() {
    let s = shop().await;
    let job = s.booked_job("2026-11-23T18:00:00Z").await;
    let r = s.office.post_form(&format!("/jobs/{}/deposit", job.0), &[("amount", "fifty")]).await;
    assert_eq!(r.status(), 422);
    assert!(r.text().await.unwrap().contains("&#34;fifty&#34; is not an amount like 125 or 89.50"));
    let r = s.office.post_form(&format!("/jobs/{}/deposit", job.0), &[("amount", "50")]).await;
    assert_eq!(r.status(), 303);
    let deposit = s.invoice_of(job).await;
    assert_eq!(
        (deposit.number.as_str(), deposit.kind, deposit.due.minor),
        ("INV-1001", billing::InvoiceKind::Deposit, 5000)
    );
    let link = s.send(deposit.id).await;
    assert_eq!(s.pay(&link, "4242 4242 4242 4242").await.status(), 303);
    s.app.stripe.settled().await;
    assert_eq!(billing::get(&s.app.db, s.org, deposit.id).await.unwrap().status, Status::Paid);
    assert_eq!(
        jobs::get(&s.app.db, s.org, job).await.unwrap().status,
        JobStatus::Scheduled,
        "a deposit closes nothing"
    );

    // The work is done: the final invoice credits the deposit.
    s.finish(job).await;
    let last = s.invoice_of(job).await;
    assert_eq!(
        (last.number.as_str(), last.kind, last.status),
        ("INV-1002", billing::InvoiceKind::Invoice, Status::Draft)
    );
    let rows: Vec<(String, String)> = last.summary().into_iter().map(|(l, m)| (l, m.to_string())).collect();
    assert_eq!(
        rows[rows.len() - 3..],
        [
            ("Total".to_string(), "$216.04".to_string()),
            ("Deposit paid".into(), "-$50.00".into()),
            ("Amount due".into(), "$166.04".into()),
        ]
    );
    s.send(last.id).await;
    let (_, card) = s.office.get_text(&format!("/customers/{}", s.customer.0)).await;
    assert!(
        card.contains("INV-1001") && card.contains("INV-1002") && card.contains("$166.04 owed"),
        "the customer's card"
    );
    let r = s
        .office
        .post_form(&format!("/invoices/{}/payments", last.id), &[("amount", "166.04"), ("method", "card")])
        .await;
    assert_eq!(r.status(), 303);
    assert_eq!(billing::get(&s.app.db, s.org, last.id).await.unwrap().status, Status::Paid);
    assert_eq!(jobs::get(&s.app.db, s.org, job).await.unwrap().status, JobStatus::Completed);
}

#[tokio::test]
async fn an_expired_or_failed_payment_leaves_the_invoice_owed_and_payable() {
    let s = shop().await;
    let job = s.finished_job().await;
    let inv = s.invoice_of(job).await;
    let link = s.send(inv.id).await;
    let customer = s.customer();
    let session_of =
        |r: &reqwest::Response| r.headers()["location"].to_str().unwrap().rsplit('/').next().unwrap().to_string();
    let first = session_of(&customer.get(format!("{link}/pay")).send().await.unwrap());
    s.app.stripe.expire(&first).unwrap();
    s.app.stripe.settled().await;
    let (status,): (String,) = sqlx::query_as("select status from checkout_sessions where session_id = $1")
        .bind(&first)
        .fetch_one(s.app.db.pool())
        .await
        .unwrap();
    assert_eq!(status, "expired");
    assert!(billing::get(&s.app.db, s.org, inv.id).await.unwrap().status.is_owed());
    // Pay again: a fresh session, for what is due.
    let second = session_of(&customer.get(format!("{link}/pay")).send().await.unwrap());
    assert_ne!(second, first);
    // A bank payment on its way: no Pay button meanwhile; then it fails and Pay is back.
    s.app.stripe.complete_async(&second).unwrap();
    s.app.stripe.settled().await;
    let html = customer.get(&link).send().await.unwrap().text().await.unwrap();
    assert!(html.contains("Your bank payment is on its way") && !html.contains("Pay $216.04"), "{html}");
    s.app.stripe.async_fail(&second).unwrap();
    s.app.stripe.settled().await;
    let html = customer.get(&link).send().await.unwrap().text().await.unwrap();
    assert!(html.contains("Pay $216.04"), "payable again");
    let (_, page) = s.office.get_text(&format!("/invoices/{}", inv.id)).await;
    assert!(page.contains("Bank payment of $216.04 started; waiting for it to clear"));
    assert!(page.contains("Bank payment of $216.04 failed"));
    assert_eq!(jobs::get(&s.app.db, s.org, job).await.unwrap().status, JobStatus::PendingClose);
}

#[tokio::test]
async fn the_api_lists_drafts_sends_and_takes_payments() {
    let s = shop().await;
    let job = s.finished_job().await;
    let key = s.app.api_key(s.org).await;
    let call = |method: reqwest::Method, path: String, body: Option<serde_json::Value>| {
        let mut r = s.app.client().request(method, s.app.url(&path)).bearer_auth(&key);
        if let Some(b) = body {
            r = r.json(&b);
        }
        async move { crate::helpers::json(r.send().await.unwrap()).await }
    };
    let (status, list) = call(reqwest::Method::GET, "/api/v1/invoices".into(), None).await;
    assert_eq!(status, 200, "{list}");
    assert_eq!(list["invoices"][0]["number"], "INV-1001");
    let id = list["invoices"][0]["id"].as_i64().unwrap();
    let (_, one) = call(reqwest::Method::GET, format!("/api/v1/invoices/{id}"), None).await;
    let inv = &one["invoice"];
    assert_eq!(
        (inv["subtotal"].as_i64(), inv["tax_total"].as_i64(), inv["total"].as_i64()),
        (Some(21398), Some(206), Some(21604))
    );
    assert_eq!(inv["taxes"][0]["rate_x1000"], 8250);
    assert_eq!(inv["lines"][1]["amount"], 2498);
    assert_eq!(inv["currency"], "USD");
    let (status, body) = call(reqwest::Method::POST, format!("/api/v1/jobs/{}/invoice", job.0), None).await;
    assert_eq!(status, 409, "{body}");
    let (status, body) =
        call(reqwest::Method::POST, format!("/api/v1/invoices/{id}/send"), Some(serde_json::json!({}))).await;
    assert_eq!(status, 422);
    assert_eq!(body["error"]["fields"][0]["message"], "choose text, email or both", "{body}");
    let (status, body) =
        call(reqwest::Method::POST, format!("/api/v1/invoices/{id}/send"), Some(serde_json::json!({"email": true})))
            .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["sent"], "emailed to dana@example.com");
    assert_eq!(body["invoice"]["status"], "sent");
    let pay = |amount: i64, method: &str| serde_json::json!({"amount": amount, "method": method});
    let (status, body) =
        call(reqwest::Method::POST, format!("/api/v1/invoices/{id}/payments"), Some(pay(30000, "cash"))).await;
    assert_eq!(status, 422);
    assert!(body.to_string().contains("only $216.04 is due"), "{body}");
    let (status, body) =
        call(reqwest::Method::POST, format!("/api/v1/invoices/{id}/payments"), Some(pay(21604, "check"))).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!((body["invoice"]["status"].as_str(), body["invoice"]["due"].as_i64()), (Some("paid"), Some(0)));
    assert_eq!(jobs::get(&s.app.db, s.org, job).await.unwrap().status, JobStatus::Completed);
    let (status, _) =
        call(reqwest::Method::POST, format!("/api/v1/invoices/{id}/void"), Some(serde_json::json!({"reason": "x"})))
            .await;
    assert_eq!(status, 409, "paid: refund first");
    // Another organization's key finds nothing.
    let (other, _) = s.app.org_with_admin("other").await;
    let other_key = s.app.api_key(other).await;
    for (method, path) in [
        (reqwest::Method::GET, format!("/api/v1/invoices/{id}")),
        (reqwest::Method::POST, format!("/api/v1/invoices/{id}/send")),
        (reqwest::Method::POST, format!("/api/v1/invoices/{id}/payments")),
        (reqwest::Method::POST, format!("/api/v1/invoices/{id}/void")),
        (reqwest::Method::POST, format!("/api/v1/jobs/{}/invoice", job.0)),
    ] {
        let body = match path.rsplit('/').next() {
            Some("send") => serde_json::json!({"text": true}),
            Some("payments") => pay(1, "cash"),
            Some("void") => serde_json::json!({"reason": "x"}),
            _ => serde_json::json!({}),
        };
        let r =
            s.app.client().request(method, s.app.url(&path)).bearer_auth(&other_key).json(&body).send().await.unwrap();
        assert_eq!(r.status(), 404, "{path}");
    }
    let (_, list) = crate::helpers::json(
        s.app.client().get(s.app.url("/api/v1/invoices")).bearer_auth(&other_key).send().await.unwrap(),
    )
    .await;
    assert_eq!(list["invoices"], serde_json::json!([]));
}

#[tokio::test]
async fn a_job_paid_before_the_work_is_done_closes_when_it_is_and_old_payment_pages_end() {
    let s = shop().await;
    let job = s.booked_job("2026-11-23T18:00:00Z").await;
    let r = s
        .office
        .post_form(&format!("/jobs/{}/line-items", job.0), &[("description", "Flat rate flush"), ("unit_price", "150")])
        .await;
    assert_eq!(r.status(), 303);
    // Invoiced up front from the job page, sent, and Dana opens the payment page.
    assert_eq!(s.office.post_form(&format!("/jobs/{}/invoice", job.0), &[]).await.status(), 303);
    let inv = s.invoice_of(job).await;
    let link = s.send(inv.id).await;
    let r = s.customer().get(format!("{link}/pay")).send().await.unwrap();
    let session = r.headers()["location"].to_str().unwrap().rsplit('/').next().unwrap().to_string();
    // A stale page cannot remove a line by its place once the invoice changed.
    let r = s.office.post_form(&format!("/invoices/{}/lines/0/delete", inv.id), &[("version", "0")]).await;
    assert_eq!(r.status(), 409);
    assert!(r.text().await.unwrap().contains("INV-1001 changed since this page was loaded"));
    // She pays the technician's office by check instead: the page she left open at Stripe ends.
    let r =
        s.office.post_form(&format!("/invoices/{}/payments", inv.id), &[("amount", "150"), ("method", "check")]).await;
    assert_eq!(r.status(), 303);
    s.run_engine().await;
    let at_stripe = s.app.stripe.sessions().into_iter().find(|x| x["id"] == session.as_str()).unwrap();
    assert_eq!(at_stripe["status"], "expired", "expired at Stripe: {at_stripe}");
    assert_eq!(billing::get(&s.app.db, s.org, inv.id).await.unwrap().status, Status::Paid);
    assert_eq!(jobs::get(&s.app.db, s.org, job).await.unwrap().status, JobStatus::Scheduled, "the work is not done");
    // The work is done: it closes by itself, with the reason.
    for to in ["on_site", "pending_close"] {
        assert_eq!(s.office.post_form(&format!("/jobs/{}/status", job.0), &[("to", to)]).await.status(), 303);
    }
    s.run_engine().await;
    let detail = jobs::detail(&s.app.db, s.org, job).await.unwrap();
    assert_eq!(detail.job.status, JobStatus::Completed);
    assert!(detail.history.iter().any(|e| e.note.as_deref() == Some("INV-1001 paid in full ($150.00)")));
    assert_eq!(billing::for_job(&s.app.db, s.org, job).await.unwrap().len(), 1, "no second invoice drafted");

    // The invoice counter only moves forward: a settings form shown before INV-1001 cannot
    // hand its number out again.
    let r = s
        .office
        .post_form(
            &format!("/settings/billing/{}", s.brand.0),
            &[
                ("invoice_prefix", "INV-"),
                ("next_invoice_number", "1001"),
                ("credit_prefix", "CN-"),
                ("nudge_days", "3, 7"),
                ("tax_rates", "Sales tax 8.25"),
                ("footer", "New footer"),
            ],
        )
        .await;
    assert_eq!(r.status(), 422);
    assert!(r.text().await.unwrap().contains("numbers only move forward: the next is INV-1002"));
}

#[tokio::test]
async fn a_customer_pays_part_of_it_online_then_the_rest() {
    let s = shop().await;
    let job = s.finished_job().await;
    let inv = s.invoice_of(job).await;
    let link = s.send(inv.id).await;
    let customer = s.customer();
    let page = |q: &str| {
        let r = customer.get(format!("{link}?part={q}")).send();
        async move { r.await.unwrap().text().await.unwrap() }
    };
    assert!(page("0.10").await.contains("pay at least $0.50 online"));
    assert!(page("300").await.contains("only $216.04 is due"));
    assert!(page("lots").await.contains("&#34;lots&#34; is not an amount like 125 or 89.50"));
    let html = page("50").await;
    let token = link.rsplit('/').next().unwrap();
    assert!(
        html.contains(&format!("href=\"/i/{token}/pay?amount=5000\"")) && html.contains("Pay $50.00 now"),
        "{html}"
    );
    // Pay $50 of it on the checkout page.
    let r = customer.get(format!("{link}/pay?amount=5000")).send().await.unwrap();
    assert_eq!(r.status(), 303);
    let checkout = r.headers()["location"].to_str().unwrap().to_string();
    let r = customer
        .post(&checkout)
        .form(&[("card_number", "4242424242424242"), ("card_expiry", "12/34"), ("card_cvc", "123")])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 303);
    s.app.stripe.settled().await;
    let part = billing::get(&s.app.db, s.org, inv.id).await.unwrap();
    assert_eq!((part.status, part.paid.minor, part.due.minor), (Status::PartlyPaid, 5000, 16604));
    assert_eq!(jobs::get(&s.app.db, s.org, job).await.unwrap().status, JobStatus::PendingClose);
    let html = customer.get(&link).send().await.unwrap().text().await.unwrap();
    assert!(html.contains("Pay $166.04") && html.contains("$50.00 paid by card online"), "{html}");
    // Asking for more than is due now is refused without reaching Stripe: the form says why.
    let r = customer.get(format!("{link}/pay?amount=20000")).send().await.unwrap();
    assert_eq!(r.headers()["location"].to_str().unwrap(), format!("/i/{token}?part=200.00"));
    assert!(page("200.00").await.contains("only $166.04 is due"));
    // The rest.
    assert_eq!(s.pay(&link, "4242 4242 4242 4242").await.status(), 303);
    s.app.stripe.settled().await;
    assert_eq!(billing::get(&s.app.db, s.org, inv.id).await.unwrap().status, Status::Paid);
    assert_eq!(jobs::get(&s.app.db, s.org, job).await.unwrap().status, JobStatus::Completed);
}

#[tokio::test]
async fn a_customer_known_only_by_their_number_is_not_greeted_by_it() {
    let s = shop().await;
    // A lead that gave no name becomes a customer named after their number.
    let nameless = switchboard_core::customers::create(
        &s.app.db,
        &s.app.clock,
        s.org,
        &switchboard_core::customers::CustomerInput {
            name: "+17205550199".into(),
            phone: "+17205550199".into(),
            ..Default::default()
        },
    )
    .await
    .unwrap();
    let s = Shop { customer: nameless.id, ..s };
    let job = s.finished_job().await;
    let inv = s.invoice_of(job).await;
    let r = s.office.post_form(&format!("/invoices/{}/send", inv.id), &[("text", "on")]).await;
    assert_eq!(r.status(), 303);
    s.run_engine().await;
    let text = s.app.sms.sent_to("+17205550199").last().expect("texted").body.clone();
    let code = jobs::get(&s.app.db, s.org, job).await.unwrap().code;
    assert_eq!(
        text,
        format!(
            "Hi, here is your invoice INV-1001 from Acme Plumbing for Water heater flush ({code}): $216.04 due. View and pay: {}",
            link_in(&text)
        )
    );
}
