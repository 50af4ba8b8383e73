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
use crate::desk::messages::About;
use crate::ids::{BrandId, OrgId};
use crate::jobs::model::JobSummary;
use crate::leads::model::{ConvertInput, CustomerInput, Lead};
use crate::links::{self, Scope};
use crate::technicians::Technician;
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
        let entry = line(clock, e, "viewed", &r.person, &r.address, "opened their link".into());
        store::log_in(&mut tx, r.org, e.id, &entry).await?;
        tx.commit().await?;
        db.publish(crate::db::Event::Desk { org: r.org, message: e.message_id });
    }
    Ok(ack)
}

/// A timeline line of what a person did from their link, at the step the escalation is at.
fn line(clock: &dyn Clock, e: &Escalation, kind: &str, person: &str, address: &str, detail: String) -> Entry {
    Entry {
        at: clock.now(),
        round: e.run.at.round,
        step: e.run.at.step + 1,
        kind: kind.into(),
        person: Some(person.into()),
        address: Some(address.into()),
        detail: Some(detail),
        ..Default::default()
    }
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
    let entry = line(clock, &e, "keypress", &r.person, &r.address, "passed it on from their link".into());
    store::log_in(&mut tx, r.org, e.id, &entry).await?;
    drive::act_in(&mut tx, clock, base, &prepared, r.org, e.id, Event::Pass, None).await?;
    tx.commit().await?;
    db.work_added();
    db.publish(crate::db::Event::Desk { org: r.org, message: e.message_id });
    Ok(true)
}

/// What a person who accepts a message about a job or a lead can take: the message's job (or
/// its lead, made a job when taken), as the technician they are.
#[derive(Debug, Clone)]
pub struct Takeable {
    pub tech: Technician,
    pub about: Subject,
}

/// The job or lead a message is about, as read.
#[derive(Debug, Clone)]
pub enum Subject {
    Job(JobSummary),
    Lead(Lead),
}

impl Subject {
    /// "J-1001" for a job; for a lead, the job it became, or "the job".
    pub fn label(&self) -> String {
        match self {
            Subject::Job(j) => j.code.clone(),
            Subject::Lead(l) => l.job_code.clone().unwrap_or_else(|| "the job".into()),
        }
    }
}

/// Whether the person `ack` is for can take the job or lead the message is about: it is
/// about one, still open, and they are an active technician of the client's, found by their
/// number (or by the sign-in with their email). `None` otherwise.
pub async fn takeable(db: &Db, ack: &Ack) -> Result<Option<Takeable>> {
    let org = ack.recipient.org;
    let Some(about) = ack.told.message.about else { return Ok(None) };
    let subject = match about {
        About::Job(id) => match crate::jobs::get(db, org, id).await {
            Ok(j) if j.status.is_open() => Subject::Job(j),
            Ok(_) | Err(Error::NotFound) => return Ok(None),
            Err(e) => return Err(e),
        },
        About::Lead(id) => match crate::leads::get(db, org, id).await {
            Ok(l) => match l.job_id {
                Some(job) => match crate::jobs::get(db, org, job).await {
                    Ok(j) if j.status.is_open() => Subject::Job(j),
                    Ok(_) | Err(Error::NotFound) => return Ok(None),
                    Err(e) => return Err(e),
                },
                None if l.status.is_open() => Subject::Lead(l),
                None => return Ok(None),
            },
            Err(Error::NotFound) => return Ok(None),
            Err(e) => return Err(e),
        },
    };
    let Some(tech) = technician_for(db, org, ack.told.brand.id, &ack.recipient.address).await? else {
        return Ok(None);
    };
    Ok(Some(Takeable { tech, about: subject }))
}

/// The active technician of the client's reached at `address`: by their cell, or for an
/// email address by the sign-in it belongs to.
async fn technician_for(db: &Db, org: OrgId, brand: BrandId, address: &str) -> Result<Option<Technician>> {
    let techs = crate::technicians::list(db, org).await?;
    let user = if address.contains('@') {
        let users = crate::tenancy::list_users(db, org).await?;
        users.into_iter().find(|u| u.active && u.email.eq_ignore_ascii_case(address)).map(|u| u.id)
    } else {
        None
    };
    Ok(techs.into_iter().find(|t| {
        t.active
            && t.works_for(brand)
            && (t.phone.as_ref().is_some_and(|p| p.as_str() == address) || (user.is_some() && t.user_id == user))
    }))
}

/// What taking the job did.
#[derive(Debug, Clone)]
pub enum Took {
    /// They are on the way to this job; the customer is told.
    OnTheWay(Box<JobSummary>),
    /// The message is not theirs to take: not about an open job or lead, or they are not a
    /// technician of the client's, or someone else confirmed it first (named).
    NotTheirs(Option<String>),
    /// Confirmed as theirs, but the job could not be taken (why, in words for them).
    Refused(String),
}

/// Accept, and take the job the message is about: the message is confirmed as theirs (if
/// nobody was quicker), the job (or the lead, made a job) is theirs and they are on the way,
/// which tells the customer as usual. The timeline says so.
pub async fn take(db: &Db, clock: &dyn Clock, base: &str, token: &str) -> Result<Took> {
    let ack = open(db, clock, token).await?;
    let Some(t) = takeable(db, &ack).await? else { return Ok(Took::NotTheirs(None)) };
    let r = &ack.recipient;
    let e = if ack.escalation.run.state == State::Confirmed {
        ack.escalation.clone()
    } else {
        accept(db, clock, base, token).await?
    };
    if e.confirmed_by.as_deref() != Some(r.person.as_str()) {
        return Ok(Took::NotTheirs(e.confirmed_by.clone()));
    }
    let (org, actor) = (r.org, format!("tech:{}", t.tech.name));
    let job = match &t.about {
        Subject::Job(j) => j.id,
        Subject::Lead(l) => {
            let m = &ack.told.message;
            let service = l
                .service
                .clone()
                .or_else(|| m.urgent_reason.clone())
                .filter(|s| !s.trim().is_empty())
                .unwrap_or_else(|| "Urgent call".into());
            // The caller as the operator wrote them down, when the lead does not name them (a
            // text gives only a number).
            let answer = |key: &str| m.answers.iter().find(|a| a.key == key).map(|a| a.value.clone());
            let customer = match (l.name.as_deref().filter(|n| !n.trim().is_empty()), answer("caller_name")) {
                (None, Some(name)) => Some(CustomerInput {
                    name,
                    phone: answer("callback_number").or(l.phone.clone()),
                    email: l.email.clone(),
                    address: answer("service_address").or(l.address.clone()),
                }),
                _ => None,
            };
            let input = ConvertInput {
                customer_id: None,
                customer,
                service: service.chars().take(120).collect(),
                address: answer("service_address"),
                scheduled_start: None,
                scheduled_end: None,
                tech_ids: vec![t.tech.id],
            };
            match crate::leads::convert(db, clock, org, None, &actor, l.id, &input).await {
                Ok(c) => c.job_id,
                Err(Error::Conflict(why)) => return Ok(Took::Refused(why)),
                Err(e) => return Err(e),
            }
        }
    };
    let job = match crate::jobs::take_and_go(db, clock, org, &actor, job, t.tech.id).await {
        Ok(j) => j,
        Err(Error::Conflict(why)) | Err(Error::InvalidTransition { message: why, .. }) => {
            return Ok(Took::Refused(why));
        }
        Err(e) => return Err(e),
    };
    let mut tx = db.begin().await?;
    sqlx::query("update desk_messages set job_id = $1 where org_id = $2 and id = $3")
        .bind(job.id.0)
        .bind(org.0)
        .bind(e.message_id)
        .execute(&mut *tx)
        .await?;
    // Named as the technician they are (a number the flow texted has no name of its own).
    let detail = format!("took {} and is on the way", job.code);
    let entry = line(clock, &e, "took", &t.tech.name, &r.address, detail);
    store::log_in(&mut tx, org, e.id, &entry).await?;
    tx.commit().await?;
    db.publish(crate::db::Event::Desk { org, message: e.message_id });
    Ok(Took::OnTheWay(Box::new(job)))
}
