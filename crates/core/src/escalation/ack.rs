//! Acknowledgement links: each text and email an escalation sends carries a private link for
//! the person it went to. Opening it records "viewed" (once per person); Accept confirms the
//! message as theirs; Pass moves the escalation on now, but only from the step that reached
//! them (a pass from an earlier round's text does nothing once the flow has moved on).

use super::drive::{self, Confirmer};
use super::run::{Event, State};
use super::store::{self, Entry, Escalation, Recipient};
use crate::clock::Clock;
use crate::db::Db;
use crate::desk::delivery::Told;
use crate::links::{self, Scope};
use crate::{Error, Result};

/// What an acknowledgement link opens.
#[derive(Debug, Clone)]
pub struct Ack {
    pub escalation: Escalation,
    pub recipient: Recipient,
    pub told: Told,
}

impl Ack {
    /// Whether their Pass would move the flow on now.
    pub fn can_pass(&self) -> bool {
        self.escalation.run.state == State::Escalating && self.escalation.run.version == self.recipient.version
    }
}

/// The link's message, escalation and person; `NotFound` for a link that does not work.
pub async fn open(db: &Db, clock: &dyn Clock, token: &str) -> Result<Ack> {
    let link = links::check(db, clock, Scope::Ack, token).await?;
    let recipient = store::recipient(db, link.org, link.about.ok_or(Error::NotFound)?).await?;
    if recipient.escalation_id != link.subject {
        return Err(Error::NotFound);
    }
    let escalation = store::get(db, link.org, link.subject).await?;
    let told = Told::load(db, link.org, escalation.message_id).await?;
    Ok(Ack { escalation, recipient, told })
}

/// [`open`], recording the first time each person views it.
pub async fn view(db: &Db, clock: &dyn Clock, token: &str) -> Result<Ack> {
    let ack = open(db, clock, token).await?;
    let (r, e) = (&ack.recipient, &ack.escalation);
    let (seen,): (i64,) = sqlx::query_as(
        "select count(*) from escalation_events where org_id = $1 and escalation_id = $2 and kind = 'viewed' \
         and address = $3",
    )
    .bind(r.org.0)
    .bind(e.id)
    .bind(&r.address)
    .fetch_one(db.pool())
    .await?;
    if seen == 0 {
        let mut tx = db.begin().await?;
        let entry = Entry {
            at: clock.now(),
            round: e.run.at.round,
            step: e.run.at.step + 1,
            kind: "viewed".into(),
            person: Some(r.person.clone()),
            address: Some(r.address.clone()),
            detail: Some("opened their link".into()),
            ..Default::default()
        };
        store::log_in(&mut tx, r.org, e.id, &entry).await?;
        tx.commit().await?;
        db.publish(crate::db::Event::Desk { org: r.org, message: e.message_id });
    }
    Ok(ack)
}

/// Accept: the message is theirs. Returns the escalation as it is then (confirmed by them,
/// or by whoever was quicker).
pub async fn accept(db: &Db, clock: &dyn Clock, base: &str, token: &str) -> Result<Escalation> {
    let ack = open(db, clock, token).await?;
    let r = ack.recipient;
    let by = Confirmer::Link { address: r.address.clone(), person: r.person.clone() };
    drive::act(db, clock, base, r.org, r.escalation_id, Event::Confirm, Some(by)).await
}

/// Pass: the next step now, if the flow is still at the step that reached them; returns
/// whether it moved on.
pub async fn pass(db: &Db, clock: &dyn Clock, base: &str, token: &str) -> Result<bool> {
    let ack = open(db, clock, token).await?;
    let r = &ack.recipient;
    let prepared = super::reach::prepare_for(db, r.org, r.escalation_id, clock.now()).await?;
    let mut tx = db.begin().await?;
    let e = store::lock_in(&mut tx, r.org, r.escalation_id).await?;
    if e.run.state != State::Escalating || e.run.version != r.version {
        return Ok(false);
    }
    let entry = Entry {
        at: clock.now(),
        round: e.run.at.round,
        step: e.run.at.step + 1,
        kind: "keypress".into(),
        person: Some(r.person.clone()),
        address: Some(r.address.clone()),
        detail: Some("passed it on from their link".into()),
        ..Default::default()
    };
    store::log_in(&mut tx, r.org, e.id, &entry).await?;
    drive::act_in(&mut tx, clock, base, &prepared, r.org, e.id, Event::Pass, None).await?;
    tx.commit().await?;
    db.work_added();
    db.publish(crate::db::Event::Desk { org: r.org, message: e.message_id });
    Ok(true)
}
