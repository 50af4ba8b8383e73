//! Paying an invoice through Stripe: the customer's invoice page (a capability link), a
//! Checkout Session for what is due (one reused while it is open and for that amount), and
//! Stripe's events reconciled into payments and refunds.
//!
//! Events are applied once each (by id) and in any order: money is a set of rows keyed by
//! Stripe's own ids (a session for a payment; a charge's cumulative refunded amount for a
//! refund), and an invoice's state is derived from their sum, so a late `expired` never undoes a
//! payment and a refund that arrives before its payment still adds up.

use jiff::SignedDuration;

use super::model::Status;
use super::store;
use super::{Invoice, InvoiceView};
use crate::clock::{Clock, to_millis};
use crate::db::{Db, Event as DbEvent, Tx};
use crate::ids::OrgId;
use crate::links::{self, Scope};
use crate::money::Money;
use crate::providers::stripe::{CheckoutSession, Event, NewCheckout, PaymentError, PaymentProvider};
use crate::{Error, Result};

/// The invoice a customer's link opens, marked viewed the first time (and on its timeline).
pub async fn open(db: &Db, clock: &dyn Clock, token: &str) -> Result<InvoiceView> {
    let link = links::check(db, clock, Scope::Invoice, token).await?;
    let (org, id) = (link.org, link.subject);
    let view = super::view(db, org, id).await?;
    let inv = &view.invoice;
    if inv.viewed_at.is_some() || inv.sent_at.is_none() || inv.status == Status::Void {
        return Ok(view);
    }
    let now = to_millis(clock.now());
    let mut tx = db.begin().await?;
    let locked = store::lock_in(&mut tx, org, id).await?;
    if locked.viewed_at.is_none() {
        store::refresh_money_in(&mut tx, &locked, store::Marks { viewed: true, ..Default::default() }, now).await?;
        store::event_in(&mut tx, org, id, "customer", "Viewed by the customer", now).await?;
    }
    tx.commit().await?;
    if let Some(job) = inv.job_id {
        db.publish(DbEvent::Job { org, job });
    }
    super::view(db, org, id).await
}

/// The least a customer may pay online at once (Stripe's minimum charge in US dollars).
pub const MIN_ONLINE_MINOR: i64 = 50;

/// Checks an amount the customer typed to pay part of `inv` online: from $0.50 to what is due.
pub fn part_of(inv: &Invoice, typed: &str) -> Result<Money> {
    let amount = Money::parse_price(typed, inv.currency).map_err(|e| Error::invalid("part", e))?;
    check_part(inv, amount)
}

/// [`part_of`]'s rule for an amount already read.
fn check_part(inv: &Invoice, amount: Money) -> Result<Money> {
    if amount.minor < MIN_ONLINE_MINOR {
        return Err(Error::invalid(
            "part",
            format!("pay at least {} online", Money::new(MIN_ONLINE_MINOR, inv.currency)),
        ));
    }
    if amount.minor > inv.due.minor {
        return Err(Error::invalid("part", format!("only {} is due", inv.due)));
    }
    Ok(amount)
}

/// Where the customer pays on the invoice `token` opens: what is due, or `part` of it (minor
/// units, checked by [`part_of`]'s rule): an open Checkout Session for exactly that amount,
/// made now if there is none. `base_url` is the server's public URL.
pub async fn checkout(
    db: &Db,
    clock: &dyn Clock,
    payments: &dyn PaymentProvider,
    token: &str,
    base_url: &str,
    part: Option<i64>,
) -> Result<String> {
    let link = links::check(db, clock, Scope::Invoice, token).await?;
    let (org, id) = (link.org, link.subject);
    let mut inv = super::get(db, org, id).await?;
    if !inv.status.is_owed() || inv.due.minor == 0 {
        return Err(Error::Conflict(match inv.status {
            Status::Void => format!("{} was voided", inv.number),
            _ => format!("nothing is due on {}", inv.number),
        }));
    }
    if let Some(part) = part {
        // What the session asks for; the invoice's own due is unchanged.
        inv.due = check_part(&inv, Money::new(part, inv.currency))?;
    }
    let now = clock.now();
    let reusable: Option<(String,)> = sqlx::query_as(
        "select url from checkout_sessions where org_id = $1 and invoice_id = $2 and status = 'open' \
         and amount = $3 and expires_at > $4 order by id desc limit 1",
    )
    .bind(org.0)
    .bind(id)
    .bind(inv.due.minor)
    .bind(to_millis(now + SignedDuration::from_mins(5)))
    .fetch_optional(db.pool())
    .await?;
    if let Some((url,)) = reusable {
        return Ok(url);
    }
    let brand = crate::tenancy::brand(db, org, inv.brand_id).await?;
    let customer = crate::customers::get(db, org, inv.customer_id).await?;
    let page = format!("{base_url}/i/{token}");
    // How many sessions this invoice had: a new one after the last ended (expired, failed) is
    // asked with a new key, or Stripe would answer the ended one again.
    let (made,): (i64,) =
        sqlx::query_as("select count(*) from checkout_sessions where org_id = $1 and invoice_id = $2")
            .bind(org.0)
            .bind(id)
            .fetch_one(db.pool())
            .await?;
    let request = NewCheckout {
        amount: inv.due,
        name: format!("Invoice {} · {}", inv.number, brand.name),
        customer_email: customer.email.as_ref().map(|e| e.as_str().to_string()),
        success_url: format!("{page}?paid={{CHECKOUT_SESSION_ID}}"),
        cancel_url: page,
        client_reference_id: Some(inv.number.clone()),
        metadata: vec![
            ("org_id".into(), org.0.to_string()),
            ("invoice_id".into(), id.to_string()),
            ("invoice_number".into(), inv.number.clone()),
        ],
        // Stripe's default (24 hours): a retry with the same key must send the same body.
        expires_at: None,
        // The same invoice, version and amount asked twice (two taps on Pay) is one session.
        idempotency_key: format!("checkout-{}-{id}-{}-{}-{made}", org.0, inv.version, inv.due.minor),
    };
    let session = payments.create_checkout(request).await.map_err(|e| match e {
        PaymentError::Transient(m) => {
            Error::Unavailable(format!("the payment service did not answer ({m}); try again"))
        }
        PaymentError::Rejected { message, .. } => Error::Unexpected(format!("the payment service refused: {message}")),
    })?;
    let url =
        session.url.clone().ok_or_else(|| Error::Unexpected("the payment service gave no page to pay on".into()))?;
    let expires = session.expires_at.map(|s| s * 1000).unwrap_or(to_millis(now + SignedDuration::from_hours(23)));
    let mut tx = db.begin().await?;
    sqlx::query(
        "insert into checkout_sessions (org_id, invoice_id, session_id, url, amount, invoice_version, status, \
         expires_at, created_at) values ($1, $2, $3, $4, $5, $6, 'open', $7, $8) on conflict (session_id) do nothing",
    )
    .bind(org.0)
    .bind(id)
    .bind(&session.id)
    .bind(&url)
    .bind(inv.due.minor)
    .bind(inv.version)
    .bind(expires)
    .bind(to_millis(now))
    .execute(&mut *tx)
    .await?;
    tx.commit().await?;
    Ok(url)
}

/// Ends the invoice's open payment pages (its amount changed, it was paid or voided): they are
/// not offered again here, and each is expired at Stripe by an `billing.expire_checkout` item
/// queued in the same transaction (a customer with the page still open cannot pay an old amount
/// there). A payment made on one before that is still recorded.
pub(crate) async fn retire_sessions_in(tx: &mut Tx, clock: &dyn Clock, org: OrgId, invoice: i64) -> Result<()> {
    let open: Vec<(String,)> = sqlx::query_as(
        "select session_id from checkout_sessions where org_id = $1 and invoice_id = $2 and status = 'open'",
    )
    .bind(org.0)
    .bind(invoice)
    .fetch_all(&mut **tx)
    .await?;
    if open.is_empty() {
        return Ok(());
    }
    sqlx::query(
        "update checkout_sessions set status = 'expired' where org_id = $1 and invoice_id = $2 and status = 'open'",
    )
    .bind(org.0)
    .bind(invoice)
    .execute(&mut **tx)
    .await?;
    let now = clock.now();
    for (session,) in open {
        let work = crate::engine::NewWork::of(&ExpireCheckout { session_id: session.clone() }, now)?
            .org(org)
            .key(format!("billing.expire_checkout:{session}"));
        crate::engine::enqueue_in(tx, &work, now).await?;
    }
    Ok(())
}

/// A `billing.expire_checkout` item: expire a Checkout Session at Stripe.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct ExpireCheckout {
    pub session_id: String,
}

impl crate::engine::Kind for ExpireCheckout {
    const NAME: &'static str = "billing.expire_checkout";
}

/// Expires retired sessions at the payment service; one that is no longer open there (paid,
/// expired) is left as it is.
#[derive(Clone)]
pub struct Expirer {
    pub payments: Option<std::sync::Arc<dyn PaymentProvider>>,
}

impl crate::engine::Worker for Expirer {
    type Args = ExpireCheckout;
    fn work(
        &self,
        _ctx: crate::engine::WorkContext,
        _item: crate::engine::WorkItem,
        args: ExpireCheckout,
    ) -> crate::engine::BoxFuture<crate::engine::Outcome> {
        let payments = self.payments.clone();
        Box::pin(async move {
            use crate::engine::Outcome;
            let Some(payments) = payments else {
                return Outcome::Done(Some(serde_json::json!({"skipped": "no payment service configured"})));
            };
            match payments.expire_checkout(args.session_id.clone()).await {
                Ok(s) => Outcome::Done(Some(serde_json::json!({"expired": s.id}))),
                Err(PaymentError::Rejected { message, .. }) => {
                    Outcome::Done(Some(serde_json::json!({"skipped": message})))
                }
                Err(PaymentError::Transient(m)) => Outcome::Retry(m),
            }
        })
    }
}

/// What was refunded on a payment so far (minor units).
async fn refunded_for<'e, E: sqlx::Executor<'e, Database = sqlx::Any>>(exec: E, org: OrgId, pi: &str) -> Result<i64> {
    let (sum,): (i64,) = sqlx::query_as(
        "select cast(coalesce(sum(amount), 0) as bigint) from invoice_payments where org_id = $1 and kind = 'refund' \
         and payment_intent = $2",
    )
    .bind(org.0)
    .bind(pi)
    .fetch_one(exec)
    .await?;
    Ok(sum)
}

/// What applying an event did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Applied {
    /// This event id was applied before.
    Duplicate,
    /// Not ours, or nothing to do: why.
    Ignored(String),
    /// What changed.
    Done(String),
}

/// Applies one Stripe event (already verified) in one transaction, once per event id.
pub async fn apply_event(db: &Db, clock: &dyn Clock, event: &Event) -> Result<Applied> {
    let now = to_millis(clock.now());
    let mut tx = db.begin().await?;
    let fresh = sqlx::query(
        "insert into stripe_events (event_id, event_type, outcome, received_at) values ($1, $2, '', $3) \
         on conflict (event_id) do nothing",
    )
    .bind(&event.id)
    .bind(&event.kind)
    .bind(now)
    .execute(&mut *tx)
    .await?;
    if fresh.rows_affected() == 0 {
        return Ok(Applied::Duplicate);
    }
    let (applied, touched) = match event.kind.as_str() {
        "checkout.session.completed"
        | "checkout.session.async_payment_succeeded"
        | "checkout.session.async_payment_failed"
        | "checkout.session.expired" => {
            let session = event.checkout_session().map_err(|e| Error::invalid("data.object", e))?;
            session_changed_in(&mut tx, clock, &event.kind, &session, now).await?
        }
        "charge.refunded" => {
            let charge = event.charge().map_err(|e| Error::invalid("data.object", e))?;
            refunded_in(&mut tx, clock, &charge, now).await?
        }
        other => (Applied::Ignored(format!("{other} is not an event we use")), None),
    };
    let outcome = match &applied {
        Applied::Done(s) => s.clone(),
        Applied::Ignored(s) => format!("ignored: {s}"),
        Applied::Duplicate => String::new(),
    };
    sqlx::query("update stripe_events set outcome = $2, org_id = $3 where event_id = $1")
        .bind(&event.id)
        .bind(&outcome)
        .bind(touched.as_ref().map(|i: &Invoice| i.org_id.0))
        .execute(&mut *tx)
        .await?;
    tx.commit().await?;
    if let Some(inv) = touched {
        db.work_added();
        if let Some(job) = inv.job_id {
            db.publish(DbEvent::Job { org: inv.org_id, job });
        }
    }
    Ok(applied)
}

/// Checks a session the customer came back from (`?paid=cs_...` on their invoice page) with
/// the payment service, and records its payment if the event has not arrived yet.
pub async fn confirm_return(
    db: &Db,
    clock: &dyn Clock,
    payments: &dyn PaymentProvider,
    token: &str,
    session_id: &str,
) -> Result<()> {
    let link = links::check(db, clock, Scope::Invoice, token).await?;
    let ours: Option<(String,)> = sqlx::query_as(
        "select status from checkout_sessions where org_id = $1 and invoice_id = $2 and session_id = $3",
    )
    .bind(link.org.0)
    .bind(link.subject)
    .bind(session_id)
    .fetch_optional(db.pool())
    .await?;
    match ours {
        Some((status,)) if status == "open" || status == "processing" || status == "expired" => {}
        _ => return Ok(()),
    }
    let session = match payments.get_checkout(session_id.to_string()).await {
        Ok(s) => s,
        // The event will tell; the page says the payment is being confirmed meanwhile.
        Err(e) => {
            tracing::warn!(session = session_id, "cannot check a returned checkout session: {e}");
            return Ok(());
        }
    };
    if session.payment_status != "paid" {
        return Ok(());
    }
    let now = to_millis(clock.now());
    let mut tx = db.begin().await?;
    let (_, touched) = session_changed_in(&mut tx, clock, "checkout.session.completed", &session, now).await?;
    tx.commit().await?;
    if let Some(inv) = touched {
        db.work_added();
        if let Some(job) = inv.job_id {
            db.publish(DbEvent::Job { org: inv.org_id, job });
        }
    }
    Ok(())
}

/// A session event: a payment (paid), a bank payment on its way or failed, or an expiry.
async fn session_changed_in(
    tx: &mut Tx,
    clock: &dyn Clock,
    kind: &str,
    session: &CheckoutSession,
    now: i64,
) -> Result<(Applied, Option<Invoice>)> {
    let row: Option<(i64, i64, String)> =
        sqlx::query_as("select org_id, invoice_id, status from checkout_sessions where session_id = $1")
            .bind(&session.id)
            .fetch_optional(&mut **tx)
            .await?;
    let Some((org, invoice, status)) = row else {
        return Ok((Applied::Ignored(format!("{} is not one of our checkout sessions", session.id)), None));
    };
    let org = OrgId(org);
    let inv = store::lock_in(tx, org, invoice).await?;
    let set_status = |to: &'static str| {
        sqlx::query("update checkout_sessions set status = $2 where session_id = $1").bind(session.id.clone()).bind(to)
    };
    let amount = Money::new(session.amount_total.unwrap_or(0), inv.currency);
    let currency_ok = session.currency.as_deref().is_none_or(|c| c.eq_ignore_ascii_case(inv.currency.code()));
    match kind {
        "checkout.session.expired" => {
            // Only an open one expires: a completed payment stays.
            if status == "open" {
                set_status("expired").execute(&mut **tx).await?;
            }
            Ok((Applied::Done(format!("{} expired", session.id)), None))
        }
        "checkout.session.async_payment_failed" => {
            if status == "complete" {
                return Ok((Applied::Ignored("the session was paid already".into()), None));
            }
            set_status("failed").execute(&mut **tx).await?;
            let what = format!("Bank payment of {amount} failed");
            store::event_in(tx, org, invoice, "stripe", &what, now).await?;
            if let Some(job) = inv.job_id {
                crate::jobs::note_in(tx, org, job, &format!("{what} on {}", inv.number), now).await?;
            }
            Ok((Applied::Done(what), Some(inv)))
        }
        _ if session.payment_status != "paid" => {
            // Completed with a bank debit still to clear.
            if status == "open" {
                set_status("processing").execute(&mut **tx).await?;
                let what = format!("Bank payment of {amount} started; waiting for it to clear");
                store::event_in(tx, org, invoice, "stripe", &what, now).await?;
                return Ok((Applied::Done(what), Some(inv)));
            }
            Ok((Applied::Ignored(format!("the session is {status}")), None))
        }
        _ if !currency_ok || amount.minor <= 0 => Ok((
            Applied::Ignored(format!(
                "{} paid {} {}, not in {}",
                session.id,
                session.amount_total.unwrap_or(0),
                session.currency.as_deref().unwrap_or("?"),
                inv.currency.code()
            )),
            None,
        )),
        _ => {
            set_status("complete").execute(&mut **tx).await?;
            let method = if kind == "checkout.session.async_payment_succeeded" { "bank" } else { "card" };
            let m = store::NewMoney {
                kind: "payment",
                method,
                amount: amount.minor,
                reference: Some(&session.id),
                payment_intent: session.payment_intent.as_deref(),
                credit_number: None,
                note: session.email().unwrap_or(""),
                actor: "stripe",
            };
            if !store::insert_money_in(tx, org, invoice, &m, now).await? {
                return Ok((Applied::Ignored(format!("{} was recorded already", session.id)), None));
            }
            let how = if method == "bank" { "bank payment" } else { "card" };
            let what = format!("Paid {amount} by {how} online");
            let after = super::settle_in(tx, clock, &inv, "stripe", &what, now).await?;
            Ok((Applied::Done(what), Some(after)))
        }
    }
}

/// A charge refunded (in part or in full, from our page or Stripe's dashboard): what was
/// refunded beyond what is recorded for its payment becomes a refund with a credit note.
async fn refunded_in(
    tx: &mut Tx,
    clock: &dyn Clock,
    charge: &crate::providers::stripe::Charge,
    now: i64,
) -> Result<(Applied, Option<Invoice>)> {
    let by_intent: Option<(i64, i64)> = match &charge.payment_intent {
        Some(pi) => {
            sqlx::query_as(
                "select org_id, invoice_id from invoice_payments where payment_intent = $1 and kind = 'payment' \
                 order by id limit 1",
            )
            .bind(pi)
            .fetch_optional(&mut **tx)
            .await?
        }
        None => None,
    };
    let by_metadata = || {
        let org = charge.metadata.get("org_id")?.parse::<i64>().ok()?;
        let invoice = charge.metadata.get("invoice_id")?.parse::<i64>().ok()?;
        Some((org, invoice))
    };
    let Some((org, invoice)) = by_intent.or_else(by_metadata) else {
        return Ok((Applied::Ignored(format!("{} is not a payment of ours", charge.id)), None));
    };
    let org = OrgId(org);
    let inv = match store::lock_in(tx, org, invoice).await {
        Ok(inv) => inv,
        Err(Error::NotFound) => return Ok((Applied::Ignored(format!("{} names no invoice of ours", charge.id)), None)),
        Err(e) => return Err(e),
    };
    let pi = charge.payment_intent.clone().unwrap_or_else(|| charge.id.clone());
    let (recorded,): (i64,) = sqlx::query_as(
        "select cast(coalesce(sum(amount), 0) as bigint) from invoice_payments where org_id = $1 and invoice_id = $2 \
         and kind = 'refund' and payment_intent = $3",
    )
    .bind(org.0)
    .bind(invoice)
    .bind(&pi)
    .fetch_one(&mut **tx)
    .await?;
    let more = charge.amount_refunded - recorded;
    if more <= 0 {
        return Ok((
            Applied::Ignored(format!("{} of {} is recorded already", Money::new(recorded, inv.currency), charge.id)),
            None,
        ));
    }
    let amount = Money::new(more, inv.currency);
    let credit = store::next_credit_number_in(tx, org, inv.brand_id, now).await?;
    let reference = format!("{}:refunded:{}", charge.id, charge.amount_refunded);
    let m = store::NewMoney {
        kind: "refund",
        method: "card",
        amount: more,
        reference: Some(&reference),
        payment_intent: Some(&pi),
        credit_number: Some(&credit),
        note: "",
        actor: "stripe",
    };
    store::insert_money_in(tx, org, invoice, &m, now).await?;
    let what = format!("Refunded {amount} to the card (credit note {credit})");
    let after = super::settle_in(tx, clock, &inv, "stripe", &what, now).await?;
    Ok((Applied::Done(what), Some(after)))
}

/// Refunds `amount` of what was paid on the invoice: through Stripe when it was paid online
/// (the card gets it back), else recorded as money the office gave back. Either way a credit
/// note is numbered and the balance reopens.
#[allow(clippy::too_many_arguments)]
pub async fn refund(
    db: &Db,
    clock: &dyn Clock,
    payments: Option<&dyn PaymentProvider>,
    org: OrgId,
    actor: &str,
    id: i64,
    amount: &str,
    reason: &str,
) -> Result<Invoice> {
    let inv = super::get(db, org, id).await?;
    let amount = Money::parse_price(amount, inv.currency).map_err(|e| Error::invalid("amount", e))?;
    if amount.minor == 0 {
        return Err(Error::invalid("amount", "the refund must be more than zero"));
    }
    if amount.minor > inv.paid.minor {
        return Err(Error::invalid("amount", format!("only {} was paid", inv.paid)));
    }
    let reason = reason.trim();
    if reason.chars().count() > 200 {
        return Err(Error::invalid("reason", "at most 200 characters"));
    }
    // The online payments and what is left of each to refund.
    let online: Vec<(String, i64)> = sqlx::query_as(
        "select p.payment_intent, cast(p.amount - coalesce((select sum(r.amount) from invoice_payments r \
         where r.org_id = p.org_id and r.kind = 'refund' and r.payment_intent = p.payment_intent), 0) as bigint) \
         from invoice_payments p where p.org_id = $1 and p.invoice_id = $2 and p.kind = 'payment' \
         and p.payment_intent is not null order by p.id desc",
    )
    .bind(org.0)
    .bind(id)
    .fetch_all(db.pool())
    .await?;
    let room = online.iter().find(|(_, left)| *left >= amount.minor).cloned();
    let largest = online.iter().map(|(_, left)| *left).max().unwrap_or(0);
    if !online.is_empty() && room.is_none() && largest > 0 {
        // A refund bigger than any one card payment would have to be split across cards.
        return Err(Error::invalid(
            "amount",
            format!("at most {} at once: refund each card payment on its own", Money::new(largest, inv.currency)),
        ));
    }
    let now = to_millis(clock.now());
    let mut before = 0;
    let (reference, pi, method) = match (room, payments) {
        (Some((pi, _)), Some(payments)) => {
            before = refunded_for(db.pool(), org, &pi).await?;
            let (count,): (i64,) = sqlx::query_as(
                "select count(*) from invoice_payments where org_id = $1 and invoice_id = $2 and kind = 'refund'",
            )
            .bind(org.0)
            .bind(id)
            .fetch_one(db.pool())
            .await?;
            let metadata = vec![("org_id".into(), org.0.to_string()), ("invoice_id".into(), id.to_string())];
            let key = format!("refund-{}-{id}-{count}-{}", org.0, amount.minor);
            let refund = payments.refund(pi.clone(), amount, metadata, key).await.map_err(|e| match e {
                PaymentError::Transient(m) => {
                    Error::Unavailable(format!("the payment service did not answer ({m}); try again"))
                }
                PaymentError::Rejected { message, .. } => {
                    Error::Conflict(format!("the payment service refused the refund: {message}"))
                }
            })?;
            (Some(refund.id), Some(pi), "card")
        }
        (Some(_), None) => {
            return Err(Error::Unavailable(
                "online payments are not set up here, so a card payment cannot be refunded from here".into(),
            ));
        }
        (None, _) => (None, None, "other"),
    };
    let mut tx = db.begin().await?;
    let locked = store::lock_in(&mut tx, org, id).await?;
    // Stripe's own event about this refund may have been recorded meanwhile (it carries no
    // reason; the office's is kept on the timeline below).
    let recorded_meanwhile = match &pi {
        Some(pi) => refunded_for(&mut *tx, org, pi).await? - before >= amount.minor,
        None => false,
    };
    // Two refunds of the office's money sent at once: the second finds it already returned
    // (a card's refund was bounded by Stripe, and is recorded whatever happened meanwhile).
    if method != "card" && amount.minor > locked.paid.minor {
        return Err(Error::invalid("amount", format!("only {} is left to refund", locked.paid)));
    }
    let after = if recorded_meanwhile {
        if !reason.is_empty() {
            store::event_in(&mut tx, org, id, actor, &format!("Refund reason: {reason}"), now).await?;
        }
        store::get(&mut tx, org, id).await?
    } else {
        let credit = store::next_credit_number_in(&mut tx, org, locked.brand_id, now).await?;
        let m = store::NewMoney {
            kind: "refund",
            method,
            amount: amount.minor,
            reference: reference.as_deref(),
            payment_intent: pi.as_deref(),
            credit_number: Some(&credit),
            note: reason,
            actor,
        };
        let what = if method == "card" {
            format!("Refunded {amount} to the card (credit note {credit})")
        } else {
            format!("Refunded {amount} (credit note {credit})")
        };
        let what = if reason.is_empty() { what } else { format!("{what}: {reason}") };
        store::insert_money_in(&mut tx, org, id, &m, now).await?;
        super::settle_in(&mut tx, clock, &locked, actor, &what, now).await?
    };
    tx.commit().await?;
    db.work_added();
    if let Some(job) = after.job_id {
        db.publish(DbEvent::Job { org, job });
    }
    Ok(after)
}
