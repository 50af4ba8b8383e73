//! A call to a brand's number, from the first webhook to its end: the routing's hunt, the
//! whisper that keeps a carrier's voicemail from taking the call, voicemail, recordings, and
//! the lead every voicemail and missed call becomes.
//!
//! Each function answers one provider webhook. Every write is committed before the answer, so
//! a call the provider was told about is always in the calls list.

use jiff::Timestamp;

use crate::clock::{Clock, to_millis};
use crate::db::{Db, Event, Tx};
use crate::ids::OrgId;
use crate::leads::{self, LeadSource, NewLeadMessage};
use crate::oncall::Member as OnCallMember;
use crate::parse::{PhoneE164, display_phone};
use crate::providers::voice::Verb;
use crate::tenancy::{self, Brand};
use crate::{Error, Result};

use super::model::{AfterHours, Outcome, Ring, Routing, Step, Strategy, clock_duration, default_greeting};
use super::route::{self, Urls};
use super::store::{self, Live, NewCall, NewRecording};

/// What a caller to a number we do not know hears.
pub fn not_in_service() -> Vec<Verb> {
    vec![Verb::Say("Sorry, this number is not in service. Goodbye.".into()), Verb::Hangup]
}

/// The first webhook of an inbound call: store it, decide its hunt, answer the first step.
/// The same call sid again (the provider retrying) gets the same answer.
pub async fn incoming(db: &Db, clock: &dyn Clock, base: &str, sid: &str, from: &str, to: &str) -> Result<Vec<Verb>> {
    let Some(brand) = tenancy::brand_by_sms_number(db, to).await? else {
        return Ok(not_in_service());
    };
    let org = brand.org_id;
    let now = clock.now();
    let routing = store::routing(db.pool(), org, brand.id).await?;
    if let Some(call) = store::live_by_sid(db.pool(), sid).await? {
        return first_script(db, base, &brand, &routing, &call).await;
    }
    let caller = PhoneE164::from_provider(from).ok();
    let customer = match &caller {
        Some(p) => crate::customers::matching(db, org, Some(p.as_str()), None).await?.into_iter().next(),
        None => None,
    };
    let open = crate::desk::rules::is_open(&brand.working_hours, &[], &brand.zone(), now);
    let on_call = match (open, routing.after_hours, routing.after_hours_schedule) {
        (false, AfterHours::OnCall | AfterHours::Patch, Some(schedule)) => on_call_step(db, org, schedule, now).await?,
        _ => Vec::new(),
    };
    let patch = !open && routing.after_hours == AfterHours::Patch;
    let mut tx = db.begin().await?;
    let plan: Vec<Step> = match (open, routing.after_hours) {
        (true, _) | (false, AfterHours::Ring) => {
            let members = store::members(&mut *tx, org, brand.id).await?;
            let start = if routing.strategy == Strategy::RoundRobin {
                store::take_start(&mut tx, org, &routing, to_millis(now)).await?
            } else {
                0
            };
            route::plan(routing.strategy, &members, start)
        }
        (false, AfterHours::OnCall) => {
            if on_call.is_empty() {
                Vec::new()
            } else {
                vec![on_call]
            }
        }
        // One person at a time while the caller holds: whoever is on call, then the brand's
        // own people on their cells, in order.
        (false, AfterHours::Patch) => {
            let members = store::members(&mut *tx, org, brand.id).await?;
            let mut steps: Vec<Step> = on_call.into_iter().map(|r| vec![r]).collect();
            for ring in route::plan(Strategy::Linear, &members, 0).into_iter().flatten() {
                let new = matches!(&ring, Ring::Cell { number, .. }
                    if !steps.iter().flatten().any(|r| matches!(r, Ring::Cell { number: n, .. } if n == number)));
                if new {
                    steps.push(vec![ring]);
                }
            }
            steps
        }
        (false, AfterHours::Voicemail) => Vec::new(),
    };
    // Nobody to patch through to: straight to voicemail.
    let patch = patch && !plan.is_empty();
    let call = store::insert_inbound(
        &mut tx,
        &NewCall {
            org,
            brand: brand.id,
            sid,
            from: caller.as_ref().map(|p| p.as_str()).unwrap_or(from),
            to,
            customer: customer.map(|c| c.id.0),
            lead: None,
            plan: &plan,
            mode: if patch { "patch" } else { "hunt" },
            now: to_millis(now),
        },
    )
    .await?;
    if patch {
        super::patch::next_in(&mut tx, org, call.id, 0, now).await?;
    }
    tx.commit().await?;
    if patch {
        db.work_added();
    }
    db.publish(Event::Call { org, call: call.id });
    let mut script = route::opening(&routing);
    script.extend(first_script(db, base, &brand, &routing, &call).await?);
    Ok(script)
}

/// Step 0 of the call's hunt, or voicemail when it rings nobody.
async fn first_script(db: &Db, base: &str, brand: &Brand, routing: &Routing, call: &Live) -> Result<Vec<Verb>> {
    let _ = db;
    let plan = call.plan()?;
    let urls = Urls { base, call: call.id };
    if call.mode == "patch" {
        return Ok(super::patch::hold(&urls, routing, call.id));
    }
    Ok(match plan.first() {
        Some(step) => vec![route::dial(&urls, routing, &caller_id(call), 0, step)],
        None => route::voicemail(&urls, &greeting(brand, routing)),
    })
}

/// The number the people rung see: the caller's own, so they know who it is.
fn caller_id(call: &Live) -> String {
    if call.from_number.starts_with('+') { call.from_number.clone() } else { call.to_number.clone() }
}

pub(super) fn greeting(brand: &Brand, routing: &Routing) -> String {
    if routing.greeting.trim().is_empty() { default_greeting(&brand.name) } else { routing.greeting.trim().to_string() }
}

/// Whoever is on call for `schedule` now, each on their cell: a contact's cell method, or a
/// sign-in's cell (their own, or that of the contact linked to them).
async fn on_call_step(db: &Db, org: OrgId, schedule: i64, now: Timestamp) -> Result<Step> {
    let stored = match crate::oncall::store::get(db, org, schedule).await {
        Ok(s) => s,
        Err(Error::NotFound) => return Ok(Vec::new()),
        Err(e) => return Err(e),
    };
    let contacts = crate::desk::contacts::list(db, org, stored.brand_id).await?;
    let cell_of = |c: &crate::desk::contacts::Contact| {
        c.methods.iter().find(|m| m.kind == crate::desk::contacts::MethodKind::Cell).map(|m| m.value.clone())
    };
    let people = store::people(db.pool(), org).await?;
    let mut step = Vec::new();
    for (member, _) in crate::oncall::timeline::on_call(&stored.schedule(), now).on_call {
        let ring = match member {
            OnCallMember::Contact(id) => contacts.iter().find(|c| c.id == id).and_then(|c| {
                cell_of(c).map(|n| Ring::Cell { number: n, user: c.user_id.map(|u| u.0), name: c.name.clone() })
            }),
            OnCallMember::User(id) => people.iter().find(|p| p.user_id == id).and_then(|p| {
                let linked = contacts.iter().find(|c| c.user_id.map(|u| u.0) == Some(id)).and_then(cell_of);
                p.cell.clone().or(linked).map(|n| Ring::Cell { number: n, user: Some(id), name: p.name.clone() })
            }),
        };
        step.extend(ring);
    }
    Ok(step)
}

pub(super) async fn live(db: &Db, call: i64) -> Result<(Live, Brand, Routing)> {
    let call = store::live(db.pool(), call).await?.ok_or(Error::NotFound)?;
    let brand = tenancy::brand(db, call.org(), call.brand()).await?;
    let routing = store::routing(db.pool(), call.org(), call.brand()).await?;
    Ok((call, brand, routing))
}

/// `<Dial>`'s action: the dialed call ended or nobody took it. An answered call is over; an
/// unanswered step moves to the next one, and after the last to voicemail.
pub async fn dialed(
    db: &Db,
    clock: &dyn Clock,
    base: &str,
    call: i64,
    step: usize,
    dial_status: &str,
    bridged: bool,
) -> Result<Vec<Verb>> {
    let (call, brand, routing) = live(db, call).await?;
    let plan = call.plan()?;
    if dial_status == "completed" || bridged {
        if call.outcome().is_none() {
            // Taken in a browser (no whisper to say who): the step's one person, if it had one.
            let users: Vec<i64> = plan
                .get(step)
                .into_iter()
                .flatten()
                .filter_map(|r| match r {
                    Ring::Browser { user, .. } => Some(*user),
                    Ring::Cell { user, .. } => *user,
                })
                .collect();
            let one = users.first().copied().filter(|u| users.iter().all(|x| x == u));
            let mut tx = db.begin().await?;
            store::claim(&mut tx, call.id, one, None, to_millis(clock.now())).await?;
            tx.commit().await?;
            db.publish(Event::Call { org: call.org(), call: call.id });
        }
        return Ok(vec![Verb::Hangup]);
    }
    let urls = Urls { base, call: call.id };
    let next = step + 1;
    if let Some(ring) = plan.get(next) {
        let mut tx = db.begin().await?;
        store::set_step(&mut tx, call.id, next as i64).await?;
        tx.commit().await?;
        return Ok(vec![route::dial(&urls, &routing, &caller_id(&call), next, ring)]);
    }
    Ok(route::voicemail(&urls, &greeting(&brand, &routing)))
}

/// Who is calling, as the whisper says it: the customer's name, or their number digit by digit.
pub(super) fn caller_words(call: &Live, customer: Option<&str>) -> String {
    match customer {
        Some(name) if !name.trim().is_empty() => name.trim().to_string(),
        _ => route::spoken_number(&display_phone(&call.from_number)),
    }
}

/// The whisper played to whoever picked up leg `leg` of step `step`.
pub async fn whisper(db: &Db, base: &str, call: i64, step: usize, leg: usize) -> Result<Vec<Verb>> {
    let (call, brand, _) = live(db, call).await?;
    let customer = match call.customer_id {
        Some(id) => crate::customers::get(db, call.org(), crate::ids::CustomerId(id)).await.ok().map(|c| c.name),
        None => None,
    };
    let urls = Urls { base, call: call.id };
    Ok(route::whisper(&urls, step, leg, &brand.name, &caller_words(&call, customer.as_deref())))
}

/// The key pressed during the whisper: 1 takes the call (unless someone was first), anything
/// else lets it go.
pub async fn whisper_key(
    db: &Db,
    clock: &dyn Clock,
    call: i64,
    step: usize,
    leg: usize,
    digits: &str,
) -> Result<Vec<Verb>> {
    let call = store::live(db.pool(), call).await?.ok_or(Error::NotFound)?;
    if digits.trim() != "1" {
        return Ok(vec![Verb::Hangup]);
    }
    let plan = call.plan()?;
    let (user, number) = match plan.get(step).and_then(|s| s.get(leg)) {
        Some(Ring::Cell { number, user, .. }) => (*user, Some(number.as_str())),
        Some(Ring::Browser { user, .. }) => (Some(*user), None),
        None => return Err(Error::NotFound),
    };
    let mut tx = db.begin().await?;
    let took = store::claim(&mut tx, call.id, user, number, to_millis(clock.now())).await?;
    tx.commit().await?;
    if !took {
        return Ok(vec![Verb::Say("Someone else has taken this call. Goodbye.".into()), Verb::Hangup]);
    }
    db.publish(Event::Call { org: call.org(), call: call.id });
    // The whisper ends without hanging up: the provider puts the caller through.
    Ok(Vec::new())
}

/// What the lead's thread says of a voicemail.
pub fn voicemail_words(duration: i64, transcript: Option<&str>) -> String {
    match transcript.map(str::trim).filter(|t| !t.is_empty()) {
        Some(t) => format!("Voicemail ({}): {t}", clock_duration(duration)),
        None => format!("Voicemail ({}), no transcript yet.", clock_duration(duration)),
    }
}

/// What the lead's thread says of a call nobody took and that left no message.
pub const MISSED_WORDS: &str = "Missed call. No voicemail was left.";

/// Threads the call into the caller's open lead for the brand (with their texts), or opens one.
async fn to_lead_in(tx: &mut Tx, clock: &dyn Clock, brand: &Brand, call: &Live, body: &str) -> Result<Option<i64>> {
    let Ok(phone) = PhoneE164::from_stored(&call.from_number) else {
        // A withheld number: nobody to call back, nothing to thread.
        return Ok(None);
    };
    let name = match call.customer_id {
        Some(id) => crate::customers::get_in(tx, call.org(), crate::ids::CustomerId(id)).await?.map(|c| c.name),
        None => None,
    };
    let contact = leads::Contact { name, phone: Some(phone), email: None, address: None, service: None };
    let message = NewLeadMessage {
        inbound: true,
        channel: "call",
        subject: None,
        body,
        message_id: None,
        author: None,
        fields: None,
        call_id: Some(call.id),
    };
    let lead = leads::capture_in(tx, clock, brand, LeadSource::Call, &contact, &message).await?;
    store::set_lead(tx, call.id, lead.0).await?;
    Ok(Some(lead.0))
}

/// `<Record>`'s action: the caller left a message (or hung up without one).
pub async fn voicemail(
    db: &Db,
    clock: &dyn Clock,
    call: i64,
    recording_url: Option<&str>,
    duration: i64,
) -> Result<Vec<Verb>> {
    let (call, brand, _) = live(db, call).await?;
    if recording_url.is_none_or(str::is_empty) || duration <= 0 {
        return Ok(vec![Verb::Say("We did not get a message. Goodbye.".into()), Verb::Hangup]);
    }
    let mut tx = db.begin().await?;
    if store::settle(&mut tx, call.id, Outcome::Voicemail).await? {
        let call = store::live(&mut *tx, call.id).await?.ok_or(Error::NotFound)?;
        let lead =
            to_lead_in(&mut tx, clock, &brand, &call, &voicemail_words(duration, call.transcript.as_deref())).await?;
        tx.commit().await?;
        if let Some(lead) = lead {
            db.publish(Event::Lead { org: call.org(), lead: crate::ids::LeadId(lead) });
        }
        db.publish(Event::Call { org: call.org(), call: call.id });
    } else {
        tx.commit().await?;
    }
    Ok(vec![Verb::Say("Thank you. We will call you back. Goodbye.".into()), Verb::Hangup])
}

/// The voicemail's transcript: kept with the call and shown in the lead's thread.
pub async fn transcript(db: &Db, call: i64, status: &str, text: &str) -> Result<()> {
    let call = store::live(db.pool(), call).await?.ok_or(Error::NotFound)?;
    if status != "completed" || text.trim().is_empty() {
        return Ok(());
    }
    let mut tx = db.begin().await?;
    store::set_transcript(&mut tx, call.id, text.trim()).await?;
    // The message's own length, as the voicemail's recording gave it.
    let duration: Option<(i64,)> = sqlx::query_as(
        "select duration_secs from call_recordings where call_id = $1 and kind = 'voicemail' order by id limit 1",
    )
    .bind(call.id)
    .fetch_optional(&mut *tx)
    .await?;
    let duration = duration.map(|(d,)| d).or(call.duration_secs).unwrap_or(0);
    sqlx::query("update lead_messages set body = $2 where call_id = $1")
        .bind(call.id)
        .bind(voicemail_words(duration, Some(text)))
        .execute(&mut *tx)
        .await?;
    tx.commit().await?;
    if let Some(lead) = call.lead_id {
        db.publish(Event::Lead { org: call.org(), lead: crate::ids::LeadId(lead) });
    }
    db.publish(Event::Call { org: call.org(), call: call.id });
    Ok(())
}

/// A finished recording the provider reported; the work of copying it into our storage is
/// queued with it.
pub struct Reported<'a> {
    pub call: i64,
    pub kind: &'a str,
    pub sid: &'a str,
    pub url: &'a str,
    pub status: &'a str,
    pub duration: i64,
    pub channels: i64,
}

pub async fn recording(db: &Db, clock: &dyn Clock, r: &Reported<'_>) -> Result<()> {
    let call = store::live(db.pool(), r.call).await?.ok_or(Error::NotFound)?;
    if r.status != "completed" || r.sid.is_empty() || r.url.is_empty() {
        return Ok(());
    }
    let kind = if r.kind == "voicemail" { "voicemail" } else { "call" };
    let now = clock.now();
    let mut tx = db.begin().await?;
    let new = NewRecording {
        org: call.org(),
        call: call.id,
        sid: r.sid,
        kind,
        media_url: r.url,
        channels: r.channels.max(1),
        duration: r.duration.max(0),
        now: to_millis(now),
    };
    let added = store::insert_recording(&mut tx, &new).await?;
    if let Some(id) = added {
        let work = crate::engine::NewWork::of(&super::recordings::FetchRecording { recording: id }, now)?
            .org(call.org())
            .key(format!("calls.fetch_recording:{}", r.sid));
        crate::engine::enqueue_in(&mut tx, &work, now).await?;
    }
    tx.commit().await?;
    if added.is_some() {
        db.work_added();
    }
    db.publish(Event::Call { org: call.org(), call: call.id });
    Ok(())
}

/// The call's own status callback: at its end, a call nobody took and without a voicemail is
/// a missed call, and becomes a lead.
pub async fn status(db: &Db, clock: &dyn Clock, sid: &str, call_status: &str, duration: Option<i64>) -> Result<()> {
    let Some(call) = store::live_by_sid(db.pool(), sid).await? else {
        return Err(Error::NotFound);
    };
    let ended = matches!(call_status, "completed" | "no-answer" | "busy" | "failed" | "canceled");
    if !ended {
        return Ok(());
    }
    let brand = tenancy::brand(db, call.org(), call.brand()).await?;
    let mut tx = db.begin().await?;
    store::end(&mut tx, call.id, call_status, duration, to_millis(clock.now())).await?;
    // Nobody is to be called for a caller who is gone.
    crate::engine::cancel_group_in(&mut tx, &super::patch::group(call.id), clock.now()).await?;
    let mut lead = None;
    // A call we placed that nobody took is not a lead: nobody asked us for anything.
    if store::settle(&mut tx, call.id, Outcome::Missed).await? && call.direction == "inbound" {
        lead = to_lead_in(&mut tx, clock, &brand, &call, MISSED_WORDS).await?;
    }
    tx.commit().await?;
    if let Some(lead) = lead {
        db.publish(Event::Lead { org: call.org(), lead: crate::ids::LeadId(lead) });
    }
    db.publish(Event::Call { org: call.org(), call: call.id });
    Ok(())
}
